package scheduler_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/scheduler"
)

// Run ticks once at start (catching up) and then on its cron spec, and stops with its context.
func TestRunTicksFromCron(t *testing.T) {
	cfg := testConfig()
	w := newWorld(t, cfg, at(2026, 11, 27, 15, 0), 0) // the 主题党日 of 12月4日 falls due for announcing
	ticks := make(chan error, 16)
	s, err := scheduler.New(scheduler.Options{
		Store: w.st, Tree: w.tree, Schedules: cfg.Schedules, Deadlines: cfg.Deadlines,
		Calendar: scheduler.NewHolidays(nil), Now: w.clock.Now, Loc: shanghai,
		Log: slog.New(slog.DiscardHandler), Spec: "@every 1s",
		AfterTick: func(now, next time.Time, err error) {
			select {
			case ticks <- err:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for i := 0; i < 2; i++ { // the catch-up tick, then one from cron
		select {
		case err := <-ticks:
			if err != nil {
				t.Fatalf("tick %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("tick %d never came", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, err := w.st.OutboxStats(context.Background(), "sched:theme-day@202612041500/announce")
	if err != nil || st.Pending != 3 {
		t.Errorf("announcement batch: %+v %v", st, err)
	}
}
