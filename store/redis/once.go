package redis

import (
	"context"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// Once is SET NX PX in a script (once) that reads the expiry through the store's clock: a
// key is new if absent or recorded with an expiry at or before now. The key's PX ttl lets
// Redis drop it once it no longer matters.
func (s *Store) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" {
		return false, community.Errorf(community.EInvalid, "Once with an empty key")
	}
	if ttl <= 0 {
		return false, community.Errorf(community.EInvalid, "Once with ttl %v", ttl)
	}
	now := s.now()
	n, err := s.runInt(ctx, "once", once, []string{s.k.once(key)}, tkey(now), tkey(now.Add(ttl)), ms(ttl))
	return n == 1, err
}

// ms is d in whole milliseconds, rounded up, at least 1: a PX ttl.
func ms(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}
