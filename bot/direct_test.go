package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/store"
)

// directSetup is a pipeline whose replies go straight to f through a dispatcher that never
// runs: whatever f receives was sent without the outbox, and whatever is left in the outbox
// waits for a Flush.
func directSetup(t *testing.T, f *flaky) (*bot.Pipeline, *bot.Dispatcher, store.Store, *bottest.Clock, func()) {
	t.Helper()
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": f}, Limiter: &bot.LocalLimiter{},
		Owner: "a", Now: clock.Now, Log: discard, BaseBackoff: time.Second}
	var handled sync.Map
	var calls atomic.Int64
	p := &bot.Pipeline{Inbox: st, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now,
		Log: discard, Direct: d}
	_, stop := runPipeline(p)
	return p, d, st, clock, stop
}

// acked reports whether no event is left for another handling, even once every lease ran out.
func noneLeft(t *testing.T, st store.Store, clock *bottest.Clock) bool {
	t.Helper()
	got, err := st.LeaseInbound(context.Background(), "probe", 100, clock.Now().Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return len(got) == 0
}

func sentIDs(f *flaky) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := map[string]int{}
	for _, o := range f.sent {
		ids[o.ID]++
	}
	return ids
}

// Replies of an event this replica received are sent at once, without an outbox lease, and
// the event is acked after; the outbox keeps them as sent, for the record.
func TestDirectRepliesAreSentWithoutTheOutbox(t *testing.T) {
	f := &flaky{}
	p, _, st, clock, stop := directSetup(t, f)
	for i := range 3 {
		m := msg(fmt.Sprintf("e%d", i), "hi")
		m.ChatID = fmt.Sprintf("c%d", i)
		if err := p.Receive(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "3 replies sent", 10*time.Second, func() bool { return len(sentIDs(f)) == 3 })
	stop() // the acks and records are written by now
	for i := range 3 {
		id := fmt.Sprintf("local:e%d/0", i)
		if n := sentIDs(f)[id]; n != 1 {
			t.Errorf("%s sent %d times, want once", id, n)
		}
		e, err := st.GetOutbox(context.Background(), id)
		if err != nil || e.Status != store.OutboxSent {
			t.Errorf("%s in the outbox: %+v, %v; want it recorded sent", id, e, err)
		}
	}
	if stats, err := st.OutboxStats(context.Background(), ""); err != nil || stats.Sent != 3 || stats.Pending != 0 {
		t.Errorf("outbox stats %+v (%v), want 3 sent, none pending", stats, err)
	}
	if !noneLeft(t, st, clock) {
		t.Error("an event answered directly was not acked")
	}
}

// A reply the rate limits hold back goes into the outbox, durably, before its event is acked,
// and is sent from there when its slot comes: nothing is skipped, nothing sent twice.
func TestDirectRepliesHeldBackByALimitGoThroughTheOutbox(t *testing.T) {
	f := &flaky{} // 2 at once into one chat, then one a second
	p, d, st, clock, stop := directSetup(t, f)
	for i := range 3 {
		if err := p.Receive(context.Background(), msg(fmt.Sprintf("e%d", i), "hi")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "2 replies sent and all 3 events acked", 10*time.Second, func() bool {
		return len(sentIDs(f)) == 2 && noneLeft(t, st, clock)
	})
	stop()
	if stats, err := st.OutboxStats(context.Background(), ""); err != nil || stats.Pending != 1 {
		t.Fatalf("outbox stats %+v (%v), want the held-back reply pending", stats, err)
	}
	clock.Advance(2 * time.Second)
	if err := d.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := sentIDs(f)
	for i := range 3 {
		if id := fmt.Sprintf("local:e%d/0", i); ids[id] != 1 {
			t.Errorf("%s sent %d times, want once", id, ids[id])
		}
	}
}

// A send that fails but may be retried goes into the outbox with its backoff, and the event is
// acked: the retry comes from the outbox.
func TestDirectReplyRetriedFromTheOutbox(t *testing.T) {
	f := &flaky{fails: map[string]int{"local:e0/0": 1}, err: bot.Temporary("busy", 0, errors.New("busy"))}
	p, d, st, clock, stop := directSetup(t, f)
	if err := p.Receive(context.Background(), msg("e0", "hi")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event acked", 10*time.Second, func() bool { return noneLeft(t, st, clock) })
	stop()
	if len(sentIDs(f)) != 0 {
		t.Fatal("sent although the send failed")
	}
	e, err := st.GetOutbox(context.Background(), "local:e0/0")
	if err != nil || e.Status != store.OutboxPending || !e.NotBefore.After(clock.Now()) {
		t.Fatalf("outbox entry %+v (%v), want it pending after a backoff", e, err)
	}
	clock.Advance(10 * time.Second)
	if err := d.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := sentIDs(f)["local:e0/0"]; n != 1 {
		t.Errorf("sent %d times after the retry, want once", n)
	}
}
