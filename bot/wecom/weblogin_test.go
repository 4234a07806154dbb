package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot/wecom"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
)

// The console's provider interface, as the console declares it: both logins must fit it.
type provider interface {
	Name() string
	Label() string
	AuthURL(state, redirectURI string) string
	Exchange(ctx context.Context, code string) (string, error)
}

var _ provider = (*wecom.WebLogin)(nil)

func TestWebLoginAuthURL(t *testing.T) {
	e := newEnv(t)
	redirect := "https://bot.example.cn/console/oauth/wecom/callback?from=群&x=a b"
	state := "s+t/a=te&1"

	web := e.p.WebLogin()
	if web.Name() != "wecom" || web.Label() != "企业微信登录" {
		t.Errorf("web login: name %q label %q", web.Name(), web.Label())
	}
	raw := web.AuthURL(state, redirect)
	wantPrefix := "https://open.weixin.qq.com/connect/oauth2/authorize?appid=" + corpID + "&redirect_uri="
	if !strings.HasPrefix(raw, wantPrefix) || !strings.HasSuffix(raw, "#wechat_redirect") {
		t.Errorf("网页授权 URL %s: want %s… ending #wechat_redirect", raw, wantPrefix)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("redirect_uri") != redirect || q.Get("state") != state || q.Get("response_type") != "code" ||
		q.Get("scope") != "snsapi_base" || q.Get("agentid") != "1000002" || u.Fragment != "wechat_redirect" {
		t.Errorf("网页授权 query %v fragment %q", q, u.Fragment)
	}
	// WeCom wants the parameters in its documented order.
	if keys := queryKeys(u.RawQuery); keys != "appid,redirect_uri,response_type,scope,state,agentid" {
		t.Errorf("网页授权 parameters in order %s", keys)
	}

	qr := e.p.QRLogin()
	if qr.Name() != "wecom-qr" || qr.Label() != "企业微信扫码登录" {
		t.Errorf("QR login: name %q label %q", qr.Name(), qr.Label())
	}
	u, err = url.Parse(qr.AuthURL(state, redirect))
	if err != nil {
		t.Fatal(err)
	}
	q = u.Query()
	if u.Host != "login.work.weixin.qq.com" || u.Path != "/wwlogin/sso/login" || q.Get("login_type") != "CorpApp" ||
		q.Get("appid") != corpID || q.Get("agentid") != "1000002" || q.Get("redirect_uri") != redirect || q.Get("state") != state {
		t.Errorf("扫码登录 URL %s", u)
	}
	if keys := queryKeys(u.RawQuery); keys != "login_type,appid,agentid,redirect_uri,state" {
		t.Errorf("扫码登录 parameters in order %s", keys)
	}

	// The hosts can be moved (tests, a proxy).
	e2 := newEnv(t, func(o *wecom.Options) { o.OAuthURL, o.SSOURL = "http://oauth.test/", "http://sso.test" })
	if got := e2.p.WebLogin().AuthURL("s", redirect); !strings.HasPrefix(got, "http://oauth.test/connect/oauth2/authorize?") {
		t.Errorf("moved 网页授权: %s", got)
	}
	if got := e2.p.QRLogin().AuthURL("s", redirect); !strings.HasPrefix(got, "http://sso.test/wwlogin/sso/login?") {
		t.Errorf("moved 扫码登录: %s", got)
	}
}

func queryKeys(raw string) string {
	var keys []string
	for kv := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return strings.Join(keys, ",")
}

func TestWebLoginExchange(t *testing.T) {
	e := newEnv(t)
	e.fake.Now = e.clock.Now
	ctx := context.Background()
	for _, login := range []*wecom.WebLogin{e.p.WebLogin(), e.p.QRLogin()} {
		id, err := login.Exchange(ctx, e.fake.IssueLoginCode("wang"))
		if err != nil {
			t.Fatalf("%s: %v", login.Name(), err)
		}
		if id != "wecom:wang" {
			t.Errorf("%s: person %q, want wecom:wang", login.Name(), id)
		}
	}
	reqs := e.fake.Requests(wecomtest.PathGetUserInfo)
	if len(reqs) != 2 || reqs[0].Query.Get("access_token") == "" || reqs[0].Method != http.MethodGet {
		t.Errorf("getuserinfo requests %+v: want two GETs with the app's access token", reqs)
	}
	if n := len(e.fake.Requests(wecomtest.PathGetToken)); n != 1 {
		t.Errorf("%d gettoken calls: the app's cached token should serve every exchange", n)
	}

	check := func(name string, err, want error, code int) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
		if err != nil && code != 0 && !strings.Contains(err.Error(), fmt.Sprint(code)) {
			t.Errorf("%s: error %q does not name WeCom's errcode %d", name, err, code)
		}
	}
	login := e.p.WebLogin()
	used := e.fake.IssueLoginCode("li")
	if _, err := login.Exchange(ctx, used); err != nil {
		t.Fatal(err)
	}
	_, err := login.Exchange(ctx, used)
	check("used code", err, wecom.ErrLoginCode, wecomtest.CodeInvalidCode)

	old := e.fake.IssueLoginCode("li")
	e.clock.Add(wecomtest.LoginCodeLifetime)
	_, err = login.Exchange(ctx, old)
	check("expired code", err, wecom.ErrLoginCode, wecomtest.CodeInvalidCode)

	_, err = login.Exchange(ctx, e.fake.IssueGuestLoginCode("oGuest"))
	check("not a member", err, wecom.ErrNotMember, 0)

	e.fake.Fail(wecomtest.PathGetUserInfo, wecomtest.Fault{ErrCode: 60020, ErrMsg: "not allow to access from your ip"})
	_, err = login.Exchange(ctx, e.fake.IssueLoginCode("li"))
	check("untrusted server IP", err, wecom.ErrLoginApp, 60020)

	e.fake.Fail(wecomtest.PathGetUserInfo, wecomtest.Fault{ErrCode: 45009, ErrMsg: "api freq out of limit"})
	_, err = login.Exchange(ctx, e.fake.IssueLoginCode("li"))
	check("rate limit", err, err, 45009)
	if err == nil || errors.Is(err, wecom.ErrLoginCode) || errors.Is(err, wecom.ErrLoginApp) {
		t.Errorf("rate limit reported as %v", err)
	}

	// A token WeCom expired meanwhile is replaced once, and the code still works.
	e.fake.ExpireTokens()
	if id, err := login.Exchange(ctx, e.fake.IssueLoginCode("li")); err != nil || id != "wecom:li" {
		t.Errorf("after the token expired: %q, %v", id, err)
	}

	calls := len(e.fake.Requests(wecomtest.PathGetUserInfo))
	_, err = login.Exchange(ctx, "")
	check("no code", err, wecom.ErrLoginCode, 0)
	if len(e.fake.Requests(wecomtest.PathGetUserInfo)) != calls {
		t.Error("an empty code was sent to WeCom")
	}
}

