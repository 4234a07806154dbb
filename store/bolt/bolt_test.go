package bolt_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T, now func() time.Time) store.Store {
			return MustOpen(t, filepath.Join(t.TempDir(), "neighborbot.db"), now)
		},
		func(t *testing.T, s store.Store, now func() time.Time) store.Store {
			path := s.(*bolt.Store).Path()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return MustOpen(t, path, now)
		},
		storetest.LeasesEndAtReopen()) // bbolt's file lock admits one process: its leases end with it
}

// MustOpen opens the store at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string, now func() time.Time) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(path, bolt.Options{Now: now})
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
