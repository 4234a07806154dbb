package oa_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	oa "github.com/neighborbot/neighborbot/bot/officialaccount"
	"github.com/neighborbot/neighborbot/bot/officialaccount/oatest"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

const (
	appID     = "wx0123456789abcdef"
	appSecret = "oa-secret"
	oaToken   = "oatoken2026"
	oaKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

	corpID  = "wwneighborbot0001"
	wSecret = "app-secret"
	wToken  = "QDG6eK"
	wKey    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	aiToken = "aibot-token"
	aiKey   = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
)

const e2eConfig = `
bot_name: 邻里帮
org:
  - id: c1
    name: 幸福社区
    kind: community
    children:
      - id: grid1
        name: 幸福里小区
        kind: grid
        compound: 幸福里小区
      - id: grid2
        name: 阳光花园
        kind: grid
        compound: 阳光花园
groups:
  - id: wecom:wrchat
    name: 幸福里小区群
    node: grid1
  - id: wecom:wrsun
    name: 阳光花园群
    node: grid2
members:
  - {id: "wecom:wang", name: 王师傅, role: member, node: grid1}
  - {id: "wecom:zhao", name: 赵书记, role: secretary, node: grid1}
  - {id: "wecom:sun", name: 孙书记, role: secretary, node: grid2}
`