func TestWebLoginWrongSecret(t *testing.T) {
	e := newEnv(t, func(o *wecom.Options) { o.Secret = "wrong" })
	_, err := e.p.WebLogin().Exchange(context.Background(), e.fake.IssueLoginCode("wang"))
	if !errors.Is(err, wecom.ErrLoginApp) || !strings.Contains(err.Error(), fmt.Sprint(wecomtest.CodeBadSecret)) {
		t.Errorf("wrong secret: %v, want ErrLoginApp naming %d", err, wecomtest.CodeBadSecret)
	}
	if n := len(e.fake.Requests(wecomtest.PathGetUserInfo)); n != 0 {
		t.Errorf("%d getuserinfo calls without a token", n)
	}
}

// A browser follows WeCom's login pages back to the console's callback, which exchanges the
// code: the member signed in is the one the adapter's callbacks name.
func TestWebLoginBrowserFlow(t *testing.T) {
	var logins map[string]*wecom.WebLogin
	const state = "st-7"
	cb := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/console/oauth/"), "/callback")
		login := logins[name]
		if login == nil || r.URL.Query().Get("state") != state {
			http.Error(rw, "unknown provider or state", http.StatusForbidden)
			return
		}
		id, err := login.Exchange(r.Context(), r.URL.Query().Get("code"))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(rw, id)
	}))
	t.Cleanup(cb.Close)
	// One fake stands in for qyapi, open.weixin.qq.com and login.work.weixin.qq.com.
	fake := wecomtest.New(t, corpID, secret)
	e := newEnv(t, func(o *wecom.Options) { o.BaseURL, o.OAuthURL, o.SSOURL = fake.URL, fake.URL, fake.URL })
	fake.AgentID = "1000002"
	cbURL, _ := url.Parse(cb.URL)
	fake.TrustedDomains = []string{cbURL.Hostname()}
	logins = map[string]*wecom.WebLogin{"wecom": e.p.WebLogin(), "wecom-qr": e.p.QRLogin()}

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
	fake.LogIn("chen")
	for name, login := range logins {
		status, body := get(login.AuthURL(state, cb.URL+"/console/oauth/"+name+"/callback"))
		if status != http.StatusOK || body != "wecom:chen" {
			t.Errorf("%s: callback answered %d %q, want 200 wecom:chen", name, status, body)
		}
	}

	// The same member writing to the app is the same person.
	in := e.app.App(e.srv.URL+"/wecom/callback", wecomtest.Text(corpID, "chen", "帮助", "9001", e.clock.Now()))
	if status, body := e.do(in); status != http.StatusOK {
		t.Fatalf("callback answered %d %s", status, body)
	}
	if msgs := e.in.got(); len(msgs) != 1 || msgs[0].UserID != "wecom:chen" {
		t.Fatalf("callback's sender %+v, want wecom:chen", msgs)
	}

	// Someone outside the corp is refused at the callback.
	fake.LogInGuest("oGuest")
	if status, body := get(logins["wecom"].AuthURL(state, cb.URL+"/console/oauth/wecom/callback")); status != http.StatusUnauthorized ||
		!strings.Contains(body, "not a member") {
		t.Errorf("guest: %d %q, want 401 not a member", status, body)
	}
	// A redirect_uri outside the trusted domain never reaches the callback.
	fake.LogIn("chen")
	if status, body := get(logins["wecom-qr"].AuthURL(state, "http://evil.test/cb")); status != http.StatusBadRequest ||
		!strings.Contains(body, fmt.Sprint(wecomtest.CodeUntrustedDomain)) {
		t.Errorf("untrusted redirect: %d %q", status, body)
	}
	// Nobody signed in: the page asks to scan.
	fake.LogIn("")
	if status, body := get(logins["wecom-qr"].AuthURL(state, cb.URL+"/console/oauth/wecom-qr/callback")); status != http.StatusOK ||
		!strings.Contains(body, "扫码") {
		t.Errorf("signed out: %d %q", status, body)
	}
}

func TestInClient(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh": true,
		"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) wxwork/4.1.20 (MicroMessenger/6.2) WindowsWechat":                                 true,
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47":                               false, // personal WeChat
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36":                                                            false,
		"": false,
	} {
		if got := wecom.InClient(ua); got != want {
			t.Errorf("InClient(%q) = %v, want %v", ua, got, want)
		}
	}
}
