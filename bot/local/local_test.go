package local_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/local"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// memDocs is an in-memory store.Docs; the real backends have their own conformance suite.
type memDocs struct {
	mu   sync.Mutex
	docs map[string]map[string][]byte
	fail error // when set, every write fails
}

func newMemDocs() *memDocs { return &memDocs{docs: map[string]map[string][]byte{}} }

func (m *memDocs) GetDoc(_ context.Context, coll, id string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.docs[coll][id]
	if !ok {
		return nil, store.ErrNotFound("文档")
	}
	return slices.Clone(v), nil
}

func (m *memDocs) PutDoc(_ context.Context, coll, id string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.docs[coll] == nil {
		m.docs[coll] = map[string][]byte{}
	}
	m.docs[coll][id] = slices.Clone(value)
	return nil
}

func (m *memDocs) UpdateDoc(_ context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	old, ok := m.docs[coll][id]
	if !ok {
		old = nil
	}
	v, err := fn(slices.Clone(old))
	if err != nil {
		return nil, err
	}
	if m.docs[coll] == nil {
		m.docs[coll] = map[string][]byte{}
	}
	if v == nil {
		delete(m.docs[coll], id)
	} else {
		m.docs[coll][id] = slices.Clone(v)
	}
	return v, nil
}

func (m *memDocs) DeleteDoc(_ context.Context, coll, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs[coll], id)
	return nil
}

