package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var sendRE = regexp.MustCompile(`action="(/console/notices/\d+/send)"`)

func TestComposeAndSendANotice(t *testing.T) {
	e := newEnv(t)
	wang := e.signIn(t, "local:wang")
	wang.get("/console/notices")
	p := wang.post("/console/notices/preview", url.Values{"kind": {"notice"}, "target": {"grid1"}, "text": {"周六上午小区集中消杀，请关好门窗。"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "1网格，共 1 个群") || !strings.Contains(p.Body, "确认发送") {
		t.Fatalf("preview: %d\n%s", p.Status, p.Body)
	}
	// The preview is a draft: nothing is sent yet.
	before := e.Platform.Len()
	if err := e.Notices.Pump(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent := e.flush(t, before); len(sent) != 0 {
		t.Fatalf("a preview sent %v", sent)
	}
	m := sendRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatal("no send form")
	}
	p = wang.post(m[1], nil)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.Path, "/console/notices/") || !strings.Contains(p.Body, "送达和回执") {
		t.Fatalf("send: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	page := p.URL.Path
	if err := e.Notices.Pump(context.Background()); err != nil {
		t.Fatal(err)
	}
	var card bool
	for _, s := range e.flush(t, before) {
		if s.ChatID == "xingfuli" && s.Card != nil && strings.Contains(s.Card.Text, "消杀") {
			card = true
		}
		if s.ChatID == "yangguang" || s.ChatID == "hexie" {
			t.Errorf("the notice for 1网格 reached %s", s.ChatID)
		}
	}
	if !card {
		t.Fatalf("the group got no notice: %v", e.Platform.Since(before))
	}
	e.Say("local:xingfuli", "local:chen", "收到")
	live := wang.hxGet(page + "/live")
	if !strings.Contains(live.Body, `id="sent">1/1<`) || !strings.Contains(live.Body, `id="acks">1<`) || !strings.Contains(live.Body, `hx-trigger="every 3s"`) {
		t.Fatalf("live delivery:\n%s", live.Body)
	}
	// Another community's secretary finds no such notice.
	he := e.signIn(t, "local:he")
	if p := he.get(page); p.Status != http.StatusNotFound {
		t.Fatalf("何书记 opened 王书记's notice for 1网格: %d", p.Status)
	}
	if p := he.get("/console/notices"); strings.Contains(p.Body, "消杀") {
		t.Fatal("何书记's list shows 王书记's notice")
	}
}

func TestNoticeBeyondTheJurisdictionIsRefused(t *testing.T) {
	e := newEnv(t)
	wang := e.signIn(t, "local:wang")
	wang.get("/console/notices")
	p := wang.post("/console/notices/preview", url.Values{"kind": {"notice"}, "target": {"grid3"}, "text": {"通知内容"}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "不在其中") {
		t.Fatalf("a notice to another community: %d\n%s", p.Status, p.Body)
	}
}

func TestComposeAPoll(t *testing.T) {
	e := newEnv(t)
	wang := e.signIn(t, "local:wang")
	wang.get("/console/notices")
	p := wang.post("/console/notices/preview", url.Values{"kind": {"poll"}, "target": {"all"},
		"title": {"是否同意加装电梯"}, "options": {"同意，反对"}, "deadline": {"2026-11-26T18:00"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "同意、反对") || !strings.Contains(p.Body, "共 2 个群") {
		t.Fatalf("poll preview: %d\n%s", p.Status, p.Body)
	}
	m := sendRE.FindStringSubmatch(p.Body)
	p = wang.post(m[1], nil)
	if err := e.Notices.Pump(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.flush(t, 0)
	e.Say("local:xingfuli", "local:chen", "同意")
	p = wang.get(p.URL.Path)
	if !strings.Contains(p.Body, "<td>同意</td><td class=\"num\">1</td>") {
		t.Fatalf("poll page:\n%s", p.Body)
	}
}
