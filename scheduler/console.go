package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// What the web console (指挥中心) reads and does: the schedules and their occurrences, and
// 活动 / 修改活动 from a form, through the chat's own create and modify.

// Form is an activity as a web form gives it: the parts of the chat's 活动 / 会议 … and
// 修改活动 N …, each in a field of its own.
type Form struct {
	Meeting bool   // 会议 (an agenda the day before), not 活动; creation only
	Rule    string // 每月第一个周五 15:00, 11月30日 14:00
	Title   string
	Place   string
	Scope   string // an org node (id or name), 全部, or "" for the actor's own jurisdiction
	Remind  string // 3天 1天 2小时 (or 72h 24h); "" for the rule's defaults
}

// FormOf is the form that shows sc as it is.
func FormOf(sc *Schedule) Form {
	f := Form{Rule: sc.Written, Title: sc.Title, Place: sc.Place, Remind: strings.Join(sc.Remind, " ")}
	if f.Rule == "" {
		f.Rule = sc.Rule
	}
	switch len(sc.Nodes) {
	case 0:
		f.Scope = "全部"
	case 1:
		f.Scope = sc.Nodes[0]
	default:
		f.Scope = strings.Join(sc.Nodes, " ")
	}
	return f
}

// command reads the form as the chat parser reads a message; errors are Chinese (EInvalid).
// Against old (a change), only what differs from it is changed.
func (f Form) command(old *Schedule) (ChatCommand, error) {
	cmd := ChatCommand{Verb: ChatCreate}
	was := Form{}
	if old != nil {
		cmd.Verb, cmd.Ref, was = ChatModify, old.ID, FormOf(old)
	}
	invalid := func(msg string) (ChatCommand, error) {
		return ChatCommand{}, community.Errorf(community.EInvalid, "%s", msg)
	}
	f.Rule, f.Title, f.Place = strings.TrimSpace(f.Rule), strings.TrimSpace(f.Title), strings.TrimSpace(f.Place)
	f.Scope, f.Remind = strings.TrimSpace(f.Scope), strings.TrimSpace(f.Remind)
	if f.Rule == "" && old == nil {
		return invalid("请填写时间，例如：每月第一个周五 15:00")
	}
	if f.Rule != "" && f.Rule != was.Rule && (old == nil || f.Rule != old.Rule) {
		r, err := ParseRule(f.Rule)
		if err != nil {
			return invalid(err.Error())
		}
		cmd.Rule, cmd.HasRule = r, true
	}
	if f.Title == "" && old == nil {
		return invalid("请填写名称，例如：主题党日")
	}
	if n := len([]rune(f.Title)); n > 60 {
		return invalid(fmt.Sprintf("名称太长了（%d字），请控制在60字以内。", n))
	}
	if n := len([]rune(f.Place)); n > 60 {
		return invalid(fmt.Sprintf("地点太长了（%d字），请控制在60字以内。", n))
	}
	if f.Title != was.Title {
		cmd.Title = f.Title
	}
	if f.Place != was.Place {
		cmd.Place = f.Place
	}
	if f.Scope != was.Scope {
		cmd.Scope = f.Scope
	}
	if f.Remind != "" && f.Remind != was.Remind {
		ds, msg := parseReminders(f.Remind)
		if msg != "" {
			return invalid(msg)
		}
		if old == nil || !slices.Equal(ds, old.Remind) {
			cmd.Remind = ds
		}
	}
	if old == nil {
		word := "活动"
		if f.Meeting {
			word = "会议"
		}
		cmd.Kind = kindOf(word, cmd.Title)
	}
	return cmd, nil
}

