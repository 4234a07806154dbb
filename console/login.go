package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Owner is the name the console registers its chat verbs under.
const Owner = "console"

// Register puts 控制台 and 退出控制台 on the command mux.
func (c *Console) Register(m *bot.Mux) error {
	if err := m.Handle(bot.Verb{Name: "console.open", Owner: Owner, Words: []string{"控制台", "指挥中心", "打开控制台"},
		Shape: bot.ShapeWhole, Handler: c.open,
		Help: []bot.HelpLine{{Role: community.RoleSecretary, Text: "控制台 —— 私信您指挥中心的登录链接（10分钟内有效）"}}}); err != nil {
		return err
	}
	return m.Handle(bot.Verb{Name: "console.close", Owner: Owner, Words: []string{"退出控制台", "退出指挥中心"},
		Shape: bot.ShapeWhole, Handler: c.close,
		Help: []bot.HelpLine{{Role: community.RoleSecretary, Text: "退出控制台 —— 退出所有已登录的指挥中心"}}})
}

// open answers 控制台: a one-time link, privately.
func (c *Console) open(ctx context.Context, r *bot.Request) error {
	if !Allowed(r.Sender) {
		r.Reply(RefusedText)
		return nil
	}
	link, err := c.NewLink(ctx, r.Sender.ID)
	if err != nil {
		return err
	}
	r.ReplyPrivately("🖥 指挥中心登录链接（10分钟内有效，只能使用一次，请勿转发）：\n" + link +
		"\n用完可发送“退出控制台”退出。")
	return nil
}

// close answers 退出控制台: every session of the sender ends.
func (c *Console) close(ctx context.Context, r *bot.Request) error {
	if !Allowed(r.Sender) {
		r.Reply(RefusedText)
		return nil
	}
	n, err := c.EndSessions(ctx, r.Sender.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		r.ReplyPrivately("您目前没有登录指挥中心。")
		return nil
	}
	r.ReplyPrivately("已退出指挥中心（共" + itoa(n) + "处登录）。")
	return nil
}

func (c *Console) authRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/login", c.secure(http.HandlerFunc(c.loginPage)))
	mux.Handle("POST /console/login", c.secure(http.HandlerFunc(c.loginPost)))
	mux.Handle("POST /console/logout", c.handle(c.logout))
	mux.Handle("GET /console/login/{provider}", c.secure(http.HandlerFunc(c.oauthStart)))
	mux.Handle("GET /console/oauth/{provider}/callback", c.secure(http.HandlerFunc(c.oauthCallback)))
}

// loginData is the sign-in page.
type loginData struct {
	Token     string // a link's token, when one was opened
	CSRF      string
	Providers []Provider
	Bye       bool
}

// loginPage shows, for a link, a button that uses it (link previews in the chat apps open
// URLs too: a GET must not use the link up), or says clearly why the link cannot be used;
// without a link, how to get one.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	if tok == "" {
		if s, err := c.session(r.Context(), r); err == nil && s != nil {
			http.Redirect(w, r, "/console/", http.StatusSeeOther) // signed in already
			return
		}
		c.render(w, r, nil, http.StatusOK, "login", "登录指挥中心", loginData{Providers: c.o.Providers, Bye: r.URL.Query().Has("bye")})
		return
	}
	st, err := c.peekLink(r.Context(), tok)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if st != linkOK {
		c.linkRefused(w, r, st)
		return
	}
	csrf, _, err := token()
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: csrf, Path: "/console/", HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteStrictMode, MaxAge: int(LinkTTL.Seconds())})
	c.render(w, r, nil, http.StatusOK, "login", "登录指挥中心", loginData{Token: tok, CSRF: csrf})
}

