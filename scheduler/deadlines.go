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
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/store"
)

// Item steps, recorded on the item (Item.Reminded) so each happens once. Deadline steps carry
// community.DeadlineStepPrefix, so a new deadline (改期) runs them again.
const (
	StepDeadlineRemind = community.DeadlineStepPrefix + "remind"
	StepOverdue        = community.DeadlineStepPrefix + "overdue"
	StepEscalate1      = community.DeadlineStepPrefix + "escalate1" // to the community secretary
	StepEscalate2      = community.DeadlineStepPrefix + "escalate2" // to the street
	StepReannounce     = "reannounce"
	StepAutoClose      = "autoclose"
)

// skippedNote marks a reminder recorded without being sent: it fell due while no scheduler
// ran and its deadline had passed when one came back.
const skippedNote = "错过提醒时间（系统未运行），未发送"

// repairWindow is how long after a claimed item step the scheduler checks that its messages
// reached the outbox.
const repairWindow = 6 * time.Hour

// ItemStep is one rung of an item's deadline ladder.
type ItemStep struct {
	Key    string
	Action community.Action
	Level  int       // escalations: 1 community, 2 street
	Due    time.Time // when it fires
	Useful bool      // false: record it as skipped and send nothing
}

// ItemSteps is the ladder of it as of now: every step its state calls for, due or not, in
// the order they fall due. It is pure.
//
//   - a reminder RemindBefore the deadline, in working hours (8:00–20:00; outside, at the
//     next 8:00), useful only while the deadline is ahead;
//   - 挂牌 at the deadline;
//   - 督办 to the community after EscalateCommunityDays working days and to the street after
//     EscalateStreetDays, in working hours on a working day;
//   - an open item nobody claimed is announced again ReannounceAfter it was posted;
//   - a done item its resident never confirmed closes AutoCloseAfter it was done.
func (s *Scheduler) ItemSteps(it *community.Item, now time.Time) []ItemStep {
	p := s.policy
	var out []ItemStep
	inHand := it.State == community.StateNeed || it.State == community.StateOpen ||
		it.State == community.StateClaimed || it.State == community.StateFollowUp
	if !it.Deadline.IsZero() && inHand {
		dl := it.Deadline.In(s.loc)
		if (it.State == community.StateOpen || it.State == community.StateClaimed) && p.RemindBefore > 0 {
			due := s.workHours(dl.Add(-p.RemindBefore.Duration()), false)
			out = append(out, ItemStep{Key: StepDeadlineRemind, Action: community.ActRemind, Due: due, Useful: now.Before(dl) && due.Before(dl)})
		}
		out = append(out, ItemStep{Key: StepOverdue, Action: community.ActOverdue, Due: dl, Useful: true})
		if n := p.EscalateCommunityDays; n > 0 {
			out = append(out, ItemStep{Key: StepEscalate1, Action: community.ActEscalate, Level: 1,
				Due: s.workHours(AddWorkdays(s.cal, dl, n), true), Useful: true})
		}
		if n := p.EscalateStreetDays; n > 0 {
			out = append(out, ItemStep{Key: StepEscalate2, Action: community.ActEscalate, Level: 2,
				Due: s.workHours(AddWorkdays(s.cal, dl, n), true), Useful: true})
		}
	}
	if it.State == community.StateOpen && len(it.Claims) == 0 && p.ReannounceAfter > 0 {
		out = append(out, ItemStep{Key: StepReannounce, Action: community.ActReannounce,
			Due: s.workHours(openedAt(it).In(s.loc).Add(p.ReannounceAfter.Duration()), false), Useful: true})
	}
	if it.State == community.StateDone && p.AutoCloseAfter > 0 && !it.DoneAt.IsZero() {
		out = append(out, ItemStep{Key: StepAutoClose, Action: community.ActAutoClose,
			Due: s.workHours(it.DoneAt.In(s.loc).Add(p.AutoCloseAfter.Duration()), false), Useful: true})
	}
	return out
}

// openedAt is when the item last became open for claiming.
func openedAt(it *community.Item) time.Time {
	for i := len(it.History) - 1; i >= 0; i-- {
		switch it.History[i].Action {
		case community.ActPost, community.ActDispatch, community.ActRelease, community.ActReannounce:
			return it.History[i].At
		}
	}
	return it.CreatedAt
}

