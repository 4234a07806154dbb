package community_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

var (
	sh, _    = time.LoadLocation("Asia/Shanghai")
	t0       = time.Date(2026, 11, 23, 10, 0, 0, 0, sh)
	group    = community.Group{ID: "local:g1", Platform: "local", Chat: "g1", Node: "grid1"}
	resident = community.Actor{ID: "local:chen", Name: "陈阿姨", Role: community.RoleResident}
	other    = community.Actor{ID: "local:liu", Name: "刘大爷", Role: community.RoleResident}
	memberA  = community.Actor{ID: "local:li", Name: "李建国", Role: community.RoleMember}
	memberB  = community.Actor{ID: "local:zhang", Name: "张红梅", Role: community.RoleMember}
	gridW    = community.Actor{ID: "local:sun", Name: "孙网格员", Role: community.RoleGridWorker}
	sec      = community.Actor{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary}
	sys      = community.SystemActor
)

// fixture builds an item in the named state through the real transitions.
func fixture(t *testing.T, state community.State, slots int) *community.Item {
	t.Helper()
	it, err := community.NewNeed(1, group, resident, resident, "3栋2单元楼道灯坏了，电话13812345678", t0)
	if err != nil {
		t.Fatal(err)
	}
	step := func(c community.Change) {
		t.Helper()
		c.At = t0.Add(time.Minute)
		if err := it.Apply(c); err != nil {
			t.Fatalf("fixture %s: %v", c.Action, err)
		}
	}
	if state == community.StateNeed {
		return it
	}
	step(community.Change{Action: community.ActDispatch, Actor: sec, Slots: slots, Deadline: t0.Add(48 * time.Hour)})
	switch state {
	case community.StateOpen:
		return it
	case community.StateCancelled:
		step(community.Change{Action: community.ActCancel, Actor: sec})
		return it
	}
	step(community.Change{Action: community.ActClaim, Actor: memberA})
	if state == community.StateClaimed {
		return it
	}
	step(community.Change{Action: community.ActComplete, Actor: memberA, Note: "已换灯泡"})
	switch state {
	case community.StateDone:
		return it
	case community.StateClosed:
		step(community.Change{Action: community.ActConfirm, Actor: resident, Stars: 5})
	case community.StateFollowUp:
		step(community.Change{Action: community.ActConfirm, Actor: resident, Stars: 2})
	}
	return it
}

