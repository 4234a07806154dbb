package redis

// White-box only to bulk-load: 100,000 items through CreateItem would be 100,000 round trips
// of compare-and-set, through pipelined restoreItem scripts they are a hundred pipelines.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	goredis "github.com/redis/go-redis/v9"
)

// BenchmarkListOpen lists from 100,000 items of which about 8% are still open, the same data
// and filters as bolt's benchmark of the same name. It logs Redis's memory for the data.
func BenchmarkListOpen(b *testing.B) {
	s, err := Open(context.Background(), "redis://"+redistest.Start(b), Options{Prefix: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const n = 100_000
	start := time.Now()
	if err := loadItems(b.Context(), s, n); err != nil {
		b.Fatal(err)
	}
	mem, _ := s.rdb.Info(b.Context(), "memory").Result()
	b.Logf("loaded %d items in %v; %s", n, time.Since(start).Round(time.Millisecond), usedMemory(mem))

	for _, bc := range []struct {
		name string
		f    store.ItemFilter
	}{
		{"open-limit20", store.ItemFilter{Open: true, Limit: 20}},
		{"group-open-limit20", store.ItemFilter{Groups: []string{"local:g3"}, Open: true, Limit: 20}},
		{"todo", store.ItemFilter{Claimer: "local:m7", Open: true}},
		{"requester", store.ItemFilter{Requester: "local:r42"}},
		{"groups-states", store.ItemFilter{Groups: []string{"local:g1", "local:g2"}, States: []community.State{community.StateOpen, community.StateNeed}}},
		{"open-all", store.ItemFilter{Open: true}},
		// A street secretary's view: open items of 200 groups (the 20 that have items among them).
		{"groups200-open-limit20", store.ItemFilter{Groups: manyGroups(200), Open: true, Limit: 20}},
		{"groups200-open", store.ItemFilter{Groups: manyGroups(200), Open: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var got int
			for b.Loop() {
				items, err := s.ListItems(b.Context(), bc.f)
				if err != nil {
					b.Fatal(err)
				}
				got = len(items)
			}
			b.ReportMetric(float64(got), "items")
		})
	}
	benchTodo(b, s, n)
}

func manyGroups(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("local:g%d", i)
	}
	return out
}

func usedMemory(info string) string {
	var human string
	for _, line := range splitLines(info) {
		if len(line) > 18 && line[:18] == "used_memory_human:" {
			human = line[18:]
		}
	}
	return "used_memory " + human
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		line := s[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		out = append(out, line)
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// loadItems writes n items with pipelined restoreItem scripts, 1,000 per pipeline.
func loadItems(ctx context.Context, s *Store, n int) error {
	if err := restoreItem.Load(ctx, s.rdb).Err(); err != nil {
		return err
	}
	base := time.Date(2023, 1, 1, 9, 0, 0, 0, time.Local)
	for lo := 1; lo <= n; lo += 1000 {
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for no := lo; no < lo+1000 && no <= n; no++ {
				it := benchItem(int64(no), base)
				data, err := json.Marshal(it)
				if err != nil {
					return err
				}
				keys := append([]string{s.k.itemSeq(), s.k.itemSource(), s.k.item(it.No), s.k.idxDue(), s.k.openStates()}, s.itemIndex(it)...)
				restoreItem.EvalSha(ctx, p, keys, it.No, data, it.Version, 0, it.Source, it.GroupID, string(it.State), dueScore(it), openState(it))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// benchItem is bolt's benchmark item: 20 groups, 1,000 residents, 200 members; most closed.
func benchItem(no int64, base time.Time) *community.Item {
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
		it.Deadline = at.Add(72 * time.Hour) // all but the newest are overdue by benchNow
	}
	return it
}

// benchNow is when the benchmarks' 待办 queries ask: just after the newest item.
func benchNow(n int) time.Time {
	return time.Date(2023, 1, 1, 9, 0, 0, 0, time.Local).Add(time.Duration(n+1) * 15 * time.Minute)
}

// todoFilters are a street secretary's 待办 over 200 groups: everything open (what the
// handler read before it counted), the counts, and the two small lists it shows now.
func todoFilters(n int) []struct {
	name  string
	f     store.ItemFilter
	count bool
} {
	all := store.ItemFilter{Groups: manyGroups(200), Open: true}
	overdue := all
	overdue.States = []community.State{community.StateNeed, community.StateOpen, community.StateClaimed, community.StateFollowUp}
	overdue.DueBefore = benchNow(n)
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

// benchTodo runs todoFilters on s.
func benchTodo(b *testing.B, s store.Items, n int) {
	for _, bc := range todoFilters(n) {
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

// mix is splitmix64's finalizer: a cheap, well-spread hash (as bolt's benchmark).
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
