package feishu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

// The console's provider interface, as the console declares it: the web login must fit it.
type provider interface {
	Name() string
	Label() string
	AuthURL(state, redirectURI string) string
	Exchange(ctx context.Context, code string) (string, error)
}

var _ provider = (*feishu.WebLogin)(nil)

func newWebLogin(t *testing.T, fake *feishutest.Server, change ...func(*feishu.WebLoginOptions)) *feishu.WebLogin {
	t.Helper()
	o := feishu.WebLoginOptions{AppID: fake.AppID, AppSecret: fake.AppSecret, BaseURL: fake.URL}
	for _, c := range change {
		c(&o)
	}
	w, err := feishu.NewWebLogin(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebLoginAuthURL(t *testing.T) {
	redirect := "https://bot.example.cn/console/oauth/feishu/callback?from=群&x=a b"
	state := "s+t/a=te&1"
	for _, tc := range []struct{ base, wantHost string }{
		{"", "accounts.feishu.cn"},
		{"https://open.feishu.cn/", "accounts.feishu.cn"},
		{"https://open.larksuite.com", "accounts.larksuite.com"},
		{"http://127.0.0.1:9999", "127.0.0.1:9999"},
	} {
		w, err := feishu.NewWebLogin(feishu.WebLoginOptions{AppID: "cli_a", AppSecret: "s", BaseURL: tc.base})
		if err != nil {
			t.Fatal(err)
		}
		raw := w.AuthURL(state, redirect)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if u.Host != tc.wantHost || u.Path != "/open-apis/authen/v1/authorize" {
			t.Errorf("base %q: authorize page %s%s, want %s/open-apis/authen/v1/authorize", tc.base, u.Host, u.Path, tc.wantHost)
		}
		q := u.Query()
		if q.Get("client_id") != "cli_a" || q.Get("redirect_uri") != redirect || q.Get("state") != state || q.Get("response_type") != "code" {
			t.Errorf("authorize query %v: want client_id cli_a, the redirect and state unchanged, response_type code", q)
		}
		if strings.Contains(u.RawQuery, " ") || strings.Contains(u.RawQuery, "群") || strings.Contains(u.RawQuery, "from=") {
			t.Errorf("query %q is not encoded: the redirect's own query would leak into the page's", u.RawQuery)
		}
	}
	w, _ := feishu.NewWebLogin(feishu.WebLoginOptions{AppID: "a", AppSecret: "b"})
	if w.Name() != "feishu" || w.Label() != "飞书登录" {
		t.Errorf("name %q label %q", w.Name(), w.Label())
	}
	if _, err := feishu.NewWebLogin(feishu.WebLoginOptions{AppID: "a"}); err == nil {
		t.Error("a web login without app secret was built")
	}
}

func TestWebLoginExchange(t *testing.T) {
	fake := feishutest.New(t)
	w := newWebLogin(t, fake)
	code := fake.IssueLoginCode("ou_zhang")
	id, err := w.Exchange(ctxTimeout(t), code)
	if err != nil {
		t.Fatal(err)
	}
	if id != "feishu:ou_zhang" {
		t.Errorf("person %q, want feishu:ou_zhang", id)
	}
	tok := fake.Calls()
	var sawToken, sawInfo bool
	for _, c := range tok {
		switch c.Route {
		case feishutest.RouteUserToken:
			var body map[string]string
			json.Unmarshal(c.Body, &body)
			sawToken = body["grant_type"] == "authorization_code" && body["client_id"] == fake.AppID &&
				body["client_secret"] == fake.AppSecret && body["code"] == code
		case feishutest.RouteUserInfo:
			sawInfo = c.Status == http.StatusOK && strings.HasPrefix(c.Token, "u-fake-")
		}
	}
	if !sawToken || !sawInfo {
		t.Errorf("calls %+v: want the code exchanged with the app's credentials, then user_info with the user token", tok)
	}

	u, err := w.User(ctxTimeout(t), fake.IssueLoginCode("ou_li"))
	if err != nil {
		t.Fatal(err)
	}
	if u != (feishu.UserInfo{OpenID: "ou_li", UnionID: "on_li", UserID: "u_li", Name: "用户li"}) {
		t.Errorf("user %+v", u)
	}
}

func TestWebLoginRefusals(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	fake := feishutest.New(t)
	fake.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWebLogin(t, fake)
	ctx := ctxTimeout(t)

	check := func(name string, err error, want error, code int) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
		if err != nil && code != 0 && !strings.Contains(err.Error(), fmt.Sprint(code)) {
			t.Errorf("%s: error %q does not name Feishu's code %d", name, err, code)
		}
	}

	used := fake.IssueLoginCode("ou_zhang")
	if _, err := w.Exchange(ctx, used); err != nil {
		t.Fatal(err)
	}
	_, err := w.Exchange(ctx, used)
	check("used code", err, feishu.ErrLoginCode, feishutest.CodeLoginCodeUsed)

	_, err = w.Exchange(ctx, "never-issued")
	check("unknown code", err, feishu.ErrLoginCode, feishutest.CodeLoginCodeNotFound)

	old := fake.IssueLoginCode("ou_zhang")
	mu.Lock()
	now = now.Add(feishutest.LoginCodeLifetime)
	mu.Unlock()
	_, err = w.Exchange(ctx, old)
	check("expired code", err, feishu.ErrLoginCode, feishutest.CodeLoginCodeExpired)

	bad := newWebLogin(t, fake, func(o *feishu.WebLoginOptions) { o.AppSecret = "wrong" })
	_, err = bad.Exchange(ctx, fake.IssueLoginCode("ou_zhang"))
	check("wrong secret", err, feishu.ErrLoginApp, feishutest.CodeLoginBadSecret)

	fake.Fail(feishutest.RouteUserToken, feishutest.Fault{Code: 20010})
	_, err = w.Exchange(ctx, fake.IssueLoginCode("ou_outsider"))
	check("user outside the app's range", err, feishu.ErrLoginUser, 20010)

	fake.Fail(feishutest.RouteUserInfo, feishutest.Fault{Code: feishutest.CodeAppRateLimit, Status: http.StatusTooManyRequests})
	_, err = w.Exchange(ctx, fake.IssueLoginCode("ou_zhang"))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(feishutest.CodeAppRateLimit)) {
		t.Errorf("user_info refused: error %v, want Feishu's code %d", err, feishutest.CodeAppRateLimit)
	}

	fake.Fail(feishutest.RouteUserToken, feishutest.Fault{Status: http.StatusBadGateway})
	_, err = w.Exchange(ctx, fake.IssueLoginCode("ou_zhang"))
	if err == nil || !strings.Contains(err.Error(), "HTTP 502") {
		t.Errorf("a proxy's 502: error %v, want it named", err)
	}

	calls := len(fake.Calls())
	_, err = w.Exchange(ctx, "")
	check("no code", err, feishu.ErrLoginCode, 0)
	if len(fake.Calls()) != calls {
		t.Error("an empty code was sent to Feishu")
	}
}

