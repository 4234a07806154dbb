package bot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T, clock *bottest.Clock) (store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	st, err := bolt.Open(path, bolt.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func msg(id, text string) bot.Message {
	return bot.Message{EventID: id, Platform: "local", ChatID: "g", GroupID: "local:g", UserID: "local:u", Text: text}
}

// countingEngine counts handled events and replies "echo <text>".
func countingEngine(st store.Store, clock *bottest.Clock, handled *sync.Map, calls *atomic.Int64) *bot.Engine {
	return &bot.Engine{
		Handler: func(ctx context.Context, r *bot.Request) error {
			calls.Add(1)
			n, _ := handled.LoadOrStore(r.Msg.EventID, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			r.Reply("echo " + r.Msg.Text)
			return nil
		},
		Outbox: st, Now: clock.Now, Log: discard,
	}
}

func TestPipelineHandlesEachEventOnce(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	// Two replicas on one store. b's workers take at most one event from its own group commits
	// at a time: the rest b records unleased, and either replica leases them from the inbox.
	a := &bot.Pipeline{Inbox: st, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now, Log: discard, Poll: time.Millisecond}
	b := &bot.Pipeline{Inbox: st, Engine: countingEngine(st, clock, &handled, &calls), Owner: "b", Now: clock.Now, Log: discard, Poll: time.Millisecond, Queue: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Go(func() { a.Run(ctx) })
		wg.Go(func() { b.Run(ctx) })
		wg.Wait()
		close(done)
	}()

	// 200 events, each delivered 4 times concurrently (a platform retrying, to both replicas).
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		for r := 0; r < 4; r++ {
			p := []*bot.Pipeline{a, b}[r%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Receive(ctx, msg(fmt.Sprintf("e%d", i), "hi")); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	// Every reply lands in the outbox once: wait until 200 are there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := st.OutboxStats(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Pending == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox has %d pending, want 200", s.Pending)
		}
		time.Sleep(5 * time.Millisecond) // polling an observable end state, bounded
	}
	cancel()
	<-done
	if calls.Load() != 200 {
		t.Fatalf("handled %d times, want 200", calls.Load())
	}
	// Dedupe outlives the handling: a late retry is still recognised.
	var late atomic.Int64
	handled.Range(func(_, v any) bool {
		if v.(*atomic.Int64).Load() != 1 {
			late.Add(1)
		}
		return true
	})
	if late.Load() != 0 {
		t.Fatalf("%d events handled more than once", late.Load())
	}
}

// TestPipelineCrashAfterAck: a replica records an event (leasing it to itself), acks the
// platform, and dies before handling it. No other replica handles it while that lease lasts;
// another handles it when the lease runs out.
func TestPipelineCrashAfterAck(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	ctx := context.Background()

	// Replica a receives the event; its worker takes it and never finishes (a's "crash").
	started, release := make(chan struct{}), make(chan struct{})
	a := &bot.Pipeline{Inbox: st, Owner: "a", Now: clock.Now, Log: discard, Poll: time.Millisecond, Lease: time.Minute,
		Engine: &bot.Engine{Outbox: st, Now: clock.Now, Log: discard, Handler: func(ctx context.Context, r *bot.Request) error {
			close(started)
			<-release
			return errors.New("crashed")
		}}}
	aCtx, aCancel := context.WithCancel(ctx)
	aDone := make(chan struct{})
	go func() { a.Run(aCtx); close(aDone) }()
	defer func() { close(release); <-aDone }()
	if err := a.Receive(ctx, msg("e1", "hello")); err != nil {
		t.Fatal(err)
	}
	<-started
	aCancel() // a stops looking for work; its worker stays stuck until the test ends
	// a handed the event to its worker without leasing it from the inbox: it is recorded leased.
	if got, err := st.LeaseInbound(ctx, "probe", 10, clock.Now(), time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("leased %v (%v) while a's lease lasts", got, err)
	}

	var handled sync.Map
	var calls atomic.Int64
	b := &bot.Pipeline{Inbox: st, Engine: countingEngine(st, clock, &handled, &calls), Owner: "b", Now: clock.Now, Log: discard, Poll: time.Millisecond, Lease: time.Minute}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { b.Run(runCtx); close(done) }()
	time.Sleep(20 * time.Millisecond) // b polls the inbox about 20 times: a's lease still holds
	if calls.Load() != 0 {
		t.Fatalf("b handled the event while a's lease lasted")
	}
	clock.Advance(2 * time.Minute) // a's lease runs out
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	<-done
	if calls.Load() != 1 {
		t.Fatalf("handled %d times, want 1", calls.Load())
	}
	if ok, _ := st.PutInbound(ctx, "local:e1", nil, clock.Now()); ok {
		t.Error("a handled event was accepted again")
	}
}

type flaky struct {
	mu    sync.Mutex
	fails map[string]int // id → failures left
	err   error
	sent  []bot.Outbound
}

func (f *flaky) Name() string                                  { return "local" }
func (f *flaky) Run(ctx context.Context, _ bot.Receiver) error { <-ctx.Done(); return nil }
func (f *flaky) Send(_ context.Context, o bot.Outbound) (bot.Sent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails[o.ID] > 0 {
		f.fails[o.ID]--
		return bot.Sent{}, f.err
	}
	f.sent = append(f.sent, o)
	return bot.Sent{MessageID: fmt.Sprintf("m%d", len(f.sent))}, nil
}
func (f *flaky) Limits(o bot.Outbound) []bot.Limit {
	return []bot.Limit{{Key: "chat:" + o.ChatID, Every: time.Second, Burst: 2}}
}

func enqueue(t *testing.T, st store.Store, now time.Time, outs ...bot.Outbound) {
	t.Helper()
	for _, o := range outs {
		e, err := bot.Entry(o, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDispatcherRetriesWithBackoff(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	p := &flaky{fails: map[string]int{"a": 3}, err: bot.Temporary("429", 0, errors.New("too many"))}
	d := &bot.Dispatcher{Outbox: st, Refs: st, Platforms: map[string]bot.Platform{"local": p}, Owner: "d", Now: clock.Now, Log: discard, BaseBackoff: time.Second}
	enqueue(t, st, clock.Now(), bot.Outbound{ID: "a", Platform: "local", ChatID: "g", Text: "hi"})
	ctx := context.Background()
	var waits []time.Duration
	for i := 0; i < 3; i++ {
		d.Flush(ctx)
		e, _ := st.GetOutbox(ctx, "a")
		if e.Status != store.OutboxPending || e.Attempts != i+1 {
			t.Fatalf("after failure %d: %+v", i+1, e)
		}
		waits = append(waits, e.NotBefore.Sub(clock.Now()))
		d.Flush(ctx) // not due yet: nothing happens
		if e2, _ := st.GetOutbox(ctx, "a"); e2.Attempts != i+1 {
			t.Fatalf("retried before its time")
		}
		clock.Set(e.NotBefore)
	}
	for i, w := range waits { // exponential with jitter: base<<i halved..full; the first sooner
		lo, hi := time.Second<<i/2, time.Second<<i
		if i == 0 {
			lo, hi = time.Second/4, time.Second/2
		}
		if w < lo || w > hi {
			t.Errorf("wait %d = %v, want in [%v, %v]", i, w, lo, hi)
		}
	}
	d.Flush(ctx)
	if e, _ := st.GetOutbox(ctx, "a"); e.Status != store.OutboxSent || len(p.sent) != 1 {
		t.Fatalf("not sent after retries: %+v", e)
	}
}

func TestDispatcherGivesUp(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	p := &flaky{fails: map[string]int{"perm": 1, "temp": 100}}
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": p}, Owner: "d", Now: clock.Now, Log: discard, MaxAttempts: 3}
	ctx := context.Background()
	p.err = bot.Permanent("400", errors.New("bad request"))
	enqueue(t, st, clock.Now(), bot.Outbound{ID: "perm", Platform: "local", ChatID: "g", Text: "x"})
	d.Flush(ctx)
	if e, _ := st.GetOutbox(ctx, "perm"); e.Status != store.OutboxFailed || e.LastError == "" {
		t.Fatalf("permanent error not failed: %+v", e)
	}
	p.err = errors.New("connection reset")
	enqueue(t, st, clock.Now(), bot.Outbound{ID: "temp", Platform: "local", ChatID: "g", Text: "x"})
	for i := 0; i < 3; i++ {
		d.Flush(ctx)
		clock.Advance(time.Hour)
	}
	if e, _ := st.GetOutbox(ctx, "temp"); e.Status != store.OutboxFailed || e.Attempts < 2 {
		t.Fatalf("not given up after MaxAttempts: %+v", e)
	}
}

func TestDispatcherRateLimitDefers(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	p := &flaky{}
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": p}, Limiter: &bot.LocalLimiter{}, Owner: "d", Now: clock.Now, Log: discard}
	for i := 0; i < 5; i++ {
		enqueue(t, st, clock.Now(), bot.Outbound{ID: fmt.Sprintf("r%d", i), Platform: "local", ChatID: "g", Text: "x"})
	}
	ctx := context.Background()
	d.Flush(ctx)
	if len(p.sent) != 2 { // burst 2
		t.Fatalf("sent %d in the first instant, want 2", len(p.sent))
	}
	for i := 0; i < 3; i++ {
		clock.Advance(time.Second)
		d.Flush(ctx)
	}
	if len(p.sent) != 5 {
		t.Fatalf("sent %d, want 5", len(p.sent))
	}
	for i := 0; i < 5; i++ {
		if e, _ := st.GetOutbox(ctx, fmt.Sprintf("r%d", i)); e.Attempts != 0 {
			t.Errorf("a deferral counted as an attempt: %+v", e)
		}
	}
}

func TestLocalLimiterAllOrNothing(t *testing.T) {
	l := &bot.LocalLimiter{}
	now := bottest.Start
	app := bot.Limit{Key: "app", Every: 100 * time.Millisecond, Burst: 3}
	chatA := bot.Limit{Key: "a", Every: time.Second, Burst: 1}
	chatB := bot.Limit{Key: "b", Every: time.Second, Burst: 1}
	ctx := context.Background()
	if w, _ := l.Take(ctx, []bot.Limit{app, chatA}, now); w != 0 {
		t.Fatal("first take waited")
	}
	if w, _ := l.Take(ctx, []bot.Limit{app, chatA}, now); w != time.Second {
		t.Fatalf("chat a again: wait %v", w)
	}
	// The refused take above took no app token.
	for i := 0; i < 2; i++ {
		if w, _ := l.Take(ctx, []bot.Limit{app, {Key: fmt.Sprintf("c%d", i), Every: time.Second, Burst: 1}}, now); w != 0 {
			t.Fatalf("app token %d: wait %v", i, w)
		}
	}
	if w, _ := l.Take(ctx, []bot.Limit{app, chatB}, now); w != 100*time.Millisecond {
		t.Fatalf("app exhausted: wait %v", w)
	}
}

func TestCardUpdateWaitsForTheCard(t *testing.T) {
	h := bottest.New(t, nil)
	ctx := context.Background()
	card := &bot.Card{Key: "item:9", Title: "v1"}
	// An update whose card was never sent is retried, not sent as something else.
	enqueue(t, h.Store, h.Clock.Now(), bot.Outbound{ID: "u1", Platform: "local", ChatID: "g", Card: card, Update: true})
	h.Dispatcher.Flush(ctx)
	if e, _ := h.Store.GetOutbox(ctx, "u1"); e.Status != store.OutboxPending || !strings.Contains(e.LastError, "not been sent") {
		t.Fatalf("update before card: %+v", e)
	}
	enqueue(t, h.Store, h.Clock.Now(), bot.Outbound{ID: "c1", Platform: "local", ChatID: "g", Card: card})
	h.Dispatcher.Flush(ctx)
	h.Clock.Advance(time.Minute)
	h.Dispatcher.Flush(ctx)
	if e, _ := h.Store.GetOutbox(ctx, "u1"); e.Status != store.OutboxSent {
		t.Fatalf("update after card: %+v", e)
	}
	all := h.Platform.All()
	if len(all) != 2 || !all[1].Update || all[1].MessageID != all[0].MessageID {
		t.Fatalf("sends: %+v", all)
	}
}

func TestRecoverMiddleware(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	e := &bot.Engine{
		Handler: bot.Chain(func(ctx context.Context, r *bot.Request) error { panic("boom") }, bot.Recover(discard)),
		Outbox:  st, Now: clock.Now, Log: discard,
	}
	outs, err := e.Handle(context.Background(), msg("p1", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || !strings.Contains(outs[0].Text, "抱歉") || strings.Contains(outs[0].Text, "boom") {
		t.Fatalf("panic reply: %+v", outs)
	}
}

// Engine.Replied is told each handled event's replies as enqueued, none included, and not
// an event whose replies could not be enqueued.
func TestEngineReportsReplies(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	got := map[string][]string{}
	e := &bot.Engine{
		Handler: func(ctx context.Context, r *bot.Request) error {
			for range len(r.Msg.Text) {
				r.Reply("好")
			}
			return nil
		},
		Outbox: st, Now: clock.Now, Log: discard,
		Replied: func(m bot.Message, entries []store.OutboxEntry) {
			ids := []string{}
			for _, en := range entries {
				ids = append(ids, en.ID)
			}
			got[m.Key()] = ids
		},
	}
	for _, m := range []bot.Message{msg("two", "ab"), msg("none", "")} {
		if _, err := e.Handle(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"local:two/0", "local:two/1"}; !slices.Equal(got["local:two"], want) {
		t.Errorf("two replies reported as %v, want %v", got["local:two"], want)
	}
	if ids, ok := got["local:none"]; !ok || len(ids) != 0 {
		t.Errorf("no replies reported as %v (reported: %v)", ids, ok)
	}
	st.Close() // enqueueing fails: nothing was handed on
	if _, err := e.Handle(context.Background(), msg("closed", "a")); err == nil {
		t.Fatal("handled with a closed store")
	}
	if ids, ok := got["local:closed"]; ok {
		t.Errorf("replies never enqueued reported: %v", ids)
	}
}

func TestDedupeMiddleware(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var n atomic.Int64
	e := &bot.Engine{
		Handler: bot.Chain(func(ctx context.Context, r *bot.Request) error { n.Add(1); return nil }, bot.Dedupe(st, time.Hour)),
		Outbox:  st, Now: clock.Now, Log: discard,
	}
	for i := 0; i < 3; i++ {
		e.Handle(context.Background(), msg("same", "x"))
	}
	if n.Load() != 1 {
		t.Fatalf("handled %d times", n.Load())
	}
}

// slowPlatform never answers within the send timeout.
type slowPlatform struct{ flaky }

func (s *slowPlatform) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	<-ctx.Done()
	return bot.Sent{}, ctx.Err()
}

// TestDispatcherTimedOutSendIsReleased: a send that uses its whole timeout is released for a
// retry at once, not left leased until the lease runs out.
func TestDispatcherTimedOutSendIsReleased(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": &slowPlatform{}}, Owner: "d",
		Now: clock.Now, Log: discard, SendTimeout: 20 * time.Millisecond, Lease: time.Hour}
	enqueue(t, st, clock.Now(), bot.Outbound{ID: "slow", Platform: "local", ChatID: "g", Text: "x"})
	d.Flush(context.Background())
	e, err := st.GetOutbox(context.Background(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	if e.Attempts != 1 || e.LeaseOwner != "" || !e.NotBefore.Before(clock.Now().Add(time.Minute)) {
		t.Fatalf("timed-out send not released for retry: %+v", e)
	}
}

// limitedPlatform records when each message went.
type limitedPlatform struct {
	name   string
	limit  bool
	clock  *bottest.Clock
	mu     sync.Mutex
	sent   []time.Time
	onSend func(n int)
}

func (p *limitedPlatform) Name() string                                  { return p.name }
func (p *limitedPlatform) Run(ctx context.Context, _ bot.Receiver) error { <-ctx.Done(); return nil }
func (p *limitedPlatform) Send(_ context.Context, o bot.Outbound) (bot.Sent, error) {
	p.mu.Lock()
	p.sent = append(p.sent, p.clock.Now())
	n := len(p.sent)
	p.mu.Unlock()
	if p.onSend != nil {
		p.onSend(n)
	}
	return bot.Sent{}, nil
}

func (p *limitedPlatform) times() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

// slowLimited is limitedPlatform with a platform-wide limit of one message a second.
type slowLimited struct{ limitedPlatform }

func (p *slowLimited) Limits(bot.Outbound) []bot.Limit {
	return []bot.Limit{{Key: p.name + ":app", Every: time.Second, Burst: 1}}
}

// leaseTakesTime is an outbox whose every lease takes a second of the fake clock, as a round
// of leasing, sending and deferring takes real time under load.
type leaseTakesTime struct {
	store.Outbox
	clock *bottest.Clock
	stop  func()
	until time.Time
}

func (o *leaseTakesTime) LeaseOutbox(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.OutboxEntry, error) {
	es, err := o.Outbox.LeaseOutbox(ctx, owner, max, now, lease)
	o.clock.Advance(time.Second)
	if o.clock.Now().After(o.until) {
		o.stop()
	}
	return es, err
}

// TestDispatcherDeferredBacklogDoesNotStarveOthers: one platform's backlog, held back by its
// rate limit, must not keep winning the oldest-first lease once it comes due again: another
// platform's messages, enqueued after it, go out within a few rounds.
func TestDispatcherDeferredBacklogDoesNotStarveOthers(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := &slowLimited{limitedPlatform{name: "slow", clock: clock}}
	free := &limitedPlatform{name: "free", clock: clock, onSend: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	out := &leaseTakesTime{Outbox: st, clock: clock, stop: cancel, until: bottest.Start.Add(5 * time.Minute)}
	d := &bot.Dispatcher{Outbox: out, Platforms: map[string]bot.Platform{"slow": slow, "free": free},
		Limiter: &bot.LocalLimiter{}, Owner: "d", Now: clock.Now, Log: discard}
	for i := range 200 {
		enqueue(t, st, clock.Now(), bot.Outbound{ID: fmt.Sprintf("s%03d", i), Platform: "slow", ChatID: "g", Text: "x"})
	}
	clock.Advance(time.Millisecond)
	for i := range 3 {
		enqueue(t, st, clock.Now(), bot.Outbound{ID: fmt.Sprintf("f%d", i), Platform: "free", ChatID: "g", Text: "x"})
	}
	_ = d.Flush(ctx)

	got := free.times()
	if len(got) != 3 {
		t.Fatalf("free platform sent %d of 3 by %v (slow one sent %d)", len(got), clock.Now().Sub(bottest.Start), len(slow.times()))
	}
	for _, at := range got {
		if w := at.Sub(bottest.Start); w > 10*time.Second {
			t.Errorf("free platform's message went after %v, want within 10s", w)
		}
	}
	// The slow platform kept to its limit meanwhile.
	sent := slow.times()
	for i := 1; i < len(sent); i++ {
		if sent[i].Sub(sent[i-1]) < time.Second {
			t.Fatalf("slow platform sent twice within a second: %v, %v", sent[i-1], sent[i])
		}
	}
}
