package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/redis"
	"github.com/neighborbot/neighborbot/store/storetest"
)

// The put of an event leased to the receiver takes its reply's tokens (InboundEntry.Reserve)
// in the same round trip: the reply's Take then sends no command, once, within reserveFor.
// The tokens are really taken: the other replica sharing the bucket finds it empty. A put
// that finds the bucket empty holds nothing, events not leased here reserve nothing, and a
// token held too long is not used (the reply takes one afresh).
func TestReservedWithThePut(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + redistest.Start(t)
	now := storetest.Epoch
	s := MustOpen(t, url, "rv", func() time.Time { return now })
	other := MustOpen(t, url, "rv", func() time.Time { return now }).Limiter()
	lim := s.Limiter()
	var c counter
	s.Client().AddHook(&c)
	chat := bot.Limit{Key: "feishu:chat:user:feishu:ou_a", Every: time.Second, Burst: 2}
	app := bot.Limit{Key: "feishu:app", Every: time.Minute, Burst: 3}
	reply := []bot.Limit{chat, app}
	warm(t, s, now)
	put := func(id string, leased bool, at time.Time) {
		t.Helper()
		e := store.InboundEntry{ID: id, Payload: []byte(`{}`), Reserve: reply}
		if leased {
			e.LeaseOwner, e.LeaseUntil = "r1", at.Add(time.Minute)
		}
		if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{e}, at); err != nil {
			t.Fatal(err)
		}
	}
	take := func(l bot.RateLimiter, at time.Time) (time.Duration, int64) {
		t.Helper()
		before := c.n.Load()
		w, err := l.Take(ctx, reply, at)
		if err != nil {
			t.Fatal(err)
		}
		return w, c.n.Load() - before
	}

	put("feishu:e1", true, now)
	if w, cmds := take(lim, now.Add(time.Millisecond)); w != 0 || cmds != 0 {
		t.Fatalf("the reply's take: wait %v, %d commands; want 0 and none (taken with the put)", w, cmds)
	}
	if w, cmds := take(lim, now.Add(time.Millisecond)); w != 0 || cmds != 1 {
		t.Fatalf("a second reply: wait %v, %d commands; want 0 from Redis", w, cmds)
	}
	// Two of the chat's two tokens are gone, for the whole fleet.
	if w, _ := take(other, now.Add(time.Millisecond)); w <= 0 {
		t.Fatalf("the other replica took a third token of a burst of 2 (wait %v)", w)
	}

	later := now.Add(10 * time.Second) // the chat's bucket is full again; the app's holds 1
	put("feishu:e2", false, later)
	if _, cmds := take(lim, later); cmds != 1 {
		t.Fatalf("an event not leased here: %d commands for its reply, want 1 (nothing reserved)", cmds)
	}
	// The app's last token went to that reply: a put now cannot take one and holds nothing.
	put("feishu:e3", true, later)
	if w, cmds := take(lim, later); w == 0 || cmds != 1 {
		t.Fatalf("after a put that found no token: wait %v, %d commands; want a wait from Redis", w, cmds)
	}

	fresh := now.Add(10 * time.Minute) // every bucket full
	put("feishu:e4", true, fresh)
	if w, cmds := take(lim, fresh.Add(60*time.Millisecond)); w != 0 || cmds != 1 {
		t.Fatalf("a reply 60 ms after its put: wait %v, %d commands; want a token from Redis", w, cmds)
	}
	// The token held too long stayed taken: of the app's 3, the put's and the reply's are gone.
	for i, want := range []bool{true, false} {
		w, err := other.Take(ctx, []bot.Limit{app}, fresh.Add(60*time.Millisecond))
		if err != nil || (w == 0) != want {
			t.Fatalf("app token %d of a burst of 3: wait %v, %v", i+3, w, err)
		}
	}

	// Another set of limits is not served by a token held for these.
	put("feishu:e5", true, fresh.Add(time.Hour))
	if _, cmds := take(lim, fresh.Add(time.Hour)); cmds != 0 {
		t.Fatalf("the reply: %d commands", cmds)
	}
	put("feishu:e6", true, fresh.Add(2*time.Hour))
	before := c.n.Load()
	if _, err := lim.Take(ctx, []bot.Limit{chat}, fresh.Add(2*time.Hour)); err != nil || c.n.Load()-before != 1 {
		t.Fatalf("a take of the chat's limit alone: %v, %d commands; want 1", err, c.n.Load()-before)
	}
}

// Many replies' tokens taken with puts and used from many goroutines at once (run with
// -race): no more messages go than the buckets allow, counting the puts' takes, and every
// token a put took serves one reply.
func TestReservedConcurrent(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + redistest.Start(t)
	now := storetest.Epoch
	s := MustOpen(t, url, "rc", func() time.Time { return now })
	app := bot.Limit{Key: "feishu:app", Every: time.Hour, Burst: 100}
	warm(t, s, now)
	var c counter
	s.Client().AddHook(&c)
	var sent atomic.Int64
	var wg sync.WaitGroup
	const users, each = 20, 8
	for u := range users {
		reply := []bot.Limit{{Key: fmt.Sprintf("feishu:chat:%d", u), Every: time.Hour, Burst: 4}, app}
		wg.Go(func() {
			for i := range each {
				e := store.InboundEntry{ID: fmt.Sprintf("feishu:%d-%d", u, i), Payload: []byte(`{}`),
					LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute), Reserve: reply}
				if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{e}, now); err != nil {
					t.Error(err)
					return
				}
				w, err := s.Limiter().Take(ctx, reply, now)
				if err != nil {
					t.Error(err)
					return
				}
				if w == 0 {
					sent.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// Each chat lets 4 through; the app's 100 cover all 20 chats' 80.
	if got := sent.Load(); got != users*4 {
		t.Fatalf("%d replies went, want %d (4 a chat)", got, users*4)
	}
	// Every put is one round trip of 2 commands (the put, the take); a reply whose token was
	// held asks nothing; the others (refused) ask once each.
	if got, want := c.n.Load(), int64(users*each*2+(users*each-users*4)); got != want {
		t.Fatalf("%d commands, want %d", got, want)
	}
}

// warm loads the put's and the limiter's scripts (the first Take loads its script; a put's
// take runs it by its hash and is skipped while it is not loaded).
func warm(t *testing.T, s *redis.Store, now time.Time) {
	t.Helper()
	if w, err := s.Limiter().Take(context.Background(), []bot.Limit{{Key: "warm", Every: time.Second, Burst: 1}}, now); err != nil || w != 0 {
		t.Fatalf("warm-up take: %v, %v", w, err)
	}
	if _, err := s.PutInbound(context.Background(), "warm:e", []byte(`{}`), now); err != nil {
		t.Fatal(err)
	}
}
