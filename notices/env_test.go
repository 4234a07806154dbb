package notices_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// clock is a fake clock: time moves only when a test says so.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakePlatform records what it is sent and fails some sends on purpose. Like Feishu, it
// treats an Outbound.ID it has seen as the same message (Feishu's uuid idempotency), so a
// retry after a timeout that did reach it is not shown twice. It checks every attempt
// against its own copy of the limits it declares, as the real platform would.
type fakePlatform struct {
	name     string
	perChat  bot.Limit // Key is filled per chat
	perApp   bot.Limit // zero: none
	update   bool      // cards update in place (bot.CardUpdater)
	failRate float64   // share of attempts answered 429 or 5xx
	timeouts float64   // share of attempts that time out
	// deliverOnTimeout: a timed-out send reached the platform first (the dangerous case).
	deliverOnTimeout bool
	now              func() time.Time

	mu         sync.Mutex
	rng        *rand.Rand
	check      bot.LocalLimiter
	permanent  map[string]bool // chats that refuse everything
	seen       map[string]string
	byChat     map[string][]bot.Outbound // distinct messages shown in each chat (and private chats as user:<id>)
	shownAt    []time.Time               // when each was shown
	updates    []bot.Outbound
	attempts   int
	failures   int
	violations int
	seq        int
}

func newFake(name string, now func() time.Time, seed uint64) *fakePlatform {
	return &fakePlatform{name: name, now: now, rng: rand.New(rand.NewPCG(seed, seed+1)),
		permanent: map[string]bool{}, seen: map[string]string{}, byChat: map[string][]bot.Outbound{}}
}

func (p *fakePlatform) Name() string { return p.name }

func (p *fakePlatform) Run(ctx context.Context, _ bot.Receiver) error {
	<-ctx.Done()
	return nil
}

func (p *fakePlatform) Limits(o bot.Outbound) []bot.Limit {
	var out []bot.Limit
	if p.perChat.Every > 0 {
		l := p.perChat
		l.Key = p.name + ":chat:" + o.Target()
		out = append(out, l)
	}
	if p.perApp.Every > 0 {
		l := p.perApp
		l.Key = p.name + ":app"
		out = append(out, l)
	}
	return out
}

func (p *fakePlatform) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if wait, _ := p.check.Take(ctx, p.Limits(o), p.now()); wait > 0 {
		p.violations++
		p.failures++
		return bot.Sent{}, bot.Temporary("429", wait, errors.New("over the rate limit"))
	}
	if p.permanent[o.ChatID] {
		p.failures++
		return bot.Sent{}, bot.Permanent("chat_gone", errors.New("bot is not in the chat"))
	}
	roll := p.rng.Float64()
	switch {
	case roll < p.failRate/2:
		p.failures++
		return bot.Sent{}, bot.Temporary("429", time.Second, errors.New("too many requests"))
	case roll < p.failRate:
		p.failures++
		return bot.Sent{}, bot.Temporary("502", 0, errors.New("bad gateway"))
	case roll < p.failRate+p.timeouts:
		p.failures++
		if p.deliverOnTimeout {
			p.deliver(o)
		}
		return bot.Sent{}, fmt.Errorf("post message: %w", context.DeadlineExceeded)
	}
	return bot.Sent{MessageID: p.deliver(o)}, nil
}

// deliver shows o once per id and returns its message id.
func (p *fakePlatform) deliver(o bot.Outbound) string {
	if id, ok := p.seen[o.ID]; ok {
		return id
	}
	p.seq++
	id := p.name + "_m" + strconv.Itoa(p.seq)
	p.seen[o.ID] = id
	p.byChat[o.Target()] = append(p.byChat[o.Target()], o)
	p.shownAt = append(p.shownAt, p.now())
	return id
}

type updatingFake struct{ *fakePlatform }

func (p updatingFake) UpdateCard(ctx context.Context, messageID string, o bot.Outbound) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updates = append(p.updates, o)
	return nil
}

func (p *fakePlatform) platform() bot.Platform {
	if p.update {
		return updatingFake{p}
	}
	return p
}

// updatesSoFar returns the card updates made so far, in order.
func (p *fakePlatform) updatesSoFar() []bot.Outbound {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Outbound(nil), p.updates...)
}

// chat returns what chat received, in order.
func (p *fakePlatform) chat(chat string) []bot.Outbound {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Outbound(nil), p.byChat[chat]...)
}

// env is a bot over the real bbolt store and the real Dispatcher, with fake platforms.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	path  string
	tree  *community.Tree
	fakes map[string]*fakePlatform

	st    *bolt.Store
	n     *notices.Notices
	h     *handlers.Handlers
	eng   *bot.Engine
	d     *bot.Dispatcher
	owner string
	evt   int
}

func newEnv(t *testing.T, tree *community.Tree, fakes ...*fakePlatform) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, shanghai)},
		path: filepath.Join(t.TempDir(), "neighborbot.db"), tree: tree, fakes: map[string]*fakePlatform{}}
	for _, f := range fakes {
		f.now = e.clock.Now
		e.fakes[f.name] = f
	}
	e.open("a")
	return e
}

