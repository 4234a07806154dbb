// Package app assembles neighborbot from its parts: config, store, handlers, the inbound
// pipeline, the outbox dispatcher, the platform adapters and the HTTP server; and stops them
// in order. cmd/neighborbot and the end-to-end tests use it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on machines without zoneinfo

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/local"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/console"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/internal/backup"
	"github.com/neighborbot/neighborbot/internal/metrics"
	"github.com/neighborbot/neighborbot/internal/numbering"
	"github.com/neighborbot/neighborbot/internal/setup"
	ledgerchat "github.com/neighborbot/neighborbot/ledger/chat"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/cache"
	redisstore "github.com/neighborbot/neighborbot/store/redis"
)

// Zone is the one time zone neighborbot lives in.
const Zone = "Asia/Shanghai"

// DirectoryTTL bounds how long a change another replica makes to a person, a group or a cached
// document takes to be seen here (a role change takes effect within it); this replica's own
// changes are seen at once.
const DirectoryTTL = 5 * time.Second

// CachedColls are the document collections the inbound path reads on every reply to a message:
// the card it replies to (written once, when the card is sent), and what a bare 收到 or poll
// answer may mean (the notices' recent list and their frozen target groups).
var CachedColls = append([]string{bot.CollMsgRef}, notices.HotColls...)

// Options configure an App.
type Options struct {
	Config *config.Config
	Log    *slog.Logger
	// Now is the clock; default time.Now in Asia/Shanghai. Tests inject a fake.
	Now func() time.Time
	// Owner names this replica in leases; default hostname-pid.
	Owner string
	// Store, if set, is used instead of opening one from the config (tests).
	Store store.Store
	// HTTP are the server's timeouts and its cap on concurrent callbacks; zero fields take
	// the defaults (server.go).
	HTTP ServerLimits
	// Features register more chat verbs and card actions on the command mux, after the
	// built-in ones (items, scheduler, notices). A word or action already taken fails New.
	Features []Feature
	// ConsoleProviders are the platforms' web logins offered on the console's sign-in page
	// (Feishu 网页应用, WeCom 网页授权 / 扫码登录).
	ConsoleProviders []console.Provider
}

// Feature is a part of the bot with chat commands: it registers them on the mux at start.
type Feature interface {
	Register(m *bot.Mux) error
}

// App is a running neighborbot.
type App struct {
	Cfg        *config.Config
	Log        *slog.Logger
	Now        func() time.Time
	Loc        *time.Location
	Store      store.Store
	Tree       *community.Tree
	Handlers   *handlers.Handlers
	Commands   *bot.Mux // the chat verbs and card actions of every feature
	Engine     *bot.Engine
	Pipeline   *bot.Pipeline
	Dispatcher *bot.Dispatcher
	Platforms  map[string]bot.Platform
	Local      *local.Platform // the playground, when no platform is configured
	Backups    *backup.Backups // the daily backup, when backup.dir is set
	Notices    *notices.Notices
	Scheduler  *scheduler.Scheduler
	Ledger     *ledgerchat.Ledger
	Console    *console.Console // the 指挥中心 under /console/
	Mux        *http.ServeMux
	// Metrics are the Prometheus families, served on the admin listener (ListenAdmin); nil
	// when config admin_addr is off.
	Metrics *metrics.Metrics

	// runners are started by Run next to the pipeline and the dispatcher (platform receivers,
	// the scheduler) and stopped before them.
	runners []func(ctx context.Context) error
	closers []func() error
	limits  ServerLimits
	admin   net.Listener // ListenAdmin's, served by Run
	// renumber are the features' parts of the move to one number space (numbering.Migrate).
	renumber []numbering.Part
}

