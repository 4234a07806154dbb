// Package console is the 指挥中心: a web console for secretaries and the street office, served
// by the bot's own HTTP server under /console/. People sign in from the chat (控制台 answers
// privately with a one-time link) or through a platform's web login (Provider); sessions live
// in the store, so every replica knows them. Pages are server-rendered Go templates with htmx
// for partial updates; every asset is embedded. Every page and action asks the same authority
// rule as the chat (community.Authority), and items' actions go through the chat's own
// transitions (Actions), so the group's card updates and the group is told.
package console

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	ledgerchat "github.com/neighborbot/neighborbot/ledger/chat"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
)

//go:embed templates static
var assets embed.FS

// Store is what the console needs of a backend.
type Store interface {
	store.Items
	store.Directory
	store.Docs
	store.Outbox
}

// Provider signs people in through a platform's web login (OAuth).
type Provider interface {
	Name() string  // "feishu" or "wecom": the path segment /console/login/{name}
	Label() string // the button text, e.g. "飞书登录", "企业微信登录"
	AuthURL(state, redirectURI string) string
	// Exchange turns the callback's code into the person's id as the chat adapter knows it
	// (the same store person ID the platform's inbound events resolve to).
	Exchange(ctx context.Context, code string) (personID string, err error)
}

// Actions performs an item's transitions exactly as the chat does (handlers.Handlers.Act):
// it checks the authority rule, applies the change atomically, and returns the messages the
// chat would send (the group's card updated in place, the group told, people told privately)
// with the answer meant for the actor (replies), which the console shows on the page instead
// of sending.
type Actions interface {
	Act(ctx context.Context, actor community.Person, no int64, c community.Change, now time.Time) (replies []string, outs []bot.Outbound, err error)
}

// Options configure a Console.
type Options struct {
	Store Store
	Tree  *community.Tree
	// BaseURL is where people reach this server ("https://bot.example.org"): the sign-in
	// links in the chat are absolute.
	BaseURL string
	Now     func() time.Time
	Log     *slog.Logger
	// Actions performs item transitions (派单, 改期, 督办, 取消, 办结, 重办) through the chat's path.
	Actions Actions
	// Notices, if set, lets the 通知 page compose and send through the notices package.
	Notices *notices.Notices
	// Wake, if set, is signalled after messages are enqueued (the dispatcher sends at once).
	Wake func()
	// Providers are the platforms' web logins; the sign-in page shows a button per provider.
	Providers []Provider
	// BotName is the bot's name as people see it in the chat (邻里帮).
	BotName string
	// Registrations, if set, lets 人员 decide 报到 requests through the chat's 同意 / 拒绝.
	Registrations Registrations
	// Scheduler, if set, gives 活动 its schedules, occurrences and the chat's 活动 / 修改活动.
	Scheduler *scheduler.Scheduler
	// Ledger, if set, gives 人员 its points and 报表 the monthly report, ranking, chart and workbook.
	Ledger *ledgerchat.Ledger
}

// Console serves the 指挥中心.
type Console struct {
	o     Options
	loc   *time.Location
	auth  community.Authority
	pages []page
	tmpl  map[string]*template.Template
	log   *slog.Logger
	trend trends // 总览's trend per jurisdiction, reused for trendTTL
	base  atomic.Pointer[string]
}

// page is one entry of the navigation: its own file registers its routes and its own
// template file renders it.
type page struct {
	Key    string // template file (templates/<Key>.html) and nav key
	Title  string // 总览, 台账 ...
	Path   string // the nav link
	Routes func(c *Console, mux *http.ServeMux)
}

// pages lists the console's pages in the order of the navigation. A page lives in its own
// file (overview.go, ledger.go, ...) with its own template; adding one is a line here.
func pages() []page {
	return []page{
		{Key: "overview", Title: "总览", Path: "/console/", Routes: (*Console).overviewRoutes},
		{Key: "ledger", Title: "台账", Path: "/console/items", Routes: (*Console).ledgerRoutes},
		{Key: "people", Title: "人员", Path: "/console/people", Routes: (*Console).peopleRoutes},
		{Key: "notify", Title: "通知", Path: "/console/notices", Routes: (*Console).notifyRoutes},
		{Key: "activities", Title: "活动", Path: "/console/activities", Routes: (*Console).activitiesRoutes},
		{Key: "reports", Title: "报表", Path: "/console/reports", Routes: (*Console).reportsRoutes},
	}
}

// New builds a Console; it fails when a template does not parse.
func New(o Options) (*Console, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("console: a store is needed")
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, fmt.Errorf("console: time zone: %w", err)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().In(loc) }
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.BotName == "" {
		o.BotName = "邻里帮"
	}
	c := &Console{o: o, loc: loc, auth: community.NewAuthority(o.Tree), pages: pages(), log: o.Log}
	c.SetBaseURL(o.BaseURL)
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	return c, nil
}

// Routes serves the console on mux, under /console/.
func (c *Console) Routes(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /console/static/", c.secure(http.StripPrefix("/console/static/", cacheAssets(files))))
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	c.authRoutes(mux)
	for _, p := range c.pages {
		p.Routes(c, mux)
	}
	// Anything else under /console/ is a page that does not exist (signed in or not).
	mux.Handle("/console/", c.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console/" {
			return // served by the overview's exact route
		}
		c.errorPage(w, r, nil, http.StatusNotFound, "页面不存在", "您要找的页面不存在，或不在您的辖区内。")
	})))
}

// cacheAssets lets browsers keep the embedded assets for a day (they change only with a
// new build, whose pages name them the same: a day bounds the staleness).
func cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// SetBaseURL changes the public address links are built on: the app sets it once it knows
// the port it listens on, when none is configured.
func (c *Console) SetBaseURL(u string) {
	u = strings.TrimRight(u, "/")
	c.base.Store(&u)
}

// BaseURL is the public address links are built on.
func (c *Console) BaseURL() string { return *c.base.Load() }

// now is the console's clock in Asia/Shanghai.
func (c *Console) now() time.Time { return c.o.Now().In(c.loc) }
