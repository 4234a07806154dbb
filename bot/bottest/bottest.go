// Package bottest drives a bot handler without a chat platform: messages go through the real
// middleware, the handler under test, a store (bbolt in a temp dir, seeded with a community)
// and the outbox dispatcher, and what the bot sends is captured by a recording platform. The
// test says which handler: build makes it over the harness's store. Tests read like a chat
// transcript:
//
//	h := bottest.New(t, build)
//	h.Say("local:xingfuli", "local:chen", "@邻里帮 楼道灯坏了")
//	h.Say("local:xingfuli", "local:wang", "派单 1")
package bottest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// LogBuffer is a goroutine-safe writer for capturing logs in tests.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Shanghai is the zone every test runs in.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Start is the default test time: Monday 2026-11-23 10:00 in Shanghai.
var Start = time.Date(2026, 11, 23, 10, 0, 0, 0, Shanghai)

// Env is what the bot under test is built from: the harness's store (seeded with the
// community of Config), its org tree, clock and a silent logger.
type Env struct {
	Store  store.Store
	Tree   *community.Tree
	Config *config.Config
	Now    func() time.Time
	Log    *slog.Logger
}

// Bot is the bot under test: its handler (after bot.Identify) and, optionally, what the
// dispatcher uses to refresh a card before updating it.
type Bot struct {
	Handler bot.HandlerFunc
	Refresh func(ctx context.Context, key string) (*bot.Card, error)
}

// Build builds the bot under test over env. It is called again after Restart.
type Build func(env Env) (Bot, error)

// Harness is a bot with a recording platform.
type Harness struct {
	t          testing.TB
	build      Build
	Clock      *Clock
	Store      store.Store
	Tree       *community.Tree
	Engine     *bot.Engine
	Dispatcher *bot.Dispatcher
	Platform   *Recorder
	Config     *config.Config
	seq        int
	path       string
}

// Option changes the harness before it starts.
type Option func(*Harness)

// WithConfig uses cfg instead of the demo community.
func WithConfig(cfg *config.Config) Option { return func(h *Harness) { h.Config = cfg } }

// New starts a harness over the demo community (config.Demo) in a fresh store, with the bot
// that build makes.
func New(t testing.TB, build Build, opts ...Option) *Harness {
	t.Helper()
	h := &Harness{t: t, build: build, Clock: &Clock{t: Start}, Config: config.Demo()}
	for _, o := range opts {
		o(h)
	}
	h.path = filepath.Join(t.TempDir(), "bot.db")
	h.open()
	t.Cleanup(func() { h.Store.Close() })
	return h
}

