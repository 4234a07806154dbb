package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

var (
	secretary = community.Actor{ID: "local:sec", Name: "王书记", Role: community.RoleSecretary}
	groupA    = community.Group{ID: "local:a", Platform: "local", Chat: "a", Name: "幸福里1群", Node: "g1"}
	groupB    = community.Group{ID: "local:b", Platform: "local", Chat: "b", Name: "幸福里2群", Node: "g2"}
	groupC    = community.Group{ID: "local:c", Platform: "local", Chat: "c", Name: "和平里群", Node: "g3"}
)

func member(i int) community.Actor {
	return community.Actor{ID: fmt.Sprintf("local:m%d", i), Name: fmt.Sprintf("党员%d", i), Role: community.RoleMember}
}

func resident(i int) community.Actor {
	return community.Actor{ID: fmt.Sprintf("local:r%d", i), Name: fmt.Sprintf("居民%d", i), Role: community.RoleResident}
}

// post creates an item a secretary posted directly, open with slots.
func (e *env) post(g community.Group, title string, slots int) *community.Item {
	e.t.Helper()
	it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
		return community.NewPost(no, g, secretary, title, slots, e.clock.Now().Add(72*time.Hour), e.clock.Now())
	})
	must(e.t, err, "CreateItem")
	return it
}

// need creates a resident's need.
func (e *env) need(g community.Group, by community.Actor, text string) *community.Item {
	e.t.Helper()
	it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
		return community.NewNeed(no, g, by, by, text, e.clock.Now())
	})
	must(e.t, err, "CreateItem")
	return it
}

// apply performs one change through UpdateItem.
func (e *env) apply(no int64, c community.Change) (*community.Item, error) {
	if c.At.IsZero() {
		c.At = e.clock.Now()
	}
	return e.s.UpdateItem(e.ctx, no, func(it *community.Item) error { return it.Apply(c) })
}

func (e *env) getItem(no int64) *community.Item {
	e.t.Helper()
	it, err := e.s.GetItem(e.ctx, no)
	must(e.t, err, fmt.Sprintf("GetItem(%d)", no))
	return it
}

func testCreateItemNumbers(t *testing.T, e *env) {
	for want := int64(1); want <= 3; want++ {
		it := e.post(groupA, fmt.Sprintf("清理楼道%d", want), 1)
		if it.No != want {
			t.Fatalf("item %d got number %d", want, it.No)
		}
		got := e.getItem(want)
		if got.No != want || got.Title != it.Title || got.State != community.StateOpen {
			t.Fatalf("GetItem(%d) = #%d %q %s, want #%d %q open", want, got.No, got.Title, got.State, want, it.Title)
		}
	}

	// A failing build uses no number, whether it fails with a plain or a domain error.
	boom := errors.New("boom")
	var offered int64
	_, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
		offered = no
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("CreateItem with a failing build: %v, want %v", err, boom)
	}
	if offered != 4 {
		t.Fatalf("build was offered %d, want 4", offered)
	}
	_, err = e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
		return community.NewNeed(no, groupA, resident(1), resident(1), "   ", e.clock.Now())
	})
	wantCode(t, err, community.EInvalid, "CreateItem with an empty need")
	if _, err := e.s.GetItem(e.ctx, 4); community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("GetItem(4) after failed builds: %v, want not found", err)
	}
	if it := e.need(groupA, resident(1), "3栋2单元楼道灯坏了"); it.No != 4 {
		t.Fatalf("item after failed builds got number %d, want 4", it.No)
	}

	for _, no := range []int64{0, 5, 999} {
		_, err := e.s.GetItem(e.ctx, no)
		wantCode(t, err, community.ENotFound, fmt.Sprintf("GetItem(%d)", no))
	}
}

