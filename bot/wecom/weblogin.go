package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Web login: the console sends the browser to WeCom, WeCom sends it back with a one-time code,
// and Exchange turns the code into the member's id through auth/getuserinfo, with the app's
// access token. Two ways in, one exchange:
//   - 网页授权 (WebLogin): a page opened inside WeCom (phone or desktop client) is signed in
//     silently, through open.weixin.qq.com.
//   - 扫码登录 (QRLogin): a page in any browser shows a QR code the member scans with WeCom,
//     through login.work.weixin.qq.com.
const (
	WebLoginName  = "wecom"
	WebLoginLabel = "企业微信登录"
	QRLoginName   = "wecom-qr"
	QRLoginLabel  = "企业微信扫码登录"

	// DefaultOAuthURL serves 网页授权's authorize page.
	DefaultOAuthURL = "https://open.weixin.qq.com"
	// DefaultSSOURL serves 扫码登录's login page.
	DefaultSSOURL = "https://login.work.weixin.qq.com"

	pathOAuthAuthorize = "/connect/oauth2/authorize"
	pathSSOLogin       = "/wwlogin/sso/login"
	pathGetUserInfo    = "/cgi-bin/auth/getuserinfo"

	codeInvalidCode  = 40029 // code unknown, used, expired, or of another app
	codeBadSecret    = 40001 // gettoken: secret wrong
	codeBadCorpID    = 40013 // gettoken: corp id wrong
	codeBadAgent     = 301002
	codeNoPermission = 60020 // the server's IP is not in the app's 企业可信IP
)

// Errors of Exchange, for errors.Is; the error also carries WeCom's errcode and errmsg.
var (
	// ErrLoginCode: the code is unknown, used, expired or from another app; sign in again.
	ErrLoginCode = errors.New("wecom login code invalid, used or expired")
	// ErrNotMember: the person signed in is not a member of the corp (WeCom gave an openid,
	// not a userid): only members have an id here.
	ErrNotMember = errors.New("wecom: not a member of the organisation")
	// ErrLoginApp: WeCom refused the app (corp id or secret wrong, server IP not trusted):
	// the operator must fix the configuration.
	ErrLoginApp = errors.New("wecom refused the app's credentials")
)

// WebLogin signs members in with WeCom. It satisfies the console's provider interface (Name,
// Label, AuthURL, Exchange).
type WebLogin struct {
	p  *Platform
	qr bool
}

// WebLogin is 网页授权, for pages opened inside WeCom: "wecom", 企业微信登录.
func (p *Platform) WebLogin() *WebLogin { return &WebLogin{p: p} }

// QRLogin is 扫码登录 (企业微信授权登录), for pages in any browser: "wecom-qr", 企业微信扫码登录.
func (p *Platform) QRLogin() *WebLogin { return &WebLogin{p: p, qr: true} }

// Name is the provider's name in the console's URLs.
func (w *WebLogin) Name() string {
	if w.qr {
		return QRLoginName
	}
	return WebLoginName
}

// Label is the sign-in button's text.
func (w *WebLogin) Label() string {
	if w.qr {
		return QRLoginLabel
	}
	return WebLoginLabel
}

// AuthURL is WeCom's page that sends the browser back to redirectURI with code and state,
// its parameters in the order WeCom documents them.
func (w *WebLogin) AuthURL(state, redirectURI string) string {
	o := w.p.o
	if w.qr {
		return o.SSOURL + pathSSOLogin + "?login_type=CorpApp&appid=" + url.QueryEscape(o.CorpID) +
			"&agentid=" + strconv.FormatInt(w.p.agentID, 10) + "&redirect_uri=" + url.QueryEscape(redirectURI) +
			"&state=" + url.QueryEscape(state)
	}
	return o.OAuthURL + pathOAuthAuthorize + "?appid=" + url.QueryEscape(o.CorpID) +
		"&redirect_uri=" + url.QueryEscape(redirectURI) + "&response_type=code&scope=snsapi_base" +
		"&state=" + url.QueryEscape(state) + "&agentid=" + strconv.FormatInt(w.p.agentID, 10) + "#wechat_redirect"
}

// loginUser is auth/getuserinfo's answer: userid for a member, openid for anyone else.
type loginUser struct {
	util.CommonError
	UserID         string `json:"userid"`
	UserTicket     string `json:"user_ticket"`
	OpenID         string `json:"openid"`
	ExternalUserID string `json:"external_userid"`
}

func (a *loginUser) common() util.CommonError { return a.CommonError }

// Exchange turns the callback's code into the member's id as the adapter's callbacks name
// them: "wecom:" + userid. Someone who is not a member is refused with ErrNotMember.
func (w *WebLogin) Exchange(ctx context.Context, code string) (string, error) {
	if code == "" {
		return "", fmt.Errorf("wecom web login: %w: no code in the callback", ErrLoginCode)
	}
	var out loginUser
	err := w.p.api.withToken(ctx, pathGetUserInfo, "&code="+url.QueryEscape(code), func(u string) error {
		return w.p.api.do(ctx, http.MethodGet, u, nil, &out)
	}, &out)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			switch ae.Code {
			case codeInvalidCode:
				return "", fmt.Errorf("wecom web login: %w (%w)", ErrLoginCode, ae)
			case codeBadSecret, codeBadCorpID, codeBadAgent, codeNoPermission:
				return "", fmt.Errorf("wecom web login: %w (%w)", ErrLoginApp, ae)
			}
		}
		return "", fmt.Errorf("wecom web login: %w", err)
	}
	if out.UserID == "" {
		if out.OpenID != "" || out.ExternalUserID != "" {
			return "", fmt.Errorf("wecom web login: %w (WeCom gave an openid, no userid)", ErrNotMember)
		}
		return "", errors.New("wecom web login: no userid in WeCom's answer")
	}
	return UserID(out.UserID), nil
}

// InClient reports whether a request's User-Agent is WeCom's own browser (phone or desktop
// client, "wxwork/…"): there 网页授权 signs in without a click; elsewhere it cannot, and
// 扫码登录 is the way.
func InClient(userAgent string) bool {
	return strings.Contains(strings.ToLower(userAgent), "wxwork/")
}
