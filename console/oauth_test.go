package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fakeLogin is a platform's web login (OAuth) as a small server: /authorize sends the browser
// back with a code for the person it was told to sign in as; /token turns the code into the
// person's id.
type fakeLogin struct {
	srv   *httptest.Server
	as    string            // who signs in at /authorize
	codes map[string]string // code → person
}

func newFakeLogin(t *testing.T) *fakeLogin {
	f := &fakeLogin{codes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		code := fmt.Sprintf("code-%d", len(f.codes)+1)
		f.codes[code] = f.as
		u, _ := url.Parse(r.URL.Query().Get("redirect_uri"))
		q := u.Query()
		q.Set("code", code)
		q.Set("state", r.URL.Query().Get("state"))
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		who, ok := f.codes[r.FormValue("code")]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"code": 20003, "msg": "invalid code"})
			return
		}
		delete(f.codes, r.FormValue("code"))
		json.NewEncoder(w).Encode(map[string]any{"code": 0, "user_id": who})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// provider speaks to fakeLogin over HTTP, as the Feishu and WeCom adapters speak to theirs.
type provider struct{ f *fakeLogin }

func (p provider) Name() string  { return "feishu" }
func (p provider) Label() string { return "飞书登录" }
func (p provider) AuthURL(state, redirectURI string) string {
	return p.f.srv.URL + "/authorize?" + url.Values{"state": {state}, "redirect_uri": {redirectURI}}.Encode()
}
func (p provider) Exchange(ctx context.Context, code string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", p.f.srv.URL+"/token", strings.NewReader(url.Values{"code": {code}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Code   int    `json:"code"`
		Msg    string `json:"msg"`
		UserID string `json:"user_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if out.Code != 0 {
		return "", fmt.Errorf("login: %d %s", out.Code, out.Msg)
	}
	return out.UserID, nil
}

func TestWebLoginThroughAProvider(t *testing.T) {
	f := newFakeLogin(t)
	e := newEnv(t, provider{f})
	b := e.browser(t)
	p := b.get("/console/login")
	if !strings.Contains(p.Body, `href="/console/login/feishu"`) || !strings.Contains(p.Body, "飞书登录") {
		t.Fatalf("sign-in page lacks the provider's button:\n%s", p.Body)
	}
	f.as = "local:wang"
	p = b.get("/console/login/feishu")
	if p.Status != http.StatusOK || p.URL.Path != "/console/" || !strings.Contains(p.Body, "王书记") {
		t.Fatalf("web login: %d %s\n%s", p.Status, p.URL, p.Body)
	}

	// A member is refused as in the chat.
	f.as = "local:li"
	m := e.browser(t)
	p = m.get("/console/login/feishu")
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "仅供社区书记和街道") {
		t.Fatalf("member's web login: %d\n%s", p.Status, p.Body)
	}
	if p := m.get("/console/"); p.URL.Path != "/console/login" {
		t.Fatal("a member got a session")
	}
}

func TestWebLoginCallbackWithoutItsStateIsRefused(t *testing.T) {
	f := newFakeLogin(t)
	e := newEnv(t, provider{f})
	f.as = "local:wang"
	f.codes["stolen"] = "local:wang"
	b := e.browser(t)
	// A callback this browser did not start (login CSRF): no state cookie.
	p := b.get("/console/oauth/feishu/callback?code=stolen&state=whatever")
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "登录已失效") {
		t.Fatalf("callback without state: %d\n%s", p.Status, p.Body)
	}
	if p := b.get("/console/"); p.URL.Path != "/console/login" {
		t.Fatal("a forged callback gave a session")
	}
	// A code the platform does not know.
	b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p = b.get("/console/login/feishu")
	u, _ := url.Parse(p.Header.Get("Location"))
	b.hc.CheckRedirect = nil
	p = b.get("/console/oauth/feishu/callback?code=bogus&state=" + url.QueryEscape(u.Query().Get("state")))
	if p.Status != http.StatusBadGateway || !strings.Contains(p.Body, "登录失败") {
		t.Fatalf("unknown code: %d\n%s", p.Status, p.Body)
	}
	if p := b.get("/console/login/nosuch"); p.Status != http.StatusNotFound {
		t.Fatalf("unknown provider: %d", p.Status)
	}
}