func testCreateItemConcurrent(t *testing.T, e *env) {
	const n = 200
	nos := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
				return community.NewNeed(no, groupA, resident(i), resident(i), fmt.Sprintf("需求%d", i), e.clock.Now())
			})
			if err != nil {
				t.Errorf("CreateItem %d: %v", i, err)
				return
			}
			nos[i] = it.No
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sorted := slices.Clone(nos)
	slices.Sort(sorted)
	for i, no := range sorted {
		if no != int64(i+1) {
			t.Fatalf("numbers from %d concurrent creates are not 1..%d: %v", n, n, sorted)
		}
	}
	for i, no := range nos {
		if it := e.getItem(no); it.Title != fmt.Sprintf("需求%d", i) || it.RequesterID != resident(i).ID {
			t.Fatalf("item #%d holds %q for %s, want 需求%d for %s", no, it.Title, it.RequesterID, i, resident(i).ID)
		}
	}
}

func testUpdateItem(t *testing.T, e *env) {
	it := e.need(groupA, resident(1), "小区门口路灯不亮")
	v0 := it.Version

	// fn's error comes back as is and nothing is saved, even what fn changed before failing.
	boom := errors.New("boom")
	calls := 0
	_, err := e.s.UpdateItem(e.ctx, it.No, func(it *community.Item) error {
		calls++
		it.Title = "改坏了"
		it.State = community.StateCancelled
		return boom
	})
	if err != boom {
		t.Fatalf("UpdateItem with failing fn: %v, want %v as is", err, boom)
	}
	if calls == 0 {
		t.Fatal("fn was not called")
	}
	if got := e.getItem(it.No); got.Title != it.Title || got.State != community.StateNeed || got.Version != v0 {
		t.Fatalf("after failing fn: %q %s v%d, want %q need v%d", got.Title, got.State, got.Version, it.Title, v0)
	}

	// A domain error keeps its code.
	_, err = e.apply(it.No, community.Change{Action: community.ActClaim, Actor: member(1)})
	wantCode(t, err, community.EConflict, "claim before dispatch")

	// Each saved change increases Version by one; fn sees the saved item.
	got, err := e.apply(it.No, community.Change{Action: community.ActDispatch, Actor: secretary, Slots: 2})
	must(t, err, "dispatch")
	if got.State != community.StateOpen || got.Slots != 2 || got.Version != v0+1 {
		t.Fatalf("after dispatch: %s slots %d v%d, want open slots 2 v%d", got.State, got.Slots, got.Version, v0+1)
	}
	got, err = e.apply(it.No, community.Change{Action: community.ActClaim, Actor: member(1)})
	must(t, err, "claim")
	if got.Version != v0+2 || len(got.Claims) != 1 || got.Claims[0].UserID != member(1).ID {
		t.Fatalf("after claim: v%d claims %v, want v%d claimed by %s", got.Version, got.Claims, v0+2, member(1).ID)
	}
	saved := e.getItem(it.No)
	if saved.Version != got.Version || saved.State != got.State || len(saved.Claims) != 1 || len(saved.History) != len(got.History) {
		t.Fatalf("GetItem after update = v%d %s %d claims %d events, UpdateItem returned v%d %s %d claims %d events",
			saved.Version, saved.State, len(saved.Claims), len(saved.History), got.Version, got.State, len(got.Claims), len(got.History))
	}

	called := false
	_, err = e.s.UpdateItem(e.ctx, 999, func(*community.Item) error { called = true; return nil })
	wantCode(t, err, community.ENotFound, "UpdateItem(999)")
	if called {
		t.Error("fn was called for a missing item")
	}
}