// workHours moves t into working hours: before the start of the day to its start, after its
// end to the next day's start; with workday, also off weekends and holidays.
func (s *Scheduler) workHours(t time.Time, workday bool) time.Time {
	t = t.In(s.loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.loc)
	switch tod := t.Sub(day); {
	case tod < s.dayStart:
		t = day.Add(s.dayStart)
	case tod > s.dayEnd:
		t = day.AddDate(0, 0, 1).Add(s.dayStart)
	}
	if workday && !IsWorkday(s.cal, t) {
		d := NextWorkday(s.cal, t)
		t = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, s.loc).Add(s.dayStart)
	}
	return t
}

func (s *Scheduler) tickItems(ctx context.Context, now time.Time) (time.Time, error) {
	items, err := s.st.ListItems(ctx, store.ItemFilter{Open: true})
	if err != nil {
		return time.Time{}, store.ErrUnavailable(err)
	}
	var next time.Time
	var errs []error
	for _, it := range items {
		for _, st := range s.ItemSteps(it, now) {
			if it.HasStep(st.Key) {
				continue
			}
			if st.Due.After(now) {
				next = earliest(next, st.Due)
				continue
			}
			if err := s.fireItem(ctx, it.No, st.Key, now); err != nil {
				errs = append(errs, fmt.Errorf("item %d %s: %w", it.No, st.Key, err))
			}
		}
		if err := s.repairItem(ctx, it, now); err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", it.No, err))
		}
	}
	return next, errors.Join(errs...)
}

// fireItem claims step key on item no by recording it (UpdateItem is atomic across
// replicas, and Apply refuses a step already recorded), then enqueues its messages.
func (s *Scheduler) fireItem(ctx context.Context, no int64, key string, now time.Time) error {
	var st ItemStep
	it, err := s.st.UpdateItem(ctx, no, func(it *community.Item) error {
		found := false
		for _, c := range s.ItemSteps(it, now) {
			if c.Key == key {
				st, found = c, true
			}
		}
		if !found || st.Due.After(now) || it.HasStep(key) {
			return errNotMine // the item moved on (claimed, done, rescheduled) or another replica fired
		}
		note := stepNote(it, st, s.policy)
		if !st.Useful {
			note = skippedNote
		}
		return it.Apply(community.Change{Action: st.Action, Actor: community.SystemActor, At: now, Step: key, Level: st.Level, Note: note})
	})
	switch code := community.ErrorCode(err); {
	case err == nil:
	case errors.Is(err, errNotMine), code == community.EDuplicate, code == community.EConflict:
		return nil
	default:
		return err
	}
	outs, err := s.itemMessages(ctx, it, key, now)
	if err != nil {
		return err
	}
	if err := s.deliverItem(ctx, it, key, outs, now); err != nil {
		return err
	}
	log := s.log.With("item", it.No, "step", key, "messages", len(outs))
	switch {
	case !st.Useful:
		log.Info("item step skipped: its time passed while no scheduler ran", "due", st.Due)
		s.stepDone("item", "skipped")
	case now.Sub(st.Due) > 5*time.Minute:
		log.Info("item step caught up", "due", st.Due, "late", now.Sub(st.Due).Round(time.Minute))
		s.stepDone("item", "caught_up")
	default:
		log.Info("item step fired")
		s.stepDone("item", "fired")
	}
	return nil
}

// sentKey names one firing of an item step: deadline steps fire again after 改期.
func sentKey(it *community.Item, key string) string {
	if strings.HasPrefix(key, community.DeadlineStepPrefix) {
		return fmt.Sprintf("item:%d/%s/%d", it.No, key, it.Deadline.Unix())
	}
	return fmt.Sprintf("item:%d/%s", it.No, key)
}

func (s *Scheduler) deliverItem(ctx context.Context, it *community.Item, key string, outs []bot.Outbound, now time.Time) error {
	if err := s.enqueue(ctx, outs, now); err != nil {
		return err
	}
	stamp, _ := now.MarshalText()
	return s.st.PutDoc(ctx, CollSent, sentKey(it, key), stamp)
}

