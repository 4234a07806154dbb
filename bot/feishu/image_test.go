package feishu_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

// A card with a picture (the 月报 chart) reaches the person as the card and then the image,
// uploaded for its image_key; sending the same outbound again shows neither twice.
func TestSendImage(t *testing.T) {
	f := newFixture(t)
	png := []byte("\x89PNG\r\n\x1a\nchart")
	o := bot.Outbound{ID: "ledger:monthly:2026-11:feishu:ou_sec", Platform: "feishu", UserID: "feishu:ou_sec",
		Card:  &bot.Card{Key: "ledger:monthly:2026-11", Title: "📊 2026年11月 台账月报", Text: "居民点单 3 件"},
		Image: &bot.Image{PNG: png}}
	for range 2 {
		if _, err := f.p.Send(ctxTimeout(t), o); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	var key string
	fresh := 0
	for _, c := range f.fake.Calls() {
		if c.Route != feishutest.RouteCreate {
			continue
		}
		if !c.Duplicate {
			fresh++
			types = append(types, c.MsgType)
		}
		if c.MsgType == "image" {
			var v struct {
				ImageKey string `json:"image_key"`
			}
			json.Unmarshal([]byte(c.Content), &v)
			key = v.ImageKey
		}
	}
	if fresh != 2 || types[0] != "interactive" || types[1] != "image" {
		t.Errorf("messages shown: %v, want the card then the image, once", types)
	}
	if got, ok := f.fake.Image(key); !ok || !bytes.Equal(got, png) {
		t.Errorf("image %q holds %q, want the chart", key, got)
	}
}
