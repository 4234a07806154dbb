package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/console"
)

func TestSignInThroughChatLink(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "local:wang")
	p := b.get("/console/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "王书记") || !strings.Contains(p.Body, "台账") {
		t.Fatalf("overview after sign-in: %d\n%s", p.Status, p.Body)
	}
	for _, nav := range []string{"总览", "台账", "人员", "通知", "活动", "报表", "退出"} {
		if !strings.Contains(p.Body, nav) {
			t.Errorf("navigation lacks %s", nav)
		}
	}
}

func TestLinkAskedInGroupGoesPrivately(t *testing.T) {
	e := newEnv(t)
	sent := e.Say("local:xingfuli", "local:wang", "控制台")
	var private, group bool
	for _, s := range sent {
		if linkRE.MatchString(s.Text) {
			private = s.UserID == "local:wang" && s.ChatID == ""
		}
		if s.ChatID == "xingfuli" && linkRE.MatchString(s.Text) {
			group = true
		}
	}
	if !private || group {
		t.Fatalf("the link must go privately and never to the group: %v", sent)
	}
}

func TestMembersAndResidentsAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, user := range []string{"local:li", "local:chen", "local:sun"} {
		sent := e.Private(user, "控制台")
		if len(sent) != 1 || linkRE.MatchString(sent[0].Text) || !strings.Contains(sent[0].Text, "仅供社区书记和街道") {
			t.Errorf("%s asked for the console: %v", user, sent)
		}
	}
}

func TestReplayedLinkGetsAClearPageAndNoSession(t *testing.T) {
	e := newEnv(t)
	link := e.askLink(t, "local:wang")
	first := e.browser(t)
	if p := first.open(link); p.URL.Path != "/console/" {
		t.Fatalf("first use: %d %s", p.Status, p.URL)
	}
	second := e.browser(t)
	p := second.get(link)
	if p.Status != http.StatusGone || !strings.Contains(p.Body, "已经用过") {
		t.Fatalf("replayed link: %d\n%s", p.Status, p.Body)
	}
	if p := second.get("/console/"); p.URL.Path != "/console/login" {
		t.Fatalf("a replayed link gave a session: %s", p.URL)
	}
	// A forged or mangled link.
	if p := second.get("/console/login?t=notatoken"); p.Status != http.StatusGone || !strings.Contains(p.Body, "无效") {
		t.Fatalf("unknown link: %d\n%s", p.Status, p.Body)
	}
}

func TestExpiredLinkGetsAClearPage(t *testing.T) {
	e := newEnv(t)
	link := e.askLink(t, "local:wang")
	e.Clock.Advance(console.LinkTTL)
	b := e.browser(t)
	p := b.get(link)
	if p.Status != http.StatusGone || !strings.Contains(p.Body, "已过期") {
		t.Fatalf("expired link: %d\n%s", p.Status, p.Body)
	}
	// Nor does posting the expired token (the page was open before it expired).
	u, _ := url.Parse(link)
	b2 := e.browser(t)
	link2 := e.askLink(t, "local:wang")
	b2.get(link2) // a sign-in form, for its CSRF cookie
	e.Clock.Advance(console.LinkTTL + time.Second)
	p = b2.post("/console/login", url.Values{"t": {u.Query().Get("t")}})
	if p.Status != http.StatusGone {
		t.Fatalf("posting an expired link: %d %s", p.Status, p.URL)
	}
}

func TestLinkIsUsedOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	link := e.askLink(t, "local:wang")
	u, _ := url.Parse(link)
	tok := u.Query().Get("t")
	const n = 16
	var wg sync.WaitGroup
	got := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			person, ok, err := e.C.TakeLink(context.Background(), tok)
			if err != nil {
				t.Error(err)
			}
			if ok {
				got <- person
			}
		}()
	}
	wg.Wait()
	close(got)
	var winners []string
	for p := range got {
		winners = append(winners, p)
	}
	if len(winners) != 1 || winners[0] != "local:wang" {
		t.Fatalf("a link was used %d times: %v", len(winners), winners)
	}
}

func TestSessionEndsAfterTwelveIdleHours(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "local:wang")
	e.Clock.Advance(11 * time.Hour)
	if p := b.get("/console/"); p.URL.Path != "/console/" {
		t.Fatalf("session ended after 11 h of use: %s", p.URL)
	}
	e.Clock.Advance(11 * time.Hour) // 11 h idle since the last page
	if p := b.get("/console/"); p.URL.Path != "/console/" {
		t.Fatalf("session ended though used 11 h ago: %s", p.URL)
	}
	e.Clock.Advance(console.IdleTTL)
	if p := b.get("/console/"); p.URL.Path != "/console/login" {
		t.Fatalf("session alive after 12 idle hours: %s", p.URL)
	}
}

func TestLogoutFromPageAndFromChat(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "local:wang")
	b.get("/console/")
	if p := b.post("/console/logout", nil); p.URL.Path != "/console/login" || !strings.Contains(p.Body, "已退出") {
		t.Fatalf("logout: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if p := b.get("/console/"); p.URL.Path != "/console/login" {
		t.Fatalf("still signed in after 退出: %s", p.URL)
	}

	phone, desk := e.signIn(t, "local:wang"), e.signIn(t, "local:wang")
	sent := e.Private("local:wang", "退出控制台")
	if len(sent) != 1 || !strings.Contains(sent[0].Text, "共2处") {
		t.Fatalf("退出控制台: %v", sent)
	}
	for _, br := range []*browser{phone, desk} {
		if p := br.get("/console/"); p.URL.Path != "/console/login" {
			t.Fatalf("still signed in after 退出控制台: %s", p.URL)
		}
	}
}

func TestPostWithoutCSRFTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "local:wang")
	b.get("/console/")
	p := b.post("/console/logout", url.Values{"csrf": {"forged"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %d", p.Status)
	}
	if p := b.get("/console/"); p.URL.Path != "/console/" {
		t.Fatalf("a forged POST ended the session")
	}
	// The sign-in form too: its token is tied to the browser that opened the link.
	link := e.askLink(t, "local:wang")
	u, _ := url.Parse(link)
	other := e.browser(t)
	p = other.post("/console/login", url.Values{"t": {u.Query().Get("t")}, "csrf": {"guess"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("sign-in post without the form's token: %d", p.Status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "local:wang")
	for _, path := range []string{"/console/", "/console/login", "/console/items/999999", "/console/static/console.css"} {
		p := b.get(path)
		csp := p.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if p.Header.Get("X-Content-Type-Options") != "nosniff" || p.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, p.Header)
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, " onclick=") {
			t.Errorf("%s: inline script or style the CSP would block", path)
		}
	}
}

func TestSessionCookieFlags(t *testing.T) {
	e := newEnv(t)
	link := e.askLink(t, "local:wang")
	u, _ := url.Parse(link)
	b := e.browser(t)
	b.get(link)
	b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := b.post("/console/login", url.Values{"t": {u.Query().Get("t")}})
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "nb_console" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("session cookie on localhost: %+v", ck)
	}
}
