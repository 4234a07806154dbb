package bolt

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// TestRebuildOpen opens a data file written before items.due (no such bucket, items.open
// without values) and finds deadlines and counts as if it had always had them.
func TestRebuildOpen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "neighborbot.db")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	s, err := Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		_, err := s.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewPost(no, benchGroup, benchSecretary, fmt.Sprintf("活动%d", i), 1, now.Add(time.Duration(12-i)*time.Hour), now)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for no := int64(1); no <= 12; no += 3 {
		if _, err := s.UpdateItem(ctx, no, func(it *community.Item) error {
			return it.Apply(community.Change{Action: community.ActCancel, Actor: benchSecretary, At: now})
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
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bItemsDue); err != nil {
			return err
		}
		b := tx.Bucket(bItemsOpen)
		var keys [][]byte
		if err := b.ForEach(func(k, _ []byte) error { keys = append(keys, slices.Clone(k)); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Put(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gotCounts, gotLists := look(s)
	for i := range filters {
		if !maps.Equal(gotCounts[i], wantCounts[i]) || !slices.Equal(gotLists[i], wantLists[i]) {
			t.Errorf("after rebuild %+v: %v %v, want %v %v", filters[i], gotCounts[i], gotLists[i], wantCounts[i], wantLists[i])
		}
	}
}
