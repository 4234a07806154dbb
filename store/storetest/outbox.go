package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

func outEntry(id string, created time.Time) store.OutboxEntry {
	return store.OutboxEntry{
		ID: id, Platform: "local", Chat: "local:a", Payload: []byte("message " + id), CreatedAt: created,
	}
}

func (e *env) enqueue(entries ...store.OutboxEntry) {
	e.t.Helper()
	must(e.t, e.s.Enqueue(e.ctx, entries...), "Enqueue")
}

func (e *env) getOutbox(id string) store.OutboxEntry {
	e.t.Helper()
	en, err := e.s.GetOutbox(e.ctx, id)
	must(e.t, err, fmt.Sprintf("GetOutbox(%q)", id))
	return en
}

// leaseOutbox leases and checks what comes back, returning the ids in the order given.
func (e *env) leaseOutbox(owner string, max int, now time.Time, lease time.Duration) []string {
	e.t.Helper()
	entries, err := e.s.LeaseOutbox(e.ctx, owner, max, now, lease)
	must(e.t, err, "LeaseOutbox")
	if len(entries) > max {
		e.t.Fatalf("LeaseOutbox(max %d) returned %d entries", max, len(entries))
	}
	var ids []string
	for _, en := range entries {
		ids = append(ids, en.ID)
		if en.Status != store.OutboxPending || en.LeaseOwner != owner || !en.LeaseUntil.Equal(now.Add(lease)) {
			e.t.Errorf("leased %s: %s, owner %q until %v; want pending, %q until %v",
				en.ID, en.Status, en.LeaseOwner, en.LeaseUntil, owner, now.Add(lease))
		}
		if en.NotBefore.After(now) {
			e.t.Errorf("leased %s at %v, not before %v", en.ID, now, en.NotBefore)
		}
		if want := []byte("message " + en.ID); !bytes.Equal(en.Payload, want) {
			e.t.Errorf("leased %s with payload %q, want %q", en.ID, en.Payload, want)
		}
	}
	return ids
}

func (e *env) wantOutboxLeased(what string, got []string, want ...string) {
	e.t.Helper()
	if !slices.Equal(got, want) {
		e.t.Fatalf("%s: leased %v, want %v", what, got, want)
	}
}

func testOutboxEnqueue(t *testing.T, e *env) {
	t0 := e.clock.Now()
	_, err := e.s.GetOutbox(e.ctx, "m1")
	wantCode(t, err, community.ENotFound, "GetOutbox before Enqueue")

	m1 := outEntry("m1", t0)
	m1.Batch = "broadcast-1"
	e.enqueue(m1, outEntry("m2", t0.Add(time.Second)))
	got := e.getOutbox("m1")
	if got.ID != "m1" || got.Platform != "local" || got.Chat != "local:a" || got.Batch != "broadcast-1" ||
		!bytes.Equal(got.Payload, m1.Payload) || got.Status != store.OutboxPending || got.Attempts != 0 ||
		!got.CreatedAt.Equal(t0) || got.LeaseOwner != "" {
		t.Fatalf("GetOutbox after Enqueue = %+v", got)
	}

	// Enqueueing an existing id leaves it alone: not its payload, not its lease, not its status.
	again := m1
	again.Payload = []byte("something else")
	e.enqueue(again)
	if got := e.getOutbox("m1"); !bytes.Equal(got.Payload, m1.Payload) {
		t.Fatalf("re-enqueue replaced the payload with %q", got.Payload)
	}
	e.wantOutboxLeased("first lease", e.leaseOutbox("o1", 10, t0, time.Minute), "m1", "m2")
	e.enqueue(m1)
	e.wantOutboxLeased("after re-enqueue of a leased entry", e.leaseOutbox("o2", 10, t0, time.Minute))
	must(t, e.s.CompleteOutbox(e.ctx, "m1", "o1", "msg-1", t0), "CompleteOutbox")
	e.enqueue(m1)
	if got := e.getOutbox("m1"); got.Status != store.OutboxSent || got.Result != "msg-1" {
		t.Fatalf("re-enqueue of a sent entry made it %s %q", got.Status, got.Result)
	}
	e.wantOutboxLeased("after re-enqueue of a sent entry", e.leaseOutbox("o2", 10, t0.Add(time.Hour), time.Minute), "m2")
}

func testOutboxLeaseOrder(t *testing.T, e *env) {
	t0 := e.clock.Now()
	later := outEntry("later", t0.Add(-4*time.Minute))
	later.NotBefore = t0.Add(10 * time.Minute)
	e.enqueue(outEntry("new", t0.Add(-time.Minute)), later)
	e.enqueue(outEntry("old", t0.Add(-3*time.Minute)), outEntry("mid", t0.Add(-2*time.Minute)))

	e.wantOutboxLeased("max 1", e.leaseOutbox("o1", 1, t0, time.Minute), "old")
	e.wantOutboxLeased("max 2", e.leaseOutbox("o1", 2, t0, time.Minute), "mid", "new")
	e.wantOutboxLeased("not before", e.leaseOutbox("o2", 10, t0.Add(30*time.Second), time.Minute))
	if got := e.getOutbox("later"); got.Status != store.OutboxPending || got.LeaseOwner != "" {
		t.Fatalf("an entry not yet due is %s leased to %q", got.Status, got.LeaseOwner)
	}
	// Once due, an entry takes its place by age, before newer ones whose leases ran out.
	e.wantOutboxLeased("all due", e.leaseOutbox("o2", 10, t0.Add(10*time.Minute), time.Minute), "later", "old", "mid", "new")
	e.wantOutboxLeased("max 0", e.leaseOutbox("o3", 0, t0.Add(time.Hour), time.Minute))
}