func TestTransitions(t *testing.T) {
	deadline := t0.Add(72 * time.Hour)
	S := func(s community.State) community.State { return s }
	tests := []struct {
		from  community.State
		c     community.Change
		want  community.State // "" when refused
		code  community.Code
		check func(t *testing.T, it *community.Item)
	}{
		// 派单
		{from: S(community.StateNeed), c: community.Change{Action: community.ActDispatch, Actor: sec, Slots: 3, Deadline: deadline}, want: community.StateOpen,
			check: func(t *testing.T, it *community.Item) {
				if it.Slots != 3 || !it.Deadline.Equal(deadline) {
					t.Errorf("slots %d deadline %v", it.Slots, it.Deadline)
				}
			}},
		{from: S(community.StateNeed), c: community.Change{Action: community.ActDispatch, Actor: memberA}, code: community.EForbidden},
		{from: S(community.StateNeed), c: community.Change{Action: community.ActDispatch, Actor: gridW}, code: community.EForbidden},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActDispatch, Actor: sec}, code: community.EConflict},
		{from: S(community.StateNeed), c: community.Change{Action: community.ActDispatch, Actor: sec, Deadline: t0.Add(-time.Hour)}, code: community.EInvalid},
		{from: S(community.StateNeed), c: community.Change{Action: community.ActDispatch, Actor: sec, Slots: 51}, code: community.EInvalid},
		// 接单
		{from: S(community.StateOpen), c: community.Change{Action: community.ActClaim, Actor: memberA}, want: community.StateClaimed},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActClaim, Actor: sec}, want: community.StateClaimed},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActClaim, Actor: resident}, code: community.EForbidden},
		{from: S(community.StateNeed), c: community.Change{Action: community.ActClaim, Actor: memberA}, code: community.EConflict},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActClaim, Actor: memberB}, code: community.EConflict},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActClaim, Actor: memberA}, code: community.EDuplicate},
		{from: S(community.StateDone), c: community.Change{Action: community.ActClaim, Actor: memberB}, code: community.EConflict},
		{from: S(community.StateClosed), c: community.Change{Action: community.ActClaim, Actor: memberB}, code: community.EConflict},
		// 放弃
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActRelease, Actor: memberA}, want: community.StateOpen,
			check: func(t *testing.T, it *community.Item) {
				if len(it.Claims) != 0 {
					t.Errorf("claims %v", it.Claims)
				}
			}},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActRelease, Actor: memberB}, code: community.EForbidden},
		{from: S(community.StateDone), c: community.Change{Action: community.ActRelease, Actor: memberA}, code: community.EConflict},
		// 完成
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActComplete, Actor: memberA, Note: "已换"}, want: community.StateDone,
			check: func(t *testing.T, it *community.Item) {
				if it.DoneNote != "已换" || it.DoneBy != "李建国" || !it.DoneAt.Equal(t0) {
					t.Errorf("done fields %q %q %v", it.DoneNote, it.DoneBy, it.DoneAt)
				}
			}},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActComplete, Actor: sec}, want: community.StateDone},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActComplete, Actor: memberB}, code: community.EForbidden},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActComplete, Actor: sec}, code: community.EConflict},
		{from: S(community.StateDone), c: community.Change{Action: community.ActComplete, Actor: memberA}, code: community.EDuplicate},
		// 确认 / 评价
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 5, Note: "很及时"}, want: community.StateClosed},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 4}, want: community.StateClosed},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 3}, want: community.StateFollowUp},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 1}, want: community.StateFollowUp},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 6}, code: community.EInvalid},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 0}, code: community.EInvalid},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: other, Stars: 5}, code: community.EForbidden},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: sec, Stars: 5}, code: community.EForbidden},
		{from: S(community.StateDone), c: community.Change{Action: community.ActConfirm, Actor: memberA, Stars: 5}, code: community.EForbidden},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActConfirm, Actor: resident, Stars: 5}, code: community.EConflict},
		// 不满意
		{from: S(community.StateDone), c: community.Change{Action: community.ActUnsatisfied, Actor: resident, Note: "灯还是不亮"}, want: community.StateFollowUp},
		{from: S(community.StateClosed), c: community.Change{Action: community.ActUnsatisfied, Actor: resident}, want: community.StateFollowUp},
		{from: S(community.StateDone), c: community.Change{Action: community.ActUnsatisfied, Actor: other}, code: community.EForbidden},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActUnsatisfied, Actor: resident}, code: community.EConflict},
		// 重办 / 办结
		{from: S(community.StateFollowUp), c: community.Change{Action: community.ActReopen, Actor: sec}, want: community.StateClaimed,
			check: func(t *testing.T, it *community.Item) {
				if it.Stars != 0 || it.DoneNote != "" || it.ClaimerNames() != "李建国" {
					t.Errorf("reopen kept %d %q %q", it.Stars, it.DoneNote, it.ClaimerNames())
				}
			}},
		{from: S(community.StateFollowUp), c: community.Change{Action: community.ActReopen, Actor: memberA}, code: community.EForbidden},
		{from: S(community.StateDone), c: community.Change{Action: community.ActReopen, Actor: sec}, code: community.EConflict},
		{from: S(community.StateFollowUp), c: community.Change{Action: community.ActCloseOut, Actor: sec}, want: community.StateClosed},
		{from: S(community.StateDone), c: community.Change{Action: community.ActCloseOut, Actor: sec}, want: community.StateClosed},
		{from: S(community.StateFollowUp), c: community.Change{Action: community.ActCloseOut, Actor: resident}, code: community.EForbidden},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActCloseOut, Actor: sec}, code: community.EConflict},
		// 取消
		{from: S(community.StateNeed), c: community.Change{Action: community.ActCancel, Actor: resident, Note: "自己修好了"}, want: community.StateCancelled},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActCancel, Actor: resident}, want: community.StateCancelled},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActCancel, Actor: resident}, code: community.EForbidden},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActCancel, Actor: sec}, want: community.StateCancelled},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActCancel, Actor: memberA}, code: community.EForbidden},
		{from: S(community.StateClosed), c: community.Change{Action: community.ActCancel, Actor: sec}, code: community.EConflict},
		{from: S(community.StateCancelled), c: community.Change{Action: community.ActCancel, Actor: sec}, code: community.EConflict},
		// 改期 / 督办
		{from: S(community.StateOpen), c: community.Change{Action: community.ActReschedule, Actor: sec, Deadline: deadline}, want: community.StateOpen},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActReschedule, Actor: sec}, code: community.EInvalid},
		{from: S(community.StateOpen), c: community.Change{Action: community.ActReschedule, Actor: memberA, Deadline: deadline}, code: community.EForbidden},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActSupervise, Actor: sec}, want: community.StateClaimed,
			check: func(t *testing.T, it *community.Item) {
				if it.Supervised != 1 {
					t.Errorf("supervised %d", it.Supervised)
				}
			}},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActSupervise, Actor: memberA}, code: community.EForbidden},
		// Scheduler steps
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActOverdue, Actor: sys, Step: "deadline:overdue"}, want: community.StateClaimed,
			check: func(t *testing.T, it *community.Item) {
				if !it.Overdue || !it.HasStep("deadline:overdue") {
					t.Errorf("overdue %v steps %v", it.Overdue, it.Reminded)
				}
			}},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActOverdue, Actor: sec, Step: "x"}, code: community.EForbidden},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActRemind, Actor: sys}, code: community.EInvalid},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActEscalate, Actor: sys, Step: "deadline:esc1", Level: 1}, want: community.StateClaimed},
		{from: S(community.StateDone), c: community.Change{Action: community.ActAutoClose, Actor: sys, Step: "autoclose"}, want: community.StateClosed},
		{from: S(community.StateClaimed), c: community.Change{Action: community.ActAutoClose, Actor: sys, Step: "autoclose"}, code: community.EConflict},
		{from: S(community.StateClosed), c: community.Change{Action: community.ActRemind, Actor: sys, Step: "r"}, code: community.EConflict},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s_by_%s", tt.from, tt.c.Action, tt.c.Actor.Name)
		t.Run(name, func(t *testing.T) {
			it := fixture(t, tt.from, 1)
			before := *it
			hist := len(it.History)
			tt.c.At = t0
			err := it.Apply(tt.c)
			if tt.want == "" {
				if got := community.ErrorCode(err); got != tt.code {
					t.Fatalf("err = %v (code %q), want code %q", err, got, tt.code)
				}
				if community.ErrorMessage(err) == "" {
					t.Error("refusal without a message for people")
				}
				if it.State != before.State || len(it.History) != hist || len(it.Claims) != len(before.Claims) {
					t.Errorf("refused change altered the item: %+v", it)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if it.State != tt.want {
				t.Errorf("state = %s, want %s", it.State, tt.want)
			}
			if len(it.History) != hist+1 || it.History[hist].Action != tt.c.Action {
				t.Errorf("history not recorded: %+v", it.History)
			}
			if tt.check != nil {
				tt.check(t, it)
			}
		})
	}
}