func (m *memDocs) ListDocs(_ context.Context, coll, prefix string) ([]store.Doc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Doc
	for id, v := range m.docs[coll] {
		if strings.HasPrefix(id, prefix) {
			out = append(out, store.Doc{ID: id, Value: slices.Clone(v)})
		}
	}
	slices.SortFunc(out, func(a, b store.Doc) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// recorder is the bot side: it records what it receives and, if reply is set, answers the
// way the engine would, through the platform's Send with an engine-style outbound id.
type recorder struct {
	mu    sync.Mutex
	msgs  []bot.Message
	reply func(m bot.Message)
}

func (r *recorder) Receive(_ context.Context, m bot.Message) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	reply := r.reply
	r.mu.Unlock()
	if reply != nil {
		reply(m)
	}
	return nil
}

func (r *recorder) all() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func (r *recorder) last(t *testing.T) bot.Message {
	t.Helper()
	all := r.all()
	if len(all) == 0 {
		t.Fatal("the bot received nothing")
	}
	return all[len(all)-1]
}

var now = time.Date(2026, 3, 14, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

func options(docs store.Docs) local.Options {
	return local.Options{
		BotName: "邻里帮",
		Groups: []community.Group{
			{ID: "local:xingfuli", Platform: "local", Chat: "xingfuli", Name: "幸福里小区群", Node: "grid1"},
			{ID: "local:yangguang", Platform: "local", Chat: "yangguang", Name: "阳光花园小区群", Node: "grid2"},
		},
		Personas: []community.Person{
			{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary},
			{ID: "local:li", Name: "李建国", Role: community.RoleMember},
			{ID: "local:chen", Name: "陈阿姨", Role: community.RoleResident},
		},
		Docs: docs,
		Now:  func() time.Time { return now },
	}
}

type env struct {
	p    *local.Platform
	srv  *httptest.Server
	bot  *recorder
	docs *memDocs
}

func start(t *testing.T, docs *memDocs) *env {
	t.Helper()
	if docs == nil {
		docs = newMemDocs()
	}
	e := &env{p: local.New(options(docs)), bot: &recorder{}, docs: docs}
	mux := http.NewServeMux()
	e.p.Routes(mux, e.bot)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// message is a transcript message as the API shows it.
type message struct {
	ID       string        `json:"id"`
	Rev      int64         `json:"rev"`
	Group    string        `json:"group"`
	To       string        `json:"to"`
	From     string        `json:"from"`
	User     string        `json:"user"`
	Name     string        `json:"name"`
	Text     string        `json:"text"`
	Card     *bot.Card     `json:"card"`
	ReplyTo  string        `json:"reply_to"`
	Mentions []bot.Mention `json:"mentions"`
	At       time.Time     `json:"at"`
}

type postAnswer struct {
	ID      string    `json:"id"`
	EventID string    `json:"event_id"`
	Replies []message `json:"replies"`
	Error   string    `json:"error"`
	Raw     string    `json:"-"`
	Status  int       `json:"-"`
}

func (e *env) post(t *testing.T, path string, body any) postAnswer {
	t.Helper()
	a, err := e.tryPost(path, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryPost is post for goroutines other than the test's.
func (e *env) tryPost(path string, body any) (postAnswer, error) {
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(body)
		if err != nil {
			return postAnswer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	res, err := http.Post(e.srv.URL+path, "application/json", rd)
	if err != nil {
		return postAnswer{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var a postAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return a, fmt.Errorf("POST %s: answer %q is not JSON: %w", path, raw, err)
	}
	a.Raw, a.Status = string(raw), res.StatusCode
	return a, nil
}

func (e *env) messages(t *testing.T, query string) []message {
	t.Helper()
	res, err := http.Get(e.srv.URL + "/local/messages?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(res.Body)
		t.Fatalf("GET messages?%s: %d %s", query, res.StatusCode, raw)
	}
	var v struct{ Messages []message }
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Messages
}

func send(t *testing.T, p *local.Platform, o bot.Outbound) string {
	t.Helper()
	if o.Platform == "" {
		o.Platform = "local"
	}
	s, err := p.Send(context.Background(), o)
	if err != nil {
		t.Fatalf("Send %s: %v", o.ID, err)
	}
	if s.MessageID == "" {
		t.Fatalf("Send %s gave no message id", o.ID)
	}
	return s.MessageID
}

func itemCard(title string) *bot.Card {
	return &bot.Card{
		Key: "item:12", Title: title, Color: "orange", Text: "3栋2单元楼道灯坏了",
		Fields: []bot.Field{{Label: "提出", Value: "陈阿姨", Short: true}},
		Buttons: []bot.Button{
			{Label: "接单", Action: "claim", Item: 12, Style: "primary"},
			{Label: "5★", Action: "rate", Item: 12, Value: "5"},
			{Label: "4★", Action: "rate", Item: 12, Value: "4"},
		},
	}
}

func TestName(t *testing.T) {
	if got := local.New(options(nil)).Name(); got != "local" {
		t.Errorf("Name() = %q, want local", got)
	}
}

func TestPageHasTheElementsTheBrowserTestUses(t *testing.T) {
	e := start(t, nil)
	res, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(raw)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`id="persona"`, `id="text"`, `id="send"`, `id="mention" checked`, `id="messages"`, `id="dms"`,
		`class="group" data-group="local:xingfuli"`, `data-group="local:yangguang"`, `幸福里小区群`,
		`王书记 · 书记`, `陈阿姨 · 居民`, `李建国 · 党员`, `value="local:wang"`, `@邻里帮`, `私信`,
		`/local/static/app.js`, `/local/static/style.css`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for path, want := range map[string]string{
		"/local/static/app.js":    "EventSource",
		"/local/static/style.css": ".card-btn",
	} {
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(raw), want) {
			t.Errorf("GET %s = %d, want 200 with %q", path, res.StatusCode, want)
		}
	}
	// The page is the root only, not a catch-all that would hide other routes' 404s.
	if res, err := http.Get(e.srv.URL + "/nope"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %v %v, want 404", res.StatusCode, err)
	}
}

func TestPersonasAndGroups(t *testing.T) {
	e := start(t, nil)
	var personas []struct{ ID, Name, Role, RoleName, Label string }
	var groups []struct{ ID, Chat, Name string }
	for path, v := range map[string]any{"/local/personas": &personas, "/local/groups": &groups} {
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		res.Body.Close()
	}
	if len(personas) != 3 || personas[0].ID != "local:wang" || personas[0].Label != "王书记 · 书记" || personas[0].Role != "secretary" {
		t.Errorf("personas = %+v", personas)
	}
	if len(groups) != 2 || groups[0].ID != "local:xingfuli" || groups[0].Chat != "xingfuli" || groups[0].Name != "幸福里小区群" {
		t.Errorf("groups = %+v", groups)
	}
}

func TestPostMessageBuildsTheBotMessage(t *testing.T) {
	e := start(t, nil)
	card := send(t, e.p, bot.Outbound{ID: "seed/0", ChatID: "xingfuli", Card: itemCard("#12 服务事项 · 待认领")})
	tests := []struct {
		name string
		body map[string]any
		want bot.Message
	}{{
		name: "mention stripped",
		body: map[string]any{"group": "local:xingfuli", "user": "local:chen", "text": "@邻里帮 3栋2单元楼道灯坏了"},
		want: bot.Message{Platform: "local", ChatID: "xingfuli", GroupID: "local:xingfuli", UserID: "local:chen",
			UserName: "陈阿姨", Text: "3栋2单元楼道灯坏了", Mentioned: true, At: now},
	}, {
		name: "full-width mention, bare chat id",
		body: map[string]any{"group": "xingfuli", "user": "local:chen", "text": "＠邻里帮　帮助"},
		want: bot.Message{Platform: "local", ChatID: "xingfuli", GroupID: "local:xingfuli", UserID: "local:chen",
			UserName: "陈阿姨", Text: "帮助", Mentioned: true, At: now},
	}, {
		name: "no mention",
		body: map[string]any{"group": "local:yangguang", "user": "local:li", "text": "大家好"},
		want: bot.Message{Platform: "local", ChatID: "yangguang", GroupID: "local:yangguang", UserID: "local:li",
			UserName: "李建国", Text: "大家好", At: now},
	}, {
		name: "reply to a card",
		body: map[string]any{"group": "local:xingfuli", "user": "local:li", "text": "我来", "reply_to": card},
		want: bot.Message{Platform: "local", ChatID: "xingfuli", GroupID: "local:xingfuli", UserID: "local:li",
			UserName: "李建国", Text: "我来", ReplyTo: card, At: now},
	}, {
		name: "private",
		body: map[string]any{"user": "local:chen", "text": "我的"},
		want: bot.Message{Platform: "local", ChatID: "chen", Private: true, UserID: "local:chen",
			UserName: "陈阿姨", Text: "我的", At: now},
	}}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.post(t, "/local/messages", tt.body)
			if a.Status != http.StatusAccepted || a.ID == "" || a.EventID == "" {
				t.Fatalf("POST = %d %s, want 202 with id and event_id", a.Status, a.Raw)
			}
			got := e.bot.last(t)
			if got.EventID != a.EventID || seen[got.EventID] {
				t.Errorf("event id %q (answer %q) is not new", got.EventID, a.EventID)
			}
			seen[got.EventID] = true
			if got.MessageID != a.ID {
				t.Errorf("MessageID = %q, want the transcript id %q", got.MessageID, a.ID)
			}
			got.EventID, got.MessageID = "", ""
			if !got.At.Equal(tt.want.At) {
				t.Errorf("At = %v, want %v", got.At, tt.want.At)
			}
			got.At = tt.want.At
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("bot got\n%+v\nwant\n%+v", got, tt.want)
			}
			// The transcript shows the message as typed, by its author.
			q := "group=" + tt.want.GroupID
			if tt.want.Private {
				q = "user=local:chen"
			}
			msgs := e.messages(t, q+"&after=0")
			m := msgs[len(msgs)-1]
			if m.ID != a.ID || m.From != "user" || m.User != tt.want.UserID || m.Name != tt.want.UserName ||
				m.Text != tt.body["text"] || m.ReplyTo != tt.want.ReplyTo {
				t.Errorf("transcript shows %+v", m)
			}
		})
	}
}

func TestActionTapMapsTheCardButton(t *testing.T) {
	e := start(t, nil)
	card := send(t, e.p, bot.Outbound{ID: "ev1/0", ChatID: "xingfuli", Card: itemCard("#12 服务事项 · 待确认")})
	a := e.post(t, "/local/actions", map[string]any{"group": "local:xingfuli", "user": "local:chen", "message": card, "action": "rate", "value": "4"})
	if a.Status != http.StatusAccepted {
		t.Fatalf("tap = %d %s", a.Status, a.Raw)
	}
	got := e.bot.last(t)
	want := bot.Action{Name: "rate", Item: 12, Value: "4", MessageID: card}
	if got.Action == nil || *got.Action != want {
		t.Fatalf("Action = %+v, want %+v", got.Action, want)
	}
	if got.UserID != "local:chen" || got.UserName != "陈阿姨" || got.GroupID != "local:xingfuli" || got.ChatID != "xingfuli" ||
		got.EventID != a.EventID || got.Private || got.Platform != "local" {
		t.Errorf("tap message = %+v", got)
	}

	// A numeric message id works too; claim has no value.
	a = e.post(t, "/local/actions", fmt.Sprintf(`{"group":"xingfuli","user":"local:li","message":%s,"action":"claim"}`, card))
	if a.Status != http.StatusAccepted || e.bot.last(t).Action.Name != "claim" || e.bot.last(t).Action.Item != 12 {
		t.Fatalf("claim tap = %d %s, action %+v", a.Status, a.Raw, e.bot.last(t).Action)
	}

	// A private card is tapped without a group.
	dm := send(t, e.p, bot.Outbound{ID: "ev2/0", UserID: "local:wang", Card: itemCard("#12 请审核")})
	a = e.post(t, "/local/actions", map[string]any{"user": "local:wang", "message": dm, "action": "claim"})
	if got := e.bot.last(t); a.Status != http.StatusAccepted || !got.Private || got.Action == nil || got.Action.MessageID != dm {
		t.Fatalf("private tap = %d %s, message %+v", a.Status, a.Raw, got)
	}

	n := len(e.bot.all())
	for name, body := range map[string]map[string]any{
		"button not on the card": {"group": "local:xingfuli", "user": "local:chen", "message": card, "action": "rate", "value": "9"},
		"no such message":        {"group": "local:xingfuli", "user": "local:chen", "message": "999", "action": "claim"},
		"card of another group":  {"group": "local:yangguang", "user": "local:chen", "message": card, "action": "claim"},
		"someone else's private": {"user": "local:chen", "message": dm, "action": "claim"},
		"unknown user":           {"group": "local:xingfuli", "user": "local:nobody", "message": card, "action": "claim"},
	} {
		if a := e.post(t, "/local/actions", body); a.Status != http.StatusBadRequest || !chinese(a.Error) {
			t.Errorf("%s: %d %s, want 400 with a Chinese error", name, a.Status, a.Raw)
		}
	}
	if len(e.bot.all()) != n {
		t.Errorf("bad taps reached the bot")
	}
}

func TestSendIsIdempotentByOutboundID(t *testing.T) {
	e := start(t, nil)
	o := bot.Outbound{ID: "local:ev9/0", ChatID: "xingfuli", Text: "已收到，编号 #12",
		Mentions: []bot.Mention{{UserID: "local:chen", Name: "陈阿姨"}}}
	first := send(t, e.p, o)
	again := send(t, e.p, o)
	if again != first {
		t.Errorf("retried Send gave id %s, want %s", again, first)
	}
	other := send(t, e.p, bot.Outbound{ID: "local:ev9/1", ChatID: "xingfuli", Text: "第二条"})
	if other == first {
		t.Errorf("another outbound got the same id %s", other)
	}
	msgs := e.messages(t, "group=local:xingfuli&after=0")
	if len(msgs) != 2 || msgs[0].ID != first || msgs[0].From != "bot" || msgs[0].Name != "邻里帮" ||
		msgs[0].Text != "已收到，编号 #12" || len(msgs[0].Mentions) != 1 || msgs[0].Mentions[0].Name != "陈阿姨" {
		t.Fatalf("transcript = %+v, want the two messages once each", msgs)
	}
	if got := e.messages(t, "group=local:xingfuli&after="+first); len(got) != 1 || got[0].ID != other {
		t.Errorf("after=%s gave %+v, want only %s", first, got, other)
	}

	dm := send(t, e.p, bot.Outbound{ID: "local:ev9/2", UserID: "local:li", Text: "🔒 #12 的联系方式"})
	if got := e.messages(t, "user=local:li&after=0"); len(got) != 1 || got[0].ID != dm || got[0].To != "local:li" {
		t.Errorf("li's private chat = %+v", got)
	}
	if got := e.messages(t, "user=local:chen&after=0"); len(got) != 0 {
		t.Errorf("chen sees li's private message: %+v", got)
	}
}

func TestUpdateCardReplacesInPlace(t *testing.T) {
	e := start(t, nil)
	id := send(t, e.p, bot.Outbound{ID: "a/0", ChatID: "xingfuli", Card: itemCard("#12 服务事项 · 待认领")})
	send(t, e.p, bot.Outbound{ID: "a/1", ChatID: "xingfuli", Text: "之后的消息"})
	updated := itemCard("#12 服务事项 · 办理中")
	updated.Color = "blue"
	updated.Buttons = []bot.Button{{Label: "完成", Action: "complete", Item: 12}}
	if err := e.p.UpdateCard(context.Background(), id, bot.Outbound{ID: "b/0", ChatID: "xingfuli", Card: updated, Update: true}); err != nil {
		t.Fatal(err)
	}
	msgs := e.messages(t, "group=local:xingfuli&after=0")
	if len(msgs) != 2 || msgs[0].ID != id || msgs[0].Card == nil || msgs[0].Card.Title != "#12 服务事项 · 办理中" ||
		msgs[0].Card.Color != "blue" || len(msgs[0].Card.Buttons) != 1 {
		t.Fatalf("after the update the transcript is %+v", msgs)
	}
	// Pollers asking for changes see the updated card.
	if got := e.messages(t, fmt.Sprintf("group=local:xingfuli&since=%d", msgs[1].Rev)); len(got) != 1 || got[0].ID != id {
		t.Errorf("changes since rev %d = %+v, want the updated card", msgs[1].Rev, got)
	}
	// The old button is gone; the new one works.
	if a := e.post(t, "/local/actions", map[string]any{"group": "local:xingfuli", "user": "local:li", "message": id, "action": "claim"}); a.Status != http.StatusBadRequest {
		t.Errorf("tapping a removed button = %d", a.Status)
	}
	if err := e.p.UpdateCard(context.Background(), "999", bot.Outbound{Card: updated}); err == nil {
		t.Error("updating a message that does not exist succeeded")
	}
	// Send with Update (a dispatcher without card references) updates too.
	again := itemCard("#12 服务事项 · 已办结")
	if got := send(t, e.p, bot.Outbound{ID: "c/0", ChatID: "xingfuli", Card: again, Update: true}); got != id {
		t.Errorf("update through Send went to %s, want %s", got, id)
	}
	if msgs := e.messages(t, "group=local:xingfuli&after=0"); len(msgs) != 2 || msgs[0].Card.Title != "#12 服务事项 · 已办结" {
		t.Errorf("after the update through Send: %+v", msgs)
	}
}

func chinese(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestValidation(t *testing.T) {
	e := start(t, nil)
	long := strings.Repeat("灯", 2001)
	huge := `{"group":"local:xingfuli","user":"local:chen","text":"` + strings.Repeat("a", 70<<10) + `"}`
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		says   string
	}{
		{"unknown group", "/local/messages", map[string]string{"group": "local:nowhere", "user": "local:chen", "text": "你好"}, 400, "没有这个群"},
		{"unknown user", "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:nobody", "text": "你好"}, 400, "没有这个身份"},
		{"no user", "/local/messages", map[string]string{"group": "local:xingfuli", "text": "你好"}, 400, "身份"},
		{"empty text", "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "  "}, 400, "不能为空"},
		{"text too long", "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": long}, 400, "2000字"},
		{"body too big", "/local/messages", huge, 413, "太大"},
		{"not JSON", "/local/messages", "text=hi", 400, "JSON"},
		{"reply to nothing", "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "好", "reply_to": "777"}, 400, "不存在"},
		{"bad wait", "/local/messages?wait=soon", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "好"}, 400, "wait"},
		{"tap: body too big", "/local/actions", huge, 413, "太大"},
		{"tap: unknown group", "/local/actions", map[string]string{"group": "x", "user": "local:chen", "message": "1", "action": "claim"}, 400, "没有这个群"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.post(t, tt.path, tt.body)
			if a.Status != tt.status || !strings.Contains(a.Error, tt.says) || !chinese(a.Error) {
				t.Errorf("= %d %s, want %d with a Chinese error saying %q", a.Status, a.Raw, tt.status, tt.says)
			}
		})
	}
	if n := len(e.bot.all()); n != 0 {
		t.Errorf("%d invalid requests reached the bot", n)
	}
	if msgs := e.messages(t, "group=local:xingfuli&after=0"); len(msgs) != 0 {
		t.Errorf("invalid requests reached the transcript: %+v", msgs)
	}
	for _, q := range []string{"", "group=local:nowhere", "user=local:nobody", "group=local:xingfuli&after=x"} {
		res, err := http.Get(e.srv.URL + "/local/messages?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Error string }
		json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !chinese(v.Error) {
			t.Errorf("GET messages?%s = %d %q, want 400 with a Chinese error", q, res.StatusCode, v.Error)
		}
	}
}

func TestTranscriptSurvivesRestart(t *testing.T) {
	docs := newMemDocs()
	e := start(t, docs)
	user := e.post(t, "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "@邻里帮 楼道灯坏了"})
	card := send(t, e.p, bot.Outbound{ID: "local:" + user.EventID + "/0", ChatID: "xingfuli", Card: itemCard("#12 居民需求 · 待派单"), ReplyTo: user.ID})
	if err := e.p.UpdateCard(context.Background(), card, bot.Outbound{Card: itemCard("#12 服务事项 · 待认领")}); err != nil {
		t.Fatal(err)
	}
	dm := send(t, e.p, bot.Outbound{ID: "local:" + user.EventID + "/1", UserID: "local:wang", Text: "新需求 #12"})

	again := start(t, docs)
	msgs := again.messages(t, "group=local:xingfuli&after=0")
	if len(msgs) != 2 || msgs[0].ID != user.ID || msgs[0].Text != "@邻里帮 楼道灯坏了" || msgs[1].ID != card ||
		msgs[1].Card.Title != "#12 服务事项 · 待认领" || msgs[1].ReplyTo != user.ID {
		t.Fatalf("after restart the group shows %+v", msgs)
	}
	if got := again.messages(t, "user=local:wang&after=0"); len(got) != 1 || got[0].ID != dm {
		t.Errorf("after restart the private chat shows %+v", got)
	}
	// Ids go on increasing, and an outbound retried across the restart is not appended again.
	if got := send(t, again.p, bot.Outbound{ID: "local:" + user.EventID + "/1", UserID: "local:wang", Text: "新需求 #12"}); got != dm {
		t.Errorf("the retried outbound got id %s, want %s", got, dm)
	}
	next := again.post(t, "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:li", "text": "我来"})
	if !after(next.ID, dm) {
		t.Errorf("new message id %s is not after %s", next.ID, dm)
	}
	if got := again.messages(t, "group=local:xingfuli&after=0"); len(got) != 3 {
		t.Errorf("transcript after restart and one more message has %d messages", len(got))
	}
}

func after(a, b string) bool {
	var x, y int64
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &y)
	return x > y
}

