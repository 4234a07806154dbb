package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// inboundRecord is an inbox entry as stored. An unhandled one is in inbox.due under the
// time it may next be leased (when received, then when its lease runs out); a handled one
// has dropped its payload and is in inbox.exp under the time its id may be forgotten.
type inboundRecord struct {
	store.InboundEntry
	Handled time.Time `json:"handled,omitzero"`
	Forget  time.Time `json:"forget,omitzero"`
}

func (r *inboundRecord) dueKey() []byte {
	due := r.Received
	if !r.LeaseUntil.IsZero() {
		due = r.LeaseUntil
	}
	return cat(tkey(due), []byte(r.ID))
}

func (r *inboundRecord) expKey() []byte { return cat(tkey(r.Forget), []byte(r.ID)) }

func getInbound(b *bbolt.Bucket, id string) (*inboundRecord, error) {
	r := new(inboundRecord)
	found, err := getJSON(b, id, r)
	if err != nil || !found {
		return nil, err
	}
	return r, nil
}

func (s *Store) PutInbound(ctx context.Context, id string, payload []byte, now time.Time) (bool, error) {
	fresh, err := s.PutInboundBatch(ctx, []store.InboundEntry{{ID: id, Payload: payload}}, now)
	if err != nil {
		return false, err
	}
	return fresh[0], nil
}

// PutInboundBatch makes the fresh events durable in the inbox journal (one append and one
// fdatasync for the batch; journal.go) and reports which were fresh: neither journaled nor in
// bbolt, or in bbolt but forgotten. The journal's checkpoints move them to the inbox buckets.
// The payloads are kept, not copied, until then: callers must not change them.
func (s *Store) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	for _, e := range entries {
		if e.ID == "" {
			return nil, community.Errorf(community.EInvalid, "inbound event without an id")
		}
	}
	if len(entries) == 0 {
		return []bool{}, nil
	}
	return s.putJournal(ctx, entries, now)
}

