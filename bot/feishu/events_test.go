package feishu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

const eventsURL = "http://bot.test/feishu/events"

func TestRefusedRequests(t *testing.T) {
	f := newFixture(t)
	plain, _ := f.ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 楼道灯坏了", Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
	sealed := f.ev.Seal(plain)
	tooBig := append([]byte(`{"encrypt":"`), bytes.Repeat([]byte("A"), feishu.DefaultMaxBody)...)
	tooBig = append(tooBig, `"}`...)
	wrongToken := &feishutest.Events{AppID: "cli_test", VerificationToken: "not-the-token", EncryptKey: testKey, Now: f.ev.Now}
	wrongTokenPlain, _ := wrongToken.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 hi", Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
	otherKey := &feishutest.Events{AppID: "cli_test", VerificationToken: testToken, EncryptKey: "another-key", Now: f.ev.Now}

	cases := []struct {
		name   string
		req    *http.Request
		status int
		reason string
	}{
		{"forged signature", func() *http.Request {
			r := f.ev.SignedRequest(eventsURL, sealed, testNow)
			r.Header.Set("X-Lark-Signature", strings.Repeat("0", 64))
			return r
		}(), 401, "signature does not match"},
		{"signed with another key", otherKey.SignedRequest(eventsURL, sealed, testNow), 401, "signature does not match"},
		{"body changed after signing", func() *http.Request {
			r := f.ev.SignedRequest(eventsURL, sealed, testNow)
			other := f.ev.Seal(plain)
			r2, _ := http.NewRequest(http.MethodPost, eventsURL, bytes.NewReader(other))
			r2.Header = r.Header
			return r2
		}(), 401, "signature does not match"},
		{"six minutes old", f.ev.SignedRequest(eventsURL, sealed, testNow.Add(-6*time.Minute)), 401, "away from now"},
		{"six minutes ahead", f.ev.SignedRequest(eventsURL, sealed, testNow.Add(6*time.Minute)), 401, "away from now"},
		{"no timestamp", func() *http.Request {
			r := f.ev.SignedRequest(eventsURL, sealed, testNow)
			r.Header.Del("X-Lark-Request-Timestamp")
			return r
		}(), 401, "without timestamp"},
		{"unsigned event", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, eventsURL, bytes.NewReader(sealed))
			return r
		}(), 401, "event not signed"},
		{"over 1 MiB", f.ev.SignedRequest(eventsURL, tooBig, testNow), 413, "body over 1048576 bytes"},
		{"wrong verification token", f.ev.Request(eventsURL, wrongTokenPlain), 401, "wrong verification token"},
		{"not encrypted", f.ev.SignedRequest(eventsURL, plain, testNow), 400, "not encrypted"},
		{"not JSON", f.ev.SignedRequest(eventsURL, []byte("hello"), testNow), 400, "not JSON"},
		{"encrypted with another key", f.ev.SignedRequest(eventsURL, otherKey.Seal(plain), testNow), 400, "cannot decrypt"},
		{"garbage ciphertext", f.ev.SignedRequest(eventsURL, []byte(`{"encrypt":"bm90IGNpcGhlcnRleHQ="}`), testNow), 400, "cannot decrypt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.post(c.req)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.status, w.Body)
			}
			if !contains(f.log.String(), c.reason) {
				t.Errorf("log lacks the reason %q:\n%s", c.reason, f.log.String())
			}
		})
	}
	if got := f.in.got(); len(got) != 0 {
		t.Errorf("refused requests reached the pipeline: %+v", got)
	}
	// Four minutes off is within the window.
	if w := f.post(f.ev.SignedRequest(eventsURL, sealed, testNow.Add(-4*time.Minute))); w.Code != 200 {
		t.Errorf("4 minutes old: status %d, want 200", w.Code)
	}
}

func TestURLVerification(t *testing.T) {
	f := newFixture(t)
	// Feishu does not sign the verification request.
	body := f.ev.Seal(f.ev.Challenge("ch-789"))
	req, _ := http.NewRequest(http.MethodPost, eventsURL, bytes.NewReader(body))
	w := f.post(req)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["challenge"] != "ch-789" {
		t.Errorf("answer %s, want {\"challenge\":\"ch-789\"}", w.Body)
	}

	wrong := &feishutest.Events{VerificationToken: "nope", EncryptKey: testKey}
	req, _ = http.NewRequest(http.MethodPost, eventsURL, bytes.NewReader(wrong.Seal(wrong.Challenge("x"))))
	if w := f.post(req); w.Code != 401 {
		t.Errorf("challenge with a wrong token: status %d, want 401", w.Code)
	}
}

