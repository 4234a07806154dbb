package bolt

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// keyMonths in meta marks items.month as covering every item.
var keyMonths = []byte("months")

// anyOfMonths walks the items with an event in a month f.ActiveFrom..f.ActiveTo touches;
// matches then checks the exact bounds.
func anyOfMonths(tx *bbolt.Tx, f store.ItemFilter) noIter {
	months := store.MonthsBetween(f.ActiveFrom, f.ActiveTo)
	if len(months) == 0 {
		return emptyIter{}
	}
	return anyOf(tx.Bucket(bItemsMonth), months)
}

type emptyIter struct{}

func (emptyIter) seekLE(uint64) (uint64, bool) { return 0, false }

// countActive counts by listing: the exact bounds need the items' histories.
func (s *Store) countActive(ctx context.Context, f store.ItemFilter) (map[community.State]int, error) {
	f.Limit = 0
	items, err := s.ListItems(ctx, f)
	if err != nil {
		return nil, err
	}
	out := map[community.State]int{}
	for _, it := range items {
		out[it.State]++
	}
	return out, nil
}

// buildMonths fills items.month from every item once, for a data file written before it
// existed; a mark in meta says it is done (writers keep it in step from then on).
func buildMonths(tx *bbolt.Tx) (int, error) {
	meta := tx.Bucket(bMeta)
	if meta.Get(keyMonths) != nil {
		return 0, nil
	}
	b := tx.Bucket(bItemsMonth)
	n := 0
	err := forEachItem(tx, func(k, v []byte) error {
		var it community.Item
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("decode item %x: %w", k, err)
		}
		for _, m := range store.ActiveMonths(&it) {
			if err := b.Put(idx(m, it.No), nil); err != nil {
				return err
			}
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, meta.Put(keyMonths, []byte("1"))
}