var shanghai = time.FixedZone("CST", 8*3600)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// TestEndToEnd is issue 19's bar, black-box: the whole app with WECHAT_OA_* at a fake
// Service Account (and WeCom for the compound's group), fed real signed, encrypted callbacks.
func TestEndToEnd(t *testing.T) {
	const wait = 10 * time.Second
	fakeOA := oatest.New(t, appID, appSecret)
	fakeWC := wecomtest.New(t, corpID, wSecret)
	dir := t.TempDir()
	path := filepath.Join(dir, "neighborbot.yaml")
	if err := os.WriteFile(path, []byte(e2eConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"NEIGHBORBOT_CONFIG": path, "NEIGHBORBOT_DATA": filepath.Join(dir, "data"),
		"WECOM_CORP_ID": corpID, "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": wSecret,
		"WECOM_TOKEN": wToken, "WECOM_AES_KEY": wKey, "WECOM_AIBOT_TOKEN": aiToken, "WECOM_AIBOT_AES_KEY": aiKey,
		"WECOM_BASE_URL":   fakeWC.URL,
		"WECHAT_OA_APP_ID": appID, "WECHAT_OA_APP_SECRET": appSecret, "WECHAT_OA_TOKEN": oaToken,
		"WECHAT_OA_AES_KEY": oaKey, "WECHAT_OA_BASE_URL": fakeOA.URL,
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
	cb := &oatest.Callbacks{Token: oaToken, AESKey: oaKey, AppID: appID, Now: clk.Now}
	appCB := &wecomtest.Callbacks{Token: wToken, AESKey: wKey, ReceiveID: corpID, Now: clk.Now}
	aiCB := &wecomtest.Callbacks{Token: aiToken, AESKey: aiKey, Now: clk.Now}
	do := func(req *http.Request) (int, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ok := func(req *http.Request) {
		t.Helper()
		if status, body := do(req); status != http.StatusOK || body != "success" {
			t.Fatalf("callback answered %d %q", status, body)
		}
	}
	oaSends := func() []map[string]any {
		var out []map[string]any
		for _, r := range fakeOA.Requests(oatest.PathCustomSend) {
			out = append(out, r.JSON())
		}
		return out
	}
	content := func(m map[string]any) string {
		text, _ := m["text"].(map[string]any)
		s, _ := text["content"].(string)
		return s
	}
	// awaitWeCom waits for a WeCom app message to user containing want.
	awaitWeCom := func(user, want string) {
		t.Helper()
		for n := 1; ; n++ {
			for _, r := range fakeWC.Await(t, wecomtest.PathSend, n, wait) {
				body := r.JSON()
				if text, _ := body["text"].(map[string]any); body["touser"] == user && text != nil && strings.Contains(text["content"].(string), want) {
					return
				}
			}
		}
	}
	const chen = "oChen_openid_0001"

	// 1. Saving the server URL: the signed check is answered with echostr as it is.
	if status, body := do(cb.Verify(base+oa.Path, "echo-19")); status != http.StatusOK || body != "echo-19" {
		t.Fatalf("URL verification: %d %q", status, body)
	}

	// 2. She scans 幸福里小区's code and follows: bound, welcomed with how to file a need.
	subscribe := cb.Post(base+oa.Path, chen, oatest.Subscribe(chen, "grid1", clk.Now()))
	ok(subscribe)
	welcome := fakeOA.Await(t, oatest.PathCustomSend, 1, wait)[0].JSON()
	if welcome["touser"] != chen || !strings.Contains(content(welcome), "幸福里小区") || !strings.Contains(content(welcome), "直接在这里") {
		t.Fatalf("welcome %v", welcome)
	}
	if p, err := a.Store.GetPerson(context.Background(), "oa:"+chen); err != nil || p.Node != "grid1" {
		t.Fatalf("person after the scan: %+v %v", p, err)
	}

	// 3. She writes a need: one item, one note to the compound's secretary, one answer to her.
	needMsg := func() *http.Request {
		return cb.Post(base+oa.Path, chen, oatest.Text(chen, "3栋2单元楼道灯坏了，晚上看不见", "24000001", clk.Now()))
	}
	ok(needMsg())
	answer := fakeOA.Await(t, oatest.PathCustomSend, 2, wait)[1].JSON()
	if answer["touser"] != chen || !strings.Contains(content(answer), "#1") {
		t.Fatalf("answer to the resident %v", answer)
	}
	awaitWeCom("zhao", "新需求 #1")
	item, err := a.Store.GetItem(context.Background(), 1)
	if err != nil || item.RequesterID != "oa:"+chen || item.GroupID != "wecom:wrchat" {
		t.Fatalf("item %+v %v", item, err)
	}
	for _, r := range fakeWC.Requests(wecomtest.PathSend) {
		if body := string(r.Body); strings.Contains(body, chen) {
			t.Fatalf("WeCom saw the resident's openid: %s", body)
		}
	}

	// 4. The secretary dispatches: she hears it is dispatched.
	ok2 := func(req *http.Request) {
		t.Helper()
		if status, body := do(req); status != http.StatusOK {
			t.Fatalf("wecom callback answered %d %q", status, body)
		}
	}
	ok2(appCB.App(base+"/wecom/callback", wecomtest.Text(corpID, "zhao", "派单 1", "7002", clk.Now())))
	if m := fakeOA.Await(t, oatest.PathCustomSend, 3, wait)[2].JSON(); !strings.Contains(content(m), "#1 已派单") {
		t.Fatalf("dispatch notice %v", m)
	}

	// 5. A member claims it in the group: one status message to her.
	ok2(aiCB.AIBot(base+"/wecom/aibot", wecomtest.GroupMention("aimsg-1", "wrchat", "wang", "邻里帮", "接单 1", fakeWC.ResponseURL())))
	claimed := fakeOA.Await(t, oatest.PathCustomSend, 4, wait)[3].JSON()
	if claimed["touser"] != chen || !strings.Contains(content(claimed), "#1 已由王师傅认领") {
		t.Fatalf("claim notice %v", claimed)
	}

	// 5b. She sends a photo: it reaches the claimer, and she is told so.
	ok(cb.Post(base+oa.Path, chen, oatest.Image(chen, "http://mmbiz.qpic.cn/lamp.jpg", "media-lamp", "24000005", clk.Now())))
	if m := fakeOA.Await(t, oatest.PathCustomSend, 5, wait)[4].JSON(); !strings.Contains(content(m), "图片已附到您的需求 #1") {
		t.Fatalf("image answer %v", m)
	}
	awaitWeCom("wang", "http://mmbiz.qpic.cn/lamp.jpg")

	// 6. WeChat retries the need and the follow: nothing more happens. A fresh message is the
	// barrier: once its answer is out, a handled retry would show.
	ok(needMsg())
	ok(subscribe)
	ok(cb.Post(base+oa.Path, chen, oatest.Text(chen, "我的", "24000002", clk.Now())))
	fakeOA.Await(t, oatest.PathCustomSend, 6, wait)
	if n := len(oaSends()); n != 6 {
		t.Fatalf("retries were handled again: %d customer-service messages, want 6", n)
	}
	if _, err := a.Store.GetItem(context.Background(), 2); err == nil {
		t.Fatal("the retried need was filed twice")
	}

	// 7. The member reports it done in the group: she is asked to rate it, with the item
	// number, and rates it from WeChat.
	ok2(aiCB.AIBot(base+"/wecom/aibot", wecomtest.GroupMention("aimsg-2", "wrchat", "wang", "邻里帮", "完成 1 已换灯泡", fakeWC.ResponseURL())))
	rate := fakeOA.Await(t, oatest.PathCustomSend, 7, wait)[6].JSON()
	if rate["touser"] != chen || !strings.Contains(content(rate), "#1 已办好") || !strings.Contains(content(rate), "确认 1 5星") {
		t.Fatalf("请评价 %v", rate)
	}
	ok(cb.Post(base+oa.Path, chen, oatest.Text(chen, "确认 1 5星 很及时", "24000004", clk.Now())))
	fakeOA.Await(t, oatest.PathCustomSend, 8, wait)
	if it, err := a.Store.GetItem(context.Background(), 1); err != nil || it.Stars != 5 {
		t.Fatalf("after her rating: %+v %v", it, err)
	}

	// 8. A forged signature is refused.
	forged := cb.Post(base+oa.Path, chen, oatest.Text(chen, "取消 1", "24000003", clk.Now()))
	q := forged.URL.Query()
	q.Set("msg_signature", strings.Repeat("0", 40))
	forged.URL.RawQuery = q.Encode()
	if status, _ := do(forged); status != http.StatusForbidden {
		t.Fatalf("forged signature: %d", status)
	}
	badGet := cb.Verify(base+oa.Path, "x")
	q = badGet.URL.Query()
	q.Set("signature", strings.Repeat("1", 40))
	badGet.URL.RawQuery = q.Encode()
	if status, body := do(badGet); status != http.StatusForbidden || body == "x" {
		t.Fatalf("forged verification: %d %q", status, body)
	}

	// One token served every call; no decrypted content reached the log.
	if n := len(fakeOA.Requests(oatest.PathToken)); n != 1 {
		t.Fatalf("token fetched %d times", n)
	}
	for _, secret := range []string{"楼道灯", "看不见", "echo-19"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestNoLogrus: the SDK's root package and officialaccount/server turn logrus to Debug and
// log decrypted messages; nothing in the program imports them, so logrus is not even linked
// and no SDK log can carry a resident's message.
func TestNoLogrus(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/neighborbot/neighborbot/cmd/neighborbot").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := string(out)
	if !strings.Contains(deps, "github.com/neighborbot/neighborbot/bot/officialaccount\n") {
		t.Fatalf("the program does not link the adapter: the check would see nothing")
	}
	for _, bad := range []string{"github.com/sirupsen/logrus", "github.com/silenceper/wechat/v2\n", "github.com/silenceper/wechat/v2/officialaccount/server"} {
		if strings.Contains(deps, bad) {
			t.Errorf("the program links %s", strings.TrimSpace(bad))
		}
	}
}