func (h *Harness) open() {
	t := h.t
	t.Helper()
	st, err := bolt.Open(h.path, bolt.Options{Now: h.Clock.Now})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.Store = st
	tree, err := setup.Tree(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := setup.Seed(ctx, st, h.Config); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if h.Platform == nil {
		h.Platform = &Recorder{}
	}
	h.Tree = tree
	b := Bot{Handler: func(context.Context, *bot.Request) error { return nil }}
	if h.build != nil {
		if b, err = h.build(Env{Store: st, Tree: tree, Config: h.Config, Now: h.Clock.Now, Log: log}); err != nil {
			t.Fatalf("build the bot: %v", err)
		}
	}
	h.Dispatcher = &bot.Dispatcher{
		Outbox: st, Refs: st, Platforms: map[string]bot.Platform{"local": h.Platform},
		Owner: "test", Now: h.Clock.Now, Log: log, Refresh: b.Refresh,
	}
	h.Engine = &bot.Engine{
		Handler: bot.Chain(b.Handler, bot.Recover(log), bot.Identify(st)),
		Outbox:  st, Now: h.Clock.Now, Log: log,
	}
}

// Restart closes the store and opens it again, as a restarted process would.
func (h *Harness) Restart() {
	h.t.Helper()
	if err := h.Store.Close(); err != nil {
		h.t.Fatalf("close: %v", err)
	}
	h.open()
}

// Message builds an inbound group message; text starting with "@" + bot name mentions the bot.
func (h *Harness) Message(group, user, text string) bot.Message {
	h.seq++
	plat, chat := community.SplitID(group)
	m := bot.Message{
		EventID: "ev" + strconv.Itoa(h.seq), Platform: plat, ChatID: chat, GroupID: group,
		UserID: user, MessageID: "in" + strconv.Itoa(h.seq), Text: text, At: h.Clock.Now(),
	}
	if name := "@" + h.Config.BotName; strings.HasPrefix(text, name) {
		m.Text = strings.TrimSpace(strings.TrimPrefix(text, name))
		m.Mentioned = true
	}
	return m
}

// Handle handles m and delivers everything due; it returns what was sent.
func (h *Harness) Handle(m bot.Message) []Sent {
	h.t.Helper()
	before := h.Platform.Len()
	if _, err := h.Engine.Handle(context.Background(), m); err != nil {
		h.t.Fatalf("handle %q: %v", m.Text, err)
	}
	if err := h.Dispatcher.Flush(context.Background()); err != nil {
		h.t.Fatalf("flush: %v", err)
	}
	sent := h.Platform.Since(before)
	// The dispatcher delivers concurrently; show them in the order the handler produced them.
	slices.SortStableFunc(sent, func(a, b Sent) int { return cmp.Compare(outIndex(a.ID), outIndex(b.ID)) })
	return sent
}

// outIndex is i in an outbox id "<platform>:<event>/<i>".
func outIndex(id string) int {
	_, after, _ := strings.Cut(id, "/")
	n, _ := strconv.Atoi(after)
	return n
}

// Say sends text to a group as user.
func (h *Harness) Say(group, user, text string) []Sent {
	h.t.Helper()
	return h.Handle(h.Message(group, user, text))
}

// ReplyTo sends text as a reply to the bot message with id msgID.
func (h *Harness) ReplyTo(group, user, msgID, text string) []Sent {
	h.t.Helper()
	m := h.Message(group, user, text)
	m.ReplyTo = msgID
	return h.Handle(m)
}

// Private sends text in a one-to-one chat with the bot.
func (h *Harness) Private(user, text string) []Sent {
	h.t.Helper()
	m := h.Message("", user, text)
	m.GroupID, m.ChatID, m.Private = "", "", true
	m.Platform, _ = community.SplitID(user)
	return h.Handle(m)
}

// Tap taps a card button on the card with key (e.g. "item:1") in group.
func (h *Harness) Tap(group, user, cardKey, action, value string) []Sent {
	h.t.Helper()
	msgID, card := h.Platform.Card(cardKey)
	if card == nil {
		h.t.Fatalf("no card %s was sent", cardKey)
	}
	var b *bot.Button
	for i := range card.Buttons {
		if card.Buttons[i].Action == action && (value == "" || card.Buttons[i].Value == value) {
			b = &card.Buttons[i]
		}
	}
	if b == nil {
		h.t.Fatalf("card %s has no button %s/%s: %+v", cardKey, action, value, card.Buttons)
	}
	m := h.Message(group, user, "")
	m.Action = &bot.Action{Name: b.Action, Item: b.Item, Value: b.Value, Ref: b.Ref, MessageID: msgID}
	return h.Handle(m)
}

// Item loads item no.
func (h *Harness) Item(no int64) *community.Item {
	h.t.Helper()
	it, err := h.Store.GetItem(context.Background(), no)
	if err != nil {
		h.t.Fatalf("item %d: %v", no, err)
	}
	return it
}

// Sent is one message the recording platform delivered.
type Sent struct {
	MessageID string
	Update    bool // a card updated in place
	bot.Outbound
}

// String renders a sent message as one transcript line, for assertions and golden files.
func (s Sent) String() string {
	var b strings.Builder
	switch {
	case s.UserID != "":
		fmt.Fprintf(&b, "[私信 %s] ", s.UserID)
	default:
		fmt.Fprintf(&b, "[%s] ", s.ChatID)
	}
	for _, m := range s.Mentions {
		fmt.Fprintf(&b, "@%s ", m.Name)
	}
	b.WriteString(s.Text)
	if c := s.Card; c != nil {
		verb := "卡片"
		if s.Update {
			verb = "更新卡片"
		}
		fmt.Fprintf(&b, "%s{%s | %s", verb, c.Title, c.Text)
		for _, f := range c.Fields {
			fmt.Fprintf(&b, " | %s:%s", f.Label, f.Value)
		}
		for _, btn := range c.Buttons {
			fmt.Fprintf(&b, " [%s]", btn.Label)
		}
		b.WriteString("}")
	}
	return b.String()
}

// Recorder is a platform that records what it is asked to send. Safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	sent  []Sent
	cards map[string]string // card key → message id
	byID  map[string]*bot.Card
	// Fail, if set, is consulted before each send; a non-nil error fails it.
	Fail func(o bot.Outbound) error
}

// Name implements bot.Platform.
func (r *Recorder) Name() string { return "local" }

// Run implements bot.Platform.
func (r *Recorder) Run(ctx context.Context, _ bot.Receiver) error { <-ctx.Done(); return nil }

// Send implements bot.Platform.
func (r *Recorder) Send(_ context.Context, o bot.Outbound) (bot.Sent, error) {
	if r.Fail != nil {
		if err := r.Fail(o); err != nil {
			return bot.Sent{}, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := "m" + strconv.Itoa(len(r.sent)+1)
	r.sent = append(r.sent, Sent{MessageID: id, Outbound: o})
	if o.Card != nil {
		if r.cards == nil {
			r.cards, r.byID = map[string]string{}, map[string]*bot.Card{}
		}
		r.cards[o.Card.Key] = id
		c := *o.Card
		r.byID[id] = &c
	}
	return bot.Sent{MessageID: id}, nil
}

// UpdateCard implements bot.CardUpdater.
func (r *Recorder) UpdateCard(_ context.Context, messageID string, o bot.Outbound) error {
	if r.Fail != nil {
		if err := r.Fail(o); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[messageID]; !ok {
		return bot.Permanent("no_message", fmt.Errorf("no message %s", messageID))
	}
	c := *o.Card
	r.byID[messageID] = &c
	r.sent = append(r.sent, Sent{MessageID: messageID, Update: true, Outbound: o})
	return nil
}

// Len is how many sends were recorded.
func (r *Recorder) Len() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sent) }

// Since returns the sends after the first n.
func (r *Recorder) Since(n int) []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sent(nil), r.sent[n:]...)
}

// All returns every send.
func (r *Recorder) All() []Sent { return r.Since(0) }

// Card returns the message id and current content of the card with key.
func (r *Recorder) Card(key string) (string, *bot.Card) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.cards[key]
	if !ok {
		return "", nil
	}
	c := *r.byID[id]
	return id, &c
}

// Transcript renders sends one per line.
func Transcript(sent []Sent) string {
	lines := make([]string, len(sent))
	for i, s := range sent {
		lines[i] = s.String()
	}
	return strings.Join(lines, "\n")
}
