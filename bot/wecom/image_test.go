package wecom_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
)

// A card with a picture posted through a group robot: the card as markdown, then the picture
// as the robot takes it (base64 with the md5 of its bytes).
func TestRobotImage(t *testing.T) {
	e := newEnv(t)
	png := []byte("\x89PNG\r\n\x1a\nchart")
	o := bot.Outbound{ID: "r/img", ChatID: "wrrobot", Card: &bot.Card{Key: "ledger:monthly:2026-11", Title: "📊 2026年11月 台账月报"},
		Image: &bot.Image{PNG: png}}
	if _, err := e.p.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	hooks := e.fake.Requests(wecomtest.PathWebhook)
	if len(hooks) != 2 || hooks[0].JSON()["msgtype"] != "markdown" || hooks[1].JSON()["msgtype"] != "image" {
		t.Fatalf("webhook calls %+v", hooks)
	}
	img := hooks[1].JSON()["image"].(map[string]any)
	sum := md5.Sum(png)
	if img["base64"] != base64.StdEncoding.EncodeToString(png) || img["md5"] != hex.EncodeToString(sum[:]) {
		t.Errorf("robot image %v", img)
	}
}
