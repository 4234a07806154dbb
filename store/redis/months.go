package redis

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// listActive lists the items of the months f.ActiveFrom..ActiveTo touches (listItems walks
// their zsets), keeps those with an event within the exact bounds, then applies the limit.
func (s *Store) listActive(ctx context.Context, f store.ItemFilter) ([]*community.Item, error) {
	v, err := s.runList(ctx, "list items", f, 0)
	if err != nil {
		return nil, err
	}
	var out []*community.Item
	for _, data := range strs(v) {
		it := new(community.Item)
		if err := json.Unmarshal([]byte(data), it); err != nil {
			return nil, fmt.Errorf("redis: decode item: %w", err)
		}
		if !store.ActiveIn(it, f.ActiveFrom, f.ActiveTo) {
			continue
		}
		out = append(out, it)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// countActive counts by listing: the exact bounds need the items' histories.
func (s *Store) countActive(ctx context.Context, f store.ItemFilter) (map[community.State]int, error) {
	f.Limit, f.ByDeadline = 0, false
	items, err := s.listActive(ctx, f)
	if err != nil {
		return nil, err
	}
	out := map[community.State]int{}
	for _, it := range items {
		out[it.State]++
	}
	return out, nil
}

// buildMonths adds every item to its months' zsets when data written before they existed is
// opened (:mv marks it done). Writers keep them in step from then on; adding twice is harmless.
func (s *Store) buildMonths(ctx context.Context) error {
	return s.buildIndex(ctx, "build month index", s.k.idxMonthBuilt(), s.k.idxAll(), func(no string, it *community.Item) error {
		for _, m := range store.ActiveMonths(it) {
			if err := s.rdb.ZAdd(ctx, s.k.idxMonth(m), redis.Z{Score: float64(it.No), Member: no}).Err(); err != nil {
				return err
			}
		}
		return nil
	})
}
