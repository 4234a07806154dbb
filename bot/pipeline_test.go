package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/store"
)

// countingInbox counts AckInbound per id.
type countingInbox struct {
	store.Inbox
	acked sync.Map // id → times
	n     atomic.Int64
}

func (c *countingInbox) AckInbound(ctx context.Context, id string, now time.Time) error {
	v, _ := c.acked.LoadOrStore(id, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	c.n.Add(1)
	return c.Inbox.AckInbound(ctx, id, now)
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling an observable state, bounded
	}
}

// An inbox that cannot ack later (LaterAcker) gets each ack as soon as its event is handled.
func TestPipelineAcksAtOnceWithoutLater(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	inbox := &countingInbox{Inbox: st}
	var handled sync.Map
	var calls atomic.Int64
	const n = 20
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard}
	ctx, stop := runPipeline(p)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := p.Receive(ctx, msg(fmt.Sprintf("e%d", i), "hi")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	waitFor(t, "20 acks while the pipeline runs", 10*time.Second, func() bool { return inbox.n.Load() == n })
	stop()
	for i := range n {
		v, ok := inbox.acked.Load(fmt.Sprintf("local:e%d", i))
		if !ok || v.(*atomic.Int64).Load() != 1 {
			t.Errorf("event e%d acked %v times, want once", i, v)
		}
	}
	// Acked: nothing is handed out again, even once every lease has run out.
	clock.Advance(time.Hour)
	if got, err := st.LeaseInbound(context.Background(), "probe", 100, clock.Now(), time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("after the acks LeaseInbound gave %d events (%v), want none", len(got), err)
	}
}

// Run does not return before the acks of the events it handled are written, by an inbox
// that acks later (LaterAcker): it flushes them.
func TestPipelineWritesPendingAcksOnStop(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	inbox := &laterInbox{Inbox: st}
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard}
	ctx, stop := runPipeline(p)
	if err := p.Receive(ctx, msg("e1", "hi")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event handled and acked later", 10*time.Second, func() bool {
		inbox.mu.Lock()
		defer inbox.mu.Unlock()
		return len(inbox.ids) == 1
	})
	stop()
	clock.Advance(time.Hour)
	if got, err := st.LeaseInbound(context.Background(), "probe", 10, clock.Now(), time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("after Run returned LeaseInbound gave %d events (%v): the ack was not written", len(got), err)
	}
}

// laterInbox acks later (bot.LaterAcker): acks wait in memory until FlushLater writes them.
type laterInbox struct {
	store.Inbox
	mu  sync.Mutex
	ids []string
	at  time.Time
}

func (l *laterInbox) AckInboundLater(ids []string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids, l.at = append(l.ids, ids...), now
}

func (l *laterInbox) RecordOutboxLater(...store.OutboxEntry) {}

func (l *laterInbox) FlushLater() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.ids {
		l.Inbox.AckInbound(context.Background(), id, l.at)
	}
}

// Receives from many goroutines at once (each platform request is one) share group writes led
// by one of them: every event is recorded and handled once, retries are duplicates, and
// stopping while events arrive refuses the late ones cleanly (run with -race).
func TestPipelineConcurrentReceives(t *testing.T) {
	t.Run("one write", func(t *testing.T) { testConcurrentReceives(t, 1, 0, 0) })
	// Two writes in flight whenever there is a group waiting (every write is "slow"), into a
	// local queue of 3: what each write promises of its room must add up.
	t.Run("two writes", func(t *testing.T) { testConcurrentReceives(t, 2, time.Nanosecond, 3) })
}