func TestSendReportsAStoreFailureAndRetrySavesIt(t *testing.T) {
	docs := newMemDocs()
	e := start(t, docs)
	docs.mu.Lock()
	docs.fail = fmt.Errorf("disk full")
	docs.mu.Unlock()
	o := bot.Outbound{ID: "local:e/0", ChatID: "xingfuli", Text: "你好"}
	if _, err := e.p.Send(context.Background(), o); err == nil {
		t.Fatal("Send succeeded although the transcript was not saved")
	}
	docs.mu.Lock()
	docs.fail = nil
	docs.mu.Unlock()
	id := send(t, e.p, o)
	if got := e.messages(t, "group=local:xingfuli&after=0"); len(got) != 1 || got[0].ID != id {
		t.Errorf("transcript = %+v, want the message once", got)
	}
	if got := start(t, docs).messages(t, "group=local:xingfuli&after=0"); len(got) != 1 {
		t.Errorf("the retry did not save the message: %+v", got)
	}
}

// event reads the next Server-Sent Event's data.
func event(t *testing.T, events <-chan string) message {
	t.Helper()
	select {
	case data, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		var m message
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return message{}
}

func TestStreamDeliversNewAndUpdatedMessages(t *testing.T) {
	e := start(t, nil)
	old := send(t, e.p, bot.Outbound{ID: "old/0", ChatID: "xingfuli", Text: "旧消息"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/local/stream?group=local:xingfuli&user=local:chen", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan string)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case events <- data:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	// The headers are there, so the stream is subscribed: what happens now is delivered.
	send(t, e.p, bot.Outbound{ID: "other/0", ChatID: "yangguang", Text: "别的群"})
	send(t, e.p, bot.Outbound{ID: "other/1", UserID: "local:li", Text: "别人的私信"})
	id := send(t, e.p, bot.Outbound{ID: "new/0", ChatID: "xingfuli", Card: itemCard("#12 居民需求 · 待派单")})
	if m := event(t, events); m.ID != id || m.From != "bot" || m.Card == nil || m.Group != "local:xingfuli" {
		t.Fatalf("first event = %+v, want the new card %s (not the old message %s, nor other chats)", m, id, old)
	}
	dm := send(t, e.p, bot.Outbound{ID: "new/1", UserID: "local:chen", Text: "您的需求已登记"})
	if m := event(t, events); m.ID != dm || m.To != "local:chen" {
		t.Fatalf("second event = %+v, want the private message %s", m, dm)
	}
	if err := e.p.UpdateCard(context.Background(), id, bot.Outbound{Card: itemCard("#12 服务事项 · 待认领")}); err != nil {
		t.Fatal(err)
	}
	if m := event(t, events); m.ID != id || m.Card.Title != "#12 服务事项 · 待认领" {
		t.Fatalf("third event = %+v, want the updated card", m)
	}
	user := e.post(t, "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:li", "text": "我来", "reply_to": id})
	if m := event(t, events); m.ID != user.ID || m.From != "user" || m.ReplyTo != id {
		t.Fatalf("fourth event = %+v, want li's reply", m)
	}
}

func TestStreamResumesFromLastEventID(t *testing.T) {
	e := start(t, nil)
	send(t, e.p, bot.Outbound{ID: "x/0", ChatID: "xingfuli", Text: "一"})
	missed := send(t, e.p, bot.Outbound{ID: "x/1", ChatID: "xingfuli", Text: "二"})
	msgs := e.messages(t, "group=local:xingfuli&after=0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/local/stream?group=xingfuli", nil)
	req.Header.Set("Last-Event-ID", fmt.Sprint(msgs[0].Rev))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m message
			json.Unmarshal([]byte(data), &m)
			if m.ID != missed {
				t.Errorf("resumed with %+v, want the missed message %s", m, missed)
			}
			return
		}
	}
	t.Fatal("the stream ended without an event")
}

