package notices

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// Tick does what time brings: it resumes enqueuing interrupted by a crash, publishes the
// results of polls past their deadline and reminds the groups with the fewest receipts a
// while after a notice went out. The app calls it every minute; several replicas may, each
// step happens once (store.Once and deterministic outbox ids).
func (n *Notices) Tick(ctx context.Context, now time.Time) error {
	n.init()
	open, err := n.Store.ListDocs(ctx, collOpen, "")
	if err != nil {
		return store.ErrUnavailable(err)
	}
	var errs []error
	for _, d := range open {
		id, _ := strconv.ParseInt(d.ID, 10, 64)
		done, err := n.tickOne(ctx, id, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("notice %d: %w", id, err))
			continue
		}
		if done {
			if err := n.Store.DeleteDoc(ctx, collOpen, d.ID); err != nil {
				errs = append(errs, store.ErrUnavailable(err))
			}
		}
	}
	if err := n.pruneRecent(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tickOne moves one open notice on and reports whether nothing is left to do for it.
func (n *Notices) tickOne(ctx context.Context, id int64, now time.Time) (bool, error) {
	nt, err := n.get(ctx, id)
	if err != nil {
		return false, err
	}
	switch nt.Status {
	case StatusDraft, StatusCancelled:
		return true, nil
	case StatusSending:
		if err := n.enqueue(ctx, nt); err != nil {
			return false, err
		}
		if nt, err = n.get(ctx, id); err != nil {
			return false, err
		}
	}
	if nt.Kind == KindPoll {
		if nt.PublishedAt.IsZero() && !now.Before(nt.Deadline) {
			if err := n.publish(ctx, nt, now); err != nil {
				return false, err
			}
			if nt, err = n.get(ctx, id); err != nil {
				return false, err
			}
		}
		return !nt.PublishedAt.IsZero(), nil
	}
	if n.RemindAfter < 0 {
		return true, nil
	}
	if !nt.AutoReminded && now.Sub(nt.SentAt) >= n.RemindAfter {
		ok, err := n.Store.Once(ctx, autoRemindKey(id), n.PublishLease)
		if err != nil {
			return false, store.ErrUnavailable(err)
		}
		if !ok {
			return false, nil
		}
		if _, err := n.remind(ctx, nt, "auto", now); err != nil {
			return false, err
		}
		if nt, err = n.update(ctx, id, func(x *Notice) error { x.AutoReminded = true; return nil }); err != nil {
			return false, err
		}
	}
	return nt.AutoReminded, nil
}
