package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// An inbound event is a hash {P:inbox}:e:<id>:
//
//	p      payload (until handled)
//	recv   received, as text
//	att    leases so far
//	own    lease owner; until: lease end as text
//	dm     its member of {P:inbox}:due: tkey(due)+id, due being received or the lease's end
//	done   handled, as text; forget: when the id may be forgotten, as text
//	em     its member of {P:inbox}:exp: tkey(forget)+id; present only once handled

// purgeBudget bounds how many forgotten ids one write removes on the side.
const purgeBudget = 64

func (s *Store) PutInbound(ctx context.Context, id string, payload []byte, now time.Time) (bool, error) {
	fresh, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: id, Payload: payload}}, now)
	if err != nil {
		return false, err
	}
	return fresh[0], nil
}

// PutInboundBatch records a batch in one script: one round trip, one AOF write.
func (s *Store) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	for _, e := range entries {
		if e.ID == "" {
			return nil, community.Errorf(community.EInvalid, "inbound event without an id")
		}
	}
	fresh := make([]bool, len(entries))
	if len(entries) == 0 {
		return fresh, nil
	}
	args := []any{s.k.inboxPrefix(), tkey(now), timeText(now), purgeBudget + len(entries), upTo(now)}
	var senders []string
	var reserve [][]store.Limit
	for _, e := range entries {
		if e.LeaseOwner != "" && e.LeaseUntil.After(now) { // leased to the receiver on the way in
			args = append(args, e.ID, e.Payload, e.LeaseOwner, timeText(e.LeaseUntil), tkey(e.LeaseUntil))
			// Handled here next: read the sender's entry ahead, take the reply's tokens.
			if e.Sender != "" && !slices.Contains(senders, e.Sender) {
				senders = append(senders, e.Sender)
			}
			if len(e.Reserve) > 0 {
				reserve = append(reserve, e.Reserve)
			}
		} else {
			args = append(args, e.ID, e.Payload, "", "", "")
		}
	}
	v, err := s.putWith(ctx, []string{s.k.inboxDue(), s.k.inboxExp()}, args, senders, reserve, now)
	if err != nil {
		return nil, err
	}
	a, _ := v.([]any)
	if len(a) != len(entries) {
		return nil, fmt.Errorf("redis: put inbound: %d answers for %d events", len(a), len(entries))
	}
	for i, x := range a {
		fresh[i] = x == int64(1)
	}
	return fresh, nil
}

// putWith runs the put script and, in the same round trip, the acks and records that wait for
// one (bot.LaterAcker), the reads of the senders' directory entries (ahead.go) and the takes
// of the replies' tokens (Limiter).
func (s *Store) putWith(ctx context.Context, keys []string, args []any, senders []string, reserve [][]store.Limit, now time.Time) (any, error) {
	s.later.mu.Lock()
	acks, records := s.takeLaterLocked()
	if len(acks)+len(records) > 0 {
		s.stopLaterLocked()
	}
	s.later.mu.Unlock()
	if len(acks)+len(records)+len(senders)+len(reserve) == 0 {
		return s.run(ctx, "put inbound", putInbound, keys, args...)
	}
	var put *redis.Cmd
	var ac, rc, takes []*redis.Cmd
	var reads []*redis.StringCmd
	var gen uint64
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		put = putInbound.EvalSha(ctx, p, keys, args...)
		ac, rc = s.queueLater(ctx, p, acks, records)
		reads, gen = s.readAhead(ctx, p, senders)
		for _, lims := range reserve {
			tk, ta := s.limiter.takeArgs(lims, now)
			takes = append(takes, takeLimits.EvalSha(ctx, p, tk, ta...))
		}
		return nil
	})
	s.finishLater(ctx, acks, records, ac, rc)
	for i, c := range takes {
		// Taken (0): the reply's Take finds it held. Refused, or not run (NOSCRIPT before the
		// first Take loads the script, an outage): the reply's Take asks Redis.
		if n, err := c.Int64(); err == nil && n == 0 {
			s.limiter.hold(reserve[i], now)
		}
	}
	v, err := put.Result()
	if noScript(err) {
		// The script did not run: Run loads it (EVAL) and runs it now.
		v, err = s.run(ctx, "put inbound", putInbound, keys, args...)
	} else if err != nil {
		err = s.fail(ctx, "put inbound", err)
	}
	if err == nil {
		s.keepAhead(senders, reads, gen)
	}
	return v, err
}

func (s *Store) LeaseInbound(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.InboundEntry, error) {
	if max <= 0 {
		return nil, nil
	}
	until := now.Add(lease)
	v, err := s.run(ctx, "lease inbound", leaseInbound, []string{s.k.inboxDue()},
		s.k.inboxPrefix(), upTo(now), max, owner, timeText(until), tkey(until))
	if err != nil {
		return nil, err
	}
	rows, _ := v.([]any)
	out := make([]store.InboundEntry, 0, len(rows))
	for _, row := range rows {
		f := strs(row)
		if len(f) != 4 {
			return nil, fmt.Errorf("redis: lease inbound: malformed row %v", row)
		}
		received, err := parseTime(f[2])
		if err != nil {
			return nil, fmt.Errorf("redis: lease inbound: %s: %w", f[0], err)
		}
		att, _ := row.([]any)[3].(int64)
		out = append(out, store.InboundEntry{
			ID: f[0], Payload: []byte(f[1]), Received: received, Attempts: int(att),
			LeaseOwner: owner, LeaseUntil: until,
		})
	}
	return out, nil
}

func (s *Store) AckInbound(ctx context.Context, id string, now time.Time) error {
	keys, args := s.ackArgs(id, now)
	n, err := s.runInt(ctx, "ack inbound", ackInbound, keys, args...)
	if err != nil {
		return err
	}
	if n == -1 {
		return store.ErrNotFound("消息")
	}
	return nil
}

// ackArgs are the ackInbound script's keys and arguments for id acked at now.
func (s *Store) ackArgs(id string, now time.Time) (keys []string, args []any) {
	forget := now.Add(store.InboxRetention)
	return []string{s.k.inboxDue(), s.k.inboxExp(), s.k.inboxEntry(id)},
		[]any{timeText(now), tkey(forget) + id, timeText(forget), ms(store.InboxRetention)}
}

// inboundFields decodes an event's hash.
func inboundFields(id string, h map[string]string) (store.InboundRecord, error) {
	r := store.InboundRecord{InboundEntry: store.InboundEntry{ID: id, LeaseOwner: h["own"]}}
	if p, ok := h["p"]; ok {
		r.Payload = []byte(p)
	}
	r.Attempts, _ = strconv.Atoi(h["att"])
	var err error
	for _, t := range []struct {
		field string
		to    *time.Time
	}{{"recv", &r.Received}, {"until", &r.LeaseUntil}, {"done", &r.Handled}, {"forget", &r.Forget}} {
		if *t.to, err = parseTime(h[t.field]); err != nil {
			return r, fmt.Errorf("redis: inbound %s: %s: %w", id, t.field, err)
		}
	}
	return r, nil
}

// InboundWriters lets the pipeline have a second put in flight while one is slow
// (bot.ConcurrentInbox): each put is a round trip of its own on its own connection, and
// the put script is atomic, so two overlap safely. Redis runs them one after the other; the
// second is in its socket already when the first ends, not a round trip behind it.
func (s *Store) InboundWriters() int { return 2 }