// New assembles an App. It opens the store (unless given one) and seeds it from the config.
func New(ctx context.Context, o Options) (*App, error) {
	cfg := o.Config
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return nil, fmt.Errorf("load time zone %s: %w", Zone, err)
	}
	a := &App{Cfg: cfg, Log: o.Log, Loc: loc, Now: o.Now, Platforms: map[string]bot.Platform{}, Mux: http.NewServeMux(),
		limits: o.HTTP.withDefaults()}
	if a.Log == nil {
		a.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.Level()}))
	}
	if a.Now == nil {
		a.Now = func() time.Time { return time.Now().In(loc) }
	}
	if cfg.AdminEnabled() {
		a.Metrics = metrics.New(metrics.Options{})
	}
	owner := o.Owner
	if owner == "" {
		host, _ := os.Hostname()
		owner = host + "-" + strconv.Itoa(os.Getpid())
	}

	a.Store = o.Store
	if a.Store == nil {
		if a.Store, err = OpenStore(ctx, cfg, a.Now, a.Log); err != nil {
			return nil, err
		}
		a.closers = append(a.closers, a.Store.Close)
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if a.Tree, err = setup.Tree(cfg); err != nil { // Validate built it once already
		return nil, fmt.Errorf("org tree: %w", err)
	}
	if err := setup.Seed(ctx, a.Store, cfg); err != nil {
		return nil, err
	}
	// Every part reads and writes through the cache, so this replica reads its own writes;
	// another replica's are seen within the cache's TTL (store/cache). The pipeline reads
	// nothing it caches, and uses the backend's own powers (batched acks).
	raw, backend := a.Store, a.Store
	if a.Metrics != nil {
		backend = a.Metrics.WrapStore(backend)
		a.Metrics.Watch(backend, a.Now, a.Log.With("part", "metrics"))
	}
	a.Store = cache.New(backend, cache.Options{TTL: DirectoryTTL, Colls: CachedColls})

	a.Handlers = &handlers.Handlers{Store: a.Store, Tree: a.Tree, BotName: cfg.BotName, Log: a.Log}
	// One command mux: every feature registers its verbs and card actions on it below; a word
	// or an action registered twice fails start-up naming both owners.
	a.Commands = bot.NewMux(cfg.BotName)
	a.Commands.Pending, a.Commands.Refs = a.Store, a.Store
	if err := a.Handlers.Register(a.Commands); err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	a.Dispatcher = &bot.Dispatcher{
		Outbox: a.Store, Refs: a.Store, Platforms: a.Platforms, Limiter: Limiter(a.Store, a.Now()),
		Owner: owner, Now: a.Now, Log: a.Log.With("part", "outbox"),
		Refresh: a.Handlers.RefreshCard(a.Now), MaxAttempts: cfg.Limits.OutboxMaxAttempts,
	}
	a.Engine = &bot.Engine{
		Handler: bot.Chain(a.Commands.ServeBot,
			bot.Recover(a.Log), bot.Logging(a.Log.With("part", "handler")), bot.Identify(a.Store)),
		Outbox: a.Store, Now: a.Now, Log: a.Log, Wake: a.Dispatcher.Wake,
	}
	a.Pipeline = &bot.Pipeline{Inbox: backend, Engine: a.Engine, Owner: owner, Now: a.Now, Log: a.Log.With("part", "inbox"),
		Direct: a.Dispatcher}
	if ci, ok := raw.(bot.ConcurrentInbox); ok {
		a.Pipeline.Writers = ci.InboundWriters()
	}
	if a.Metrics != nil { // not a nil *metrics.Metrics in the interface
		a.Pipeline.Metrics, a.Dispatcher.Metrics = a.Metrics, a.Metrics
	}

	if cfg.FeishuEnabled() {
		if err := a.addFeishu(ctx, owner); err != nil {
			return nil, fmt.Errorf("feishu: %w", err)
		}
	}
	if cfg.WeComEnabled() {
		if err := a.addWeCom(ctx, owner); err != nil {
			return nil, fmt.Errorf("wecom: %w", err)
		}
	}
	if cfg.WeChatOAEnabled() {
		if err := a.addWeChatOA(); err != nil {
			return nil, fmt.Errorf("wechat service account: %w", err)
		}
	}
	if err := a.addScheduler(ctx, owner); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if err := a.addNotices(ctx); err != nil {
		return nil, fmt.Errorf("notices: %w", err)
	}
	// A store written before numbers were shared is renumbered once, before anything runs.
	if _, err := numbering.Migrate(ctx, a.Store, a.Now(), a.Log, a.renumber...); err != nil {
		return nil, err
	}
	if cfg.Backup.Dir != "" {
		if a.Backups, err = backup.New(backup.Options{
			Store: backend, Dir: cfg.Backup.Dir, Keep: cfg.Backup.Keep, Now: a.Now, Loc: a.Loc,
			Owner: owner, Log: a.Log.With("part", "backup"),
		}); err != nil {
			return nil, err
		}
		a.AddRunner(a.Backups.Run)
	}
	if err := a.addLedger(owner); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	if err := a.addConsole(o.ConsoleProviders); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	for _, f := range o.Features {
		if err := f.Register(a.Commands); err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
	}
	if cfg.LocalEnabled() {
		a.Local = local.New(local.Options{
			BotName: cfg.BotName, Groups: localGroups(cfg), Personas: localPersonas(cfg),
			Docs: a.Store, Now: a.Now, Log: a.Log.With("part", "playground"),
		})
		a.Engine.Replied = a.Local.ReplyHook()
		a.AddPlatform(a.Local)
	}

	a.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	a.Mux.HandleFunc("GET /readyz", Readyz(a.Store))
	ok = true
	return a, nil
}

// Readyz answers /readyz: 200 "ready" while the store answers and its writes work, else 503
// with the reason, e.g. store/bolt's "disk full, writes failing since ..." while its disk is
// full (the store's Ping reports failing writes; it recovers by itself).
func Readyz(st store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "not ready: store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}
}

