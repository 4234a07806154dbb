package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/store"
)

// The monthly report goes out by itself on the 1st of each month at 9:00 (Asia/Shanghai) to
// every secretary (and street secretary), each for their own jurisdiction, exactly once
// across replicas, as the scheduler does its steps: a replica claims the month in a
// document (ledger_push/<month>), enqueues one outbox entry per secretary under an id
// derived from the month and the person (an enqueue repeated after a crash adds nothing),
// then marks the month sent. A claim not marked sent within pushLease is taken over.

// PushDay and PushHour are when the previous month's report goes out.
const (
	PushDay  = 1
	PushHour = 9
	// PushWindow bounds the catch-up: a replica that starts later than this after 9:00 on the
	// 1st (the bot was down) skips the month rather than sending a stale report.
	PushWindow = 72 * time.Hour
	pushLease  = 2 * time.Minute
)

type pushState struct {
	Owner     string    `json:"owner,omitempty"`
	ClaimedAt time.Time `json:"claimed_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	Skipped   string    `json:"skipped,omitempty"`
	Messages  int       `json:"messages,omitempty"`
}

var errNotMine = errors.New("push not ours")

// PushID is the outbox id of month's report to person.
func PushID(month ledger.Period, person string) string {
	return "ledger:monthly:" + month.Slug() + ":" + person
}

// Tick sends the previous month's report if it is due at now and not yet sent; it reports
// how many messages it enqueued (0 when there was nothing to do).
func (l *Ledger) Tick(ctx context.Context, now time.Time) (int, error) {
	loc := now.Location()
	due := time.Date(now.Year(), now.Month(), PushDay, PushHour, 0, 0, 0, loc)
	if now.Before(due) {
		return 0, nil
	}
	month := ledger.MonthOf(due.AddDate(0, -1, 0).Year(), due.AddDate(0, -1, 0).Month(), loc)
	late := now.Sub(due) > PushWindow
	owner := l.Owner
	if owner == "" {
		owner = "ledger"
	}
	claimed := false
	_, err := l.Store.UpdateDoc(ctx, CollPush, month.Slug(), func(old []byte) ([]byte, error) {
		claimed = false
		var st pushState
		if old != nil {
			if err := json.Unmarshal(old, &st); err != nil {
				return nil, fmt.Errorf("push state %s: %w", month.Slug(), err)
			}
		}
		if !st.SentAt.IsZero() || st.Skipped != "" || (st.Owner != "" && now.Before(st.ClaimedAt.Add(pushLease))) {
			return nil, errNotMine
		}
		if late && st.Owner == "" {
			st.Skipped = "late"
			return json.Marshal(st)
		}
		st.Owner, st.ClaimedAt = owner, now
		claimed = true
		return json.Marshal(st)
	})
	if errors.Is(err, errNotMine) || (err == nil && !claimed) {
		if err == nil {
			l.log().Warn("monthly report skipped: the bot was not running when it was due", "month", month.Slug(), "due", due)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger push claim: %w", err)
	}
	n, err := l.push(ctx, month, now)
	if err != nil {
		return n, err // the claim runs out and another replica (or the next tick) tries again
	}
	_, err = l.Store.UpdateDoc(ctx, CollPush, month.Slug(), func(old []byte) ([]byte, error) {
		var st pushState
		if err := json.Unmarshal(old, &st); err != nil {
			return nil, err
		}
		if st.Owner != owner || !st.SentAt.IsZero() {
			return nil, errNotMine
		}
		st.SentAt, st.Messages = now, n
		return json.Marshal(st)
	})
	if err != nil && !errors.Is(err, errNotMine) {
		return n, fmt.Errorf("ledger push mark sent: %w", err)
	}
	l.log().Info("monthly report sent", "month", month.Slug(), "messages", n)
	return n, nil
}

// push enqueues month's report to every secretary and street secretary.
func (l *Ledger) push(ctx context.Context, month ledger.Period, now time.Time) (int, error) {
	d, err := l.Load(ctx, month)
	if err != nil {
		return 0, err
	}
	var entries []bot.Outbound
	for _, p := range d.People {
		if !p.Role.AtLeast(community.RoleSecretary) || (p.Pending && !p.Approved) {
			continue
		}
		plat, _ := community.SplitID(p.ID)
		o := l.monthlyFrom(d, p, month, now)
		o.ID, o.Platform, o.UserID = PushID(month, p.ID), plat, p.ID
		entries = append(entries, o)
	}
	for start := 0; start < len(entries); start += 20 {
		batch := entries[start:min(start+20, len(entries))]
		out := make([]store.OutboxEntry, 0, len(batch))
		for _, o := range batch {
			e, err := bot.Entry(o, now)
			if err != nil {
				return start, err
			}
			out = append(out, e)
		}
		if err := l.Store.Enqueue(ctx, out...); err != nil {
			return start, fmt.Errorf("ledger push enqueue: %w", err)
		}
	}
	if len(entries) > 0 && l.Wake != nil {
		l.Wake()
	}
	return len(entries), nil
}

// Run calls Tick every minute until ctx ends.
func (l *Ledger) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := l.Tick(ctx, l.Now()); err != nil && ctx.Err() == nil {
			l.log().Error("monthly report", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
