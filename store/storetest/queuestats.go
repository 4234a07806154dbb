package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// queueStatser is the optional power internal/metrics reads on each scrape.
type queueStatser interface {
	QueueStats(ctx context.Context, now time.Time) (store.QueueStats, error)
}

// testQueueStats: depth and oldest entry of the inbox and the outbox, as a scrape sees them.
func testQueueStats(t *testing.T, e *env) {
	// A wrapper (store/cache) leaves it to the backend, as internal/metrics finds it.
	q, ok := store.Find[queueStatser](e.s)
	if !ok {
		t.Fatalf("%T has no QueueStats (metrics need it)", e.s)
	}
	stats := func(now time.Time) store.QueueStats {
		t.Helper()
		st, err := q.QueueStats(e.ctx, now)
		must(t, err, "QueueStats")
		return st
	}
	t0 := e.clock.Now()
	if st := stats(t0); st != (store.QueueStats{}) {
		t.Errorf("empty store: %+v, want all zero", st)
	}

	// Three events: a and b at t0, c a second later; a leased (and so behind in the queue).
	_, err := e.s.PutInboundBatch(e.ctx, []store.InboundEntry{{ID: "p:a", Payload: []byte("a")}, {ID: "p:b", Payload: []byte("b")}}, t0)
	must(t, err, "PutInboundBatch")
	_, err = e.s.PutInboundBatch(e.ctx, []store.InboundEntry{{ID: "p:c", Payload: []byte("c")}}, t0.Add(time.Second))
	must(t, err, "PutInboundBatch")
	leased, err := e.s.LeaseInbound(e.ctx, "r1", 1, t0.Add(2*time.Second), time.Minute)
	must(t, err, "LeaseInbound")
	if len(leased) != 1 {
		t.Fatalf("leased %d events, want 1", len(leased))
	}
	// Outbox: x due at once, y held back an hour, z due at once but enqueued later.
	x, y, z := outEntry("x", t0), outEntry("y", t0.Add(time.Second)), outEntry("z", t0.Add(3*time.Second))
	y.NotBefore = t0.Add(time.Hour)
	e.enqueue(x, y, z)

	now := t0.Add(10 * time.Second)
	st := stats(now)
	if st.InboxPending != 3 || !st.InboxOldest.Equal(t0) {
		t.Errorf("inbox: %d pending, oldest received %v; want 3, %v", st.InboxPending, st.InboxOldest, t0)
	}
	if st.OutboxPending != 3 || !st.OutboxOldestDue.Equal(t0) {
		t.Errorf("outbox: %d pending, oldest due %v; want 3, %v", st.OutboxPending, st.OutboxOldestDue, t0)
	}

	// x sent: z is the oldest due (y is not due for an hour).
	ids := e.leaseOutbox("d1", 1, now, time.Minute)
	if len(ids) != 1 || ids[0] != "x" {
		t.Fatalf("leased %v, want [x]", ids)
	}
	must(t, e.s.CompleteOutbox(e.ctx, "x", "d1", "m1", now), "CompleteOutbox")
	st = stats(now)
	if st.OutboxPending != 2 || !st.OutboxOldestDue.Equal(z.CreatedAt) {
		t.Errorf("after x is sent: %d pending, oldest due %v; want 2, %v", st.OutboxPending, st.OutboxOldestDue, z.CreatedAt)
	}
	// z sent too: nothing due until y's hour is up, then y, since then.
	ids = e.leaseOutbox("d1", 5, now, time.Minute)
	if len(ids) != 1 || ids[0] != "z" {
		t.Fatalf("leased %v, want [z]", ids)
	}
	must(t, e.s.CompleteOutbox(e.ctx, "z", "d1", "m2", now), "CompleteOutbox")
	if st = stats(now); st.OutboxPending != 1 || !st.OutboxOldestDue.IsZero() {
		t.Errorf("only y, held back: %d pending, oldest due %v; want 1, none", st.OutboxPending, st.OutboxOldestDue)
	}
	if st = stats(t0.Add(2 * time.Hour)); !st.OutboxOldestDue.Equal(y.NotBefore) {
		t.Errorf("y due: oldest due %v, want %v (its NotBefore)", st.OutboxOldestDue, y.NotBefore)
	}
}
