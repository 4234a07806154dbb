package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/store"
)

// Doc collections the scheduler keeps.
const (
	CollSchedules   = "schedules"   // schedule id → Schedule
	CollOccurrences = "occurrences" // occurrence id → Occurrence
	CollMeta        = "schedmeta"   // "lasttick", "purge" (privacy.go); "seq" numbered chat schedules before numbers were shared (store.Numbers)
	CollSent        = "schedsent"   // item step key → when its messages reached the outbox
)

// Where a schedule came from.
const (
	SourceConfig = "config"
	SourceChat   = "chat"
)

// Schedule is a recurring (or one-off) activity or meeting, as kept in the store.
type Schedule struct {
	ID string `json:"id"`
	// No is the number of an activity created in chat, from the deployment's one number
	// space (store.Numbers, shared with items and notices); its ID is that number, or for
	// one created before numbers were shared, the number it had then. 0 for configured ones.
	No      int64    `json:"no,omitempty"`
	Kind    string   `json:"kind"`              // config.Schedule* kinds
	Rule    string   `json:"rule"`              // canonical (ParseRule reads it); a one-off has its year
	Written string   `json:"written,omitempty"` // as written in the config or chat
	Title   string   `json:"title"`
	Place   string   `json:"place,omitempty"`
	Nodes   []string `json:"nodes,omitempty"`  // org nodes whose groups are told; empty = all
	Remind  []string `json:"remind,omitempty"` // durations before the start; empty = the rule's defaults
	Source  string   `json:"source"`

	CreatedBy     string    `json:"created_by,omitempty"`
	CreatedByName string    `json:"created_by_name,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	Rev           int       `json:"rev"`                 // increases with every change
	Cancelled     bool      `json:"cancelled,omitempty"` // stopped (kept for the record)
}

// Occurrence is one date of a schedule: the record of what was sent for it and who signed
// up, excused themselves, came, and which agenda items were submitted.
type Occurrence struct {
	ID        string                 `json:"id"` // "<schedule>@200601021504"
	Schedule  string                 `json:"schedule"`
	Start     time.Time              `json:"start"`
	Natural   time.Time              `json:"natural,omitempty"` // set when a holiday moved it
	Holiday   string                 `json:"holiday,omitempty"` // the festival that moved it
	Title     string                 `json:"title,omitempty"`   // as announced
	Place     string                 `json:"place,omitempty"`
	Groups    []string               `json:"groups,omitempty"` // where it was announced
	Cancelled bool                   `json:"cancelled,omitempty"`
	Steps     map[string]*StepState  `json:"steps,omitempty"`
	People    map[string]*Attendance `json:"people,omitempty"` // user id →
	Agenda    []AgendaItem           `json:"agenda,omitempty"`
}

// StepState is one step of an occurrence (announce, a reminder, the agenda): claimed by a
// replica, then sent (its messages are in the outbox) or skipped.
type StepState struct {
	Owner     string    `json:"owner,omitempty"`
	ClaimedAt time.Time `json:"claimed_at"`
	SentAt    time.Time `json:"sent_at,omitempty"`
	Skipped   string    `json:"skipped,omitempty"` // why it was not sent
	Messages  int       `json:"messages,omitempty"`
}

// Done reports whether nothing more is to be done for the step.
func (s *StepState) Done() bool { return s != nil && (!s.SentAt.IsZero() || s.Skipped != "") }

// Attendance statuses.
const (
	StatusSignup = "signup" // 报名
	StatusLeave  = "leave"  // 请假
)

// Attendance is one person's answer to an occurrence.
type Attendance struct {
	Name     string    `json:"name"`
	Status   string    `json:"status,omitempty"` // signup, leave, or "" (came without signing up)
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	SignedIn time.Time `json:"signed_in,omitempty"`
}

// AgendaItem is one 议题 submitted for a meeting.
type AgendaItem struct {
	By   string    `json:"by"`
	Name string    `json:"name"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// OccurrenceID names a schedule's occurrence by its (moved) start.
func OccurrenceID(schedule string, start time.Time) string {
	return schedule + "@" + start.Format("200601021504")
}

// SplitOccurrenceID is the inverse of OccurrenceID.
func SplitOccurrenceID(id string, loc *time.Location) (schedule string, start time.Time, ok bool) {
	i := strings.LastIndexByte(id, '@')
	if i <= 0 {
		return "", time.Time{}, false
	}
	t, err := time.ParseInLocation("200601021504", id[i+1:], loc)
	if err != nil {
		return "", time.Time{}, false
	}
	return id[:i], t, true
}

// CardKey is the card key of an occurrence's announcement.
func CardKey(occID string) string { return "occ:" + occID }

// OccurrenceFromKey parses a card key; "" if it is not an occurrence's.
func OccurrenceFromKey(key string) string {
	id, _ := strings.CutPrefix(key, "occ:")
	if id == key {
		return ""
	}
	return id
}

func (s *Scheduler) getSchedule(ctx context.Context, id string) (*Schedule, error) {
	raw, err := s.st.GetDoc(ctx, CollSchedules, id)
	if err != nil {
		return nil, err
	}
	var sc Schedule
	if err := json.Unmarshal(raw, &sc); err != nil {
		return nil, fmt.Errorf("schedule %s: %w", id, err)
	}
	return &sc, nil
}

func (s *Scheduler) listSchedules(ctx context.Context) ([]*Schedule, error) {
	docs, err := s.st.ListDocs(ctx, CollSchedules, "")
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	out := make([]*Schedule, 0, len(docs))
	for _, d := range docs {
		var sc Schedule
		if err := json.Unmarshal(d.Value, &sc); err != nil {
			s.log.Error("undecodable schedule", "id", d.ID, "err", err)
			continue
		}
		out = append(out, &sc)
	}
	return out, nil
}

func (s *Scheduler) getOccurrence(ctx context.Context, id string) (*Occurrence, error) {
	raw, err := s.st.GetDoc(ctx, CollOccurrences, id)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return nil, nil
		}
		return nil, store.ErrUnavailable(err)
	}
	var o Occurrence
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("occurrence %s: %w", id, err)
	}
	return &o, nil
}

