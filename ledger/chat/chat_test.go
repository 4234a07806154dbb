package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chat"
	"github.com/neighborbot/neighborbot/ledger/ledgertest"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

type env struct {
	st    *bolt.Store
	clock *clock
	l     *chat.Ledger
	srv   *httptest.Server
}

// newEnv is a store holding the ledger fixture (items, people, groups, a notice and an
// activity as package notices and scheduler keep them) and the feature over it.
func newEnv(t *testing.T) *env {
	t.Helper()
	loc := ledgertest.Shanghai()
	c := &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, loc)}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "neighborbot.db"), bolt.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	d := ledgertest.Data()
	for _, p := range d.People {
		must(t, st.PutPerson(ctx, p))
	}
	for _, g := range d.Groups {
		must(t, st.PutGroup(ctx, g))
	}
	for _, it := range d.Items {
		_, err := st.CreateItem(ctx, func(no int64) (*community.Item, error) {
			if no != it.No {
				return nil, fmt.Errorf("fixture item %d got number %d", it.No, no)
			}
			return it, nil
		})
		must(t, err)
	}
	for _, n := range d.Notices {
		nt := notices.Notice{ID: n.ID, Kind: notices.KindNotice, Status: notices.StatusSent, Text: n.Subject, AuthorName: n.AuthorName, SentAt: n.SentAt}
		put(t, st, notices.CollNotices, fmt.Sprint(n.ID), nt)
		put(t, st, notices.CollGroups, fmt.Sprint(n.ID), n.Groups)
		for _, a := range n.Acks {
			put(t, st, notices.CollAcks, notices.AckPrefix(n.ID)+a.Group+"|"+a.Person, notices.Receipt{Notice: n.ID, Group: a.Group, Person: a.Person, Name: a.Name, At: a.At})
		}
	}
	for _, a := range d.Activities {
		o := scheduler.Occurrence{ID: a.ID, Schedule: "theme", Start: a.Start, Title: a.Title, Place: a.Place, Groups: a.Groups, People: map[string]*scheduler.Attendance{}}
		for _, p := range a.People {
			o.People[p.ID] = &scheduler.Attendance{Name: p.Name, Status: p.Status, SignedIn: p.SignedIn}
		}
		put(t, st, scheduler.CollOccurrences, a.ID, o)
	}
	e := &env{st: st, clock: c}
	e.l = e.replica("r1")
	mux := http.NewServeMux()
	e.l.Routes(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.l.PublicURL = e.srv.URL
	return e
}

func (e *env) replica(owner string) *chat.Ledger {
	return &chat.Ledger{Store: e.st, Tree: ledgertest.Tree(), Now: e.clock.Now, Owner: owner}
}

