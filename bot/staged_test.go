package bot_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/store"
)

// stagedInbox is an inbox whose puts are durable only when the test says (store.StagedInbox):
// wait blocks until release is closed, then returns fail.
type stagedInbox struct {
	store.Inbox
	release chan struct{}
	fail    error
	waits   atomic.Int64
}

func (s *stagedInbox) PutInboundStaged(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, func() error, error) {
	fresh, err := s.Inbox.PutInboundBatch(ctx, entries, now)
	return fresh, func() error {
		s.waits.Add(1)
		<-s.release
		return s.fail
	}, err
}

func runStaged(t *testing.T, inbox *stagedInbox, st store.Store, clock *bottest.Clock, calls *atomic.Int64) (*bot.Pipeline, func()) {
	t.Helper()
	var handled sync.Map
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, calls), Owner: "a", Now: clock.Now, Log: discard}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return p, func() { cancel(); <-done }
}

// With a staged inbox the pipeline hands a recorded event to its workers at once and answers
// the Receive (the platform's ack) only when the write is durable.
func TestPipelineHandlesBeforeTheSync(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	inbox := &stagedInbox{Inbox: st, release: make(chan struct{})}
	var calls atomic.Int64
	p, stop := runStaged(t, inbox, st, clock, &calls)
	defer stop()
	received := make(chan error, 1)
	go func() { received <- p.Receive(context.Background(), msg("e1", "hi")) }()
	waitFor(t, "the event handled while its write is not yet durable", 10*time.Second, func() bool { return calls.Load() == 1 })
	select {
	case err := <-received:
		t.Fatalf("Receive returned (%v) before the write was durable", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(inbox.release)
	if err := <-received; err != nil {
		t.Fatalf("Receive after the sync: %v", err)
	}
	// Many at once: each Receive returns, each event is handled once.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			if err := p.Receive(context.Background(), msg("m"+string(rune('a'+i)), "hi")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	waitFor(t, "31 handled", 10*time.Second, func() bool { return calls.Load() == 31 })
}

// A write that never becomes durable: the platform is told to try again (store unavailable),
// and its retry is a duplicate, so the event, handled already, is not handled twice.
func TestPipelineSyncFails(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	inbox := &stagedInbox{Inbox: st, release: make(chan struct{}), fail: errors.New("fdatasync: input/output error")}
	close(inbox.release)
	var calls atomic.Int64
	p, stop := runStaged(t, inbox, st, clock, &calls)
	defer stop()
	err := p.Receive(context.Background(), msg("e1", "hi"))
	var ue *store.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("Receive whose sync failed: %v; want store unavailable", err)
	}
	inbox.fail = nil
	if err := p.Receive(context.Background(), msg("e1", "hi")); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	waitFor(t, "the event handled", 10*time.Second, func() bool { return calls.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("handled %d times, want once", n)
	}
}
