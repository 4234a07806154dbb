package storetest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

func (e *env) putInbound(id string, now time.Time, want bool) {
	e.t.Helper()
	got, err := e.s.PutInbound(e.ctx, id, []byte("payload of "+id), now)
	must(e.t, err, "PutInbound")
	if got != want {
		e.t.Fatalf("PutInbound(%q) = %v, want %v", id, got, want)
	}
}

// leaseInbound leases and checks what comes back, returning the ids in sorted order.
func (e *env) leaseInbound(owner string, max int, now time.Time, lease time.Duration) []string {
	e.t.Helper()
	entries, err := e.s.LeaseInbound(e.ctx, owner, max, now, lease)
	must(e.t, err, "LeaseInbound")
	if len(entries) > max {
		e.t.Fatalf("LeaseInbound(max %d) returned %d entries", max, len(entries))
	}
	var ids []string
	for _, en := range entries {
		ids = append(ids, en.ID)
		if want := []byte("payload of " + en.ID); !bytes.Equal(en.Payload, want) {
			e.t.Errorf("leased %s with payload %q, want %q", en.ID, en.Payload, want)
		}
		if en.LeaseOwner != owner || !en.LeaseUntil.Equal(now.Add(lease)) {
			e.t.Errorf("leased %s to %s until %v, want %s until %v", en.ID, en.LeaseOwner, en.LeaseUntil, owner, now.Add(lease))
		}
		if en.Received.IsZero() || en.Received.After(now) {
			e.t.Errorf("leased %s received at %v, leased at %v", en.ID, en.Received, now)
		}
	}
	slices.Sort(ids)
	return ids
}

func (e *env) wantLeased(what string, got []string, want ...string) {
	e.t.Helper()
	if !slices.Equal(got, want) {
		e.t.Fatalf("%s: leased %v, want %v", what, got, want)
	}
}

func testInboxDedupe(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.putInbound("ev1", t0, true)
	e.putInbound("ev1", t0, false)
	e.putInbound("ev2", t0.Add(time.Second), true)
	e.putInbound("ev1", t0.Add(time.Hour), false)

	batch := func(ids ...string) []store.InboundEntry {
		var out []store.InboundEntry
		for _, id := range ids {
			out = append(out, store.InboundEntry{ID: id, Payload: []byte("payload of " + id)})
		}
		return out
	}
	got, err := e.s.PutInboundBatch(e.ctx, batch("ev3", "ev4", "ev3", "ev1", "ev5"), t0)
	must(t, err, "PutInboundBatch")
	if want := []bool{true, true, false, false, true}; !slices.Equal(got, want) {
		t.Fatalf("PutInboundBatch(ev3 ev4 ev3 ev1 ev5) = %v, want %v", got, want)
	}
	got, err = e.s.PutInboundBatch(e.ctx, nil, t0)
	must(t, err, "PutInboundBatch(nil)")
	if len(got) != 0 {
		t.Fatalf("PutInboundBatch(nil) = %v", got)
	}
	e.putInbound("ev4", t0, false)

	// Each recorded event is handed out once, with the payload it was first recorded with.
	e.wantLeased("all", e.leaseInbound("w1", 10, t0.Add(time.Minute), time.Minute), "ev1", "ev2", "ev3", "ev4", "ev5")

	// A handled event's id still dedupes throughout the retention window.
	must(t, e.s.AckInbound(e.ctx, "ev1", t0.Add(time.Minute)), "AckInbound")
	e.putInbound("ev1", t0.Add(time.Minute), false)
	e.putInbound("ev1", t0.Add(store.InboxRetention-time.Minute), false)
	got, err = e.s.PutInboundBatch(e.ctx, batch("ev1", "ev6"), t0.Add(store.InboxRetention-time.Minute))
	must(t, err, "PutInboundBatch")
	if want := []bool{false, true}; !slices.Equal(got, want) {
		t.Fatalf("PutInboundBatch(ev1 ev6) after ack = %v, want %v", got, want)
	}
}