// With the engine's reports (ReplyHook), a wait returns when every reply its event produced
// is in the transcript: not before, however long one is held back (a rate limit puts it in
// the outbox for later), and at once when there are none. Replies to another platform are
// not waited for.
func TestWaitFollowsTheEngine(t *testing.T) {
	e := start(t, nil)
	replied := e.p.ReplyHook()
	var wg sync.WaitGroup
	defer wg.Wait()
	e.bot.reply = func(m bot.Message) {
		key := "local:" + m.EventID
		replied(m, []store.OutboxEntry{
			{ID: key + "/0", Platform: "local"}, {ID: key + "/1", Platform: "local"},
			{ID: key + "/2", Platform: "feishu"}, // another platform's: never in this transcript
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.p.Send(context.Background(), bot.Outbound{ID: key + "/0", ChatID: m.ChatID, Text: "已收到"})
			time.Sleep(500 * time.Millisecond) // held back well past the old settle
			e.p.Send(context.Background(), bot.Outbound{ID: key + "/1", UserID: "local:wang", Text: "新需求"})
		}()
	}
	a := e.post(t, "/local/messages?wait=8s", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "@邻里帮 楼道灯坏了"})
	if len(a.Replies) != 2 || a.Replies[1].Text != "新需求" {
		t.Fatalf("= %s, want both replies, the late one too", a.Raw)
	}

	// No replies: the wait ends as soon as the engine says so, not when it runs out.
	e.bot.mu.Lock()
	e.bot.reply = func(m bot.Message) { replied(m, nil) }
	e.bot.mu.Unlock()
	start := time.Now()
	a = e.post(t, "/local/messages?wait=10s", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "好的"})
	if len(a.Replies) != 0 || a.Replies == nil {
		t.Fatalf("= %s, want no replies", a.Raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a wait for an event without replies took %v: it ran out instead of ending", d)
	}
	// An event of another platform is none of the playground's business.
	replied(bot.Message{Platform: "feishu", EventID: "x"}, []store.OutboxEntry{{ID: "feishu:x/0", Platform: "feishu"}})
}

