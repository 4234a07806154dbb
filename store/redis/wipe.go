package redis

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Wipe deletes every key of this store's prefix (and nothing of other prefixes sharing the
// Redis): `neighborbot restore --force` empties the store with it before loading a backup.
// Nothing else may use the store meanwhile; open it again afterwards (Open writes the schema
// key back).
func (s *Store) Wipe(ctx context.Context) error {
	s.forgetAhead()
	defer s.forgetAhead()
	colls, err := s.rdb.SMembers(ctx, s.k.docColls()).Result()
	if err != nil {
		return s.fail(ctx, "wipe", err)
	}
	patterns := s.k.all()
	for _, c := range colls {
		patterns = append(patterns, globEscape(s.k.docVals(c)), globEscape(s.k.docIDs(c)))
	}
	wipe := func(ctx context.Context, c redis.UniversalClient) error {
		for _, p := range patterns {
			it := c.Scan(ctx, 0, p, 1000).Iterator()
			var keys []string
			for it.Next(ctx) {
				keys = append(keys, it.Val())
			}
			if err := it.Err(); err != nil {
				return err
			}
			// One key per UNLINK: on a Cluster the keys of one pattern may span slots.
			pipe := c.Pipeline()
			for _, k := range keys {
				pipe.Unlink(ctx, k)
			}
			if len(keys) > 0 {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return wipe(ctx, m) })
	} else {
		err = wipe(ctx, s.rdb)
	}
	if err != nil {
		return s.fail(ctx, "wipe", err)
	}
	return nil
}
