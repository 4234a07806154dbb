package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Web login (网页应用登录): the console sends the browser to Feishu's authorize page, Feishu
// sends it back with a one-time code, and Exchange turns the code into the person's id.
const (
	WebLoginName  = "feishu"
	WebLoginLabel = "飞书登录"

	pathAuthorize = "/open-apis/authen/v1/authorize"
	pathUserToken = "/open-apis/authen/v2/oauth/token"
	pathUserInfo  = "/open-apis/authen/v1/user_info"
)

// Errors of Exchange, for errors.Is; the error also carries Feishu's code and description.
var (
	// ErrLoginCode: the code is unknown, already used, expired, or was issued to another app
	// or for another redirect URI. The person should simply sign in again.
	ErrLoginCode = errors.New("feishu login code invalid, used or expired")
	// ErrLoginApp: Feishu refused the app itself (app secret wrong, app missing, disabled or
	// not installed): the operator must fix the configuration.
	ErrLoginApp = errors.New("feishu refused the app's credentials")
	// ErrLoginUser: the person may not use the app (not in its availability range, or
	// deactivated).
	ErrLoginUser = errors.New("feishu user may not use this app")
)

// Codes of /authen/v2/oauth/token (open.feishu.cn/document/.../get-user-access-token).
var (
	loginCodeErrors = map[int]bool{20003: true, 20004: true, 20024: true, 20065: true, 20071: true}
	loginAppErrors  = map[int]bool{20002: true, 20009: true, 20048: true, 20069: true}
	loginUserErrors = map[int]bool{20008: true, 20010: true, 20066: true}
)

// WebLoginOptions configure a WebLogin.
type WebLoginOptions struct {
	AppID     string
	AppSecret string
	// BaseURL is the Open API (default https://open.feishu.cn).
	BaseURL string
	// AccountsURL serves the authorize page: by default BaseURL with its host's "open."
	// replaced by "accounts." (https://accounts.feishu.cn, https://accounts.larksuite.com),
	// or BaseURL itself when its host does not start with "open." (a test fake).
	AccountsURL string
	// RedirectURI is what Exchange repeats to Feishu: a web app's code exchange must name the
	// redirect_uri the code was issued for (else code 20071). It must be the one the console
	// passes to AuthURL, and be in the app's 重定向 URL list.
	RedirectURI string
	// HTTPClient calls Feishu; default one with a 10 s timeout.
	HTTPClient *http.Client
}

// WebLogin signs people in with their Feishu account. It satisfies the console's provider
// interface (Name, Label, AuthURL, Exchange).
type WebLogin struct {
	o WebLoginOptions
}

