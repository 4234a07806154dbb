package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

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
	n, err := s.rdb.Exists(ctx, s.k.idxMonthBuilt()).Result()
	if err != nil {
		return s.fail(ctx, "build month index", err)
	}
	if n > 0 {
		return nil
	}
	err = s.pages(ctx, "build month index", s.k.idxAll(), func(nos []string) error {
		for _, no := range nos {
			n, err := strconv.ParseInt(no, 10, 64)
			if err != nil {
				return fmt.Errorf("redis: item index holds %q", no)
			}
			it, _, err := s.getItem(ctx, n)
			if community.ErrorCode(err) == community.ENotFound {
				continue
			}
			if err != nil {
				return err
			}
			for _, m := range store.ActiveMonths(it) {
				if err := s.rdb.ZAdd(ctx, s.k.idxMonth(m), redis.Z{Score: float64(n), Member: no}).Err(); err != nil {
					return s.fail(ctx, "build month index", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, s.k.idxMonthBuilt(), "1", 0).Err(); err != nil {
		return s.fail(ctx, "build month index", err)
	}
	return nil
}
