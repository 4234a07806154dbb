package redis

import (
	"context"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store/storetest"
)

// TestBuildDue opens data written before {P:items}:due and :os existed and finds deadlines
// and counts as if it had always had them.
func TestBuildDue(t *testing.T) {
	ctx := t.Context()
	url := "redis://" + redistest.Start(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	open := func() *Store {
		s, err := Open(context.Background(), url, Options{Prefix: "mig", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	storetest.RebuildFixture(t, s, now)
	want := storetest.ViewIndexes(t, s, now)
	if err := s.rdb.Del(ctx, s.k.idxDue(), s.k.openStates(), s.k.idxDueBuilt()).Err(); err != nil {
		t.Fatal(err)
	}
	want.Check(t, storetest.ViewIndexes(t, open(), now), now)
}
