package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/store"
)

// Sign-in is open from signinOpens before the start until signinCloses after it.
const (
	signinOpens  = 30 * time.Minute
	signinCloses = 3 * time.Hour
	signinPoints = 2 // 积分 for attending
)

// Owner is the name the scheduler registers under on the bot.Mux.
const Owner = "scheduler"

// Register puts the scheduler's chat verbs and card actions on m.
func (s *Scheduler) Register(m *bot.Mux) error {
	for _, vs := range chatVerbs {
		shape := bot.ShapeNone
		if vs.verb == ChatCreate || vs.verb == ChatModify || vs.verb == ChatCancel {
			shape = bot.ShapeAny // the rule, or the number, may follow at once: 活动每月…, 取消活动3
		}
		var help []bot.HelpLine
		if vs.verb == ChatHelp {
			help = []bot.HelpLine{{Role: community.RoleResident, Text: "活动帮助 —— 主题党日、联席会议的报名、请假、签到和议题"}}
		}
		err := m.Handle(bot.Verb{Name: "scheduler." + string(vs.verb), Owner: Owner, Words: vs.words, Shape: shape, Help: help, Handler: s.onVerb})
		if err != nil {
			return err
		}
	}
	for _, a := range []string{ActionSignup, ActionLeave, ActionSignin} {
		if err := m.HandleAction(a, Owner, s.onAction); err != nil {
			return err
		}
	}
	// A bare "1" or "2" answers the question ask put about which activity was meant.
	return m.HandleGuess(Owner, func(ctx context.Context, r *bot.Request) (bool, error) {
		if n, ok := choiceNumber(r.Msg.Text); ok {
			return s.resume(ctx, r, n)
		}
		return false, nil
	})
}

// reqNow is the request's time in the community's zone: occurrence ids and dates are read there
// whatever clock the engine has.
func (s *Scheduler) reqNow(r *bot.Request) time.Time { return r.Now.In(s.loc) }

func (s *Scheduler) onAction(ctx context.Context, r *bot.Request) error {
	a := r.Msg.Action
	switch a.Name {
	case ActionSignup:
		return s.answer(ctx, r, a.Ref, "", StatusSignup, "")
	case ActionLeave:
		return s.answer(ctx, r, a.Ref, "", StatusLeave, "")
	}
	return s.signIn(ctx, r, a.Ref, "")
}

// onVerb answers the scheduler's chat commands; what ParseChat finds to be chat (活动室的灯坏了)
// goes back to the Mux.
func (s *Scheduler) onVerb(ctx context.Context, r *bot.Request) error {
	cmd := ParseChat(r.Command().Text)
	if cmd.Verb == ChatNone {
		return bot.ErrNotCommand
	}
	if cmd.Err != "" {
		r.Reply(cmd.Err)
		return nil
	}
	switch cmd.Verb {
	case ChatHelp:
		r.Reply(HelpText)
		return nil
	case ChatList:
		return s.list(ctx, r)
	case ChatCreate:
		return s.create(ctx, r, cmd)
	case ChatModify:
		return s.modify(ctx, r, cmd)
	case ChatCancel:
		return s.cancel(ctx, r, cmd.Ref)
	case ChatSignup:
		return s.answer(ctx, r, s.replyOccurrence(r), cmd.Ref, StatusSignup, "")
	case ChatLeave:
		return s.leave(ctx, r, cmd.Text)
	case ChatSignin:
		return s.signIn(ctx, r, s.replyOccurrence(r), cmd.Ref)
	case ChatAttendance:
		return s.attendance(ctx, r, "", cmd.Ref)
	case ChatAgenda:
		return s.agenda(ctx, r, cmd.Text)
	}
	return bot.ErrNotCommand
}

// replyOccurrence is the occurrence whose card the message replies to, "" if none.
func (s *Scheduler) replyOccurrence(r *bot.Request) string {
	return OccurrenceFromKey(r.Command().ReplyKey)
}

