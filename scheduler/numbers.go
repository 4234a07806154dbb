package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Number is how people name the schedule: the number of an activity created in chat (from
// the number space shared with items and notices), or a configured schedule's id.
func (sc *Schedule) Number() string {
	if sc.No > 0 {
		return strconv.FormatInt(sc.No, 10)
	}
	return sc.ID
}

// byRef finds the schedule a command names: by number through the index (an activity's
// number is never another's old one), else by id (a configured schedule's, or the number an
// older activity had before numbers were shared).
func (s *Scheduler) byRef(ctx context.Context, ref string) (*Schedule, error) {
	if no, err := strconv.ParseInt(ref, 10, 64); err == nil && no > 0 {
		e, err := s.st.LookupNumber(ctx, no)
		switch {
		case err == nil && e.Kind == store.KindActivity:
			return s.getSchedule(ctx, e.ID())
		case err != nil && community.ErrorCode(err) != community.ENotFound:
			return nil, store.ErrUnavailable(err)
		}
	}
	return s.getSchedule(ctx, ref)
}

// Numbered answers 查看 N and 进度 N for a number that names an activity (a
// handlers.Handlers.Numbered hook): what it is and when it next takes place, to a secretary
// or anyone it concerns (as 活动列表 shows it).
func (s *Scheduler) Numbered(ctx context.Context, r *bot.Request, e store.NumberEntry) error {
	now := r.Now.In(s.loc)
	sc, err := s.getSchedule(ctx, e.ID())
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return community.Errorf(community.ENotFound, "没有找到 #%d。", e.No)
		}
		return store.ErrUnavailable(err)
	}
	if !r.Sender.Role.AtLeast(community.RoleSecretary) &&
		!(r.Group.ID != "" && s.visibleTo(sc, r.Group.Node, false) || r.Group.ID == "" && s.visibleTo(sc, r.Sender.Node, true)) {
		// Like an item out of sight: not even confirmed to exist.
		return community.Errorf(community.ENotFound, "没有找到 #%d，或它不在您可查看的范围内。", e.No)
	}
	if sc.Cancelled {
		r.Replyf("%s（编号 %s）已经取消了。", sc.Title, sc.Number())
		return nil
	}
	r.Reply(s.describe(sc, now))
	return nil
}

// MigrateNumbers gives every activity created in chat before numbers were shared (No 0) a
// number of the shared space, in the order of their old numbers; each keeps its id, which
// was its number, so commands naming the old number still find it, and every answer shows
// the new one. It may run again, or on two replicas at once: the number is recorded under
// the activity's id, so each gets one. It returns how many it renumbered.
func (s *Scheduler) MigrateNumbers(ctx context.Context) (int, error) {
	all, err := s.listSchedules(ctx)
	if err != nil {
		return 0, store.ErrUnavailable(err)
	}
	var todo []*Schedule
	for _, sc := range all {
		if sc.Source == SourceChat && sc.No == 0 {
			todo = append(todo, sc)
		}
	}
	old := func(sc *Schedule) int64 { n, _ := strconv.ParseInt(sc.ID, 10, 64); return n }
	slices.SortFunc(todo, func(a, b *Schedule) int { return cmp.Or(cmp.Compare(old(a), old(b)), cmp.Compare(a.ID, b.ID)) })
	for _, sc := range todo {
		no, err := s.st.TakeNumber(ctx, store.KindActivity, sc.ID)
		if err != nil {
			return 0, store.ErrUnavailable(err)
		}
		if _, err := s.st.UpdateDoc(ctx, CollSchedules, sc.ID, func(raw []byte) ([]byte, error) {
			if raw == nil {
				return nil, fmt.Errorf("schedule %s vanished", sc.ID)
			}
			return setNo(raw, no)
		}); err != nil {
			return 0, store.ErrUnavailable(err)
		}
	}
	return len(todo), nil
}

// setNo sets the number of a stored schedule.
func setNo(raw []byte, no int64) ([]byte, error) {
	var sc Schedule
	if err := json.Unmarshal(raw, &sc); err != nil {
		return nil, fmt.Errorf("decode schedule: %w", err)
	}
	sc.No = no
	return json.Marshal(sc)
}
