package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// WrapStore times st's operations on the inbound, outbound and item paths into
// neighborbot_store_op_seconds{op} (and counts the ones that fail as unavailable into
// neighborbot_store_op_errors_total). The rest passes through untimed. The wrapper keeps the
// backend's later acks (bot.LaterAcker) and unwraps to it (Unwrap), so optional powers found
// by unwrapping (the shared rate limiter, QueueStats) are still found.
func (m *Metrics) WrapStore(st store.Store) store.Store {
	w := &timedStore{Store: st, ops: map[string]*op{}}
	for _, name := range storeOps {
		w.ops[name] = &op{h: m.storeOps.WithLabelValues(name), errs: m.storeErrs.WithLabelValues(name)}
	}
	if la, ok := st.(bot.LaterAcker); ok {
		return &timedLaterAcker{timedStore: w, later: la}
	}
	return w
}

// timedLaterAcker is a timedStore over a backend that acks without waiting
// (bot.LaterAcker): its acks are counted, and timed as the call, which is all they cost.
type timedLaterAcker struct {
	*timedStore
	later bot.LaterAcker
}

func (s *timedLaterAcker) AckInboundLater(ids []string, now time.Time) {
	start := time.Now()
	s.later.AckInboundLater(ids, now)
	s.ops["ack_inbound"].done(start, nil)
}

func (s *timedLaterAcker) RecordOutboxLater(entries ...store.OutboxEntry) {
	s.later.RecordOutboxLater(entries...)
}

func (s *timedLaterAcker) FlushLater() { s.later.FlushLater() }

// storeOps are the operations timed, as labelled.
var storeOps = []string{
	"put_inbound", "lease_inbound", "ack_inbound",
	"enqueue", "lease_outbox", "complete_outbox", "release_outbox", "fail_outbox",
	"create_item", "get_item", "update_item", "list_items",
	"get_doc", "put_doc", "update_doc", "list_docs",
}

type op struct {
	h    prometheus.Observer
	errs prometheus.Counter
}

func (o *op) done(start time.Time, err error) {
	o.h.Observe(time.Since(start).Seconds())
	if err != nil {
		if ue := (*store.UnavailableError)(nil); errors.As(err, &ue) || community.ErrorCode(err) == community.EInternal && !isCtx(err) {
			o.errs.Inc()
		}
	}
}

func isCtx(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

type timedStore struct {
	store.Store
	ops map[string]*op
}

// Unwrap is the backend.
func (s *timedStore) Unwrap() store.Store { return s.Store }

func (s *timedStore) PutInbound(ctx context.Context, id string, payload []byte, now time.Time) (bool, error) {
	start := time.Now()
	ok, err := s.Store.PutInbound(ctx, id, payload, now)
	s.ops["put_inbound"].done(start, err)
	return ok, err
}

func (s *timedStore) PutInboundBatch(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	start := time.Now()
	fresh, err := s.Store.PutInboundBatch(ctx, entries, now)
	s.ops["put_inbound"].done(start, err)
	return fresh, err
}

func (s *timedStore) LeaseInbound(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.InboundEntry, error) {
	start := time.Now()
	es, err := s.Store.LeaseInbound(ctx, owner, max, now, lease)
	s.ops["lease_inbound"].done(start, err)
	return es, err
}

func (s *timedStore) AckInbound(ctx context.Context, id string, now time.Time) error {
	start := time.Now()
	err := s.Store.AckInbound(ctx, id, now)
	s.ops["ack_inbound"].done(start, err)
	return err
}

func (s *timedStore) Enqueue(ctx context.Context, entries ...store.OutboxEntry) error {
	start := time.Now()
	err := s.Store.Enqueue(ctx, entries...)
	s.ops["enqueue"].done(start, err)
	return err
}

func (s *timedStore) LeaseOutbox(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]store.OutboxEntry, error) {
	start := time.Now()
	es, err := s.Store.LeaseOutbox(ctx, owner, max, now, lease)
	s.ops["lease_outbox"].done(start, err)
	return es, err
}

func (s *timedStore) CompleteOutbox(ctx context.Context, id, owner, result string, now time.Time) error {
	start := time.Now()
	err := s.Store.CompleteOutbox(ctx, id, owner, result, now)
	s.ops["complete_outbox"].done(start, err)
	return err
}

func (s *timedStore) ReleaseOutbox(ctx context.Context, id, owner string, notBefore time.Time, errText string, attempt bool) error {
	start := time.Now()
	err := s.Store.ReleaseOutbox(ctx, id, owner, notBefore, errText, attempt)
	s.ops["release_outbox"].done(start, err)
	return err
}

func (s *timedStore) FailOutbox(ctx context.Context, id, owner, errText string, now time.Time) error {
	start := time.Now()
	err := s.Store.FailOutbox(ctx, id, owner, errText, now)
	s.ops["fail_outbox"].done(start, err)
	return err
}

func (s *timedStore) CreateItem(ctx context.Context, build func(no int64) (*community.Item, error)) (*community.Item, error) {
	start := time.Now()
	it, err := s.Store.CreateItem(ctx, build)
	s.ops["create_item"].done(start, err)
	return it, err
}

func (s *timedStore) GetItem(ctx context.Context, no int64) (*community.Item, error) {
	start := time.Now()
	it, err := s.Store.GetItem(ctx, no)
	s.ops["get_item"].done(start, err)
	return it, err
}

func (s *timedStore) UpdateItem(ctx context.Context, no int64, fn func(*community.Item) error) (*community.Item, error) {
	start := time.Now()
	it, err := s.Store.UpdateItem(ctx, no, fn)
	s.ops["update_item"].done(start, err)
	return it, err
}

func (s *timedStore) ListItems(ctx context.Context, f store.ItemFilter) ([]*community.Item, error) {
	start := time.Now()
	its, err := s.Store.ListItems(ctx, f)
	s.ops["list_items"].done(start, err)
	return its, err
}

func (s *timedStore) GetDoc(ctx context.Context, coll, id string) ([]byte, error) {
	start := time.Now()
	v, err := s.Store.GetDoc(ctx, coll, id)
	s.ops["get_doc"].done(start, err)
	return v, err
}

func (s *timedStore) PutDoc(ctx context.Context, coll, id string, value []byte) error {
	start := time.Now()
	err := s.Store.PutDoc(ctx, coll, id, value)
	s.ops["put_doc"].done(start, err)
	return err
}

func (s *timedStore) UpdateDoc(ctx context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	start := time.Now()
	v, err := s.Store.UpdateDoc(ctx, coll, id, fn)
	s.ops["update_doc"].done(start, err)
	return v, err
}

func (s *timedStore) ListDocs(ctx context.Context, coll, prefix string) ([]store.Doc, error) {
	start := time.Now()
	ds, err := s.Store.ListDocs(ctx, coll, prefix)
	s.ops["list_docs"].done(start, err)
	return ds, err
}
