package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The benchmark data every backend lists from: BenchItem(no) is item no of a few years of a
// busy community (20 groups, 1,000 residents, 200 members; most closed), the same on every
// backend so their numbers compare.

// BenchItem returns benchmark item no, created base + no·15 min.
func BenchItem(no int64, base time.Time) *community.Item {
	at := base.Add(time.Duration(no) * 15 * time.Minute)
	h := mix(uint64(no)) // independent choices for state, requester and member
	requester := community.Actor{ID: fmt.Sprintf("local:r%d", h%1000), Name: "居民"}
	member := community.Actor{ID: fmt.Sprintf("local:m%d", h/1000%200), Name: "党员"}
	it := &community.Item{
		No: no, GroupID: fmt.Sprintf("local:g%d", no%20), Node: "grid", Origin: community.OriginResident,
		Title:       fmt.Sprintf("%d栋%d单元楼道灯坏了，晚上出入很不方便，麻烦尽快派人维修", no%30, no%6),
		RequesterID: requester.ID, RequesterName: "居民", CreatedByID: requester.ID,
		Slots: 1, CreatedAt: at, UpdatedAt: at, Version: 4,
		History: []community.Event{
			{At: at, Action: community.ActFile, Actor: requester.ID, Name: "居民"},
			{At: at, Action: community.ActDispatch, Actor: "local:sec", Name: "王书记"},
		},
	}
	claim := func() {
		it.Claims = []community.Claim{{UserID: member.ID, Name: member.Name, At: at}}
		it.History = append(it.History, community.Event{At: at, Action: community.ActClaim, Actor: member.ID, Name: "党员"})
	}
	switch r := h / 200_000 % 100; {
	case r < 2:
		it.State = community.StateNeed
	case r < 4:
		it.State = community.StateOpen
	case r < 6:
		it.State = community.StateClaimed
		claim()
	case r < 8:
		it.State = community.StateDone
		claim()
	case r < 9:
		it.State = community.StateCancelled
	default:
		it.State = community.StateClosed
		it.Stars = 5
		claim()
	}
	if it.State != community.StateNeed && !it.State.Terminal() {
		it.Deadline = at.Add(72 * time.Hour) // all but the newest are overdue by BenchNow
	}
	return it
}

// BenchNow is when the benchmarks' 待办 queries ask: just after the newest item.
func BenchNow(n int) time.Time {
	return time.Date(2023, 1, 1, 9, 0, 0, 0, time.Local).Add(time.Duration(n+1) * 15 * time.Minute)
}

// TodoFilters are a street secretary's 待办 over 200 groups: everything open (what the
// handler read before it counted), the counts, and the two small lists it shows now.
func TodoFilters(n int) []struct {
	name  string
	f     store.ItemFilter
	count bool
} {
	all := store.ItemFilter{Groups: ManyGroups(200), Open: true}
	overdue := all
	overdue.States = []community.State{community.StateNeed, community.StateOpen, community.StateClaimed, community.StateFollowUp}
	overdue.DueBefore = BenchNow(n)
	first := overdue
	first.ByDeadline, first.Limit = true, 20
	newest := all
	newest.Limit = 20
	return []struct {
		name  string
		f     store.ItemFilter
		count bool
	}{
		{"todo-before-list-all", all, false},
		{"todo-count", all, true},
		{"todo-count-overdue", overdue, true},
		{"todo-overdue-bydeadline-limit20", first, false},
		{"todo-newest-limit20", newest, false},
	}
}

// BenchTodo runs TodoFilters on s.
func BenchTodo(b *testing.B, s store.Items, n int) {
	for _, bc := range TodoFilters(n) {
		b.Run(bc.name, func(b *testing.B) {
			var got int
			for b.Loop() {
				if bc.count {
					counts, err := s.CountItems(b.Context(), bc.f)
					if err != nil {
						b.Fatal(err)
					}
					got = 0
					for _, c := range counts {
						got += c
					}
					continue
				}
				items, err := s.ListItems(b.Context(), bc.f)
				if err != nil {
					b.Fatal(err)
				}
				got = len(items)
			}
			b.ReportMetric(float64(got), "items")
		})
	}
}

// mix is splitmix64's finalizer: a cheap, well-spread hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func ManyGroups(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("local:g%d", i)
	}
	return out
}
