package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/wecom"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
	"github.com/neighborbot/neighborbot/community"
)

func (e *env) url(path string) string { return e.srv.URL + path }

func TestURLVerification(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path string
		cb   *wecomtest.Callbacks
	}{{"/wecom/callback", e.app}, {"/wecom/aibot", e.aibot}} {
		status, body := e.do(tc.cb.Verify(e.url(tc.path), "1616140317555161061"))
		if status != http.StatusOK || body != "1616140317555161061" {
			t.Errorf("%s: %d %q, want the decrypted echostr", tc.path, status, body)
		}
	}
}

func TestCallbackRefusals(t *testing.T) {
	e := newEnv(t)
	text := wecomtest.Text(corpID, "chen", "楼道灯坏了", "1001", e.clock.Now())
	forged := func() *http.Request {
		r := e.app.App(e.url("/wecom/callback"), text)
		q := r.URL.Query()
		q.Set("msg_signature", strings.Repeat("ab", 20))
		r.URL.RawQuery = q.Encode()
		return r
	}
	stale := &wecomtest.Callbacks{Token: token, AESKey: aesKey, ReceiveID: corpID, Now: func() time.Time { return e.clock.Now().Add(-6 * time.Minute) }}
	otherCorp := &wecomtest.Callbacks{Token: token, AESKey: aesKey, ReceiveID: "wwsomeoneelse", Now: e.clock.Now}
	wrongKey := &wecomtest.Callbacks{Token: token, AESKey: aiKey, ReceiveID: corpID, Now: e.clock.Now}
	post := func(path, body string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, e.url(path)+"?"+e.app.Query("x").Encode(), strings.NewReader(body))
		return r
	}
	huge := post("/wecom/callback", "<xml><Encrypt>"+strings.Repeat("A", wecom.MaxBody)+"</Encrypt></xml>")
	verifyForged := e.app.Verify(e.url("/wecom/callback"), "echo")
	q := verifyForged.URL.Query()
	q.Set("nonce", "other")
	verifyForged.URL.RawQuery = q.Encode()

	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"forged signature", forged(), http.StatusForbidden},
		{"forged verification", verifyForged, http.StatusForbidden},
		{"stale timestamp", stale.App(e.url("/wecom/callback"), text), http.StatusBadRequest},
		{"other corp", otherCorp.App(e.url("/wecom/callback"), text), http.StatusBadRequest},
		{"wrong key: bad padding", wrongKey.App(e.url("/wecom/callback"), text), http.StatusBadRequest},
		{"AI bot ciphertext at the app", e.aibot.App(e.url("/wecom/callback"), text), http.StatusForbidden},
		{"app ciphertext at the AI bot", e.app.AIBot(e.url("/wecom/aibot"), map[string]string{"msgid": "1"}), http.StatusForbidden},
		{"body over 1 MiB", huge, http.StatusRequestEntityTooLarge},
		{"not xml", post("/wecom/callback", "{"), http.StatusBadRequest},
		{"no ciphertext", post("/wecom/callback", "<xml></xml>"), http.StatusBadRequest},
		{"not json", post("/wecom/aibot", "<xml/>"), http.StatusBadRequest},
		{"no timestamp", func() *http.Request { r := forged(); r.URL.RawQuery = "msg_signature=x"; return r }(), http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(e.log.String(), "wecom callback refused")
			status, _ := e.do(tc.req)
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if strings.Count(e.log.String(), "wecom callback refused") != before+1 {
				t.Errorf("no log line for the refusal")
			}
		})
	}
	if got := e.in.got(); len(got) != 0 {
		t.Fatalf("refused callbacks reached the pipeline: %+v", got)
	}
	if strings.Contains(e.log.String(), "楼道灯") {
		t.Fatal("a message's text was logged")
	}
}