// visible lists the live schedules a request concerns: its group's, or in a private chat the
// sender's (including those of the groups below them).
func (s *Scheduler) visible(ctx context.Context, r *bot.Request) ([]*Schedule, error) {
	all, err := s.listSchedules(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Schedule
	for _, sc := range all {
		if sc.Cancelled {
			continue
		}
		if r.Group.ID != "" && s.visibleTo(sc, r.Group.Node, false) || r.Group.ID == "" && s.visibleTo(sc, r.Sender.Node, true) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// matchSchedules finds schedules by number (then by id: an older activity's number from
// before numbers were shared), or by title (exact, then partial).
func matchSchedules(scheds []*Schedule, ref string) []*Schedule {
	ref = strings.TrimPrefix(strings.TrimSpace(ref), "#")
	if ref == "" {
		return nil
	}
	for _, sc := range scheds {
		if sc.Number() == ref {
			return []*Schedule{sc}
		}
	}
	var exact, partial []*Schedule
	for _, sc := range scheds {
		switch {
		case sc.ID == ref:
			return []*Schedule{sc}
		case sc.Title == ref:
			exact = append(exact, sc)
		case strings.Contains(sc.Title, ref) || strings.Contains(ref, sc.Title):
			partial = append(partial, sc)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return partial
}

// purpose says which occurrence of a schedule a command means.
type purpose int

const (
	forAnswer     purpose = iota // 报名, 请假: the next one, once announced (or named)
	forSignin                    // 签到: the one whose sign-in is open
	forAttendance                // 出席: the latest started within a week, else the next announced
	forAgenda                    // 议题: the next meeting
)

type target struct {
	sc    *Schedule
	id    string
	start time.Time
}

// occurrenceOf is the occurrence of sc that p means at now; ok false when there is none.
func (s *Scheduler) occurrenceOf(sc *Schedule, p purpose, named bool, now time.Time) (target, bool) {
	r, err := s.rule(sc.Rule)
	if err != nil {
		return target{}, false
	}
	mk := func(at time.Time) (target, bool) {
		return target{sc: sc, id: OccurrenceID(sc.ID, at), start: at}, !at.IsZero()
	}
	next := Next(r, now, s.cal)
	announced := !next.IsZero() && !plan(sc, r, next)[0].Due.After(now)
	switch p {
	case forSignin:
		at := Next(r, now.Add(-signinCloses-time.Second), s.cal)
		if !at.IsZero() && !now.Before(at.Add(-signinOpens)) {
			return mk(at)
		}
		if named {
			return mk(at) // told when sign-in opens
		}
	case forAttendance:
		// The latest occurrence begun since the schedule was created (none before it), else
		// the one now taking sign-ups.
		from := now.Add(-attendanceLookback)
		if c := sc.CreatedAt.Add(-time.Nanosecond); c.After(from) {
			from = c
		}
		var last time.Time
		for at := Next(r, from, s.cal); !at.IsZero() && !at.After(now); at = Next(r, at, s.cal) {
			last = at
		}
		if !last.IsZero() {
			return mk(last)
		}
		if announced {
			return mk(next)
		}
	case forAnswer:
		if announced || named {
			return mk(next)
		}
	case forAgenda:
		if sc.Kind == config.ScheduleMeeting || named {
			return mk(next)
		}
	}
	return target{}, false
}

// pick resolves what a member means: the occurrence id of a tapped card or a replied-to card,
// else the schedule named by ref, else the only schedule that has an occurrence for p. With
// several it asks which one.
func (s *Scheduler) pick(ctx context.Context, r *bot.Request, occID, ref string, p purpose, cmd pendingCmd) (target, bool, error) {
	if occID != "" {
		sid, start, ok := SplitOccurrenceID(occID, s.loc)
		if !ok {
			return target{}, false, community.Errorf(community.EInvalid, "这个按钮已失效，请发送“活动列表”查看近期活动。")
		}
		sc, err := s.getSchedule(ctx, sid)
		if err != nil {
			if community.ErrorCode(err) == community.ENotFound {
				return target{}, false, community.Errorf(community.ENotFound, "这个活动已不存在。")
			}
			return target{}, false, store.ErrUnavailable(err)
		}
		return target{sc: sc, id: occID, start: start}, true, nil
	}
	scheds, err := s.visible(ctx, r)
	if err != nil {
		return target{}, false, err
	}
	named := ref != ""
	if named {
		scheds = matchSchedules(scheds, ref)
		if len(scheds) == 0 {
			r.Replyf("没有找到活动“%s”。发送“活动列表”查看近期活动。", ref)
			return target{}, false, nil
		}
	}
	var found []target
	for _, sc := range scheds {
		if t, ok := s.occurrenceOf(sc, p, named, s.reqNow(r)); ok {
			found = append(found, t)
		}
	}
	// A daily stand-up does not crowd out the monthly activity someone means.
	if len(found) > 1 && !named {
		var rare []target
		for _, t := range found {
			if rr, err := s.rule(t.sc.Rule); err == nil && rr.Freq != Daily && rr.Freq != Workdays {
				rare = append(rare, t)
			}
		}
		if len(rare) > 0 {
			found = rare
		}
	}
	// Titles may repeat (every community has its 主题党日): a name picks the nearest of its
	// activities, and asks which when two are about as near.
	if named && len(found) > 1 {
		nearest(found, r.Now)
		if found[1].start.Sub(found[0].start).Abs() >= ambiguousWithin {
			found = found[:1]
		} else {
			return target{}, false, s.ask(ctx, r, p, cmd, found)
		}
	}
	switch len(found) {
	case 0:
		if p == forAttendance && named && len(scheds) == 1 {
			sc := scheds[0]
			msg := fmt.Sprintf("%s（编号 %s）还没有举行过", sc.Title, sc.ID)
			if rr, err := s.rule(sc.Rule); err == nil {
				if next := Next(rr, r.Now, s.cal); !next.IsZero() {
					msg += "，下次：" + community.FormatDate(next, r.Now)
				}
			}
			r.Reply(msg + "。")
			return target{}, false, nil
		}
		switch p {
		case forSignin:
			r.Reply("现在没有可以签到的活动（签到时间为活动开始前30分钟至开始后3小时）。")
		case forAgenda:
			r.Reply("近期没有需要提交议题的会议。")
		default:
			r.Reply("近期没有可以报名的活动。发送“活动列表”查看安排。")
		}
		return target{}, false, nil
	case 1:
		return found[0], true, nil
	}
	slices.SortFunc(found, func(a, b target) int { return a.start.Compare(b.start) })
	var b strings.Builder
	b.WriteString("近期有几项活动，请写上是哪一项，例如：")
	verb := map[purpose]string{forAnswer: "报名", forSignin: "签到", forAttendance: "出席", forAgenda: "议题"}[p]
	fmt.Fprintf(&b, "%s %s", verb, found[0].sc.Title)
	for _, t := range found {
		fmt.Fprintf(&b, "\n· %s（编号 %s）%s", t.sc.Title, t.sc.Number(), community.FormatDate(t.start, s.reqNow(r)))
	}
	r.Reply(b.String())
	return target{}, false, nil
}

var errDuplicate = errors.New("already recorded")

// answer records a sign-up or a leave.
func (s *Scheduler) answer(ctx context.Context, r *bot.Request, occID, ref, status, reason string) error {
	t, ok, err := s.pick(ctx, r, occID, ref, forAnswer, pendingCmd{Status: status, Text: reason})
	if err != nil || !ok {
		return err
	}
	if !s.reqNow(r).Before(t.start) {
		if status == StatusSignup {
			r.Replyf("%s 已经开始了，到场后请发送“签到”。", t.sc.Title)
		} else {
			r.Replyf("%s 已经开始了，无需再请假。", t.sc.Title)
		}
		return nil
	}
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n > 200 {
		return community.Errorf(community.EInvalid, "请假原因太长了（%d字），请控制在200字以内。", n)
	}
	uid := r.Sender.ID
	occ, err := s.updateOccurrence(ctx, t.id, func(o *Occurrence) error {
		if o.Cancelled {
			return community.Errorf(community.EConflict, "%s（%s）已取消。", t.sc.Title, community.FormatDate(t.start, s.reqNow(r)))
		}
		p := o.People[uid]
		if p != nil && p.Status == status && (status == StatusSignup || p.Reason == reason) {
			return errDuplicate
		}
		if p == nil {
			p = &Attendance{}
			o.People[uid] = p
		}
		p.Name, p.Status, p.Reason, p.At = r.Sender.Name, status, reason, s.reqNow(r)
		return nil
	})
	when := community.FormatDate(t.start, s.reqNow(r))
	switch {
	case errors.Is(err, errDuplicate):
		if status == StatusSignup {
			r.Replyf("您已经报名了%s（%s），到场后请发送“签到”。", t.sc.Title, when)
		} else {
			r.Replyf("您已经请过假了（%s %s）。", t.sc.Title, when)
		}
		return nil
	case err != nil:
		return err
	}
	signed := 0
	for _, p := range occ.People {
		if p.Status == StatusSignup {
			signed++
		}
	}
	if status == StatusSignup {
		r.Replyf("✅ %s 已报名%s（%s%s），目前已报名%d人。到场后请发送“签到”。", r.Sender.Name, t.sc.Title, when, placeComma(t.sc.Place), signed)
		return nil
	}
	if reason == "" {
		r.Replyf("📝 %s 已请假：%s（%s）。如需说明原因，请发送：请假 原因", r.Sender.Name, t.sc.Title, when)
		return nil
	}
	r.Replyf("📝 %s 已请假：%s（%s），原因：%s。", r.Sender.Name, t.sc.Title, when, community.Mask(reason))
	return nil
}

// leave is "请假 [活动] [原因]": the first word names the activity when it matches one.
func (s *Scheduler) leave(ctx context.Context, r *bot.Request, text string) error {
	ref, reason := "", text
	if first, rest, _ := strings.Cut(text, " "); first != "" {
		scheds, err := s.visible(ctx, r)
		if err != nil {
			return err
		}
		if len(matchSchedules(scheds, first)) > 0 {
			ref, reason = first, rest
		}
	}
	return s.answer(ctx, r, s.replyOccurrence(r), ref, StatusLeave, reason)
}

func (s *Scheduler) signIn(ctx context.Context, r *bot.Request, occID, ref string) error {
	t, ok, err := s.pick(ctx, r, occID, ref, forSignin, pendingCmd{})
	if err != nil || !ok {
		return err
	}
	if s.reqNow(r).Before(t.start.Add(-signinOpens)) || s.reqNow(r).After(t.start.Add(signinCloses)) {
		r.Replyf("%s（%s）的签到时间为开始前30分钟至开始后3小时。", t.sc.Title, community.FormatDate(t.start, s.reqNow(r)))
		return nil
	}
	uid := r.Sender.ID
	_, err = s.updateOccurrence(ctx, t.id, func(o *Occurrence) error {
		if o.Cancelled {
			return community.Errorf(community.EConflict, "%s 已取消。", t.sc.Title)
		}
		p := o.People[uid]
		if p != nil && !p.SignedIn.IsZero() {
			return errDuplicate
		}
		if p == nil {
			p = &Attendance{Name: r.Sender.Name, At: s.reqNow(r)}
			o.People[uid] = p
		}
		p.SignedIn = s.reqNow(r)
		return nil
	})
	if errors.Is(err, errDuplicate) {
		r.Replyf("您已经签到过了（%s）。", t.sc.Title)
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.st.UpdatePerson(ctx, uid, func(p *community.Person) error {
		if p.Name == "" {
			p.Name = r.Sender.Name
		}
		p.Points += signinPoints
		return nil
	})
	if err != nil {
		s.log.Warn("attendance points not awarded", "person", uid, "err", err)
	}
	r.Replyf("✅ %s 签到成功：%s，积分+%d。", r.Sender.Name, t.sc.Title, signinPoints)
	return nil
}

// attendance shows a secretary who signed up, who excused themselves and who came.
func (s *Scheduler) attendance(ctx context.Context, r *bot.Request, occID, ref string) error {
	if !r.Sender.Role.AtLeast(community.RoleGridWorker) {
		return community.Errorf(community.EForbidden, "只有书记和网格员可以查看出席情况。")
	}
	t, ok, err := s.pick(ctx, r, occID, ref, forAttendance, pendingCmd{})
	if err != nil || !ok {
		return err
	}
	occ, err := s.getOccurrence(ctx, t.id)
	if err != nil {
		return err
	}
	if occ == nil {
		occ = &Occurrence{ID: t.id, Start: t.start}
	}
	// It names who signed up and did not come: for the secretary's eyes only.
	r.ReplyPrivately(AttendanceText(t.sc, occ, s.reqNow(r)))
	return nil
}

// AttendanceText lists an occurrence's sign-ups, leaves and sign-ins.
func AttendanceText(sc *Schedule, occ *Occurrence, now time.Time) string {
	type entry struct {
		id string
		a  *Attendance
	}
	var people []entry
	for id, a := range occ.People {
		people = append(people, entry{id, a})
	}
	slices.SortFunc(people, func(x, y entry) int {
		if c := x.a.At.Compare(y.a.At); c != 0 {
			return c
		}
		return strings.Compare(x.id, y.id)
	})
	var signed, leave, came, absent []string
	for _, e := range people {
		a := e.a
		switch a.Status {
		case StatusSignup:
			signed = append(signed, a.Name)
			if a.SignedIn.IsZero() {
				absent = append(absent, a.Name)
			}
		case StatusLeave:
			l := a.Name
			if a.Reason != "" {
				l += "（" + community.Mask(a.Reason) + "）"
			}
			leave = append(leave, l)
		}
		if !a.SignedIn.IsZero() {
			came = append(came, a.Name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "📋 %s %s", sc.Title, community.FormatDate(occ.Start, now))
	if occ.Cancelled {
		b.WriteString("（已取消）")
	}
	line := func(label string, names []string) {
		fmt.Fprintf(&b, "\n%s %d人", label, len(names))
		if len(names) > 0 {
			b.WriteString("：" + strings.Join(names, "、"))
		}
	}
	line("报名", signed)
	line("请假", leave)
	line("签到", came)
	if !now.Before(occ.Start) {
		line("报名未到", absent)
	}
	return b.String()
}

// agenda adds a 议题 to the next meeting.
func (s *Scheduler) agenda(ctx context.Context, r *bot.Request, text string) error {
	return s.agendaFor(ctx, r, "", text)
}

// agendaFor adds a 议题 to occurrence occID, or when "" to the meeting text names or the next.
func (s *Scheduler) agendaFor(ctx context.Context, r *bot.Request, occID, text string) error {
	ref := ""
	if first, rest, ok := strings.Cut(text, " "); occID == "" && ok && rest != "" {
		scheds, err := s.visible(ctx, r)
		if err != nil {
			return err
		}
		if len(matchSchedules(scheds, first)) > 0 {
			ref, text = first, strings.TrimSpace(rest)
		}
	}
	if n := len([]rune(text)); n > 300 {
		return community.Errorf(community.EInvalid, "议题太长了（%d字），请控制在300字以内。", n)
	}
	t, ok, err := s.pick(ctx, r, occID, ref, forAgenda, pendingCmd{Text: text})
	if err != nil || !ok {
		return err
	}
	var n int
	var posted bool
	_, err = s.updateOccurrence(ctx, t.id, func(o *Occurrence) error {
		if o.Cancelled {
			return community.Errorf(community.EConflict, "%s 已取消。", t.sc.Title)
		}
		o.Agenda = append(o.Agenda, AgendaItem{By: r.Sender.ID, Name: r.Sender.Name, Text: text, At: s.reqNow(r)})
		n, posted = len(o.Agenda), o.Steps[StepAgenda].Done()
		return nil
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("📝 已收到议题（第%d项）：%s\n将列入%s（%s）的议程。", n, community.Mask(text), t.sc.Title, community.FormatDate(t.start, s.reqNow(r)))
	if posted {
		msg += "议程已经发布，本议题将在会上补充。"
	}
	r.Reply(msg)
	return nil
}

// list shows the schedules of this group (or person) and their next dates.
func (s *Scheduler) list(ctx context.Context, r *bot.Request) error {
	scheds, err := s.visible(ctx, r)
	if err != nil {
		return err
	}
	type row struct {
		at   time.Time
		line string
	}
	var rows []row
	for _, sc := range scheds {
		rr, err := s.rule(sc.Rule)
		if err != nil {
			continue
		}
		at, natural := NextOccurrence(rr, s.reqNow(r), s.cal)
		if at.IsZero() {
			continue
		}
		line := fmt.Sprintf("· %s（编号 %s）%s\n  下次：%s", sc.Title, sc.Number(), rr, community.FormatDate(at, s.reqNow(r)))
		if !natural.Equal(at) {
			name, _ := IsHoliday(s.cal, natural)
			line += fmt.Sprintf("（原定%d月%d日，逢%s顺延）", natural.Month(), natural.Day(), nonEmpty(name, "节假日"))
		}
		if sc.Place != "" {
			line += "，" + sc.Place
		}
		rows = append(rows, row{at, line})
	}
	if len(rows) == 0 {
		r.Reply("近期没有安排活动。书记可以发送：" + exampleCreate)
		return nil
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.at.Compare(b.at) })
	lines := make([]string, len(rows))
	for i, rw := range rows {
		lines[i] = rw.line
	}
	r.Reply("📅 活动安排：\n" + strings.Join(lines, "\n"))
	return nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Scheduler) requireSecretary(r *bot.Request) error {
	if !r.Sender.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以安排活动和会议。")
	}
	return nil
}

// scope turns 范围 into org nodes: 全部 is every group, a name is that node; by default the
// secretary's own jurisdiction, else this group's node.
//
// The authority rule bounds it: 全部 is all of the sender's jurisdiction (every group only for
// those whose jurisdiction is the whole tree), and a named node must lie within it.
func (s *Scheduler) scope(r *bot.Request, scope string) ([]string, error) {
	auth, me := community.NewAuthority(s.tree), community.ActorOf(r.Sender)
	mine, all := auth.Scope(me)
	switch scope {
	case "全部", "所有", "全部群", "所有群":
		if all {
			return nil, nil
		}
		return []string{mine}, nil
	case "":
		switch {
		case r.Sender.Node != "":
			return []string{r.Sender.Node}, nil
		case r.Group.Node != "" && auth.Covers(me, r.Group.Node):
			return []string{r.Group.Node}, nil
		case all:
			return nil, nil
		}
		return []string{mine}, nil
	}
	if s.tree == nil {
		return nil, community.Errorf(community.EInvalid, "还没有配置组织架构，范围只能是“全部”。")
	}
	n, ok := s.tree.Find(scope)
	if !ok {
		return nil, community.Errorf(community.ENotFound, "没有找到范围“%s”，可以写社区或网格的名称，或“全部”。", scope)
	}
	if err := auth.CheckPlace(me, n.ID); err != nil {
		return nil, err
	}
	return []string{n.ID}, nil
}

func (s *Scheduler) scopeName(nodes []string) string {
	if len(nodes) == 0 {
		return "全部群"
	}
	names := make([]string, len(nodes))
	for i, id := range nodes {
		names[i] = id
		if s.tree != nil {
			if n, ok := s.tree.Node(id); ok {
				names[i] = n.Name
			}
		}
	}
	return strings.Join(names, "、")
}

var errExists = errors.New("schedule id taken")

func (s *Scheduler) create(ctx context.Context, r *bot.Request, cmd ChatCommand) error {
	_, err := s.createSchedule(ctx, r, cmd)
	return err
}

// createSchedule is 活动 / 会议 …: it stores the new schedule, answers r, and returns it.
func (s *Scheduler) createSchedule(ctx context.Context, r *bot.Request, cmd ChatCommand) (*Schedule, error) {
	if err := s.requireSecretary(r); err != nil {
		return nil, err
	}
	ruleText, err := resolveOnce(cmd.Rule, s.reqNow(r))
	if err != nil {
		return nil, err
	}
	nodes, err := s.scope(r, cmd.Scope)
	if err != nil {
		return nil, err
	}
	sc := Schedule{
		Kind: cmd.Kind, Rule: ruleText, Written: cmd.Rule.String(), Title: cmd.Title, Place: cmd.Place,
		Nodes: nodes, Remind: cmd.Remind, Source: SourceChat, CreatedBy: r.Sender.ID,
		CreatedByName: r.Sender.Name, CreatedAt: s.reqNow(r), UpdatedAt: s.reqNow(r), Rev: 1,
	}
	for try := 0; ; try++ {
		if try == 20 {
			return nil, errors.New("no free schedule number")
		}
		no, err := s.st.TakeNumber(ctx, store.KindActivity, "")
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		sc.ID, sc.No = strconv.FormatInt(no, 10), no
		raw, err := json.Marshal(sc)
		if err != nil {
			return nil, err
		}
		_, err = s.st.UpdateDoc(ctx, CollSchedules, sc.ID, func(old []byte) ([]byte, error) {
			if old != nil {
				return nil, errExists // a configured schedule took this id
			}
			return raw, nil
		})
		if errors.Is(err, errExists) {
			continue
		}
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		break
	}
	s.log.Info("schedule created in chat", "schedule", sc.ID, "by", r.Sender.ID, "rule", sc.Rule)
	r.Reply("✅ 已创建" + s.describe(&sc, s.reqNow(r)) +
		fmt.Sprintf("\n修改：修改活动 %s 地点 …；取消：取消活动 %s", sc.Number(), sc.Number()))
	return &sc, nil
}

// describe summarises a schedule for its creator: what, when, next date, where, to whom, and
// when the bot will announce and remind it.
func (s *Scheduler) describe(sc *Schedule, now time.Time) string {
	rr, _ := s.rule(sc.Rule)
	kind := "活动"
	if sc.Kind == config.ScheduleMeeting {
		kind = "会议"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s（编号 %s）：%s\n时间：%s", kind, sc.Number(), sc.Title, rr)
	at, natural := NextOccurrence(rr, now, s.cal)
	if !at.IsZero() && rr.Recurring() {
		fmt.Fprintf(&b, "\n下次：%s", community.FormatDate(at, now))
	}
	if !at.IsZero() && !natural.Equal(at) {
		name, _ := IsHoliday(s.cal, natural)
		fmt.Fprintf(&b, "（原定%d月%d日，逢%s顺延）", natural.Month(), natural.Day(), nonEmpty(name, "节假日"))
	}
	if sc.Place != "" {
		fmt.Fprintf(&b, "\n地点：%s", sc.Place)
	}
	fmt.Fprintf(&b, "\n通知：%s", s.scopeName(sc.Nodes))
	steps := plan(sc, rr, at)
	var before []string
	for _, st := range steps {
		if st.Before > 0 {
			before = append(before, durationZh(st.Before))
		}
	}
	fmt.Fprintf(&b, "\n提前%s发布通知（可报名、请假）", durationZh(at.Sub(steps[0].Due)))
	if len(before) > 0 {
		fmt.Fprintf(&b, "，开始前%s提醒", strings.Join(before, "、"))
	}
	if sc.Kind == config.ScheduleMeeting {
		b.WriteString("，会前一天发布议程")
	}
	b.WriteString("。遇法定节假日顺延到下一个工作日。")
	return b.String()
}

// editable loads a schedule a secretary may change in chat.
func (s *Scheduler) editable(ctx context.Context, r *bot.Request, ref string) (*Schedule, error) {
	if err := s.requireSecretary(r); err != nil {
		return nil, err
	}
	ref = strings.TrimPrefix(ref, "#")
	sc, err := s.byRef(ctx, ref)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return nil, community.Errorf(community.ENotFound, "没有编号为 %s 的活动。发送“活动列表”查看编号。", ref)
		}
		return nil, store.ErrUnavailable(err)
	}
	if sc.Cancelled {
		return nil, community.Errorf(community.EConflict, "%s（编号 %s）已经取消了。", sc.Title, sc.Number())
	}
	if sc.Source == SourceConfig {
		return nil, community.Errorf(community.EForbidden, "%s（编号 %s）由配置文件设定，请联系管理员修改配置。", sc.Title, sc.Number())
	}
	// Another secretary's activity may be changed only by one whose jurisdiction holds all of
	// its reach (every group, for an activity sent to all).
	if sc.CreatedBy != r.Sender.ID {
		auth, me := community.NewAuthority(s.tree), community.ActorOf(r.Sender)
		if _, all := auth.Scope(me); !all {
			if len(sc.Nodes) == 0 {
				return nil, community.Errorf(community.EForbidden, "%s（编号 %s）发往全部群，只能由发起人或上级书记修改。", sc.Title, sc.Number())
			}
			for _, n := range sc.Nodes {
				if err := auth.CheckPlace(me, n); err != nil {
					return nil, err
				}
			}
		}
	}
	return sc, nil
}

func (s *Scheduler) modify(ctx context.Context, r *bot.Request, cmd ChatCommand) error {
	old, err := s.editable(ctx, r, cmd.Ref)
	if err != nil {
		return err
	}
	_, err = s.modifySchedule(ctx, r, old, cmd)
	return err
}

// modifySchedule is 修改活动 N … of old (editable by r's sender): it stores the change, tells
// the groups of announced occurrences, answers r, and returns the schedule as changed.
func (s *Scheduler) modifySchedule(ctx context.Context, r *bot.Request, old *Schedule, cmd ChatCommand) (*Schedule, error) {
	var err error
	next := *old
	if cmd.HasRule {
		if next.Rule, err = resolveOnce(cmd.Rule, s.reqNow(r)); err != nil {
			return nil, err
		}
		next.Written = cmd.Rule.String()
	}
	if cmd.Title != "" {
		next.Title = cmd.Title
		if next.Kind != config.ScheduleMeeting {
			next.Kind = kindOf("活动", cmd.Title)
		}
	}
	if cmd.Place != "" {
		next.Place = cmd.Place
	}
	if cmd.Scope != "" {
		if next.Nodes, err = s.scope(r, cmd.Scope); err != nil {
			return nil, err
		}
	}
	if cmd.Remind != nil {
		next.Remind = cmd.Remind
	}
	next.Rev, next.UpdatedAt = old.Rev+1, s.reqNow(r)
	raw, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	_, err = s.st.UpdateDoc(ctx, CollSchedules, old.ID, func(cur []byte) ([]byte, error) {
		var c Schedule
		if cur == nil || json.Unmarshal(cur, &c) != nil || c.Rev != old.Rev {
			return nil, community.Errorf(community.EConflict, "活动刚被别人修改过，请重新发送。")
		}
		return raw, nil
	})
	if err != nil {
		return nil, err
	}
	s.tellAnnounced(ctx, r, old, &next)
	r.Reply("✅ 已修改" + s.describe(&next, s.reqNow(r)))
	return &next, nil
}

func (s *Scheduler) cancel(ctx context.Context, r *bot.Request, ref string) error {
	old, err := s.editable(ctx, r, ref)
	if err != nil {
		return err
	}
	_, err = s.st.UpdateDoc(ctx, CollSchedules, old.ID, func(cur []byte) ([]byte, error) {
		var c Schedule
		if cur == nil {
			return nil, community.Errorf(community.ENotFound, "活动已不存在。")
		}
		if err := json.Unmarshal(cur, &c); err != nil {
			return nil, err
		}
		c.Cancelled, c.UpdatedAt, c.Rev = true, s.reqNow(r), c.Rev+1
		return json.Marshal(c)
	})
	if err != nil {
		return err
	}
	s.tellAnnounced(ctx, r, old, nil)
	r.Replyf("✅ 已取消%s（编号 %s），不再发布和提醒。", old.Title, old.Number())
	return nil
}

// tellAnnounced deals with the upcoming occurrences of old that a change (next; nil for a
// cancel) affects. One whose date stays gets its card updated. One that moves or is cancelled
// is cancelled, with a notice in its groups if it was announced; when it moves, its sign-ups
// and 议题 go with it to the new rule's matching occurrence (announced in its own time).
func (s *Scheduler) tellAnnounced(ctx context.Context, r *bot.Request, old, next *Schedule) {
	oldRule, err := s.rule(old.Rule)
	if err != nil {
		return
	}
	var newRule Rule
	var newAt time.Time
	if next != nil {
		if newRule, err = s.rule(next.Rule); err != nil {
			return
		}
		newAt = Next(newRule, s.reqNow(r), s.cal)
	}
	for at, i := Next(oldRule, s.reqNow(r), s.cal), 0; !at.IsZero() && i < 3; at, i = Next(oldRule, at, s.cal), i+1 {
		if i > 0 && next != nil {
			newAt = Next(newRule, newAt, s.cal)
		}
		id := OccurrenceID(old.ID, at)
		occ, err := s.getOccurrence(ctx, id)
		if err != nil || occ == nil || occ.Cancelled {
			continue
		}
		announced := occ.Steps[StepAnnounce].Done()
		kept := next != nil && newAt.Equal(at)
		when := community.FormatDate(at, s.reqNow(r))
		var text string
		var card bot.Card
		switch {
		case kept:
			card = OccurrenceCard(next, occ, s.reqNow(r))
			text = fmt.Sprintf("📢 %s（%s）信息有更新%s。", next.Title, when, placeSuffix(next.Place))
		case next != nil:
			card = CancelledCard(old, occ, s.reqNow(r), "已改期")
			text = fmt.Sprintf("⚠️ 时间调整：%s原定%s", old.Title, when)
			if !newAt.IsZero() {
				text += "，改为" + community.FormatDate(newAt, s.reqNow(r))
			}
			text += "。已报名的无需重新报名，新的通知稍后发布。"
		default:
			card = CancelledCard(old, occ, s.reqNow(r), "已取消")
			text = fmt.Sprintf("❌ %s（%s）取消，请相互转告。", old.Title, when)
		}
		if !kept {
			if _, err := s.updateOccurrence(ctx, id, func(o *Occurrence) error { o.Cancelled = true; return nil }); err != nil {
				s.log.Warn("occurrence not cancelled", "occurrence", id, "err", err)
				continue
			}
			if next != nil && !newAt.IsZero() && (len(occ.People) > 0 || len(occ.Agenda) > 0) {
				s.carry(ctx, occ, OccurrenceID(next.ID, newAt))
			}
		}
		if !announced {
			continue
		}
		for _, g := range occ.Groups {
			plat, chat := community.SplitID(g)
			r.Send(bot.Outbound{Platform: plat, ChatID: chat, Card: &card, Update: true})
			r.Send(bot.Outbound{Platform: plat, ChatID: chat, Text: text})
		}
	}
}

// carry moves the sign-ups, leaves and 议题 of a moved occurrence to its new date.
func (s *Scheduler) carry(ctx context.Context, from *Occurrence, to string) {
	_, err := s.updateOccurrence(ctx, to, func(o *Occurrence) error {
		for uid, a := range from.People {
			if _, ok := o.People[uid]; !ok {
				c := *a
				c.SignedIn = time.Time{}
				o.People[uid] = &c
			}
		}
		o.Agenda = append(o.Agenda, from.Agenda...)
		return nil
	})
	if err != nil {
		s.log.Warn("sign-ups not carried to the new date", "from", from.ID, "to", to, "err", err)
	}
}
