package numbering_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/internal/numbering"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	redisstore "github.com/neighborbot/neighborbot/store/redis"
	"github.com/neighborbot/neighborbot/store/storetest"
	"github.com/neighborbot/neighborbot/store/transfer"
)

// The fixture is the store of release d237e50 (before numbers were shared), filled through
// that release's own packages by testdata/gen_release_test.go.txt and exported: items 1–3;
// notice 1 sent (a receipt), draft 2 cancelled, poll 3 sent (a vote), draft 4 pending;
// activities 1, 3, 4, 5 and a cancelled 2, all created in chat, next to two configured ones.
const fixture = "testdata/release-d237e50.export"

// After the move, in the order the app registers its parts (activities, then notices):
// items keep 1–3, activities 1–5 become 4–8 (so old activity 4's number is now old activity
// 1's), notice 1 becomes 9 and poll 3 becomes 10.
var want = map[int64]store.NumberEntry{
	4:  {No: 4, Kind: store.KindActivity, Ref: "1"},
	5:  {No: 5, Kind: store.KindActivity, Ref: "2"},
	6:  {No: 6, Kind: store.KindActivity, Ref: "3"},
	7:  {No: 7, Kind: store.KindActivity, Ref: "4"},
	8:  {No: 8, Kind: store.KindActivity, Ref: "5"},
	9:  {No: 9, Kind: store.KindNotice, Ref: "1"},
	10: {No: 10, Kind: store.KindPoll, Ref: "3"},
}

// free is the first number the move left free.
const free = 11

const (
	xf   = "local:xingfuli"
	wang = "local:wang"
)

// rig is the bot over one store, as the app assembles it (handlers, scheduler, notices).
type rig struct {
	t     *testing.T
	st    store.Store
	clock *storetest.Clock
	eng   *bot.Engine
	parts []numbering.Part
	n     *notices.Notices
	seq   int
}

