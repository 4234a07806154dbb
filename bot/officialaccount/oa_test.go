package oa_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	oa "github.com/neighborbot/neighborbot/bot/officialaccount"
	"github.com/neighborbot/neighborbot/bot/officialaccount/oatest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// recorder is a bot.Receiver keeping what it got.
type recorder struct{ got []bot.Message }

func (r *recorder) Receive(_ context.Context, m bot.Message) error {
	r.got = append(r.got, m)
	return nil
}

type fixture struct {
	p    *oa.Platform
	fake *oatest.Server
	st   *bolt.Store
	clk  *clock
	cb   *oatest.Callbacks
}

func newFixture(t *testing.T, tmpl oa.Template) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 5, 6, 9, 30, 0, 0, shanghai)}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fake := oatest.New(t, appID, appSecret)
	nodes := map[string]community.Node{"grid1": {ID: "grid1", Name: "幸福里小区"}, "grid2": {ID: "grid2", Name: "阳光花园"}}
	p, err := oa.New(oa.Options{AppID: appID, Secret: appSecret, Token: oaToken, AESKey: oaKey, BaseURL: fakeURL(fake),
		Status: tmpl, Store: st, Now: clk.Now,
		Node: func(id string) (community.Node, bool) { n, ok := nodes[id]; return n, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{p: p, fake: fake, st: st, clk: clk, cb: &oatest.Callbacks{Token: oaToken, AESKey: oaKey, AppID: appID, Now: clk.Now}}
}

func fakeURL(s *oatest.Server) string { return s.URL }

func (f *fixture) advance(d time.Duration) {
	f.clk.mu.Lock()
	f.clk.t = f.clk.t.Add(d)
	f.clk.mu.Unlock()
}

// serve runs one callback through the adapter's routes.
func (f *fixture) serve(req *http.Request) (*httptest.ResponseRecorder, *recorder) {
	mux := http.NewServeMux()
	rec := &recorder{}
	f.p.Routes(mux, rec)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w, rec
}

var statusTmpl = oa.Template{ID: "tmpl-status", ItemField: "character_string1", StatusField: "thing2", TimeField: "time3"}

func TestSendWithinAndPastTheWindow(t *testing.T) {
	f := newFixture(t, statusTmpl)
	ctx := context.Background()
	// She wrote: the window is open, a customer-service message goes.
	if w, _ := f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "我的", "1", f.clk.Now()))); w.Code != 200 || w.Body.String() != "success" {
		t.Fatalf("callback %d %q", w.Code, w.Body)
	}
	if _, err := f.p.Send(ctx, bot.Outbound{UserID: "oa:o1", Text: "👷 您的需求 #12 已由王师傅认领，正在办理。"}); err != nil {
		t.Fatal(err)
	}
	cs := f.fake.Requests(oatest.PathCustomSend)
	if len(cs) != 1 || cs[0].JSON()["touser"] != "o1" || !strings.Contains(string(cs[0].Body), "#12 已由王师傅认领") {
		t.Fatalf("customer-service messages %v", cs)
	}
	// 49 hours later: the template, with the item number, the status cut to 20 characters, the time.
	f.advance(49 * time.Hour)
	if _, err := f.p.Send(ctx, bot.Outbound{UserID: "oa:o1", Text: "🎉 #12 已办好，请确认并评价：确认 12 5星 很及时（不满意请发：不满意 12 原因）"}); err != nil {
		t.Fatal(err)
	}
	tm := f.fake.Requests(oatest.PathTemplate)
	if len(tm) != 1 || len(f.fake.Requests(oatest.PathCustomSend)) != 1 {
		t.Fatalf("template %d, customer-service %d", len(tm), len(f.fake.Requests(oatest.PathCustomSend)))
	}
	body := tm[0].JSON()
	data := body["data"].(map[string]any)
	if body["template_id"] != "tmpl-status" || body["touser"] != "o1" ||
		data["character_string1"].(map[string]any)["value"] != "#12" ||
		len([]rune(data["thing2"].(map[string]any)["value"].(string))) != 20 ||
		data["time3"].(map[string]any)["value"] != "2026-05-08 10:30" {
		t.Fatalf("template message %s", tm[0].Body)
	}
	// WeChat's own count says the window closed (45015): the template instead.
	f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "我的", "2", f.clk.Now())))
	f.fake.Fail(oatest.PathCustomSend, oatest.CodeWindow)
	if _, err := f.p.Send(ctx, bot.Outbound{UserID: "oa:o1", Text: "#13 已派单"}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.Requests(oatest.PathTemplate)); n != 2 {
		t.Fatalf("after 45015: %d template messages, want 2", n)
	}
}