// repairItem re-enqueues the messages of a step recorded on the item a while ago whose
// messages never reached the outbox: its replica died between the claim and the enqueue.
// The outbox ids are the same, so a message that did get there is not sent twice.
func (s *Scheduler) repairItem(ctx context.Context, it *community.Item, now time.Time) error {
	for _, key := range it.Reminded {
		at := stepTime(it, key)
		if age := now.Sub(at); at.IsZero() || age < claimLease || age > repairWindow {
			continue
		}
		_, err := s.st.GetDoc(ctx, CollSent, sentKey(it, key))
		if err == nil {
			continue
		}
		if community.ErrorCode(err) != community.ENotFound {
			return store.ErrUnavailable(err)
		}
		s.log.Warn("item step recorded but its messages never enqueued; sending them now", "item", it.No, "step", key, "recorded", at)
		outs, err := s.itemMessages(ctx, it, key, now)
		if err != nil {
			return err
		}
		if err := s.deliverItem(ctx, it, key, outs, now); err != nil {
			return err
		}
	}
	return nil
}

// stepTime is when step key was recorded: the last system event of its action.
func stepTime(it *community.Item, key string) time.Time {
	a := stepAction(key)
	for i := len(it.History) - 1; i >= 0; i-- {
		if e := it.History[i]; e.Action == a && e.Actor == community.SystemActor.ID {
			return e.At
		}
	}
	return time.Time{}
}

func stepAction(key string) community.Action {
	switch key {
	case StepDeadlineRemind:
		return community.ActRemind
	case StepOverdue:
		return community.ActOverdue
	case StepEscalate1, StepEscalate2:
		return community.ActEscalate
	case StepReannounce:
		return community.ActReannounce
	case StepAutoClose:
		return community.ActAutoClose
	}
	return ""
}

// stepNote is what the item's history says about a step.
func stepNote(it *community.Item, st ItemStep, p config.DeadlinePolicy) string {
	switch st.Key {
	case StepDeadlineRemind:
		return "截止前提醒"
	case StepOverdue:
		return "已超过截止时间，挂牌督办"
	case StepEscalate1:
		return fmt.Sprintf("超期%d个工作日，上报社区督办", p.EscalateCommunityDays)
	case StepEscalate2:
		return fmt.Sprintf("超期%d个工作日，上报街道督办", p.EscalateStreetDays)
	case StepReannounce:
		return fmt.Sprintf("发布满%s无人认领，重新发布", durationZh(p.ReannounceAfter.Duration()))
	case StepAutoClose:
		return fmt.Sprintf("完成满%s，%s未确认，系统自动办结", durationZh(p.AutoCloseAfter.Duration()), it.RequesterName)
	}
	return ""
}