func put(t *testing.T, st store.Docs, coll, id string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	must(t, st.PutDoc(t.Context(), coll, id, b))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// say sends text as p in group g ("" for a private chat) and returns what the bot queued.
func (e *env) say(t *testing.T, p community.Person, g community.Group, text string) ([]bot.Outbound, error) {
	t.Helper()
	r := &bot.Request{
		Msg:    bot.Message{EventID: "e1", Platform: "local", ChatID: g.Chat, GroupID: g.ID, Private: g.ID == "", UserID: p.ID, Text: text},
		Sender: p, Group: g, Now: e.clock.Now(),
	}
	m := bot.NewMux("邻里帮")
	if err := e.l.Register(m); err != nil {
		t.Fatal(err)
	}
	err := m.ServeBot(t.Context(), r)
	if len(r.Outs()) == 0 && err == nil {
		t.Fatalf("%q was not handled", text)
	}
	return r.Outs(), err
}

func TestMonthlyReportCommand(t *testing.T) {
	e := newEnv(t)
	outs, err := e.say(t, ledgertest.Sec, ledgertest.G1, "月报 11月")
	must(t, err)
	if len(outs) != 2 || outs[0].UserID != ledgertest.Sec.ID || outs[0].ChatID != "" || outs[1].Text != bot.PrivatelyNote {
		t.Fatalf("月报 in a group: want a private card and a note in the group, got %+v", outs)
	}
	card := outs[0].Card
	if card == nil || card.Title != "📊 2026年11月 台账月报" || !strings.Contains(card.Text, "范围：幸福社区") || !strings.Contains(card.Text, "居民点单 3 件") {
		t.Errorf("card: %+v", card)
	}
	if strings.Contains(card.Text, "王五") {
		t.Error("幸福社区's report names 光明社区's member")
	}
	if outs[0].Image == nil || !bytes.HasPrefix(outs[0].Image.PNG, []byte("\x89PNG")) {
		t.Error("the report has no chart image")
	}
	if !strings.Contains(card.Footer, "/ledger/chart-2026-11.png?") || !strings.Contains(card.Footer, "/ledger/ledger-2026-11.xlsx?") {
		t.Errorf("footer has no links: %q", card.Footer)
	}
	// A member may not.
	if _, err := e.say(t, ledgertest.M1, ledgertest.G1, "月报"); community.ErrorCode(err) != community.EForbidden {
		t.Errorf("a member's 月报: %v, want forbidden", err)
	}
}

var linkRe = regexp.MustCompile(`http://\S+`)

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	must(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestExportLink(t *testing.T) {
	e := newEnv(t)
	outs, err := e.say(t, ledgertest.Sec, ledgertest.G1, "导出 台账 11月")
	must(t, err)
	if len(outs) != 2 || outs[0].UserID != ledgertest.Sec.ID {
		t.Fatalf("the link must go privately: %+v", outs)
	}
	link := linkRe.FindString(outs[0].Text)
	code, body := get(t, link)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", link, code, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	must(t, err)
	defer f.Close()
	rows, err := f.GetRows("事项台账")
	must(t, err)
	// 幸福社区's items with an event in November: #1 #2 #4 #5 #6 (not 光明社区's #3).
	var nos []string
	for _, r := range rows[1:] {
		nos = append(nos, r[0])
	}
	if strings.Join(nos, ",") != "1,2,4,5,6" {
		t.Errorf("事项台账 rows %v, want 1,2,4,5,6", nos)
	}
	// A forged link shows nothing; an expired one says so.
	if code, _ := get(t, strings.Replace(link, "u=local%3Asec", "u=local%3Ast", 1)); code != http.StatusNotFound {
		t.Errorf("a link for another reader: %d, want 404", code)
	}
	e.clock.Set(e.clock.Now().Add(8 * 24 * time.Hour))
	if code, _ := get(t, link); code != http.StatusGone {
		t.Errorf("an expired link: %d, want 410", code)
	}
}

func TestMyPointsCommand(t *testing.T) {
	e := newEnv(t)
	outs, err := e.say(t, ledgertest.M1, ledgertest.G1, "我的积分")
	must(t, err)
	if len(outs) != 1 || !strings.Contains(outs[0].Text, "今年(2026年)：84分") || !strings.Contains(outs[0].Text, "本月(12月)：15分") {
		t.Errorf("我的积分: %+v", outs)
	}
}

func TestRankingAndUnit(t *testing.T) {
	e := newEnv(t)
	outs, err := e.say(t, ledgertest.St, community.Group{}, "排行 2026")
	must(t, err)
	if len(outs) != 1 || !strings.Contains(outs[0].Text, "1. 张三（幸福社区）84分") || !strings.Contains(outs[0].Text, "/ledger/ledger-2026.xlsx?") {
		t.Errorf("排行: %+v", outs)
	}
	outs, err = e.say(t, ledgertest.St, community.Group{}, "单位报告 区税务局 2026")
	must(t, err)
	if len(outs) != 1 || !strings.Contains(outs[0].Text, "区税务局 2026年 共建报告") {
		t.Errorf("单位报告: %+v", outs)
	}
}

// The report goes out on the 1st at 9:00 to each secretary, once, however many replicas tick.
func TestMonthlyPushExactlyOnce(t *testing.T) {
	e := newEnv(t)
	loc := ledgertest.Shanghai()
	e.clock.Set(time.Date(2026, 12, 1, 8, 59, 0, 0, loc))
	if n, err := e.l.Tick(t.Context(), e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("before 9:00: %d sent, %v", n, err)
	}
	e.clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, loc))
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.replica(fmt.Sprint("r", i)).Tick(context.Background(), e.clock.Now())
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 3 {
		t.Errorf("replicas enqueued %v, want 3 reports in all (王书记, 刘书记, 周书记)", counts)
	}
	nov := ledger.MonthOf(2026, time.November, loc)
	for _, p := range []community.Person{ledgertest.Sec, ledgertest.Sec2, ledgertest.St} {
		en, err := e.st.GetOutbox(t.Context(), chat.PushID(nov, p.ID))
		if err != nil {
			t.Errorf("%s's report: %v", p.Name, err)
			continue
		}
		var o bot.Outbound
		must(t, json.Unmarshal(en.Payload, &o))
		if o.UserID != p.ID || o.Card == nil || o.Image == nil {
			t.Errorf("%s's report: %+v", p.Name, o)
		}
	}
	e.clock.Set(time.Date(2026, 12, 1, 9, 5, 0, 0, loc))
	if n, _ := e.l.Tick(t.Context(), e.clock.Now()); n != 0 {
		t.Errorf("a later tick sent %d more", n)
	}
}