func testContestedClaim(t *testing.T, e *env) {
	for _, slots := range []int{1, 3} {
		it := e.post(groupA, fmt.Sprintf("周六清理楼道 需要%d人", slots), slots)
		const n = 100
		won := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := e.apply(it.No, community.Change{Action: community.ActClaim, Actor: member(i)})
				switch community.ErrorCode(err) {
				case "":
					won[i] = true
				case community.EConflict:
				default:
					t.Errorf("claim by %s: %v, want success or conflict", member(i).ID, err)
				}
			})
		}
		wg.Wait()
		var winners []string
		for i, w := range won {
			if w {
				winners = append(winners, member(i).ID)
			}
		}
		if len(winners) != slots {
			t.Fatalf("%d winners for %d slots: %v", len(winners), slots, winners)
		}
		got := e.getItem(it.No)
		var claimers []string
		for _, c := range got.Claims {
			claimers = append(claimers, c.UserID)
		}
		slices.Sort(winners)
		slices.Sort(claimers)
		if !slices.Equal(winners, claimers) {
			t.Fatalf("saved claims %v, winners %v", claimers, winners)
		}
		if got.State != community.StateClaimed || got.Version != it.Version+int64(slots) {
			t.Fatalf("saved item %s v%d, want claimed v%d", got.State, got.Version, it.Version+int64(slots))
		}
	}
}

// matches is the reference ItemFilter, without Limit.
func matches(f store.ItemFilter, it *community.Item) bool {
	if len(f.Groups) > 0 && !slices.Contains(f.Groups, it.GroupID) {
		return false
	}
	if len(f.States) > 0 && !slices.Contains(f.States, it.State) {
		return false
	}
	if f.Requester != "" && it.RequesterID != f.Requester {
		return false
	}
	if f.Claimer != "" && !it.ClaimedBy(f.Claimer) {
		return false
	}
	if f.Open && it.State.Terminal() {
		return false
	}
	if (f.ByDeadline || !f.DueBefore.IsZero()) && (it.State.Terminal() || it.Deadline.IsZero()) {
		return false
	}
	if !f.DueBefore.IsZero() && it.Deadline.After(f.DueBefore) {
		return false
	}
	if store.ActiveFilter(f) && !store.ActiveIn(it, f.ActiveFrom, f.ActiveTo) {
		return false
	}
	return true
}

// byDeadline is ListItems' order for ByDeadline: earliest deadline first, then lowest number.
func byDeadline(a, b *community.Item) int {
	if c := a.Deadline.Compare(b.Deadline); c != 0 {
		return c
	}
	return cmp.Compare(a.No, b.No)
}

// checkList compares ListItems against the reference filter over every item 1..n.
func (e *env) checkList(n int64, filters []store.ItemFilter) {
	e.t.Helper()
	all := make([]*community.Item, 0, n)
	for no := n; no >= 1; no-- {
		all = append(all, e.getItem(no))
	}
	for _, f := range filters {
		order := all
		if f.ByDeadline {
			order = slices.Clone(all)
			slices.SortStableFunc(order, byDeadline)
		}
		var want []int64
		wantCount := map[community.State]int{}
		for _, it := range order {
			if matches(f, it) {
				wantCount[it.State]++
				if f.Limit == 0 || len(want) < f.Limit {
					want = append(want, it.No)
				}
			}
		}
		count, err := e.s.CountItems(e.ctx, f)
		must(e.t, err, fmt.Sprintf("CountItems(%+v)", f))
		if !maps.Equal(count, wantCount) {
			e.t.Errorf("CountItems(%+v) = %v, want %v", f, count, wantCount)
		}
		items, err := e.s.ListItems(e.ctx, f)
		must(e.t, err, fmt.Sprintf("ListItems(%+v)", f))
		got := make([]int64, len(items))
		for i, it := range items {
			got[i] = it.No
			if !matches(f, it) {
				e.t.Errorf("ListItems(%+v) returned #%d (%s %s %s), which does not match", f, it.No, it.GroupID, it.State, it.RequesterID)
			}
		}
		if !slices.Equal(got, want) {
			e.t.Errorf("ListItems(%+v) = %v, want %v", f, got, want)
		}
	}
}

