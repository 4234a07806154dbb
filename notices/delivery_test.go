package notices_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/store"
)

const boss = "feishu:boss"

// The limits of the two fake platforms: a Feishu-like app (5/s per chat, 50/s per app) and
// WeCom-like group robots (20/min each, one robot per group).
var (
	feishuChat = bot.Limit{Every: 200 * time.Millisecond, Burst: 5}
	feishuApp  = bot.Limit{Every: 20 * time.Millisecond, Burst: 50}
	wecomRobot = bot.Limit{Every: 3 * time.Second, Burst: 20}
)

// cityEnv has groups groups, alternately on each platform, one per grid, and platforms that
// answer 429/5xx to 10% of sends and time out 2%.
func cityEnv(t *testing.T, groups int) *env {
	t.Helper()
	nodes := []community.Node{{ID: "street", Name: "街道", Kind: community.KindStreet}}
	for c := range 10 {
		nodes = append(nodes, community.Node{ID: fmt.Sprintf("c%d", c), Name: fmt.Sprintf("%d社区", c+1), Kind: community.KindCommunity, Parent: "street"})
	}
	var gs []community.Group
	var ps []community.Person
	for i := range groups {
		grid := fmt.Sprintf("g%d", i)
		nodes = append(nodes, community.Node{ID: grid, Name: fmt.Sprintf("%d网格", i+1), Kind: community.KindGrid, Parent: fmt.Sprintf("c%d", i%10)})
		plat, chat := "feishu", fmt.Sprintf("oc_%04d", i)
		if i%2 == 1 {
			plat, chat = "wecom", fmt.Sprintf("wr_%04d", i)
		}
		gs = append(gs, community.Group{ID: plat + ":" + chat, Platform: plat, Chat: chat, Name: fmt.Sprintf("%d网格群", i+1), Node: grid})
		ps = append(ps, community.Person{ID: fmt.Sprintf("%s:r%d", plat, i), Name: fmt.Sprintf("居民%d", i), Node: grid})
	}
	ps = append(ps, community.Person{ID: boss, Name: "街道书记", Role: community.RoleStreet})
	tree, err := community.NewTree(nodes)
	if err != nil {
		t.Fatal(err)
	}
	fs := newFake("feishu", nil, 11)
	fs.perChat, fs.perApp, fs.failRate, fs.timeouts, fs.deliverOnTimeout = feishuChat, feishuApp, 0.10, 0.02, true
	wc := newFake("wecom", nil, 12)
	// A robot has no idempotency key: a timeout that reached it would show twice, and
	// nothing on our side can tell. These time out before the robot got the message.
	wc.perChat, wc.failRate, wc.timeouts = wecomRobot, 0.10, 0.02
	e := newEnv(t, tree, fs, wc)
	seed(t, e.st, ps, gs)
	return e
}

// draftAndConfirm sends "通知 全体" as the street's secretary and returns its number.
func (e *env) draftAndConfirm(text string) int64 {
	e.t.Helper()
	id := lastID(e.t, e.say(boss, "", "通知 全体 "+text))
	mustContain(e.t, texts(e.say(boss, "", "确认发送")), "开始发送")
	return id
}

