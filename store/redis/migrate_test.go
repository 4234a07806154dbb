package redis

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
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

// TestBuildMonths opens data written before the month index existed and lists a month's items
// as if it had always had it.
func TestBuildMonths(t *testing.T) {
	ctx := t.Context()
	url := "redis://" + redistest.Start(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	open := func() *Store {
		s, err := Open(context.Background(), url, Options{Prefix: "mon", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	storetest.RebuildFixture(t, s, now)
	month := store.ItemFilter{ActiveFrom: time.Date(2026, 3, 1, 0, 0, 0, 0, time.Local), ActiveTo: time.Date(2026, 4, 1, 0, 0, 0, 0, time.Local)}
	numbers := func(s *Store) []int64 {
		items, err := s.ListItems(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, it := range items {
			out = append(out, it.No)
		}
		return out
	}
	want := numbers(s)
	if len(want) == 0 {
		t.Fatal("the fixture has no item active in March 2026")
	}
	keys, err := s.rdb.Keys(ctx, s.k.idxMonth("*")).Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("month keys %v, %v", keys, err)
	}
	if err := s.rdb.Del(ctx, append(keys, s.k.idxMonthBuilt())...).Err(); err != nil {
		t.Fatal(err)
	}
	if got := numbers(open()); !slices.Equal(got, want) {
		t.Errorf("after rebuilding the month index: %v, want %v", got, want)
	}
}
