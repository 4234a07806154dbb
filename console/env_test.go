package console_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/console"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/ledger"
	ledgerchat "github.com/neighborbot/neighborbot/ledger/chat"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
)

// env is the bot of these tests (the service items, notices and the console on one mux, as
// internal/app wires them) with the console served on a test server.
type env struct {
	*bottest.Harness
	C       *console.Console
	Srv     *httptest.Server
	Notices *notices.Notices
}

func newEnv(t *testing.T, providers ...console.Provider) *env {
	t.Helper()
	e := &env{}
	mux := http.NewServeMux()
	e.Srv = httptest.NewServer(mux)
	t.Cleanup(e.Srv.Close)
	e.Harness = bottest.New(t, func(b bottest.Env) (bottest.Bot, error) {
		h := &handlers.Handlers{Store: b.Store, Tree: b.Tree, BotName: b.Config.BotName, Log: b.Log}
		n := &notices.Notices{Store: b.Store, Tree: b.Tree, Now: b.Now, Log: b.Log}
		s, err := scheduler.New(scheduler.Options{Store: b.Store, Tree: b.Tree, Schedules: b.Config.Schedules,
			Deadlines: b.Config.Deadlines, Now: b.Now, Log: b.Log})
		if err != nil {
			return bottest.Bot{}, err
		}
		if err := s.Sync(context.Background()); err != nil {
			return bottest.Bot{}, err
		}
		l := &ledgerchat.Ledger{Store: b.Store, Tree: b.Tree, Rules: ledger.RulesFrom(b.Config.Ledger), Now: b.Now, Log: b.Log, PublicURL: e.Srv.URL}
		h.Points = l.Points
		c, err := console.New(console.Options{Store: b.Store, Tree: b.Tree, BaseURL: e.Srv.URL,
			Now: b.Now, Log: b.Log, Actions: h, Notices: n, Providers: providers, BotName: b.Config.BotName,
			Registrations: h, Scheduler: s, Ledger: l})
		if err != nil {
			return bottest.Bot{}, err
		}
		e.C, e.Notices = c, n
		m := bot.NewMux(b.Config.BotName)
		m.Pending, m.Refs = b.Store, b.Store
		if err := errors.Join(h.Register(m), n.Register(m), c.Register(m), s.Register(m), l.Register(m)); err != nil {
			return bottest.Bot{}, err
		}
		return bottest.Bot{Handler: m.ServeBot, Refresh: n.RefreshCard(h.RefreshCard(b.Now))}, nil
	})
	e.C.Routes(mux)
	return e
}

// browser is one browser: its own cookies, redirects followed.
type browser struct {
	t   *testing.T
	e   *env
	hc  *http.Client
	csr string // the CSRF token of the last page seen
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, hc: &http.Client{Jar: jar}}
}

// linkRE finds a sign-in link: absolute, under the test server's address (the BaseURL).
var linkRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+(/console/login\?t=[A-Za-z0-9_%-]+)`)

// askLink sends 控制台 privately as user and returns the link's path.
func (e *env) askLink(t *testing.T, user string) string {
	t.Helper()
	for _, s := range e.Private(user, "控制台") {
		if m := linkRE.FindStringSubmatch(s.Text); m != nil {
			if s.UserID != user {
				t.Fatalf("link sent to %s, not privately to %s", s.UserID, user)
			}
			return m[1]
		}
	}
	t.Fatalf("%s got no link", user)
	return ""
}

type page struct {
	Status int
	Body   string
	Header http.Header
	URL    *url.URL
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{Status: resp.StatusCode, Body: string(body), Header: resp.Header, URL: resp.Request.URL}
	if m := csrfRE.FindStringSubmatch(p.Body); m != nil {
		b.csr = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.Srv.URL+path, nil)
	return b.do(req)
}

// post posts a form with the last page's CSRF token (unless the form sets its own).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csr)
	}
	req, _ := http.NewRequest("POST", b.e.Srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// open opens a sign-in link and presses 进入指挥中心.
func (b *browser) open(link string) page {
	b.t.Helper()
	p := b.get(link)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "进入指挥中心") {
		return p
	}
	u, _ := url.Parse(link)
	return b.post("/console/login", url.Values{"t": {u.Query().Get("t")}})
}

// signIn signs user in through the chat link.
func (e *env) signIn(t *testing.T, user string) *browser {
	t.Helper()
	b := e.browser(t)
	p := b.open(e.askLink(t, user))
	if p.Status != http.StatusOK || p.URL.Path != "/console/" {
		t.Fatalf("sign-in of %s: %d at %s\n%s", user, p.Status, p.URL, p.Body)
	}
	return b
}

// flush delivers what the console enqueued and returns what was sent.
func (e *env) flush(t *testing.T, before int) []bottest.Sent {
	t.Helper()
	if err := e.Dispatcher.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.Platform.Since(before)
}

// hx posts a form as htmx does: the CSRF token in the X-CSRF-Token header.
func (b *browser) hx(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.Srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", b.csr)
	return b.do(req)
}

// hxGet asks as htmx does.
func (b *browser) hxGet(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.Srv.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	return b.do(req)
}
