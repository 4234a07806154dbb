package bolt

import (
	"context"
	"path/filepath"
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
