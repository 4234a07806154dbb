package feishu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/store"
)

func textOf(t *testing.T, content string) string {
	t.Helper()
	var c struct{ Text string }
	if err := json.Unmarshal([]byte(content), &c); err != nil {
		t.Fatalf("content %q: %v", content, err)
	}
	return c.Text
}

func TestSendText(t *testing.T) {
	f := newFixture(t)
	ctx := ctxTimeout(t)
	o := bot.Outbound{ID: "feishu:om_1/0", Platform: "feishu", ChatID: groupChat, Text: `已收到 "需求" #1` + "\n第二行",
		Mentions: []bot.Mention{{UserID: "feishu:ou_res", Name: "陈阿姨"}}}
	sent, err := f.p.Send(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	calls := f.fake.Calls()
	var c feishutest.Call
	for _, x := range calls {
		if x.Route == feishutest.RouteCreate {
			c = x
		}
	}
	if sent.MessageID == "" || sent.MessageID != c.MessageID {
		t.Errorf("Sent %+v, fake created %q", sent, c.MessageID)
	}
	if c.IDType != "chat_id" || c.ReceiveID != groupChat || c.MsgType != "text" || len(c.UUID) != 32 {
		t.Errorf("create call %+v", c)
	}
	if got, want := textOf(t, c.Content), `<at user_id="ou_res">陈阿姨</at> 已收到 "需求" #1`+"\n第二行"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	// The same outbound again (an outbox retry after a lost answer): Feishu's uuid dedupe.
	again, err := f.p.Send(ctx, o)
	if err != nil || again.MessageID != sent.MessageID {
		t.Errorf("resend: %+v %v, want the first message id", again, err)
	}
	if n := f.fake.Count(feishutest.SentTo(groupChat)); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
}

func TestSendPrivateReplyAndCard(t *testing.T) {
	f := newFixture(t)
	ctx := ctxTimeout(t)
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "a", UserID: "feishu:ou_sec", Text: "📮 新需求 #1"}); err != nil {
		t.Fatal(err)
	}
	if n := f.fake.Count(feishutest.SentToUser("ou_sec")); n != 1 {
		t.Errorf("private: %d sends to ou_sec", n)
	}

	f.fake.Incoming(groupChat, "om_in_res")
	sent, err := f.p.Send(ctx, bot.Outbound{ID: "b", ChatID: groupChat, Text: "收到", ReplyTo: "om_in_res"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.fake.Wait(ctx, feishutest.Route(feishutest.RouteReply))
	if c.Parent != "om_in_res" || c.ChatID != groupChat || c.MessageID != sent.MessageID || c.UUID == "" {
		t.Errorf("reply call %+v", c)
	}

	// Replying to a message that is gone falls back to a plain send in the chat.
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "c", ChatID: groupChat, Text: "还在", ReplyTo: "om_recalled"}); err != nil {
		t.Fatalf("fallback: %v", err)
	}
	if n := f.fake.Count(feishutest.SentTo(groupChat)); n != 2 {
		t.Errorf("%d messages in the chat, want 2", n)
	}

	card := bot.Card{Key: "item:1", Title: "#1 服务事项 · 待认领", Color: "blue", Text: "楼道灯坏了",
		Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 1, Style: "primary"}}}
	sent, err = f.p.Send(ctx, bot.Outbound{ID: "d", ChatID: groupChat, Card: &card})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := f.fake.Message(sent.MessageID)
	if m.MsgType != "interactive" || !strings.Contains(m.Content, `"schema":"2.0"`) {
		t.Errorf("card message %+v", m)
	}
	card.Title = "#1 服务事项 · 已认领"
	if err := f.p.UpdateCard(ctx, sent.MessageID, bot.Outbound{ID: "e", ChatID: groupChat, Card: &card, Update: true}); err != nil {
		t.Fatal(err)
	}
	m, _ = f.fake.Message(sent.MessageID)
	if !strings.Contains(m.Content, "已认领") {
		t.Errorf("card not patched: %s", m.Content)
	}
	if n := f.fake.Count(feishutest.Patched(sent.MessageID)); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}
}

func TestSendErrors(t *testing.T) {
	f := newFixture(t)
	ctx := ctxTimeout(t)
	o := bot.Outbound{ID: "x", ChatID: groupChat, Text: "hi"}
	cases := []struct {
		name       string
		fault      feishutest.Fault
		retryable  bool
		retryAfter time.Duration
		code       string
	}{
		{"429 with Retry-After", feishutest.Fault{Status: 429, RetryAfter: 3}, true, 3 * time.Second, "http_429"},
		{"500", feishutest.Fault{Status: 500}, true, 0, "http_500"},
		{"503", feishutest.Fault{Status: 503}, true, 0, "http_503"},
		{"chat rate limit 230020", feishutest.Fault{Code: feishutest.CodeRateLimit}, true, 0, "230020"},
		{"app rate limit 99991400", feishutest.Fault{Code: feishutest.CodeAppRateLimit}, true, 0, "99991400"},
		{"bad request", feishutest.Fault{Code: feishutest.CodeBadRequest}, false, 0, "99992402"},
		{"bot not in chat", feishutest.Fault{Code: 230002}, false, 0, "230002"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.fake.Fail(feishutest.RouteCreate, c.fault)
			_, err := f.p.Send(ctx, o)
			se := sendErr(t, err)
			if se.Retryable != c.retryable || se.RetryAfter != c.retryAfter || se.Code != c.code {
				t.Errorf("got %+v, want retryable %v after %v code %s", se, c.retryable, c.retryAfter, c.code)
			}
		})
	}
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "y", UserID: "wecom:zhang", Text: "hi"}); err == nil || sendErr(t, err).Retryable {
		t.Errorf("a WeCom user: %v, want a permanent error", err)
	}
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "z", ChatID: groupChat}); err == nil || sendErr(t, err).Retryable {
		t.Errorf("empty message: %v, want a permanent error", err)
	}
}

