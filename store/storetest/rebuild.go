package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// A backend that adds an item index rebuilds it from older data when it opens. Its test fills
// a store with RebuildFixture, takes ViewIndexes, drops the index the older data lacked,
// reopens, and checks the new view with IndexView.Check.

// RebuildFixture creates 12 posts due an hour apart from now (the last created first) and
// cancels every third, leaving 8 open, each with a deadline.
func RebuildFixture(t testing.TB, st store.Items, now time.Time) {
	t.Helper()
	ctx := t.Context()
	for i := range 12 {
		_, err := st.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewPost(no, groupA, secretary, fmt.Sprintf("活动%d", i), 1, now.Add(time.Duration(12-i)*time.Hour), now)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for no := int64(1); no <= 12; no += 3 {
		if _, err := st.UpdateItem(ctx, no, func(it *community.Item) error {
			return it.Apply(community.Change{Action: community.ActCancel, Actor: secretary, At: now})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if v := ViewIndexes(t, st, now); len(v.Lists[1]) != 8 {
		t.Fatalf("ByDeadline lists %v, want the 8 open items", v.Lists[1])
	}
}

// IndexView is what the item indexes answer: CountItems and the numbers ListItems gives, for
// open items, items by deadline and items due within 6 hours of now (rebuildFilters).
type IndexView struct {
	Counts []map[community.State]int
	Lists  [][]int64
}

func rebuildFilters(now time.Time) []store.ItemFilter {
	return []store.ItemFilter{{Open: true}, {ByDeadline: true}, {DueBefore: now.Add(6 * time.Hour)}}
}

// ViewIndexes asks st what IndexView holds.
func ViewIndexes(t testing.TB, st store.Items, now time.Time) IndexView {
	t.Helper()
	var v IndexView
	for _, f := range rebuildFilters(now) {
		c, err := st.CountItems(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		items, err := st.ListItems(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		var nos []int64
		for _, it := range items {
			nos = append(nos, it.No)
		}
		v.Counts, v.Lists = append(v.Counts, c), append(v.Lists, nos)
	}
	return v
}

// Check reports where got, the view after the rebuild, differs from want.
func (want IndexView) Check(t testing.TB, got IndexView, now time.Time) {
	t.Helper()
	for i, f := range rebuildFilters(now) {
		if !maps.Equal(got.Counts[i], want.Counts[i]) || !slices.Equal(got.Lists[i], want.Lists[i]) {
			t.Errorf("after rebuild %+v: %v %v, want %v %v", f, got.Counts[i], got.Lists[i], want.Counts[i], want.Lists[i])
		}
	}
}
