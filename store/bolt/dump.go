package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

var _ store.Dumper = (*Store)(nil)

// Dump implements store.Dumper from one read transaction: a consistent snapshot.
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	if err := s.checkpoint(ctx); err != nil { // journaled events are in the snapshot too
		return err
	}
	now := s.now()
	return s.view(ctx, "dump", func(tx *bbolt.Tx) error {
		emit := func(r store.Record) error {
			if err := fn(r); err != nil {
				return pass(err)
			}
			return nil
		}
		seq := int64(tx.Bucket(bItems).Sequence())
		if err := emit(store.Record{ItemSeq: &seq}); err != nil {
			return err
		}
		if err := forEachItem(tx, func(k, v []byte) error {
			it := new(community.Item)
			if err := json.Unmarshal(v, it); err != nil {
				return fmt.Errorf("decode item %x: %w", k, err)
			}
			return emit(store.Record{Item: it})
		}); err != nil {
			return err
		}
		if err := forEachNumber(tx, func(e store.NumberEntry) error {
			return emit(store.Record{Number: &e})
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bPersons).ForEach(func(k, v []byte) error {
			p := new(community.Person)
			if err := json.Unmarshal(v, p); err != nil {
				return fmt.Errorf("decode person %q: %w", k, err)
			}
			return emit(store.Record{Person: p})
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bGroups).ForEach(func(k, v []byte) error {
			g := new(community.Group)
			if err := json.Unmarshal(v, g); err != nil {
				return fmt.Errorf("decode group %q: %w", k, err)
			}
			return emit(store.Record{Group: g})
		}); err != nil {
			return err
		}
		docs := tx.Bucket(bDocs)
		if err := docs.ForEachBucket(func(coll []byte) error {
			return docs.Bucket(coll).ForEach(func(k, v []byte) error {
				return emit(store.Record{Doc: &store.DocRecord{Coll: string(coll), ID: string(k), Value: bytes.Clone(v)}})
			})
		}); err != nil {
			return err
		}
		var out []*outboxRecord
		if err := tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
			r := new(outboxRecord)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode outbox %q: %w", k, err)
			}
			out = append(out, r)
			return nil
		}); err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b *outboxRecord) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, r := range out {
			if err := emit(store.Record{Outbox: &r.OutboxEntry}); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bInbox).ForEach(func(k, v []byte) error {
			r := new(inboundRecord)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode inbound %q: %w", k, err)
			}
			if !r.Handled.IsZero() && !r.Forget.After(now) {
				return nil // forgotten, not yet purged
			}
			return emit(store.Record{Inbound: &store.InboundRecord{InboundEntry: r.InboundEntry, Handled: r.Handled, Forget: r.Forget}})
		}); err != nil {
			return err
		}
		return tx.Bucket(bOnce).ForEach(func(k, v []byte) error {
			if bytes.Compare(v, tkey(now)) <= 0 {
				return nil
			}
			return emit(store.Record{Once: &store.OnceRecord{Key: string(k), Until: tkeyTime(v).UTC()}})
		})
	})
}

// Restore implements store.Dumper in one write transaction.
func (s *Store) Restore(ctx context.Context, records []store.Record) error {
	if err := s.checkpoint(ctx); err != nil { // an event already here is kept, as in bbolt
		return err
	}
	now := s.now()
	return s.update(ctx, "restore", func(tx *bbolt.Tx) error {
		items := tx.Bucket(bItems)
		raise := func(n int64) error {
			if n > 0 && uint64(n) > items.Sequence() {
				return items.SetSequence(uint64(n))
			}
			return nil
		}
		for _, r := range records {
			var err error
			switch {
			case r.ItemSeq != nil:
				err = raise(*r.ItemSeq)
			case r.Item != nil:
				err = restoreItem(tx, r.Item)
				if err == nil {
					err = raise(r.Item.No)
				}
			case r.Number != nil:
				err = putNumber(tx, *r.Number)
				if err == nil {
					err = raise(r.Number.No)
				}
			case r.Person != nil:
				if r.Person.ID == "" {
					return errors.New("person without an id")
				}
				err = putJSON(tx.Bucket(bPersons), r.Person.ID, r.Person)
			case r.Group != nil:
				if r.Group.ID == "" {
					return errors.New("group without an id")
				}
				err = putJSON(tx.Bucket(bGroups), r.Group.ID, r.Group)
			case r.Doc != nil:
				if err = checkDoc(r.Doc.Coll, r.Doc.ID); err != nil {
					return pass(err)
				}
				var b *bbolt.Bucket
				if b, err = tx.Bucket(bDocs).CreateBucketIfNotExists([]byte(r.Doc.Coll)); err == nil {
					err = b.Put([]byte(r.Doc.ID), bytes.Clone(r.Doc.Value))
				}
			case r.Outbox != nil:
				err = restoreOutbox(tx, *r.Outbox)
			case r.Inbound != nil:
				err = restoreInbound(tx, r.Inbound, now)
			case r.Once != nil:
				err = restoreOnce(tx, r.Once, now)
			default:
				err = errors.New("empty record")
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func restoreItem(tx *bbolt.Tx, it *community.Item) error {
	if it.No <= 0 {
		return fmt.Errorf("item with number %d", it.No)
	}
	old, err := getItem(tx, it.No)
	if err != nil {
		if _, ok := err.(passErr); !ok {
			return err
		}
		old = nil // not found
	}
	return putItem(tx, old, it)
}

func restoreOutbox(tx *bbolt.Tx, e store.OutboxEntry) error {
	if e.ID == "" {
		return errors.New("outbox entry without an id")
	}
	b := tx.Bucket(bOutbox)
	if b.Get([]byte(e.ID)) != nil {
		return nil
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	r := &outboxRecord{OutboxEntry: e, Seq: seq}
	if err := putJSON(b, e.ID, r); err != nil {
		return err
	}
	if e.Status == store.OutboxPending {
		if err := tx.Bucket(bOutboxWait).Put(r.waitKey(), []byte(e.ID)); err != nil {
			return err
		}
	}
	return countStatus(tx, e.Batch, "", e.Status)
}

func restoreInbound(tx *bbolt.Tx, in *store.InboundRecord, now time.Time) error {
	if in.ID == "" {
		return errors.New("inbound event without an id")
	}
	b := tx.Bucket(bInbox)
	if b.Get([]byte(in.ID)) != nil {
		return nil
	}
	r := &inboundRecord{InboundEntry: in.InboundEntry, Handled: in.Handled, Forget: in.Forget}
	if !r.Handled.IsZero() {
		if !r.Forget.After(now) {
			return nil // forgotten already
		}
		if err := putJSON(b, r.ID, r); err != nil {
			return err
		}
		return tx.Bucket(bInboxExp).Put(r.expKey(), nil)
	}
	if err := putJSON(b, r.ID, r); err != nil {
		return err
	}
	return tx.Bucket(bInboxDue).Put(r.dueKey(), nil)
}

func restoreOnce(tx *bbolt.Tx, o *store.OnceRecord, now time.Time) error {
	if o.Key == "" || !o.Until.After(now) {
		return nil
	}
	b, exp := tx.Bucket(bOnce), tx.Bucket(bOnceExp)
	k := []byte(o.Key)
	if old := b.Get(k); old != nil && bytes.Compare(old, tkey(now)) > 0 {
		return nil // live already
	} else if old != nil {
		if err := exp.Delete(cat(old, k)); err != nil {
			return err
		}
	}
	until := tkey(o.Until)
	if err := b.Put(k, until); err != nil {
		return err
	}
	return exp.Put(cat(until, k), nil)
}