func TestWaitReturnsTheBotsReplies(t *testing.T) {
	e := start(t, nil)
	var wg sync.WaitGroup
	e.bot.reply = func(m bot.Message) {
		wg.Add(1)
		go func() { // the engine answers later, from another goroutine
			defer wg.Done()
			key := "local:" + m.EventID
			e.p.Send(context.Background(), bot.Outbound{ID: key + "/0", ChatID: m.ChatID, Text: "已收到，编号 #12", ReplyTo: m.MessageID})
			e.p.Send(context.Background(), bot.Outbound{ID: key + "/1", UserID: "local:wang", Text: "新需求 #12"})
		}()
	}
	defer wg.Wait()
	a := e.post(t, "/local/messages?wait=3s", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "@邻里帮 楼道灯坏了"})
	if a.Status != http.StatusAccepted || len(a.Replies) != 2 {
		t.Fatalf("= %d %s, want both replies", a.Status, a.Raw)
	}
	if r := a.Replies[0]; r.Text != "已收到，编号 #12" || r.From != "bot" || r.ReplyTo != a.ID || r.Group != "local:xingfuli" {
		t.Errorf("group reply = %+v", r)
	}
	if r := a.Replies[1]; r.To != "local:wang" {
		t.Errorf("private reply = %+v", r)
	}

	// A tap waits the same way.
	card := a.Replies[0].ID
	send(t, e.p, bot.Outbound{ID: "card/0", ChatID: "xingfuli", Card: itemCard("#12")})
	cardID := e.messages(t, "group=local:xingfuli&after="+card)[0].ID
	if a := e.post(t, "/local/actions?wait=3s", map[string]any{"group": "local:xingfuli", "user": "local:li", "message": cardID, "action": "claim"}); len(a.Replies) != 2 {
		t.Errorf("tap with wait = %s, want the replies", a.Raw)
	}

	// Nothing comes: the answer comes when the wait ends, with no replies.
	e.bot.mu.Lock()
	e.bot.reply = nil
	e.bot.mu.Unlock()
	a = e.post(t, "/local/messages?wait=50ms", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "谢谢"})
	if a.Status != http.StatusAccepted || a.Replies == nil || len(a.Replies) != 0 || !strings.Contains(a.Raw, `"replies":[]`) {
		t.Errorf("= %d %s, want 202 with empty replies", a.Status, a.Raw)
	}
	// Without wait there is no replies field.
	if a := e.post(t, "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "好的"}); strings.Contains(a.Raw, "replies") {
		t.Errorf("without wait: %s", a.Raw)
	}
}

