// Package ledgertest holds the ledger's fixed test data: a small street whose November 2026
// figures are checked by hand in ledger's tests, and the bench dataset (100k items, 20k
// people) for the benchmarks.
package ledgertest

import (
	"fmt"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
)

// Shanghai is the zone everything happens in.
func Shanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}

// Tree is 和平街道 → 幸福社区 (1网格, 2网格) and 光明社区 (3网格).
func Tree() *community.Tree {
	t, err := community.NewTree([]community.Node{
		{ID: "s1", Name: "和平街道", Kind: community.KindStreet},
		{ID: "c1", Name: "幸福社区", Kind: community.KindCommunity, Parent: "s1"},
		{ID: "g1", Name: "1网格", Kind: community.KindGrid, Parent: "c1"},
		{ID: "g2", Name: "2网格", Kind: community.KindGrid, Parent: "c1"},
		{ID: "c2", Name: "光明社区", Kind: community.KindCommunity, Parent: "s1"},
		{ID: "g3", Name: "3网格", Kind: community.KindGrid, Parent: "c2"},
	})
	if err != nil {
		panic(err)
	}
	return t
}

// People of the fixture.
var (
	M1   = community.Person{ID: "local:m1", Name: "张三", Role: community.RoleMember, Node: "g1", Unit: "区税务局", Phone: "13900000001", Approved: true}
	M2   = community.Person{ID: "local:m2", Name: "李四", Role: community.RoleMember, Node: "g2", Unit: "区税务局", Approved: true}
	M3   = community.Person{ID: "local:m3", Name: "王五", Role: community.RoleMember, Node: "g3", Unit: "区医院", Approved: true}
	R1   = community.Person{ID: "local:r1", Name: "陈阿姨", Role: community.RoleResident, Node: "g1", Phone: "13812345678", Door: "3栋2单元502"}
	R2   = community.Person{ID: "local:r2", Name: "赵大爷", Role: community.RoleResident, Node: "g2"}
	R3   = community.Person{ID: "local:r3", Name: "孙阿姨", Role: community.RoleResident, Node: "g3"}
	Sec  = community.Person{ID: "local:sec", Name: "王书记", Role: community.RoleSecretary, Node: "c1", Approved: true}
	Sec2 = community.Person{ID: "local:sec2", Name: "刘书记", Role: community.RoleSecretary, Node: "c2", Approved: true}
	St   = community.Person{ID: "local:st", Name: "周书记", Role: community.RoleStreet, Node: "s1", Approved: true}
)

// Groups of the fixture.
var (
	G1 = community.Group{ID: "local:grp1", Platform: "local", Chat: "grp1", Name: "幸福里1号楼群", Node: "g1"}
	G2 = community.Group{ID: "local:grp2", Platform: "local", Chat: "grp2", Name: "幸福里2号楼群", Node: "g2"}
	G3 = community.Group{ID: "local:grp3", Platform: "local", Chat: "grp3", Name: "光明苑群", Node: "g3"}
)

