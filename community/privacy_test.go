package community_test

import (
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

func TestEffectiveRole(t *testing.T) {
	tests := []struct {
		name string
		p    community.Person
		want community.Role
	}{
		{"resident", community.Person{Role: community.RoleResident}, community.RoleResident},
		{"member", community.Person{Role: community.RoleMember, Approved: true}, community.RoleMember},
		// Written by releases where 报到 raised the role before approval.
		{"pending member", community.Person{Role: community.RoleMember, Pending: true}, community.RoleResident},
		{"approved, flag left", community.Person{Role: community.RoleMember, Pending: true, Approved: true}, community.RoleMember},
		{"secretary", community.Person{Role: community.RoleSecretary}, community.RoleSecretary},
	}
	for _, tt := range tests {
		if got := community.EffectiveRole(tt.p); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// need is a need of chen's, done by li, with personal data in every text.
func privacyNeed(t *testing.T, now time.Time) *community.Item {
	t.Helper()
	chen := community.Actor{ID: "local:chen", Name: "陈阿姨", Role: community.RoleResident}
	li := community.Actor{ID: "local:li", Name: "李建国", Role: community.RoleMember}
	sec := community.Actor{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary}
	it, err := community.NewNeed(1, community.Group{ID: "local:g"}, chen, chen, "3栋2单元502室漏水，电话13812345678，身份证110101199003071234", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []community.Change{
		{Action: community.ActDispatch, Actor: sec},
		{Action: community.ActClaim, Actor: li},
		{Action: community.ActComplete, Actor: li, Note: "已修好，回电13812345678"},
		{Action: community.ActConfirm, Actor: chen, Stars: 5, Note: "家住3栋2单元502，谢谢"},
	} {
		c.At = now
		if err := it.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	return it
}

func leaks(it *community.Item) []string {
	var out []string
	texts := []string{it.Title, it.Comment, it.DoneNote, it.Reason, it.Phone, it.RequesterName}
	for _, e := range it.History {
		texts = append(texts, e.Note, e.Name)
	}
	for _, s := range texts {
		for _, bad := range []string{"13812345678", "110101199003071234", "502", "陈阿姨"} {
			if strings.Contains(s, bad) {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestEraseKeepsHistory(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	it := privacyNeed(t, now)
	events := len(it.History)
	if it.Erase(community.Person{ID: "local:other"}, now) {
		t.Fatal("erased an item for someone who did not ask for it")
	}
	p := community.Person{ID: "local:chen", Phone: "13812345678", Door: "3栋2单元502"}
	if !it.Erase(p, now.Add(time.Hour)) {
		t.Fatal("nothing erased")
	}
	if l := leaks(it); len(l) > 0 {
		t.Errorf("personal data left: %q", l)
	}
	if it.RequesterName != community.ErasedName || it.RequesterID != "local:chen" || it.State != community.StateClosed || it.Stars != 5 {
		t.Errorf("erased item: %+v", it)
	}
	if len(it.History) != events+1 || it.History[events].Action != community.ActErase || it.History[1].Action != community.ActDispatch {
		t.Errorf("history: %+v", it.History)
	}
	if it.ClaimerNames() != "李建国" {
		t.Errorf("claimers lost: %s", it.ClaimerNames())
	}
	before := *it
	if it.Erase(p, now.Add(2*time.Hour)) || len(it.History) != len(before.History) {
		t.Errorf("a second erase changed the item")
	}
}

func TestPurgeAfterRetention(t *testing.T) {
	closed := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	retention := 180 * 24 * time.Hour
	for _, tt := range []struct {
		age  time.Duration
		want bool
	}{
		{179 * 24 * time.Hour, false},
		{180 * 24 * time.Hour, true},
		{181 * 24 * time.Hour, true},
	} {
		it := privacyNeed(t, closed)
		now := closed.Add(tt.age)
		if got := it.Purge(retention, now); got != tt.want {
			t.Errorf("age %v: purged %v, want %v", tt.age, got, tt.want)
			continue
		}
		if !tt.want {
			continue
		}
		if l := leaks(it); len(l) > 0 {
			t.Errorf("personal data left: %q", l)
		}
		if !it.Purged.Equal(now) || it.RequesterName != community.PurgedName || it.History[len(it.History)-1].Action != community.ActPurge {
			t.Errorf("purged item: %+v", it)
		}
		if it.Purge(retention, now.Add(24*time.Hour)) {
			t.Error("purged twice")
		}
	}
	// Open items are never purged, whatever their age.
	open, err := community.NewNeed(2, community.Group{ID: "local:g"}, community.Actor{ID: "local:chen"}, community.Actor{ID: "local:chen"}, "电话13812345678", closed)
	if err != nil {
		t.Fatal(err)
	}
	if open.Purge(retention, closed.Add(3*retention)) {
		t.Error("an open need was purged")
	}
}
