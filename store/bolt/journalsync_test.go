package bolt

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// openSynced opens path with SyncEvents: every put waits for its append's fdatasync.
func openSynced(t *testing.T, path string, now time.Time) *Store {
	t.Helper()
	return openWith(t, path, Options{Now: func() time.Time { return now }, SyncEvents: true})
}

// countSyncs counts the journal's syncs of s from now on (each still flushes).
func countSyncs(s *Store) *atomic.Int64 {
	var n atomic.Int64
	j := s.journal
	j.mu.Lock()
	j.syncFile = func(f *os.File) error { n.Add(1); return syncData(f) }
	j.mu.Unlock()
	return &n
}

// With SyncEvents an append is recorded at once (a retry is a duplicate before the sync) and
// durable once its wait returns; the appends made while a sync runs share the next one.
func TestJournalPutsShareSyncs(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openSynced(t, path, now)
	defer s.Close()
	stopCheckpoints(s)
	j := s.journal
	var syncs atomic.Int64
	release := make(chan struct{})
	j.mu.Lock()
	j.syncFile = func(f *os.File) error { // a slow disk: every sync waits for the test
		syncs.Add(1)
		<-release
		return syncData(f)
	}
	j.mu.Unlock()

	fresh, k, epoch, end, ids, err := s.appendJournal(ctx, []store.InboundEntry{{ID: "feishu:a", Payload: []byte(`{"a":1}`)}}, now)
	if err != nil || !fresh[0] {
		t.Fatalf("append: %v, %v", fresh, err)
	}
	wait := func() error { return s.waitJournal(k, epoch, end, ids) }
	// Recorded before it is durable: a retry is a duplicate.
	if dup, err := s.PutInbound(ctx, "feishu:a", []byte(`{}`), now); err != nil || dup {
		t.Fatalf("a retry before the sync: fresh %v, %v; want a duplicate", dup, err)
	}
	first := make(chan error, 1)
	go func() { first <- wait() }() // its sync starts and blocks in syncFile
	waitUntil(t, "the first sync running", func() bool { return syncs.Load() == 1 })

	// Twenty more arrive while it runs: they share one sync after it.
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: fmt.Sprintf("feishu:b%d", i), Payload: []byte(`{}`)}}, now)
			errs <- err
		})
	}
	waitUntil(t, "the twenty appended", func() bool { return journalRecords(t, path) == n+1 })
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := syncs.Load(); got != 2 {
		t.Errorf("%d syncs for one event and twenty that came during its sync, want 2", got)
	}
	crash(t, s)
	s = openSynced(t, path, now)
	defer s.Close()
	if fresh, err := s.PutInbound(ctx, "feishu:b7", []byte(`{}`), now); err != nil || fresh {
		t.Errorf("after a crash b7 fresh %v, %v; want a duplicate (it was acknowledged)", fresh, err)
	}
}

// A sync that fails is made good by a checkpoint: the events are committed to bbolt and the
// put succeeds. If that commit fails too, the put fails, and the platform's retry finds the
// event recorded (a duplicate): it is not handled twice.
func TestJournalSyncFails(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openSynced(t, path, now)
	defer s.Close()
	stopCheckpoints(s)
	j := s.journal
	eio := &os.PathError{Op: "fdatasync", Path: j.paths[0], Err: syscall.EIO}
	j.mu.Lock()
	j.syncFile = func(*os.File) error { return eio }
	j.mu.Unlock()
	if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: "feishu:a", Payload: []byte(`{}`)}}, now); err != nil {
		t.Fatalf("a put whose sync failed but whose checkpoint worked: %v", err)
	}
	if j.hasPending() {
		t.Fatal("the event is still only in the journal: the checkpoint did not take it")
	}
	if fresh, err := s.PutInbound(ctx, "feishu:a", []byte(`{}`), now); err != nil || fresh {
		t.Fatalf("a retry: fresh %v, %v; want a duplicate", fresh, err)
	}

	// Now the checkpoint's commit fails as well (a disk gone bad): the put fails, and the
	// event stays recorded, so the platform's retry is a duplicate.
	afterSeal = func() error { return eio }
	defer func() { afterSeal = nil }()
	_, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: "feishu:b", Payload: []byte(`{}`)}}, now)
	var ue *store.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("a put whose sync and checkpoint failed: %v; want store unavailable, EIO", err)
	}
	afterSeal = nil
	if fresh, err := s.PutInbound(ctx, "feishu:b", []byte(`{}`), now); err != nil || fresh {
		t.Fatalf("the retry of b: fresh %v, %v; want a duplicate", fresh, err)
	}
	if err := s.checkpoint(ctx); err != nil || j.hasPending() {
		t.Fatalf("the next checkpoint: %v, pending %v; want b in bbolt", err, j.hasPending())
	}
}