// A browser follows Feishu's authorize page back to the console's callback, which exchanges
// the code: the person signed in is the one the adapter's events name.
func TestWebLoginBrowserFlow(t *testing.T) {
	f := newFixture(t)
	var (
		mu     sync.Mutex
		gotIDs []string
		login  *feishu.WebLogin
	)
	const state = "st-42"
	cb := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("state") != state {
			http.Error(rw, "state mismatch", http.StatusForbidden)
			return
		}
		id, err := login.Exchange(r.Context(), r.URL.Query().Get("code"))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		gotIDs = append(gotIDs, id)
		mu.Unlock()
		io.WriteString(rw, id)
	}))
	t.Cleanup(cb.Close)
	redirect := cb.URL + "/console/oauth/feishu/callback"
	f.fake.RedirectURIs = []string{redirect}
	login = f.p.WebLogin(redirect)
	f.fake.LogIn(feishutest.UserOf("ou_res"))

	get := func(raw string) (int, string) {
		t.Helper()
		resp, err := http.Get(raw)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	status, body := get(login.AuthURL(state, redirect))
	if status != http.StatusOK || body != "feishu:ou_res" {
		t.Fatalf("callback answered %d %q, want 200 feishu:ou_res", status, body)
	}

	// The same person writing in a chat is the same person.
	plain, _ := f.ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 hi", Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
	if rec := f.deliver(plain); rec.Code != http.StatusOK {
		t.Fatalf("event answered %d", rec.Code)
	}
	if msgs := f.in.got(); len(msgs) != 1 || msgs[0].UserID != body {
		t.Fatalf("event's sender %+v, want %s", msgs, body)
	}

	// A redirect_uri not in the app's list never reaches the callback.
	if status, _ := get(login.AuthURL(state, cb.URL+"/elsewhere")); status != http.StatusBadRequest {
		t.Errorf("authorize with an unlisted redirect_uri: %d, want 400", status)
	}
	// A code issued for one redirect_uri cannot be exchanged naming another.
	f.fake.RedirectURIs = nil
	login = f.p.WebLogin(cb.URL + "/other")
	status, body = get(login.AuthURL(state, redirect))
	if status != http.StatusUnauthorized || !strings.Contains(body, fmt.Sprint(feishutest.CodeLoginBadRedirect)) {
		t.Errorf("exchange naming another redirect_uri: %d %q, want 401 with code %d", status, body, feishutest.CodeLoginBadRedirect)
	}
	// Nobody signed in to Feishu: the page asks them to, and the callback is not called.
	f.fake.LogIn(feishutest.User{})
	if status, body := get(login.AuthURL(state, redirect)); status != http.StatusOK || !strings.Contains(body, "请扫码登录") {
		t.Errorf("authorize while signed out: %d %q", status, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gotIDs) != 1 {
		t.Errorf("callback signed in %v, want exactly one person", gotIDs)
	}
}
