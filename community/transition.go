package community

import (
	"fmt"
	"time"
)

// Action is one thing that can happen to an item.
type Action string

const (
	ActFile        Action = "file"        // 点单: a resident files a need
	ActPost        Action = "post"        // 发布: a secretary posts an item directly
	ActDispatch    Action = "dispatch"    // 派单: a need becomes an item
	ActClaim       Action = "claim"       // 接单
	ActRelease     Action = "release"     // 放弃
	ActComplete    Action = "complete"    // 完成
	ActConfirm     Action = "confirm"     // 确认 / 评价 (回单, 评星)
	ActUnsatisfied Action = "unsatisfied" // 不满意
	ActReopen      Action = "reopen"      // 重办: back to the claimers after a follow-up
	ActCloseOut    Action = "closeout"    // 办结 / 销号 by the secretary
	ActCancel      Action = "cancel"      // 取消
	ActReschedule  Action = "reschedule"  // 改期
	ActSupervise   Action = "supervise"   // 督办 by a secretary

	// Scheduler steps (the system actor only). Each carries a Step key and happens once.
	ActRemind     Action = "remind"     // deadline reminder to the claimers
	ActOverdue    Action = "overdue"    // 挂牌: flagged overdue in public
	ActEscalate   Action = "escalate"   // 督办 up the tree (Level 1 community, 2 street)
	ActReannounce Action = "reannounce" // unclaimed item announced again
	ActAutoClose  Action = "autoclose"  // done but never confirmed: closed with a note

	// Personal information (privacy.go): recorded in the history, never through Apply.
	ActErase Action = "erase" // 删除我的信息: the requester had their information erased
	ActPurge Action = "purge" // the retention period ended: personal fields cleared
)

var actionNames = map[Action]string{
	ActFile: "点单", ActPost: "发布", ActDispatch: "派单", ActClaim: "接单", ActRelease: "放弃",
	ActComplete: "完成", ActConfirm: "评价", ActUnsatisfied: "不满意", ActReopen: "重办",
	ActCloseOut: "办结", ActCancel: "取消", ActReschedule: "改期", ActSupervise: "督办",
	ActRemind: "提醒", ActOverdue: "挂牌", ActEscalate: "上报督办", ActReannounce: "再次发布",
	ActAutoClose: "自动办结", ActErase: "删除个人信息", ActPurge: "到期清除个人信息",
}

// Chinese is the action's name as shown in an item's history.
func (a Action) Chinese() string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return string(a)
}

// Change is a request to move an item. Fields other than Action, Actor and At are used by the
// actions that need them.
type Change struct {
	Action   Action
	Actor    Actor
	At       time.Time
	Stars    int       // confirm: 1..5
	Note     string    // reason, report, comment
	Slots    int       // dispatch: 0 means 1
	Deadline time.Time // dispatch, reschedule
	Step     string    // scheduler steps: a key recorded so the step happens once
	Level    int       // escalate: 1 community, 2 street
}

// LowStars is the highest rating that still opens a follow-up (回访).
const LowStars = 3

// Apply performs c on the item if the item's state and the actor allow it, and records it in
// the history. On error the item is unchanged. Apply is pure: stores call it inside their
// transaction (or compare-and-set loop), so it may run more than once for one request.
func (it *Item) Apply(c Change) error {
	next := *it
	next.Claims = append([]Claim(nil), it.Claims...)
	next.Reminded = append([]string(nil), it.Reminded...)
	next.History = append([]Event(nil), it.History...)
	if err := next.apply(c); err != nil {
		return err
	}
	next.record(c.At, c.Action, c.Actor, c.Note)
	ev := &next.History[len(next.History)-1]
	switch c.Action {
	case ActConfirm:
		ev.Stars = c.Stars
	case ActDispatch, ActReschedule:
		ev.Deadline = c.Deadline
	}
	*it = next
	return nil
}

