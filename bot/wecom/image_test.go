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

// A report in a private chat (an app message): the card, then the picture as an image
// message, uploaded once for a media_id. A passing failure retries the entry without showing
// the card twice, and once the picture went out a retry neither uploads nor sends it again.
func TestAppImage(t *testing.T) {
	e := newEnv(t)
	e.fake.Now = e.clock.Now
	ctx := context.Background()
	png := []byte("\x89PNG\r\n\x1a\nchart")
	o := bot.Outbound{ID: "r/app-img", UserID: "wecom:sec", Card: &bot.Card{Key: "ledger:monthly:2026-11", Title: "📊 2026年11月 台账月报"},
		Image: &bot.Image{PNG: png}}

	// WeCom is busy for the upload: the entry is to be retried.
	e.fake.Fail(wecomtest.PathUpload, wecomtest.Fault{ErrCode: -1})
	if _, err := e.p.Send(ctx, o); err == nil {
		t.Fatal("send with a failed upload succeeded; the picture would be lost")
	}
	for range 2 { // the retry, then the entry handled once more (a lease run out)
		if _, err := e.p.Send(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	got := e.fake.Delivered()
	if len(got) != 2 || got[0].JSON()["msgtype"] != "markdown" || got[1].JSON()["msgtype"] != "image" {
		t.Fatalf("delivered %d messages, want the card then the picture once each: %+v", len(got), got)
	}
	msg := got[1].JSON()
	if msg["touser"] != "sec" {
		t.Errorf("picture to %v", msg["touser"])
	}
	id, _ := msg["image"].(map[string]any)["media_id"].(string)
	if string(e.fake.Media(id)) != string(png) {
		t.Errorf("media %q is %q, want the chart", id, e.fake.Media(id))
	}
	if n := len(e.fake.Requests(wecomtest.PathUpload)); n != 2 {
		t.Errorf("%d uploads, want 2 (the failed one and one more)", n)
	}
}

// A card without a picture uploads nothing.
func TestAppNoImage(t *testing.T) {
	e := newEnv(t)
	o := bot.Outbound{ID: "r/app", UserID: "wecom:sec", Text: "您好"}
	if _, err := e.p.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Requests(wecomtest.PathUpload)); n != 0 || len(e.fake.Delivered()) != 1 {
		t.Errorf("uploads %d, delivered %d", n, len(e.fake.Delivered()))
	}
}