func TestConcurrentPosts(t *testing.T) {
	e := start(t, nil)
	e.bot.reply = func(m bot.Message) {
		e.p.Send(context.Background(), bot.Outbound{ID: "local:" + m.EventID + "/0", ChatID: m.ChatID, Text: "收到 " + m.Text})
	}
	const n = 50
	answers := make([]postAnswer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			group := []string{"local:xingfuli", "local:yangguang"}[i%2]
			answers[i], errs[i] = e.tryPost("/local/messages", map[string]string{"group": group, "user": "local:chen", "text": fmt.Sprintf("消息%d", i)})
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if a.Status != http.StatusAccepted || ids[a.ID] {
			t.Fatalf("post %d = %d %s (duplicate id %v)", i, a.Status, a.Raw, ids[a.ID])
		}
		ids[a.ID] = true
	}
	events := map[string]bool{}
	for _, m := range e.bot.all() {
		events[m.EventID] = true
	}
	if len(events) != n {
		t.Errorf("the bot got %d distinct events, want %d", len(events), n)
	}
	total := 0
	for _, g := range []string{"local:xingfuli", "local:yangguang"} {
		msgs := e.messages(t, "group="+g+"&after=0")
		total += len(msgs)
		for i := 1; i < len(msgs); i++ {
			if !after(msgs[i].ID, msgs[i-1].ID) {
				t.Errorf("%s: message %s after %s", g, msgs[i].ID, msgs[i-1].ID)
			}
		}
	}
	if total != 2*n {
		t.Errorf("transcripts hold %d messages, want %d (each post and its reply)", total, 2*n)
	}
	if got := len(start(t, e.docs).messages(t, "group=local:xingfuli&after=0")); got != n {
		t.Errorf("persisted %d messages of xingfuli, want %d", got, n)
	}
}