func (it *Item) apply(c Change) error {
	a := c.Actor
	isSec := a.Role.AtLeast(RoleSecretary)
	isRequester := a.ID == it.RequesterID
	no := it.No

	if c.Action.system() {
		if !a.System {
			return Errorf(EForbidden, "该操作只能由系统执行。")
		}
		if c.Step == "" {
			return Errorf(EInvalid, "system step without a key")
		}
		if it.HasStep(c.Step) {
			return Errorf(EDuplicate, "#%d 的 %s 已执行过。", no, c.Action.Chinese())
		}
		if it.State.Terminal() {
			return Errorf(EConflict, "#%d %s，无需%s。", no, it.State.Chinese(), c.Action.Chinese())
		}
	}
	if it.State.Terminal() && !c.Action.system() {
		if c.Action == ActUnsatisfied && it.State == StateClosed {
			// A resident may still say 不满意 after a close: it opens a follow-up.
		} else {
			return Errorf(EConflict, "#%d %s，不能再%s。", no, it.State.Chinese(), c.Action.Chinese())
		}
	}

	switch c.Action {
	case ActDispatch:
		if !isSec {
			return Errorf(EForbidden, "只有书记可以派单。")
		}
		if it.State != StateNeed {
			return Errorf(EConflict, "#%d 已经派过单了（%s）。", no, it.State.Chinese())
		}
		if err := checkSlots(c.Slots); err != nil {
			return err
		}
		if !c.Deadline.IsZero() && !c.Deadline.After(c.At) {
			return Errorf(EInvalid, "截止时间 %s 已经过去了，请换一个时间。", FormatTime(c.Deadline, c.At))
		}
		it.Slots = max(c.Slots, 1)
		it.Deadline = c.Deadline
		it.State = StateOpen

	case ActClaim:
		if !a.Role.AtLeast(RoleMember) {
			return Errorf(EForbidden, "接单需要党员身份。如果您是党员，请先发送“报到 姓名 楼栋”，书记确认后即可接单。")
		}
		if it.ClaimedBy(a.ID) {
			return Errorf(EDuplicate, "您已经认领了 #%d，办完后发送“完成 %d”。", no, no)
		}
		switch it.State {
		case StateNeed:
			return Errorf(EConflict, "#%d 还在等书记派单，派单后才能认领。", no)
		case StateClaimed:
			return Errorf(EConflict, "#%d 已由 %s 认领，名额已满，谢谢您的热心！", no, it.ClaimerNames())
		case StateOpen:
		default:
			return Errorf(EConflict, "#%d %s，不能再认领。", no, it.State.Chinese())
		}
		it.Claims = append(it.Claims, Claim{UserID: a.ID, Name: a.Name, At: c.At})
		if len(it.Claims) >= it.Slots {
			it.State = StateClaimed
		}

	case ActRelease:
		if !it.ClaimedBy(a.ID) {
			return Errorf(EForbidden, "您没有认领 #%d，无需放弃。", no)
		}
		if it.State != StateOpen && it.State != StateClaimed {
			return Errorf(EConflict, "#%d %s，不能再放弃。", no, it.State.Chinese())
		}
		kept := it.Claims[:0]
		for _, cl := range it.Claims {
			if cl.UserID != a.ID {
				kept = append(kept, cl)
			}
		}
		it.Claims = kept
		it.State = StateOpen

	case ActComplete:
		if !it.ClaimedBy(a.ID) && !isSec {
			return Errorf(EForbidden, "只有认领人可以报告完成 #%d。", no)
		}
		switch it.State {
		case StateDone:
			return Errorf(EDuplicate, "#%d 已经报告完成，正等待提出人确认。", no)
		case StateClaimed:
		case StateOpen:
			if len(it.Claims) == 0 {
				return Errorf(EConflict, "#%d 还没有人认领。", no)
			}
		default:
			return Errorf(EConflict, "#%d %s，不能报告完成。", no, it.State.Chinese())
		}
		it.State = StateDone
		it.DoneNote = c.Note
		it.DoneBy = a.Name
		it.DoneAt = c.At

	case ActConfirm:
		if !it.mayRate(a) {
			return Errorf(EForbidden, "只有提出需求的本人可以确认和评价 #%d。", no)
		}
		if it.State != StateDone {
			return Errorf(EConflict, "#%d %s，完成后才能评价。", no, it.State.Chinese())
		}
		if c.Stars < 1 || c.Stars > 5 {
			return Errorf(EInvalid, "评星请在1到5星之间，例如：确认 %d 5星", no)
		}
		it.Stars = c.Stars
		it.Comment = c.Note
		if c.Stars <= LowStars {
			it.State = StateFollowUp
			it.Reason = c.Note
		} else {
			it.State = StateClosed
			it.ClosedAt = c.At
		}

	case ActUnsatisfied:
		if !it.mayRate(a) {
			return Errorf(EForbidden, "只有提出需求的本人可以评价 #%d。", no)
		}
		if it.State != StateDone && it.State != StateClosed {
			return Errorf(EConflict, "#%d %s，完成后才能评价。", no, it.State.Chinese())
		}
		it.State = StateFollowUp
		it.Reason = c.Note
		it.ClosedAt = time.Time{}

	case ActReopen:
		if !isSec {
			return Errorf(EForbidden, "只有书记可以安排重办。")
		}
		if it.State != StateFollowUp {
			return Errorf(EConflict, "#%d %s，只有回访中的事项可以重办。", no, it.State.Chinese())
		}
		it.State = StateOpen
		if len(it.Claims) >= it.Slots {
			it.State = StateClaimed
		}
		it.DoneAt, it.DoneNote, it.DoneBy, it.Stars = time.Time{}, "", "", 0

	case ActCloseOut:
		if !isSec {
			return Errorf(EForbidden, "只有书记可以办结销号。")
		}
		if it.State != StateFollowUp && it.State != StateDone {
			return Errorf(EConflict, "#%d %s，完成并回访后才能办结。", no, it.State.Chinese())
		}
		it.State = StateClosed
		it.ClosedAt = c.At
		it.Overdue = false

	case ActCancel:
		own := isRequester && (it.State == StateNeed || (it.State == StateOpen && len(it.Claims) == 0))
		if !isSec && !own {
			if isRequester {
				return Errorf(EForbidden, "#%d 已有人在办理，如需取消请联系书记。", no)
			}
			return Errorf(EForbidden, "只有书记或提出需求的本人可以取消 #%d。", no)
		}
		it.State = StateCancelled
		it.Reason = c.Note
		it.ClosedAt = c.At

	case ActReschedule:
		if !isSec {
			return Errorf(EForbidden, "只有书记可以改期。")
		}
		if c.Deadline.IsZero() {
			return Errorf(EInvalid, "请写上新的截止时间，例如：改期 %d 截止 周五18点", no)
		}
		if !c.Deadline.After(c.At) {
			return Errorf(EInvalid, "截止时间 %s 已经过去了，请换一个时间。", FormatTime(c.Deadline, c.At))
		}
		it.Deadline = c.Deadline
		it.Overdue = false
		it.Escalation = 0
		it.Reminded = dropDeadlineSteps(it.Reminded)

	case ActSupervise:
		if !isSec {
			return Errorf(EForbidden, "只有书记可以督办。")
		}
		it.Supervised++

	case ActRemind, ActReannounce:
		// Recorded only: the scheduler sends the messages.
	case ActOverdue:
		it.Overdue = true
	case ActEscalate:
		if c.Level <= it.Escalation {
			return Errorf(EDuplicate, "#%d 已上报到第%d级。", no, it.Escalation)
		}
		it.Escalation = c.Level
	case ActAutoClose:
		if it.State != StateDone {
			return Errorf(EConflict, "#%d %s，不能自动办结。", no, it.State.Chinese())
		}
		it.State = StateClosed
		it.ClosedAt = c.At
	default:
		return Errorf(EInvalid, "unknown action %q", c.Action)
	}
	if c.Action.system() {
		it.Reminded = append(it.Reminded, c.Step)
	}
	return nil
}