func TestSystemStepsHappenOnce(t *testing.T) {
	it := fixture(t, community.StateClaimed, 1)
	c := community.Change{Action: community.ActRemind, Actor: sys, Step: "deadline:remind", At: t0}
	if err := it.Apply(c); err != nil {
		t.Fatal(err)
	}
	if err := it.Apply(c); community.ErrorCode(err) != community.EDuplicate {
		t.Fatalf("second remind: %v", err)
	}
	// A new deadline runs the deadline steps again.
	if err := it.Apply(community.Change{Action: community.ActReschedule, Actor: sec, At: t0, Deadline: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := it.Apply(c); err != nil {
		t.Fatalf("remind after reschedule: %v", err)
	}
}

func TestMultiSlot(t *testing.T) {
	it := fixture(t, community.StateOpen, 3)
	for i, a := range []community.Actor{memberA, memberB, sec} {
		if err := it.Apply(community.Change{Action: community.ActClaim, Actor: a, At: t0}); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		want := community.StateOpen
		if i == 2 {
			want = community.StateClaimed
		}
		if it.State != want {
			t.Fatalf("after %d claims state %s, want %s", i+1, it.State, want)
		}
	}
	err := it.Apply(community.Change{Action: community.ActClaim, Actor: gridW, At: t0})
	if community.ErrorCode(err) != community.EConflict {
		t.Fatalf("fourth claim: %v", err)
	}
	if msg := community.ErrorMessage(err); msg == "" || !contains(msg, "李建国、张红梅、王书记") {
		t.Errorf("loser is not told who has it: %q", msg)
	}
	// A partially claimed item can be reported done by one of its claimers.
	it2 := fixture(t, community.StateOpen, 3)
	it2.Apply(community.Change{Action: community.ActClaim, Actor: memberA, At: t0})
	if err := it2.Apply(community.Change{Action: community.ActComplete, Actor: memberA, At: t0}); err != nil {
		t.Fatalf("complete with 1 of 3: %v", err)
	}
}

func TestPostAndNeedValidation(t *testing.T) {
	if _, err := community.NewPost(1, group, memberA, "清理楼道", 5, time.Time{}, t0); community.ErrorCode(err) != community.EForbidden {
		t.Errorf("member posting: %v", err)
	}
	if _, err := community.NewPost(1, group, sec, "  ", 5, time.Time{}, t0); community.ErrorCode(err) != community.EInvalid {
		t.Errorf("empty title: %v", err)
	}
	it, err := community.NewPost(1, group, sec, "清理楼道", 5, t0.Add(time.Hour), t0)
	if err != nil || it.State != community.StateOpen || it.Slots != 5 || it.RequesterID != sec.ID {
		t.Fatalf("post: %+v %v", it, err)
	}
	if _, err := community.NewNeed(1, group, resident, resident, "", t0); community.ErrorCode(err) != community.EInvalid {
		t.Errorf("empty need: %v", err)
	}
	if _, err := community.NewNeed(1, group, resident, memberA, "代点单", t0); community.ErrorCode(err) != community.EForbidden {
		t.Errorf("member filing for another: %v", err)
	}
	n, err := community.NewNeed(1, group, resident, gridW, "代陈阿姨点单：买药 13812345678", t0)
	if err != nil || n.RequesterID != resident.ID || n.CreatedByID != gridW.ID || n.Phone != "13812345678" {
		t.Fatalf("grid worker 代点单: %+v %v", n, err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
