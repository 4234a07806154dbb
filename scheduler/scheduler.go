package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/store"
)

// Store is what the scheduler needs of a backend.
type Store interface {
	store.Items
	store.Directory
	store.Docs
	store.Numbers
	Enqueue(ctx context.Context, entries ...store.OutboxEntry) error
}

// Options configure a Scheduler.
type Options struct {
	Store     Store
	Tree      *community.Tree
	Schedules []config.Schedule     // from the config; chat adds more in the store
	Deadlines config.DeadlinePolicy // the deadline ladder of items
	Calendar  Calendar              // holidays; nil knows none
	Now       func() time.Time
	Loc       *time.Location // Asia/Shanghai
	Log       *slog.Logger
	Owner     string // names this replica in claims
	Wake      func() // called after messages are enqueued (the dispatcher's Wake)
	// Spec is Run's cron spec; default every minute.
	Spec string
	// Retention is how long closed and cancelled items keep personal fields before the daily
	// purge (privacy.go) clears them; 0 turns the purge off.
	Retention time.Duration
	// AfterTick, if set, is called after each tick Run makes (tests, metrics).
	AfterTick func(now, next time.Time, err error)
	// Step, if set, is told of each step the scheduler fires, catches up or skips: kind is
	// "item" (the deadline ladder) or "occurrence" (a schedule's), outcome "fired",
	// "caught_up" (over 5 minutes late) or "skipped" (metrics).
	Step func(kind, outcome string)
}

// Scheduler announces and reminds occurrences of schedules and walks items up the deadline
// ladder. Any number of Schedulers (replicas) may share one store.
type Scheduler struct {
	st        Store
	tree      *community.Tree
	cal       Calendar
	now       func() time.Time
	loc       *time.Location
	log       *slog.Logger
	owner     string
	wake      func()
	spec      string
	after     func(now, next time.Time, err error)
	step      func(kind, outcome string)
	cfg       []config.Schedule
	policy    config.DeadlinePolicy
	retention time.Duration
	dayStart  time.Duration // working hours, since midnight
	dayEnd    time.Duration

	rulesMu sync.Mutex
	rules   map[string]Rule // parsed rule text → rule
}

// stepDone tells Options.Step of a step.
func (s *Scheduler) stepDone(kind, outcome string) {
	if s.step != nil {
		s.step(kind, outcome)
	}
}

// claimLease is how long a claimed step may stay unsent before another replica takes it
// over: the claimer died between the claim and the enqueue.
const claimLease = 2 * time.Minute