func (a Action) system() bool {
	switch a {
	case ActRemind, ActOverdue, ActEscalate, ActReannounce, ActAutoClose:
		return true
	}
	return false
}

// mayRate: the requester, or for items a secretary posted directly, any secretary.
func (it *Item) mayRate(a Actor) bool {
	return a.ID == it.RequesterID || (it.Origin == OriginDirect && a.Role.AtLeast(RoleSecretary))
}

// Deadline steps start with "deadline:" so a new deadline can run them again.
const DeadlineStepPrefix = "deadline:"

func dropDeadlineSteps(steps []string) []string {
	var kept []string
	for _, s := range steps {
		if len(s) < len(DeadlineStepPrefix) || s[:len(DeadlineStepPrefix)] != DeadlineStepPrefix {
			kept = append(kept, s)
		}
	}
	return kept
}

// PointsFor is the 积分 a member earns for an action.
func PointsFor(a Action) int {
	switch a {
	case ActClaim:
		return 1
	case ActComplete:
		return 3
	}
	return 0
}

// Summary is a one-line description of the item for lists: "#12 楼道灯坏了 [办理中] 李建国".
func (it *Item) Summary(now time.Time) string {
	s := fmt.Sprintf("#%d %s【%s】", it.No, Mask(truncate(it.Title, 30)), it.State.Chinese())
	if len(it.Claims) > 0 {
		s += " " + it.ClaimerNames()
	}
	if !it.Deadline.IsZero() && !it.State.Terminal() && it.State != StateDone {
		s += " 截止" + FormatTime(it.Deadline, now)
	}
	if it.Overdue || it.IsOverdue(now) {
		s += " ⚠已超期"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
