package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"testing"

	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

func newAppWith(t *testing.T, env map[string]string) *app.App {
	t.Helper()
	env["NEIGHBORBOT_DATA"] = t.TempDir()
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), app.Options{Config: cfg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// The playground has no platform to sign in with.
func TestWebLoginsPlayground(t *testing.T) {
	if got := newAppWith(t, map[string]string{}).WebLogins(); len(got) != 0 {
		t.Errorf("playground web logins %v, want none", got)
	}
}

// With Feishu and WeCom configured, the console gets 飞书登录, 企业微信登录 and 企业微信扫码登录,
// each exchanging codes against its platform.
func TestWebLoginsPlatforms(t *testing.T) {
	t.Setenv("NEIGHBORBOT_PUBLIC_URL", "https://bot.example.cn/")
	fs := feishutest.New(t)
	wc := wecomtest.New(t, "wwcorp", "wc-secret")
	a := newAppWith(t, map[string]string{
		"FEISHU_APP_ID": fs.AppID, "FEISHU_APP_SECRET": fs.AppSecret, "FEISHU_MODE": "ws", "FEISHU_BASE_URL": fs.URL,
		"WECOM_CORP_ID": "wwcorp", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "wc-secret",
		"WECOM_TOKEN": "tok", "WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
		"WECOM_BASE_URL": wc.URL, "WECOM_OAUTH_URL": wc.URL, "WECOM_SSO_URL": wc.URL,
	})
	logins := a.WebLogins()
	var names, labels []string
	for _, l := range logins {
		names, labels = append(names, l.Name()), append(labels, l.Label())
	}
	if len(logins) != 3 || names[0] != "feishu" || names[1] != "wecom" || names[2] != "wecom-qr" ||
		labels[0] != "飞书登录" || labels[1] != "企业微信登录" || labels[2] != "企业微信扫码登录" {
		t.Fatalf("web logins %v %v, want feishu, wecom, wecom-qr", names, labels)
	}
	if got := a.WebLoginRedirect("feishu"); got != "https://bot.example.cn/console/oauth/feishu/callback" {
		t.Errorf("redirect %s", got)
	}
	ctx := context.Background()

	// Feishu: the code is exchanged naming the console's callback.
	if id, err := logins[0].Exchange(ctx, fs.IssueLoginCode("ou_wang")); err != nil || id != "feishu:ou_wang" {
		t.Errorf("feishu: %q, %v", id, err)
	}
	for _, c := range fs.Calls() {
		if c.Route != feishutest.RouteUserToken {
			continue
		}
		var body map[string]string
		json.Unmarshal(c.Body, &body)
		if body["redirect_uri"] != "https://bot.example.cn/console/oauth/feishu/callback" {
			t.Errorf("feishu token exchange named redirect_uri %q", body["redirect_uri"])
		}
	}
	// WeCom: both ways in, the pages on the configured hosts.
	for _, l := range logins[1:] {
		if id, err := l.Exchange(ctx, wc.IssueLoginCode("zhangsan")); err != nil || id != "wecom:zhangsan" {
			t.Errorf("%s: %q, %v", l.Name(), id, err)
		}
		u, err := url.Parse(l.AuthURL("st", a.WebLoginRedirect(l.Name())))
		if err != nil || "http://"+u.Host != wc.URL || u.Query().Get("redirect_uri") != "https://bot.example.cn/console/oauth/"+l.Name()+"/callback" {
			t.Errorf("%s: AuthURL %v (%v)", l.Name(), u, err)
		}
	}
	if n := len(wc.Requests(wecomtest.PathGetUserInfo)); n != 2 {
		t.Errorf("%d getuserinfo calls, want 2", n)
	}
}
