package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// outboxRecord is an outbox entry as stored. A pending entry sits in one of two queues:
// outbox.wait, ordered by when it becomes due (NotBefore, or its lease's end), or
// outbox.ready, ordered by age. Leasing first moves what has come due from wait to ready,
// then hands out the front of ready: oldest first, without reading entries that are not due.
type outboxRecord struct {
	store.OutboxEntry
	Seq uint64 `json:"seq"` // enqueue order, breaking ties between equal times
}

func (r *outboxRecord) due() time.Time {
	if r.LeaseUntil.After(r.NotBefore) {
		return r.LeaseUntil
	}
	return r.NotBefore
}

func (r *outboxRecord) waitKey() []byte  { return cat(tkey(r.due()), be64(r.Seq)) }
func (r *outboxRecord) readyKey() []byte { return cat(tkey(r.CreatedAt), be64(r.Seq)) }

func getOutbox(b *bbolt.Bucket, id string) (*outboxRecord, error) {
	r := new(outboxRecord)
	found, err := getJSON(b, id, r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, pass(store.ErrNotFound("消息"))
	}
	return r, nil
}

// unqueue takes a pending entry out of whichever queue holds it.
func unqueue(tx *bbolt.Tx, r *outboxRecord) error {
	if err := tx.Bucket(bOutboxWait).Delete(r.waitKey()); err != nil {
		return err
	}
	return tx.Bucket(bOutboxReady).Delete(r.readyKey())
}

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
	// Batched: the pipeline's workers enqueue their replies concurrently.
	return s.batch(ctx, "enqueue", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for _, e := range entries {
			if b.Get([]byte(e.ID)) != nil {
				continue
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			e.Status, e.Attempts = store.OutboxPending, 0
			e.LeaseOwner, e.LeaseUntil = "", time.Time{}
			e.LastError, e.SentAt, e.Result = "", time.Time{}, ""
			if e.CreatedAt.IsZero() {
				e.CreatedAt = now
			}
			r := &outboxRecord{OutboxEntry: e, Seq: seq}
			if err := putJSON(b, e.ID, r); err != nil {
				return err
			}
			if err := tx.Bucket(bOutboxWait).Put(r.waitKey(), []byte(e.ID)); err != nil {
				return err
			}
			if err := countStatus(tx, e.Batch, "", store.OutboxPending); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordOutbox keeps entries sent without the outbox (bot.OutboxRecorder) as they ended,
// queued nowhere; an id already there is left alone. Nobody waits on them: they ride the next
// commit another write makes (see lazily).
func (s *Store) RecordOutbox(ctx context.Context, entries ...store.OutboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.lazily(ctx, "record outbox", recordOutbox(entries))
}

// RecordOutboxLater records as RecordOutbox does without waiting for the commit
// (bot.LaterAcker).
func (s *Store) RecordOutboxLater(entries ...store.OutboxEntry) {
	if len(entries) > 0 {
		s.joinLazy(recordOutbox(entries))
	}
}

// recordOutbox is RecordOutbox's write.
func recordOutbox(entries []store.OutboxEntry) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for _, e := range entries {
			if e.ID == "" || b.Get([]byte(e.ID)) != nil {
				continue
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			e.LeaseOwner, e.LeaseUntil = "", time.Time{}
			if err := putJSON(b, e.ID, &outboxRecord{OutboxEntry: e, Seq: seq}); err != nil {
				return err
			}
			if err := countStatus(tx, e.Batch, "", e.Status); err != nil {
				return err
			}
		}
		return nil
	}
}

func (s *Store) LeaseOutbox(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.OutboxEntry, error) {
	if max <= 0 {
		return nil, nil
	}
	// An idle dispatcher polls often: when nothing is due, a read transaction tells so
	// without a commit and its fsync.
	var due bool
	if err := s.view(ctx, "lease outbox", func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bOutboxWait).Cursor().First()
		r, _ := tx.Bucket(bOutboxReady).Cursor().First()
		due = r != nil || k != nil && bytes.Compare(k[:8], tkey(now)) <= 0
		return nil
	}); err != nil || !due {
		return nil, err
	}
	// The lease shares the inbox's group commits (one fsync with the events and acks waiting
	// alongside) instead of queueing its own commit on bbolt's one writer. A grouped write may
	// run twice (its group failed on another write), so out starts afresh each time.
	var out []store.OutboxEntry
	err := s.grouped(ctx, "lease outbox", func(tx *bbolt.Tx) error {
		out = out[:0]
		b, wait, ready := tx.Bucket(bOutbox), tx.Bucket(bOutboxWait), tx.Bucket(bOutboxReady)

		// Move what has come due into the ready queue.
		limit := tkey(now)
		var due [][2][]byte // wait key, id
		c := wait.Cursor()
		for k, v := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0; k, v = c.Next() {
			due = append(due, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
		}
		for _, kv := range due {
			if err := wait.Delete(kv[0]); err != nil {
				return err
			}
			r, err := getOutbox(b, string(kv[1]))
			if err != nil {
				return fmt.Errorf("outbox.wait names %q: %w", kv[1], err)
			}
			if err := ready.Put(r.readyKey(), kv[1]); err != nil {
				return err
			}
		}

		// Hand out the oldest. An entry is skipped, not taken back to wait, in the odd case
		// that now is earlier than when it was found due (a caller whose clock lags).
		var take []*outboxRecord
		c = ready.Cursor()
		for k, v := c.First(); k != nil && len(take) < max; k, v = c.Next() {
			r, err := getOutbox(b, string(v))
			if err != nil {
				return fmt.Errorf("outbox.ready names %q: %w", v, err)
			}
			if r.due().After(now) {
				continue
			}
			take = append(take, r)
		}
		for _, r := range take {
			if err := ready.Delete(r.readyKey()); err != nil {
				return err
			}
			r.LeaseOwner, r.LeaseUntil = owner, now.Add(lease)
			if err := putJSON(b, r.ID, r); err != nil {
				return err
			}
			if err := wait.Put(r.waitKey(), []byte(r.ID)); err != nil {
				return err
			}
			out = append(out, r.OutboxEntry)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// finish loads a pending entry leased to owner, lets change modify it and saves it, queued
// again if it is still pending.
func (s *Store) finish(ctx context.Context, op, id, owner string, change func(r *outboxRecord)) error {
	// Batched: the dispatcher's workers finish their sends concurrently.
	return s.batch(ctx, op, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bOutbox)
		r, err := getOutbox(b, id)
		if err != nil {
			return err
		}
		if r.Status != store.OutboxPending || r.LeaseOwner != owner || owner == "" {
			return pass(community.Errorf(community.EConflict, "消息 %s 已不归 %s 发送（%s）。", id, owner, r.Status))
		}
		if err := unqueue(tx, r); err != nil {
			return err
		}
		change(r)
		if err := putJSON(b, id, r); err != nil {
			return err
		}
		if r.Status == store.OutboxPending {
			if err := tx.Bucket(bOutboxWait).Put(r.waitKey(), []byte(id)); err != nil {
				return err
			}
		}
		return countStatus(tx, r.Batch, store.OutboxPending, r.Status)
	})
}

func (s *Store) CompleteOutbox(ctx context.Context, id, owner, result string, now time.Time) error {
	return s.finish(ctx, "complete outbox", id, owner, func(r *outboxRecord) {
		r.Status, r.Result, r.SentAt, r.LeaseUntil = store.OutboxSent, result, now, time.Time{}
	})
}

func (s *Store) ReleaseOutbox(ctx context.Context, id, owner string, notBefore time.Time, errText string, attempt bool) error {
	return s.finish(ctx, "release outbox", id, owner, func(r *outboxRecord) {
		r.LeaseOwner, r.LeaseUntil, r.NotBefore = "", time.Time{}, notBefore
		if errText != "" {
			r.LastError = errText
		}
		if attempt {
			r.Attempts++
		}
	})
}

func (s *Store) FailOutbox(ctx context.Context, id, owner, errText string, now time.Time) error {
	return s.finish(ctx, "fail outbox", id, owner, func(r *outboxRecord) {
		r.Status, r.LastError, r.LeaseUntil = store.OutboxFailed, errText, time.Time{}
	})
}

func (s *Store) GetOutbox(ctx context.Context, id string) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	err := s.view(ctx, "get outbox", func(tx *bbolt.Tx) error {
		r, err := getOutbox(tx.Bucket(bOutbox), id)
		if err != nil {
			return err
		}
		e = r.OutboxEntry
		return nil
	})
	return e, err
}

// OutboxStats reads counters kept up to date by every status change, so a broadcast's
// progress costs one read however many messages it has.
func (s *Store) OutboxStats(ctx context.Context, batch string) (store.OutboxStats, error) {
	var st store.OutboxStats
	err := s.view(ctx, "outbox stats", func(tx *bbolt.Tx) error {
		st = readStats(tx.Bucket(bOutboxStats).Get(statsKey(batch)))
		return nil
	})
	return st, err
}

func statsKey(batch string) []byte {
	if batch == "" {
		return statsAll
	}
	return append([]byte("b"), batch...)
}

func readStats(v []byte) store.OutboxStats {
	if len(v) != 24 {
		return store.OutboxStats{}
	}
	n := func(i int) int { return int(binary.BigEndian.Uint64(v[8*i:])) }
	return store.OutboxStats{Pending: n(0), Sent: n(1), Failed: n(2)}
}

// countStatus moves one entry of batch from status from to status to ("" for none) in the
// batch's counters and the overall ones.
func countStatus(tx *bbolt.Tx, batch string, from, to store.OutboxStatus) error {
	if from == to {
		return nil
	}
	b := tx.Bucket(bOutboxStats)
	keys := [][]byte{statsAll}
	if batch != "" {
		keys = append(keys, statsKey(batch))
	}
	for _, k := range keys {
		st := readStats(b.Get(k))
		for _, d := range []struct {
			status store.OutboxStatus
			delta  int
		}{{from, -1}, {to, +1}} {
			switch d.status {
			case store.OutboxPending:
				st.Pending += d.delta
			case store.OutboxSent:
				st.Sent += d.delta
			case store.OutboxFailed:
				st.Failed += d.delta
			}
		}
		v := make([]byte, 0, 24)
		for _, n := range []int{st.Pending, st.Sent, st.Failed} {
			v = binary.BigEndian.AppendUint64(v, uint64(n))
		}
		if err := b.Put(k, v); err != nil {
			return err
		}
	}
	return nil
}

// releaseLeases runs at Open. bbolt's file lock admits one process, so every lease found in
// the file belongs to a process that ended (a crash, a SIGKILL) without finishing: its
// outbox entries and inbox events are made due again at once rather than waiting out their
// leases, and a restarted bot resumes where the last one stopped. An entry's attempts are
// not counted for it: the ended process may never have tried it.
func releaseLeases(tx *bbolt.Tx) error {
	if err := releaseOutboxLeases(tx); err != nil {
		return err
	}
	return releaseInboxLeases(tx)
}

func releaseOutboxLeases(tx *bbolt.Tx) error {
	b, wait := tx.Bucket(bOutbox), tx.Bucket(bOutboxWait)
	// A leased entry is in outbox.wait under its lease's end; the ready queue holds none.
	var leased []*outboxRecord
	c := wait.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		r, err := getOutbox(b, string(v))
		if err != nil {
			return fmt.Errorf("outbox.wait names %q: %w", v, err)
		}
		if r.LeaseOwner != "" || !r.LeaseUntil.IsZero() {
			leased = append(leased, r)
		}
	}
	for _, r := range leased {
		if err := wait.Delete(r.waitKey()); err != nil {
			return err
		}
		r.LeaseOwner, r.LeaseUntil = "", time.Time{}
		if err := putJSON(b, r.ID, r); err != nil {
			return err
		}
		if err := wait.Put(r.waitKey(), []byte(r.ID)); err != nil {
			return err
		}
	}
	return nil
}
