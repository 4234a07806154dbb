package redis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store/storetest"
)

// Two replicas, each with its own connection, share the Feishu app's limit: of 100
// concurrent sends at one instant exactly the burst goes, and every other one is told to
// wait for the next token.
func TestLimiterSharedByReplicas(t *testing.T) {
	url := "redis://" + redistest.Start(t)
	replicas := []bot.RateLimiter{
		MustOpen(t, url, "rl", storetest.NewClock(storetest.Epoch).Now).Limiter(),
		MustOpen(t, url, "rl", storetest.NewClock(storetest.Epoch).Now).Limiter(),
	}
	limits := []bot.Limit{{Key: "feishu:app", Every: time.Minute, Burst: 10}}
	now := storetest.Epoch
	var mu sync.Mutex
	sent := 0
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			wait, err := replicas[i%2].Take(t.Context(), limits, now)
			if err != nil {
				t.Errorf("Take: %v", err)
				return
			}
			switch wait {
			case 0:
				mu.Lock()
				sent++
				mu.Unlock()
			case time.Minute:
			default:
				t.Errorf("told to wait %v, want %v (the next token)", wait, time.Minute)
			}
		})
	}
	wg.Wait()
	if sent != 10 {
		t.Fatalf("%d of 100 concurrent sends went through a limit of burst 10", sent)
	}
	// A minute later the bucket has refilled by one for the whole fleet.
	for i, want := range []time.Duration{0, time.Minute} {
		wait, err := replicas[i].Take(t.Context(), limits, now.Add(time.Minute))
		if err != nil || wait != want {
			t.Fatalf("a minute later, take %d: wait %v, %v; want %v", i+1, wait, err, want)
		}
	}
}

// A message takes a token from every limit it is under (app, chat) or from none.
func TestLimiterAllOrNothing(t *testing.T) {
	l := MustOpen(t, "redis://"+redistest.Start(t), "rl", time.Now).Limiter()
	app := bot.Limit{Key: "wecom:app", Every: time.Second, Burst: 5}
	chat := bot.Limit{Key: "wecom:chat:1", Every: time.Second, Burst: 3}
	now := storetest.Epoch
	take := func(want time.Duration, limits ...bot.Limit) {
		t.Helper()
		wait, err := l.Take(context.Background(), limits, now)
		if err != nil || wait != want {
			t.Fatalf("Take(%v): wait %v, %v; want %v", limits, wait, err, want)
		}
	}
	for range 3 {
		take(0, app, chat)
	}
	take(time.Second, app, chat) // the chat is empty: the app keeps its token
	take(0, app)
	take(0, app)
	take(time.Second, app)
}

// The shared limiter makes the same decisions as bot.LocalLimiter, the one it stands in for.
func TestLimiterMatchesLocal(t *testing.T) {
	shared := MustOpen(t, "redis://"+redistest.Start(t), "rl", time.Now).Limiter()
	local := &bot.LocalLimiter{}
	limits := []bot.Limit{
		{Key: "app", Every: 64 * time.Millisecond, Burst: 8},
		{Key: "chat:a", Every: 512 * time.Millisecond, Burst: 2},
		{Key: "chat:b", Every: 256 * time.Millisecond, Burst: 3},
		{Key: "robot", Every: 1024 * time.Millisecond, Burst: 1},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	now := storetest.Epoch
	var allowed, denied int
	for i := range 500 {
		now = now.Add(time.Duration(rng.IntN(5)) * 16 * time.Millisecond) // binary fractions: exact in floats too
		var ls []bot.Limit
		for _, l := range limits {
			if rng.IntN(2) == 0 {
				ls = append(ls, l)
			}
		}
		want, _ := local.Take(t.Context(), ls, now)
		got, err := shared.Take(t.Context(), ls, now)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("take %d at +%v on %s: shared says wait %v, local %v", i, now.Sub(storetest.Epoch), keys(ls), got, want)
		}
		if got == 0 {
			allowed++
		} else {
			denied++
		}
	}
	if allowed < 100 || denied < 100 {
		t.Fatalf("the sequence proves little: %d allowed, %d denied", allowed, denied)
	}
}

func keys(ls []bot.Limit) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Key)
	}
	return fmt.Sprint(s)
}
