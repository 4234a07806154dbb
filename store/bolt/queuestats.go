package bolt

import (
	"bytes"
	"context"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/store"
)

// QueueStats implements the optional power internal/metrics reads on each scrape: a count
// of inbox.due (bounded by store.QueueStatsCap), the outbox's pending counter, and the
// fronts of inbox.due, outbox.ready and outbox.wait, in one read transaction.
func (s *Store) QueueStats(ctx context.Context, now time.Time) (store.QueueStats, error) {
	var st store.QueueStats
	err := s.view(ctx, "queue stats", func(tx *bbolt.Tx) error {
		c := tx.Bucket(bInboxDue).Cursor()
		first, _ := c.First()
		for k := first; k != nil && st.InboxPending < store.QueueStatsCap; k, _ = c.Next() {
			st.InboxPending++
		}
		if first != nil {
			r, err := getInbound(tx.Bucket(bInbox), string(first[8:]))
			if err != nil {
				return err
			}
			if r != nil {
				st.InboxOldest = r.Received
			}
		}
		st.OutboxPending = readStats(tx.Bucket(bOutboxStats).Get(statsAll)).Pending
		if k, _ := tx.Bucket(bOutboxReady).Cursor().First(); k != nil {
			st.OutboxOldestDue = tkeyTime(k[:8])
		}
		if k, id := tx.Bucket(bOutboxWait).Cursor().First(); k != nil && bytes.Compare(k[:8], tkey(now)) <= 0 {
			r, err := getOutbox(tx.Bucket(bOutbox), string(id))
			if err != nil {
				return err
			}
			due := r.due() // due since then, or since it was enqueued if that was later
			if r.CreatedAt.After(due) {
				due = r.CreatedAt
			}
			if st.OutboxOldestDue.IsZero() || due.Before(st.OutboxOldestDue) {
				st.OutboxOldestDue = due
			}
		}
		return nil
	})
	return st, err
}
