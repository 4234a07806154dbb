package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func (e *env) once(key string, ttl time.Duration, want bool) {
	e.t.Helper()
	got, err := e.s.Once(e.ctx, key, ttl)
	must(e.t, err, "Once")
	if got != want {
		e.t.Fatalf("Once(%q, %v) at %s = %v, want %v", key, ttl, e.clock.Now().Format(time.DateTime), got, want)
	}
}

func testOnce(t *testing.T, e *env) {
	e.once("fire:meeting:2026-03-02", time.Hour, true)
	e.once("fire:meeting:2026-03-02", time.Hour, false)
	e.once("fire:meeting:2026-03-03", time.Hour, true)
	e.once("fire:meeting:2026-03-02", time.Hour, false)

	e.clock.Advance(59 * time.Minute)
	e.once("fire:meeting:2026-03-02", time.Hour, false)
	e.clock.Advance(2 * time.Minute) // past the ttl: the key is new again
	e.once("fire:meeting:2026-03-02", time.Hour, true)
	e.once("fire:meeting:2026-03-02", time.Hour, false)
	e.once("fire:meeting:2026-03-03", time.Hour, true) // its ttl ran out too

	// A key's ttl is the one given when it was (re)recorded.
	e.once("short", time.Minute, true)
	e.once("long", 48*time.Hour, true)
	e.clock.Advance(25 * time.Hour)
	e.once("short", time.Minute, true)
	e.once("long", 48*time.Hour, false)
}

func testOnceConcurrent(t *testing.T, e *env) {
	const n = 50
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ok, err := e.s.Once(e.ctx, "remind:#12:deadline:24h", 24*time.Hour)
			if err != nil {
				t.Errorf("Once: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d of %d concurrent Once calls on one key reported true, want exactly 1", got, n)
	}
}
