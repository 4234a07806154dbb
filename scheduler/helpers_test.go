package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// recording wraps the store one scheduler instance uses: it notes which instance enqueued
// each outbox id, and can fail enqueues (a replica dying between claim and enqueue).
type recording struct {
	store.Store
	name string
	log  *enqueueLog
	fail func() error
}

func (r *recording) Enqueue(ctx context.Context, entries ...store.OutboxEntry) error {
	if r.fail != nil {
		if err := r.fail(); err != nil {
			return err
		}
	}
	if err := r.Store.Enqueue(ctx, entries...); err != nil {
		return err
	}
	r.log.add(r.name, entries)
	return nil
}

type enqueueLog struct {
	mu      sync.Mutex
	by      map[string][]string // outbox id → instances that enqueued it
	entries map[string]store.OutboxEntry
}

func (l *enqueueLog) add(name string, es []store.OutboxEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by, l.entries = map[string][]string{}, map[string]store.OutboxEntry{}
	}
	for _, e := range es {
		l.by[e.ID] = append(l.by[e.ID], name)
		l.entries[e.ID] = e
	}
}

// ids returns every enqueued id, sorted.
func (l *enqueueLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.by))
	for id := range l.by {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (l *enqueueLog) outbound(t testing.TB, id string) bot.Outbound {
	t.Helper()
	l.mu.Lock()
	e, ok := l.entries[id]
	l.mu.Unlock()
	if !ok {
		t.Fatalf("no outbox entry %s", id)
	}
	var o bot.Outbound
	if err := json.Unmarshal(e.Payload, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// world is a community on one bbolt store with any number of scheduler instances.
type world struct {
	t     testing.TB
	clock *bottest.Clock
	cfg   *config.Config
	st    store.Store
	tree  *community.Tree
	log   *enqueueLog
	logs  *bottest.LogBuffer
	inst  []*scheduler.Scheduler
	recs  []*recording
	// retention is the purge's, for instances added from now on; 0: off, as in most tests.
	retention time.Duration

	stepsMu sync.Mutex
	steps   map[string]int // "kind/outcome" → count, from Options.Step
}

// step counts a step the scheduler reports (Options.Step).
func (w *world) step(kind, outcome string) {
	w.stepsMu.Lock()
	defer w.stepsMu.Unlock()
	if w.steps == nil {
		w.steps = map[string]int{}
	}
	w.steps[kind+"/"+outcome]++
}

// stepCounts is a copy of what Options.Step reported.
func (w *world) stepCounts() map[string]int {
	w.stepsMu.Lock()
	defer w.stepsMu.Unlock()
	return maps.Clone(w.steps)
}

// testConfig is the demo's 幸福社区 plus a second community with its own group, so a
// schedule for 幸福社区 reaches two of three groups. (The demo's own second community, 和谐社区,
// is left out: these tests count the groups of this shape.)
func testConfig() *config.Config {
	cfg := config.Demo()
	cfg.Org[0].Children = slices.DeleteFunc(cfg.Org[0].Children, func(n config.OrgNode) bool { return n.ID == "hexie" })
	cfg.Groups = slices.DeleteFunc(cfg.Groups, func(g config.Group) bool { return g.Node == "grid3" })
	cfg.Members = slices.DeleteFunc(cfg.Members, func(m config.Member) bool { return m.Node == "hexie" || m.Node == "grid3" })
	cfg.Org[0].Children = append(cfg.Org[0].Children, config.OrgNode{
		ID: "heping", Name: "和平社区", Kind: config.KindCommunity,
		Children: []config.OrgNode{{ID: "hp-grid1", Name: "和平1网格", Kind: config.KindGrid}},
	})
	cfg.Groups = append(cfg.Groups, config.Group{ID: "local:heping", Name: "和平小区群", Node: "hp-grid1"})
	return cfg
}

func newWorld(t testing.TB, cfg *config.Config, start time.Time, instances int) *world {
	t.Helper()
	w := &world{t: t, clock: new(bottest.Clock), cfg: cfg, log: &enqueueLog{}, logs: &bottest.LogBuffer{}}
	w.clock.Set(start)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "bot.db"), bolt.Options{Now: w.clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.st = st
	if w.tree, err = setup.Tree(cfg); err != nil {
		t.Fatal(err)
	}
	if err := setup.Seed(context.Background(), st, cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < instances; i++ {
		w.add(nil)
	}
	return w
}

// add starts another scheduler instance on the world's store.
func (w *world) add(cal scheduler.Calendar) *scheduler.Scheduler {
	w.t.Helper()
	if cal == nil {
		cal = scheduler.NewHolidays(nil)
	}
	name := string(rune('A' + len(w.inst)))
	rec := &recording{Store: w.st, name: name, log: w.log}
	s, err := scheduler.New(scheduler.Options{
		Store: rec, Tree: w.tree, Schedules: w.cfg.Schedules, Deadlines: w.cfg.Deadlines,
		Calendar: cal, Now: w.clock.Now, Loc: shanghai, Owner: name, Retention: w.retention, Step: w.step,
		Log: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("instance", name),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := s.Sync(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.inst = append(w.inst, s)
	w.recs = append(w.recs, rec)
	return s
}

// tick ticks every instance at the clock's time, concurrently, and returns the earliest
// next wake-up.
func (w *world) tick() (time.Time, error) {
	now := w.clock.Now()
	nexts := make([]time.Time, len(w.inst))
	errs := make([]error, len(w.inst))
	var wg sync.WaitGroup
	for i, s := range w.inst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nexts[i], errs[i] = s.Tick(context.Background(), now)
		}()
	}
	wg.Wait()
	var next time.Time
	for _, n := range nexts {
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, errors.Join(errs...)
}

// runUntil jumps the clock from wake-up to wake-up until end (inclusive), ticking at each,
// and returns how many ticks it took.
func (w *world) runUntil(end time.Time) int {
	w.t.Helper()
	ticks := 0
	for {
		next, err := w.tick()
		ticks++
		if err != nil {
			w.t.Fatalf("tick at %v: %v", w.clock.Now(), err)
		}
		if next.IsZero() || next.After(end) {
			w.clock.Set(end)
			return ticks
		}
		if !next.After(w.clock.Now()) {
			w.t.Fatalf("next wake-up %v is not after now %v", next, w.clock.Now())
		}
		w.clock.Set(next)
	}
}

// post creates an item in group posted by the secretary, optionally claimed by a member.
func (w *world) post(group, title string, deadline time.Time, claimer string) *community.Item {
	w.t.Helper()
	ctx := context.Background()
	sec, err := w.st.GetPerson(ctx, "local:wang")
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := w.st.GetGroup(ctx, group)
	if err != nil {
		w.t.Fatal(err)
	}
	now := w.clock.Now()
	it, err := w.st.CreateItem(ctx, func(no int64) (*community.Item, error) {
		return community.NewPost(no, g, community.ActorOf(sec), title, 1, deadline, now)
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if claimer != "" {
		p, err := w.st.GetPerson(ctx, claimer)
		if err != nil {
			w.t.Fatal(err)
		}
		it, err = w.st.UpdateItem(ctx, it.No, func(it *community.Item) error {
			return it.Apply(community.Change{Action: community.ActClaim, Actor: community.ActorOf(p), At: now})
		})
		if err != nil {
			w.t.Fatal(err)
		}
	}
	return it
}

func (w *world) item(no int64) *community.Item {
	w.t.Helper()
	it, err := w.st.GetItem(context.Background(), no)
	if err != nil {
		w.t.Fatal(err)
	}
	return it
}

// steps lists the system steps in an item's history as "action@time".
func steps(it *community.Item) []string {
	var out []string
	for _, e := range it.History {
		if e.Actor == community.SystemActor.ID {
			out = append(out, string(e.Action)+"@"+e.At.In(shanghai).Format("2006-01-02 15:04"))
		}
	}
	return out
}

// withPrefix keeps the ids that start with prefix.
func withPrefix(ids []string, prefix string) []string {
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}