// New checks the options (every configured rule must parse) and returns a Scheduler.
func New(o Options) (*Scheduler, error) {
	if o.Store == nil {
		return nil, errors.New("scheduler: no store")
	}
	if o.Loc == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		o.Loc = loc
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Owner == "" {
		o.Owner = "scheduler"
	}
	if o.Spec == "" {
		o.Spec = "* * * * *"
	}
	s := &Scheduler{
		st: o.Store, tree: o.Tree, cal: o.Calendar, now: o.Now, loc: o.Loc, log: o.Log,
		owner: o.Owner, wake: o.Wake, spec: o.Spec, after: o.AfterTick, step: o.Step, cfg: o.Schedules,
		policy: o.Deadlines, retention: o.Retention, rules: map[string]Rule{},
	}
	var errs []error
	for i, sc := range o.Schedules {
		if _, err := ParseRule(sc.Rule); err != nil {
			errs = append(errs, fmt.Errorf("schedules[%d].rule (%s): %w", i, sc.ID, err))
		}
	}
	var err error
	if s.dayStart, err = clockOf(o.Deadlines.WorkdayStart, 8*time.Hour); err != nil {
		errs = append(errs, fmt.Errorf("deadlines.workday_start: %w", err))
	}
	if s.dayEnd, err = clockOf(o.Deadlines.WorkdayEnd, 20*time.Hour); err != nil {
		errs = append(errs, fmt.Errorf("deadlines.workday_end: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return s, nil
}

func clockOf(hhmm string, def time.Duration) (time.Duration, error) {
	if hhmm == "" {
		return def, nil
	}
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// rule parses (and remembers) a stored rule.
func (s *Scheduler) rule(text string) (Rule, error) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	if r, ok := s.rules[text]; ok {
		return r, nil
	}
	r, err := ParseRule(text)
	if err != nil {
		return Rule{}, err
	}
	s.rules[text] = r
	return r, nil
}

// Sync writes the configured schedules into the store: the config is the truth for them, so a
// changed rule or title takes effect (and a schedule removed from the config stops). Schedules
// created in chat are left alone. Safe to run on every replica at every start.
func (s *Scheduler) Sync(ctx context.Context) error {
	now := s.now().In(s.loc)
	inCfg := map[string]bool{}
	for _, c := range s.cfg {
		inCfg[c.ID] = true
		_, err := s.st.UpdateDoc(ctx, CollSchedules, c.ID, func(old []byte) ([]byte, error) {
			var sc Schedule
			if old != nil {
				if err := json.Unmarshal(old, &sc); err != nil {
					return nil, err
				}
			}
			want := Schedule{
				ID: c.ID, Kind: c.Kind, Written: c.Rule, Title: c.Title, Place: c.Place,
				Nodes: c.Nodes, Remind: c.Remind, Source: SourceConfig,
			}
			r, err := ParseRule(c.Rule)
			if err != nil {
				return nil, err
			}
			if old != nil && sc.Written == c.Rule {
				want.Rule = sc.Rule // a one-off keeps the year it was resolved to
			} else {
				// A one-off already past is kept with its year and never fires.
				want.Rule, _ = resolveOnce(r, now)
			}
			if old != nil && sameSchedule(&sc, &want) {
				return old, nil
			}
			want.CreatedAt, want.Rev = sc.CreatedAt, sc.Rev+1
			if want.CreatedAt.IsZero() {
				want.CreatedAt = now
			}
			want.UpdatedAt = now
			return json.Marshal(want)
		})
		if err != nil {
			return fmt.Errorf("sync schedule %s: %w", c.ID, err)
		}
	}
	all, err := s.listSchedules(ctx)
	if err != nil {
		return err
	}
	for _, sc := range all {
		if sc.Source != SourceConfig || inCfg[sc.ID] || sc.Cancelled {
			continue
		}
		_, err := s.st.UpdateDoc(ctx, CollSchedules, sc.ID, func(old []byte) ([]byte, error) {
			var cur Schedule
			if err := json.Unmarshal(old, &cur); err != nil {
				return nil, err
			}
			cur.Cancelled, cur.UpdatedAt = true, now
			return json.Marshal(cur)
		})
		if err != nil {
			return fmt.Errorf("retire schedule %s: %w", sc.ID, err)
		}
		s.log.Info("schedule removed from the config; stopped", "schedule", sc.ID)
	}
	return nil
}

func sameSchedule(a, b *Schedule) bool {
	return a.Kind == b.Kind && a.Rule == b.Rule && a.Written == b.Written && a.Title == b.Title &&
		a.Place == b.Place && slices.Equal(a.Nodes, b.Nodes) && slices.Equal(a.Remind, b.Remind) &&
		a.Source == b.Source && !a.Cancelled
}

// resolveOnce gives a one-off without a year the year of its next date (this year's if it is
// still ahead) and returns the rule to store, with an error when that time has passed;
// recurring rules are returned as they are.
func resolveOnce(r Rule, now time.Time) (string, error) {
	if r.Freq != Once {
		return r.String(), nil
	}
	if r.Year == 0 {
		day := time.Date(now.Year(), time.Month(r.Month), r.Day, 0, 0, 0, 0, now.Location())
		r.Year = now.Year()
		if day.Before(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())) {
			r.Year++
		}
	}
	at := time.Date(r.Year, time.Month(r.Month), r.Day, r.Hour, r.Minute, 0, 0, now.Location())
	if !at.After(now) {
		return r.String(), community.Errorf(community.EInvalid, "时间 %s 已经过去了，请换一个时间。", community.FormatDate(at, now))
	}
	return r.String(), nil
}

// Tick does everything due at now: the steps of occurrences, the deadline ladder of items and
// the daily retention purge.
// It returns when it next has work (the zero time if never), so a fake clock can jump there.
// Errors of single steps are logged and returned joined; the other steps still run.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (time.Time, error) {
	now = now.In(s.loc)
	gapFrom := s.noteTick(ctx, now)
	next1, err1 := s.tickSchedules(ctx, now, gapFrom)
	next2, err2 := s.tickItems(ctx, now)
	next3, err3 := s.tickPurge(ctx, now)
	return earliest(next1, next2, next3), errors.Join(err1, err2, err3)
}

// noteTick records now as the last tick and returns the previous one when it lies more than a
// few minutes back: nobody ticked in between (every replica was down).
func (s *Scheduler) noteTick(ctx context.Context, now time.Time) time.Time {
	var prev time.Time
	_, err := s.st.UpdateDoc(ctx, CollMeta, "lasttick", func(old []byte) ([]byte, error) {
		prev = time.Time{}
		if old != nil {
			if err := prev.UnmarshalText(old); err != nil {
				prev = time.Time{}
			}
		}
		if !prev.IsZero() && !now.After(prev) {
			return old, nil
		}
		return now.MarshalText()
	})
	if err != nil {
		s.log.Warn("last tick not recorded", "err", err)
		return time.Time{}
	}
	if prev.IsZero() || now.Sub(prev) <= 5*time.Minute {
		return time.Time{}
	}
	return prev
}

func earliest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}

// Run ticks every minute (Spec) until ctx ends, starting with one tick at once to catch up
// on what fell due while no replica ran. Ticks never overlap, and a panic in one is logged.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Sync(ctx); err != nil {
		return err
	}
	logger := cronLogger{s.log}
	job := cron.NewChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)).Then(cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		now := s.now()
		next, err := s.Tick(ctx, now)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler tick failed", "err", err)
		}
		if s.after != nil {
			s.after(now, next, err)
		}
	}))
	c := cron.New(cron.WithLocation(s.loc), cron.WithLogger(logger))
	if _, err := c.AddJob(s.spec, job); err != nil {
		return fmt.Errorf("scheduler: cron spec %q: %w", s.spec, err)
	}
	job.Run() // catch up now rather than at the next minute
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done() // waits for a tick in flight
	return nil
}

// cronLogger sends cron's logs to slog; its routine chatter goes to Debug.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// enqueue puts messages in the outbox and wakes the dispatcher.
func (s *Scheduler) enqueue(ctx context.Context, outs []bot.Outbound, now time.Time) error {
	if len(outs) == 0 {
		return nil
	}
	entries := make([]store.OutboxEntry, 0, len(outs))
	for _, o := range outs {
		e, err := bot.Entry(o, now)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	if err := s.st.Enqueue(ctx, entries...); err != nil {
		return store.ErrUnavailable(err)
	}
	if s.wake != nil {
		s.wake()
	}
	return nil
}

// groupOut is a message to a group.
func groupOut(groupID, id, text string) bot.Outbound {
	plat, chat := community.SplitID(groupID)
	return bot.Outbound{ID: id, Platform: plat, ChatID: chat, Text: text}
}

// privateOut is a message to one person, through their own platform.
func privateOut(userID, id, text string) bot.Outbound {
	plat, _ := community.SplitID(userID)
	return bot.Outbound{ID: id, Platform: plat, UserID: userID, Text: text}
}
