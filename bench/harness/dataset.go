package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The scale dataset: a street's worth of history in the demo community's org tree (the
// binary runs with the demo config, whose secretary 王书记 covers both grids). Items are filed
// over three years before the bench date; most went the whole loop and are closed, as in a
// community that has used the bot for years, and a few percent are still open.
const (
	dsGroups   = 200  // chat groups besides the demo's two
	dsOpenPerc = 5    // percent of items not closed or cancelled
	dsMemberPc = 3    // percent of persons who are party members (the rest are residents)
	dsYears    = 3    // how far back items go
	dsSeed     = 2026 // fixed, so every run builds the same data
)

// dsNow is the dataset's "now": items are older. It is the hour the harness starts, so the
// running bot (on the real clock) sees the items as recent history, some of it overdue.
var dsNow = time.Now().In(shanghai).Truncate(time.Hour)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// datasetStats counts what was built.
type datasetStats struct {
	Items, Open, Members, Groups int
	CaughtUp                     int // scheduler messages the catch-up marked sent
	Took                         time.Duration
}

func dsGroupID(i int) string { return fmt.Sprintf("local:g%03d", i) }

func dsMemberID(i int) string { return fmt.Sprintf("local:m%05d", i) }

// buildDataset fills st with nGroups groups, nMembers persons and nItems items, with workers
// writers at once (Redis gains from concurrency; bbolt serialises writes and gains nothing).
func buildDataset(ctx context.Context, st store.Store, nItems, nMembers, workers int) (datasetStats, error) {
	t0 := time.Now()
	stats := datasetStats{Items: nItems, Members: nMembers, Groups: dsGroups}
	groups := make([]community.Group, dsGroups)
	for i := range groups {
		node := "grid1"
		if i%2 == 1 {
			node = "grid2"
		}
		groups[i] = community.Group{ID: dsGroupID(i), Platform: "local", Chat: fmt.Sprintf("g%03d", i), Name: fmt.Sprintf("%d号楼群", i+1), Node: node}
		if err := st.PutGroup(ctx, groups[i]); err != nil {
			return stats, fmt.Errorf("group %d: %w", i, err)
		}
	}
	persons := make([]community.Person, nMembers)
	for i := range persons {
		role := community.RoleResident
		if i%100 < dsMemberPc {
			role = community.RoleMember
		}
		persons[i] = community.Person{
			ID: dsMemberID(i), Name: fmt.Sprintf("居民%05d", i), Role: role, Node: groups[i%dsGroups].Node,
			Phone: fmt.Sprintf("139%08d", i), Door: fmt.Sprintf("%d栋%d单元%d", i%40+1, i%4+1, 101+i%30), Approved: true,
		}
	}
	var members []community.Person
	for _, p := range persons {
		if p.Role == community.RoleMember {
			members = append(members, p)
		}
	}
	if len(members) == 0 {
		members = append(members, community.Person{ID: "local:li", Name: "李建国", Role: community.RoleMember})
	}
	secretary := community.Actor{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary}

	var next atomic.Int64
	var open atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	work := func(f func(i int) error, n int) {
		next.Store(0)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n || ctx.Err() != nil {
						return
					}
					if err := f(i); err != nil {
						select {
						case errc <- err:
						default:
						}
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	work(func(i int) error { return st.PutPerson(ctx, persons[i]) }, nMembers)
	select {
	case err := <-errc:
		return stats, fmt.Errorf("persons: %w", err)
	default:
	}
	span := time.Duration(dsYears) * 365 * 24 * time.Hour
	work(func(i int) error {
		// Items are created in number order by time; each worker's numbers interleave, so the
		// times come from i (the creation order), not from the number the store hands out.
		rng := rand.New(rand.NewPCG(dsSeed, uint64(i)))
		at := dsNow.Add(-span + time.Duration(float64(span)*float64(i)/float64(nItems)))
		g := groups[rng.IntN(len(groups))]
		req := persons[rng.IntN(len(persons))]
		claimer := members[rng.IntN(len(members))]
		openItem := rng.IntN(100) < dsOpenPerc || at.After(dsNow.Add(-7*24*time.Hour))
		_, err := st.CreateItem(ctx, func(no int64) (*community.Item, error) {
			it, err := community.NewNeed(no, g, community.ActorOf(req), community.ActorOf(req),
				fmt.Sprintf("%d栋%d单元楼道灯坏了，麻烦帮忙看看，电话%s", rng.IntN(40)+1, rng.IntN(4)+1, req.Phone), at)
			if err != nil {
				return nil, err
			}
			return it, advance(it, rng, at, openItem, secretary, community.ActorOf(req), community.ActorOf(claimer))
		})
		if err == nil && openItem {
			open.Add(1)
		}
		return err
	}, nItems)
	select {
	case err := <-errc:
		return stats, fmt.Errorf("items: %w", err)
	default:
	}
	stats.Open = int(open.Load())
	stats.Took = time.Since(t0)
	return stats, ctx.Err()
}

// advance takes a new need some way through the loop: open ones stop at a random step
// (need, open, claimed, done), the rest are confirmed and closed (a few cancelled).
func advance(it *community.Item, rng *rand.Rand, at time.Time, open bool, sec, req, claimer community.Actor) error {
	step := func(c community.Change) error { c.At = at; at = at.Add(time.Hour); return it.Apply(c) }
	if !open && rng.IntN(100) < 3 {
		return step(community.Change{Action: community.ActCancel, Actor: sec, Note: "重复提交"})
	}
	stop := 4
	if open {
		stop = rng.IntN(4)
	}
	if stop == 0 {
		return nil
	}
	deadline := time.Time{}
	if rng.IntN(2) == 0 {
		deadline = at.Add(72 * time.Hour) // some open ones are overdue by now
	}
	if err := step(community.Change{Action: community.ActDispatch, Actor: sec, Slots: 1, Deadline: deadline}); err != nil || stop == 1 {
		return err
	}
	if err := step(community.Change{Action: community.ActClaim, Actor: claimer}); err != nil || stop == 2 {
		return err
	}
	if err := step(community.Change{Action: community.ActComplete, Actor: claimer, Note: "已换灯泡"}); err != nil || stop == 3 {
		return err
	}
	return step(community.Change{Action: community.ActConfirm, Actor: req, Stars: 4 + rng.IntN(2), Note: "很及时，谢谢"})
}
