package app

import (
	"context"
	"fmt"

	"github.com/neighborbot/neighborbot/internal/numbering"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
)

// addScheduler builds the scheduler (activities, meetings, the deadline ladder) from the
// config, writes the configured schedules into the store, registers its chat commands and card
// buttons on the command mux, and runs it next to the other parts.
func (a *App) addScheduler(ctx context.Context, owner string) error {
	cal, err := scheduler.LoadHolidays(a.Cfg.HolidaysFile)
	if err != nil {
		return err
	}
	s, err := scheduler.New(scheduler.Options{
		Store:     a.Store,
		Tree:      a.Tree,
		Schedules: a.Cfg.Schedules,
		Deadlines: a.Cfg.Deadlines,
		Retention: a.Cfg.Privacy.Retention.Duration(),
		Calendar:  cal,
		Now:       a.Now,
		Loc:       a.Loc,
		Log:       a.Log.With("part", "scheduler"),
		Owner:     owner,
		Wake:      a.Dispatcher.Wake,
		Step:      a.stepMetric(),
	})
	if err != nil {
		return err
	}
	if err := s.Sync(ctx); err != nil {
		return err
	}
	if err := s.Register(a.Commands); err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	a.Handlers.Retention = a.Cfg.Privacy.Retention.Duration() // told in 我的信息
	a.Handlers.AddNumbered(s.Numbered, store.KindActivity)
	a.renumber = append(a.renumber, numbering.Part{Name: "activities", Renumber: s.MigrateNumbers})
	a.AddRunner(s.Run)
	a.Scheduler = s
	return nil
}