// AddPlatform registers an adapter: it sends through the dispatcher, receives through the
// pipeline, and serves its routes if it has any.
func (a *App) AddPlatform(p bot.Platform) {
	a.Platforms[p.Name()] = p
	if r, ok := p.(bot.Router); ok {
		r.Routes(a.Mux, a.Pipeline)
	}
	a.runners = append(a.runners, func(ctx context.Context) error { return p.Run(ctx, a.Pipeline) })
}

// AddRunner adds a background part (the scheduler) started and stopped with the app.
func (a *App) AddRunner(run func(ctx context.Context) error) { a.runners = append(a.runners, run) }

// OpenStore opens the configured backend: Redis when RedisURL is set (replicas share it),
// else the embedded bbolt file under DataDir.
func OpenStore(ctx context.Context, cfg *config.Config, now func() time.Time, log *slog.Logger) (store.Store, error) {
	if cfg.RedisURL != "" {
		st, err := redisstore.Open(ctx, cfg.RedisURL, redisstore.Options{Now: now})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		log.Info("store opened", "backend", "redis", "server", st.String())
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.DataDir, err)
	}
	path := BoltPath(cfg)
	st, err := bolt.Open(path, bolt.Options{Now: now, Log: log.With("part", "store"), SyncEvents: cfg.InboxSync == config.InboxSyncEvent})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	log.Info("store opened", "backend", "bbolt", "path", path, "inbox_sync", cfg.InboxSync)
	return st, nil
}

// BoltPath is the embedded store's file under DataDir.
func BoltPath(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "neighborbot.db") }

// Limiter is the dispatcher's rate limiter: the store's own when replicas share the store
// (Redis), so the platforms' limits hold for the whole fleet; else one for this process,
// started at since: it assumes the platforms still count a second of sending before it (a
// process killed just before this one started may have been sending at the limits' rate).
func Limiter(st store.Store, since time.Time) bot.RateLimiter {
	if s, ok := store.Find[interface{ Limiter() bot.RateLimiter }](st); ok { // through the cache, the metrics' timer
		return s.Limiter()
	}
	return &bot.LocalLimiter{Since: since}
}

// Run serves HTTP on ln and runs every part until ctx ends, then stops them in order: stop
// accepting requests, let receivers stop, finish the events in hand, finish the sends in
// flight, close the store.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	if a.Console != nil && a.Cfg.Console.BaseURL == "" {
		// No public address configured: links point at the port actually listened on.
		a.Console.SetBaseURL(publicURL(ln.Addr().String(), os.Getenv))
	}
	srv := a.newServer()
	errc := make(chan error, 2)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	var admin *http.Server
	if a.admin != nil {
		admin = a.newAdminServer()
		go func() {
			if err := admin.Serve(a.admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("admin listener: %w", err)
			}
		}()
		a.Log.Info("admin listener", "addr", a.admin.Addr().String(), "metrics", "/metrics", "pprof", a.Cfg.Pprof)
	}

	// Three stages, each with its own context, so shutdown can go in order.
	recvCtx, stopRecv := context.WithCancel(context.WithoutCancel(ctx))
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	sendCtx, stopSend := context.WithCancel(context.WithoutCancel(ctx))
	var recvWG, pipeWG, sendWG sync.WaitGroup
	start := func(wg *sync.WaitGroup, ctx context.Context, name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("part stopped", "part", name, "err", err)
			}
		}()
	}
	start(&sendWG, sendCtx, "dispatcher", a.Dispatcher.Run)
	start(&pipeWG, pipeCtx, "pipeline", a.Pipeline.Run)
	for i, r := range a.runners {
		start(&recvWG, recvCtx, "runner-"+strconv.Itoa(i), r)
	}
	a.Log.Info("neighborbot running", "addr", ln.Addr().String(), "playground", a.Local != nil, "platforms", len(a.Platforms))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.Log.Info("shutting down")
	shCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if e := srv.Shutdown(shCtx); e != nil {
		a.Log.Warn("http shutdown", "err", e)
	}
	if admin != nil {
		if e := admin.Shutdown(shCtx); e != nil {
			a.Log.Warn("admin listener shutdown", "err", e)
		}
	}
	stopRecv()
	recvWG.Wait()
	stopPipe()
	pipeWG.Wait()
	stopSend()
	sendWG.Wait()
	a.Log.Info("stopped cleanly")
	return err
}

// Close releases what New opened. It is safe to call more than once.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

func localGroups(cfg *config.Config) []community.Group {
	var out []community.Group
	for _, g := range cfg.Groups {
		plat, chat := community.SplitID(g.ID)
		if plat == "local" {
			out = append(out, community.Group{ID: g.ID, Platform: plat, Chat: chat, Name: g.Name, Node: g.Node})
		}
	}
	return out
}

func localPersonas(cfg *config.Config) []community.Person {
	var out []community.Person
	for _, m := range cfg.Personas() {
		if plat, _ := community.SplitID(m.ID); plat != "local" {
			continue
		}
		role, _ := community.ParseRole(m.Role)
		out = append(out, community.Person{ID: m.ID, Name: m.Name, Role: role, Node: m.Node})
	}
	return out
}
