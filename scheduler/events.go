package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/store"
)

// errNotMine ends an atomic update that found the step taken, done or no longer wanted.
var errNotMine = errors.New("step not ours")

// tickSchedules runs the due steps of every schedule's upcoming occurrences.
func (s *Scheduler) tickSchedules(ctx context.Context, now, gapFrom time.Time) (time.Time, error) {
	scheds, err := s.listSchedules(ctx)
	if err != nil {
		return time.Time{}, err
	}
	var groups []community.Group
	loaded := false
	loadGroups := func() ([]community.Group, error) {
		if loaded {
			return groups, nil
		}
		gs, err := s.st.ListGroups(ctx)
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		groups, loaded = gs, true
		return groups, nil
	}
	var next time.Time
	var errs []error
	for _, sc := range scheds {
		if sc.Cancelled {
			continue
		}
		r, err := s.rule(sc.Rule)
		if err != nil {
			s.log.Error("unreadable schedule rule", "schedule", sc.ID, "rule", sc.Rule, "err", err)
			continue
		}
		if !gapFrom.IsZero() {
			s.logMissed(ctx, sc, r, gapFrom, now)
		}
		at, natural := NextOccurrence(r, now, s.cal)
		if err := s.warnUnofficial(ctx, now, natural, at); err != nil {
			errs = append(errs, fmt.Errorf("holiday warning: %w", err))
		}
		for i := 0; !at.IsZero() && i < 64; i++ {
			steps := plan(sc, r, at)
			if steps[0].Due.After(now) {
				next = earliest(next, steps[0].Due)
				break
			}
			n, err := s.runOccurrence(ctx, sc, at, natural, steps, now, loadGroups)
			if err != nil {
				errs = append(errs, fmt.Errorf("schedule %s at %s: %w", sc.ID, at.Format(time.DateTime), err))
			}
			next = earliest(next, n)
			at, natural = NextOccurrence(r, at, s.cal)
		}
	}
	return next, errors.Join(errs...)
}

// logMissed logs the occurrences that started while no scheduler ran and were never
// announced: they are skipped, as their reminders would come too late.
func (s *Scheduler) logMissed(ctx context.Context, sc *Schedule, r Rule, from, to time.Time) {
	n := 0
	for at := Next(r, from, s.cal); !at.IsZero() && !at.After(to); at = Next(r, at, s.cal) {
		id := OccurrenceID(sc.ID, at)
		occ, err := s.getOccurrence(ctx, id)
		if err != nil || (occ != nil && (occ.Cancelled || occ.Steps[StepAnnounce].Done())) {
			continue
		}
		s.stepDone("occurrence", "skipped")
		if n++; n <= 20 {
			s.log.Warn("occurrence passed while no scheduler ran; skipped", "occurrence", id, "title", sc.Title, "down_since", from)
		}
	}
	if n > 20 {
		s.log.Warn("more occurrences passed while no scheduler ran; skipped", "schedule", sc.ID, "count", n-20)
	}
}

