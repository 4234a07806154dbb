package feishutest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Routes of web login (网页应用登录).
const (
	RouteAuthorize = "authorize"  // GET  /open-apis/authen/v1/authorize (the browser's page)
	RouteUserToken = "user_token" // POST /open-apis/authen/v2/oauth/token
	RouteUserInfo  = "user_info"  // GET  /open-apis/authen/v1/user_info
)

// Codes of web login, as Feishu's /authen/v2/oauth/token documents them.
const (
	CodeLoginMissing      = 20001 // a required parameter missing
	CodeLoginBadSecret    = 20002 // client_id and client_secret do not match
	CodeLoginCodeNotFound = 20003 // unknown code
	CodeLoginCodeExpired  = 20004 // code older than 5 minutes
	CodeLoginWrongApp     = 20024 // code issued to another app
	CodeLoginBadGrant     = 20036 // grant_type not authorization_code
	CodeLoginCodeUsed     = 20065 // code already exchanged
	CodeLoginBadRedirect  = 20071 // redirect_uri differs from the authorize request's
	CodeUserTokenInvalid  = 99991668
	// LoginCodeLifetime is how long a code can be exchanged.
	LoginCodeLifetime = 5 * time.Minute
)

// User is a Feishu user of the fake, as user_info tells about them.
type User struct {
	OpenID, UnionID, UserID, Name string
}

// loginCode is an issued authorization code.
type loginCode struct {
	user     User
	appID    string
	redirect string // the authorize request's redirect_uri; "" for codes from IssueLoginCode
	issued   time.Time
	used     bool
}

// UserOf returns a user for open_id, with union_id, user_id and name made up from it.
func UserOf(openID string) User {
	id := strings.TrimPrefix(openID, "ou_")
	return User{OpenID: openID, UnionID: "on_" + id, UserID: "u_" + id, Name: "用户" + id}
}

// LogIn makes u the person signed in to Feishu in the test's "browser": the authorize page
// sends them straight back with a code (as Feishu does for someone already signed in who
// granted the app before). The zero User signs out: the page then shows a login form.
func (s *Server) LogIn(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loggedIn = u
}

// IssueLoginCode issues an authorization code for open_id, as the authorize page would; the
// exchange need not repeat a redirect_uri for it.
func (s *Server) IssueLoginCode(openID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(UserOf(openID), s.AppID, "")
}