func TestSendErrors(t *testing.T) {
	f := newFixture(t, oa.Template{})
	ctx := context.Background()
	f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "我的", "1", f.clk.Now())))
	out := bot.Outbound{UserID: "oa:o1", Text: "hello"}
	for _, code := range []int{oatest.CodeFreqLimit, -1} {
		f.fake.Fail(oatest.PathCustomSend, code)
		_, err := f.p.Send(ctx, out)
		var se *bot.SendError
		if !errors.As(err, &se) || !se.Retryable {
			t.Fatalf("errcode %d: %v, want a retryable error", code, err)
		}
	}
	// Not following: permanent, recorded, and not tried again until she writes again.
	f.fake.Fail(oatest.PathCustomSend, oatest.CodeNotFollow)
	_, err := f.p.Send(ctx, out)
	var se *bot.SendError
	if !errors.As(err, &se) || se.Retryable {
		t.Fatalf("43004: %v, want a permanent error", err)
	}
	if _, err := f.st.GetDoc(ctx, oa.CollUnreachable, "o1"); err != nil {
		t.Fatalf("43004 not recorded on the person: %v", err)
	}
	before := len(f.fake.Requests(oatest.PathCustomSend))
	if _, err := f.p.Send(ctx, out); !errors.As(err, &se) || se.Retryable {
		t.Fatalf("send to an unreachable person: %v", err)
	}
	if n := len(f.fake.Requests(oatest.PathCustomSend)); n != before {
		t.Fatalf("an unreachable person was called again")
	}
	f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "我的", "2", f.clk.Now())))
	if _, err := f.p.Send(ctx, out); err != nil {
		t.Fatalf("after she wrote again: %v", err)
	}
	// Past the window with no template configured: permanent, nothing called.
	f.advance(49 * time.Hour)
	if _, err := f.p.Send(ctx, out); !errors.As(err, &se) || se.Retryable {
		t.Fatalf("past the window without a template: %v", err)
	}
	// A group message has nowhere to go.
	if _, err := f.p.Send(ctx, bot.Outbound{ChatID: "x", Text: "hi"}); !errors.As(err, &se) || se.Retryable {
		t.Fatalf("group message: %v", err)
	}
}

func TestCallbackRefusals(t *testing.T) {
	f := newFixture(t, oa.Template{})
	msg := func() *http.Request {
		return f.cb.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "帮助", "1", f.clk.Now()))
	}
	with := func(req *http.Request, k, v string) *http.Request {
		q := req.URL.Query()
		q.Set(k, v)
		req.URL.RawQuery = q.Encode()
		return req
	}
	other := &oatest.Callbacks{Token: oaToken, AESKey: oaKey, AppID: "wxanotherapp", Now: f.clk.Now}
	stale := &oatest.Callbacks{Token: oaToken, AESKey: oaKey, AppID: appID, Now: func() time.Time { return f.clk.Now().Add(-6 * time.Minute) }}
	big := httptest.NewRequest(http.MethodPost, msg().URL.String(), strings.NewReader(strings.Repeat("x", oa.MaxBody+1)))
	for _, c := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"forged msg_signature", with(msg(), "msg_signature", strings.Repeat("a", 40)), 403},
		{"plain mode", with(msg(), "encrypt_type", ""), 400},
		{"another account's message", other.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "帮助", "1", f.clk.Now())), 400},
		{"six minutes old", stale.Post("http://x"+oa.Path, "o1", oatest.Text("o1", "帮助", "1", f.clk.Now())), 400},
		{"openid not the sender", with(msg(), "openid", "o2"), 400},
		{"over 1 MiB", big, 413},
		{"stale verification", stale.Verify("http://x"+oa.Path, "e"), 400},
	} {
		w, rec := f.serve(c.req)
		if w.Code != c.want || len(rec.got) != 0 {
			t.Errorf("%s: %d with %d messages, want %d and none", c.name, w.Code, len(rec.got), c.want)
		}
	}
}

