package main

import (
	"context"
	"fmt"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
)

// catchUp brings a freshly built dataset to the state a bot that had been running all along
// would have left: the demo config seeded, the scheduler's deadline ladder walked up to now
// (reminders, overdue flags, escalations, auto-closes recorded on the items) and the
// messages that produced marked sent. Without it the binary's first scheduler tick would
// fire three years of steps while it is being measured.
func catchUp(ctx context.Context, st store.Store) (int, error) {
	cfg := config.Demo()
	if err := setup.Seed(ctx, st, cfg); err != nil {
		return 0, err
	}
	tree, err := setup.Tree(cfg)
	if err != nil {
		return 0, err
	}
	cal, err := scheduler.LoadHolidays("")
	if err != nil {
		return 0, err
	}
	s, err := scheduler.New(scheduler.Options{Store: st, Tree: tree, Schedules: cfg.Schedules,
		Deadlines: cfg.Deadlines, Calendar: cal, Loc: shanghai, Owner: "bench"})
	if err != nil {
		return 0, err
	}
	if err := s.Sync(ctx); err != nil {
		return 0, err
	}
	now := time.Now()
	// One tick fires what is due; a step can make the next one due (overdue, then
	// escalation), so tick until a tick fires nothing new.
	sent := 0
	for range 10 {
		if _, err := s.Tick(ctx, now); err != nil {
			return sent, fmt.Errorf("scheduler tick: %w", err)
		}
		n, err := drainOutbox(ctx, st, now)
		if err != nil {
			return sent, err
		}
		sent += n
		if n == 0 {
			break
		}
	}
	return sent, nil
}

// drainOutbox marks every due outbox entry sent, as a dispatcher would after delivering it.
func drainOutbox(ctx context.Context, st store.Store, now time.Time) (int, error) {
	n := 0
	for {
		es, err := st.LeaseOutbox(ctx, "bench", 500, now, time.Minute)
		if err != nil {
			return n, err
		}
		if len(es) == 0 {
			return n, nil
		}
		for _, e := range es {
			if err := st.CompleteOutbox(ctx, e.ID, "bench", "bench-"+e.ID, now); err != nil {
				return n, err
			}
			n++
		}
	}
}