func TestMessages(t *testing.T) {
	f := newFixture(t)
	bot1 := mentionBot("@_user_1")
	zhang := feishutest.Mention{Key: "@_user_2", OpenID: "ou_zhang", Name: "张红梅"}
	cases := []struct {
		name string
		msg  feishutest.Msg
		want *bot.Message // nil: ignored
	}{
		{"group mention", feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 3栋2单元楼道灯坏了", Mentions: []feishutest.Mention{bot1}},
			&bot.Message{ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_res", Text: "3栋2单元楼道灯坏了", Mentioned: true}},
		{"mention in the middle, another person named", feishutest.Msg{ChatID: groupChat, Sender: "ou_sec", Text: "派单 1 给 @_user_2 @_user_1 谢谢", Mentions: []feishutest.Mention{bot1, zhang}},
			&bot.Message{ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_sec", Text: "派单 1 给 @张红梅 谢谢", Mentioned: true}},
		{"placeholder 12 is not placeholder 1", feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 @_user_12 你好",
			Mentions: []feishutest.Mention{bot1, {Key: "@_user_12", OpenID: "ou_12", Name: "十二"}}},
			&bot.Message{ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_res", Text: "@十二 你好", Mentioned: true}},
		{"group chatter without mention", feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "今天天气不错"}, nil},
		{"mention of someone else only", feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_2 在吗", Mentions: []feishutest.Mention{zhang}}, nil},
		{"reply to a card", feishutest.Msg{ChatID: groupChat, Sender: "ou_mem", Text: "我来", ParentID: "om_card_1"},
			&bot.Message{ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_mem", Text: "我来", ReplyTo: "om_card_1"}},
		{"private chat", feishutest.Msg{ChatID: "oc_p2p", ChatType: "p2p", Sender: "ou_res", Text: "我的"},
			&bot.Message{ChatID: "oc_p2p", Private: true, UserID: "feishu:ou_res", Text: "我的"}},
		{"rich text post", feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Type: "post", Mentions: []feishutest.Mention{bot1},
			Content: `{"title":"","content":[[{"tag":"at","user_id":"@_user_1","user_name":"邻里帮"},{"tag":"text","text":" 5栋电梯"}],[{"tag":"text","text":"停了"}]]}`},
			&bot.Message{ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_res", Text: "5栋电梯\n停了", Mentioned: true}},
		{"markdown-looking text stays as typed", feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 <at user_id=\"all\"></at> *急*", Mentions: []feishutest.Mention{bot1}},
			&bot.Message{ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_res", Text: `<at user_id="all"></at> *急*`, Mentioned: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.in.got())
			plain, m := f.ev.Message(c.msg)
			w := f.deliver(plain)
			if w.Code != 200 || w.Body.String() != `{"msg":"success"}` || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("answer %d %q (%s), want 200 {\"msg\":\"success\"} as JSON", w.Code, w.Body, w.Header().Get("Content-Type"))
			}
			got := f.in.got()[before:]
			if c.want == nil {
				if len(got) != 0 {
					t.Fatalf("ignored message reached the pipeline: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d messages received, want 1", len(got))
			}
			want := *c.want
			want.EventID, want.MessageID, want.Platform = m.MessageID, m.MessageID, "feishu"
			want.At = got[0].At
			if !got[0].At.Equal(testNow) {
				t.Errorf("At %v, want %v", got[0].At, testNow)
			}
			if g := got[0]; !equalMessage(g, want) {
				t.Errorf("got  %+v\nwant %+v", g, want)
			}
		})
	}
}

func equalMessage(a, b bot.Message) bool {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return bytes.Equal(aj, bj)
}

func TestBotMentionBeforeOpenIDKnown(t *testing.T) {
	f := newFixture(t, func(o *feishu.Options) { o.BotOpenID = "" })
	// Without the bot's open_id, a mention of type "bot" or with the bot's name counts.
	plain, _ := f.ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 帮助",
		Mentions: []feishutest.Mention{{Key: "@_user_1", OpenID: "ou_whatever", Name: "邻里帮"}}})
	f.deliver(plain)
	if got := f.in.got(); len(got) != 1 || got[0].Text != "帮助" || !got[0].Mentioned {
		t.Fatalf("got %+v", got)
	}
}

func TestPipelineFailureAsksFeishuToRetry(t *testing.T) {
	f := newFixture(t)
	f.in.err = errors.New("store unavailable")
	plain, _ := f.ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 hi", Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
	if w := f.deliver(plain); w.Code != 500 {
		t.Fatalf("status %d, want 500 so Feishu retries", w.Code)
	}
}

func TestCardTap(t *testing.T) {
	f := newFixture(t)
	plain := f.ev.CardAction(feishutest.Tap{EventID: "ev_tap_1", Operator: "ou_mem", ChatID: groupChat, MessageID: "om_card_1",
		Value: map[string]any{"action": "rate", "item": 12, "value": "5"}})
	w := f.deliver(plain)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var resp struct {
		Toast struct{ Type, Content string } `json:"toast"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Toast.Type != "info" || resp.Toast.Content != "感谢评价" {
		t.Errorf("answer %s, want an info toast", w.Body)
	}
	got := f.in.got()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	want := bot.Message{EventID: "ev_tap_1", Platform: "feishu", ChatID: groupChat, GroupID: "feishu:" + groupChat, UserID: "feishu:ou_mem",
		Action: &bot.Action{Name: "rate", Item: 12, Value: "5", MessageID: "om_card_1"}, At: got[0].At}
	if !equalMessage(got[0], want) {
		t.Errorf("got  %+v %+v\nwant %+v %+v", got[0], got[0].Action, want, want.Action)
	}

	f.in.err = errors.New("store unavailable")
	w = f.deliver(f.ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: groupChat, MessageID: "om_card_1", Value: map[string]any{"action": "claim", "item": 12}}))
	if w.Code != 200 || !contains(w.Body.String(), `"type":"error"`) || !contains(w.Body.String(), "服务暂时不可用") {
		t.Errorf("tap while the store is down: %d %s, want an error toast", w.Code, w.Body)
	}
}

func TestBotAddedGreets(t *testing.T) {
	f := newFixture(t, func(o *feishu.Options) { o.Greeting = feishu.DefaultGreeting("邻里帮", "1网格") })
	plain := f.ev.BotAdded("ev_added_1", "oc_new", "ou_sec", "幸福里小区群")
	for range 2 { // a retry enqueues nothing new
		if w := f.deliver(plain); w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	e, err := f.store.GetOutbox(ctxTimeout(t), "feishu:ev_added_1/greet")
	if err != nil {
		t.Fatal(err)
	}
	var o bot.Outbound
	if err := json.Unmarshal(e.Payload, &o); err != nil {
		t.Fatal(err)
	}
	if o.ChatID != "oc_new" || !contains(o.Text, "绑定 1网格") || e.Platform != "feishu" {
		t.Errorf("greeting %+v", o)
	}
	st, _ := f.store.OutboxStats(ctxTimeout(t), "")
	if st.Pending != 1 {
		t.Errorf("%d pending, want the one greeting", st.Pending)
	}
	if len(f.in.got()) != 0 {
		t.Errorf("the greeting went through the handlers")
	}
	if f.wakes == 0 {
		t.Errorf("dispatcher not woken")
	}
}

func TestUnknownEventIgnored(t *testing.T) {
	f := newFixture(t)
	plain := []byte(`{"schema":"2.0","header":{"event_id":"ev_x","event_type":"im.message.reaction.created_v1","token":"` + testToken + `"},"event":{}}`)
	if w := f.deliver(plain); w.Code != 200 {
		t.Errorf("status %d, want 200 for an event type the bot does not handle", w.Code)
	}
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	f.p.Routes(mux, f.in)
	plain, _ := f.ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 帮助", Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
	w := newRecorder()
	mux.ServeHTTP(w, f.ev.Request("http://bot.test/feishu/events", plain))
	if w.Code != 200 || len(f.in.got()) != 1 {
		t.Errorf("POST /feishu/events: %d, %d messages", w.Code, len(f.in.got()))
	}
}

// tapReceiver answers taps the way the Pipeline does (bot.TapReceiver): with the handler's
// toast, or, for "slow", not before the adapter stops waiting.
type tapReceiver struct{ receiver }

func (r *tapReceiver) ReceiveTap(ctx context.Context, m bot.Message) (string, bool, error) {
	if err := r.Receive(ctx, m); err != nil {
		return "", false, err
	}
	if m.Action.Value == "slow" {
		<-ctx.Done()
		return "", false, nil
	}
	return "已投：" + m.Action.Value, true, nil
}

// The handler's answer to the tapper is the tap's toast; when it does not come within
// ToastWait the tap is answered with the generic toast (the answer then goes privately).
func TestCardTapToastIsTheHandlersAnswer(t *testing.T) {
	f := newFixture(t, func(o *feishu.Options) { o.ToastWait = 50 * time.Millisecond })
	in := &tapReceiver{}
	h := f.p.EventHandler(in)
	tap := func(value string) string {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, f.ev.Request(eventsURL, f.ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: groupChat, MessageID: "om_card_1",
			Value: map[string]any{"action": "vote", "ref": "3", "value": value}})))
		var resp struct {
			Toast struct{ Type, Content string } `json:"toast"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != 200 || resp.Toast.Type != "info" {
			t.Fatalf("answer %d %s, want an info toast", w.Code, w.Body)
		}
		return resp.Toast.Content
	}
	if got := tap("同意"); got != "已投：同意" {
		t.Errorf("toast %q, want the handler's 已投：同意", got)
	}
	if got := tap("slow"); got != "已收到，正在处理" {
		t.Errorf("toast %q when the handler is slow, want the generic one", got)
	}
	if n := len(in.got()); n != 2 {
		t.Errorf("%d taps recorded, want 2", n)
	}
}