func TestMessages(t *testing.T) {
	f := newFixture(t, oa.Template{})
	now := f.clk.Now()
	for _, c := range []struct {
		name, xml string
		text      string
		action    string
		ref       string
	}{
		{"text", oatest.Text("o1", " 3栋灯坏了 <急> ", "11", now), "3栋灯坏了 <急>", "", ""},
		{"voice", oatest.Voice("o1", "三栋楼道灯坏了", "12", now), "三栋楼道灯坏了", "", ""},
		{"image", oatest.Image("o1", "http://mmbiz/pic.jpg", "media-1", "13", now), "", oa.ActImage, "http://mmbiz/pic.jpg"},
		{"subscribe with a scene", oatest.Subscribe("o1", "grid1", now), "", oa.ActScan, "grid1"},
		{"plain subscribe", oatest.Subscribe("o1", "", now), "", oa.ActFollow, ""},
		{"SCAN", oatest.Scan("o1", "grid2", now), "", oa.ActScan, "grid2"},
		{"menu 我的需求", oatest.Click("o1", oa.KeyMine, now), "我的", "", ""},
		{"menu 我要点单", oatest.Click("o1", oa.KeyNeed, now), "", oa.ActNeedHow, ""},
		{"menu with a text", oatest.Click("o1", "text:待办", now), "待办", "", ""},
	} {
		w, rec := f.serve(f.cb.Post("http://x"+oa.Path, "o1", c.xml))
		if w.Code != 200 || len(rec.got) != 1 {
			t.Errorf("%s: %d, %d messages", c.name, w.Code, len(rec.got))
			continue
		}
		m := rec.got[0]
		if m.UserID != "oa:o1" || !m.Private || m.Platform != "oa" || m.Text != c.text || m.EventID == "" {
			t.Errorf("%s: %+v", c.name, m)
		}
		if (m.Action == nil) != (c.action == "") || m.Action != nil && (m.Action.Name != c.action || m.Action.Ref != c.ref) {
			t.Errorf("%s: action %+v, want %s %s", c.name, m.Action, c.action, c.ref)
		}
	}
	// Events are told apart by sender and time: WeChat's retry of one has the same key.
	_, a := f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Subscribe("o1", "grid1", now)))
	_, b := f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Subscribe("o1", "grid1", now)))
	_, c := f.serve(f.cb.Post("http://x"+oa.Path, "o2", oatest.Subscribe("o2", "grid1", now)))
	if a.got[0].Key() != b.got[0].Key() || a.got[0].Key() == c.got[0].Key() {
		t.Fatalf("event keys %s %s %s", a.got[0].Key(), b.got[0].Key(), c.got[0].Key())
	}
	// A message without sender or type is refused.
	w, rec := f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Msg{}.String()))
	if w.Code != 400 || len(rec.got) != 0 {
		t.Fatalf("empty message: %d", w.Code)
	}
}

func TestScanBindsAndMoves(t *testing.T) {
	f := newFixture(t, oa.Template{})
	ctx := context.Background()
	handle := func(m bot.Message) []bot.Outbound {
		t.Helper()
		m.Platform, m.UserID, m.Private = "oa", "oa:o1", true
		sender, err := f.st.GetPerson(ctx, "oa:o1")
		if err != nil {
			sender = community.Person{ID: "oa:o1", Name: "居民"}
		}
		r := &bot.Request{Msg: m, Sender: sender, Now: f.clk.Now()}
		mux := bot.NewMux("邻里帮")
		if err := f.p.Register(mux); err != nil {
			t.Fatal(err)
		}
		if err := mux.ServeBot(ctx, r); err != nil || len(r.Outs()) == 0 {
			t.Fatalf("%+v: answered %v, %v", m, r.Outs(), err)
		}
		return r.Outs()
	}
	node := func() string {
		p, _ := f.st.GetPerson(ctx, "oa:o1")
		return p.Node
	}
	outs := handle(bot.Message{Action: &bot.Action{Name: oa.ActScan, Ref: "grid1"}})
	if node() != "grid1" || len(outs) != 1 || !strings.Contains(outs[0].Text, "您已绑定幸福里小区") {
		t.Fatalf("first scan: node %q, %+v", node(), outs)
	}
	outs = handle(bot.Message{Action: &bot.Action{Name: oa.ActScan, Ref: "grid2"}})
	if node() != "grid1" || len(outs) != 1 || !strings.Contains(outs[0].Text, "回复“确认 迁移”") {
		t.Fatalf("another compound's code: node %q, %+v", node(), outs)
	}
	outs = handle(bot.Message{Text: "确认  迁移"})
	if node() != "grid2" || len(outs) != 1 || !strings.Contains(outs[0].Text, "阳光花园") {
		t.Fatalf("after 确认 迁移: node %q, %+v", node(), outs)
	}
	outs = handle(bot.Message{Text: "确认 迁移"})
	if node() != "grid2" || !strings.Contains(outs[0].Text, "没有待确认") {
		t.Fatalf("a second 确认 迁移: %+v", outs)
	}
	outs = handle(bot.Message{Action: &bot.Action{Name: oa.ActScan, Ref: "nowhere"}})
	if node() != "grid2" || !strings.Contains(outs[0].Text, "已失效") {
		t.Fatalf("unknown scene: %+v", outs)
	}
	// Other platforms' messages are not its business.
	r := &bot.Request{Msg: bot.Message{Platform: "wecom", Text: "确认 迁移"}}
	if handled, _ := serveOA(t, f.p, ctx, r); handled {
		t.Fatal("handled a WeCom message")
	}
}