func testConcurrentReceives(t *testing.T, writers int, slow time.Duration, queue int) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	p := &bot.Pipeline{Inbox: st, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard, MaxBatch: 7, Writers: writers, SlowWrite: slow, Queue: queue}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }() // stopped below in two steps, with receives in between
	const senders, each = 16, 40
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("e%d", (g*each+i)%(senders*each/2)) // every event arrives twice
				if err := p.Receive(ctx, msg(id, "hi")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	const events = senders * each / 2
	waitFor(t, "every event handled", 20*time.Second, func() bool { return calls.Load() >= events })
	// Stop while more arrive: each Receive either records its event or says it is shutting down.
	var late sync.WaitGroup
	var recorded, refused atomic.Int64
	for g := range senders {
		late.Go(func() {
			for i := range each {
				switch err := p.Receive(context.Background(), msg(fmt.Sprintf("late%d-%d", g, i), "hi")); err {
				case nil:
					recorded.Add(1)
				default:
					refused.Add(1)
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	cancel()
	late.Wait()
	<-done
	if recorded.Load()+refused.Load() != senders*each {
		t.Fatalf("late receives: %d recorded + %d refused, want %d", recorded.Load(), refused.Load(), senders*each)
	}
	if refused.Load() == 0 {
		t.Log("every late event was recorded before the stop (the refusal path did not run this time)")
	}
	for i := range events {
		v, ok := handled.Load(fmt.Sprintf("e%d", i))
		if !ok || v.(*atomic.Int64).Load() != 1 {
			t.Errorf("event e%d handled %v times, want once", i, v)
		}
	}
	// Every late event that was recorded is handled or still in the inbox for a later run.
	clock.Advance(time.Hour)
	left, err := st.LeaseInbound(context.Background(), "probe", 10000, clock.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	handled.Range(func(k, v any) bool {
		if len(k.(string)) > 4 && k.(string)[:4] == "late" {
			n++
		}
		return true
	})
	if n+int64(len(left)) != recorded.Load() {
		t.Errorf("late events: %d handled + %d left in the inbox, want the %d recorded", n, len(left), recorded.Load())
	}
}

// panicInbox panics on its first write.
type panicInbox struct {
	store.Inbox
	once sync.Once
}

func (p *panicInbox) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	p.once.Do(func() { panic("disk on fire") })
	return p.Inbox.PutInboundBatch(ctx, entries, now)
}

// A write that panics fails its events (the platform retries them) and does not stall the
// group commit: the next event is recorded.
func TestPipelineSurvivesAPanickingWrite(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	p := &bot.Pipeline{Inbox: &panicInbox{Inbox: st}, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a",
		Now: clock.Now, Log: discard}
	ctx, stop := runPipeline(p)
	defer stop()
	if err := p.Receive(ctx, msg("e1", "hi")); err == nil {
		t.Fatal("the event whose write panicked was reported recorded")
	}
	if err := p.Receive(ctx, msg("e1", "hi")); err != nil {
		t.Fatalf("the retry after the panic: %v", err)
	}
	waitFor(t, "the retried event handled", 10*time.Second, func() bool { return calls.Load() == 1 })
}

// runPipeline runs p until stop, which ends ctx and waits for Run to return.
func runPipeline(p *bot.Pipeline) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return ctx, func() { cancel(); <-done }
}

// entriesInbox remembers the entries written, by event id, with what they tell the inbox
// beyond what it stores (Sender, Reserve).
type entriesInbox struct {
	store.Inbox
	mu      sync.Mutex
	entries map[string]store.InboundEntry
}

func (s *entriesInbox) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	s.mu.Lock()
	if s.entries == nil {
		s.entries = map[string]store.InboundEntry{}
	}
	for _, e := range entries {
		s.entries[e.ID] = e
	}
	s.mu.Unlock()
	return s.Inbox.PutInboundBatch(ctx, entries, now)
}

// entry is what was written for event id.
func (s *entriesInbox) entry(id string) store.InboundEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[id]
}

// The inbox is told who each event is from (InboundEntry.Sender), so a backend can read the
// sender's directory entry with the put (store/redis does).
func TestPipelineNamesTheSender(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	inbox := &entriesInbox{Inbox: st}
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now, Log: discard}
	ctx, stop := runPipeline(p)
	defer stop()
	if err := p.Receive(ctx, msg("e1", "hi")); err != nil {
		t.Fatal(err)
	}
	if got := inbox.entry("local:e1").Sender; got != "local:u" {
		t.Fatalf("the inbox was told the event is from %q, want local:u (%+v)", got, inbox.entry("local:e1"))
	}
}

// fullInbox fails its writes while full, as store/bolt does on a full disk.
type fullInbox struct {
	store.Inbox
	full atomic.Bool
}

func (f *fullInbox) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	if f.full.Load() {
		return nil, store.ErrUnavailable(errors.New("inbox journal append: no space left on device"))
	}
	return f.Inbox.PutInboundBatch(ctx, entries, now)
}

// An event whose inbox write fails is refused (the adapter answers an error, so the platform
// retries it), not handed to a worker; its retry once the inbox writes again is handled once.
func TestPipelineRefusesWhatItCouldNotRecord(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	inbox := &fullInbox{Inbox: st}
	inbox.full.Store(true)
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now, Log: discard}
	ctx, stop := runPipeline(p)
	defer stop()
	err := p.Receive(ctx, msg("e1", "hi"))
	var ue *store.UnavailableError
	if !errors.As(err, &ue) || strings.Count(err.Error(), "store unavailable") != 1 {
		t.Fatalf("Receive with the inbox full: %v; want store unavailable (once)", err)
	}
	inbox.full.Store(false)
	if err := p.Receive(ctx, msg("e1", "hi")); err != nil {
		t.Fatalf("the platform's retry once the inbox writes again: %v", err)
	}
	waitFor(t, "the retried event handled", 10*time.Second, func() bool { return calls.Load() == 1 })
}