func newRig(t *testing.T, st store.Store, clock *storetest.Clock) *rig {
	t.Helper()
	cfg := config.Demo()
	tree, err := setup.Tree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h := &handlers.Handlers{Store: st, Tree: tree, BotName: cfg.BotName, Log: log}
	s, err := scheduler.New(scheduler.Options{
		Store: st, Tree: tree, Schedules: cfg.Schedules, Deadlines: cfg.Deadlines,
		Calendar: scheduler.NewHolidays(nil), Now: clock.Now, Loc: bottest.Shanghai, Owner: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := &notices.Notices{Store: st, Tree: tree, Now: clock.Now, Log: log}
	h.AddNumbered(s.Numbered, store.KindActivity)
	h.AddNumbered(n.Numbered, store.KindNotice, store.KindPoll)
	m := bot.NewMux("邻里帮")
	m.Pending, m.Refs = st, st
	if err := errors.Join(h.Register(m), s.Register(m), n.Register(m)); err != nil {
		t.Fatal(err)
	}
	return &rig{
		t: t, st: st, clock: clock, n: n,
		eng: &bot.Engine{Handler: bot.Chain(m.ServeBot, bot.Identify(st)), Outbox: st, Now: clock.Now, Log: log},
		parts: []numbering.Part{
			{Name: "activities", Renumber: s.MigrateNumbers},
			{Name: "notices", Renumber: n.MigrateNumbers},
		},
	}
}

func (r *rig) handle(m bot.Message) string {
	r.t.Helper()
	r.seq++
	m.EventID, m.MessageID, m.At = "n"+strconv.Itoa(r.seq), "in"+strconv.Itoa(r.seq), r.clock.Now()
	outs, err := r.eng.Handle(context.Background(), m)
	if err != nil {
		r.t.Fatalf("handle %q: %v", m.Text, err)
	}
	var b strings.Builder
	for _, o := range outs {
		b.WriteString(o.Text)
		if o.Card != nil {
			b.WriteString("[card " + o.Card.Title + " | " + o.Card.Footer + "]")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (r *rig) say(group, user, text string) string {
	_, chat := community.SplitID(group)
	return r.handle(bot.Message{Platform: "local", ChatID: chat, GroupID: group, UserID: user, Text: text})
}

func (r *rig) private(user, text string) string {
	return r.handle(bot.Message{Platform: "local", UserID: user, Text: text, Private: true})
}

func (r *rig) tap(group, user, action, ref, value string) string {
	_, chat := community.SplitID(group)
	return r.handle(bot.Message{Platform: "local", ChatID: chat, GroupID: group, UserID: user,
		Action: &bot.Action{Name: action, Ref: ref, Value: value}})
}

func (r *rig) migrate(log *slog.Logger) bool {
	r.t.Helper()
	ok, err := numbering.Migrate(r.t.Context(), r.st, r.clock.Now(), log, r.parts...)
	if err != nil {
		r.t.Fatal(err)
	}
	return ok
}

func has(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func hasNot(t *testing.T, got string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(got, b) {
			t.Errorf("unexpected %q in:\n%s", b, got)
		}
	}
}

// importFixture fills st with the old release's store.
func importFixture(t *testing.T, st store.Store) {
	t.Helper()
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := transfer.Import(t.Context(), st, f); err != nil {
		t.Fatal(err)
	}
}

// clockAfterFixture is a little after the fixture was written (its draft still valid).
func clockAfterFixture() *storetest.Clock {
	return storetest.NewClock(bottest.Start.Add(2 * time.Hour))
}

func TestMigrateBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "neighborbot.db")
	clock := clockAfterFixture()
	open := func() store.Store {
		st, err := bolt.Open(path, bolt.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	importFixture(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	checkMigration(t, open, clock)
}

func TestMigrateRedis(t *testing.T) {
	url := "redis://" + redistest.Start(t)
	clock := clockAfterFixture()
	open := func() store.Store {
		st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: "old", Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	importFixture(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	checkMigration(t, open, clock)
}

// TestMigrateReplicas starts two replicas on the old store at once: one migrates, the other
// leaves it alone, and the numbers are as if one had started.
func TestMigrateReplicas(t *testing.T) {
	url := "redis://" + redistest.Start(t)
	clock := clockAfterFixture()
	open := func() store.Store {
		st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: "old", Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	importFixture(t, open())
	rigs := []*rig{newRig(t, open(), clock), newRig(t, open(), clock)}
	var (
		wg       sync.WaitGroup
		migrated [2]bool
	)
	for i, r := range rigs {
		wg.Go(func() {
			ok, err := numbering.Migrate(context.Background(), r.st, clock.Now(), nil, r.parts...)
			if err != nil {
				t.Error(err)
			}
			migrated[i] = ok
		})
	}
	wg.Wait()
	if migrated[0] == migrated[1] {
		t.Fatalf("replicas migrated: %v, want exactly one", migrated)
	}
	checkIndex(t, rigs[0].st)
	if _, err := rigs[0].st.LookupNumber(t.Context(), free); community.ErrorCode(err) != community.ENotFound {
		t.Errorf("number %d is taken: %v", free, err)
	}
}

// checkIndex checks that every number names exactly one thing, as want says.
func checkIndex(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	for no := int64(1); no < free; no++ {
		_, itemErr := st.GetItem(ctx, no)
		e, numErr := st.LookupNumber(ctx, no)
		switch {
		case no <= 3:
			if itemErr != nil || community.ErrorCode(numErr) != community.ENotFound {
				t.Errorf("number %d: item %v, index %+v %v; want the item only", no, itemErr, e, numErr)
			}
		default:
			if community.ErrorCode(itemErr) != community.ENotFound || numErr != nil || e != want[no] {
				t.Errorf("number %d: item %v, index %+v %v; want %+v only", no, itemErr, e, numErr, want[no])
			}
		}
	}
}

func checkMigration(t *testing.T, open func() store.Store, clock *storetest.Clock) {
	ctx := t.Context()
	st := open() // reopened: a restart of the new release on the old data
	r := newRig(t, st, clock)
	var logs bytes.Buffer
	if !r.migrate(slog.New(slog.NewJSONHandler(&logs, nil))) {
		t.Fatal("the first start did not migrate")
	}
	var entry struct {
		Level      string `json:"level"`
		Activities int    `json:"activities"`
		Notices    int    `json:"notices"`
	}
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil || entry.Level != "INFO" || entry.Activities != 5 || entry.Notices != 2 {
		t.Fatalf("migration log = %s (%v), want one Info line with activities 5, notices 2", logs.String(), err)
	}
	checkIndex(t, st)
	if _, err := st.LookupNumber(ctx, free); community.ErrorCode(err) != community.ENotFound {
		t.Errorf("number %d is taken: %v", free, err)
	}

	// Nothing lost: every doc of the old store is still there.
	for _, c := range []struct {
		coll string
		n    int
	}{{"notices", 4}, {"notice_acks", 1}, {"notice_votes", 1}, {"schedules", 7}} {
		docs, err := st.ListDocs(ctx, c.coll, "")
		if err != nil || len(docs) != c.n {
			t.Errorf("%s: %d docs (%v), want %d", c.coll, len(docs), err, c.n)
		}
	}
	items, err := st.ListItems(ctx, store.ItemFilter{})
	if err != nil || len(items) != 3 {
		t.Fatalf("%d items (%v), want 3", len(items), err)
	}

	// 查看 N and 进度 N name one thing each.
	has(t, r.say(xf, "local:chen", "查看 1"), "#1", "清理楼道")
	has(t, r.say(xf, "local:chen", "查看 9"), "📢 通知 #9", "停水", "收到 9")
	has(t, r.private(wang, "进度 9"), "通知 #9", "已送达")
	has(t, r.private(wang, "进度 10"), "投票 #10", "是否同意加装电梯")
	has(t, r.say(xf, "local:chen", "查看 4"), "活动（编号 4）：消防演练")
	has(t, r.say(xf, "local:chen", "查看 5"), "读书会（编号 5）已经取消了")

	// The old numbers still work where they meant a notice or an activity; the first use
	// tells the new number, once.
	first := r.private(wang, "回执 1")
	has(t, first, "原通知 #1 现在的编号是 #9", "通知 #9", "已回执 1 人")
	hasNot(t, r.private(wang, "回执 1"), "原通知")
	has(t, r.say(xf, wang, "修改活动 1 地点 社区活动室"), "编号 4", "社区活动室")
	has(t, r.say(xf, wang, "修改活动 6 地点 二楼会议室"), "编号 6", "义务理发", "二楼会议室")
	// 4 is now old activity 1's number: it is that one, not old activity 4 (now 7).
	has(t, r.say(xf, wang, "修改活动 4 地点 小区广场东侧"), "活动（编号 4）：消防演练", "小区广场东侧")
	hasNot(t, r.say(xf, wang, "修改活动 7 地点 物业门口"), "消防演练")
	has(t, r.say(xf, "local:chen", "查看 7"), "旧衣回收", "物业门口")

	// Buttons on cards sent before carry the old ids: they still act on the same notice.
	// (A tap is answered on the card, not in the chat: the counts show it.)
	r.tap(xf, "local:zhang", notices.ActAck, "1", "")
	r.tap(xf, "local:zhang", notices.ActVote, "3", "反对")
	has(t, r.say(xf, "local:li", "收到 1"), "原通知 #1 现在的编号是 #9", "已记录您对 通知 #9 的回执")
	has(t, r.private(wang, "回执 9"), "通知 #9", "已回执 3 人")
	has(t, r.private(wang, "投票结果 10"), "投票 #10", "同意 1", "反对 1", "共 2 人投票")

	// The draft left pending takes its number when it is sent; new things go on from there.
	has(t, r.private(wang, "确认发送"), "✅ 通知 #11 开始发送")
	has(t, r.say(xf, wang, "发布 周三上午整理车棚 需要2人"), "#12")
	has(t, r.say(xf, wang, "活动 12月19日 9:00 垃圾分类宣传"), "编号 13")
	has(t, r.private(wang, "通知 全体 下周一消杀"), "通知（待确认）")
	has(t, r.private(wang, "取消发送"), "已取消 通知（未发送）")
	has(t, r.private(wang, "投票 车棚改造方案 甲/乙"), "投票（待确认）")
	has(t, r.private(wang, "确认发送"), "✅ 投票 #14 开始发送")

	// Once only: a restart, or a part run again, changes nothing.
	st.Close()
	st = open()
	r = newRig(t, st, clock)
	if r.migrate(nil) {
		t.Fatal("the second start migrated again")
	}
	for _, p := range r.parts {
		if n, err := p.Renumber(ctx); err != nil || n != 0 {
			t.Fatalf("%s run again renumbered %d (%v)", p.Name, n, err)
		}
	}
	checkIndex(t, st)
	has(t, r.say(xf, "local:chen", "查看 11"), "通知 #11", "周末义诊")
	has(t, r.say(xf, "local:chen", "查看 14"), "投票 #14", "车棚改造方案")
}