// linkRefused is the clear page for a link that cannot start a session.
func (c *Console) linkRefused(w http.ResponseWriter, r *http.Request, st linkState) {
	msg := message{Title: "登录链接无效", Text: "这个登录链接无效。请在聊天中向我发送“控制台”，获取新的登录链接。"}
	switch st {
	case linkUsed:
		msg = message{Title: "登录链接已使用", Text: "这个登录链接已经用过了，每个链接只能使用一次。请在聊天中发送“控制台”获取新的登录链接。"}
	case linkExpired:
		msg = message{Title: "登录链接已过期", Text: "这个登录链接已过期（有效期10分钟）。请在聊天中发送“控制台”获取新的登录链接。"}
	}
	c.render(w, r, nil, http.StatusGone, "message", msg.Title, msg)
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.errorPage(w, r, nil, http.StatusForbidden, "请求已失效", "页面已过期，请重新打开聊天中的登录链接。")
		return
	}
	ctx := r.Context()
	person, st, err := c.takeLink(ctx, r.PostFormValue("t"))
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if st != linkOK {
		c.linkRefused(w, r, st)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/console/", MaxAge: -1})
	c.signIn(w, r, person, "chat")
}

// signIn checks the person's role now and starts their session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, person, via string) {
	ctx := r.Context()
	p, err := c.o.Store.GetPerson(ctx, person)
	if err != nil && community.ErrorCode(err) != community.ENotFound {
		c.fail(w, r, nil, store.ErrUnavailable(err))
		return
	}
	if err != nil || !Allowed(p) {
		c.render(w, r, nil, http.StatusForbidden, "message", "无权使用", message{Title: "无权使用", Text: RefusedText})
		return
	}
	if err := c.StartSession(ctx, w, r, p.ID, via); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	if err := c.o.Store.DeleteDoc(r.Context(), CollSessions, v.Session.ID); err != nil {
		return store.ErrUnavailable(err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console/", MaxAge: -1, HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/console/login?bye=1", http.StatusSeeOther)
	return nil
}

func (c *Console) provider(name string) Provider {
	for _, p := range c.o.Providers {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// baseURL is the configured public address, or the one the request came to.
func (c *Console) baseURL(r *http.Request) string {
	if c.BaseURL() != "" {
		return c.BaseURL()
	}
	scheme := "https"
	if r.TLS == nil && !secureCookie(r) {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// oauthStart sends the browser to the platform's login with a fresh state, kept in a cookie
// until the callback.
func (c *Console) oauthStart(w http.ResponseWriter, r *http.Request) {
	p := c.provider(r.PathValue("provider"))
	if p == nil {
		c.errorPage(w, r, nil, http.StatusNotFound, "页面不存在", "没有这种登录方式。")
		return
	}
	state, _, err := token()
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: p.Name() + "." + state, Path: "/console/", HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteLaxMode, MaxAge: int(LinkTTL.Seconds())})
	http.Redirect(w, r, p.AuthURL(state, c.baseURL(r)+"/console/oauth/"+p.Name()+"/callback"), http.StatusFound)
}

// oauthCallback checks the state, asks the platform who signed in, and applies the same role
// rule as the chat link.
func (c *Console) oauthCallback(w http.ResponseWriter, r *http.Request) {
	p := c.provider(r.PathValue("provider"))
	if p == nil {
		c.errorPage(w, r, nil, http.StatusNotFound, "页面不存在", "没有这种登录方式。")
		return
	}
	ck, err := r.Cookie(stateCookie)
	want := p.Name() + "." + r.URL.Query().Get("state")
	if err != nil || r.URL.Query().Get("state") == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(want)) != 1 {
		c.render(w, r, nil, http.StatusForbidden, "message", "登录已失效",
			message{Title: "登录已失效", Text: "登录请求已过期或不是从本页面发起的，请重新登录。", Link: "/console/login", LinkText: "重新登录"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/console/", MaxAge: -1})
	code := r.URL.Query().Get("code")
	if code == "" {
		c.render(w, r, nil, http.StatusForbidden, "message", "未完成登录",
			message{Title: "未完成登录", Text: "没有完成" + p.Label() + "授权，请重新登录。", Link: "/console/login", LinkText: "重新登录"})
		return
	}
	person, err := p.Exchange(r.Context(), code)
	if err != nil || strings.TrimSpace(person) == "" {
		c.log.Warn("console web login failed", "provider", p.Name(), "err", err)
		c.render(w, r, nil, http.StatusBadGateway, "message", "登录失败",
			message{Title: "登录失败", Text: p.Label() + "暂时无法确认您的身份，请稍后重试，或在聊天中发送“控制台”获取登录链接。", Link: "/console/login", LinkText: "返回登录"})
		return
	}
	c.signIn(w, r, person, p.Name())
}