// open opens the store file and builds a fresh bot over it: a new process.
func (e *env) open(owner string) {
	st, err := bolt.Open(e.path, bolt.Options{Now: e.clock.Now, NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.st, e.owner = st, owner
	e.build(st)
}

func (e *env) build(st notices.Store) {
	log := slog.New(slog.DiscardHandler)
	plats := map[string]bot.Platform{}
	for name, f := range e.fakes {
		plats[name] = f.platform()
	}
	e.h = &handlers.Handlers{Store: e.st, Tree: e.tree, BotName: "邻里帮", Log: log}
	e.d = &bot.Dispatcher{Outbox: e.st, Refs: e.st, Platforms: plats, Limiter: &bot.LocalLimiter{}, Owner: e.owner,
		Now: e.clock.Now, Log: log, Refresh: e.h.RefreshCard(e.clock.Now)}
	e.n = e.notices(st)
	e.d.Refresh = e.n.RefreshCard(e.d.Refresh)
	m := bot.NewMux("邻里帮")
	m.Pending, m.Refs = e.st, e.st
	if err := errors.Join(e.h.Register(m), e.n.Register(m)); err != nil {
		e.t.Fatal(err)
	}
	e.h.AddNumbered(e.n.Numbered, store.KindNotice, store.KindPoll)
	e.eng = &bot.Engine{Handler: bot.Chain(m.ServeBot, bot.Recover(log), bot.Identify(e.st)), Outbox: e.st, Now: e.clock.Now, Log: log}
}

// notices builds another Notices over st, as another replica would.
func (e *env) notices(st notices.Store) *notices.Notices {
	return &notices.Notices{
		Store: st, Tree: e.tree, Now: e.clock.Now, Log: slog.New(slog.DiscardHandler), Wake: e.d.Wake,
		PublicURL: "https://bot.example.org", Chunk: 100,
		Limits: func(o bot.Outbound) []bot.Limit {
			if f, ok := e.fakes[o.Platform]; ok {
				return f.Limits(o)
			}
			return nil
		},
		CanUpdate: func(p string) bool { f, ok := e.fakes[p]; return ok && f.update },
	}
}

// close closes the store: the process is gone.
func (e *env) close() {
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// msg builds a message from user in group (platform:chat), or privately when group is "".
func (e *env) msg(user, group, text string) bot.Message {
	e.evt++
	plat, _ := community.SplitID(user)
	m := bot.Message{EventID: "e" + strconv.Itoa(e.evt), Platform: plat, UserID: user, Text: text, At: e.clock.Now(),
		MessageID: "in" + strconv.Itoa(e.evt)}
	if group == "" {
		m.Private, m.ChatID = true, "p_"+user
	} else {
		m.Platform, m.ChatID = community.SplitID(group)
		m.GroupID = group
	}
	return m
}

// handle runs m through the engine and returns the replies.
func (e *env) handle(m bot.Message) []bot.Outbound {
	e.t.Helper()
	outs, err := e.eng.Handle(e.ctx, m)
	if err != nil {
		e.t.Fatalf("handle %q: %v", m.Text, err)
	}
	return outs
}

func (e *env) say(user, group, text string) []bot.Outbound {
	e.t.Helper()
	return e.handle(e.msg(user, group, text))
}

func (e *env) tap(user, group, action, ref, value string) []bot.Outbound {
	e.t.Helper()
	m := e.msg(user, group, "")
	m.Action = &bot.Action{Name: action, Ref: ref, Value: value}
	return e.handle(m)
}

// replyTo answers the card with key in group with text.
func (e *env) replyTo(user, group, key, text string) []bot.Outbound {
	e.t.Helper()
	plat, chat := community.SplitID(group)
	raw, err := e.st.GetDoc(e.ctx, bot.CollCardRef, bot.CardRefID(plat, chat, key))
	if err != nil {
		e.t.Fatalf("no card %s in %s: %v", key, group, err)
	}
	m := e.msg(user, group, text)
	m.ReplyTo = string(raw)
	return e.handle(m)
}

// drain sends everything, advancing the clock by step between rounds (5 steps after a round
// that tried nothing: waiting out backoffs and leases), until the outbox has nothing
// pending. It returns the simulated time it took.
func (e *env) drain(step time.Duration) time.Duration {
	e.t.Helper()
	start := e.clock.Now()
	for i := 0; ; i++ {
		before := e.attempts()
		if err := e.d.Flush(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		st, err := e.st.OutboxStats(e.ctx, "")
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Pending == 0 {
			return e.clock.Now().Sub(start)
		}
		if i > 100_000 {
			e.t.Fatalf("outbox not drained: %+v", st)
		}
		if e.attempts() == before {
			e.clock.Advance(5 * step)
		} else {
			e.clock.Advance(step)
		}
	}
}

func (e *env) attempts() int {
	n := 0
	for _, f := range e.fakes {
		f.mu.Lock()
		n += f.attempts
		f.mu.Unlock()
	}
	return n
}

func texts(outs []bot.Outbound) string {
	var b strings.Builder
	for _, o := range outs {
		b.WriteString(o.Text)
		if o.Card != nil {
			b.WriteString("[card " + o.Card.Title + " | " + o.Card.Text)
			for _, f := range o.Card.Fields {
				b.WriteString(" | " + f.Label + ": " + f.Value)
			}
			b.WriteString("]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func mustContain(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

// seed puts people and groups in the store.
func seed(t *testing.T, st store.Directory, persons []community.Person, groups []community.Group) {
	t.Helper()
	ctx := context.Background()
	for _, p := range persons {
		if err := st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range groups {
		if err := st.PutGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
}

// lastID is the number of the draft in a confirmation card.
func lastID(t *testing.T, outs []bot.Outbound) int64 {
	t.Helper()
	for i := len(outs) - 1; i >= 0; i-- {
		if c := outs[i].Card; c != nil {
			for _, b := range c.Buttons {
				if b.Action == notices.ActConfirm {
					id, _ := strconv.ParseInt(b.Ref, 10, 64)
					return id
				}
			}
		}
	}
	t.Fatalf("no confirmation card in:\n%s", texts(outs))
	return 0
}