// updateOccurrence changes an occurrence atomically, creating it when absent. fn may run more
// than once and must be pure; its error is returned as is and leaves the doc unchanged.
func (s *Scheduler) updateOccurrence(ctx context.Context, id string, fn func(o *Occurrence) error) (*Occurrence, error) {
	var out *Occurrence
	_, err := s.st.UpdateDoc(ctx, CollOccurrences, id, func(old []byte) ([]byte, error) {
		o := &Occurrence{ID: id}
		if old != nil {
			if err := json.Unmarshal(old, o); err != nil {
				return nil, fmt.Errorf("occurrence %s: %w", id, err)
			}
		}
		if o.Schedule == "" {
			sid, start, ok := SplitOccurrenceID(id, s.loc)
			if !ok {
				return nil, fmt.Errorf("bad occurrence id %q", id)
			}
			o.Schedule, o.Start = sid, start
		}
		if o.Steps == nil {
			o.Steps = map[string]*StepState{}
		}
		if o.People == nil {
			o.People = map[string]*Attendance{}
		}
		if err := fn(o); err != nil {
			return nil, err
		}
		out = o
		return json.Marshal(o)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Defaults by frequency: how long before the start an occurrence is announced, and when it is
// reminded. A daily stand-up needs no reminder three days ahead.
func defaultLead(r Rule) time.Duration {
	switch r.Freq {
	case Daily, Workdays:
		return time.Hour
	case Weekly:
		return 2 * 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}

func defaultRemind(r Rule) []time.Duration {
	switch r.Freq {
	case Daily, Workdays:
		return nil
	case Weekly:
		return []time.Duration{2 * time.Hour}
	}
	return []time.Duration{72 * time.Hour, 24 * time.Hour, 2 * time.Hour}
}

// Step names of an occurrence.
const (
	StepAnnounce = "announce"
	StepAgenda   = "agenda"
	stepRemind   = "remind-" // + the duration before the start: "remind-72h"
)

type step struct {
	Name   string
	Due    time.Time
	Before time.Duration // reminders: how long before the start
}

// plan lists the steps of an occurrence starting at start, in the order they fall due:
// the announcement, the reminders, and for a meeting the agenda the day before.
func plan(sc *Schedule, r Rule, start time.Time) []step {
	reminders := defaultRemind(r)
	if len(sc.Remind) > 0 {
		reminders = reminders[:0:0]
		for _, s := range sc.Remind {
			if d, err := time.ParseDuration(s); err == nil && d > 0 {
				reminders = append(reminders, d)
			}
		}
	}
	slices.Sort(reminders)
	slices.Reverse(reminders)
	reminders = slices.Compact(reminders)
	lead := defaultLead(r)
	if len(reminders) > 0 && reminders[0] >= lead {
		lead = reminders[0] + 24*time.Hour // the card comes a day before the first reminder
	}
	steps := []step{{Name: StepAnnounce, Due: start.Add(-lead)}}
	for _, d := range reminders {
		steps = append(steps, step{Name: stepRemind + durationName(d), Due: start.Add(-d), Before: d})
	}
	if sc.Kind == config.ScheduleMeeting {
		steps = append(steps, step{Name: StepAgenda, Due: start.Add(-24 * time.Hour)})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.Due.Compare(b.Due) })
	return steps
}

// durationName writes 72h, 2h, 30m, 1h30m.
func durationName(d time.Duration) string {
	return config.Duration(d).String()
}

// durationZh writes a reminder's lead the way people say it: 3天, 1天, 2小时, 30分钟.
func durationZh(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d天", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d小时", d/time.Hour)
	case d%time.Minute == 0 && d < time.Hour:
		return fmt.Sprintf("%d分钟", d/time.Minute)
	}
	return fmt.Sprintf("%d小时%d分钟", d/time.Hour, d%time.Hour/time.Minute)
}

// visibleTo reports whether the schedule concerns a group bound to node (or a person whose
// home is node): it does when it goes to all groups, when node lies under one of its nodes,
// or — for people, who may sit above the groups — when one of its nodes lies under node.
func (s *Scheduler) visibleTo(sc *Schedule, node string, person bool) bool {
	if len(sc.Nodes) == 0 {
		return true
	}
	if node == "" || s.tree == nil {
		return false
	}
	for _, n := range sc.Nodes {
		if s.tree.Within(node, n) || (person && s.tree.Within(n, node)) {
			return true
		}
	}
	return false
}

// groupsFor lists the groups an occurrence of sc is announced to.
func (s *Scheduler) groupsFor(sc *Schedule, groups []community.Group) []community.Group {
	var out []community.Group
	for _, g := range groups {
		if len(sc.Nodes) == 0 || (g.Node != "" && s.visibleTo(sc, g.Node, false)) {
			out = append(out, g)
		}
	}
	return out
}
