package redis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
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
	sec := community.Actor{ID: "local:sec", Name: "王书记", Role: community.RoleSecretary}
	g := community.Group{ID: "local:g0", Platform: "local", Chat: "g0", Name: "幸福里"}
	for i := range 12 {
		_, err := s.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewPost(no, g, sec, fmt.Sprintf("活动%d", i), 1, now.Add(time.Duration(12-i)*time.Hour), now)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for no := int64(1); no <= 12; no += 3 {
		if _, err := s.UpdateItem(ctx, no, func(it *community.Item) error {
			return it.Apply(community.Change{Action: community.ActCancel, Actor: sec, At: now})
		}); err != nil {
			t.Fatal(err)
		}
	}
	filters := []store.ItemFilter{{Open: true}, {ByDeadline: true}, {DueBefore: now.Add(6 * time.Hour)}}
	look := func(s *Store) (counts []map[community.State]int, lists [][]int64) {
		for _, f := range filters {
			c, err := s.CountItems(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			items, err := s.ListItems(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var nos []int64
			for _, it := range items {
				nos = append(nos, it.No)
			}
			counts, lists = append(counts, c), append(lists, nos)
		}
		return counts, lists
	}
	wantCounts, wantLists := look(s)
	if len(wantLists[1]) != 8 {
		t.Fatalf("ByDeadline lists %v, want the 8 open items", wantLists[1])
	}
	if err := s.rdb.Del(ctx, s.k.idxDue(), s.k.openStates(), s.k.idxDueBuilt()).Err(); err != nil {
		t.Fatal(err)
	}
	gotCounts, gotLists := look(open())
	for i := range filters {
		if !maps.Equal(gotCounts[i], wantCounts[i]) || !slices.Equal(gotLists[i], wantLists[i]) {
			t.Errorf("after rebuild %+v: %v %v, want %v %v", filters[i], gotCounts[i], gotLists[i], wantCounts[i], wantLists[i])
		}
	}
}
