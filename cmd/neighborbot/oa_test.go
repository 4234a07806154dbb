package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot/officialaccount/oatest"
)

// `neighborbot qr 1网格 > qr.png` writes the permanent QR code of that node; `neighborbot oa
// menu` installs the three buttons.
func TestServiceAccountCommands(t *testing.T) {
	fake := oatest.New(t, "wxcmdtest0000001", "cmd-secret")
	path := filepath.Join(t.TempDir(), "neighborbot.yaml")
	if err := os.WriteFile(path, []byte(checkConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"NEIGHBORBOT_CONFIG": path, "NEIGHBORBOT_DATA": t.TempDir(),
		"WECHAT_OA_APP_ID": "wxcmdtest0000001", "WECHAT_OA_APP_SECRET": "cmd-secret", "WECHAT_OA_TOKEN": "tok",
		"WECHAT_OA_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "WECHAT_OA_BASE_URL": fake.URL,
	}
	getenv := func(k string) string { return env[k] }
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"qr", "1网格"}, getenv, &out, &errs); err != nil {
		t.Fatalf("qr: %v\n%s", err, errs.String())
	}
	if !bytes.Equal(out.Bytes(), oatest.PNG) {
		t.Fatalf("qr wrote %q, want the PNG", out.Bytes())
	}
	if body := string(fake.Requests(oatest.PathQRCreate)[0].Body); !strings.Contains(body, `"scene_str":"grid1"`) || !strings.Contains(body, "QR_LIMIT_STR_SCENE") {
		t.Fatalf("qrcode/create %s", body)
	}
	if err := run(context.Background(), []string{"qr", "无此网格"}, getenv, &out, &errs); err == nil || !strings.Contains(err.Error(), "无此网格") {
		t.Fatalf("qr of an unknown node: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"oa", "menu"}, getenv, &out, &errs); err != nil {
		t.Fatalf("oa menu: %v", err)
	}
	menu := string(fake.Requests(oatest.PathMenuCreate)[0].Body)
	for _, b := range []string{"我要点单", "我的需求", "帮助"} {
		if !strings.Contains(menu, b) {
			t.Fatalf("menu %s lacks %s", menu, b)
		}
	}
	if !strings.Contains(out.String(), "menu installed") {
		t.Fatalf("oa menu said %q", out.String())
	}
}
