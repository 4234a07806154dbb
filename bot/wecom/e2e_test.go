package wecom_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

const e2eConfig = `
bot_name: 邻里帮
org:
  - id: c1
    name: 幸福社区
    kind: community
    children:
      - id: grid1
        name: 1网格
        kind: grid
        compound: 幸福里小区
groups:
  - id: wecom:wrchat
    name: 幸福里小区群
    node: grid1
members:
  - {id: "wecom:chen", name: 陈阿姨, role: resident, node: grid1}
  - {id: "wecom:wang", name: 王师傅, role: member, node: grid1}
  - {id: "wecom:zhao", name: 赵书记, role: secretary, node: grid1}
`

// TestEndToEnd is issue 6's bar, black-box: the whole app from a config whose WECOM_* point at
// a fake WeCom, on a real listener, fed real encrypted and signed callbacks.
func TestEndToEnd(t *testing.T) {
	const wait = 10 * time.Second
	fake := wecomtest.New(t, corpID, secret)
	dir := t.TempDir()
	path := filepath.Join(dir, "neighborbot.yaml")
	if err := os.WriteFile(path, []byte(e2eConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"NEIGHBORBOT_CONFIG": path, "NEIGHBORBOT_DATA": filepath.Join(dir, "data"),
		"WECOM_CORP_ID": corpID, "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": secret,
		"WECOM_TOKEN": token, "WECOM_AES_KEY": aesKey, "WECOM_AIBOT_TOKEN": aiToken, "WECOM_AIBOT_AES_KEY": aiKey,
		"WECOM_BASE_URL": fake.URL,
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 5, 6, 9, 30, 0, 0, shanghai)}
	logs := &bottest.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg, Now: clk.Now, Owner: "e2e",
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		a.Close()
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	base := "http://" + ln.Addr().String()
	appCB := &wecomtest.Callbacks{Token: token, AESKey: aesKey, ReceiveID: corpID, Now: clk.Now}
	aiCB := &wecomtest.Callbacks{Token: aiToken, AESKey: aiKey, Now: clk.Now}
	do := func(req *http.Request) (int, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	ok := func(req *http.Request) {
		t.Helper()
		if status, body := do(req); status != http.StatusOK {
			t.Fatalf("callback answered %d %q", status, body)
		}
	}
	sends := func() int { return len(fake.Requests(wecomtest.PathSend)) }
	// outbox counts the replies the handlers made. One event's replies are enqueued together, or
	// sent directly and recorded together once all were sent (bot.Pipeline.Direct): the count
	// is final for an event once it covers every request that reached the fake.
	outbox := func() int {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			st, err := a.Store.OutboxStats(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			reached := sends() + len(fake.Requests(wecomtest.PathResponse)) + len(fake.Requests(wecomtest.PathUpdateCard))
			if n := st.Pending + st.Sent + st.Failed; n >= reached || time.Now().After(deadline) {
				return n
			}
			time.Sleep(time.Millisecond) // the record rides the store's next commit
		}
	}

	// 1. Saving the callback URL in WeCom: the verification echoes the decrypted echostr.
	if status, body := do(appCB.Verify(base+"/wecom/callback", "echo-2026")); status != http.StatusOK || body != "echo-2026" {
		t.Fatalf("URL verification: %d %q", status, body)
	}
	if status, body := do(aiCB.Verify(base+"/wecom/aibot", "ai-echo")); status != http.StatusOK || body != "ai-echo" {
		t.Fatalf("AI bot URL verification: %d %q", status, body)
	}

	// 2. A resident writes to the app: exactly one reply, to her.
	residentMsg := func() *http.Request {
		return appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "chen", "帮助", "7001", clk.Now()))
	}
	ok(residentMsg())
	first := fake.Await(t, wecomtest.PathSend, 1, wait)[0].JSON()
	if n := outbox(); n != 1 {
		t.Fatalf("the resident's message produced %d replies, want 1", n)
	}
	if first["touser"] != "chen" || first["text"].(map[string]any)["content"] == "" {
		t.Fatalf("reply %v", first)
	}

	// 3. She @-mentions the AI bot in the group: the need is filed, she hears back through the
	// response_url, the secretary privately.
	ok(aiCB.AIBot(base+"/wecom/aibot", wecomtest.GroupMention("aimsg-1", "wrchat", "chen", "邻里帮", "3栋2单元楼道灯坏了", fake.ResponseURL())))
	resp := fake.Await(t, wecomtest.PathResponse, 1, wait)[0]
	if !strings.Contains(string(resp.Body), "#1") {
		t.Fatalf("response_url answer %s", resp.Body)
	}
	fake.Await(t, wecomtest.PathSend, outbox()-1, wait) // all but the response_url one are app messages
	if last := fake.Requests(wecomtest.PathSend)[sends()-1].JSON(); last["touser"] != "zhao" {
		t.Fatalf("secretary not told: %v", last)
	}

	// 4. The secretary dispatches privately: the item's card goes, with buttons, to the group's
	// party members.
	before := sends()
	ok(appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "zhao", "派单 1", "7002", clk.Now())))
	// Its replies may arrive in either order, and some may have arrived already: wait for one
	// more send at a time, counting from before the message, until the card is among them.
	var card map[string]any
	for n := before + 1; card == nil; n++ {
		for _, r := range fake.Await(t, wecomtest.PathSend, n, wait) {
			if body := r.JSON(); body["msgtype"] == "template_card" {
				card = body
			}
		}
	}
	tc := card["template_card"].(map[string]any)
	if card["touser"] != "wang|zhao" || !strings.Contains(tc["main_title"].(map[string]any)["title"].(string), "#1") {
		t.Fatalf("item card %v", card)
	}
	taskID := tc["task_id"].(string)
	fake.Await(t, wecomtest.PathSend, outbox()-1, wait)

	// 5. A member taps 接单 on it: the card is updated in place, with a response code.
	tapCode := fake.TapCode()
	tap := func() *http.Request {
		return appCB.App(base+"/wecom/callback", wecomtest.CardTap(corpID, "wang", taskID, "claim:1", tapCode, clk.Now()))
	}
	ok(tap())
	upd := fake.Await(t, wecomtest.PathUpdateCard, 1, wait)[0].JSON()
	// The tap's code or the one the card's send returned (the fake accepts each once).
	if code, _ := upd["response_code"].(string); !strings.HasPrefix(code, "rc-") || !strings.Contains(mustJSON(t, upd), "王师傅") {
		t.Fatalf("card update %v", upd)
	}
	fake.Await(t, wecomtest.PathSend, outbox()-2, wait) // minus the response_url reply and the update
	item, err := a.Store.GetItem(context.Background(), 1)
	if err != nil || len(item.Claims) != 1 || item.Claims[0].UserID != "wecom:wang" {
		t.Fatalf("item after the tap: %+v %v", item, err)
	}

	// 6. WeCom retries the tap and the resident's message: nothing more happens.
	before, beforeSends := outbox(), sends()
	ok(tap())
	ok(residentMsg())
	// A fresh message is the barrier: once its reply is out, a handled retry would show.
	ok(appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "chen", "我的", "7003", clk.Now())))
	fake.Await(t, wecomtest.PathSend, beforeSends+1, wait)
	if outbox() != before+1 || sends() != beforeSends+1 || len(fake.Requests(wecomtest.PathUpdateCard)) != 1 {
		t.Fatalf("retries were handled again: outbox %d→%d, sends %d→%d, updates %d",
			before, outbox(), beforeSends, sends(), len(fake.Requests(wecomtest.PathUpdateCard)))
	}

	// 7. A tap on a notice card's 收到 answers the tapper privately (WeCom has no toast).
	before = sends()
	ok(appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "zhao", "通知 全体 周六上午9点社区体检", "7010", clk.Now())))
	fake.Await(t, wecomtest.PathSend, before+1, wait)
	ok(appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "zhao", "确认发送", "7011", clk.Now())))
	var noticeTask string
	for n := before + 2; noticeTask == ""; n++ {
		for _, r := range fake.Await(t, wecomtest.PathSend, n, wait) {
			if body := r.JSON(); body["msgtype"] == "template_card" && strings.Contains(mustJSON(t, body), "notice_ack") {
				noticeTask = body["template_card"].(map[string]any)["task_id"].(string)
			}
		}
	}
	// The tap names the card's task; the card's reference is saved just after its send.
	for deadline := time.Now().Add(wait); ; {
		if ref, err := a.Store.GetDoc(context.Background(), bot.CollCardRef, bot.CardRefID("wecom", "wrchat", "notice:1")); err == nil && string(ref) == noticeTask {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notice card's reference was never saved")
		}
		time.Sleep(time.Millisecond) // polling an observable state, bounded
	}
	before = sends()
	ok(appCB.App(base+"/wecom/callback", wecomtest.CardTap(corpID, "wang", noticeTask, "notice_ack:0::1", fake.TapCode(), clk.Now())))
	var thanked bool
	for n := before + 1; !thanked; n++ {
		for _, r := range fake.Await(t, wecomtest.PathSend, n, wait)[before:] {
			body := r.JSON()
			if text, _ := body["text"].(map[string]any); text != nil && body["touser"] == "wang" && strings.HasPrefix(text["content"].(string), "已收到，谢谢") {
				thanked = true
			}
		}
	}

	// 8. A forged signature is refused.
	forged := appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "chen", "取消 1", "7004", clk.Now()))
	q := forged.URL.Query()
	q.Set("msg_signature", strings.Repeat("0", 40))
	forged.URL.RawQuery = q.Encode()
	if status, _ := do(forged); status != http.StatusForbidden {
		t.Fatalf("forged signature: %d", status)
	}

	// Every outbound message was delivered, none failed, and one token served them all.
	st, err := a.Store.OutboxStats(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 0 {
		t.Fatalf("outbox %+v", st)
	}
	if n := len(fake.Requests(wecomtest.PathGetToken)); n != 1 {
		t.Fatalf("gettoken called %d times", n)
	}
	if ref, err := a.Store.GetDoc(context.Background(), bot.CollCardRef, bot.CardRefID("wecom", "wrchat", "item:1")); err != nil || string(ref) != taskID {
		t.Fatalf("card reference %q %v, want the task id %s", ref, err, taskID)
	}
}

func mustJSON(t *testing.T, v map[string]any) string {
	t.Helper()
	var b strings.Builder
	for k, x := range v {
		b.WriteString(k)
		if m, ok := x.(map[string]any); ok {
			b.WriteString(mustJSON(t, m))
			continue
		}
		if l, ok := x.([]any); ok {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok {
					b.WriteString(mustJSON(t, m))
				}
			}
			continue
		}
		if s, ok := x.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}
