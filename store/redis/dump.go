package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/store"
)

var _ store.Dumper = (*Store)(nil)

// dumpPage is how many entries one pipelined read fetches.
const dumpPage = 256

// Dump implements store.Dumper. It reads in pages and is not a snapshot: stop the bots
// before exporting.
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	seq, err := s.itemSeq(ctx)
	if err != nil {
		return err
	}
	if err := fn(store.Record{ItemSeq: &seq}); err != nil {
		return err
	}
	if err := s.dumpItems(ctx, fn); err != nil {
		return err
	}
	nums, err := s.numberEntries(ctx)
	if err != nil {
		return err
	}
	for _, e := range nums {
		if err := fn(store.Record{Number: &e}); err != nil {
			return err
		}
	}
	persons, err := s.ListPersons(ctx)
	if err != nil {
		return err
	}
	for _, p := range persons {
		if err := fn(store.Record{Person: &p}); err != nil {
			return err
		}
	}
	groups, err := s.ListGroups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := fn(store.Record{Group: &g}); err != nil {
			return err
		}
	}
	if err := s.dumpDocs(ctx, fn); err != nil {
		return err
	}
	if err := s.dumpOutbox(ctx, fn); err != nil {
		return err
	}
	if err := s.dumpInbox(ctx, fn); err != nil {
		return err
	}
	return s.dumpOnce(ctx, fn)
}

// pages calls page with successive slices of the members of a zset, lowest score first.
func (s *Store) pages(ctx context.Context, op, key string, page func([]string) error) error {
	for from := int64(0); ; from += dumpPage {
		ms, err := s.rdb.ZRange(ctx, key, from, from+dumpPage-1).Result()
		if err != nil {
			return s.fail(ctx, op, err)
		}
		if len(ms) > 0 {
			if err := page(ms); err != nil {
				return err
			}
		}
		if len(ms) < dumpPage {
			return nil
		}
	}
}