func testInboxLease(t *testing.T, e *env) {
	t0 := e.clock.Now()
	for _, id := range []string{"a", "b", "c"} {
		e.putInbound(id, t0, true)
	}
	first := e.leaseInbound("w1", 2, t0, time.Minute)
	if len(first) != 2 {
		t.Fatalf("LeaseInbound(max 2) of 3 events: %v", first)
	}
	rest := e.leaseInbound("w2", 10, t0.Add(30*time.Second), time.Minute)
	if len(rest) != 1 || slices.Contains(first, rest[0]) {
		t.Fatalf("second lease got %v after the first got %v", rest, first)
	}
	e.wantLeased("everything leased", e.leaseInbound("w3", 10, t0.Add(59*time.Second), time.Minute))

	// w1 handles one event and dies holding the other: once its lease runs out the other is
	// handed out again; the handled one never is.
	must(t, e.s.AckInbound(e.ctx, first[0], t0.Add(40*time.Second)), "AckInbound")
	e.wantLeased("after w1's lease ran out", e.leaseInbound("w3", 10, t0.Add(61*time.Second), time.Minute), first[1])
	e.wantLeased("after w2's lease ran out", e.leaseInbound("w4", 10, t0.Add(91*time.Second), time.Minute), rest[0])
	e.wantLeased("all leases live", e.leaseInbound("w5", 10, t0.Add(100*time.Second), time.Minute))

	must(t, e.s.AckInbound(e.ctx, first[1], t0.Add(100*time.Second)), "AckInbound")
	must(t, e.s.AckInbound(e.ctx, rest[0], t0.Add(100*time.Second)), "AckInbound")
	e.wantLeased("all handled", e.leaseInbound("w5", 10, t0.Add(time.Hour), time.Minute))
	for _, id := range []string{"a", "b", "c"} {
		e.putInbound(id, t0.Add(time.Hour), false)
	}
}

func testInboxConcurrentLease(t *testing.T, e *env) {
	now := e.clock.Now()
	const n = 100
	var entries []store.InboundEntry
	for i := range n {
		id := fmt.Sprintf("ev%03d", i)
		entries = append(entries, store.InboundEntry{ID: id, Payload: []byte("payload of " + id)})
	}
	_, err := e.s.PutInboundBatch(e.ctx, entries, now)
	must(t, err, "PutInboundBatch")

	leasedOnce(t, 4, n, "events",
		func(owner string) ([]string, error) {
			got, err := e.s.LeaseInbound(e.ctx, owner, 7, now, time.Hour)
			return inboundIDs(got), err
		},
		func(owner, id string) error { return e.s.AckInbound(e.ctx, id, now) })
}

func inboundIDs(es []store.InboundEntry) []string {
	ids := make([]string, len(es))
	for i, en := range es {
		ids[i] = en.ID
	}
	return ids
}