func TestRunEndsStreams(t *testing.T) {
	e := start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.p.Run(ctx, e.bot) }()
	res, err := http.Get(e.srv.URL + "/local/stream?user=local:chen")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	ended := make(chan struct{})
	go func() { io.Copy(io.Discard, res.Body); close(ended) }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream is still open after Run ended")
	}
}

func TestServerShutdownEndsStreams(t *testing.T) {
	p := local.New(options(nil))
	mux := http.NewServeMux()
	p.Routes(mux, &recorder{})
	srv := httptest.NewUnstartedServer(mux)
	srv.Start()
	defer srv.Close()
	res, err := http.Get(srv.URL + "/local/stream?group=local:xingfuli")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown waited for the open stream: %v", err)
	}
}

// TestReplayedEventID: posting the same event_id again is a platform retry. The bot is given
// the same event (it dedupes), the chat shows the message once, and a wait returns the replies
// the first delivery produced.
func TestReplayedEventID(t *testing.T) {
	e := start(t, nil)
	e.bot.reply = func(m bot.Message) {
		key := "local:" + m.EventID
		e.p.Send(context.Background(), bot.Outbound{ID: key + "/0", ChatID: m.ChatID, Text: "已收到 #1"})
	}
	body := map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "@邻里帮 楼道灯坏了", "event_id": "retry-1"}
	first := e.post(t, "/local/messages?wait=2s", body)
	e.bot.mu.Lock()
	e.bot.reply = nil // a deduping bot does nothing the second time
	e.bot.mu.Unlock()
	again := e.post(t, "/local/messages?wait=2s", body)
	if first.EventID != "retry-1" || again.EventID != "retry-1" || again.ID != first.ID {
		t.Fatalf("first %s, again %s", first.Raw, again.Raw)
	}
	if len(again.Replies) != 1 || again.Replies[0].Text != "已收到 #1" {
		t.Errorf("replay's replies: %s", again.Raw)
	}
	users := 0
	for _, m := range e.messages(t, "group=local:xingfuli&after=0") {
		if m.From == "user" {
			users++
		}
	}
	if users != 1 {
		t.Errorf("the chat shows the message %d times", users)
	}
	if a := e.post(t, "/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "x", "event_id": "bad id!"}); a.Status != http.StatusBadRequest {
		t.Errorf("bad event id: %d %s", a.Status, a.Raw)
	}
}

