package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// An outbox entry is a hash {P:outbox}:e:<id>:
//
//	id plat chat batch p   the entry as enqueued (p: payload)
//	st att err res         status, attempts, last error, the platform's result
//	created nb until sent  times as text (nb: not before; until: lease end)
//	own                    lease owner
//	seq                    enqueue order
//	rk                     its member of ready: tkey(created)+hex16(seq)+id
//	wm                     while pending, its member of wait: tkey(due)+id, due being
//	                       max(not before, lease end)
//
// A pending entry sits in wait until found due, then in ready until leased (leaseOutbox),
// like bbolt's two queues: leasing reads nothing that is not due, and hands out by age.

func (s *Store) Enqueue(ctx context.Context, entries ...store.OutboxEntry) error {
	for _, e := range entries {
		if e.ID == "" {
			return community.Errorf(community.EInvalid, "outbox entry without an id")
		}
	}
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	args := []any{s.k.outboxPrefix()}
	for _, e := range entries {
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		args = append(args, e.ID, e.Platform, e.Chat, e.Batch, e.Payload,
			timeText(e.CreatedAt), tkey(e.CreatedAt), timeText(e.NotBefore), tkey(e.NotBefore))
	}
	_, err := s.run(ctx, "enqueue", enqueue, s.outboxKeys(), args...)
	return err
}

// outboxKeys are enqueue's and restoreOutbox's KEYS.
func (s *Store) outboxKeys() []string {
	return []string{s.k.outboxWait(), s.k.outboxSeq(), s.k.outboxStats(), s.k.outboxIDs()}
}

// RecordOutbox keeps entries sent without the outbox (bot.OutboxRecorder) as they ended, in
// one round trip (restoreOutbox for each, pipelined); an id already there is left alone.
func (s *Store) RecordOutbox(ctx context.Context, entries ...store.OutboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	run := func() error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, e := range entries {
				s.queueRecord(ctx, p, e)
			}
			return nil
		})
		return err
	}
	err := run()
	if noScript(err) {
		// Unknown to the server yet: load it and run again (a recorded id is left alone).
		if lerr := restoreOutbox.Load(ctx, s.rdb).Err(); lerr != nil {
			return s.fail(ctx, "record outbox", lerr)
		}
		err = run()
	}
	if err != nil {
		return s.fail(ctx, "record outbox", err)
	}
	return nil
}

// queueRecord adds the record of e, sent without the outbox, to p (restoreOutbox, unleased).
func (s *Store) queueRecord(ctx context.Context, p redis.Pipeliner, e store.OutboxEntry) *redis.Cmd {
	e.LeaseOwner, e.LeaseUntil = "", time.Time{}
	return restoreOutbox.EvalSha(ctx, p, s.outboxKeys(), s.restoreOutboxArgs(&e)...)
}

func (s *Store) LeaseOutbox(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.OutboxEntry, error) {
	if max <= 0 {
		return nil, nil
	}
	until := now.Add(lease)
	v, err := s.run(ctx, "lease outbox", leaseOutbox, []string{s.k.outboxWait(), s.k.outboxReady()},
		s.k.outboxPrefix(), upTo(now), tkey(now), max, owner, timeText(until), tkey(until))
	if err != nil {
		return nil, err
	}
	rows, _ := v.([]any)
	out := make([]store.OutboxEntry, 0, len(rows))
	for _, row := range rows {
		kv := strs(row)
		h := make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		e, err := outboxFields(h)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Store) CompleteOutbox(ctx context.Context, id, owner, result string, now time.Time) error {
	return s.finish(ctx, "complete outbox", id, owner, "complete", result, timeText(now))
}

func (s *Store) ReleaseOutbox(ctx context.Context, id, owner string, notBefore time.Time, errText string, attempt bool) error {
	return s.finish(ctx, "release outbox", id, owner, "release", timeText(notBefore), tkey(notBefore), errText, flag(attempt))
}

func (s *Store) FailOutbox(ctx context.Context, id, owner, errText string, now time.Time) error {
	return s.finish(ctx, "fail outbox", id, owner, "fail", errText)
}

func (s *Store) finish(ctx context.Context, op, id, owner, kind string, args ...any) error {
	keys := []string{s.k.outboxWait(), s.k.outboxReady(), s.k.outboxStats(), s.k.outboxEntry(id)}
	v, err := s.run(ctx, op, finishOutbox, keys, append([]any{owner, kind}, args...)...)
	if err != nil {
		return err
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return fmt.Errorf("redis: %s: empty answer", op)
	}
	switch a[0] {
	case int64(1):
		return nil
	case int64(-1):
		return store.ErrNotFound("消息")
	}
	status := ""
	if len(a) > 1 {
		status, _ = a[1].(string)
	}
	return community.Errorf(community.EConflict, "消息 %s 已不归 %s 发送（%s）。", id, owner, status)
}

func (s *Store) GetOutbox(ctx context.Context, id string) (store.OutboxEntry, error) {
	h, err := s.rdb.HGetAll(ctx, s.k.outboxEntry(id)).Result()
	if err != nil {
		return store.OutboxEntry{}, s.fail(ctx, "get outbox", err)
	}
	if len(h) == 0 {
		return store.OutboxEntry{}, store.ErrNotFound("消息")
	}
	return outboxFields(h)
}

// OutboxStats reads counters every status change keeps up to date.
func (s *Store) OutboxStats(ctx context.Context, batch string) (store.OutboxStats, error) {
	suffix := "*"
	if batch != "" {
		suffix = "|" + batch
	}
	v, err := s.rdb.HMGet(ctx, s.k.outboxStats(), "pending"+suffix, "sent"+suffix, "failed"+suffix).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.OutboxStats{}, s.fail(ctx, "outbox stats", err)
	}
	n := func(i int) int {
		str, _ := v[i].(string)
		x, _ := strconv.Atoi(str)
		return x
	}
	return store.OutboxStats{Pending: n(0), Sent: n(1), Failed: n(2)}, nil
}

// outboxFields decodes an entry's hash.
func outboxFields(h map[string]string) (store.OutboxEntry, error) {
	e := store.OutboxEntry{
		ID: h["id"], Platform: h["plat"], Chat: h["chat"], Batch: h["batch"],
		Status: store.OutboxStatus(h["st"]), LeaseOwner: h["own"], LastError: h["err"], Result: h["res"],
	}
	if p, ok := h["p"]; ok {
		e.Payload = []byte(p)
	}
	e.Attempts, _ = strconv.Atoi(h["att"])
	var err error
	for _, t := range []struct {
		field string
		to    *time.Time
	}{{"created", &e.CreatedAt}, {"nb", &e.NotBefore}, {"until", &e.LeaseUntil}, {"sent", &e.SentAt}} {
		if *t.to, err = parseTime(h[t.field]); err != nil {
			return e, fmt.Errorf("redis: outbox %s: %s: %w", e.ID, t.field, err)
		}
	}
	return e, nil
}
