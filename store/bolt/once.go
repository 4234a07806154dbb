package bolt

import (
	"bytes"
	"context"
	"errors"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
)

// purgeBudget bounds how many expired entries one write removes on the side, so purging
// costs every write a little and no write a lot.
const purgeBudget = 64

// Once records key with an expiry. A key seen before whose expiry has passed is recorded
// again as new. Each recording write also drops a few expired keys, oldest first.
func (s *Store) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" {
		return false, community.Errorf(community.EInvalid, "Once with an empty key")
	}
	if ttl <= 0 {
		return false, community.Errorf(community.EInvalid, "Once with ttl %v", ttl)
	}
	now := s.now()
	k := []byte(key)
	live := func(tx *bbolt.Tx) bool {
		exp := tx.Bucket(bOnce).Get(k)
		return exp != nil && bytes.Compare(exp, tkey(now)) > 0
	}
	// Most calls repeat a key already recorded (a retry, a second replica): answer them
	// without taking the writer lock.
	var seen bool
	if err := s.view(ctx, "once", func(tx *bbolt.Tx) error { seen = live(tx); return nil }); err != nil {
		return false, err
	}
	if seen {
		return false, nil
	}
	first := false
	err := s.update(ctx, "once", func(tx *bbolt.Tx) error {
		if live(tx) {
			return nil
		}
		b, exp := tx.Bucket(bOnce), tx.Bucket(bOnceExp)
		if old := b.Get(k); old != nil {
			if err := exp.Delete(cat(old, k)); err != nil {
				return err
			}
		}
		until := tkey(now.Add(ttl))
		if err := b.Put(k, until); err != nil {
			return err
		}
		if err := exp.Put(cat(until, k), nil); err != nil {
			return err
		}
		first = true
		return purgeExpired(exp, now, purgeBudget, func(key []byte) error { return b.Delete(key) })
	})
	return first, err
}

// purgeExpired deletes up to max keys tkey(t) k ≤ now from exp, calling drop with each k.
func purgeExpired(exp *bbolt.Bucket, now time.Time, max int, drop func(k []byte) error) error {
	limit := tkey(now)
	var keys [][]byte
	c := exp.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < max; k, _ = c.Next() {
		if len(k) < 8 {
			return errors.New("short expiry key")
		}
		if bytes.Compare(k[:8], limit) > 0 {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := exp.Delete(k); err != nil {
			return err
		}
		if err := drop(k[8:]); err != nil {
			return err
		}
	}
	return nil
}