var listFilters = []store.ItemFilter{
	{},
	{Limit: 5},
	{Groups: []string{groupA.ID}},
	{Groups: []string{groupA.ID, groupC.ID}},
	{Groups: []string{"local:nowhere"}},
	{States: []community.State{community.StateOpen}},
	{States: []community.State{community.StateClaimed, community.StateDone}},
	{States: []community.State{community.StateClosed, community.StateCancelled}, Limit: 4},
	{Requester: resident(1).ID},
	{Requester: secretary.ID, Open: true},
	{Requester: resident(2).ID, States: []community.State{community.StateNeed, community.StateOpen}},
	{Claimer: member(1).ID},
	{Claimer: member(2).ID, Open: true},
	{Claimer: "local:nobody"},
	{Claimer: member(3).ID, Groups: []string{groupA.ID, groupB.ID}},
	{Open: true},
	{Open: true, Limit: 1},
	{Open: true, Groups: []string{groupB.ID}, Limit: 3},
	{Open: true, Groups: []string{groupA.ID, groupB.ID}, States: []community.State{community.StateOpen, community.StateNeed}},
	{Groups: []string{groupA.ID}, States: []community.State{community.StateClaimed}, Claimer: member(1).ID, Requester: secretary.ID},
}

// dueFilters are filters on deadlines around base (spreadDeadlines puts them at base+1h
// to base+10h).
func dueFilters(base time.Time) []store.ItemFilter {
	h := func(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }
	return []store.ItemFilter{
		{DueBefore: h(3)},
		{DueBefore: h(3), Limit: 2},
		{DueBefore: h(-1)},
		{DueBefore: h(3), Groups: []string{groupA.ID, groupC.ID}},
		{DueBefore: h(5), States: []community.State{community.StateOpen, community.StateClaimed}},
		{DueBefore: h(6), Open: true, Limit: 4},
		{DueBefore: h(10), Requester: resident(2).ID},
		{DueBefore: h(80), Claimer: member(1).ID},
		{ByDeadline: true},
		{ByDeadline: true, Limit: 5},
		{ByDeadline: true, DueBefore: h(4), Groups: []string{groupB.ID}, Limit: 3},
		{ByDeadline: true, DueBefore: h(7), States: []community.State{community.StateNeed, community.StateFollowUp}},
		{ByDeadline: true, Claimer: member(1).ID, Open: true},
		{ByDeadline: true, Groups: []string{groupA.ID, groupB.ID}, Requester: secretary.ID, Limit: 2},
	}
}

// spreadDeadlines reschedules items lo..hi (those not closed or cancelled, and two in three)
// to deadlines from base+1h to base+10h, several items sharing each.
func (e *env) spreadDeadlines(lo, hi int64, base time.Time) {
	e.t.Helper()
	for no := lo; no <= hi; no++ {
		if no%3 == 0 {
			continue
		}
		d := base.Add(time.Duration((no*7)%10+1) * time.Hour)
		if _, err := e.apply(no, community.Change{Action: community.ActReschedule, Actor: secretary, Deadline: d}); err != nil {
			if _, ok := err.(*community.Error); !ok {
				e.t.Fatalf("reschedule #%d: %v", no, err)
			}
		}
	}
}

// churn creates n items and moves them through random legal changes.
func (e *env) churn(rng *rand.Rand, n int) {
	e.t.Helper()
	groups := []community.Group{groupA, groupB, groupC}
	for i := range n {
		g := groups[rng.IntN(len(groups))]
		if rng.IntN(2) == 0 {
			e.need(g, resident(rng.IntN(4)), fmt.Sprintf("需求%d", i))
		} else {
			e.post(g, fmt.Sprintf("活动%d", i), 1+rng.IntN(3))
		}
	}
	e.mutate(rng, 1, int64(n), 6*n)
}