func TestQRAndMenu(t *testing.T) {
	f := newFixture(t, oa.Template{})
	ctx := context.Background()
	ticket, img, err := f.p.QR(ctx, "grid1")
	if err != nil {
		t.Fatal(err)
	}
	req := f.fake.Requests(oatest.PathQRCreate)[0].JSON()
	if req["action_name"] != "QR_LIMIT_STR_SCENE" || !strings.Contains(string(f.fake.Requests(oatest.PathQRCreate)[0].Body), `"scene_str":"grid1"`) {
		t.Fatalf("qrcode/create %v", req)
	}
	if !strings.HasPrefix(img, f.fake.URL+oatest.PathShowQR+"?ticket=") {
		t.Fatalf("image URL %q", img)
	}
	png, err := f.p.QRImage(ctx, ticket)
	if err != nil || string(png) != string(oatest.PNG) {
		t.Fatalf("image %q %v", png, err)
	}
	if _, _, err := f.p.QR(ctx, strings.Repeat("x", 65)); err == nil {
		t.Fatal("a 65-byte scene was accepted")
	}
	if err := f.p.InstallMenu(ctx, oa.DefaultMenu()); err != nil {
		t.Fatal(err)
	}
	menu := string(f.fake.Requests(oatest.PathMenuCreate)[0].Body)
	for _, want := range []string{`{"key":"oa_need","name":"我要点单","type":"click"}`,
		`{"key":"text:我的","name":"我的需求","type":"click"}`, `{"key":"text:帮助","name":"帮助","type":"click"}`} {
		if !strings.Contains(menu, want) {
			t.Fatalf("menu %s lacks %s", menu, want)
		}
	}
}

// 二维码 from a secretary (on any platform) answers privately with the compound's QR image
// address; a resident is told to ask the secretary.
func TestQRCommand(t *testing.T) {
	f := newFixture(t, oa.Template{})
	ctx := context.Background()
	sec := community.Person{ID: "wecom:zhao", Name: "赵书记", Role: community.RoleSecretary, Node: "grid1"}
	r := &bot.Request{Msg: bot.Message{Platform: "wecom", UserID: "wecom:zhao", ChatID: "wrchat", GroupID: "wecom:wrchat", Text: "二维码", Mentioned: true},
		Sender: sec, Group: community.Group{ID: "wecom:wrchat", Node: "grid1"}, Now: f.clk.Now()}
	if handled, err := serveOA(t, f.p, ctx, r); !handled || err != nil {
		t.Fatalf("handled %v, %v", handled, err)
	}
	outs := r.Outs()
	if len(outs) != 2 || outs[0].UserID != "wecom:zhao" || !strings.Contains(outs[0].Text, oatest.PathShowQR+"?ticket=") ||
		!strings.Contains(outs[0].Text, "幸福里小区") || outs[1].ChatID != "wrchat" {
		t.Fatalf("answer %+v", outs)
	}
	if body := string(f.fake.Requests(oatest.PathQRCreate)[0].Body); !strings.Contains(body, `"scene_str":"grid1"`) {
		t.Fatalf("qrcode/create %s", body)
	}
	// Another compound than hers: refused, nothing made.
	r = &bot.Request{Msg: bot.Message{Platform: "wecom", UserID: "wecom:zhao", Private: true, Text: "二维码 grid2"}, Sender: sec, Now: f.clk.Now()}
	serveOA(t, f.p, ctx, r)
	if outs := r.Outs(); len(outs) != 1 || !strings.Contains(outs[0].Text, "所辖") || len(f.fake.Requests(oatest.PathQRCreate)) != 1 {
		t.Fatalf("another compound: %+v", outs)
	}
	r = &bot.Request{Msg: bot.Message{Platform: "oa", UserID: "oa:o1", Private: true, Text: "二维码"},
		Sender: community.Person{ID: "oa:o1", Node: "grid1"}, Now: f.clk.Now()}
	serveOA(t, f.p, ctx, r)
	if outs := r.Outs(); len(outs) != 1 || !strings.Contains(outs[0].Text, "向社区书记索取") || len(f.fake.Requests(oatest.PathQRCreate)) != 1 {
		t.Fatalf("a resident: %+v", outs)
	}
}

