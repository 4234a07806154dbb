package local_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
)

// A bot message with a picture (a 月报 chart) shows it inline: the transcript names its URL
// and the playground serves the PNG, also after a restart (it is kept in the store).
func TestImageShownInline(t *testing.T) {
	docs := newMemDocs()
	e := start(t, docs)
	png := []byte("\x89PNG\r\n\x1a\nchart")
	send(t, e.p, bot.Outbound{ID: "img-1", UserID: "local:wang", Card: &bot.Card{Key: "ledger:monthly", Title: "📊 月报"},
		Image: &bot.Image{PNG: png, Alt: "月报图表"}})
	res, err := http.Get(e.srv.URL + "/local/messages?user=local:wang")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Messages []struct {
			ID    string `json:"id"`
			Image string `json:"image"`
		} `json:"messages"`
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(raw, &page); err != nil {
		// The list may be a bare array.
		if err := json.Unmarshal(raw, &page.Messages); err != nil {
			t.Fatalf("messages: %v: %s", err, raw)
		}
	}
	url := ""
	for _, m := range page.Messages {
		if m.Image != "" {
			url = m.Image
		}
	}
	if url == "" {
		t.Fatalf("no message names its picture: %s", raw)
	}
	for _, base := range []string{e.srv.URL, start(t, docs).srv.URL} { // and after a restart
		res, err := http.Get(base + url)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, png) {
			t.Errorf("GET %s: %d %s %q", url, res.StatusCode, res.Header.Get("Content-Type"), got)
		}
	}
}
