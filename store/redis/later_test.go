package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
)

func sentRecord(id string, now time.Time) store.OutboxEntry {
	return store.OutboxEntry{ID: id, Platform: "feishu", Chat: "oc_1", Payload: []byte(`{}`), Status: store.OutboxSent, SentAt: now, Result: "om_" + id}
}

// leftToHandle leases, at now plus an hour, every event not acked (acked ones are not handed
// out again once their leases ran out).
func leftToHandle(t *testing.T, s interface {
	LeaseInbound(context.Context, string, int, time.Time, time.Duration) ([]store.InboundEntry, error)
}, now time.Time) map[string]bool {
	t.Helper()
	left, err := s.LeaseInbound(context.Background(), "probe", 1000, now.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range left {
		ids[e.ID] = true
	}
	return ids
}

// Acks and records of sent replies (bot.LaterAcker) wait for the next put and go in its round
// trip: before it they are not written, after it they are, even on a server that lost its
// scripts; and the put still tells a new event from a known one.
func TestLaterRidesOnThePut(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, "redis://"+redistest.Start(t), "lp", func() time.Time { return now })
	s.SetLaterWait(time.Hour) // only a put can carry them
	lease := func(id string) store.InboundEntry {
		return store.InboundEntry{ID: id, Payload: []byte(`{}`), LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)}
	}
	if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{lease("feishu:a")}, now); err != nil {
		t.Fatal(err)
	}
	s.AckInboundLater([]string{"feishu:a"}, now)
	s.RecordOutboxLater(sentRecord("feishu:a/0", now))
	if _, err := s.GetOutbox(ctx, "feishu:a/0"); community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("the record before any put: %v, want it still waiting", err)
	}
	if !leftToHandle(t, s, now)["feishu:a"] {
		t.Fatal("acked before any put")
	}
	if err := s.Client().ScriptFlush(ctx).Err(); err != nil { // as after a server restart
		t.Fatal(err)
	}
	s.AckInboundLater([]string{"feishu:a"}, now.Add(2*time.Hour))
	fresh, err := s.PutInboundBatch(ctx, []store.InboundEntry{lease("feishu:b"), lease("feishu:a")}, now)
	if err != nil || !fresh[0] || fresh[1] {
		t.Fatalf("put carrying acks: fresh %v, %v; want b new and a known", fresh, err)
	}
	if e, err := s.GetOutbox(ctx, "feishu:a/0"); err != nil || e.Status != store.OutboxSent || e.Result != "om_feishu:a/0" {
		t.Fatalf("the record after the put: %+v, %v", e, err)
	}
	if left := leftToHandle(t, s, now.Add(2*time.Hour)); left["feishu:a"] || !left["feishu:b"] {
		t.Fatalf("after the put, left to handle: %v; want b only", left)
	}
}

// With no put coming, what waits is written within the wait, by itself; FlushLater writes it
// at once; many goroutines acking and recording at the same time lose nothing (run with
// -race).
func TestLaterWithoutPuts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, "redis://"+redistest.Start(t), "lw", func() time.Time { return now })
	s.SetLaterWait(20 * time.Millisecond)
	if _, err := s.PutInbound(ctx, "feishu:t", []byte(`{}`), now); err != nil {
		t.Fatal(err)
	}
	s.RecordOutboxLater(sentRecord("feishu:t/0", now))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.GetOutbox(ctx, "feishu:t/0"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a record waiting for a put that never came was never written")
		}
		time.Sleep(5 * time.Millisecond) // polling an observable state, bounded
	}

	s.SetLaterWait(time.Hour)
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("feishu:e%d", i)
			if _, err := s.PutInbound(ctx, id, []byte(`{}`), now); err != nil {
				t.Error(err)
				return
			}
			s.AckInboundLater([]string{id}, now)
			s.RecordOutboxLater(sentRecord(id+"/0", now))
		})
	}
	wg.Wait()
	s.FlushLater()
	if left := leftToHandle(t, s, now); len(left) != 1 || !left["feishu:t"] {
		t.Fatalf("left to handle after the acks: %v; want only the unacked t", left)
	}
	for i := range n {
		if e, err := s.GetOutbox(ctx, fmt.Sprintf("feishu:e%d/0", i)); err != nil || e.Status != store.OutboxSent {
			t.Fatalf("record of e%d: %+v, %v; want it sent", i, e, err)
		}
	}
}

// Acks Redis cannot take (it is down) are kept and written when it is back; Close writes what
// waits.
func TestLaterOutlivesAnOutage(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	srv := redistest.StartServer(t, "--appendonly", "yes")
	s := MustOpen(t, "redis://"+srv.Addr, "lo", func() time.Time { return now })
	s.SetLaterWait(time.Hour)
	if _, err := s.PutInbound(ctx, "feishu:x", []byte(`{}`), now); err != nil {
		t.Fatal(err)
	}
	s.AckInboundLater([]string{"feishu:x"}, now)
	srv.Stop()
	s.FlushLater() // fails: kept for the next write
	srv.Restart()
	s.AckInboundLater([]string{"feishu:y"}, now) // not in the inbox: logged, not kept
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := MustOpen(t, "redis://"+srv.Addr, "lo", func() time.Time { return now })
	if left := leftToHandle(t, s2, now.Add(2*time.Hour)); left["feishu:x"] {
		t.Fatal("the ack kept through the outage was not written by Close")
	}
}

// Acks that keep coming with no put (a worker draining the inbox after a restart) are written
// within the wait of the first, not pushed back by each new one.
func TestLaterNotPushedBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, "redis://"+redistest.Start(t), "lb", func() time.Time { return now })
	const n = 400
	for i := range n {
		if _, err := s.PutInbound(ctx, fmt.Sprintf("feishu:d%d", i), []byte(`{}`), now); err != nil {
			t.Fatal(err)
		}
	}
	s.SetLaterWait(50 * time.Millisecond)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // an ack every millisecond, for as long as the test looks
		defer close(done)
		for i := range n {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			s.AckInboundLater([]string{fmt.Sprintf("feishu:d%d", i)}, now)
		}
	}()
	defer func() { close(stop); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The first ack, looked at without leasing anything: the event's hash.
		acked, err := s.Client().HExists(ctx, "{lb:inbox}:e:feishu:d0", "done").Result()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
			if !acked {
				t.Fatal("the first ack was written only after the acks stopped coming: each pushed the write back")
			}
		default:
		}
		if acked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the first ack was never written")
		}
		time.Sleep(5 * time.Millisecond) // polling an observable state, bounded
	}
}