func TestSendTimeout(t *testing.T) {
	f := newFixture(t, func(o *feishu.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
	ctx := ctxTimeout(t)
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "warm", ChatID: groupChat, Text: "hi"}); err != nil {
		t.Fatal(err) // fetches the token first, so the hang below hits the send
	}
	f.fake.Fail(feishutest.RouteCreate, feishutest.Fault{Hang: true})
	_, err := f.p.Send(ctx, bot.Outbound{ID: "slow", ChatID: groupChat, Text: "hi"})
	if se := sendErr(t, err); !se.Retryable || se.Code != "timeout" {
		t.Errorf("got %+v, want a retryable timeout", se)
	}
}

func TestTokenSharedAndRenewed(t *testing.T) {
	f := newFixture(t)
	ctx := ctxTimeout(t)
	// A second replica over the same store.
	p2, err := feishu.New(feishu.Options{AppID: f.fake.AppID, AppSecret: f.fake.AppSecret, VerificationToken: testToken, EncryptKey: testKey,
		BaseURL: f.fake.URL, Docs: f.store, Now: func() time.Time { return f.now }, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []*feishu.Platform{f.p, p2, f.p, p2} {
		if _, err := p.Send(ctx, bot.Outbound{ID: "s" + string(rune('0'+i)), ChatID: groupChat, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.fake.Count(feishutest.Route(feishutest.RouteToken)); n != 1 {
		t.Errorf("%d token fetches for two replicas, want 1 (shared through the store)", n)
	}
	// Feishu revokes the token: the next send fetches a new one and succeeds.
	f.fake.RevokeTokens()
	if _, err := p2.Send(ctx, bot.Outbound{ID: "after-revoke", ChatID: groupChat, Text: "hi"}); err != nil {
		t.Fatalf("send after revocation: %v", err)
	}
	if n := f.fake.Count(feishutest.Route(feishutest.RouteToken)); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
	// The cached token expires (7200 s less a margin): fetched again.
	f.now = f.now.Add(2 * time.Hour)
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "after-expiry", ChatID: groupChat, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if n := f.fake.Count(feishutest.Route(feishutest.RouteToken)); n != 3 {
		t.Errorf("%d token fetches, want 3", n)
	}
}

// tokenReads counts the reads of the shared token cache.
type tokenReads struct {
	store.Docs
	n atomic.Int64
}

func (d *tokenReads) GetDoc(ctx context.Context, coll, id string) ([]byte, error) {
	if coll == feishu.CollTokens {
		d.n.Add(1)
	}
	return d.Docs.GetDoc(ctx, coll, id)
}

// The token is kept in memory until the expiry the shared cache gives it: sends do not read
// the store each time, and a token another replica shared is read once.
func TestTokenRememberedBetweenSends(t *testing.T) {
	var reads *tokenReads
	f := newFixture(t, func(o *feishu.Options) { reads = &tokenReads{Docs: o.Docs}; o.Docs = reads })
	ctx := ctxTimeout(t)
	for i := range 20 {
		if _, err := f.p.Send(ctx, bot.Outbound{ID: fmt.Sprintf("m%d", i), ChatID: groupChat, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := reads.n.Load(); n > 2 {
		t.Errorf("%d reads of the shared token for 20 sends, want at most 2 (before the first fetch)", n)
	}
	if n := f.fake.Count(feishutest.Route(feishutest.RouteToken)); n != 1 {
		t.Errorf("%d token fetches, want 1", n)
	}
	// Past the shared expiry the memory copy is not used: the store is read and a new token fetched.
	before := reads.n.Load()
	f.now = f.now.Add(2 * time.Hour)
	if _, err := f.p.Send(ctx, bot.Outbound{ID: "late", ChatID: groupChat, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if reads.n.Load() == before || f.fake.Count(feishutest.Route(feishutest.RouteToken)) != 2 {
		t.Errorf("after expiry: %d store reads (had %d), %d fetches; want the store read and a second fetch",
			reads.n.Load(), before, f.fake.Count(feishutest.Route(feishutest.RouteToken)))
	}
}

func TestTokenCache(t *testing.T) {
	now := testNow
	c := &feishu.TokenCache{Docs: openStore(t, func() time.Time { return now }), Now: func() time.Time { return now }}
	ctx := context.Background()
	if v, err := c.Get(ctx, "k"); v != "" || err != nil {
		t.Errorf("empty cache: %q %v", v, err)
	}
	if err := c.Set(ctx, "k", "t-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get(ctx, "k"); v != "t-1" {
		t.Errorf("got %q", v)
	}
	now = now.Add(time.Minute)
	if v, _ := c.Get(ctx, "k"); v != "" {
		t.Errorf("expired token still served: %q", v)
	}
}

func TestLimits(t *testing.T) {
	f := newFixture(t, func(o *feishu.Options) { o.PerChat, o.PerApp = 5, 50 })
	ls := f.p.Limits(bot.Outbound{ChatID: "oc_1", Text: "x"})
	want := []bot.Limit{{Key: "feishu:chat:oc_1", Every: 200 * time.Millisecond, Burst: 5}, {Key: "feishu:app", Every: 20 * time.Millisecond, Burst: 50}}
	if len(ls) != 2 || ls[0] != want[0] || ls[1] != want[1] {
		t.Errorf("limits %+v, want %+v", ls, want)
	}
	ls = f.p.Limits(bot.Outbound{ChatID: "oc_1", Update: true, Card: &bot.Card{Key: "item:3"}})
	if len(ls) != 3 || ls[2].Key != "feishu:card:oc_1|item:3" {
		t.Errorf("card update limits %+v", ls)
	}
	// A reply's limits are known as its message arrives (a Reserver takes them with its put).
	for _, o := range []bot.Outbound{{ChatID: "oc_1", ReplyTo: "om_1"}, {UserID: "feishu:ou_1", ReplyTo: "om_2"}} {
		if got, want := f.p.ReplyLimits(o), f.p.Limits(o); !slices.Equal(got, want) {
			t.Errorf("ReplyLimits(%+v) = %+v, want %+v", o, got, want)
		}
	}
}

func TestNewRefusesHTTPWithoutEncryptKey(t *testing.T) {
	st := openStore(t, time.Now)
	_, err := feishu.New(feishu.Options{AppID: "cli", AppSecret: "s", VerificationToken: "v", Docs: st})
	if err == nil || !strings.Contains(err.Error(), "FEISHU_ENCRYPT_KEY") || !strings.Contains(err.Error(), "forge") {
		t.Errorf("got %v, want a refusal naming FEISHU_ENCRYPT_KEY and why", err)
	}
	_, err = feishu.New(feishu.Options{AppID: "cli", AppSecret: "s", EncryptKey: "k", Docs: st})
	if err == nil || !strings.Contains(err.Error(), "FEISHU_VERIFICATION_TOKEN") {
		t.Errorf("got %v, want a refusal naming FEISHU_VERIFICATION_TOKEN", err)
	}
	if _, err := feishu.New(feishu.Options{AppID: "cli", AppSecret: "s", Mode: "ws", Docs: st}); err != nil {
		t.Errorf("ws mode needs no encrypt key: %v", err)
	}
}

func TestWSMode(t *testing.T) {
	fake := feishutest.New(t)
	st := openStore(t, time.Now)
	p, err := feishu.New(feishu.Options{AppID: fake.AppID, AppSecret: fake.AppSecret, Mode: feishu.ModeWS, BaseURL: fake.URL, Docs: st,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode() != feishu.ModeWS {
		t.Errorf("mode %q", p.Mode())
	}
	mux := http.NewServeMux()
	in := &receiver{}
	p.Routes(mux, in)
	w := newRecorder()
	mux.ServeHTTP(w, httptestRequest(http.MethodPost, "/feishu/events"))
	if w.Code != http.StatusNotFound {
		t.Errorf("ws mode serves /feishu/events: %d", w.Code)
	}
	// Run with an ended context returns at once, without dialling anyone.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx, in); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func httptestRequest(method, path string) *http.Request {
	r, _ := http.NewRequest(method, "http://bot.test"+path, strings.NewReader("{}"))
	return r
}

func TestTokenFailureKeepsTheMessage(t *testing.T) {
	f := newFixture(t)
	ctx := ctxTimeout(t)
	f.fake.Fail(feishutest.RouteToken, feishutest.Fault{Status: 503})
	_, err := f.p.Send(ctx, bot.Outbound{ID: "t1", ChatID: groupChat, Text: "hi"})
	if se := sendErr(t, err); !se.Retryable || se.Code != "token_http_503" {
		t.Errorf("token endpoint down: %+v, want a retryable error", se)
	}
	wrong := newFixture(t, func(o *feishu.Options) { o.AppSecret = "not-the-secret" })
	_, err = wrong.p.Send(ctx, bot.Outbound{ID: "t2", ChatID: groupChat, Text: "hi"})
	if se := sendErr(t, err); !se.Retryable || se.Code != "token_10014" {
		t.Errorf("wrong secret: %+v, want a retryable error (the operator can fix the secret)", se)
	}
	if n := f.fake.Count(feishutest.Route(feishutest.RouteCreate)); n != 0 {
		t.Errorf("%d sends without a token", n)
	}
}
