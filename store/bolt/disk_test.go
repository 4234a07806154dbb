package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/tmpfstest"
	"github.com/neighborbot/neighborbot/store"
)

// A full disk, for real: an 8 MiB tmpfs holds the store, and a file fills what is left of it.
// Writes that need room then fail with errors (a commit that grows the data file, journal
// appends past the preallocated files), never panic or succeed silently; an event whose
// append failed is refused to the platform, not acknowledged; Ping says the disk is full;
// what was written before stays readable. Once the file is deleted, the store sees it by
// itself (a probe), is ready again, records and handles events (those received meanwhile
// too), and after a reopen every acknowledged event and every reply is there, in a sound file.
func TestFullDisk(t *testing.T) {
	dir := tmpfstest.Mount(t, "8m")
	path := filepath.Join(dir, "neighborbot.db")
	var logs syncBuffer
	s, err := Open(path, Options{ProbeEvery: 10 * time.Millisecond, SpaceProbe: 256 << 10,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := t.Context()

	// The pipeline, with a handler that writes (a doc per event) and replies.
	var plogs syncBuffer // the pipeline's, shown if the test fails
	defer func() {
		if t.Failed() {
			t.Logf("store log:\n%s\npipeline log (end):\n%s", logs.String(), plogs.String()[max(0, len(plogs.String())-5000):])
		}
	}()
	var handled sync.Map // event id → times
	var handledN atomic.Int64
	engine := &bot.Engine{
		Handler: func(ctx context.Context, r *bot.Request) error {
			if err := s.PutDoc(ctx, "seen", r.Msg.Key(), []byte(r.Msg.Text[:min(len(r.Msg.Text), 64)])); err != nil {
				return err
			}
			if _, loaded := handled.LoadOrStore(r.Msg.Key(), true); !loaded {
				handledN.Add(1)
			}
			r.Reply("echo " + r.Msg.EventID)
			return nil
		},
		Outbox: s, Now: time.Now, Log: slog.New(slog.DiscardHandler),
	}
	p := &bot.Pipeline{Inbox: s, Engine: engine, Owner: "r1", Now: time.Now, Log: slog.New(slog.NewTextHandler(&plogs, nil)),
		Lease: 300 * time.Millisecond, Poll: 10 * time.Millisecond}
	pctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.Run(pctx); close(stopped) }()
	defer func() { stop(); <-stopped }()
	var acked []string // events whose Receive returned nil: acknowledged to the platform
	receive := func(id, text string) error {
		m := bot.Message{EventID: id, Platform: "local", ChatID: "g", GroupID: "local:g", UserID: "local:u", Text: text}
		err := p.Receive(ctx, m)
		if err == nil {
			acked = append(acked, m.Key())
		}
		return err
	}
	// Handled: the handler's write made and the reply enqueued (the engine enqueues after the
	// handler returns, and a failed enqueue leaves the event to be handled again).
	allHandled := func() bool {
		for _, id := range acked {
			if _, ok := handled.Load(id); !ok {
				return false
			}
			if _, err := s.GetOutbox(ctx, id+"/0"); err != nil {
				return false
			}
		}
		return true
	}

	// Before: events handled, docs written.
	for i := range 20 {
		if err := receive(fmt.Sprintf("before-%d", i), "hi"); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the first events handled", allHandled)
	before := bytes.Repeat([]byte("b"), 1000)
	for i := range 10 {
		if err := s.PutDoc(ctx, "before", fmt.Sprint(i), before); err != nil {
			t.Fatal(err)
		}
	}

	filler := tmpfstest.Fill(t, dir)

	// bbolt: a commit that needs new pages fails (small ones may still reuse freed pages).
	var commitErr error
	big := bytes.Repeat([]byte("d"), 64<<10)
	for i := 0; i < 50 && commitErr == nil; i++ {
		commitErr = s.PutDoc(ctx, "big", fmt.Sprint(i), big)
	}
	var ue *store.UnavailableError
	if !errors.As(commitErr, &ue) || !errors.Is(commitErr, syscall.ENOSPC) || !strings.Contains(commitErr.Error(), "bbolt commit") {
		t.Fatalf("64 KiB docs on a full disk: %v; want a failed bbolt commit, store unavailable, no space", commitErr)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Ping on a full disk: %v; want not ready, saying the disk is full", err)
	}

	// The journal: its files are preallocated, so appends work until checkpoints, which cannot
	// commit, have let it grow past them. An append that fails is refused to the platform.
	var journalErr error
	text := strings.Repeat("j", 16<<10)
	var refused []string
	for i := 0; i < 400 && journalErr == nil; i++ {
		id := fmt.Sprintf("during-%d", i)
		if journalErr = receive(id, text); journalErr != nil {
			refused = append(refused, id)
		}
	}
	if !errors.As(journalErr, &ue) || !errors.Is(journalErr, syscall.ENOSPC) || !strings.Contains(journalErr.Error(), "inbox journal append") {
		t.Fatalf("events on a full disk: %v; want a failed journal append, store unavailable, no space", journalErr)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Ping with the journal full: %v; want not ready, saying the disk is full", err)
	}
	for i := range 10 { // what was there before is still readable
		if v, err := s.GetDoc(ctx, "before", fmt.Sprint(i)); err != nil || !bytes.Equal(v, before) {
			t.Fatalf("doc written before the disk filled: %d bytes, %v", len(v), err)
		}
	}
	if _, err := s.GetOutbox(ctx, "local:before-0/0"); err != nil {
		t.Fatalf("a reply enqueued before the disk filled: %v", err)
	}
	for _, want := range []string{"bolt: write failed", "no space left on device", "hint="} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "bolt: write failed"); n != 1 {
		t.Errorf("the failure logged at Error %d times, want once (then at most once a minute)", n)
	}

	// Room again: the store sees it by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "ready after the disk has room", func() bool { return s.Ping(ctx) == nil })
	if !strings.Contains(logs.String(), "bolt: writes recovered") {
		t.Errorf("log lacks the recovery:\n%s", logs.String())
	}
	for _, id := range refused { // the platform retries what was refused
		if err := receive(strings.TrimPrefix(id, "local:"), text); err != nil {
			t.Fatalf("retry of %s after the disk has room: %v", id, err)
		}
	}
	for i := range 20 {
		if err := receive(fmt.Sprintf("after-%d", i), "hi"); err != nil {
			t.Fatalf("an event after the disk has room: %v", err)
		}
	}
	if err := s.PutDoc(ctx, "big", "after", big); err != nil {
		t.Fatalf("a 64 KiB doc after the disk has room: %v", err)
	}
	waitUntil(t, "every acknowledged event handled", allHandled)
	t.Logf("%d events acknowledged (%d refused while the disk was full, then retried), %d handled; %d big docs before the commit failed",
		len(acked), len(refused), handledN.Load(), countDocs(t, s, "big")-1)

	// Reopen: everything acknowledged is there, the file is sound and the journal empty.
	stop()
	<-stopped
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := journalRecords(t, path); n != 0 {
		t.Errorf("journal holds %d events after a clean close", n)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}); err != nil {
		t.Fatalf("data file check after the full disk: %v", err)
	}
	for _, id := range acked {
		if fresh, err := s.PutInbound(ctx, id, []byte(`{}`), time.Now()); err != nil || fresh {
			t.Fatalf("acknowledged event %s after reopening: fresh %v, %v; want known", id, fresh, err)
		}
		if _, err := s.GetDoc(ctx, "seen", id); err != nil {
			t.Fatalf("handled event %s's doc after reopening: %v", id, err)
		}
		if _, err := s.GetOutbox(ctx, id+"/0"); err != nil {
			t.Fatalf("handled event %s's reply after reopening: %v", id, err)
		}
	}
	for i := range 10 {
		if v, err := s.GetDoc(ctx, "before", fmt.Sprint(i)); err != nil || !bytes.Equal(v, before) {
			t.Fatalf("doc written before the disk filled, after reopening: %d bytes, %v", len(v), err)
		}
	}
}

func countDocs(t *testing.T, s *Store, coll string) int {
	t.Helper()
	docs, err := s.ListDocs(t.Context(), coll, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(docs)
}
