package feishu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

// e2eConfig is a small community whose group lives in Feishu.
const e2eConfig = `
bot_name: 邻里帮
org:
  - id: street
    name: 城关街道
    kind: street
    children:
      - id: xingfu
        name: 幸福社区
        kind: community
        children:
          - id: grid1
            name: 1网格
            kind: grid
            compound: 幸福里小区
groups:
  - id: feishu:oc_group
    name: 幸福里小区群
    node: grid1
members:
  - id: feishu:ou_sec
    name: 王书记
    role: secretary
    node: xingfu
  - id: feishu:ou_mem
    name: 李建国
    role: member
    node: grid1
  - id: feishu:ou_res
    name: 陈阿姨
    role: resident
    node: grid1
    phone: "13800001234"
`

// wire is one request exactly as sent, so it can be replayed byte for byte.
type wire struct {
	body   []byte
	header http.Header
}

// TestEndToEnd is the bar, black-box: the whole app (config.Load with FEISHU_*, a
// bbolt store, app.Run on a real listener) against a fake Feishu, fed real encrypted, signed
// event bodies.
func TestEndToEnd(t *testing.T) {
	fake := feishutest.New(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "neighborbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(e2eConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"FEISHU_APP_ID": fake.AppID, "FEISHU_APP_SECRET": fake.AppSecret,
		"FEISHU_VERIFICATION_TOKEN": testToken, "FEISHU_ENCRYPT_KEY": testKey,
		"FEISHU_BASE_URL": fake.URL, "NEIGHBORBOT_DATA": filepath.Join(dir, "data"),
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bottest.LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, app.Options{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	})

	url := "http://" + ln.Addr().String() + "/feishu/events"
	client := &http.Client{Timeout: 10 * time.Second}
	ev := &feishutest.Events{AppID: fake.AppID, VerificationToken: testToken, EncryptKey: testKey, Server: fake}
	seal := func(plain []byte) wire {
		req := ev.Request(url, plain)
		body, _ := io.ReadAll(req.Body)
		return wire{body: body, header: req.Header}
	}
	post := func(w wire) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(w.body))
		req.Header = w.header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	mustPost := func(w wire) string {
		t.Helper()
		status, body := post(w)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		return body
	}
	wait := func(what string, match func(feishutest.Call) bool) feishutest.Call {
		t.Helper()
		c, err := fake.Wait(ctx, match)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return c
	}
	botMention := []feishutest.Mention{{Key: "@_user_1", OpenID: fake.BotOpenID, Name: "邻里帮", Bot: true}}

	// 1. A resident @-mentions the bot with a need: exactly one message in the group.
	needPlain, need := ev.Message(feishutest.Msg{ChatID: "oc_group", Sender: "ou_res", Text: "@_user_1 3栋2单元楼道灯坏了，电话13800001234", Mentions: botMention})
	needWire := seal(needPlain)
	mustPost(needWire)
	reply := wait("the reply to the need", feishutest.SentTo("oc_group"))
	if reply.Route != feishutest.RouteReply || reply.Parent != need.MessageID {
		t.Errorf("the need was answered by %s (parent %q), want a reply to %s", reply.Route, reply.Parent, need.MessageID)
	}
	text := textOf(t, reply.Content)
	if !strings.Contains(text, `<at user_id="ou_res">`) || !strings.Contains(text, "#1") || strings.Contains(text, "13800001234") {
		t.Errorf("reply text %q: want the resident mentioned, the need's number, the phone masked", text)
	}
	wait("the secretary told privately", feishutest.SentToUser("ou_sec"))
	if n := fake.Count(feishutest.SentTo("oc_group")); n != 1 {
		t.Errorf("%d messages in the group after the need, want 1", n)
	}

	// 2. The secretary dispatches it: the item's card appears in the group.
	dispatchPlain, _ := ev.Message(feishutest.Msg{ChatID: "oc_group", Sender: "ou_sec", Text: "@_user_1 派单 1", Mentions: botMention})
	dispatchWire := seal(dispatchPlain)
	mustPost(dispatchWire)
	card := wait("the item's card", func(c feishutest.Call) bool { return c.Sent() && c.ChatID == "oc_group" && c.MsgType == "interactive" })
	if !strings.Contains(card.Content, `"action":"claim"`) {
		t.Errorf("card without a claim button: %s", card.Content)
	}

	// 3. A member taps 接单 on the card: a toast at once, and the same card updated in place.
	tapWire := seal(ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: "oc_group", MessageID: card.MessageID,
		Value: map[string]any{"action": "claim", "item": 1}}))
	var toast struct {
		Toast struct{ Type, Content string } `json:"toast"`
	}
	if err := json.Unmarshal([]byte(mustPost(tapWire)), &toast); err != nil || toast.Toast.Type != "info" {
		t.Errorf("tap answer: %+v %v, want a toast", toast, err)
	}
	patch := wait("the card updated", feishutest.Patched(card.MessageID))
	if !strings.Contains(patch.Content, "李建国") || !strings.Contains(patch.Content, `"action":"complete"`) {
		t.Errorf("updated card does not show the claimer and the next step: %s", patch.Content)
	}
	wait("the claim announced", func(c feishutest.Call) bool {
		return c.Sent() && c.ChatID == "oc_group" && c.MsgType == "text" && strings.Contains(c.Content, "认领了 #1")
	})
	wait("the member given the contact", feishutest.SentToUser("ou_mem"))

	// 4. The bot is added to another group: it greets and explains binding.
	addedWire := seal(ev.BotAdded("", "oc_new", "ou_sec", "阳光花园群"))
	mustPost(addedWire)
	greeting := wait("the greeting", feishutest.SentTo("oc_new"))
	if !strings.Contains(textOf(t, greeting.Content), "绑定 1网格") {
		t.Errorf("greeting %q does not say how to bind", textOf(t, greeting.Content))
	}

	// 5. Feishu retries every event: nothing more happens.
	deliveries := func() int {
		return fake.Count(func(c feishutest.Call) bool { return c.Sent() || feishutest.Patched(c.MessageID)(c) })
	}
	before := deliveries()
	// A redelivery of the need under a new event id is still the same message.
	redelivered, _ := ev.Message(feishutest.Msg{EventID: "ev_redelivered", MessageID: need.MessageID, ChatID: "oc_group", Sender: "ou_res",
		Text: "@_user_1 3栋2单元楼道灯坏了，电话13800001234", Mentions: botMention})
	for _, w := range []wire{needWire, dispatchWire, tapWire, addedWire, needWire, seal(redelivered)} {
		mustPost(w)
	}
	// A fresh message after the replays: once its answer is out, the replays would have been too.
	probePlain, probe := ev.Message(feishutest.Msg{ChatID: "oc_group", Sender: "ou_res", Text: "@_user_1 我的", Mentions: botMention})
	mustPost(seal(probePlain))
	wait("the answer to the probe", func(c feishutest.Call) bool { return c.Sent() && c.Parent == probe.MessageID })
	if got := deliveries(); got != before+1 {
		t.Errorf("%d deliveries after replaying every event, want %d (only the probe's answer)", got, before+1)
		for _, c := range fake.Calls() {
			t.Logf("%s %s chat=%s parent=%s dup=%v %s", c.Route, c.MessageID, c.ChatID, c.Parent, c.Duplicate, c.Content)
		}
	}
	if n := fake.Count(feishutest.Patched(card.MessageID)); n != 1 {
		t.Errorf("card patched %d times, want 1", n)
	}

	// 6. A notice's card: a tap on 收到 is answered with a toast that says so, not silence and
	// not a message; a vote's toast names the option.
	say := func(sender, text string) {
		plain, _ := ev.Message(feishutest.Msg{ChatID: "oc_p2p_" + sender, ChatType: "p2p", Sender: sender, Text: text})
		mustPost(seal(plain))
	}
	tapToast := func(value map[string]any, cardID string) string {
		t.Helper()
		var ans struct {
			Toast struct{ Type, Content string } `json:"toast"`
		}
		body := mustPost(seal(ev.CardAction(feishutest.Tap{Operator: "ou_res", ChatID: "oc_group", MessageID: cardID, Value: value})))
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			t.Fatalf("tap answer %s: %v", body, err)
		}
		return ans.Toast.Content
	}
	isCard := func(action string) func(feishutest.Call) bool {
		return func(c feishutest.Call) bool {
			return c.Sent() && c.ChatID == "oc_group" && c.MsgType == "interactive" && strings.Contains(c.Content, action)
		}
	}
	asked := func(what string) func(feishutest.Call) bool {
		return func(c feishutest.Call) bool {
			return c.Sent() && strings.Contains(c.Content, "请确认发送："+what)
		}
	}
	say("ou_sec", "通知 全体 周六上午9点社区体检")
	wait("the notice's confirmation", asked("通知（待确认）"))
	say("ou_sec", "确认发送")
	noticeCard := wait("the notice's card", isCard(`"action":"notice_ack"`))
	if got := tapToast(map[string]any{"action": "notice_ack", "ref": "1"}, noticeCard.MessageID); got != "已收到，谢谢" {
		t.Errorf("收到 tap toast %q, want 已收到，谢谢", got)
	}
	say("ou_sec", "投票 是否同意加装电梯 同意/反对 截止 明天18点")
	wait("the poll's confirmation", asked("投票（待确认）"))
	say("ou_sec", "确认发送")
	pollCard := wait("the poll's card", isCard(`"action":"vote"`))
	if got := tapToast(map[string]any{"action": "vote", "ref": "2", "value": "同意"}, pollCard.MessageID); got != "已投：同意" {
		t.Errorf("vote tap toast %q, want 已投：同意", got)
	}
	wait("the notice card's counter", func(c feishutest.Call) bool {
		return feishutest.Patched(noticeCard.MessageID)(c) && strings.Contains(c.Content, "已收到") && strings.Contains(c.Content, "1 人")
	})
	if n := fake.Count(func(c feishutest.Call) bool {
		return c.Sent() && (strings.Contains(c.Content, "已收到，谢谢") || strings.Contains(c.Content, "已投："))
	}); n != 0 {
		t.Errorf("%d toasts were also sent as messages", n)
	}

	// 7. Forged and stale requests are refused.
	forged := seal(ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: "oc_group", MessageID: card.MessageID,
		Value: map[string]any{"action": "cancel", "item": 1}}))
	forged.header.Set("X-Lark-Signature", strings.Repeat("ab", 32))
	if status, _ := post(forged); status != http.StatusUnauthorized {
		t.Errorf("forged signature: status %d, want 401", status)
	}
	stale := ev.SignedRequest(url, ev.Seal(ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: "oc_group", MessageID: card.MessageID,
		Value: map[string]any{"action": "cancel", "item": 1}})), time.Now().Add(-10*time.Minute))
	staleBody, _ := io.ReadAll(stale.Body)
	if status, _ := post(wire{body: staleBody, header: stale.Header}); status != http.StatusUnauthorized {
		t.Errorf("stale timestamp: status %d, want 401", status)
	}
	if !strings.Contains(logs.String(), "signature does not match") || !strings.Contains(logs.String(), "away from now") {
		t.Errorf("refusals not logged with their reason")
	}
}
