package bolt

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// AckInboundBatch does what AckInbound does for each id, reporting an unknown one with the
// others acked; for events already in bbolt its write takes no commit of its own while another
// write comes: it rides in that write's commit (here the checkpoint of a new event).
func TestAckInboundBatchRidesAlong(t *testing.T) {
	defer func(w time.Duration) { lazyWait = w }(lazyWait)
	lazyWait = time.Hour // the acks can only be written by riding in another commit
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "nb.db"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var entries []store.InboundEntry
	for _, id := range []string{"feishu:a", "feishu:b", "feishu:c"} {
		entries = append(entries, store.InboundEntry{ID: id, Payload: []byte(`{}`), LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)})
	}
	if _, err := s.PutInboundBatch(ctx, entries, now); err != nil {
		t.Fatal(err)
	}
	if err := s.checkpoint(ctx); err != nil { // out of the journal: acks go to bbolt
		t.Fatal(err)
	}
	acked := make(chan error, 1)
	go func() { acked <- s.AckInboundBatch(ctx, []string{"feishu:a", "feishu:missing", "feishu:b"}, now) }()
	waitLazy(t, s, 1)
	select {
	case err := <-acked:
		t.Fatalf("the batch was written without a commit to ride in: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	// Another write comes: the acks commit with it.
	if _, err := s.PutInbound(ctx, "feishu:d", []byte(`{}`), now); err != nil {
		t.Fatal(err)
	}
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-acked; community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("a batch with an unknown id: err %v, want not found for it", err)
	}
	// a and b are handled: once every lease has run out only c and d are handed out again, and
	// none is accepted as new.
	got, err := s.LeaseInbound(ctx, "r2", 10, now.Add(2*time.Minute), time.Minute)
	if err != nil || len(got) != 2 || got[0].ID+got[1].ID != "feishu:dfeishu:c" { // d was due first
		t.Fatalf("LeaseInbound after the batch: %+v, %v; want feishu:c and feishu:d", got, err)
	}
	fresh, err := s.PutInboundBatch(ctx, entries, now.Add(2*time.Minute))
	if err != nil || fresh[0] || fresh[1] || fresh[2] {
		t.Fatalf("re-recording acked events: fresh %v, %v; want none", fresh, err)
	}
}

// Acks that no other write takes along are written within lazyWait, and Close writes those
// still waiting before it closes the file.
func TestAckInboundBatchAlone(t *testing.T) {
	defer func(w time.Duration) { lazyWait = w }(lazyWait)
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s, err := Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"feishu:a", "feishu:b"} {
		if _, err := s.PutInbound(ctx, id, []byte(`{}`), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	lazyWait = 10 * time.Millisecond
	if err := s.AckInboundBatch(ctx, []string{"feishu:a"}, now); err != nil {
		t.Fatalf("a lone batch: %v", err)
	}
	lazyWait = time.Hour
	acked := make(chan error, 1)
	go func() { acked <- s.AckInboundBatch(ctx, []string{"feishu:b"}, now) }()
	waitLazy(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-acked; err != nil {
		t.Fatalf("an ack waiting at Close: %v", err)
	}
	s, err = Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.LeaseInbound(ctx, "r2", 10, now, time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("LeaseInbound after both acks: %+v, %v; want none", got, err)
	}
}

// waitLazy waits until n lazy writes wait for a commit.
func waitLazy(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.inbox.mu.Lock()
		got := len(s.inbox.lazy)
		s.inbox.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d lazy writes never waited", n)
}