func TestTextMessage(t *testing.T) {
	e := newEnv(t)
	req := func() *http.Request {
		return e.app.App(e.url("/wecom/callback"), wecomtest.Text(corpID, "chen", "我的", "4561255354251345929", e.clock.Now()))
	}
	for range 2 { // WeCom's retry carries the same MsgId: the pipeline dedupes on it
		if status, body := e.do(req()); status != http.StatusOK || body != "" {
			t.Fatalf("%d %q", status, body)
		}
	}
	got := e.in.got()
	if len(got) != 2 || got[0].Key() != got[1].Key() {
		t.Fatalf("received %+v", got)
	}
	m := got[0]
	if m.EventID != "4561255354251345929" || m.UserID != "wecom:chen" || m.ChatID != "chen" || !m.Private || m.Text != "我的" || !m.At.Equal(e.clock.Now()) {
		t.Fatalf("message %+v", m)
	}
}

func TestReceiveFailureAsksForRetry(t *testing.T) {
	e := newEnv(t)
	e.in.err = errors.New("store down")
	status, _ := e.do(e.app.App(e.url("/wecom/callback"), wecomtest.Text(corpID, "chen", "我的", "1", e.clock.Now())))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 so WeCom retries", status)
	}
}

func TestEventsAndIgnoredMessages(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	for _, x := range []string{
		wecomtest.EnterAgent(corpID, "wang", now),
		wecomtest.EnterAgent(corpID, "wang", now.Add(time.Hour)),
		wecomtest.ExternalChat(corpID, "wrnewgroup", "create", now),
		wecomtest.AppXML{ToUserName: corpID, FromUserName: "wang", CreateTime: now.Unix(), MsgType: "image", MsgID: "9"}.String(),
	} {
		if status, _ := e.do(e.app.App(e.url("/wecom/callback"), x)); status != http.StatusOK {
			t.Fatalf("status %d for %s", status, x)
		}
	}
	got := e.in.got()
	if len(got) != 2 || got[0].Text != "帮助" || got[0].Key() != got[1].Key() {
		t.Fatalf("enter_agent twice a day should be one event: %+v", got)
	}
	g, err := e.store.GetGroup(context.Background(), "wecom:wrnewgroup")
	if err != nil || g.Chat != "wrnewgroup" || g.Platform != "wecom" {
		t.Fatalf("customer group not recorded: %+v %v", g, err)
	}
}

func TestAIBotGroupMention(t *testing.T) {
	e := newEnv(t)
	ru := e.fake.ResponseURL()
	status, _ := e.do(e.aibot.AIBot(e.url("/wecom/aibot"), wecomtest.GroupMention("aibotmsg1", "wrchat", "chen", "邻里帮", "3栋楼道灯坏了", ru)))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	got := e.in.got()
	if len(got) != 1 {
		t.Fatalf("received %+v", got)
	}
	m := got[0]
	if m.EventID != "aibot:aibotmsg1" || m.GroupID != "wecom:wrchat" || m.ChatID != "wrchat" || !m.Mentioned || m.Private ||
		m.Text != "3栋楼道灯坏了" || m.ResponseURL != ru || m.UserID != "wecom:chen" {
		t.Fatalf("message %+v", m)
	}

	// The reply goes once through the response_url, as markdown with the mention.
	o := bot.Outbound{ID: "wecom:aibot:aibotmsg1/0", ChatID: "wrchat", Text: "📝 已收到您的需求 #1", ResponseURL: ru,
		Mentions: []bot.Mention{{UserID: "wecom:chen", Name: "陈阿姨"}}}
	if _, err := e.p.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	reqs := e.fake.Requests(wecomtest.PathResponse)
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), "@陈阿姨 📝 已收到您的需求 #1") {
		t.Fatalf("response_url calls: %+v", reqs)
	}
	// A second reply to the same callback finds the address spent and goes the ordinary way
	// (to the group's party members: no robot).
	o.ID, o.Text = "wecom:aibot:aibotmsg1/1", "第二条"
	if _, err := e.p.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	sends := e.fake.Requests(wecomtest.PathSend)
	if len(sends) != 1 || sends[0].JSON()["touser"] != "sec|wang|chen" {
		t.Fatalf("fallback sends: %+v", sends)
	}
}

func TestSendTextSharesTokenAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 2 {
		sent, err := e.p.Send(ctx, bot.Outbound{ID: "x/" + string(rune('0'+i)), UserID: "wecom:chen", Text: "您好"})
		if err != nil || sent.MessageID == "" {
			t.Fatalf("send: %+v %v", sent, err)
		}
	}
	// A second replica over the same store uses the stored token.
	p2, err := wecom.New(wecom.Options{CorpID: corpID, AgentID: "1000002", Secret: secret, Token: token, AESKey: aesKey,
		BaseURL: e.fake.URL, Directory: e.store, Docs: e.store, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Send(ctx, bot.Outbound{ID: "y", UserID: "wecom:wang", Text: "您好"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Requests(wecomtest.PathGetToken)); n != 1 {
		t.Fatalf("gettoken called %d times, want 1", n)
	}
	sends := e.fake.Requests(wecomtest.PathSend)
	if len(sends) != 3 {
		t.Fatalf("%d sends", len(sends))
	}
	body := sends[0].JSON()
	if body["touser"] != "chen" || body["msgtype"] != "text" || body["agentid"] != "1000002" ||
		wecomtest.Visible(body["text"].(map[string]any)["content"].(string)) != "您好" || sends[0].Query.Get("access_token") != "tok-1" {
		t.Fatalf("send body %v query %v", body, sends[0].Query)
	}
	var found bool
	for k, v := range e.store.docs {
		if strings.HasPrefix(k, wecom.CollTokens+"/wecom:"+corpID+":") && strings.Contains(string(v), "tok-1") && !strings.Contains(k, secret) {
			found = true
		}
	}
	if !found {
		t.Fatalf("token not in the store: %v", e.store.docs)
	}
}

func TestExpiredTokenRefreshedOnceWithoutDroppingNewer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p2, _ := wecom.New(wecom.Options{CorpID: corpID, AgentID: "1000002", Secret: secret, Token: token, AESKey: aesKey,
		BaseURL: e.fake.URL, Directory: e.store, Docs: e.store, Now: e.clock.Now})
	send := func(p *wecom.Platform, id string) {
		t.Helper()
		if _, err := p.Send(ctx, bot.Outbound{ID: id, UserID: "wecom:chen", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	send(e.p, "a") // tok-1 fetched and shared
	send(p2, "b")  // p2 reads tok-1 from the store
	e.fake.ExpireTokens()
	send(e.p, "c") // 42001: tok-1 dropped, a new token fetched and stored
	send(p2, "d")  // 42001 with its cached tok-1: it drops only tok-1 and finds the new one stored
	if n := len(e.fake.Requests(wecomtest.PathGetToken)); n != 2 {
		t.Fatalf("gettoken called %d times, want 2 (one replica must not throw away the other's token)", n)
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	send := func() {
		if _, err := e.p.Send(ctx, bot.Outbound{ID: "a", UserID: "wecom:chen", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	e.clock.Add(2*time.Hour - 4*time.Minute) // inside the 5-minute margin of the 2-hour token
	send()
	if n := len(e.fake.Requests(wecomtest.PathGetToken)); n != 2 {
		t.Fatalf("gettoken called %d times, want 2", n)
	}
}

func TestGroupCardGoesToMembersAndUpdatesInPlace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	card := &bot.Card{Key: "item:1", Title: "#1 服务事项 · 待认领", Text: "楼道灯坏了",
		Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 1, Style: "primary"}}}
	sent, err := e.p.Send(ctx, bot.Outbound{ID: "wecom:evt/0", ChatID: "wrchat", Card: card})
	if err != nil {
		t.Fatal(err)
	}
	sends := e.fake.Requests(wecomtest.PathSend)
	body := sends[0].JSON()
	tc := body["template_card"].(map[string]any)
	if body["touser"] != "sec|wang" || tc["card_type"] != "button_interaction" || tc["task_id"] != sent.MessageID {
		t.Fatalf("card send %v, sent %+v", body, sent)
	}

	// A member taps 接单: the tap's response code is kept for the update.
	tap := e.fake.TapCode()
	status, _ := e.do(e.app.App(e.url("/wecom/callback"), wecomtest.CardTap(corpID, "wang", sent.MessageID, "claim:1", tap, e.clock.Now())))
	if status != http.StatusOK {
		t.Fatalf("tap: %d", status)
	}
	got := e.in.got()
	if len(got) != 1 || got[0].Action == nil || got[0].Action.Name != "claim" || got[0].Action.Item != 1 || got[0].Action.MessageID != sent.MessageID {
		t.Fatalf("tap received as %+v", got)
	}

	claimed := &bot.Card{Key: "item:1", Title: "#1 服务事项 · 已认领", Text: "楼道灯坏了",
		Fields:  []bot.Field{{Label: "认领", Value: "王师傅"}},
		Buttons: []bot.Button{{Label: "完成", Action: "complete", Item: 1, Style: "primary"}}}
	upd := bot.Outbound{ID: "wecom:tap/0", ChatID: "wrchat", Card: claimed, Update: true}
	for i := range 2 { // the tap's code, then the send's
		if err := e.p.UpdateCard(ctx, sent.MessageID, upd); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	ups := e.fake.Requests(wecomtest.PathUpdateCard)
	if len(ups) != 2 || ups[0].JSON()["response_code"] != tap || ups[1].JSON()["response_code"] == tap {
		t.Fatalf("updates: %+v", ups)
	}
	u := ups[0].JSON()
	if u["atall"] != float64(1) || u["template_card"].(map[string]any)["task_id"] != sent.MessageID {
		t.Fatalf("update body %v", u)
	}

	// Every code spent: the card is sent afresh and its reference follows.
	if err := e.p.UpdateCard(ctx, sent.MessageID, upd); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Requests(wecomtest.PathSend)); n != 2 {
		t.Fatalf("%d sends, want a fresh card", n)
	}
	ref, err := e.store.GetDoc(ctx, bot.CollCardRef, bot.CardRefID("wecom", "wrchat", "item:1"))
	if err != nil || string(ref) == sent.MessageID || string(ref) == "" {
		t.Fatalf("card reference %q %v", ref, err)
	}
}

func TestSpentCodeRetriesWithAnother(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	card := &bot.Card{Key: "item:2", Title: "#2", Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 2}}}
	sent, err := e.p.Send(ctx, bot.Outbound{ID: "s", UserID: "wecom:wang", Card: card})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.Fail(wecomtest.PathUpdateCard, wecomtest.Fault{ErrCode: wecomtest.CodeBadResponse})
	err = e.p.UpdateCard(ctx, sent.MessageID, bot.Outbound{ID: "u", UserID: "wecom:wang", Card: card, Update: true})
	if se := sendError(t, err); !se.Retryable {
		t.Fatalf("a spent code should be retried (with another code or a fresh card): %v", err)
	}
	if err := e.p.UpdateCard(ctx, sent.MessageID, bot.Outbound{ID: "u", UserID: "wecom:wang", Card: card, Update: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Requests(wecomtest.PathSend)); n != 2 {
		t.Fatalf("%d sends, want the card sent afresh", n)
	}
}

func TestRobotGroup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sent, err := e.p.Send(ctx, bot.Outbound{ID: "r/0", ChatID: "wrrobot", Text: "#3 已办好，请确认",
		Mentions: []bot.Mention{{UserID: "wecom:chen", Name: "陈阿姨"}}})
	if err != nil {
		t.Fatal(err)
	}
	card := &bot.Card{Key: "item:3", Title: "#3 服务事项 · 待认领", Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 3}}}
	if _, err := e.p.Send(ctx, bot.Outbound{ID: "r/1", ChatID: "wrconfig", Card: card}); err != nil {
		t.Fatal(err)
	}
	hooks := e.fake.Requests(wecomtest.PathWebhook)
	if len(hooks) != 2 || hooks[0].Query.Get("key") != "robot-key-2" || hooks[1].Query.Get("key") != "robot-key-1" {
		t.Fatalf("webhook calls %+v", hooks)
	}
	text := hooks[0].JSON()["text"].(map[string]any)
	if text["content"] != "#3 已办好，请确认" || text["mentioned_list"].([]any)[0] != "chen" {
		t.Fatalf("robot text %v", text)
	}
	if hooks[1].JSON()["msgtype"] != "markdown" {
		t.Fatalf("robot card %v", hooks[1].JSON())
	}
	if len(e.fake.Requests(wecomtest.PathGetToken)) != 0 {
		t.Fatal("robots need no access token")
	}
	// Robots cannot edit what they sent: an update is a no-op, not an error to retry.
	if err := e.p.UpdateCard(ctx, sent.MessageID, bot.Outbound{ID: "u", ChatID: "wrrobot", Card: card, Update: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Requests("")); n != 2 {
		t.Fatalf("%d calls after a robot card update", n)
	}
}

func TestRobotErrors(t *testing.T) {
	cases := []struct {
		name      string
		fault     wecomtest.Fault
		retryable bool
		code      string
	}{
		{"rate limit with HTTP 200", wecomtest.Fault{ErrCode: 45009}, true, "45009"},
		{"system busy", wecomtest.Fault{ErrCode: -1}, true, "-1"},
		{"concurrency limit", wecomtest.Fault{ErrCode: 45033}, true, "45033"},
		{"bad webhook key", wecomtest.Fault{ErrCode: wecomtest.CodeBadRobotKey}, false, "93000"},
		{"server error", wecomtest.Fault{Status: http.StatusBadGateway}, true, "http_502"},
		{"too many requests", wecomtest.Fault{Status: http.StatusTooManyRequests}, true, "http_429"},
		{"bad request", wecomtest.Fault{Status: http.StatusBadRequest}, false, "http_400"},
		{"timeout", wecomtest.Fault{Delay: time.Minute}, true, "net"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *wecom.Options) { o.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
			e.fake.Fail(wecomtest.PathWebhook, tc.fault)
			_, err := e.p.Send(context.Background(), bot.Outbound{ID: "r", ChatID: "wrrobot", Text: "通知"})
			se := sendError(t, err)
			if se.Retryable != tc.retryable || se.Code != tc.code {
				t.Fatalf("got retryable=%v code=%s (%v), want %v %s", se.Retryable, se.Code, err, tc.retryable, tc.code)
			}
			if tc.code == "45009" && se.RetryAfter < time.Minute {
				t.Fatalf("45009 should wait for the robot's minute, got %v", se.RetryAfter)
			}
			if strings.Contains(err.Error(), "robot-key-2") {
				t.Fatalf("error leaks the webhook key: %v", err)
			}
		})
	}
}

func TestAppSendErrors(t *testing.T) {
	e := newEnv(t)
	e.fake.Fail(wecomtest.PathSend, wecomtest.Fault{ErrCode: 81013, ErrMsg: "user all invalid"})
	_, err := e.p.Send(context.Background(), bot.Outbound{ID: "a", UserID: "wecom:nobody", Text: "hi"})
	if se := sendError(t, err); se.Retryable || se.Code != "81013" {
		t.Fatalf("%v", err)
	}
	e.fake.Fail(wecomtest.PathGetToken, wecomtest.Fault{Status: http.StatusServiceUnavailable})
	e.fake.ExpireTokens()
	_, err = e.p.Send(context.Background(), bot.Outbound{ID: "b", UserID: "wecom:chen", Text: "hi"})
	if se := sendError(t, err); !se.Retryable {
		t.Fatalf("%v", err)
	}
	if strings.Contains(err.Error(), "tok-") || strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks a credential: %v", err)
	}
}

