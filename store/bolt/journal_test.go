package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// crash leaves s as a killed process would: no checkpoint, the journal files as they are.
func crash(t *testing.T, s *Store) {
	t.Helper()
	close(s.probeStop)
	<-s.probeDone
	j := s.journal
	close(j.stop)
	<-j.done
	j.closeFiles()
	s.closeOnce.Do(func() {})
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
}

// stopCheckpoints keeps the timed checkpoints from running, so a test decides when events
// leave the journal.
func stopCheckpoints(s *Store) {
	j := s.journal
	close(j.stop)
	<-j.done
	j.stop, j.done = make(chan struct{}), make(chan struct{})
	go func() { <-j.stop; close(j.done) }()
}

// journalRecords counts the records the journal files hold (as Open would read them).
func journalRecords(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, p := range journalPaths(path) {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, recs, torn, err := readJournal(f)
		f.Close()
		if err != nil || torn {
			t.Fatalf("reading %s: torn %v, %v", p, torn, err)
		}
		n += len(recs)
	}
	return n
}

func openAt(t *testing.T, path string, now time.Time, log *slog.Logger) *Store {
	t.Helper()
	return openWith(t, path, Options{Now: func() time.Time { return now }, Log: log})
}

func openWith(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Events acknowledged to the platform survive a crash before their checkpoint: the next Open
// applies the journal (leases released, as for every lease a dead process held) and empties
// it. An ack that was still in memory is lost, so that event is handled again, which the
// pipeline allows; the ids stay known, so a retry is still a duplicate.
func TestJournalReplayAfterCrash(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	stopCheckpoints(s)
	entries := []store.InboundEntry{
		{ID: "feishu:a", Payload: []byte(`{"a":1}`), LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)},
		{ID: "feishu:b", Payload: []byte(`{"b":2}`)},
		{ID: "feishu:a", Payload: []byte(`{"a":1}`)},
	}
	fresh, err := s.PutInboundBatch(ctx, entries, now)
	if err != nil || !slices.Equal(fresh, []bool{true, true, false}) {
		t.Fatalf("PutInboundBatch = %v, %v; want a and b fresh, the repeated a not", fresh, err)
	}
	if err := s.AckInboundBatch(ctx, []string{"feishu:a"}, now); err != nil {
		t.Fatal(err)
	}
	if n := journalRecords(t, path); n != 2 {
		t.Fatalf("%d events in the journal before the checkpoint, want 2", n)
	}
	crash(t, s)

	var logs bytes.Buffer
	s = openAt(t, path, now, slog.New(slog.NewTextHandler(&logs, nil)))
	defer s.Close()
	if n := journalRecords(t, path); n != 0 {
		t.Fatalf("journal holds %d events after Open, want none", n)
	}
	if !bytes.Contains(logs.Bytes(), []byte("inbox journal applied")) || !bytes.Contains(logs.Bytes(), []byte("events=2")) {
		t.Errorf("Open's log does not say it applied 2 events:\n%s", logs.String())
	}
	got, err := s.LeaseInbound(ctx, "r2", 10, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, e := range got {
		ids[e.ID] = string(e.Payload)
	}
	if len(got) != 2 || ids["feishu:a"] != `{"a":1}` || ids["feishu:b"] != `{"b":2}` {
		t.Fatalf("leased after the crash: %+v; want a and b with their payloads", got)
	}
	if fresh, err := s.PutInboundBatch(ctx, entries[:2], now); err != nil || fresh[0] || fresh[1] {
		t.Fatalf("retries after the crash: fresh %v, %v; want duplicates", fresh, err)
	}
}

// A crash in the middle of an append leaves a torn record at the end of the file: Open applies
// the records before it, warns, and drops the torn one (it was never acknowledged).
func TestJournalTornTail(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	stopCheckpoints(s)
	for _, id := range []string{"feishu:a", "feishu:b"} {
		if _, err := s.PutInbound(ctx, id, []byte(`{}`), now); err != nil {
			t.Fatal(err)
		}
	}
	k, end := s.journal.cur, s.journal.size[s.journal.cur]
	crash(t, s)
	p := journalPaths(path)[k]
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	clear(data[end-3 : end]) // b's last bytes never made it to the disk
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s = openAt(t, path, now, slog.New(slog.NewTextHandler(&logs, nil)))
	defer s.Close()
	if !bytes.Contains(logs.Bytes(), []byte("torn record")) {
		t.Errorf("no warning about the torn record:\n%s", logs.String())
	}
	got, err := s.LeaseInbound(ctx, "r2", 10, now, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != "feishu:a" {
		t.Fatalf("leased after the torn write: %+v, %v; want only feishu:a", got, err)
	}
	if ok, err := s.PutInbound(ctx, "feishu:b", []byte(`{}`), now); err != nil || !ok {
		t.Fatalf("the torn event's retry: %v, %v; want it recorded", ok, err)
	}
}

// A crash after a checkpoint's commit but before its file was emptied makes Open apply events
// bbolt has: they stay as they are (handled stays handled, nothing is due twice).
func TestJournalReplayOfCheckpointed(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	stopCheckpoints(s)
	for _, id := range []string{"feishu:a", "feishu:b"} {
		if _, err := s.PutInbound(ctx, id, []byte(`{}`), now); err != nil {
			t.Fatal(err)
		}
	}
	k := s.journal.cur
	data, err := os.ReadFile(journalPaths(path)[k])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AckInbound(ctx, "feishu:a", now); err != nil {
		t.Fatal(err)
	}
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if n := journalRecords(t, path); n != 0 {
		t.Fatalf("journal holds %d events after the checkpoint, want none", n)
	}
	crash(t, s)
	if err := os.WriteFile(journalPaths(path)[k], data, 0o600); err != nil { // as if not emptied
		t.Fatal(err)
	}
	s = openAt(t, path, now, nil)
	defer s.Close()
	got, err := s.LeaseInbound(ctx, "r2", 10, now, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != "feishu:b" {
		t.Fatalf("leased: %+v, %v; want only feishu:b (a was handled before the crash)", got, err)
	}
}

// An ack that comes while a checkpoint is writing its event (read, not yet committed) goes to
// bbolt after that commit and is not lost.
func TestJournalAckDuringCheckpoint(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := openAt(t, filepath.Join(t.TempDir(), "nb.db"), now, nil)
	defer s.Close()
	stopCheckpoints(s)
	if _, err := s.PutInbound(ctx, "feishu:a", []byte(`{}`), now); err != nil {
		t.Fatal(err)
	}
	acked := make(chan error, 1)
	afterSeal = func() error {
		go func() { acked <- s.AckInbound(ctx, "feishu:a", now) }()
		time.Sleep(20 * time.Millisecond) // the ack waits for this commit to end
		return nil
	}
	defer func() { afterSeal = nil }()
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	afterSeal = nil
	if err := <-acked; err != nil {
		t.Fatalf("ack during the checkpoint: %v", err)
	}
	got, err := s.LeaseInbound(ctx, "r2", 10, now, time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("leased after the ack: %+v, %v; want none", got, err)
	}
}

// Many receivers, workers and checkpoints at once (run with -race): every id is recorded once
// however often it is retried, every acked event is handled after a restart, and a clean close
// leaves the journal empty.
func TestJournalConcurrent(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, nil)
	const receivers, events = 8, 300
	var mu sync.Mutex
	freshCount := map[string]int{}
	var wg sync.WaitGroup
	for r := range receivers {
		wg.Go(func() {
			for i := range events {
				id := fmt.Sprintf("feishu:%04d", (i*7+r*13)%events) // every receiver sends every id
				fresh, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: id, Payload: []byte(id), LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)}}, now)
				if err != nil {
					t.Error(err)
					return
				}
				if fresh[0] {
					mu.Lock()
					freshCount[id]++
					mu.Unlock()
					if err := s.AckInboundBatch(ctx, []string{id}, now); err != nil {
						t.Error(err)
					}
				}
				if i%50 == 0 {
					if err := s.checkpoint(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range events {
		if id := fmt.Sprintf("feishu:%04d", i); freshCount[id] != 1 {
			t.Errorf("%s recorded %d times, want once", id, freshCount[id])
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := journalRecords(t, path); n != 0 {
		t.Fatalf("journal holds %d events after Close, want none", n)
	}
	s = openAt(t, path, now, nil)
	defer s.Close()
	got, err := s.LeaseInbound(ctx, "r2", 1000, now.Add(time.Hour), time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("%d events unhandled after every one was acked (%v)", len(got), err)
	}
}

// A failed append (a full disk) fails that put (store unavailable, so the platform retries
// it) and makes the store not ready; it is taken back, so the next put works and covers what
// the failed one left (here half a batch: one whole record and a torn one) with zeros. The
// journal then holds exactly the acknowledged events, and readiness returns once a probe finds
// room.
func TestJournalFailedAppend(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	var logs syncBuffer
	s, err := Open(path, Options{Now: func() time.Time { return now }, ProbeEvery: time.Hour,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stopCheckpoints(s)
	if _, err := s.PutInbound(ctx, "feishu:a", []byte(`{"a":1}`), now); err != nil {
		t.Fatal(err)
	}
	j := s.journal
	j.mu.Lock()
	j.writeAt = func(f *os.File, b []byte, off int64) (int, error) { // a disk that fills up mid-write
		n, _ := f.WriteAt(b[:len(b)*3/4], off)
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	j.mu.Unlock()
	big := bytes.Repeat([]byte("x"), 100)
	_, err = s.PutInboundBatch(ctx, []store.InboundEntry{{ID: "feishu:b", Payload: big}, {ID: "feishu:c", Payload: big}}, now)
	var ue *store.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a put whose append failed: %v; want store unavailable, no space", err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "inbox-0") {
		t.Fatalf("Ping after the failed append: %v; want disk full, naming the journal file", err)
	}
	j.mu.Lock()
	j.writeAt = (*os.File).WriteAt // room again
	j.mu.Unlock()
	if _, err := s.PutInbound(ctx, "feishu:d", []byte(`{}`), now); err != nil {
		t.Fatalf("a put after the failed append: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ready after one put on a disk that was full: only a probe that finds room says so")
	}
	waitUntil(t, "Ping ok after the probe", func() bool { return s.Ping(ctx) == nil })
	if n := journalRecords(t, path); n != 2 { // a and d, and not torn
		t.Fatalf("journal holds %d events, want 2 (a, d)", n)
	}
	for _, want := range []string{"bolt: write failed", "no space left on device", "bolt: writes recovered"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	crash(t, s)
	s = openAt(t, path, now, nil)
	defer s.Close()
	for id, want := range map[string]bool{"feishu:a": false, "feishu:b": true, "feishu:c": true, "feishu:d": false} {
		if fresh, err := s.PutInbound(ctx, id, []byte(`{}`), now); err != nil || fresh != want {
			t.Errorf("after a crash, %s fresh %v, %v; want %v (only acknowledged events are kept)", id, fresh, err, want)
		}
	}
}

// waitUntil polls cond (an observable state), for at most 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer for a logger that goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A failed emptying of a journal file (an I/O error writing its header) is a write failure
// too, not full disk: the next write that works clears it. The file takes no appends until it
// is emptied, which the next checkpoint tries again; nothing acknowledged is lost.
func TestJournalFailedReset(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "nb.db")
	s := openAt(t, path, now, slog.New(slog.DiscardHandler))
	stopCheckpoints(s)
	if _, err := s.PutInbound(ctx, "feishu:a", []byte(`{}`), now); err != nil {
		t.Fatal(err)
	}
	j := s.journal
	setWrite := func(failHeaders bool) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.writeAt = (*os.File).WriteAt
		if failHeaders {
			j.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
				if off == 0 {
					return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.EIO}
				}
				return f.WriteAt(b, off)
			}
		}
	}
	setWrite(true)
	if err := s.checkpoint(ctx); !errors.Is(err, syscall.EIO) {
		t.Fatalf("checkpoint whose emptying fails: %v; want the I/O error", err)
	}
	err := s.Ping(ctx)
	if err == nil || strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "inbox-0") {
		t.Fatalf("Ping after the failed emptying: %v; want writes failing (not disk full), naming inbox-0", err)
	}
	if _, err := s.PutInbound(ctx, "feishu:b", []byte(`{}`), now); err != nil { // goes to inbox-1
		t.Fatalf("a put after the failed emptying: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after a write worked: %v", err)
	}
	j.mu.Lock()
	stale := j.stale[0]
	j.mu.Unlock()
	if !stale {
		t.Fatal("inbox-0 is not kept from appends after its emptying failed")
	}
	setWrite(false)
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	stale = j.stale[0]
	j.mu.Unlock()
	if stale {
		t.Fatal("inbox-0 still stale after a checkpoint that could empty it")
	}
	crash(t, s)
	s = openAt(t, path, now, nil)
	defer s.Close()
	for _, id := range []string{"feishu:a", "feishu:b"} {
		if fresh, err := s.PutInbound(ctx, id, []byte(`{}`), now); err != nil || fresh {
			t.Errorf("%s after a crash: fresh %v, %v; want known", id, fresh, err)
		}
	}
}
