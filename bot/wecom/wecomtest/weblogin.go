package wecomtest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Web login paths: the two pages a browser is sent to (served by the fake at its own URL,
// standing in for open.weixin.qq.com and login.work.weixin.qq.com) and the exchange.
const (
	PathOAuthAuthorize = "/connect/oauth2/authorize" // 网页授权
	PathSSOLogin       = "/wwlogin/sso/login"        // 扫码登录
	PathGetUserInfo    = "/cgi-bin/auth/getuserinfo"
)

// Web login codes.
const (
	CodeInvalidCode      = 40029 // a code unknown, used or expired
	CodeUntrustedDomain  = 50001 // redirect_uri outside the app's trusted domain
	CodeBadAgent         = 301002
	LoginCodeLifetime    = 5 * time.Minute
	codeBadLoginRequest  = 40058 // a parameter missing or malformed
	codeUnsupportedLogin = 40066 // login_type other than CorpApp
)

// visitor is who the login pages sign in: a member (userid) or not (openid).
type visitor struct {
	userID, openID string
}

type loginCode struct {
	who    visitor
	issued time.Time
	used   bool
}

// LogIn makes the member userID the person signed in to WeCom in the test's "browser": the
// login pages send them straight back with a code. "" signs out.
func (s *Server) LogIn(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.visitor = visitor{userID: userID}
}

// LogInGuest makes someone who is not a member (WeCom knows them only by openid) the person
// signed in.
func (s *Server) LogInGuest(openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.visitor = visitor{openID: openID}
}

// IssueLoginCode issues a code for the member userID, as the login pages would.
func (s *Server) IssueLoginCode(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(visitor{userID: userID})
}

// IssueGuestLoginCode issues a code for someone who is not a member.
func (s *Server) IssueGuestLoginCode(openID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(visitor{openID: openID})
}

func (s *Server) issueLocked(v visitor) string {
	s.seq++
	c := "login-" + strconv.Itoa(s.seq)
	if s.loginCodes == nil {
		s.loginCodes = map[string]*loginCode{}
	}
	s.loginCodes[c] = &loginCode{who: v, issued: s.now()}
	return c
}

// loginPage serves both login pages: for the corp's app, a trusted redirect_uri and someone
// signed in, a redirect to redirect_uri with code and state; otherwise an error page
// naming WeCom's code, or (nobody signed in) the page asking to scan or open WeCom.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	v, trusted, agent := s.visitor, s.TrustedDomains, s.AgentID
	s.mu.Unlock()
	target, err := url.Parse(q.Get("redirect_uri"))
	refuse := func(code int, msg string) {
		http.Error(w, "errcode "+strconv.Itoa(code)+": "+msg, http.StatusBadRequest)
	}
	switch {
	case q.Get("appid") != s.CorpID:
		refuse(40013, "invalid corpid")
		return
	case r.URL.Path == PathSSOLogin && q.Get("login_type") != "CorpApp":
		refuse(codeUnsupportedLogin, "login_type must be CorpApp")
		return
	case r.URL.Path == PathOAuthAuthorize && (q.Get("response_type") != "code" || q.Get("scope") == ""):
		refuse(codeBadLoginRequest, "response_type code and a scope are required")
		return
	case agent != "" && q.Get("agentid") != agent:
		refuse(CodeBadAgent, "invalid agentid")
		return
	case err != nil || !target.IsAbs():
		refuse(codeBadLoginRequest, "invalid redirect_uri")
		return
	case len(trusted) > 0 && !slices.Contains(trusted, target.Hostname()):
		refuse(CodeUntrustedDomain, "redirect_uri 需使用应用可信域名")
		return
	case v == (visitor{}):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>企业微信登录</title><p>请使用企业微信扫码登录</p>"))
		return
	}
	s.mu.Lock()
	code := s.issueLocked(v)
	s.mu.Unlock()
	back := target.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	target.RawQuery = back.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// getUserInfo answers auth/getuserinfo; s.mu is held.
func (s *Server) getUserInfoLocked(q url.Values) map[string]any {
	if err := s.tokenErr(q.Get("access_token")); err != nil {
		return err
	}
	lc, ok := s.loginCodes[q.Get("code")]
	if !ok || lc.used || s.now().Sub(lc.issued) >= LoginCodeLifetime {
		return errAnswer(CodeInvalidCode, "invalid code")
	}
	lc.used = true
	if lc.who.userID != "" {
		return map[string]any{"errcode": 0, "errmsg": "ok", "userid": lc.who.userID, "user_ticket": "ticket-" + q.Get("code")}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "openid": lc.who.openID, "external_userid": "wm" + lc.who.openID}
}
