package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/redis"
	"github.com/neighborbot/neighborbot/store/storetest"
)

func TestConformance(t *testing.T) {
	runSuite(t, "redis://"+redistest.Start(t))
}

// TestCluster runs the conformance suite and the dump check on a local 3-master Redis
// Cluster, which proves every script's keys share a slot (a script that strays fails with
// CROSSSLOT).
func TestCluster(t *testing.T) {
	url := strings.Join(redistest.StartCluster(t), ",")
	t.Run("Conformance", func(t *testing.T) { runSuite(t, url) })
	t.Run("Dump", func(t *testing.T) { runDump(t, url) })
}

// runSuite runs the conformance suite on the server at url, each subtest under its own key
// prefix; a restart is a new client on the same prefix (a new replica, or a redeploy).
func runSuite(t *testing.T, url string) {
	var mu sync.Mutex
	prefixes := map[store.Store]string{}
	n := 0
	storetest.Run(t,
		func(t *testing.T, now func() time.Time) store.Store {
			mu.Lock()
			n++
			prefix := fmt.Sprintf("t%d", n)
			mu.Unlock()
			s := MustOpen(t, url, prefix, now)
			mu.Lock()
			prefixes[s] = prefix
			mu.Unlock()
			return s
		},
		func(t *testing.T, s store.Store, now func() time.Time) store.Store {
			mu.Lock()
			prefix := prefixes[s]
			mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s2 := MustOpen(t, url, prefix, now)
			mu.Lock()
			prefixes[s2] = prefix
			mu.Unlock()
			return s2
		})
}

// MustOpen opens a store on url under prefix and closes it when the test ends.
func MustOpen(tb testing.TB, url, prefix string, now func() time.Time) *redis.Store {
	tb.Helper()
	s, err := redis.Open(context.Background(), url, redis.Options{Now: now, Prefix: prefix})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestDump(t *testing.T) { runDump(t, "redis://"+redistest.Start(t)) }

func runDump(t *testing.T, url string) {
	n := 0
	storetest.RunDump(t, func(t *testing.T, now func() time.Time) store.Store {
		n++
		return MustOpen(t, url, fmt.Sprintf("d%d", n), now)
	})
}