// A card tap recorded through ReceiveTap gets the handler's toast back while the adapter
// waits (and it is not sent again as a message); a tap without a toast is answered at once
// with none; when the adapter stops waiting first, the toast goes to the tapper privately.
func TestReceiveTapAnswersWithTheToast(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	release := make(chan struct{})
	eng := &bot.Engine{
		Handler: func(ctx context.Context, r *bot.Request) error {
			switch r.Msg.Action.Name {
			case "slow":
				<-release
				r.Toast("已投：同意")
			case "ack":
				r.Toast("已收到，谢谢")
			}
			r.Send(bot.Outbound{ChatID: r.Msg.ChatID, Text: "card"})
			return nil
		},
		Outbox: st, Now: clock.Now, Log: discard,
	}
	p := &bot.Pipeline{Inbox: st, Engine: eng, Owner: "a", Now: clock.Now, Log: discard}
	ctx, stop := runPipeline(p)
	defer stop()
	tap := func(id, action string) bot.Message {
		m := msg(id, "")
		m.Action = &bot.Action{Name: action, Ref: "1"}
		return m
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	text, answered, err := p.ReceiveTap(wait, tap("t1", "ack"))
	if err != nil || !answered || text != "已收到，谢谢" {
		t.Fatalf("ack tap answered %q, %v, %v; want the toast", text, answered, err)
	}
	waitFor(t, "the card update enqueued", 10*time.Second, func() bool {
		_, err := st.GetOutbox(context.Background(), "local:t1/1")
		return err == nil
	})
	if _, err := st.GetOutbox(context.Background(), "local:t1/0"); err == nil {
		t.Error("the toast shown in the tap's answer was also enqueued as a message")
	}

	if text, answered, err := p.ReceiveTap(wait, tap("t2", "claim")); err != nil || !answered || text != "" {
		t.Errorf("claim tap answered %q, %v, %v; want answered without a toast", text, answered, err)
	}

	gaveUp, giveUp := context.WithCancel(ctx)
	giveUp()
	if _, answered, err := p.ReceiveTap(gaveUp, tap("t3", "slow")); err != nil || answered {
		t.Fatalf("a tap the adapter stopped waiting for: answered %v, %v", answered, err)
	}
	close(release)
	waitFor(t, "the toast sent privately", 10*time.Second, func() bool {
		e, err := st.GetOutbox(context.Background(), "local:t3/0")
		return err == nil && e.Chat == "user:local:u"
	})
}

// stallInbox holds its first write until released, and counts the writes in flight.
type stallInbox struct {
	store.Inbox
	started atomic.Bool
	release chan struct{}
	in, max atomic.Int64
}

func (s *stallInbox) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	n := s.in.Add(1)
	defer s.in.Add(-1)
	for m := s.max.Load(); n > m && !s.max.CompareAndSwap(m, n); m = s.max.Load() {
	}
	if s.started.CompareAndSwap(false, true) {
		<-s.release
	}
	return s.Inbox.PutInboundBatch(ctx, entries, now)
}

// With Writers 2, events that arrive while a write is stalled are written by a second write
// that starts once the first has taken SlowWrite, and are acknowledged before the stall
// ends; never more than two are in flight. With one writer (the default) they wait.
func TestPipelineWritesAgainWhileOneStalls(t *testing.T) {
	for _, writers := range []int{1, 2} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			clock := &bottest.Clock{}
			clock.Set(bottest.Start)
			st, _ := openStore(t, clock)
			var handled sync.Map
			var calls atomic.Int64
			in := &stallInbox{Inbox: st, release: make(chan struct{})}
			var once sync.Once
			free := func() { once.Do(func() { close(in.release) }) }
			defer free() // before stop, on a failure too: Run waits for the write
			p := &bot.Pipeline{Inbox: in, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a",
				Now: clock.Now, Log: discard, Writers: writers, SlowWrite: 5 * time.Millisecond}
			ctx, stop := runPipeline(p)
			defer func() { free(); stop() }()
			first := make(chan error, 1)
			go func() { first <- p.Receive(ctx, msg("stalled", "hi")) }()
			waitFor(t, "the first write in flight", 10*time.Second, func() bool { return in.in.Load() == 1 })
			const later = 8
			acked := make(chan error, later)
			for i := range later {
				go func() { acked <- p.Receive(ctx, msg(fmt.Sprintf("later%d", i), "hi")) }()
			}
			if writers == 1 {
				select {
				case err := <-acked:
					t.Fatalf("an event was acknowledged (%v) while the only write was stalled", err)
				case <-time.After(50 * time.Millisecond): // a bounded look for what must not happen
				}
			} else {
				for range later {
					select {
					case err := <-acked:
						if err != nil {
							t.Fatal(err)
						}
					case <-time.After(10 * time.Second):
						t.Fatal("the events behind a stalled write were not written by a second one")
					}
				}
				select {
				case err := <-first:
					t.Fatalf("the stalled write returned (%v) before it was released", err)
				default:
				}
			}
			free()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if writers == 1 {
				for range later {
					if err := <-acked; err != nil {
						t.Fatal(err)
					}
				}
			}
			waitFor(t, "every event handled", 10*time.Second, func() bool { return calls.Load() == later+1 })
			if got := in.max.Load(); got != int64(writers) {
				t.Errorf("at most %d writes were in flight at once, want %d", got, writers)
			}
			// The stall over, one write carries the next group again.
			in.max.Store(0)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if err := p.Receive(ctx, msg(fmt.Sprintf("after%d", i), "hi")); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := in.max.Load(); got > int64(writers) {
				t.Errorf("%d writes in flight at once after the stall, want at most %d", got, writers)
			}
		})
	}
}
