package bolt_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// TestListItemsManyGroups checks the union of many groups' indexes (a secretary's 待办 over
// every group of a street) against a plain filter of every item, for jurisdictions from one
// group to all of them, with and without the open and state indexes beside it.
func TestListItemsManyGroups(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "nb.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	const groups = 60
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sec := community.Actor{ID: "local:sec", Name: "书记", Role: community.RoleSecretary}
	states := []community.State{community.StateOpen, community.StateClaimed, community.StateClosed, community.StateCancelled}
	var all []*community.Item
	for range 1500 {
		g := community.Group{ID: fmt.Sprintf("local:g%02d", rng.IntN(groups))}
		state := states[rng.IntN(len(states))]
		it, err := st.CreateItem(ctx, func(no int64) (*community.Item, error) {
			it, err := community.NewPost(no, g, sec, "清理楼道", 1, time.Time{}, now)
			if err == nil {
				it.State = state
			}
			return it, err
		})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, it)
	}
	for _, n := range []int{1, 2, 7, 30, groups, groups + 5} {
		var gs []string
		for _, i := range rng.Perm(groups + 5)[:n] { // a few groups that hold nothing
			gs = append(gs, fmt.Sprintf("local:g%02d", i))
		}
		gs = append(gs, gs[0]) // a duplicate changes nothing
		for _, f := range []store.ItemFilter{
			{Groups: gs},
			{Groups: gs, Open: true},
			{Groups: gs, States: []community.State{community.StateOpen, community.StateClosed}},
			{Groups: gs, Open: true, Limit: 5},
		} {
			got, err := st.ListItems(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for i := len(all) - 1; i >= 0; i-- {
				it := all[i]
				if slices.Contains(gs, it.GroupID) && (!f.Open || !it.State.Terminal()) &&
					(len(f.States) == 0 || slices.Contains(f.States, it.State)) && (f.Limit == 0 || len(want) < f.Limit) {
					want = append(want, it.No)
				}
			}
			var nos []int64
			for _, it := range got {
				nos = append(nos, it.No)
			}
			if !slices.Equal(nos, want) {
				t.Errorf("%d groups, filter %+v: got %d items %v…, want %d %v…", n, f, len(nos), head(nos), len(want), head(want))
			}
		}
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 8)] }
