package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

// webLoginConfig is a community whose secretary and resident are on Feishu, and a second
// secretary on WeCom.
const webLoginConfig = `
bot_name: 邻里帮
admin_addr: "off"
org:
  - id: street
    name: 城关街道
    kind: street
    children:
      - id: xingfu
        name: 幸福社区
        kind: community
        children:
          - id: grid3
            name: 3网格
            kind: grid
groups:
  - id: feishu:oc_group
    name: 幸福里小区群
    node: grid3
members:
  - id: feishu:ou_sec
    name: 王书记
    role: secretary
    node: xingfu
  - id: feishu:ou_res
    name: 陈阿姨
    role: resident
    node: grid3
  - id: wecom:zhangsec
    name: 张书记
    role: secretary
    node: xingfu
`

// TestConsoleWebLoginThroughThePlatforms signs in to the running bot's console the way a
// browser does, with no chat step: the console's 飞书登录 / 企业微信登录 / 企业微信扫码登录 send
// the browser to the (fake) platform's login page, which sends it back with a code; the bot
// exchanges it over the platform's real API and starts a session for the secretary. A resident
// who signs in with Feishu is refused, and gets no session.
func TestConsoleWebLoginThroughThePlatforms(t *testing.T) {
	fs := feishutest.New(t)
	wc := wecomtest.New(t, "wwcorp", "wc-secret")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "neighborbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(webLoginConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"FEISHU_APP_ID": fs.AppID, "FEISHU_APP_SECRET": fs.AppSecret,
		"FEISHU_VERIFICATION_TOKEN": "vtoken-weblogin", "FEISHU_ENCRYPT_KEY": "ekey-weblogin",
		"FEISHU_BASE_URL": fs.URL,
		"WECOM_CORP_ID":   "wwcorp", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "wc-secret",
		"WECOM_TOKEN": "tok", "WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
		"WECOM_BASE_URL": wc.URL, "WECOM_OAUTH_URL": wc.URL, "WECOM_SSO_URL": wc.URL,
		"NEIGHBORBOT_PUBLIC_URL": base, "NEIGHBORBOT_DATA": filepath.Join(dir, "data"),
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
	a, err := app.New(context.Background(), app.Options{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the app did not stop")
		}
	})

	// browse follows every redirect with its own cookies, like a fresh browser, and returns the
	// last page.
	browse := func(t *testing.T, path string) (*http.Response, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		// The console's page now works in this browser only if a session was started.
		again, err := c.Get(base + "/console/")
		if err != nil {
			t.Fatal(err)
		}
		ab, _ := io.ReadAll(again.Body)
		again.Body.Close()
		resp.Header.Set("X-Console-After", string(ab))
		return resp, string(b)
	}

	// The sign-in page offers the three platforms' buttons.
	resp, err := http.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"飞书登录", "企业微信登录", "企业微信扫码登录", "/console/login/feishu", "/console/login/wecom-qr"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}

	t.Run("feishu secretary", func(t *testing.T) {
		fs.LogIn(feishutest.User{OpenID: "ou_sec", Name: "王书记"})
		resp, body := browse(t, "/console/login/feishu")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "总览") || !strings.Contains(body, "王书记") {
			t.Fatalf("after 飞书登录: %d\n%s", resp.StatusCode, body)
		}
		if resp.Request.URL.Path != "/console/" {
			t.Errorf("landed on %s, want /console/", resp.Request.URL)
		}
	})
	t.Run("feishu resident refused", func(t *testing.T) {
		fs.LogIn(feishutest.User{OpenID: "ou_res", Name: "陈阿姨"})
		resp, body := browse(t, "/console/login/feishu")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "无权使用") {
			t.Fatalf("resident after 飞书登录: %d, want 403 无权使用\n%s", resp.StatusCode, body)
		}
		if after := resp.Header.Get("X-Console-After"); strings.Contains(after, "总览") {
			t.Errorf("the resident's browser has a session:\n%s", after)
		}
	})
	for _, name := range []string{"wecom", "wecom-qr"} {
		t.Run(name+" secretary", func(t *testing.T) {
			wc.LogIn("zhangsec")
			resp, body := browse(t, "/console/login/"+name)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "总览") || !strings.Contains(body, "张书记") {
				t.Fatalf("after %s: %d\n%s", name, resp.StatusCode, body)
			}
		})
	}
	// The platforms were asked over their APIs: Feishu's token exchange named the console's
	// callback, WeCom's getuserinfo was called once a sign-in.
	exchanged := 0
	for _, c := range fs.Calls() {
		if c.Route == feishutest.RouteUserToken {
			exchanged++
		}
	}
	if exchanged != 2 {
		t.Errorf("%d Feishu code exchanges, want 2", exchanged)
	}
	if n := len(wc.Requests(wecomtest.PathGetUserInfo)); n != 2 {
		t.Errorf("%d WeCom getuserinfo calls, want 2", n)
	}
}
