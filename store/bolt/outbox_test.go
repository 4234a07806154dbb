package bolt

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/store"
)

// TestLeaseOutboxIdleDoesNotCommit: a dispatcher polls often, so a lease that finds nothing
// due must not commit (a commit is an fsync); one that finds something does.
func TestLeaseOutboxIdleDoesNotCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	txid := func() int {
		var id int
		if err := s.db.View(func(tx *bbolt.Tx) error { id = tx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := s.Enqueue(ctx, store.OutboxEntry{ID: "later", Platform: "local", Chat: "g", CreatedAt: t0, NotBefore: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	before := txid()
	for range 3 {
		if es, err := s.LeaseOutbox(ctx, "d", 10, t0, time.Minute); err != nil || len(es) != 0 {
			t.Fatalf("idle lease: %v, %v", es, err)
		}
	}
	if after := txid(); after != before {
		t.Fatalf("idle leases committed: txid %d → %d", before, after)
	}
	es, err := s.LeaseOutbox(ctx, "d", 10, t0.Add(time.Minute), time.Minute)
	if err != nil || len(es) != 1 {
		t.Fatalf("due lease: %v, %v", es, err)
	}
	if after := txid(); after == before {
		t.Fatal("a lease that took an entry did not commit")
	}
}

// TestLeaseOutboxInAFailedGroup: a lease shares the group commit, and when another write in
// its group fails the group runs again without it; the lease must then hand out each entry
// once, not once per run.
func TestLeaseOutboxInAFailedGroup(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := s.Enqueue(ctx, store.OutboxEntry{ID: "m1", Platform: "local", Chat: "g", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	queued := func(n int) {
		for deadline := time.Now().Add(5 * time.Second); ; {
			s.inbox.mu.Lock()
			got := len(s.inbox.queue)
			s.inbox.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A leader holds a commit open while the lease and then a failing write queue behind it.
	hold, held := make(chan struct{}), make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		leader <- s.grouped(ctx, "hold", func(*bbolt.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	type leased struct {
		es  []store.OutboxEntry
		err error
	}
	lease := make(chan leased, 1)
	go func() {
		es, err := s.LeaseOutbox(ctx, "d", 10, t0, time.Minute)
		lease <- leased{es, err}
	}()
	queued(1)
	failing := make(chan error, 1)
	go func() {
		failing <- s.grouped(ctx, "fail", func(*bbolt.Tx) error { return errors.New("boom") })
	}()
	queued(2)
	close(hold)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	if err := <-failing; err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("the failing write returned %v", err)
	}
	got := <-lease
	if got.err != nil || len(got.es) != 1 || got.es[0].ID != "m1" {
		t.Fatalf("lease in a group that ran twice: %+v, %v", got.es, got.err)
	}
}
