package ledgertest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The bench dataset, as bench/harness builds it (dataset.go there; that package is a
// program, so its generator is repeated here): a street's worth of history in the demo
// community's org tree, 200 groups alternating between grid1 and grid2, items filed over
// three years before Now, most of them closed after the whole loop, a few percent open.
// Party members also report from one of ten 共建单位.
const (
	DSGroups   = 200
	DSOpenPerc = 5
	DSMemberPc = 3
	DSYears    = 3
	DSSeed     = 2026
	DSUnits    = 10
)

// DSNow is the dataset's "now": 1 December 2026, 9:00, when November's report goes out.
func DSNow() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, Shanghai()) }

// Dataset calls emit with the dataset's records, a chunk at a time (groups and persons
// first, then items by number), for a store.Dumper's Restore.
func Dataset(nItems, nPersons int, emit func([]store.Record) error) error {
	now := DSNow()
	groups := make([]community.Group, DSGroups)
	var recs []store.Record
	for i := range groups {
		node := "grid1"
		if i%2 == 1 {
			node = "grid2"
		}
		groups[i] = community.Group{ID: fmt.Sprintf("local:g%03d", i), Platform: "local", Chat: fmt.Sprintf("g%03d", i), Name: fmt.Sprintf("%d号楼群", i+1), Node: node}
		recs = append(recs, store.Record{Group: &groups[i]})
	}
	persons := make([]community.Person, nPersons)
	var members []community.Person
	for i := range persons {
		role := community.RoleResident
		if i%100 < DSMemberPc {
			role = community.RoleMember
		}
		persons[i] = community.Person{
			ID: fmt.Sprintf("local:m%05d", i), Name: fmt.Sprintf("居民%05d", i), Role: role, Node: groups[i%DSGroups].Node,
			Phone: fmt.Sprintf("139%08d", i), Door: fmt.Sprintf("%d栋%d单元%d", i%40+1, i%4+1, 101+i%30), Approved: true,
		}
		if role == community.RoleMember {
			persons[i].Unit = fmt.Sprintf("共建单位%02d", i%DSUnits+1)
			members = append(members, persons[i])
		}
		recs = append(recs, store.Record{Person: &persons[i]})
	}
	secretary := community.Person{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary, Node: "xingfu", Approved: true}
	street := community.Person{ID: "local:zhou", Name: "周书记", Role: community.RoleStreet, Node: "street", Approved: true}
	recs = append(recs, store.Record{Person: &secretary}, store.Record{Person: &street})
	if err := emit(recs); err != nil {
		return err
	}
	recs = recs[:0]
	sec := community.ActorOf(secretary)
	span := time.Duration(DSYears) * 365 * 24 * time.Hour
	for i := range nItems {
		rng := rand.New(rand.NewPCG(DSSeed, uint64(i)))
		at := now.Add(-span + time.Duration(float64(span)*float64(i)/float64(nItems)))
		g := groups[rng.IntN(len(groups))]
		req := persons[rng.IntN(len(persons))]
		claimer := members[rng.IntN(len(members))]
		open := rng.IntN(100) < DSOpenPerc || at.After(now.Add(-7*24*time.Hour))
		it, err := community.NewNeed(int64(i+1), g, community.ActorOf(req), community.ActorOf(req),
			fmt.Sprintf("%d栋%d单元楼道灯坏了，麻烦帮忙看看，电话%s", rng.IntN(40)+1, rng.IntN(4)+1, req.Phone), at)
		if err != nil {
			return err
		}
		if err := advance(it, rng, at, open, sec, community.ActorOf(req), community.ActorOf(claimer)); err != nil {
			return fmt.Errorf("item %d: %w", i+1, err)
		}
		it.Version = 1
		recs = append(recs, store.Record{Item: it})
		if len(recs) == 5000 {
			if err := emit(recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	if len(recs) > 0 {
		return emit(recs)
	}
	return nil
}

// advance is bench/harness's: open items stop at a random step, the rest are confirmed and
// closed (a few cancelled).
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
		deadline = at.Add(72 * time.Hour)
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