// mutate applies steps random changes to items lo..hi; changes the state machine refuses are
// simply not saved.
func (e *env) mutate(rng *rand.Rand, lo, hi int64, steps int) {
	e.t.Helper()
	for range steps {
		no := lo + rng.Int64N(hi-lo+1)
		it := e.getItem(no)
		var c community.Change
		switch rng.IntN(11) {
		case 0:
			c = community.Change{Action: community.ActDispatch, Actor: secretary, Slots: 1 + rng.IntN(3)}
		case 1, 2, 3:
			c = community.Change{Action: community.ActClaim, Actor: member(rng.IntN(5))}
		case 4:
			if len(it.Claims) == 0 {
				continue
			}
			c = community.Change{Action: community.ActRelease, Actor: member(claimerIndex(it.Claims[rng.IntN(len(it.Claims))].UserID))}
		case 5:
			c = community.Change{Action: community.ActComplete, Actor: secretary}
		case 6:
			c = community.Change{Action: community.ActConfirm, Actor: community.Actor{ID: it.RequesterID, Role: community.RoleResident}, Stars: 1 + rng.IntN(5)}
			if it.Origin == community.OriginDirect {
				c.Actor = secretary
			}
		case 7:
			c = community.Change{Action: community.ActCancel, Actor: secretary, Note: "不需要了"}
		case 8:
			c = community.Change{Action: community.ActReopen, Actor: secretary}
		case 9:
			c = community.Change{Action: community.ActCloseOut, Actor: secretary}
		case 10:
			c = community.Change{Action: community.ActUnsatisfied, Actor: community.Actor{ID: it.RequesterID, Role: community.RoleResident}, Note: "没修好"}
			if it.Origin == community.OriginDirect {
				c.Actor = secretary
			}
		}
		if _, err := e.apply(no, c); err != nil {
			if _, ok := err.(*community.Error); !ok {
				e.t.Fatalf("apply %s to #%d: %v", c.Action, no, err)
			}
		}
	}
}

func claimerIndex(id string) int {
	var i int
	fmt.Sscanf(id, "local:m%d", &i)
	return i
}

func testListItems(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 60
	e.churn(rng, n)

	// The fixture must reach every state, or the filters prove little.
	seen := map[community.State]bool{}
	for no := int64(1); no <= n; no++ {
		seen[e.getItem(no).State] = true
	}
	for _, s := range []community.State{community.StateNeed, community.StateOpen, community.StateClaimed,
		community.StateDone, community.StateFollowUp, community.StateClosed, community.StateCancelled} {
		if !seen[s] {
			t.Fatalf("fixture has no item in state %s; change the seed", s)
		}
	}
	e.checkList(n, listFilters)

	items, err := e.s.ListItems(e.ctx, store.ItemFilter{})
	must(t, err, "ListItems")
	if len(items) != n || items[0].No != n || items[n-1].No != 1 {
		t.Fatalf("ListItems() returned %d items, want %d newest first", len(items), n)
	}
}

// testListItemsMaintained checks that what ListItems finds follows every change of state,
// claims and requester-facing fields: indexes must be kept up to date.
func testListItemsMaintained(t *testing.T, e *env) {
	it := e.post(groupA, "修自行车棚", 2)
	list := func(f store.ItemFilter) []int64 {
		t.Helper()
		items, err := e.s.ListItems(e.ctx, f)
		must(t, err, "ListItems")
		var nos []int64
		for _, it := range items {
			nos = append(nos, it.No)
		}
		return nos
	}
	expect := func(f store.ItemFilter, want ...int64) {
		t.Helper()
		if got := list(f); !slices.Equal(got, want) {
			t.Fatalf("ListItems(%+v) = %v, want %v", f, got, want)
		}
	}
	mine := store.ItemFilter{Claimer: member(1).ID, Open: true}
	expect(mine)
	_, err := e.apply(it.No, community.Change{Action: community.ActClaim, Actor: member(1)})
	must(t, err, "claim")
	expect(mine, it.No)
	expect(store.ItemFilter{States: []community.State{community.StateOpen}}, it.No)
	_, err = e.apply(it.No, community.Change{Action: community.ActClaim, Actor: member(2)})
	must(t, err, "claim")
	expect(store.ItemFilter{States: []community.State{community.StateOpen}})
	expect(store.ItemFilter{States: []community.State{community.StateClaimed}}, it.No)
	_, err = e.apply(it.No, community.Change{Action: community.ActRelease, Actor: member(1)})
	must(t, err, "release")
	expect(mine)
	expect(store.ItemFilter{Claimer: member(2).ID}, it.No)
	expect(store.ItemFilter{States: []community.State{community.StateOpen}}, it.No)
	_, err = e.apply(it.No, community.Change{Action: community.ActCancel, Actor: secretary})
	must(t, err, "cancel")
	expect(store.ItemFilter{Open: true})
	expect(store.ItemFilter{Open: true, Claimer: member(2).ID})
	expect(store.ItemFilter{Claimer: member(2).ID}, it.No)
	expect(store.ItemFilter{States: []community.State{community.StateCancelled}}, it.No)

	// A bigger random history, checked against the reference after every round.
	rng := rand.New(rand.NewPCG(3, 4))
	e.churn(rng, 30)
	for range 3 {
		e.mutate(rng, 1, 31, 60)
		e.checkList(31, listFilters)
	}
}