// exactlyOnce checks that every group shows notice id exactly once.
func (e *env) exactlyOnce(id int64, groups int) {
	e.t.Helper()
	ctx := context.Background()
	gs, err := e.st.ListGroups(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(gs) != groups {
		e.t.Fatalf("%d groups", len(gs))
	}
	bad := 0
	for _, g := range gs {
		n := 0
		for _, o := range e.fakes[g.Platform].chat(g.Chat) {
			if o.Card != nil && o.Card.Key == notices.CardKey(id) {
				n++
			}
		}
		if n != 1 && bad < 10 {
			e.t.Errorf("%s shows the notice %d times", g.ID, n)
			bad++
		}
	}
	st, err := e.st.OutboxStats(ctx, notices.BatchID(id))
	if err != nil {
		e.t.Fatal(err)
	}
	if st != (store.OutboxStats{Sent: groups}) {
		e.t.Errorf("batch stats %+v", st)
	}
	for name, f := range e.fakes {
		if f.violations != 0 {
			e.t.Errorf("%s: %d sends over its rate limits", name, f.violations)
		}
	}
	mustContain(e.t, texts(e.say(boss, "", "通知进度 "+strconv.FormatInt(id, 10))), fmt.Sprintf("已送达 %d/%d，失败 0，排队 0", groups, groups))
}

func TestBroadcastThousandGroupsExactlyOnce(t *testing.T) {
	const groups = 1000
	e := cityEnv(t, groups)
	id := e.draftAndConfirm("关于开展燃气安全检查的通知")
	if err := e.n.Pump(e.ctx); err != nil {
		t.Fatal(err)
	}
	took := e.drain(50 * time.Millisecond)
	e.exactlyOnce(id, groups)

	// The Feishu half is paced at 90% of 50/s (Headroom), every failed attempt costing a
	// token: 95% of it is out well within 1.25 times the floor. The last few wait out their
	// retries' backoff (the dispatcher's, doubling), which a test cannot bound.
	fs := e.fakes["feishu"]
	floor := time.Duration(groups/2-feishuApp.Burst) * feishuApp.Every
	start := e.clock.Now().Add(-took)
	p95 := fs.shownAt[len(fs.shownAt)*95/100].Sub(start)
	t.Logf("%d groups in %v simulated, 95%% of Feishu's by %v: floor %v (ratio %.3f, p95 %.3f); %d attempts, %d failed",
		groups, took, p95, floor, float64(took)/float64(floor), float64(p95)/float64(floor), fs.attempts, fs.failures)
	if float64(p95) > 1.25*float64(floor) {
		t.Errorf("95%% of Feishu's groups took %v, floor %v", p95, floor)
	}
}

// crashingStore cancels the enqueuer's context right after its n-th Enqueue: the process
// dies between writing a chunk and recording it.
type crashingStore struct {
	notices.Store
	n      int
	cancel context.CancelFunc
}

func (s *crashingStore) Enqueue(ctx context.Context, entries ...store.OutboxEntry) error {
	err := s.Store.Enqueue(ctx, entries...)
	if s.n--; s.n == 0 {
		s.cancel()
	}
	return err
}

func TestBroadcastSurvivesCrash(t *testing.T) {
	const groups = 1000
	e := cityEnv(t, groups)
	id := e.draftAndConfirm("台风预警：请居民关好门窗")

	// The enqueuer dies after writing its third chunk of 100, before recording it.
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	dying := e.notices(&crashingStore{Store: e.st, n: 3, cancel: cancel})
	if err := dying.Pump(ctx); err == nil {
		t.Fatal("the enqueuer did not notice it died")
	}
	nt, _ := e.n.Get(e.ctx, id)
	if st, _ := e.st.OutboxStats(e.ctx, notices.BatchID(id)); nt.Enqueued != 200 || st.Pending != 300 {
		t.Fatalf("after the crash: recorded %d, outbox %+v", nt.Enqueued, st)
	}

	// The dispatcher sends for a while, then dies with 30 messages in flight: the Feishu
	// ones reached the platform, none was recorded as sent.
	for range 20 {
		if err := e.d.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(100 * time.Millisecond)
	}
	inflight, err := e.st.LeaseOutbox(e.ctx, e.owner, 30, e.clock.Now(), 2*time.Minute)
	if err != nil || len(inflight) == 0 {
		t.Fatalf("nothing in flight: %v", err)
	}
	reached := 0
	for _, en := range inflight {
		var o bot.Outbound
		if err := json.Unmarshal(en.Payload, &o); err != nil {
			t.Fatal(err)
		}
		if f := e.fakes[o.Platform]; f.deliverOnTimeout {
			f.mu.Lock()
			f.deliver(o)
			f.mu.Unlock()
			reached++
		}
	}
	before, _ := e.st.OutboxStats(e.ctx, notices.BatchID(id))
	t.Logf("crash: %d sent, %d pending, %d in flight (%d reached Feishu)", before.Sent, before.Pending, len(inflight), reached)
	if before.Sent == 0 || before.Sent >= groups {
		t.Fatalf("crash not mid-broadcast: %+v", before)
	}
	e.close()
	e.clock.Advance(5 * time.Second) // the restart

	// A new process on the same file: Tick resumes enqueuing, the dispatcher sends the rest
	// once the dead one's leases run out.
	e.open("b")
	if err := e.n.Tick(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.drain(100 * time.Millisecond)
	e.exactlyOnce(id, groups)
	if nt, _ := e.n.Get(e.ctx, id); nt.Status != notices.StatusSent || nt.Enqueued != groups {
		t.Errorf("notice after resume: %s, %d enqueued", nt.Status, nt.Enqueued)
	}
}

// TestBroadcastScheduleFinishesOtherPlatformsEarly: the binding platform (Feishu's 50/s per
// app) sets the broadcast's span; the other platform's messages, free to go faster, are
// spread over its first two thirds, so their failures are retried while Feishu still sends.
func TestBroadcastScheduleFinishesOtherPlatformsEarly(t *testing.T) {
	const groups = 1000
	e := cityEnv(t, groups)
	start := e.clock.Now()
	id := e.draftAndConfirm("关于开展燃气安全检查的通知")
	if err := e.n.Pump(e.ctx); err != nil {
		t.Fatal(err)
	}
	gs, err := e.st.ListGroups(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]time.Duration{}
	for _, g := range gs {
		en, err := e.st.GetOutbox(e.ctx, notices.EntryID(id, g.ID))
		if err != nil {
			t.Fatal(err)
		}
		last[g.Platform] = max(last[g.Platform], en.NotBefore.Sub(start))
	}
	// 500 Feishu messages, 50 in the burst, the rest at 90% of 50/s (Headroom 0.1).
	span := time.Duration(float64((groups/2-feishuApp.Burst)*int(feishuApp.Every)) / 0.9)
	if d := last["feishu"] - span; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("Feishu's last message due after %v, want %v", last["feishu"], span)
	}
	if w := last["wecom"]; w > span*2/3 || w < span*3/5 {
		t.Errorf("WeCom's last message due after %v, want within two thirds of %v (%v)", w, span, span*2/3)
	}
}