// NewWebLogin builds a Feishu web login for the app.
func NewWebLogin(o WebLoginOptions) (*WebLogin, error) {
	if o.AppID == "" || o.AppSecret == "" {
		return nil, errors.New("feishu web login: app id and app secret are required")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.AccountsURL == "" {
		o.AccountsURL = accountsURL(o.BaseURL)
	}
	o.AccountsURL = strings.TrimRight(o.AccountsURL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &WebLogin{o: o}, nil
}

// WebLogin is the adapter's web login: the same app, Open API and HTTP client. redirectURI
// is the console's callback for it (see WebLoginOptions.RedirectURI).
func (p *Platform) WebLogin(redirectURI string) *WebLogin {
	w, _ := NewWebLogin(WebLoginOptions{ // New checked the app id and secret
		AppID: p.opt.AppID, AppSecret: p.opt.AppSecret, BaseURL: p.opt.BaseURL,
		RedirectURI: redirectURI, HTTPClient: p.opt.HTTPClient,
	})
	return w
}

// accountsURL is the authorize page's host for an Open API base URL.
func accountsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(u.Host, "open.") {
		return base
	}
	u.Host = "accounts." + strings.TrimPrefix(u.Host, "open.")
	return u.String()
}

// Name is the provider's name in the console's URLs.
func (w *WebLogin) Name() string { return WebLoginName }

// Label is the sign-in button's text.
func (w *WebLogin) Label() string { return WebLoginLabel }

// AuthURL is Feishu's authorize page, which sends the browser back to redirectURI with code
// and state. No scope is asked for: the person's open_id needs none.
func (w *WebLogin) AuthURL(state, redirectURI string) string {
	q := url.Values{
		"client_id":     {w.o.AppID},
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
		"state":         {state},
	}
	return w.o.AccountsURL + pathAuthorize + "?" + q.Encode()
}

// UserInfo is what Feishu tells about the person signed in.
type UserInfo struct {
	OpenID  string `json:"open_id"`
	UnionID string `json:"union_id"`
	UserID  string `json:"user_id"`
	Name    string `json:"name"`
}

// Exchange turns the callback's code into the person's id as the adapter's events name them:
// "feishu:" + open_id.
func (w *WebLogin) Exchange(ctx context.Context, code string) (string, error) {
	u, err := w.User(ctx, code)
	if err != nil {
		return "", err
	}
	return Name + ":" + u.OpenID, nil
}

// User turns the code into a user access token and asks Feishu who it belongs to.
func (w *WebLogin) User(ctx context.Context, code string) (UserInfo, error) {
	if code == "" {
		return UserInfo{}, fmt.Errorf("feishu web login: %w: no code in the callback", ErrLoginCode)
	}
	token, err := w.userToken(ctx, code)
	if err != nil {
		return UserInfo{}, fmt.Errorf("feishu web login: %w", err)
	}
	u, err := w.userInfo(ctx, token)
	if err != nil {
		return UserInfo{}, fmt.Errorf("feishu web login: %w", err)
	}
	return u, nil
}

// userToken exchanges the code (POST /open-apis/authen/v2/oauth/token, OAuth 2.0 style:
// code 0 and access_token, or code, error and error_description with HTTP 400).
func (w *WebLogin) userToken(ctx context.Context, code string) (string, error) {
	req := map[string]string{
		"grant_type":    "authorization_code",
		"client_id":     w.o.AppID,
		"client_secret": w.o.AppSecret,
		"code":          code,
	}
	if w.o.RedirectURI != "" {
		req["redirect_uri"] = w.o.RedirectURI
	}
	body, _ := json.Marshal(req)
	var out struct {
		Code        int    `json:"code"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Msg         string `json:"msg"` // gateway refusals (rate limits) use the Open API's form
	}
	if err := w.do(ctx, http.MethodPost, pathUserToken, "", body, &out); err != nil {
		return "", err
	}
	if out.Code != 0 || out.AccessToken == "" {
		var parts []string
		for _, p := range []string{out.Error, out.Description, out.Msg} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		ce := &codeError{code: out.Code, msg: strings.Join(parts, ": ")}
		switch {
		case loginCodeErrors[out.Code]:
			return "", fmt.Errorf("user access token: %w (%w)", ErrLoginCode, ce)
		case loginAppErrors[out.Code]:
			return "", fmt.Errorf("user access token: %w (%w)", ErrLoginApp, ce)
		case loginUserErrors[out.Code]:
			return "", fmt.Errorf("user access token: %w (%w)", ErrLoginUser, ce)
		}
		return "", fmt.Errorf("user access token: %w", ce)
	}
	return out.AccessToken, nil
}

// userInfo asks who the token belongs to (GET /open-apis/authen/v1/user_info).
func (w *WebLogin) userInfo(ctx context.Context, token string) (UserInfo, error) {
	var out struct {
		Code int      `json:"code"`
		Msg  string   `json:"msg"`
		Data UserInfo `json:"data"`
	}
	if err := w.do(ctx, http.MethodGet, pathUserInfo, token, nil, &out); err != nil {
		return UserInfo{}, err
	}
	if out.Code != 0 {
		return UserInfo{}, fmt.Errorf("user info: %w", &codeError{code: out.Code, msg: out.Msg})
	}
	if out.Data.OpenID == "" {
		return UserInfo{}, errors.New("user info: no open_id in Feishu's answer")
	}
	return out.Data, nil
}

// do sends one request and decodes the JSON answer, whatever its status: Feishu answers
// refusals with 4xx and a JSON body carrying the code. A body that is not JSON (a 5xx from a
// proxy) is an error naming the status.
func (w *WebLogin) do(ctx context.Context, method, path, bearer string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.o.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := w.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, not JSON: %.200s", method, path, resp.StatusCode, data)
	}
	return nil
}