func testOutboxLifecycle(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.enqueue(outEntry("a", t0), outEntry("b", t0.Add(1)), outEntry("c", t0.Add(2)), outEntry("d", t0.Add(3)))
	e.wantOutboxLeased("all", e.leaseOutbox("o1", 10, t0, time.Minute), "a", "b", "c", "d")

	// Only the lease owner may finish an entry.
	wantCode(t, e.s.CompleteOutbox(e.ctx, "a", "o2", "msg-x", t0), community.EConflict, "CompleteOutbox by another owner")
	wantCode(t, e.s.ReleaseOutbox(e.ctx, "b", "o2", t0, "", true), community.EConflict, "ReleaseOutbox by another owner")
	wantCode(t, e.s.FailOutbox(e.ctx, "d", "o2", "boom", t0), community.EConflict, "FailOutbox by another owner")
	if got := e.getOutbox("a"); got.Status != store.OutboxPending || got.LeaseOwner != "o1" || got.Result != "" {
		t.Fatalf("after a stranger's complete: %s owner %q result %q", got.Status, got.LeaseOwner, got.Result)
	}
	for _, err := range []error{
		e.s.CompleteOutbox(e.ctx, "zz", "o1", "", t0),
		e.s.ReleaseOutbox(e.ctx, "zz", "o1", t0, "", false),
		e.s.FailOutbox(e.ctx, "zz", "o1", "", t0),
	} {
		wantCode(t, err, community.ENotFound, "finishing a missing entry")
	}

	sentAt := t0.Add(time.Second)
	must(t, e.s.CompleteOutbox(e.ctx, "a", "o1", "om_123", sentAt), "CompleteOutbox")
	if got := e.getOutbox("a"); got.Status != store.OutboxSent || got.Result != "om_123" || !got.SentAt.Equal(sentAt) {
		t.Fatalf("after complete: %s result %q sent %v", got.Status, got.Result, got.SentAt)
	}

	// Deferred by a rate limit: the try does not count.
	must(t, e.s.ReleaseOutbox(e.ctx, "b", "o1", t0.Add(5*time.Minute), "rate limited", false), "ReleaseOutbox")
	if got := e.getOutbox("b"); got.Status != store.OutboxPending || got.Attempts != 0 || !got.NotBefore.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after a deferral: %s attempts %d not before %v", got.Status, got.Attempts, got.NotBefore)
	}
	// A failed send: it counts and its error is kept.
	must(t, e.s.ReleaseOutbox(e.ctx, "c", "o1", t0.Add(2*time.Minute), "timeout", true), "ReleaseOutbox")
	if got := e.getOutbox("c"); got.Status != store.OutboxPending || got.Attempts != 1 || got.LastError != "timeout" ||
		!got.NotBefore.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after a failed try: %s attempts %d error %q not before %v", got.Status, got.Attempts, got.LastError, got.NotBefore)
	}
	must(t, e.s.FailOutbox(e.ctx, "d", "o1", "chat dissolved", t0), "FailOutbox")
	if got := e.getOutbox("d"); got.Status != store.OutboxFailed || got.LastError != "chat dissolved" {
		t.Fatalf("after fail: %s error %q", got.Status, got.LastError)
	}
	// A released entry has no owner until leased again.
	wantCode(t, e.s.CompleteOutbox(e.ctx, "b", "o1", "", t0), community.EConflict, "CompleteOutbox of a released entry")

	e.wantOutboxLeased("before any is due", e.leaseOutbox("o2", 10, t0.Add(time.Minute+time.Second), time.Minute))
	e.wantOutboxLeased("c due", e.leaseOutbox("o2", 10, t0.Add(2*time.Minute), time.Hour), "c")
	if got := e.getOutbox("c"); got.Attempts != 1 {
		t.Fatalf("leasing changed attempts to %d", got.Attempts)
	}
	e.wantOutboxLeased("b due", e.leaseOutbox("o3", 10, t0.Add(5*time.Minute), time.Minute), "b")
	must(t, e.s.ReleaseOutbox(e.ctx, "b", "o3", t0.Add(5*time.Minute), "timeout", true), "ReleaseOutbox")
	e.wantOutboxLeased("all due again", e.leaseOutbox("o4", 10, t0.Add(3*time.Hour), time.Minute), "b", "c")
	if got := e.getOutbox("b"); got.Attempts != 1 {
		t.Fatalf("b has %d attempts after one failed try", got.Attempts)
	}
	// Sent and failed entries are never handed out again.
	e.wantOutboxLeased("all finished or leased", e.leaseOutbox("o5", 10, t0.Add(3*time.Hour+time.Second), time.Minute))
	must(t, e.s.CompleteOutbox(e.ctx, "b", "o4", "om_b", t0.Add(3*time.Hour)), "CompleteOutbox")
	must(t, e.s.FailOutbox(e.ctx, "c", "o4", "gave up", t0.Add(3*time.Hour)), "FailOutbox")
	e.wantOutboxLeased("all finished", e.leaseOutbox("o5", 10, t0.Add(48*time.Hour), time.Minute))
}

