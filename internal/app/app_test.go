package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
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

// feature registers one verb, as a feature package would.
type feature struct{ owner, word, action string }

func (f feature) Register(m *bot.Mux) error {
	noop := func(context.Context, *bot.Request) error { return nil }
	if f.action != "" {
		return m.HandleAction(f.action, f.owner, noop)
	}
	return m.Handle(bot.Verb{Name: f.owner + ".verb", Owner: f.owner, Words: []string{f.word}, Handler: noop})
}

// A feature that registers a word or a card action another part owns stops start-up, and the
// error names both owners.
func TestConflictingCommandsFailStartUp(t *testing.T) {
	for _, tt := range []struct {
		f    feature
		want []string
	}{
		{feature{owner: "ledger", word: "接单"}, []string{`"接单"`, "items", "ledger"}},
		{feature{owner: "ledger", word: "报名"}, []string{`"报名"`, "scheduler", "ledger"}},
		{feature{owner: "ledger", word: "回执"}, []string{`"回执"`, "notices", "ledger"}},
		{feature{owner: "ledger", action: "claim"}, []string{`"claim"`, "items", "ledger"}},
		{feature{owner: "ledger", action: "vote"}, []string{`"vote"`, "notices", "ledger"}},
	} {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "bot.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(context.Background(), app.Options{Config: config.Demo(), Store: st, Owner: "test",
			Log: slog.New(slog.DiscardHandler), Features: []app.Feature{tt.f}})
		if err == nil {
			a.Close()
			t.Fatalf("%+v: start-up succeeded", tt.f)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not name %s", tt.f, err, w)
			}
		}
		st.Close()
	}
	// Words nobody else has are fine, and show in 帮助 only with a help line.
	st, err := bolt.Open(filepath.Join(t.TempDir(), "bot.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := app.New(context.Background(), app.Options{Config: config.Demo(), Store: st, Owner: "test",
		Log: slog.New(slog.DiscardHandler), Features: []app.Feature{feature{owner: "ledger", word: "记账"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if v, ok := a.Commands.Verb("ledger.verb"); !ok || v.Owner != "ledger" {
		t.Fatalf("ledger's verb not registered: %+v", v)
	}
}