// With replicas on one Redis, the card an update names may have been shown by another replica:
// its id is unknown here or names an unrelated message of this transcript.
func TestUpdateCardOfAnotherReplica(t *testing.T) {
	e := start(t, nil)
	text := send(t, e.p, bot.Outbound{ID: "a/0", ChatID: "xingfuli", Text: "第一条消息"})

	// The id names this transcript's text message: the text stays, the card is shown anew.
	if err := e.p.UpdateCard(context.Background(), text, bot.Outbound{ID: "b/0", ChatID: "xingfuli", Card: itemCard("#12 服务事项 · 待认领"), Update: true}); err != nil {
		t.Fatal(err)
	}
	msgs := e.messages(t, "group=local:xingfuli&after=0")
	if len(msgs) != 2 || msgs[0].Text != "第一条消息" || msgs[0].Card != nil || msgs[1].Card == nil || msgs[1].Card.Title != "#12 服务事项 · 待认领" {
		t.Fatalf("after updating another replica's card the transcript is %+v", msgs)
	}
	card := msgs[1].ID

	// An unknown id: this transcript's card of the same subject is updated in place.
	if err := e.p.UpdateCard(context.Background(), "999", bot.Outbound{ID: "c/0", ChatID: "xingfuli", Card: itemCard("#12 服务事项 · 办理中"), Update: true}); err != nil {
		t.Fatal(err)
	}
	msgs = e.messages(t, "group=local:xingfuli&after=0")
	if len(msgs) != 2 || msgs[1].ID != card || msgs[1].Card.Title != "#12 服务事项 · 办理中" {
		t.Fatalf("after updating an unknown message the transcript is %+v", msgs)
	}

	// Without a chat there is nowhere to show it.
	if err := e.p.UpdateCard(context.Background(), "999", bot.Outbound{Card: itemCard("#12 服务事项 · 已办结")}); err == nil {
		t.Error("an update of an unknown message without a chat succeeded")
	}
}

// What the playground shows a group never holds an ID number, a phone or a room; a private
// message keeps them, for the secretary and the claimer.
func TestGroupSeesPersonalDataMasked(t *testing.T) {
	e := start(t, nil)
	const personal = "住3栋2单元502，电话+86 139 1234 5678，身份证11010519491231002X"
	card := itemCard("#12 " + personal)
	card.Text = personal
	card.Fields = []bot.Field{{Label: "提出", Value: personal}}
	card.Footer = personal
	id := send(t, e.p, bot.Outbound{ID: "g/0", ChatID: "xingfuli", Text: personal})
	cardID := send(t, e.p, bot.Outbound{ID: "g/1", ChatID: "xingfuli", Card: card})
	send(t, e.p, bot.Outbound{ID: "p/0", UserID: "local:li", Text: personal})
	updated := itemCard("#12 服务事项 · 办理中")
	updated.Fields = []bot.Field{{Label: "提出", Value: personal}}
	if err := e.p.UpdateCard(context.Background(), cardID, bot.Outbound{ID: "g/2", ChatID: "xingfuli", Card: updated, Update: true}); err != nil {
		t.Fatal(err)
	}
	const masked = "住3栋2单元***，电话139****5678，身份证110***********002X"
	msgs := e.messages(t, "group=local:xingfuli&after=0")
	if len(msgs) != 2 || msgs[0].ID != id || msgs[0].Text != masked || msgs[1].Card == nil ||
		msgs[1].Card.Fields[0].Value != masked {
		t.Fatalf("the group's transcript is %+v", msgs)
	}
	if raw, _ := json.Marshal(msgs); strings.Contains(string(raw), "1234 5678") || strings.Contains(string(raw), "502") ||
		strings.Contains(string(raw), "19491231") {
		t.Errorf("the group's page shows personal data: %s", raw)
	}
	if card.Text != personal || card.Fields[0].Value != personal {
		t.Errorf("Send changed the caller's card: %+v", card)
	}
	priv := e.messages(t, "user=local:li&after=0")
	if len(priv) == 0 || priv[len(priv)-1].Text != personal {
		t.Errorf("li's private chat shows %+v, want the full text", priv)
	}
}

// A form on another site can post to the playground without the browser asking first, but
// only as a form or text/plain; the playground's posts take JSON alone, so such a form cannot
// speak or tap a card as anyone.
func TestPostsRequireJSONContentType(t *testing.T) {
	e := start(t, nil)
	body := `{"group":"local:xingfuli","user":"local:chen","text":"@邻里帮 楼道灯坏了"}`
	for _, path := range []string{"/local/messages", "/local/actions"} {
		for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"} {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var a postAnswer
			_ = json.Unmarshal(raw, &a)
			if res.StatusCode != http.StatusUnsupportedMediaType || !chinese(a.Error) || !strings.Contains(a.Error, "application/json") {
				t.Errorf("POST %s as %q = %d %s, want 415 with a Chinese and English message naming application/json", path, ct, res.StatusCode, raw)
			}
		}
	}
	if n := len(e.bot.all()); n != 0 {
		t.Errorf("%d refused posts reached the bot", n)
	}
	// With parameters the type is still JSON.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/local/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Errorf("POST as application/json; charset=utf-8 = %d, want 202", res.StatusCode)
	}
}