func TestRobotLimitAcrossAMinute(t *testing.T) {
	e := newEnv(t)
	lims := e.p.Limits(bot.Outbound{ChatID: "wrrobot", Text: "x"})
	if len(lims) != 1 || lims[0].Key != "wecom:robot:robot-key-2" {
		t.Fatalf("limits %+v", lims)
	}
	if l := e.p.Limits(bot.Outbound{ChatID: "wrchat", Text: "x"}); len(l) != 0 {
		t.Fatalf("a group without robot got robot limits %+v", l)
	}
	if l := e.p.Limits(bot.Outbound{ChatID: "wrrobot", Card: &bot.Card{}, Update: true}); len(l) != 0 {
		t.Fatalf("a robot card update sends nothing, limits %+v", l)
	}
	// A reply to a person is limited by their window, known on arrival; a group's robot takes
	// a directory lookup, so a group reply's limits are not given ahead.
	if got := e.p.ReplyLimits(bot.Outbound{UserID: "wecom:chen", ReplyTo: "m1"}); len(got) != 1 || got[0].Key != "wecom:user:chen" {
		t.Fatalf("reply limits for a person: %+v", got)
	}
	if got := e.p.ReplyLimits(bot.Outbound{ChatID: "wrrobot", ReplyTo: "m1"}); got != nil {
		t.Fatalf("reply limits for a group: %+v, want none", got)
	}
	// Drive the dispatcher's limiter with the robot's limit every 100 ms for 5 minutes: no
	// 60-second window may see more than 20, and the robot stays busy (no starvation).
	var lim bot.LocalLimiter
	start := time.Unix(0, 0)
	var sent []time.Time
	for at := start; at.Before(start.Add(5 * time.Minute)); at = at.Add(100 * time.Millisecond) {
		if wait, _ := lim.Take(context.Background(), lims, at); wait == 0 {
			sent = append(sent, at)
		}
	}
	for i := range sent {
		n := 0
		for _, s := range sent[i:] {
			if s.Sub(sent[i]) < time.Minute {
				n++
			}
		}
		if n > 20 {
			t.Fatalf("%d robot messages within a minute from %v", n, sent[i].Sub(start))
		}
	}
	if len(sent) < 5*15 {
		t.Fatalf("only %d messages in 5 minutes", len(sent))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	st := newMemStore()
	base := wecom.Options{CorpID: corpID, AgentID: "1000002", Secret: secret, Token: token, AESKey: aesKey, Directory: st, Docs: st}
	for name, tweak := range map[string]func(*wecom.Options){
		"no secret":     func(o *wecom.Options) { o.Secret = "" },
		"agent":         func(o *wecom.Options) { o.AgentID = "abc" },
		"no callback":   func(o *wecom.Options) { o.Token, o.AESKey = "", "" },
		"short aes key": func(o *wecom.Options) { o.AESKey = "abc" },
		"no store":      func(o *wecom.Options) { o.Docs = nil },
	} {
		o := base
		tweak(&o)
		if _, err := wecom.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestNoSDKRootNorLogrus guards against a known SDK pitfall: the SDK's root package sets logrus to
// Debug and logs decrypted messages. Neither may be linked into the adapter.
func TestNoSDKRootNorLogrus(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/silenceper/wechat/v2" || strings.Contains(dep, "logrus") {
			t.Errorf("bot/wecom links %s", dep)
		}
	}
}

// TestLostAnswerDeliveredOnce: a send whose answer is lost is retried; WeCom's duplicate check
// drops the retry, while another message with the same words to the same person is delivered.
func TestLostAnswerDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	e.fake.Now = e.clock.Now
	ctx := context.Background()
	first := bot.Outbound{ID: "wecom:ev1/0", UserID: "wecom:chen", Text: "收到，已记下。"}
	e.fake.Fail(wecomtest.PathSend, wecomtest.Fault{Lost: true})
	if _, err := e.p.Send(ctx, first); err == nil {
		t.Fatal("a lost answer reported as sent")
	} else if se := sendError(t, err); !se.Retryable {
		t.Fatalf("a lost answer is not retried: %v", err)
	}
	e.clock.Add(time.Minute)
	if _, err := e.p.Send(ctx, first); err != nil { // the dispatcher's retry
		t.Fatal(err)
	}
	if n := len(e.fake.Delivered()); n != 1 {
		t.Fatalf("delivered %d times, want once", n)
	}
	// The same words as another message (another outbox id) are delivered, and read the same.
	if _, err := e.p.Send(ctx, bot.Outbound{ID: "wecom:ev2/0", UserID: "wecom:chen", Text: first.Text}); err != nil {
		t.Fatal(err)
	}
	got := e.fake.Delivered()
	if len(got) != 2 {
		t.Fatalf("a repeated text from another message was dropped: %d delivered", len(got))
	}
	for _, r := range got {
		b := r.JSON()
		content := b["text"].(map[string]any)["content"].(string)
		if wecomtest.Visible(content) != first.Text || b["enable_duplicate_check"] != 1.0 {
			t.Fatalf("body %v", b)
		}
		if iv := b["duplicate_check_interval"].(float64); iv <= 0 || iv > wecomtest.MaxDuplicateInterval {
			t.Fatalf("duplicate_check_interval %v", iv)
		}
	}
	if a, b := got[0].JSON()["text"], got[1].JSON()["text"]; fmt.Sprint(a) == fmt.Sprint(b) {
		t.Fatal("two messages' contents are identical: WeCom would drop the second")
	}
	// Past the interval the fake, like WeCom, forgets: a retry then would arrive again.
	e.clock.Add(time.Duration(wecomtest.MaxDuplicateInterval) * time.Second)
	if _, err := e.p.Send(ctx, first); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Delivered()); n != 3 {
		t.Fatalf("delivered %d, want 3 after the interval", n)
	}
}

