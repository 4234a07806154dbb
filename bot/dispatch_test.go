package bot_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/store"
)

// TestLocalLimiterSinceStartsEmpty: a limiter with Since set behaves as if the last Recent
// before Since had been spent at each limit's rate (a killed process before it may have),
// refilling at the limit's rate from there; one without starts full.
func TestLocalLimiterSinceStartsEmpty(t *testing.T) {
	ctx := context.Background()
	t0 := bottest.Start
	lim := bot.Limit{Key: "app", Every: 100 * time.Millisecond, Burst: 3}
	take := func(l *bot.LocalLimiter, at time.Time) time.Duration {
		t.Helper()
		w, err := l.Take(ctx, []bot.Limit{lim}, at)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	l := &bot.LocalLimiter{Since: t0}
	if w := take(l, t0); w != 100*time.Millisecond {
		t.Fatalf("at Since: wait %v, want 100ms (the burst counts as used)", w)
	}
	if w := take(l, t0.Add(100*time.Millisecond)); w != 0 {
		t.Fatalf("one Every after Since: wait %v, want 0", w)
	}
	if w := take(l, t0.Add(100*time.Millisecond)); w != 100*time.Millisecond {
		t.Fatalf("again at once: wait %v, want 100ms", w)
	}

	// A limit first asked for long after Since is full, and no fuller than its burst.
	late := &bot.LocalLimiter{Since: t0}
	at := t0.Add(time.Hour)
	for i := range 3 {
		if w := take(late, at); w != 0 {
			t.Fatalf("take %d an hour after Since: wait %v", i, w)
		}
	}
	if w := take(late, at); w != 100*time.Millisecond {
		t.Fatalf("past the burst: wait %v, want 100ms", w)
	}

	// A limit first asked for part-way refilled holds what it earned since Since.
	mid := &bot.LocalLimiter{Since: t0}
	at = t0.Add(250 * time.Millisecond)
	for i := range 2 {
		if w := take(mid, at); w != 0 {
			t.Fatalf("take %d 250ms after Since: wait %v", i, w)
		}
	}
	if w := take(mid, at); w != 50*time.Millisecond {
		t.Fatalf("third take 250ms after Since: wait %v, want 50ms", w)
	}

	// A slow limit loses only what Recent could have spent of it: a robot's 20/min keeps 19
	// of its 20 after Recent 3s.
	robot := bot.Limit{Key: "robot", Every: 3 * time.Second, Burst: 20}
	slow := &bot.LocalLimiter{Since: t0, Recent: 3 * time.Second}
	for i := range 19 {
		if w, _ := slow.Take(ctx, []bot.Limit{robot}, t0); w != 0 {
			t.Fatalf("robot take %d at Since: wait %v", i, w)
		}
	}
	if w, _ := slow.Take(ctx, []bot.Limit{robot}, t0); w != 3*time.Second {
		t.Fatalf("robot's 20th take at Since: wait %v, want 3s", w)
	}

	full := &bot.LocalLimiter{}
	for i := range 3 {
		if w := take(full, t0); w != 0 {
			t.Fatalf("zero value, take %d: wait %v", i, w)
		}
	}
}

// TestDispatcherWakesForRetry: a failed send is retried when its backoff ends, not at the
// next poll.
func TestDispatcherWakesForRetry(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(time.Now())
	st, _ := openStore(t, clock)
	p := &flaky{fails: map[string]int{"a": 2}, err: bot.Temporary("500", 0, errors.New("server error"))}
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": p}, Owner: "d", Now: time.Now, Log: discard,
		Poll: time.Hour, BaseBackoff: 40 * time.Millisecond}
	enqueue(t, st, time.Now(), bot.Outbound{ID: "a", Platform: "local", ChatID: "g", Text: "hi"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var e store.OutboxEntry
	waitFor(t, "the retry (Poll is an hour)", 5*time.Second, func() bool {
		var err error
		if e, err = st.GetOutbox(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		return e.Status == store.OutboxSent
	})
	if e.Attempts != 2 {
		t.Fatalf("sent after %d failed attempts, want 2", e.Attempts)
	}
}

// TestDispatcherWakesForDeferral: a message the rate limiter holds back goes when its slot
// comes, not at the next poll.
func TestDispatcherWakesForDeferral(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(time.Now())
	st, _ := openStore(t, clock)
	p := &fastLimited{}
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": p}, Limiter: &bot.LocalLimiter{},
		Owner: "d", Now: time.Now, Log: discard, Poll: time.Hour}
	for _, id := range []string{"a", "b", "c"} {
		enqueue(t, st, time.Now(), bot.Outbound{ID: id, Platform: "local", ChatID: "g", Text: id})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the deferred messages sent (Poll is an hour)", 5*time.Second, func() bool {
		st, err := st.OutboxStats(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return st.Sent == 3
	})
}

// fastLimited is flaky with one message per 30 ms.
type fastLimited struct{ flaky }

func (p *fastLimited) Limits(bot.Outbound) []bot.Limit {
	return []bot.Limit{{Key: "app", Every: 30 * time.Millisecond, Burst: 1}}
}