func (s *Store) dumpItems(ctx context.Context, fn func(store.Record) error) error {
	return s.pages(ctx, "dump items", s.k.idxAll(), func(nos []string) error {
		cmds := make([]*redis.StringCmd, len(nos))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, no := range nos {
				cmds[i] = p.HGet(ctx, s.k.itemPrefix()+no, "j")
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return s.fail(ctx, "dump items", err)
		}
		for i, c := range cmds {
			data, err := c.Bytes()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return s.fail(ctx, "dump items", err)
			}
			it, err := decodeItem(0, data)
			if err != nil {
				return fmt.Errorf("%w (item %s)", err, nos[i])
			}
			if err := fn(store.Record{Item: it}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) dumpDocs(ctx context.Context, fn func(store.Record) error) error {
	colls, err := s.rdb.SMembers(ctx, s.k.docColls()).Result()
	if err != nil {
		return s.fail(ctx, "dump docs", err)
	}
	slices.Sort(colls)
	for _, coll := range colls {
		docs, err := s.ListDocs(ctx, coll, "")
		if err != nil {
			return err
		}
		for _, d := range docs {
			if err := fn(store.Record{Doc: &store.DocRecord{Coll: coll, ID: d.ID, Value: d.Value}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// hashes reads many hashes in one pipeline; a missing one comes back empty.
func (s *Store) hashes(ctx context.Context, op string, keys []string) ([]map[string]string, error) {
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	out := make([]map[string]string, len(keys))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

func (s *Store) dumpOutbox(ctx context.Context, fn func(store.Record) error) error {
	return s.pages(ctx, "dump outbox", s.k.outboxIDs(), func(ids []string) error {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = s.k.outboxEntry(id)
		}
		hs, err := s.hashes(ctx, "dump outbox", keys)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if len(h) == 0 {
				continue
			}
			e, err := outboxFields(h)
			if err != nil {
				return err
			}
			if err := fn(store.Record{Outbox: &e}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) dumpInbox(ctx context.Context, fn func(store.Record) error) error {
	var ids []string
	for _, key := range []string{s.k.inboxDue(), s.k.inboxExp()} {
		err := s.pages(ctx, "dump inbox", key, func(ms []string) error {
			for _, m := range ms {
				if len(m) > tkeyLen {
					ids = append(ids, m[tkeyLen:])
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	now := s.now()
	for chunk := range slices.Chunk(ids, dumpPage) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = s.k.inboxEntry(id)
		}
		hs, err := s.hashes(ctx, "dump inbox", keys)
		if err != nil {
			return err
		}
		for i, h := range hs {
			if len(h) == 0 {
				continue
			}
			r, err := inboundFields(chunk[i], h)
			if err != nil {
				return err
			}
			if !r.Handled.IsZero() && !r.Forget.After(now) {
				continue // forgotten, not yet purged
			}
			if err := fn(store.Record{Inbound: &r}); err != nil {
				return err
			}
		}
	}
	return nil
}

// dumpOnce finds the Once keys with SCAN (on every master of a Cluster, since they spread
// over all slots).
func (s *Store) dumpOnce(ctx context.Context, fn func(store.Record) error) error {
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		it := c.Scan(ctx, 0, globEscape(s.k.oncePrefix())+"*", 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return scan(ctx, m) })
	} else {
		err = scan(ctx, s.rdb)
	}
	if err != nil {
		return s.fail(ctx, "dump once", err)
	}
	slices.Sort(keys)
	now := s.now()
	var recs []store.OnceRecord
	for _, k := range keys {
		v, err := s.rdb.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return s.fail(ctx, "dump once", err)
		}
		until := tkeyTime(v)
		if !until.After(now) {
			continue
		}
		recs = append(recs, store.OnceRecord{Key: strings.TrimPrefix(k, s.k.oncePrefix()), Until: until})
	}
	slices.SortFunc(recs, func(a, b store.OnceRecord) int { return cmp.Compare(a.Key, b.Key) })
	for _, r := range recs {
		if err := fn(store.Record{Once: &r}); err != nil {
			return err
		}
	}
	return nil
}

// globEscape quotes SCAN MATCH's special characters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Restore implements store.Dumper.
func (s *Store) Restore(ctx context.Context, records []store.Record) error {
	s.forgetAhead()
	defer s.forgetAhead()
	now := s.now()
	for _, r := range records {
		var err error
		switch {
		case r.ItemSeq != nil:
			_, err = s.runInt(ctx, "restore", raiseSeq, []string{s.k.itemSeq()}, *r.ItemSeq)
		case r.Item != nil:
			err = s.restoreItem(ctx, r.Item)
		case r.Number != nil:
			err = s.restoreNumber(ctx, *r.Number)
		case r.Person != nil:
			err = s.PutPerson(ctx, *r.Person)
		case r.Group != nil:
			err = s.PutGroup(ctx, *r.Group)
		case r.Doc != nil:
			err = s.PutDoc(ctx, r.Doc.Coll, r.Doc.ID, r.Doc.Value)
		case r.Outbox != nil:
			err = s.restoreOutbox(ctx, r.Outbox)
		case r.Inbound != nil:
			err = s.restoreInbound(ctx, r.Inbound, now)
		case r.Once != nil:
			if left := r.Once.Until.Sub(now); left > 0 && r.Once.Key != "" {
				err = s.fail(ctx, "restore once", s.rdb.SetNX(ctx, s.k.once(r.Once.Key), tkey(r.Once.Until), left).Err())
			}
		default:
			err = errors.New("redis: restore: empty record")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) restoreOutbox(ctx context.Context, e *store.OutboxEntry) error {
	if e.ID == "" {
		return errors.New("redis: restore: outbox entry without an id")
	}
	_, err := s.runInt(ctx, "restore outbox", restoreOutbox, s.outboxKeys(), s.restoreOutboxArgs(e)...)
	return err
}

// restoreOutboxArgs are restoreOutbox's ARGV for e.
func (s *Store) restoreOutboxArgs(e *store.OutboxEntry) []any {
	due := e.NotBefore
	if e.LeaseUntil.After(due) {
		due = e.LeaseUntil
	}
	args := []any{s.k.outboxPrefix(), e.ID, e.Batch, string(e.Status), tkey(e.CreatedAt), tkey(due),
		"id", e.ID, "plat", e.Platform, "chat", e.Chat, "batch", e.Batch, "st", string(e.Status),
		"att", e.Attempts, "created", timeText(e.CreatedAt), "nb", timeText(e.NotBefore),
		"own", e.LeaseOwner, "until", timeText(e.LeaseUntil), "err", e.LastError,
		"sent", timeText(e.SentAt), "res", e.Result}
	if e.Payload != nil {
		args = append(args, "p", e.Payload)
	}
	return args
}

func (s *Store) restoreInbound(ctx context.Context, r *store.InboundRecord, now time.Time) error {
	if r.ID == "" {
		return errors.New("redis: restore: inbound event without an id")
	}
	fields := []any{"recv", timeText(r.Received), "att", r.Attempts}
	if r.Payload != nil {
		fields = append(fields, "p", r.Payload)
	}
	if r.LeaseOwner != "" {
		fields = append(fields, "own", r.LeaseOwner)
	}
	if !r.LeaseUntil.IsZero() {
		fields = append(fields, "until", timeText(r.LeaseUntil))
	}
	var args []any
	if r.Handled.IsZero() {
		due := r.Received
		if !r.LeaseUntil.IsZero() {
			due = r.LeaseUntil
		}
		m := tkey(due) + r.ID
		args = append([]any{"due", m, 0}, append(fields, "dm", m)...)
	} else {
		left := r.Forget.Sub(now)
		if left <= 0 {
			return nil // forgotten already
		}
		m := tkey(r.Forget) + r.ID
		fields = append(fields, "done", timeText(r.Handled), "forget", timeText(r.Forget), "em", m)
		args = append([]any{"exp", m, ms(left)}, fields...)
	}
	keys := []string{s.k.inboxDue(), s.k.inboxExp(), s.k.inboxEntry(r.ID)}
	_, err := s.runInt(ctx, "restore inbound", restoreInbound, keys, args...)
	return err
}
