package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/neighborbot/neighborbot/community"
)

var (
	wang = community.Person{
		ID: "feishu:ou_wang", Name: "王建国", Role: community.RoleMember, Node: "b3", Phone: "13800138000",
		Door: "3栋2单元401", Duties: []string{"调解员"}, Teams: []string{"应急救援", "纠纷调解"}, Approved: true, Points: 7,
	}
	li = community.Person{ID: "local:li", Name: "李秀英", Role: community.RoleResident, Pending: true}
)

func testPersons(t *testing.T, e *env) {
	_, err := e.s.GetPerson(e.ctx, wang.ID)
	wantCode(t, err, community.ENotFound, "GetPerson before Put")
	persons, err := e.s.ListPersons(e.ctx)
	must(t, err, "ListPersons")
	if len(persons) != 0 {
		t.Fatalf("ListPersons on an empty store = %v", persons)
	}

	must(t, e.s.PutPerson(e.ctx, wang), "PutPerson")
	must(t, e.s.PutPerson(e.ctx, li), "PutPerson")
	got, err := e.s.GetPerson(e.ctx, wang.ID)
	must(t, err, "GetPerson")
	if !reflect.DeepEqual(got, wang) {
		t.Fatalf("GetPerson = %+v, want %+v", got, wang)
	}

	// Put replaces.
	li2 := li
	li2.Role, li2.Approved, li2.Pending = community.RoleMember, true, false
	must(t, e.s.PutPerson(e.ctx, li2), "PutPerson")
	e.checkPersons(wang, li2)

	// UpdatePerson on an absent person starts from the zero Person with the ID set.
	const newID = "wecom:zhao"
	var seen community.Person
	p, err := e.s.UpdatePerson(e.ctx, newID, func(p *community.Person) error {
		seen = *p
		p.Name = "赵大姐"
		p.Points += 2
		return nil
	})
	must(t, err, "UpdatePerson (absent)")
	if !reflect.DeepEqual(seen, community.Person{ID: newID}) {
		t.Fatalf("UpdatePerson on an absent person passed %+v, want the zero Person with ID %q", seen, newID)
	}
	zhao := community.Person{ID: newID, Name: "赵大姐", Points: 2}
	if !reflect.DeepEqual(p, zhao) {
		t.Fatalf("UpdatePerson returned %+v, want %+v", p, zhao)
	}

	// fn's error comes back as is and nothing is saved.
	boom := errors.New("boom")
	_, err = e.s.UpdatePerson(e.ctx, newID, func(p *community.Person) error {
		p.Points = 1000
		return boom
	})
	if err != boom {
		t.Fatalf("UpdatePerson with failing fn: %v, want %v as is", err, boom)
	}
	_, err = e.s.UpdatePerson(e.ctx, "local:ghost", func(p *community.Person) error { return boom })
	if err != boom {
		t.Fatalf("UpdatePerson with failing fn: %v, want %v as is", err, boom)
	}
	_, err = e.s.GetPerson(e.ctx, "local:ghost")
	wantCode(t, err, community.ENotFound, "GetPerson after a failed UpdatePerson")

	p, err = e.s.UpdatePerson(e.ctx, wang.ID, func(p *community.Person) error {
		p.Points++
		return nil
	})
	must(t, err, "UpdatePerson")
	wang2 := wang
	wang2.Points++
	if !reflect.DeepEqual(p, wang2) {
		t.Fatalf("UpdatePerson returned %+v, want %+v", p, wang2)
	}
	e.checkPersons(wang2, li2, zhao)
}

// checkPersons compares every person, in any order, with want.
func (e *env) checkPersons(want ...community.Person) {
	e.t.Helper()
	got, err := e.s.ListPersons(e.ctx)
	must(e.t, err, "ListPersons")
	byID := func(a, b community.Person) int { return cmp.Compare(a.ID, b.ID) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	if !reflect.DeepEqual(got, want) {
		e.t.Fatalf("ListPersons = %+v, want %+v", got, want)
	}
	for _, p := range want {
		g, err := e.s.GetPerson(e.ctx, p.ID)
		must(e.t, err, "GetPerson")
		if !reflect.DeepEqual(g, p) {
			e.t.Fatalf("GetPerson(%q) = %+v, want %+v", p.ID, g, p)
		}
	}
}

func testPersonsConcurrent(t *testing.T, e *env) {
	must(t, e.s.PutPerson(e.ctx, community.Person{ID: wang.ID, Name: wang.Name}), "PutPerson")
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := wang.ID
			if i%2 == 1 {
				id = "local:new" // half start from an absent person
			}
			_, err := e.s.UpdatePerson(e.ctx, id, func(p *community.Person) error {
				p.Points++
				return nil
			})
			if err != nil {
				t.Errorf("UpdatePerson %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for id, want := range map[string]int{wang.ID: n / 2, "local:new": n / 2} {
		p, err := e.s.GetPerson(e.ctx, id)
		must(t, err, "GetPerson")
		if p.Points != want {
			t.Errorf("%s has %d points after %d concurrent increments", id, p.Points, want)
		}
	}
}

func testGroups(t *testing.T, e *env) {
	_, err := e.s.GetGroup(e.ctx, groupA.ID)
	wantCode(t, err, community.ENotFound, "GetGroup before Put")
	groups, err := e.s.ListGroups(e.ctx)
	must(t, err, "ListGroups")
	if len(groups) != 0 {
		t.Fatalf("ListGroups on an empty store = %v", groups)
	}
	wecom := community.Group{ID: "wecom:wr1", Platform: "wecom", Chat: "wr1", Name: "和平里", RobotKey: "key-1"}
	for _, g := range []community.Group{groupA, groupB, wecom} {
		must(t, e.s.PutGroup(e.ctx, g), "PutGroup")
	}
	a2 := groupA
	a2.Node = "g9" // 绑定 again
	must(t, e.s.PutGroup(e.ctx, a2), "PutGroup")
	e.checkGroups(a2, groupB, wecom)
}

func (e *env) checkGroups(want ...community.Group) {
	e.t.Helper()
	got, err := e.s.ListGroups(e.ctx)
	must(e.t, err, "ListGroups")
	byID := func(a, b community.Group) int { return cmp.Compare(a.ID, b.ID) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	if !reflect.DeepEqual(got, want) {
		e.t.Fatalf("ListGroups = %+v, want %+v", got, want)
	}
	for _, g := range want {
		gg, err := e.s.GetGroup(e.ctx, g.ID)
		must(e.t, err, fmt.Sprintf("GetGroup(%q)", g.ID))
		if gg != g {
			e.t.Fatalf("GetGroup(%q) = %+v, want %+v", g.ID, gg, g)
		}
	}
}