// Data is the fixture: seven items (see ledger's tests for what happened to each and the
// totals), one notice and one activity.
func Data() ledger.Data {
	loc := Shanghai()
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	a := community.ActorOf
	sec := a(Sec)
	var items []*community.Item
	need := func(no int64, g community.Group, who community.Person, text string, t time.Time) *community.Item {
		it, err := community.NewNeed(no, g, a(who), a(who), text, t)
		if err != nil {
			panic(err)
		}
		items = append(items, it)
		return it
	}
	do := func(it *community.Item, c community.Change) {
		if err := it.Apply(c); err != nil {
			panic(fmt.Sprintf("#%d %s: %v", it.No, c.Action, err))
		}
	}
	// #1 filed, dispatched, claimed by 张三, done on time, 5★.
	it := need(1, G1, R1, "3栋2单元楼道灯坏了，电话13812345678", at(11, 2, 10, 0))
	do(it, community.Change{Action: community.ActDispatch, Actor: sec, At: at(11, 2, 11, 0), Deadline: at(11, 5, 18, 0)})
	do(it, community.Change{Action: community.ActClaim, Actor: a(M1), At: at(11, 2, 12, 0)})
	do(it, community.Change{Action: community.ActComplete, Actor: a(M1), At: at(11, 3, 10, 0), Note: "已换灯泡"})
	do(it, community.Change{Action: community.ActConfirm, Actor: a(R1), At: at(11, 3, 20, 0), Stars: 5, Note: "很及时"})
	// #2 two slots (李四, 张三), done late, 3★ → 回访, 重办, done again, 4★.
	it = need(2, G2, R2, "5栋门口下水道堵了", at(11, 9, 9, 0))
	do(it, community.Change{Action: community.ActDispatch, Actor: sec, At: at(11, 9, 10, 0), Deadline: at(11, 10, 18, 0), Slots: 2})
	do(it, community.Change{Action: community.ActClaim, Actor: a(M2), At: at(11, 9, 11, 0)})
	do(it, community.Change{Action: community.ActClaim, Actor: a(M1), At: at(11, 9, 14, 0)})
	do(it, community.Change{Action: community.ActComplete, Actor: a(M2), At: at(11, 11, 9, 0)})
	do(it, community.Change{Action: community.ActConfirm, Actor: a(R2), At: at(11, 11, 12, 0), Stars: 3, Note: "还有点味"})
	do(it, community.Change{Action: community.ActReopen, Actor: sec, At: at(11, 12, 9, 0)})
	do(it, community.Change{Action: community.ActComplete, Actor: a(M1), At: at(11, 13, 10, 0)})
	do(it, community.Change{Action: community.ActConfirm, Actor: a(R2), At: at(11, 13, 15, 0), Stars: 4})
	// #3 in 光明社区, no deadline, done by 王五, not yet rated.
	it = need(3, G3, R3, "帮忙取一下药", at(11, 20, 9, 0))
	do(it, community.Change{Action: community.ActDispatch, Actor: a(Sec2), At: at(11, 20, 10, 0)})
	do(it, community.Change{Action: community.ActClaim, Actor: a(M3), At: at(11, 20, 10, 30)})
	do(it, community.Change{Action: community.ActComplete, Actor: a(M3), At: at(11, 21, 9, 0)})
	// #4 filed and done in October, rated 5★ on 1 November.
	it = need(4, G1, R1, "家里水管漏水", at(10, 28, 9, 0))
	do(it, community.Change{Action: community.ActDispatch, Actor: sec, At: at(10, 28, 10, 0), Deadline: at(11, 1, 18, 0)})
	do(it, community.Change{Action: community.ActClaim, Actor: a(M1), At: at(10, 29, 9, 0)})
	do(it, community.Change{Action: community.ActComplete, Actor: a(M1), At: at(10, 30, 9, 0)})
	do(it, community.Change{Action: community.ActConfirm, Actor: a(R1), At: at(11, 1, 9, 0), Stars: 5})
	// #5 filed and cancelled by the resident.
	it = need(5, G2, R2, "想换个灯", at(11, 25, 9, 0))
	do(it, community.Change{Action: community.ActCancel, Actor: a(R2), At: at(11, 25, 10, 0), Note: "自己修好了"})
	// #6 posted by the secretary, never claimed, flagged overdue.
	it, err := community.NewPost(6, G1, sec, "周六清理楼道杂物", 3, at(11, 16, 18, 0), at(11, 15, 9, 0))
	if err != nil {
		panic(err)
	}
	items = append(items, it)
	do(it, community.Change{Action: community.ActOverdue, Actor: community.SystemActor, At: at(11, 16, 19, 0), Step: "deadline:overdue"})
	// #7 in December, done by 张三 without a deadline.
	it = need(7, G1, R1, "帮忙搬一下快递", at(12, 1, 9, 0))
	do(it, community.Change{Action: community.ActDispatch, Actor: sec, At: at(12, 1, 10, 0)})
	do(it, community.Change{Action: community.ActClaim, Actor: a(M1), At: at(12, 2, 9, 0)})
	do(it, community.Change{Action: community.ActComplete, Actor: a(M1), At: at(12, 3, 9, 0)})

	return ledger.Data{
		Items:  items,
		People: []community.Person{M1, M2, M3, R1, R2, R3, Sec, Sec2, St},
		Groups: []community.Group{G1, G2, G3},
		Notices: []ledger.Notice{{
			ID: 1, Kind: "通知", Subject: "11月8日停水通知", AuthorName: "周书记", SentAt: at(11, 5, 9, 0),
			Groups: []string{G1.ID, G3.ID},
			Acks: []ledger.Ack{
				{Group: G1.ID, Person: R1.ID, Name: R1.Name, At: at(11, 5, 10, 0)},
				{Group: G3.ID, Person: R3.ID, Name: R3.Name, At: at(11, 6, 10, 0)},
			},
		}},
		Activities: []ledger.Activity{{
			ID: "theme@202611071500", Title: "主题党日", Place: "社区活动室", Start: at(11, 7, 15, 0), Groups: []string{G1.ID},
			People: []ledger.Attendee{
				{ID: M1.ID, Name: M1.Name, Status: "signup", SignedIn: at(11, 7, 14, 55)},
				{ID: M2.ID, Name: M2.Name, Status: "leave"},
				{ID: R1.ID, Name: R1.Name, SignedIn: at(11, 7, 15, 2)},
			},
		}},
	}
}