func (s *Server) issueLocked(u User, appID, redirect string) string {
	s.codeSeq++
	code := "fake-code-" + strconv.Itoa(s.codeSeq)
	if s.loginCodes == nil {
		s.loginCodes = map[string]*loginCode{}
	}
	s.loginCodes[code] = &loginCode{user: u, appID: appID, redirect: redirect, issued: s.now()}
	return code
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// authorize is the browser's authorize page: for a signed-in user it redirects to
// redirect_uri with code and state; an unknown app or a redirect_uri outside RedirectURIs
// gets an error page, as on Feishu.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteAuthorize, r)
	q := r.URL.Query()
	appID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if appID == "" {
		appID = q.Get("app_id") // the older form of the page
	}
	s.mu.Lock()
	allowed := len(s.RedirectURIs) == 0 || slices.Contains(s.RedirectURIs, redirect)
	u := s.loggedIn
	s.mu.Unlock()
	target, err := url.Parse(redirect)
	switch {
	case appID != s.AppID:
		c.Status = http.StatusBadRequest
		s.record(c)
		http.Error(w, "应用不存在 (app not found)", c.Status)
		return
	case redirect == "" || err != nil || !target.IsAbs() || !allowed:
		c.Status, c.Code = http.StatusBadRequest, 20029
		s.record(c)
		http.Error(w, "错误码 20029: 重定向 URL 有误 (redirect_uri not in the app's list)", c.Status)
		return
	case u.OpenID == "":
		c.Status = http.StatusOK
		s.record(c)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>飞书登录</title><p>请扫码登录</p>"))
		return
	}
	s.mu.Lock()
	code := s.issueLocked(u, appID, redirect)
	s.mu.Unlock()
	back := target.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	target.RawQuery = back.Encode()
	c.Status = http.StatusFound
	s.record(c)
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func writeOAuthError(w http.ResponseWriter, status, code int, kind, desc string) {
	writeJSON(w, status, map[string]any{"code": code, "error": kind, "error_description": desc})
}

// userToken is POST /open-apis/authen/v2/oauth/token.
func (s *Server) userToken(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteUserToken, r)
	if s.fault(w, r, &c) {
		return
	}
	fail := func(status, code int, kind, desc string) {
		c.Status, c.Code = status, code
		s.record(c)
		writeOAuthError(w, status, code, kind, desc)
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Code         string `json:"code"`
		RedirectURI  string `json:"redirect_uri"`
	}
	if err := json.Unmarshal(c.Body, &req); err != nil {
		fail(http.StatusBadRequest, 20063, "invalid_request", "The request is malformed.")
		return
	}
	switch {
	case req.GrantType == "" || req.ClientID == "" || req.ClientSecret == "" || req.Code == "":
		fail(http.StatusBadRequest, CodeLoginMissing, "invalid_request", "The request is missing a required parameter.")
		return
	case req.GrantType != "authorization_code":
		fail(http.StatusBadRequest, CodeLoginBadGrant, "unsupported_grant_type", "The specified grant_type is not supported.")
		return
	case req.ClientID != s.AppID || req.ClientSecret != s.AppSecret:
		fail(http.StatusBadRequest, CodeLoginBadSecret, "invalid_client", "The client secret is invalid.")
		return
	}
	s.mu.Lock()
	lc, ok := s.loginCodes[req.Code]
	now := s.now()
	var code int
	var kind, desc string
	switch {
	case !ok:
		code, kind, desc = CodeLoginCodeNotFound, "invalid_grant", "The authorization code is not found. Please note that an authorization code can only be used once."
	case lc.appID != req.ClientID:
		code, kind, desc = CodeLoginWrongApp, "invalid_grant", "The provided authorization code or refresh token does not match the provided client ID."
	case lc.used:
		code, kind, desc = CodeLoginCodeUsed, "invalid_grant", "The authorization code has been used. Please note that an authorization code can only be used once."
	case now.Sub(lc.issued) >= LoginCodeLifetime:
		code, kind, desc = CodeLoginCodeExpired, "invalid_grant", "The authorization code has expired."
	case lc.redirect != "" && lc.redirect != req.RedirectURI:
		code, kind, desc = CodeLoginBadRedirect, "invalid_grant", "The provided redirect URI does not match the one used during authorization."
	}
	if code != 0 {
		s.mu.Unlock()
		fail(http.StatusBadRequest, code, kind, desc)
		return
	}
	lc.used = true
	s.tokenSeq++
	tok := "u-fake-" + strconv.Itoa(s.tokenSeq)
	if s.userTokens == nil {
		s.userTokens = map[string]User{}
	}
	s.userTokens[tok] = lc.user
	s.mu.Unlock()
	c.Status = http.StatusOK
	s.record(c)
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "access_token": tok, "expires_in": tokenLifetimeSecs,
		"token_type": "Bearer", "scope": "auth:user.id:read"})
}

// userInfo is GET /open-apis/authen/v1/user_info with a user access token.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteUserInfo, r)
	if s.fault(w, r, &c) {
		return
	}
	s.mu.Lock()
	u, ok := s.userTokens[c.Token]
	s.mu.Unlock()
	if !ok {
		s.refuse(w, &c, CodeUserTokenInvalid, "Invalid access token for authorization. Please make a request with token attached.")
		return
	}
	s.ok(w, &c, map[string]any{
		"name": u.Name, "en_name": "", "avatar_url": "", "open_id": u.OpenID, "union_id": u.UnionID,
		"user_id": u.UserID, "tenant_key": "fake-tenant",
	})
}