// By default a put does not wait for a flush: the append is written (a kill -9 of the process
// keeps it, the kernel holds it) and reaches the disk with its checkpoint's synced commit. A
// hundred puts from many goroutines cost no fdatasync of the journal; after a crash every one
// of them is known, and after a checkpoint they are in bbolt.
func TestJournalDefaultFlushesWithCheckpoints(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	stopCheckpoints(s)
	syncs := countSyncs(s)
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			fresh, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: fmt.Sprintf("feishu:e%d", i), Payload: []byte(`{}`)}}, now)
			if err != nil || !fresh[0] {
				t.Errorf("put e%d: %v, %v", i, fresh, err)
			}
		})
	}
	wg.Wait()
	if got := syncs.Load(); got != 0 {
		t.Errorf("%d journal syncs for %d puts, want none (they ride the checkpoint)", got, n)
	}
	if got := journalRecords(t, path); got != n {
		t.Fatalf("%d events written to the journal, want %d", got, n)
	}
	crash(t, s) // kill -9: the files are as the kernel holds them

	s = openAt(t, path, now, nil)
	defer s.Close()
	for i := range n {
		if fresh, err := s.PutInbound(ctx, fmt.Sprintf("feishu:e%d", i), []byte(`{}`), now); err != nil || fresh {
			t.Fatalf("after a crash e%d fresh %v, %v; want a duplicate (it was acknowledged)", i, fresh, err)
		}
	}
	stopCheckpoints(s)
	if err := s.checkpoint(ctx); err != nil || s.journal.hasPending() {
		t.Fatalf("checkpoint: %v, pending %v; want every event in bbolt", err, s.journal.hasPending())
	}
	if n := journalRecords(t, path); n != 0 {
		t.Fatalf("%d events left in the journal after the checkpoint, want none", n)
	}
}

// When a checkpoint fails, the timed checkpoint flushes the journal itself: events do not
// stay unflushed for as long as bbolt cannot commit. Once a checkpoint works they move on.
func TestJournalFailedCheckpointFlushes(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	defer s.Close()
	stopCheckpoints(s)
	j := s.journal
	syncs := countSyncs(s)
	if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: "feishu:a", Payload: []byte(`{}`)}}, now); err != nil {
		t.Fatal(err)
	}
	eio := &os.PathError{Op: "write", Path: path, Err: syscall.EIO}
	afterSeal = func() error { return eio }
	s.checkpointTick(slog.New(slog.DiscardHandler))
	afterSeal = nil
	if got := syncs.Load(); got != 1 {
		t.Fatalf("%d journal syncs after a failed checkpoint, want 1", got)
	}
	if !j.hasPending() {
		t.Fatal("the event left the journal although its checkpoint failed")
	}
	s.checkpointTick(slog.New(slog.DiscardHandler)) // nothing new written: no second sync
	if got := syncs.Load(); got != 1 || j.hasPending() {
		t.Fatalf("after a checkpoint that worked: %d syncs (want 1), pending %v (want none)", got, j.hasPending())
	}
}

// AckInboundLater and RecordOutboxLater (bot.LaterAcker) return at once: an event still in
// the journal is acked in memory and written handled by its checkpoint; one already in bbolt,
// and the records of sent replies, join the next commit. From many goroutines at once, every
// ack and record is there after FlushLater.
func TestAckAndRecordLater(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	defer s.Close()
	stopCheckpoints(s)
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("feishu:e%d", i)
			if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: id, Payload: []byte(`{}`)}}, now); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				if err := s.checkpoint(ctx); err != nil { // half are in bbolt before their ack
					t.Error(err)
				}
			}
			s.AckInboundLater([]string{id}, now)
			s.RecordOutboxLater(store.OutboxEntry{ID: id + "/0", Platform: "feishu", Chat: "oc_1", Status: store.OutboxSent, SentAt: now})
		})
	}
	wg.Wait()
	s.FlushLater()
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := s.LeaseInbound(ctx, "probe", 2*n, now.Add(time.Hour), time.Minute)
	if err != nil || len(left) != 0 {
		t.Fatalf("%d events left to handle after their acks (%v), want none", len(left), err)
	}
	for i := range n {
		if e, err := s.GetOutbox(ctx, fmt.Sprintf("feishu:e%d/0", i)); err != nil || e.Status != store.OutboxSent {
			t.Fatalf("record of e%d: %+v, %v; want it sent", i, e, err)
		}
	}
}