// An unfollow stops every send to the person, without calling WeChat, until she follows again.
func TestUnsubscribe(t *testing.T) {
	f := newFixture(t, statusTmpl)
	ctx := context.Background()
	f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Subscribe("o1", "grid1", f.clk.Now())))
	w, rec := f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Unsubscribe("o1", f.clk.Now().Add(time.Second))))
	if w.Code != 200 || len(rec.got) != 0 {
		t.Fatalf("unsubscribe: %d, %d messages", w.Code, len(rec.got))
	}
	var se *bot.SendError
	if _, err := f.p.Send(ctx, bot.Outbound{UserID: "oa:o1", Text: "#1 已派单"}); !errors.As(err, &se) || se.Retryable {
		t.Fatalf("send after unfollow: %v", err)
	}
	if n := len(f.fake.Requests(oatest.PathCustomSend)) + len(f.fake.Requests(oatest.PathTemplate)); n != 0 {
		t.Fatalf("%d calls after the unfollow", n)
	}
	f.serve(f.cb.Post("http://x"+oa.Path, "o1", oatest.Subscribe("o1", "grid1", f.clk.Now().Add(time.Minute))))
	if _, err := f.p.Send(ctx, bot.Outbound{UserID: "oa:o1", Text: "#1 已派单"}); err != nil {
		t.Fatalf("send after following again: %v", err)
	}
}

type fakeItems struct {
	items   []*community.Item
	persons []community.Person
}

func (f *fakeItems) ListItems(_ context.Context, fl store.ItemFilter) ([]*community.Item, error) {
	var out []*community.Item
	for _, it := range f.items {
		if it.RequesterID == fl.Requester {
			out = append(out, it)
		}
	}
	return out, nil
}

func (f *fakeItems) ListPersons(context.Context) ([]community.Person, error) { return f.persons, nil }

// An image for a need nobody claimed yet goes to the secretaries over it; without an open need
// she is asked to describe it first.
func TestImageBeforeAClaim(t *testing.T) {
	f := newFixture(t, oa.Template{})
	ctx := context.Background()
	items := &fakeItems{persons: []community.Person{
		{ID: "wecom:zhao", Role: community.RoleSecretary, Node: "grid1"},
		{ID: "wecom:sun", Role: community.RoleSecretary, Node: "grid2"},
		{ID: "wecom:wang", Role: community.RoleMember, Node: "grid1"},
	}}
	f.p.SetItems(items)
	img := func() []bot.Outbound {
		r := &bot.Request{Msg: bot.Message{Platform: "oa", UserID: "oa:o1", Private: true,
			Action: &bot.Action{Name: oa.ActImage, Ref: "http://mmbiz/p.jpg", Value: "m1"}}, Now: f.clk.Now()}
		if handled, err := serveOA(t, f.p, ctx, r); !handled || err != nil {
			t.Fatalf("handled %v, %v", handled, err)
		}
		return r.Outs()
	}
	if outs := img(); len(outs) != 1 || !strings.Contains(outs[0].Text, "请先用文字或语音说明") {
		t.Fatalf("no open need: %+v", outs)
	}
	items.items = []*community.Item{{No: 7, RequesterID: "oa:o1", Node: "grid1", Title: "楼道灯坏了"}}
	outs := img()
	if len(outs) != 2 || outs[0].UserID != "wecom:zhao" || outs[0].Platform != "wecom" || !strings.Contains(outs[0].Text, "http://mmbiz/p.jpg") ||
		!strings.Contains(outs[1].Text, "#7") || outs[1].UserID != "oa:o1" {
		t.Fatalf("unclaimed need: %+v", outs)
	}
	if raw, err := f.st.GetDoc(ctx, oa.CollImages, "7"); err != nil || !strings.Contains(string(raw), "http://mmbiz/p.jpg") {
		t.Fatalf("image not noted on the item: %s %v", raw, err)
	}
}

// serveOA routes r through a command mux holding the channel's registrations alone, as the app
// does; handled is whether anything was answered.
func serveOA(t *testing.T, p *oa.Platform, ctx context.Context, r *bot.Request) (bool, error) {
	t.Helper()
	m := bot.NewMux("邻里帮")
	if err := p.Register(m); err != nil {
		t.Fatal(err)
	}
	err := m.ServeBot(ctx, r)
	return len(r.Outs()) > 0, err
}