// Create is 活动 (or 会议) from a form, for actor exactly as in the chat: the same checks (a
// secretary; the scope within their jurisdiction; a one-off not in the past) and the same
// stored schedule. It returns the schedule, the answers the chat would give the actor, and
// any other messages, for the caller to enqueue.
func (s *Scheduler) Create(ctx context.Context, actor community.Person, f Form, now time.Time) (*Schedule, []string, []bot.Outbound, error) {
	cmd, err := f.command(nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var sc *Schedule
	replies, outs, err := bot.AsPrivate(actor, now, func(r *bot.Request) (err error) {
		sc, err = s.createSchedule(ctx, r, cmd)
		return err
	})
	return sc, replies, outs, err
}

// Change is 修改活动 N from a form, for actor exactly as in the chat: only a schedule created in
// chat, by the actor or one whose jurisdiction holds all of its reach; the groups of announced
// occurrences are told (in outs) as the chat tells them. A form that changes nothing is an error.
func (s *Scheduler) Change(ctx context.Context, actor community.Person, id string, f Form, now time.Time) (*Schedule, []string, []bot.Outbound, error) {
	var sc *Schedule
	replies, outs, err := bot.AsPrivate(actor, now, func(r *bot.Request) error {
		old, err := s.editable(ctx, r, id)
		if err != nil {
			return err
		}
		cmd, err := f.command(old)
		if err != nil {
			return err
		}
		if !cmd.HasRule && cmd.Title == "" && cmd.Place == "" && cmd.Scope == "" && cmd.Remind == nil {
			return community.Errorf(community.EInvalid, "没有要修改的内容。")
		}
		sc, err = s.modifySchedule(ctx, r, old, cmd)
		return err
	})
	return sc, replies, outs, err
}

// Schedules lists every schedule in the store, cancelled ones included.
func (s *Scheduler) Schedules(ctx context.Context) ([]*Schedule, error) { return s.listSchedules(ctx) }

// Schedule returns schedule id (ENotFound if there is none).
func (s *Scheduler) Schedule(ctx context.Context, id string) (*Schedule, error) {
	sc, err := s.getSchedule(ctx, id)
	if err != nil && community.ErrorCode(err) != community.ENotFound {
		return nil, store.ErrUnavailable(err)
	}
	return sc, err
}

// Occurrences lists the recorded occurrences of schedule id (announced, signed up for, or
// held), oldest first.
func (s *Scheduler) Occurrences(ctx context.Context, id string) ([]*Occurrence, error) {
	docs, err := s.st.ListDocs(ctx, CollOccurrences, id+"@")
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	out := make([]*Occurrence, 0, len(docs))
	for _, d := range docs {
		var o Occurrence
		if err := json.Unmarshal(d.Value, &o); err != nil {
			s.log.Error("undecodable occurrence", "id", d.ID, "err", err)
			continue
		}
		out = append(out, &o)
	}
	slices.SortFunc(out, func(a, b *Occurrence) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Occurrence returns occurrence id as recorded (nil if nothing is recorded for it yet).
func (s *Scheduler) Occurrence(ctx context.Context, id string) (*Occurrence, error) {
	return s.getOccurrence(ctx, id)
}

// Date is one coming date of a schedule.
type Date struct {
	At      time.Time
	Natural time.Time // the date the rule gives, when a holiday moved it (else At)
	Holiday string    // the holiday that moved it
	ID      string    // its occurrence's id
}

// Dates lists the next n dates of sc after after (fewer for a rule that ends).
func (s *Scheduler) Dates(sc *Schedule, after time.Time, n int) []Date {
	r, err := s.rule(sc.Rule)
	if err != nil {
		return nil
	}
	var out []Date
	for t := after.In(s.loc); len(out) < n; {
		at, natural := NextOccurrence(r, t, s.cal)
		if at.IsZero() {
			break
		}
		d := Date{At: at, Natural: natural, ID: OccurrenceID(sc.ID, at)}
		if !natural.Equal(at) {
			d.Holiday, _ = IsHoliday(s.cal, natural)
			d.Holiday = nonEmpty(d.Holiday, "节假日")
		}
		out = append(out, d)
		t = at
	}
	return out
}

// RuleText is sc's rule as people read it (每月第一个周五 15:00).
func (s *Scheduler) RuleText(sc *Schedule) string {
	r, err := s.rule(sc.Rule)
	if err != nil {
		return sc.Rule
	}
	return r.String()
}

// Reaches reports whether sc is announced in a group bound to node.
func (s *Scheduler) Reaches(sc *Schedule, node string) bool { return s.visibleTo(sc, node, false) }
