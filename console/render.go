package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// CSP is the console's Content-Security-Policy: everything from this server, no inline
// script or style, no frames, forms post only here.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// secure sets the security headers on every console response.
func (c *Console) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		// The sign-in link carries its token in the URL: never hand it on as a Referer.
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if hd.Get("Cache-Control") == "" {
			hd.Set("Cache-Control", "no-store")
		}
		if secureCookie(r) {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// handler serves one signed-in request.
type handler func(w http.ResponseWriter, r *http.Request, v *Viewer) error

// handle wraps h: security headers, the session (GETs without one go to the sign-in page),
// the person's current role (a secretary demoted since signing in is out), CSRF on every
// POST, and errors as pages.
func (c *Console) handle(h handler) http.Handler {
	return c.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s, err := c.session(ctx, r)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if s == nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", "/console/login")
			}
			c.errorPage(w, r, nil, http.StatusUnauthorized, "请先登录", "登录已过期，请在聊天中发送“控制台”获取新的登录链接。")
			return
		}
		p, err := c.o.Store.GetPerson(ctx, s.Person)
		if err != nil && community.ErrorCode(err) != community.ENotFound {
			c.fail(w, r, nil, store.ErrUnavailable(err))
			return
		}
		if err != nil || !Allowed(p) {
			_ = c.o.Store.DeleteDoc(ctx, CollSessions, s.ID)
			c.errorPage(w, r, nil, http.StatusForbidden, "无权使用", RefusedText)
			return
		}
		v := &Viewer{Person: p, Actor: community.ActorOf(p), Session: s}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !checkCSRF(r, s.CSRF) {
				c.errorPage(w, r, v, http.StatusForbidden, "请求已失效", "页面已过期或请求来源不明，请刷新页面后再试。")
				return
			}
		}
		if err := h(w, r, v); err != nil {
			c.fail(w, r, v, err)
		}
	}))
}

// fail shows err as a page: places outside the viewer's jurisdiction are "not found", like
// pages that do not exist, so a URL says nothing about another area's items.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *Viewer, err error) {
	var ue *store.UnavailableError
	switch code := community.ErrorCode(err); {
	case errors.As(err, &ue):
		c.log.Error("console: store unavailable", "path", r.URL.Path, "err", err)
		c.errorPage(w, r, v, http.StatusServiceUnavailable, "服务暂时不可用", "服务暂时不可用，请稍后再试。")
	case code == community.ENotFound:
		c.errorPage(w, r, v, http.StatusNotFound, "页面不存在", "您要找的页面不存在，或不在您的辖区内。")
	case code == community.EForbidden:
		c.errorPage(w, r, v, http.StatusForbidden, "无权操作", community.ErrorMessage(err))
	case code == community.EInvalid || code == community.EConflict:
		c.errorPage(w, r, v, http.StatusBadRequest, "无法完成", community.ErrorMessage(err))
	default:
		c.log.Error("console: page failed", "path", r.URL.Path, "err", err)
		c.errorPage(w, r, v, http.StatusInternalServerError, "出错了", "页面出错了，请稍后再试。")
	}
}

// errorPage renders a message page (or, for htmx, a message in the page's flash area).
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, v *Viewer, status int, title, msg string) {
	if r.Header.Get("HX-Request") != "" && status != http.StatusUnauthorized {
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		c.renderPart(w, status, "layout", "flash", flash{Err: true, Text: msg})
		return
	}
	c.render(w, r, v, status, "message", title, message{Title: title, Text: msg})
}

type message struct {
	Title, Text    string
	Link, LinkText string
}

type flash struct {
	Err  bool
	Text string
}

// view is what the layout renders around a page.
type view struct {
	Title  string
	Active string
	Nav    []page
	V      *Viewer
	CSRF   string
	Data   any
	Now    time.Time
}

// parseTemplates parses the layout once per page template: each page's file defines
// "content" (and the partials htmx asks for).
func (c *Console) parseTemplates() error {
	funcs := c.funcs()
	base, err := template.New("layout").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("console: layout: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	c.tmpl = map[string]*template.Template{}
	for _, n := range names {
		key := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if key == "layout" {
			c.tmpl[key] = base
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return fmt.Errorf("console: template %s: %w", n, err)
		}
		c.tmpl[key] = t
	}
	return nil
}

// render writes a whole page: the layout with the page's content.
func (c *Console) render(w http.ResponseWriter, r *http.Request, v *Viewer, status int, key, title string, data any) {
	t, ok := c.tmpl[key]
	if !ok {
		http.Error(w, "template "+key+" missing", http.StatusInternalServerError)
		return
	}
	vw := view{Title: title, Active: strings.Split(key, "_")[0], V: v, Data: data, Now: c.now()}
	if v != nil {
		vw.Nav = c.pages
		vw.CSRF = v.Session.CSRF
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", vw); err != nil {
		c.log.Error("console: render", "page", key, "err", err)
		http.Error(w, "页面出错了", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// renderPart writes one named template of a page (an htmx partial).
func (c *Console) renderPart(w http.ResponseWriter, status int, key, name string, data any) {
	t, ok := c.tmpl[key]
	if !ok {
		http.Error(w, "template "+key+" missing", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		c.log.Error("console: render part", "page", key, "part", name, "err", err)
		http.Error(w, "页面出错了", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// isHX reports whether htmx asked (a partial update).
func isHX(r *http.Request) bool { return r.Header.Get("HX-Request") != "" }

func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(c.loc).Format("2006-01-02 15:04")
		},
		"dayTime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(c.loc).Format("01-02 15:04")
		},
		"day": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(c.loc).Format("01-02")
		},
		"stateName":  func(s community.State) string { return s.Chinese() },
		"actionName": func(a community.Action) string { return a.Chinese() },
		"roleName":   func(r community.Role) string { return r.Chinese() },
		"nodeName":   c.nodeName,
		"itoa":       func(n int64) string { return strconv.FormatInt(n, 10) },
		"add":        func(a, b int) int { return a + b },
		"pct": func(a, b int) int {
			if b <= 0 {
				return 0
			}
			return min(100, a*100/b)
		},
		"short": func(s string, n int) string {
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n]) + "…"
		},
	}
}

// nodeName is an org node's name ("—" for none, the id itself for a node the tree lacks).
func (c *Console) nodeName(id string) string {
	if id == "" {
		return "—"
	}
	if c.o.Tree != nil {
		if n, ok := c.o.Tree.Node(id); ok {
			return n.Name
		}
	}
	return id
}
