package app_test

import (
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/cache"
)

// sharedStore stands for a backend replicas share, with a rate limiter of its own (Redis).
type sharedStore struct {
	store.Store
	lim bot.RateLimiter
}

func (s sharedStore) Limiter() bot.RateLimiter { return s.lim }

// The directory cache wraps the store; the dispatcher must still get the backend's fleet-wide
// limiter, not a per-process one.
func TestLimiterSeesThroughTheCache(t *testing.T) {
	own := &bot.LocalLimiter{}
	st := cache.New(sharedStore{lim: own}, cache.Options{})
	if got := app.Limiter(st, time.Time{}); got != bot.RateLimiter(own) {
		t.Fatalf("Limiter(cached shared store) = %T %p, want the store's own %p", got, got, own)
	}
	if _, ok := app.Limiter(cache.New(nil, cache.Options{}), time.Time{}).(*bot.LocalLimiter); !ok {
		t.Fatal("a store without a limiter of its own gets a LocalLimiter")
	}
}
