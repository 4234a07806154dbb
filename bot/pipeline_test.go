package bot_test

import (
	"context"
	"fmt"
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

// An inbox that does not ack in batches (bbolt, whose group commit joins concurrent acks
// with the puts) gets each ack as soon as its event is handled, whatever AckDelay says.
func TestPipelineAcksAtOnceWithoutBatches(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	inbox := &countingInbox{Inbox: st}
	var handled sync.Map
	var calls atomic.Int64
	const n = 20
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard, AckDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
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
	cancel()
	<-done
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

// Run does not return before the acks of the events it handled are written, however long
// AckDelay is (an inbox that acks in batches).
func TestPipelineWritesPendingAcksOnStop(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	inbox := &batchInbox{Inbox: st}
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard, AckDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	if err := p.Receive(ctx, msg("e1", "hi")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event handled", 10*time.Second, func() bool { return calls.Load() == 1 })
	cancel()
	<-done
	clock.Advance(time.Hour)
	if got, err := st.LeaseInbound(context.Background(), "probe", 10, clock.Now(), time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("after Run returned LeaseInbound gave %d events (%v): the ack was not written", len(got), err)
	}
}

// batchInbox is an inbox that acks in batches (as store/redis does), recording each batch.
type batchInbox struct {
	store.Inbox
	mu      sync.Mutex
	batches [][]string
	single  atomic.Int64
}

func (b *batchInbox) AckInbound(ctx context.Context, id string, now time.Time) error {
	b.single.Add(1)
	return b.Inbox.AckInbound(ctx, id, now)
}

func (b *batchInbox) AckInboundBatch(ctx context.Context, ids []string, now time.Time) error {
	b.mu.Lock()
	b.batches = append(b.batches, append([]string(nil), ids...))
	b.mu.Unlock()
	for _, id := range ids {
		if err := b.Inbox.AckInbound(ctx, id, now); err != nil {
			return err
		}
	}
	return nil
}

// An inbox that acks in batches gets a burst's acks in one call.
func TestPipelineAcksABurstInOneBatch(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	inbox := &batchInbox{Inbox: st}
	var handled sync.Map
	var calls atomic.Int64
	const n = 12
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard, MaxBatch: n, AckDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := p.Receive(ctx, msg(fmt.Sprintf("e%d", i), "hi")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	waitFor(t, "the burst acked", 10*time.Second, func() bool { inbox.mu.Lock(); defer inbox.mu.Unlock(); return len(inbox.batches) > 0 })
	cancel()
	<-done
	if len(inbox.batches) != 1 || len(inbox.batches[0]) != n || inbox.single.Load() != 0 {
		t.Fatalf("acks: batches %v and %d single; want one batch of %d", inbox.batches, inbox.single.Load(), n)
	}
}