// LeaseInbound takes unhandled events from the front of inbox.due, oldest due first, and
// files each again under its new lease's end. Attempts counts the leases.
func (s *Store) LeaseInbound(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.InboundEntry, error) {
	if max <= 0 {
		return nil, nil
	}
	if s.journal.hasPending() { // events recorded unleased may be among them
		if err := s.checkpoint(ctx); err != nil {
			return nil, err
		}
	}
	// Most polls find nothing due (the receiving replica leases its events as it records
	// them): a read transaction tells so without a commit and its fsync.
	var due bool
	if err := s.view(ctx, "lease inbound", func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bInboxDue).Cursor().First()
		due = k != nil && bytes.Compare(k[:8], tkey(now)) <= 0
		return nil
	}); err != nil || !due {
		return nil, err
	}
	var out []store.InboundEntry
	err := s.update(ctx, "lease inbound", func(tx *bbolt.Tx) error {
		b, due := tx.Bucket(bInbox), tx.Bucket(bInboxDue)
		limit := tkey(now)
		var keys [][]byte
		c := due.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < max && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			id := string(k[8:])
			r, err := getInbound(b, id)
			if err != nil {
				return err
			}
			if r == nil {
				return fmt.Errorf("inbox.due names missing event %q", id)
			}
			if err := due.Delete(k); err != nil {
				return err
			}
			r.LeaseOwner, r.LeaseUntil = owner, now.Add(lease)
			r.Attempts++
			if err := putJSON(b, id, r); err != nil {
				return err
			}
			if err := due.Put(r.dueKey(), nil); err != nil {
				return err
			}
			out = append(out, r.InboundEntry)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AckInbound drops the payload and the lease and keeps the id until InboxRetention has
// passed. Acknowledging twice does nothing more.
//
// An event still in the journal is acked there, in memory: its checkpoint writes it handled.
// Others are acked in bbolt, sharing a commit with the writes made meanwhile (see grouped).
func (s *Store) AckInbound(ctx context.Context, id string, now time.Time) error {
	if len(s.journal.ackJournaled([]string{id}, now)) == 0 {
		return nil // written handled by the event's checkpoint
	}
	return s.grouped(ctx, "ack inbound", func(tx *bbolt.Tx) error { return ackInbound(tx, id, now) })
}

// AckInboundBatch acks many events as AckInbound acks each, and waits for them to be written
// (the pipeline uses AckInboundLater, which does not wait). Those in the journal are acked
// there; the others without a commit of their own: they ride in the next commit another
// write needs (a checkpoint, an outbox write), and only if none comes within lazyWait do they
// commit alone (see lazily). Each commit costs two fsyncs: acks that took commits of their own
// were half the bot's CPU per event at 1,000 events/s (docs/BENCHMARKS.md, "Inbound"). An id
// not in the inbox is reported, with the others acked.
func (s *Store) AckInboundBatch(ctx context.Context, ids []string, now time.Time) error {
	if ids = s.journal.ackJournaled(ids, now); len(ids) == 0 {
		return nil // written handled by their checkpoint
	}
	var missing []error
	err := s.lazily(ctx, "ack inbound batch", func(tx *bbolt.Tx) error {
		missing = missing[:0] // fn may run again (grouped)
		for _, id := range ids {
			err := ackInbound(tx, id, now)
			var p passErr
			if errors.As(err, &p) {
				missing = append(missing, fmt.Errorf("ack inbound %s: %w", id, p.err))
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(missing...)
}

func ackInbound(tx *bbolt.Tx, id string, now time.Time) error {
	b := tx.Bucket(bInbox)
	r, err := getInbound(b, id)
	if err != nil {
		return err
	}
	if r == nil {
		return pass(store.ErrNotFound("消息"))
	}
	if !r.Handled.IsZero() {
		return nil
	}
	if err := tx.Bucket(bInboxDue).Delete(r.dueKey()); err != nil {
		return err
	}
	r.Payload, r.LeaseOwner, r.LeaseUntil = nil, "", time.Time{}
	r.Handled, r.Forget = now, now.Add(store.InboxRetention)
	if err := putJSON(b, id, r); err != nil {
		return err
	}
	return tx.Bucket(bInboxExp).Put(r.expKey(), nil)
}

// groupCommit lets the inbox's writes share commits: a write that arrives while another
// commit runs waits for it and then goes in the next commit with every other write that
// arrived meanwhile. Unlike bbolt's Batch, which holds each write up to 2 ms for
// company, a write to an idle store commits at once: the puts an ack to the platform waits
// for pay no delay, and under load puts and acks take one fsync per group instead of one
// each.
//
// Lazy writes (lazily) wait for a commit without starting one: each group takes them along.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupWrite // waiting for the next commit
	lazy    []*groupWrite // waiting to ride in the next commit
	flush   *time.Timer   // commits lazy writes no group took within lazyWait
	running bool          // a commit is running; its leader hands over to queue[0]
}

// lazyWait bounds how long a lazy write waits for a commit to ride in: longer than a
// checkpoint's period, so that while events arrive acks and records ride the checkpoints'
// commits instead of adding commits of their own.
var lazyWait = checkpointEvery * 3 / 2 // a variable for tests

type groupWrite struct {
	fn   func(*bbolt.Tx) error
	done chan error // fn's result, or errLead
}

// errLead tells a waiting write to run the next commit.
var errLead = errors.New("bolt: lead the next group commit")

// grouped is update for the inbox's puts and acks, whose commits are shared (groupCommit). fn
// may run more than once (a group that fails is committed again without the failing write),
// so it must only write through tx.
func (s *Store) grouped(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g := &s.inbox
	w := &groupWrite{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if g.running {
		g.mu.Unlock()
		if err := <-w.done; err != errLead {
			return unwrap(op, err)
		}
		g.mu.Lock()
	} else {
		g.running = true
	}
	group := append(g.queue, g.lazy...) // w among them
	g.queue, g.lazy = nil, nil
	g.mu.Unlock()
	s.commitGroup(group)
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- errLead
	} else {
		g.running = false
	}
	g.mu.Unlock()
	return unwrap(op, <-w.done)
}

// AckInboundLater acks as AckInboundBatch does without waiting (bot.LaterAcker): an event
// still in the journal is acked there, in memory; the others join the next commit, and a
// failure to write them shows in the store's write health (the event may then be handled
// again after a restart, which the pipeline allows).
func (s *Store) AckInboundLater(ids []string, now time.Time) {
	if ids = s.journal.ackJournaled(ids, now); len(ids) == 0 {
		return
	}
	s.joinLazy(func(tx *bbolt.Tx) error {
		for _, id := range ids {
			if err := ackInbound(tx, id, now); err != nil {
				var p passErr
				if errors.As(err, &p) {
					continue // not in the inbox: nothing to ack
				}
				return err
			}
		}
		return nil
	})
}

// FlushLater commits the writes AckInboundLater and RecordOutboxLater left waiting
// (bot.LaterAcker), now.
func (s *Store) FlushLater() { s.flushLazy() }

// lazily is grouped for a write nobody waits on but its caller: it joins the next group
// commit without starting one, and commits by itself only if no group takes it within
// lazyWait.
func (s *Store) lazily(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return unwrap(op, <-s.joinLazy(fn))
}

// joinLazy queues fn for the next group commit, arming the lazyWait flush for the first one
// waiting, and returns the channel its result is sent to. It is buffered, so a caller that
// does not wait (AckInboundLater, RecordOutboxLater) may leave it unread: the commit's failure
// is recorded by the store's write health.
func (s *Store) joinLazy(fn func(*bbolt.Tx) error) <-chan error {
	g := &s.inbox
	w := &groupWrite{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.lazy = append(g.lazy, w)
	if len(g.lazy) == 1 {
		if g.flush == nil {
			g.flush = time.AfterFunc(lazyWait, s.flushLazy)
		} else {
			g.flush.Reset(lazyWait)
		}
	}
	g.mu.Unlock()
	return w.done
}

// flushLazy commits the lazy writes still waiting, through an empty grouped write.
func (s *Store) flushLazy() {
	g := &s.inbox
	g.mu.Lock()
	n := len(g.lazy)
	g.mu.Unlock()
	if n > 0 {
		_ = s.grouped(context.Background(), "flush lazy writes", func(*bbolt.Tx) error { return nil })
	}
}

// commitGroup runs the writes in one transaction and tells each its result. A write that
// fails rolls the transaction back: as in bbolt's Batch, it is run alone for its own result
// and the others are committed again without it. A commit that fails (a full disk) fails
// every write of the group, each told so (store unavailable): none is left waiting, and the
// next group commits afresh.
func (s *Store) commitGroup(group []*groupWrite) {
	for len(group) > 0 {
		failed := -1
		err := s.commit(func(tx *bbolt.Tx) error {
			for i, w := range group {
				if err := safely(w.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range group {
				w.done <- err
			}
			return
		}
		w := group[failed]
		w.done <- s.commit(func(tx *bbolt.Tx) error { return safely(w.fn, tx) })
		group = slices.Delete(group, failed, failed+1)
	}
}

// safely turns a panic in fn into its error, so one bad write cannot stall the group.
func safely(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a grouped write: %v", p)
		}
	}()
	return fn(tx)
}

// releaseInboxLeases makes every leased, unhandled event due again at once (see
// releaseLeases): it is filed under when it was received again.
func releaseInboxLeases(tx *bbolt.Tx) error {
	b, due := tx.Bucket(bInbox), tx.Bucket(bInboxDue)
	var leased []*inboundRecord
	c := due.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		r, err := getInbound(b, string(k[8:]))
		if err != nil {
			return err
		}
		if r == nil {
			return fmt.Errorf("inbox.due names missing event %q", k[8:])
		}
		if !r.LeaseUntil.IsZero() {
			leased = append(leased, r)
		}
	}
	for _, r := range leased {
		if err := due.Delete(r.dueKey()); err != nil {
			return err
		}
		r.LeaseOwner, r.LeaseUntil = "", time.Time{}
		if err := putJSON(b, r.ID, r); err != nil {
			return err
		}
		if err := due.Put(r.dueKey(), nil); err != nil {
			return err
		}
	}
	return nil
}
