package storetest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
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

	var mu sync.Mutex
	handed := map[string][]string{} // id → owners
	total := 0
	var wg sync.WaitGroup
	for w := range 4 {
		owner := fmt.Sprintf("replica-%d", w)
		wg.Go(func() {
			for {
				got, err := e.s.LeaseInbound(e.ctx, owner, 7, now, time.Hour)
				if err != nil {
					t.Errorf("LeaseInbound: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, en := range got {
					handed[en.ID] = append(handed[en.ID], owner)
				}
				total += len(got)
				sofar := total
				mu.Unlock()
				if sofar > n { // a backend that hands entries out again would loop forever
					t.Errorf("%d entries handed out for %d recorded", sofar, n)
					return
				}
				for _, en := range got {
					if err := e.s.AckInbound(e.ctx, en.ID, now); err != nil {
						t.Errorf("AckInbound: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(handed) != n {
		t.Fatalf("%d of %d events were handed out", len(handed), n)
	}
	for _, id := range slices.Sorted(maps.Keys(handed)) {
		if owners := handed[id]; len(owners) != 1 {
			t.Errorf("%s was handed to %v", id, owners)
		}
	}
}
