package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The retention purge (个人信息保护法): once a day, at PurgeAt, closed and cancelled items whose
// retention period ended lose their personal fields (community.Item.Purge: phones, ID and door
// numbers masked, Phone cleared, the requester's name replaced; the history's actions and times
// stay) and are marked Purged.
//
// Exactly once, cheaply, on any number of replicas:
//   - the day's pass is claimed in the "purge" document of CollMeta (one replica wins; a claim
//     its replica never finished is taken over after claimLease, like an occurrence's step);
//   - each item is purged inside UpdateItem, which Purge refuses for an item already purged,
//     so a pass run twice (or by two replicas) changes nothing more;
//   - the pass does not read every item ever filed. Numbers grow with creation time and an
//     item cannot close before it was created, so the document keeps a watermark, Next: every
//     item below it was looked at, and those not purged then (still open, or closed within the
//     period) are listed in Held. A pass reads Held and the items from Next up to the first one
//     created after the cutoff: about a day's worth of new items, plus the old ones still open.

// PurgeAt is the time of day (Asia/Shanghai) of the retention purge: a quiet hour.
const PurgeAt = 3*time.Hour + 30*time.Minute

// purgeState is the "purge" document.
type purgeState struct {
	Day       string    `json:"day"` // the day (2006-01-02) of the last pass claimed
	Owner     string    `json:"owner"`
	ClaimedAt time.Time `json:"claimed_at"`
	Done      bool      `json:"done"`
	Next      int64     `json:"next"`           // the first item not looked at yet
	Held      []int64   `json:"held,omitempty"` // items below Next not purged yet
}

const purgeDoc = "purge"

// tickPurge runs the day's purge if it is due and nobody ran it; it returns when to look
// again.
func (s *Scheduler) tickPurge(ctx context.Context, now time.Time) (time.Time, error) {
	if s.retention <= 0 {
		return time.Time{}, nil
	}
	y, m, d := now.Date()
	due := time.Date(y, m, d, 0, 0, 0, 0, s.loc).Add(PurgeAt)
	if now.Before(due) {
		return due, nil
	}
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, s.loc).Add(PurgeAt)
	day := due.Format("2006-01-02")
	var st purgeState
	mine := false
	_, err := s.st.UpdateDoc(ctx, CollMeta, purgeDoc, func(old []byte) ([]byte, error) {
		st, mine = purgeState{}, false
		if old != nil {
			if err := json.Unmarshal(old, &st); err != nil {
				return nil, err
			}
		}
		if st.Day == day && (st.Done || now.Before(st.ClaimedAt.Add(claimLease))) {
			return old, nil // done today, or being done
		}
		st.Day, st.Owner, st.ClaimedAt, st.Done, mine = day, s.owner, now, false, true
		return json.Marshal(st)
	})
	if err != nil {
		return time.Time{}, store.ErrUnavailable(err)
	}
	if !mine {
		if st.Done {
			return tomorrow, nil
		}
		return st.ClaimedAt.Add(claimLease), nil // look again in case its replica dies
	}
	next, held, purged, err := s.purge(ctx, st, now)
	if err != nil {
		return st.ClaimedAt.Add(claimLease), fmt.Errorf("retention purge: %w", err)
	}
	claimed := st.ClaimedAt
	_, err = s.st.UpdateDoc(ctx, CollMeta, purgeDoc, func(old []byte) ([]byte, error) {
		var cur purgeState
		if old != nil {
			if err := json.Unmarshal(old, &cur); err != nil {
				return nil, err
			}
		}
		if cur.Day != day || cur.Owner != s.owner || !cur.ClaimedAt.Equal(claimed) {
			return old, nil // taken over meanwhile: the other pass records its own result
		}
		cur.Done, cur.Next, cur.Held = true, next, held
		return json.Marshal(cur)
	})
	if err != nil {
		return claimed.Add(claimLease), store.ErrUnavailable(err)
	}
	s.log.Info("retention purge done", "purged", purged, "held", len(held), "next", next, "retention", s.retention)
	return tomorrow, nil
}

// purge looks at the held items and the new ones up to the cutoff, purges those due, and
// returns the new watermark and held list.
func (s *Scheduler) purge(ctx context.Context, st purgeState, now time.Time) (next int64, held []int64, purged int, err error) {
	cutoff := now.Add(-s.retention)
	visit := func(it *community.Item) error {
		done, err := s.purgeItem(ctx, it, now)
		if err != nil {
			return fmt.Errorf("item %d: %w", it.No, err)
		}
		if done {
			purged++
		} else if it.Purged.IsZero() {
			held = append(held, it.No)
		}
		return nil
	}
	for _, no := range st.Held {
		it, err := s.st.GetItem(ctx, no)
		if community.ErrorCode(err) == community.ENotFound {
			continue
		}
		if err != nil {
			return 0, nil, 0, store.ErrUnavailable(err)
		}
		if err := visit(it); err != nil {
			return 0, nil, 0, err
		}
	}
	newest, err := s.st.ListItems(ctx, store.ItemFilter{Limit: 1})
	if err != nil {
		return 0, nil, 0, store.ErrUnavailable(err)
	}
	next = max(st.Next, 1)
	if len(newest) == 0 {
		return next, held, purged, nil
	}
	for ; next <= newest[0].No; next++ {
		it, err := s.st.GetItem(ctx, next)
		if community.ErrorCode(err) == community.ENotFound {
			continue
		}
		if err != nil {
			return 0, nil, 0, store.ErrUnavailable(err)
		}
		if it.CreatedAt.After(cutoff) {
			break // it, and every later one, cannot have closed before the cutoff
		}
		if err := visit(it); err != nil {
			return 0, nil, 0, err
		}
	}
	return next, held, purged, nil
}

// purgeItem purges it if its retention period ended; done reports whether this call did.
func (s *Scheduler) purgeItem(ctx context.Context, it *community.Item, now time.Time) (done bool, err error) {
	if !it.PurgeDue(s.retention, now) {
		return false, nil
	}
	got, err := s.st.UpdateItem(ctx, it.No, func(cur *community.Item) error {
		if !cur.Purge(s.retention, now) {
			return errNotMine // reopened, or purged by another pass meanwhile
		}
		return nil
	})
	if errors.Is(err, errNotMine) {
		cur, err := s.st.GetItem(ctx, it.No)
		if err != nil {
			return false, store.ErrUnavailable(err)
		}
		*it = *cur
		return false, nil
	}
	if err != nil {
		return false, err
	}
	*it = *got
	return true, nil
}