// leasedOnce runs workers concurrent leasers, each finishing what it leased, until nothing is
// left, and checks that every one of the n recorded entries was handed to exactly one owner.
func leasedOnce(t *testing.T, workers, n int, what string, lease func(owner string) ([]string, error), finish func(owner, id string) error) {
	t.Helper()
	var mu sync.Mutex
	handed := map[string][]string{} // id → owners
	total := 0
	var wg sync.WaitGroup
	for w := range workers {
		owner := fmt.Sprintf("replica-%d", w)
		wg.Go(func() {
			for {
				got, err := lease(owner)
				if err != nil {
					t.Errorf("lease by %s: %v", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, id := range got {
					handed[id] = append(handed[id], owner)
				}
				total += len(got)
				sofar := total
				mu.Unlock()
				if sofar > n { // a backend that hands entries out again would loop forever
					t.Errorf("%d %s handed out for %d recorded", sofar, what, n)
					return
				}
				for _, id := range got {
					if err := finish(owner, id); err != nil {
						t.Errorf("finish %s by %s: %v", id, owner, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(handed) != n {
		t.Fatalf("%d of %d %s were handed out", len(handed), n, what)
	}
	for _, id := range slices.Sorted(maps.Keys(handed)) {
		if owners := handed[id]; len(owners) != 1 {
			t.Errorf("%s was handed to %v", id, owners)
		}
	}
}

// leasedBatch builds entries for PutInboundBatch; an id written "id@owner" is given a lease to
// owner until until.
func leasedBatch(until time.Time, ids ...string) []store.InboundEntry {
	var out []store.InboundEntry
	for _, s := range ids {
		id, owner, _ := strings.Cut(s, "@")
		en := store.InboundEntry{ID: id, Payload: []byte("payload of " + id)}
		if owner != "" {
			en.LeaseOwner, en.LeaseUntil = owner, until
		}
		out = append(out, en)
	}
	return out
}

func (e *env) putInboundBatch(what string, entries []store.InboundEntry, now time.Time, want ...bool) {
	e.t.Helper()
	got, err := e.s.PutInboundBatch(e.ctx, entries, now)
	must(e.t, err, "PutInboundBatch "+what)
	if !slices.Equal(got, want) {
		e.t.Fatalf("PutInboundBatch %s = %v, want %v", what, got, want)
	}
}

// testInboxLeasedOnPut: the replica that receives events records them leased to itself, so
// no one else is handed them until that lease runs out (the receiver died).
func testInboxLeasedOnPut(t *testing.T, e *env) {
	t0 := e.clock.Now()
	until := t0.Add(time.Minute)
	e.putInboundBatch("mixed", leasedBatch(until, "a@r1", "b", "a@r2", "c@r1", "d@r1"), t0,
		true, true, false, true, true)
	// A duplicate of a leased event reports false, leased or not, and changes nothing.
	e.putInboundBatch("again", leasedBatch(t0.Add(time.Hour), "a@r2", "c", "e@r2"), t0.Add(time.Second),
		false, false, true)

	// Only the unleased event is handed out while the receivers' leases are live.
	e.wantLeased("receivers' leases live", e.leaseInbound("w", 10, t0, time.Minute), "b")
	e.wantLeased("just before they run out", e.leaseInbound("w", 10, t0.Add(59*time.Second), time.Minute))

	// r1 handles a and dies holding c and d: those are handed out again once its lease runs
	// out, as their second attempt; e stays with r2, whose lease is an hour.
	must(t, e.s.AckInbound(e.ctx, "a", t0.Add(30*time.Second)), "AckInbound")
	must(t, e.s.AckInbound(e.ctx, "b", t0.Add(30*time.Second)), "AckInbound")
	at := t0.Add(61 * time.Second)
	entries, err := e.s.LeaseInbound(e.ctx, "w2", 10, at, time.Hour)
	must(t, err, "LeaseInbound")
	var ids []string
	for _, en := range entries {
		ids = append(ids, en.ID)
		if en.Attempts != 2 {
			t.Errorf("%s leased again with attempts %d, want 2", en.ID, en.Attempts)
		}
		if want := []byte("payload of " + en.ID); !bytes.Equal(en.Payload, want) {
			t.Errorf("%s leased again with payload %q, want %q", en.ID, en.Payload, want)
		}
		if !en.Received.Equal(t0) {
			t.Errorf("%s received at %v, want %v", en.ID, en.Received, t0)
		}
	}
	slices.Sort(ids)
	e.wantLeased("after r1's lease ran out", ids, "c", "d")
	e.wantLeased("r2's lease live", e.leaseInbound("w3", 10, t0.Add(2*time.Minute+30*time.Second), time.Minute))

	// A lease that ends by now is no lease: the event is due at once. An ack by the receiver
	// works as for any leased event, and the id keeps deduping.
	e.putInboundBatch("stale lease", leasedBatch(t0.Add(2*time.Minute), "f@r1"), t0.Add(3*time.Minute), true)
	e.wantLeased("stale lease", e.leaseInbound("w3", 10, t0.Add(3*time.Minute), time.Minute), "f")
	for _, id := range []string{"c", "d", "e", "f"} {
		must(t, e.s.AckInbound(e.ctx, id, t0.Add(3*time.Minute)), "AckInbound "+id)
	}
	e.wantLeased("all handled", e.leaseInbound("w3", 10, t0.Add(2*time.Hour), time.Minute))
	e.putInboundBatch("handled", leasedBatch(t0.Add(3*time.Hour), "a@r3", "b@r3", "e@r3", "f"), t0.Add(2*time.Hour),
		false, false, false, false)
}

// testPersistInboxLeased: an event leased on put survives a restart with its lease (the
// receiver's crash after the platform's ack), and is handed out once that lease runs out; or,
// with LeasesEndAtReopen, at once.
func testPersistInboxLeased(t *testing.T, e *env) {
	e.requirePersistent()
	t0 := e.clock.Now()
	e.putInboundBatch("leased", leasedBatch(t0.Add(time.Minute), "a@r1", "b@r1", "c"), t0, true, true, true)
	e.restart()
	e.putInboundBatch("after restart", leasedBatch(t0.Add(time.Hour), "a@r2", "b", "c@r2"), t0.Add(time.Second),
		false, false, false)
	if e.leasesEnd {
		e.wantLeased("r1's leases released at reopen", e.leaseInbound("w", 10, t0.Add(time.Second), time.Hour), "a", "b", "c")
		e.wantLeased("leased again", e.leaseInbound("w", 10, t0.Add(2*time.Minute), time.Hour))
		return
	}
	e.wantLeased("r1's lease live", e.leaseInbound("w", 10, t0.Add(30*time.Second), time.Hour), "c")
	e.wantLeased("r1's lease ran out", e.leaseInbound("w", 10, t0.Add(2*time.Minute), time.Hour), "a", "b")
}
