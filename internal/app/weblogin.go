package app

import (
	"context"

	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/bot/wecom"
)

// WebLogin signs people in to the console through a platform's web login (OAuth), without
// the chat step. The console declares the same interface; bot/feishu and bot/wecom fit it.
type WebLogin interface {
	Name() string  // "feishu", "wecom", "wecom-qr": the provider's part of the console's URLs
	Label() string // the button: 飞书登录, 企业微信登录, 企业微信扫码登录
	// AuthURL is the platform's page that sends the browser back to redirectURI with a code
	// and state.
	AuthURL(state, redirectURI string) string
	// Exchange turns the callback's code into the person's id as the chat adapter names them
	// (the store's person id: "feishu:ou_…", "wecom:userid").
	Exchange(ctx context.Context, code string) (personID string, err error)
}

var (
	_ WebLogin = (*feishu.WebLogin)(nil)
	_ WebLogin = (*wecom.WebLogin)(nil)
)

// WebLoginCallbackPath is where a provider's platform sends the browser back:
// /console/oauth/{name}/callback, under the public URL (NEIGHBORBOT_PUBLIC_URL).
func WebLoginCallbackPath(name string) string { return "/console/oauth/" + name + "/callback" }

// WebLogins are the web logins of the configured platforms: Feishu's (网页应用) when Feishu is
// configured, WeCom's 网页授权 and 扫码登录 when WeCom is; none in the playground.
//
// Feishu's code exchange must repeat the redirect URI the code was issued for, so the Feishu
// login is built with {public URL}/console/oauth/feishu/callback: the console must pass
// exactly that to AuthURL, and the app's 重定向 URL list must hold it (docs/FEISHU.md).
func (a *App) WebLogins() []WebLogin {
	var out []WebLogin
	if p, ok := a.Platforms[feishu.Name].(*feishu.Platform); ok {
		out = append(out, p.WebLogin(a.WebLoginRedirect(feishu.WebLoginName)))
	}
	if p, ok := a.Platforms[wecom.Name].(*wecom.Platform); ok {
		out = append(out, p.WebLogin(), p.QRLogin())
	}
	return out
}

// WebLoginRedirect is the redirect URI of the provider name: the public URL
// (console.base_url or NEIGHBORBOT_PUBLIC_URL, else the listen address) and WebLoginCallbackPath.
func (a *App) WebLoginRedirect(name string) string {
	return a.PublicURL() + WebLoginCallbackPath(name)
}
