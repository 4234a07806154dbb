package redis

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/store"
)

// QueueStats implements the optional power internal/metrics reads on each scrape: the size of
// the inbox's due set, the outbox's pending counter, and the fronts of the inbox's due set and
// the outbox's ready and wait sets (one pipelined round trip, then one HGET).
func (s *Store) QueueStats(ctx context.Context, now time.Time) (store.QueueStats, error) {
	var st store.QueueStats
	var card *redis.IntCmd
	var inFront, ready, wait *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		card = p.ZCard(ctx, s.k.inboxDue())
		inFront = p.ZRange(ctx, s.k.inboxDue(), 0, 0)
		ready = p.ZRange(ctx, s.k.outboxReady(), 0, 0)
		wait = p.ZRange(ctx, s.k.outboxWait(), 0, 0)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return st, s.fail(ctx, "queue stats", err)
	}
	st.InboxPending = int(min(card.Val(), store.QueueStatsCap))
	if m := inFront.Val(); len(m) == 1 && len(m[0]) > tkeyLen {
		recv, err := s.rdb.HGet(ctx, s.k.inboxPrefix()+m[0][tkeyLen:], "recv").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return st, s.fail(ctx, "queue stats", err)
		}
		if recv != "" {
			st.InboxOldest, _ = parseTime(recv)
		}
	}
	os, err := s.OutboxStats(ctx, "")
	if err != nil {
		return st, err
	}
	st.OutboxPending = os.Pending
	if m := ready.Val(); len(m) == 1 && len(m[0]) >= tkeyLen {
		st.OutboxOldestDue = tkeyTime(m[0][:tkeyLen])
	}
	if m := wait.Val(); len(m) == 1 && len(m[0]) > tkeyLen {
		if due := tkeyTime(m[0][:tkeyLen]); !due.After(now) {
			// Due since then, or since it was enqueued if that was later (no NotBefore).
			created, err := s.rdb.HGet(ctx, s.k.outboxPrefix()+m[0][tkeyLen:], "created").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return st, s.fail(ctx, "queue stats", err)
			}
			if c, err := parseTime(created); err == nil && c.After(due) {
				due = c
			}
			if st.OutboxOldestDue.IsZero() || due.Before(st.OutboxOldestDue) {
				st.OutboxOldestDue = due
			}
		}
	}
	return st, nil
}