// A person whose registration (报到) is not approved yet acts as a resident: the item cards
// with their 接单 buttons do not go to them, even when their record says member (as a
// release before registration requests wrote it).
func TestPendingPersonGetsNoCards(t *testing.T) {
	e := newEnv(t)
	e.store.persons = append(e.store.persons,
		community.Person{ID: "wecom:pending", Name: "待审核", Role: community.RoleMember, Node: "grid1", Pending: true},
		community.Person{ID: "wecom:approved", Name: "已通过", Role: community.RoleMember, Node: "grid1", Pending: true, Approved: true})
	card := &bot.Card{Key: "item:1", Title: "#1 服务事项 · 待认领", Text: "楼道灯坏了",
		Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 1, Style: "primary"}}}
	if _, err := e.p.Send(context.Background(), bot.Outbound{ID: "wecom:evt/0", ChatID: "wrchat", Card: card}); err != nil {
		t.Fatal(err)
	}
	sends := e.fake.Requests(wecomtest.PathSend)
	if len(sends) != 1 {
		t.Fatalf("%d sends", len(sends))
	}
	if to := sends[0].JSON()["touser"]; to != "approved|sec|wang" {
		t.Fatalf("card went to %v, want approved|sec|wang (not the pending person, not the resident)", to)
	}
}

// A failed token fetch is reported (Options.TokenFailed, for metrics), once per fetch that
// failed; a send that finds a token reports nothing.
func TestTokenFailureReported(t *testing.T) {
	e := newEnv(t)
	var failures atomic.Int64
	p, err := wecom.New(wecom.Options{CorpID: corpID, AgentID: "1000002", Secret: secret, Token: token, AESKey: aesKey,
		BaseURL: e.fake.URL, Directory: e.store, Docs: e.store, Now: e.clock.Now, TokenFailed: func() { failures.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.Fail(wecomtest.PathGetToken, wecomtest.Fault{Status: http.StatusInternalServerError})
	ctx := context.Background()
	if _, err := p.Send(ctx, bot.Outbound{ID: "a", UserID: "wecom:chen", Text: "hi"}); err == nil {
		t.Fatal("send without a token succeeded")
	}
	if _, err := p.Send(ctx, bot.Outbound{ID: "a", UserID: "wecom:chen", Text: "hi"}); err != nil {
		t.Fatalf("send once gettoken works: %v", err)
	}
	if n := failures.Load(); n != 1 {
		t.Errorf("%d token failures reported, want 1", n)
	}
}