// runOccurrence fires the due steps of one upcoming occurrence and returns when its next step
// falls due.
func (s *Scheduler) runOccurrence(ctx context.Context, sc *Schedule, start, natural time.Time, steps []step, now time.Time, groups func() ([]community.Group, error)) (time.Time, error) {
	id := OccurrenceID(sc.ID, start)
	occ, err := s.getOccurrence(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	if occ != nil && occ.Cancelled {
		return time.Time{}, nil
	}
	var due []step
	var next time.Time
	for _, st := range steps {
		var state *StepState
		if occ != nil {
			state = occ.Steps[st.Name]
		}
		switch {
		case state.Done():
		case st.Due.After(now):
			next = earliest(next, st.Due)
		case state != nil && now.Before(state.ClaimedAt.Add(claimLease)):
			next = earliest(next, state.ClaimedAt.Add(claimLease)) // look again if its claimer dies
		default:
			due = append(due, st)
		}
	}
	// After a downtime several steps can be due at once: the announcement says all a reminder
	// would, and of several reminders only the latest is worth sending.
	why := map[string]string{}
	announcing, last := false, -1
	for i, st := range due {
		if st.Name == StepAnnounce {
			announcing = true
		}
		if st.Before > 0 {
			last = i
		}
	}
	for i, st := range due {
		switch {
		case st.Before == 0:
		case announcing:
			why[st.Name] = "announced at the same time"
		case i != last:
			why[st.Name] = "a later reminder is due as well"
		}
	}
	var errs []error
	for _, st := range due {
		if w := why[st.Name]; w != "" {
			errs = append(errs, s.skipStep(ctx, id, st, w, now))
			continue
		}
		errs = append(errs, s.fireStep(ctx, sc, id, start, natural, st, now, groups))
	}
	return next, errors.Join(errs...)
}

func (s *Scheduler) skipStep(ctx context.Context, id string, st step, why string, now time.Time) error {
	_, err := s.updateOccurrence(ctx, id, func(o *Occurrence) error {
		if cur := o.Steps[st.Name]; cur.Done() || (cur != nil && now.Before(cur.ClaimedAt.Add(claimLease))) {
			return errNotMine
		}
		o.Steps[st.Name] = &StepState{Owner: s.owner, ClaimedAt: now, Skipped: why}
		return nil
	})
	if errors.Is(err, errNotMine) {
		return nil
	}
	if err == nil {
		s.log.Info("occurrence step skipped", "occurrence", id, "step", st.Name, "due", st.Due, "why", why)
		s.stepDone("occurrence", "skipped")
	}
	return err
}

// fireStep claims a step in the occurrence's document (atomically: one replica wins), puts
// its messages in the outbox under ids derived from the occurrence, step and recipient, and
// marks it sent. A claim older than claimLease that was never marked sent is taken over.
func (s *Scheduler) fireStep(ctx context.Context, sc *Schedule, id string, start, natural time.Time, st step, now time.Time, groups func() ([]community.Group, error)) error {
	var stale StepState
	occ, err := s.updateOccurrence(ctx, id, func(o *Occurrence) error {
		cur := o.Steps[st.Name]
		if o.Cancelled || cur.Done() || (cur != nil && now.Before(cur.ClaimedAt.Add(claimLease))) {
			return errNotMine
		}
		stale = StepState{}
		if cur != nil {
			stale = *cur
		}
		o.Steps[st.Name] = &StepState{Owner: s.owner, ClaimedAt: now}
		if st.Name == StepAnnounce || o.Title == "" {
			o.Title, o.Place = sc.Title, sc.Place
			if !natural.Equal(start) {
				o.Natural = natural
				o.Holiday, _ = IsHoliday(s.cal, natural)
			}
		}
		return nil
	})
	if errors.Is(err, errNotMine) {
		return nil
	}
	if err != nil {
		return err
	}
	if stale.Owner != "" {
		s.log.Warn("taking over a step claimed but never sent", "occurrence", id, "step", st.Name, "claimed_by", stale.Owner, "claimed_at", stale.ClaimedAt)
	}
	gs, err := groups()
	if err != nil {
		return err
	}
	gs = s.groupsFor(sc, gs)
	outs := s.stepMessages(sc, occ, st, gs, now)
	if err := s.enqueue(ctx, outs, now); err != nil {
		return err // the claim lapses and a replica (or the next tick here) tries again
	}
	_, err = s.updateOccurrence(ctx, id, func(o *Occurrence) error {
		cur := o.Steps[st.Name]
		if cur == nil {
			cur = &StepState{Owner: s.owner, ClaimedAt: now}
			o.Steps[st.Name] = cur
		}
		cur.SentAt, cur.Messages = now, len(outs)
		if st.Name == StepAnnounce {
			o.Groups = o.Groups[:0]
			for _, g := range gs {
				o.Groups = append(o.Groups, g.ID)
			}
		}
		return nil
	})
	if err != nil {
		// The messages are in the outbox; a replica taking the step over enqueues the same
		// ids again, which the outbox ignores.
		return err
	}
	lag := now.Sub(st.Due)
	if lag > 5*time.Minute {
		s.log.Info("occurrence step caught up", "occurrence", id, "step", st.Name, "due", st.Due, "late", lag.Round(time.Minute), "messages", len(outs))
		s.stepDone("occurrence", "caught_up")
	} else {
		s.log.Info("occurrence step sent", "occurrence", id, "step", st.Name, "messages", len(outs))
		s.stepDone("occurrence", "fired")
	}
	return nil
}

// stepMessages builds a step's messages: the announcement card, a reminder or the agenda in
// every group, and for the last reminder a private note to each person who signed up.
func (s *Scheduler) stepMessages(sc *Schedule, occ *Occurrence, st step, groups []community.Group, now time.Time) []bot.Outbound {
	base := "sched:" + occ.ID + "/" + st.Name + "/"
	var outs []bot.Outbound
	add := func(o bot.Outbound) {
		o.Batch = "sched:" + occ.ID + "/" + st.Name
		outs = append(outs, o)
	}
	switch {
	case st.Name == StepAnnounce:
		card := OccurrenceCard(sc, occ, now)
		for _, g := range groups {
			o := groupOut(g.ID, base+g.ID, "")
			o.Card = &card
			add(o)
		}
	case st.Name == StepAgenda:
		text := AgendaText(sc, occ, now)
		for _, g := range groups {
			add(groupOut(g.ID, base+g.ID, text))
		}
	case st.Before > 0:
		text := reminderText(sc, occ, st.Before, now)
		for _, g := range groups {
			add(groupOut(g.ID, base+g.ID, text))
		}
		if st.Before == lastReminder(sc, s.mustRule(sc)) {
			for uid, a := range occ.People {
				if a.Status == StatusSignup {
					add(privateOut(uid, base+uid, fmt.Sprintf("⏰ 您报名的%s将于%s开始%s，请准时参加，到场后发送“签到”。",
						sc.Title, community.FormatTime(occ.Start, now), placeSuffix(sc.Place))))
				}
			}
		}
	}
	return outs
}

func (s *Scheduler) mustRule(sc *Schedule) Rule {
	r, _ := s.rule(sc.Rule)
	return r
}

// lastReminder is the shortest reminder lead of a schedule (0 if none).
func lastReminder(sc *Schedule, r Rule) time.Duration {
	var last time.Duration
	for _, st := range plan(sc, r, time.Time{}) {
		if st.Before > 0 && (last == 0 || st.Before < last) {
			last = st.Before
		}
	}
	return last
}

// placeComma continues a parenthesis with the place: "（今天14:00，小区广场）".
func placeComma(place string) string {
	if place == "" {
		return ""
	}
	return "，" + place
}

func placeSuffix(place string) string {
	if place == "" {
		return ""
	}
	return "（地点：" + place + "）"
}

// kindIcon and kindName show what an occurrence is.
func kindIcon(kind string) string {
	switch kind {
	case config.ScheduleMeeting, config.ScheduleCongress:
		return "🏛️"
	case config.ScheduleStandup:
		return "☀️"
	}
	return "📅"
}

// OccurrenceCard is an occurrence's announcement: theme, time (and the holiday that moved
// it), place, and the sign-up and leave buttons.
func OccurrenceCard(sc *Schedule, occ *Occurrence, now time.Time) bot.Card {
	when := community.FormatDate(occ.Start, now)
	if !occ.Natural.IsZero() && !occ.Natural.Equal(occ.Start) {
		why := "节假日"
		if occ.Holiday != "" {
			why = occ.Holiday
		}
		when += fmt.Sprintf("（原定%d月%d日，逢%s顺延）", occ.Natural.Month(), occ.Natural.Day(), why)
	}
	c := bot.Card{
		Key:   CardKey(occ.ID),
		Title: kindIcon(sc.Kind) + " " + sc.Title,
		Color: "blue",
		Fields: []bot.Field{
			{Label: "时间", Value: when},
		},
		Buttons: []bot.Button{
			{Label: "报名", Action: ActionSignup, Ref: occ.ID, Style: "primary"},
			{Label: "请假", Action: ActionLeave, Ref: occ.ID},
		},
		Footer: "报名：点“报名”或发送“报名”；不能参加请发送“请假 原因”；到场后发送“签到”。",
	}
	if sc.Place != "" {
		c.Fields = append(c.Fields, bot.Field{Label: "地点", Value: sc.Place})
	}
	if sc.Kind == config.ScheduleMeeting {
		c.Buttons[0].Label = "参会"
		c.Color = "orange"
		c.Text = "各单位请在会前发送“议题 内容”提交议题，议程在会前一天发布。"
	}
	return c
}

// CancelledCard replaces the announcement of an occurrence that was cancelled or moved.
func CancelledCard(sc *Schedule, occ *Occurrence, now time.Time, why string) bot.Card {
	return bot.Card{
		Key:    CardKey(occ.ID),
		Title:  kindIcon(sc.Kind) + " " + sc.Title + " · " + why,
		Color:  "grey",
		Fields: []bot.Field{{Label: "原定时间", Value: community.FormatDate(occ.Start, now)}},
	}
}

func reminderText(sc *Schedule, occ *Occurrence, before time.Duration, now time.Time) string {
	signed, leave := 0, 0
	for _, a := range occ.People {
		switch a.Status {
		case StatusSignup:
			signed++
		case StatusLeave:
			leave++
		}
	}
	if before <= 3*time.Hour {
		return fmt.Sprintf("⏰ %s %s后开始（%s%s），到场后请发送“签到”。",
			sc.Title, durationZh(before), community.FormatTime(occ.Start, now), placeComma(sc.Place))
	}
	text := fmt.Sprintf("⏰ 提醒：%s将于%s举行%s。", sc.Title, community.FormatDate(occ.Start, now), placeSuffix(sc.Place))
	switch {
	case signed > 0 && leave > 0:
		text += fmt.Sprintf("已报名%d人、请假%d人。", signed, leave)
	case signed > 0:
		text += fmt.Sprintf("已报名%d人。", signed)
	}
	if sc.Kind == config.ScheduleMeeting {
		return text + "请各单位准时参会，不能参加请发送“请假 原因”。"
	}
	return text + "还没报名的请点通知卡片上的“报名”或发送“报名”，不能参加请发送“请假 原因”。"
}

// AgendaText is the agenda posted the day before a meeting.
func AgendaText(sc *Schedule, occ *Occurrence, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "📋 %s议程\n时间：%s", sc.Title, community.FormatDate(occ.Start, now))
	if sc.Place != "" {
		fmt.Fprintf(&b, "\n地点：%s", sc.Place)
	}
	if len(occ.Agenda) == 0 {
		b.WriteString("\n暂无提交的议题，临时议题请在会上提出。")
		return b.String()
	}
	for i, a := range occ.Agenda {
		fmt.Fprintf(&b, "\n%d. %s（%s）", i+1, community.Mask(a.Text), a.Name)
	}
	return b.String()
}
