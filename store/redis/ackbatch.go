package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/store"
)

// AckInboundBatch acks many events in one round trip (the ack script for each, pipelined): what
// AckInbound does for each id, so bot.Pipeline writes a burst's acks at the cost of one. An id
// not in the inbox is reported, as by AckInbound, with the others acked.
func (s *Store) AckInboundBatch(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	run := func(todo []string) ([]*redis.Cmd, error) {
		cmds := make([]*redis.Cmd, len(todo))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range todo {
				cmds[i] = s.queueAck(ctx, p, id, now)
			}
			return nil
		})
		return cmds, err
	}
	cmds, err := run(ids)
	if noScript(err) {
		// The server does not know the script yet (a restart, a new server): load it once
		// and run the batch again; an ack already done does nothing more.
		if lerr := ackInbound.Load(ctx, s.rdb).Err(); lerr != nil {
			return s.fail(ctx, "ack inbound batch", lerr)
		}
		cmds, err = run(ids)
	}
	var errs []error
	for i, c := range cmds {
		n, cerr := c.Int64()
		switch {
		case cerr != nil:
			errs = append(errs, s.fail(ctx, "ack inbound "+ids[i], cerr))
		case n == -1:
			errs = append(errs, fmt.Errorf("ack inbound %s: %w", ids[i], store.ErrNotFound("消息")))
		}
	}
	if len(errs) == 0 && err != nil {
		errs = append(errs, s.fail(ctx, "ack inbound batch", err))
	}
	return errors.Join(errs...)
}

// queueAck adds the ack of event id at now to p (the ackInbound script; it answers -1 for an id
// not in the inbox).
func (s *Store) queueAck(ctx context.Context, p redis.Pipeliner, id string, now time.Time) *redis.Cmd {
	keys, args := s.ackArgs(id, now)
	return ackInbound.EvalSha(ctx, p, keys, args...)
}