// testDueItems checks DueBefore, ByDeadline and CountItems against the reference, after
// deadlines are set, moved and dropped and items change state.
func testDueItems(t *testing.T, e *env) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 45
	base := e.clock.Now()
	e.churn(rng, n)
	filters := append(slices.Clone(listFilters), dueFilters(base)...)
	e.checkList(n, filters)
	e.spreadDeadlines(1, n, base)
	e.checkList(n, filters)
	for round := range 3 {
		e.mutate(rng, 1, n, 40) // closes and cancels take items out of the deadline index
		e.spreadDeadlines(int64(1+round*10), int64(10+round*10), base.Add(time.Duration(round+1)*time.Hour))
		e.checkList(n, filters)
	}
	// A dispatch sets a deadline, a cancel drops it.
	need := e.need(groupA, resident(1), "换灯泡")
	_, err := e.apply(need.No, community.Change{Action: community.ActDispatch, Actor: secretary, Slots: 1, Deadline: base.Add(2 * time.Hour)})
	must(t, err, "dispatch")
	e.checkList(need.No, filters)
	_, err = e.apply(need.No, community.Change{Action: community.ActCancel, Actor: secretary})
	must(t, err, "cancel")
	e.checkList(need.No, filters)
	counts, err := e.s.CountItems(e.ctx, store.ItemFilter{Open: true})
	must(t, err, "CountItems")
	if len(counts) == 0 {
		t.Fatal("CountItems(open) found nothing: the fixture proves little")
	}
}

// testCreateItemSource: an event handled again (after a crash mid-handling, on any replica)
// finds the item it created the first time; no second item, no number used.
func testCreateItemSource(t *testing.T, e *env) {
	mk := func(source, text string) *community.Item {
		t.Helper()
		it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
			it, err := community.NewNeed(no, groupA, resident(1), resident(1), text, e.clock.Now())
			if it != nil {
				it.Source = source
			}
			return it, err
		})
		must(t, err, "CreateItem")
		return it
	}
	first := mk("local:ev1", "楼道灯坏了")
	again := mk("local:ev1", "楼道灯坏了")
	if again.No != first.No || again.Title != first.Title {
		t.Fatalf("same source created item %d, then %d", first.No, again.No)
	}
	if next := mk("local:ev2", "垃圾桶满了"); next.No != first.No+1 {
		t.Fatalf("a deduplicated create used a number: next is %d, want %d", next.No, first.No+1)
	}
	// Without a source, every create is new.
	if a, b := e.need(groupA, resident(1), "x"), e.need(groupA, resident(1), "x"); a.No == b.No {
		t.Fatal("two creates without a source share a number")
	}
	// Concurrent re-deliveries of one event: one item.
	var wg sync.WaitGroup
	nos := make([]int64, 20)
	for i := range nos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
				it, err := community.NewNeed(no, groupA, resident(2), resident(2), "并发", e.clock.Now())
				if it != nil {
					it.Source = "local:ev-burst"
				}
				return it, err
			})
			if err != nil {
				t.Error(err)
				return
			}
			nos[i] = it.No
		}()
	}
	wg.Wait()
	for _, n := range nos {
		if n != nos[0] {
			t.Fatalf("concurrent creates from one source made items %v", nos)
		}
	}
}
