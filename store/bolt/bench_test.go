package bolt

// The benchmarks are white-box only to bulk-load: 100,000 items through CreateItem would be
// 100,000 transactions, through putItem it is ten.

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "neighborbot.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var (
	benchSecretary = community.Actor{ID: "local:sec", Name: "王书记", Role: community.RoleSecretary}
	benchGroup     = community.Group{ID: "local:g0", Platform: "local", Chat: "g0", Name: "幸福里"}
)

// BenchmarkContestedClaim is one 接单 rush: a fresh one-slot item and 100 members claiming it
// at once. One claim wins, 99 get a conflict; ns/op is the whole rush, durable writes included.
func BenchmarkContestedClaim(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	const members = 100
	actors := make([]community.Actor, members)
	for i := range actors {
		actors[i] = community.Actor{ID: fmt.Sprintf("local:m%d", i), Name: fmt.Sprintf("党员%d", i), Role: community.RoleMember}
	}
	now := time.Now()
	for b.Loop() {
		it, err := s.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewPost(no, benchGroup, benchSecretary, "帮忙搬家具", 1, time.Time{}, now)
		})
		if err != nil {
			b.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, a := range actors {
			wg.Go(func() {
				_, err := s.UpdateItem(ctx, it.No, func(it *community.Item) error {
					return it.Apply(community.Change{Action: community.ActClaim, Actor: a, At: now})
				})
				switch community.ErrorCode(err) {
				case "":
					wins.Add(1)
				case community.EConflict:
				default:
					b.Error(err)
				}
			})
		}
		wg.Wait()
		if w := wins.Load(); w != 1 {
			b.Fatalf("%d winners for one slot", w)
		}
	}
}

// BenchmarkListOpen lists from 100,000 items of which about 8% are still open, the shape of a
// few years of a busy community: the pages the bot shows most (待认领 in a group, a
// member's 待办, a resident's 我的) and, for scale, every open item.
func BenchmarkListOpen(b *testing.B) {
	s := openBench(b)
	const n = 100_000
	start := time.Now()
	if err := loadItems(s, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d items in %v", n, time.Since(start).Round(time.Millisecond))

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

// loadItems writes n items, 10,000 per transaction: 20 groups, 1,000 residents, 200 members;
// most closed, the rest spread over the other states.
func loadItems(s *Store, n int) error {
	base := time.Date(2023, 1, 1, 9, 0, 0, 0, time.Local)
	for lo := 1; lo <= n; lo += 10_000 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for no := lo; no < lo+10_000 && no <= n; no++ {
				if err := putItem(tx, nil, benchItem(int64(no), base)); err != nil {
					return err
				}
			}
			return tx.Bucket(bItems).SetSequence(uint64(min(lo+9_999, n)))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

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

// mix is splitmix64's finalizer: a cheap, well-spread hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func manyGroups(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("local:g%d", i)
	}
	return out
}