// itemMessages builds a step's messages: the claimers reminded privately, the group told
// (and the card updated) when the item is flagged, escalated, re-announced or closed, the
// secretaries or the street told privately when it climbs the tree.
func (s *Scheduler) itemMessages(ctx context.Context, it *community.Item, key string, now time.Time) ([]bot.Outbound, error) {
	if last := lastEvent(it, stepAction(key)); last != nil && last.Note == skippedNote {
		return nil, nil
	}
	base := "sched:" + sentKey(it, key) + "/"
	no := it.No
	title := community.Mask(truncate(it.Title, 40))
	plat, chat := community.SplitID(it.GroupID)
	card := func(update bool) bot.Outbound {
		c := handlers.ItemCard(it, now)
		return bot.Outbound{ID: base + "card", Platform: plat, ChatID: chat, Card: &c, Update: update}
	}
	mentions := make([]bot.Mention, 0, len(it.Claims))
	for _, c := range it.Claims {
		mentions = append(mentions, bot.Mention{UserID: c.UserID, Name: c.Name})
	}
	var outs []bot.Outbound
	switch key {
	case StepDeadlineRemind:
		if len(it.Claims) == 0 {
			outs = append(outs, groupOut(it.GroupID, base+"group",
				fmt.Sprintf("⏰ #%d %s 将于%s截止，还没有人认领，欢迎党员接单：接单 %d", no, title, community.FormatTime(it.Deadline, now), no)))
			break
		}
		for _, c := range it.Claims {
			outs = append(outs, privateOut(c.UserID, base+c.UserID,
				fmt.Sprintf("⏰ 您认领的 #%d %s 将于%s截止。办好后请发送：完成 %d 办理情况", no, title, community.FormatTime(it.Deadline, now), no)))
		}
	case StepOverdue:
		o := groupOut(it.GroupID, base+"group", fmt.Sprintf("⚠️ #%d %s 已超过截止时间（%s），挂牌督办，请尽快办理。", no, title, community.FormatDate(it.Deadline, now)))
		o.Mentions = mentions
		outs = append(outs, card(true), o)
		if privateOnly(it.RequesterID) {
			outs = append(outs, privateOut(it.RequesterID, base+"requester",
				fmt.Sprintf("⚠️ 您的需求 #%d 已超过截止时间，已挂牌督办，会尽快为您办理。", no)))
		}
	case StepEscalate1, StepEscalate2:
		level, days, who := 1, s.policy.EscalateCommunityDays, "社区"
		if key == StepEscalate2 {
			level, days, who = 2, s.policy.EscalateStreetDays, "街道"
		}
		to, err := s.escalationRecipients(ctx, it, level)
		if err != nil {
			return nil, err
		}
		if len(to) == 0 {
			s.log.Warn("nobody to escalate to", "item", no, "level", level, "node", it.Node)
		}
		where := it.GroupID
		if g, err := s.st.GetGroup(ctx, it.GroupID); err == nil && g.Name != "" {
			where = g.Name
		}
		claimers := it.ClaimerNames()
		if claimers == "" {
			claimers = "无人认领"
		}
		for _, p := range to {
			outs = append(outs, privateOut(p.ID, base+p.ID, fmt.Sprintf(
				"📌 督办上报（%s）：#%d %s\n所在：%s；截止：%s，已超期%d个工作日；认领：%s\n查看详情：查看 %d；督办：督办 %d 说明",
				who, no, it.Title, where, community.FormatDate(it.Deadline, now), days, claimers, no, no)))
		}
		o := groupOut(it.GroupID, base+"group", fmt.Sprintf("📌 #%d %s 已超期%d个工作日，已上报%s督办。", no, title, days, who))
		o.Mentions = mentions
		outs = append(outs, o)
	case StepReannounce:
		outs = append(outs, card(false), groupOut(it.GroupID, base+"group",
			fmt.Sprintf("🔔 #%d %s 发布已超过%s，还没有人认领，欢迎党员接单：点卡片上的“接单”或发送“接单 %d”。", no, title, durationZh(s.policy.ReannounceAfter.Duration()), no)))
	case StepAutoClose:
		o := groupOut(it.GroupID, base+"group", fmt.Sprintf("✅ #%d %s 完成已超过%s，一直未确认，系统已自动办结。如有问题请联系书记。", no, title, durationZh(s.policy.AutoCloseAfter.Duration())))
		outs = append(outs, card(true), o)
		if privateOnly(it.RequesterID) {
			outs = append(outs, privateOut(it.RequesterID, base+"requester",
				fmt.Sprintf("✅ 您的需求 #%d 完成已超过%s，一直未确认，系统已自动办结。如有问题请联系书记。", no, durationZh(s.policy.AutoCloseAfter.Duration()))))
		} else {
			o.Mentions = []bot.Mention{{UserID: it.RequesterID, Name: it.RequesterName}}
		}
	}
	return outs, nil
}

func lastEvent(it *community.Item, a community.Action) *community.Event {
	for i := len(it.History) - 1; i >= 0; i-- {
		if it.History[i].Action == a {
			return &it.History[i]
		}
	}
	return nil
}

// escalationRecipients are the people with the level's role (1: secretary, 2: street) whose
// jurisdiction covers the item: those above its node, else those at the node itself.
func (s *Scheduler) escalationRecipients(ctx context.Context, it *community.Item, level int) ([]community.Person, error) {
	node := it.Node
	if node == "" {
		if g, err := s.st.GetGroup(ctx, it.GroupID); err == nil {
			node = g.Node
		}
	}
	role := community.RoleSecretary
	if level >= 2 {
		role = community.RoleStreet
	}
	all, err := s.st.ListPersons(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	auth := community.NewAuthority(s.tree)
	var above, at, unbound []community.Person
	for _, p := range all {
		// The authority rule decides who may read the item in full; the ladder picks among them.
		if p.Role != role || !auth.Covers(community.ActorOf(p), node) {
			continue
		}
		switch {
		case p.Node == "" || node == "" || s.tree == nil:
			unbound = append(unbound, p)
		case p.Node != node && s.tree.Within(node, p.Node):
			above = append(above, p)
		case p.Node == node:
			at = append(at, p)
		}
	}
	switch {
	case len(above) > 0:
		return above, nil
	case len(at) > 0:
		return at, nil
	}
	return unbound, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// privateOnly reports whether a person is in no group (a WeChat Service Account follower,
// "oa:<openid>"): they are told about their items privately, never mentioned in a group.
func privateOnly(userID string) bool {
	plat, _ := community.SplitID(userID)
	return plat == "oa"
}