func testOutboxExpiredLease(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.enqueue(outEntry("x", t0))
	e.wantOutboxLeased("first", e.leaseOutbox("replica-1", 10, t0, time.Minute), "x")
	e.wantOutboxLeased("while leased", e.leaseOutbox("replica-2", 10, t0.Add(59*time.Second), time.Minute))

	// replica-1 crashes; once its lease runs out replica-2 takes the entry over, and
	// replica-1 (back from the dead) can no longer finish it.
	e.wantOutboxLeased("after the lease ran out", e.leaseOutbox("replica-2", 10, t0.Add(61*time.Second), time.Minute), "x")
	wantCode(t, e.s.CompleteOutbox(e.ctx, "x", "replica-1", "om_1", t0.Add(62*time.Second)), community.EConflict, "CompleteOutbox by the old owner")
	wantCode(t, e.s.ReleaseOutbox(e.ctx, "x", "replica-1", t0, "", true), community.EConflict, "ReleaseOutbox by the old owner")
	wantCode(t, e.s.FailOutbox(e.ctx, "x", "replica-1", "", t0), community.EConflict, "FailOutbox by the old owner")
	must(t, e.s.CompleteOutbox(e.ctx, "x", "replica-2", "om_2", t0.Add(62*time.Second)), "CompleteOutbox")
	if got := e.getOutbox("x"); got.Status != store.OutboxSent || got.Result != "om_2" || got.Attempts != 0 {
		t.Fatalf("after takeover and send: %s result %q attempts %d", got.Status, got.Result, got.Attempts)
	}
	e.wantOutboxLeased("sent", e.leaseOutbox("replica-1", 10, t0.Add(time.Hour), time.Minute))
}

func (e *env) wantStats(batch string, want store.OutboxStats) {
	e.t.Helper()
	got, err := e.s.OutboxStats(e.ctx, batch)
	must(e.t, err, "OutboxStats")
	if got != want {
		e.t.Fatalf("OutboxStats(%q) = %+v, want %+v", batch, got, want)
	}
}

func testOutboxStats(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.wantStats("", store.OutboxStats{})
	var entries []store.OutboxEntry
	for i, b := range []string{"b1", "b1", "b1", "b2", "b2", ""} {
		en := outEntry(fmt.Sprintf("%s-%d", b, i), t0.Add(time.Duration(i)))
		en.Batch = b
		entries = append(entries, en)
	}
	e.enqueue(entries...)
	e.enqueue(entries[0]) // a duplicate counts once
	e.wantStats("b1", store.OutboxStats{Pending: 3})
	e.wantStats("b2", store.OutboxStats{Pending: 2})
	e.wantStats("", store.OutboxStats{Pending: 6})
	e.wantStats("b3", store.OutboxStats{})

	ids := e.leaseOutbox("o1", 10, t0, time.Minute)
	if len(ids) != 6 {
		t.Fatalf("leased %v", ids)
	}
	must(t, e.s.CompleteOutbox(e.ctx, "b1-0", "o1", "om", t0), "CompleteOutbox")
	must(t, e.s.ReleaseOutbox(e.ctx, "b1-1", "o1", t0, "timeout", true), "ReleaseOutbox")
	must(t, e.s.FailOutbox(e.ctx, "b2-3", "o1", "blocked", t0), "FailOutbox")
	e.wantStats("b1", store.OutboxStats{Pending: 2, Sent: 1})
	e.wantStats("b2", store.OutboxStats{Pending: 1, Failed: 1})
	e.wantStats("", store.OutboxStats{Pending: 4, Sent: 1, Failed: 1})
}

func testOutboxConcurrentLease(t *testing.T, e *env) {
	now := e.clock.Now()
	const n = 200
	var entries []store.OutboxEntry
	for i := range n {
		en := outEntry(fmt.Sprintf("m%03d", i), now.Add(time.Duration(i)*time.Millisecond))
		en.Batch = "broadcast"
		entries = append(entries, en)
	}
	e.enqueue(entries...)

	leasedOnce(t, 8, n, "entries",
		func(owner string) ([]string, error) {
			got, err := e.s.LeaseOutbox(e.ctx, owner, 5, now, time.Hour)
			ids := make([]string, len(got))
			for i, en := range got {
				ids[i] = en.ID
			}
			return ids, err
		},
		func(owner, id string) error { return e.s.CompleteOutbox(e.ctx, id, owner, "om_"+id, now) })
	e.wantStats("broadcast", store.OutboxStats{Sent: n})
}
