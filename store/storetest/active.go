package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// testActiveItems checks ItemFilter.ActiveFrom/ActiveTo: items with an event in the range,
// whenever they were filed, and only those, as their histories grow across months.
func testActiveItems(t *testing.T, e *env) {
	loc := time.FixedZone("CST", 8*3600)
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, loc) }
	// Item i is filed on the 20th of month 1+i%6 at 10:00 and, for odd i, dispatched a
	// month later on the 1st at 00:30 (Shanghai: still the previous month in UTC).
	const n = 18
	for i := range n {
		filed := day(time.Month(1+i%6), 20, 10)
		it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
			return community.NewNeed(no, groupA, resident(i), resident(i), fmt.Sprintf("需求%d", i), filed)
		})
		must(t, err, "CreateItem")
		if i%2 == 1 {
			at := time.Date(2026, time.Month(2+i%6), 1, 0, 30, 0, 0, loc)
			_, err := e.apply(it.No, community.Change{Action: community.ActDispatch, Actor: secretary, At: at})
			must(t, err, "dispatch")
		}
	}
	month := func(m time.Month) store.ItemFilter {
		from := time.Date(2026, m, 1, 0, 0, 0, 0, loc)
		return store.ItemFilter{ActiveFrom: from, ActiveTo: from.AddDate(0, 1, 0)}
	}
	filters := []store.ItemFilter{
		month(1), month(2), month(3), month(7), month(12),
		{ActiveFrom: day(2, 1, 0), ActiveTo: day(2, 1, 1)},     // the first hour of February: the dispatches only
		{ActiveFrom: day(1, 20, 10), ActiveTo: day(1, 20, 11)}, // an hour of one day
		{ActiveFrom: day(1, 1, 0), ActiveTo: day(7, 1, 0)},     // half a year
		{ActiveFrom: day(3, 1, 0), ActiveTo: day(4, 1, 0), Limit: 2},
		{ActiveFrom: day(3, 1, 0), ActiveTo: day(4, 1, 0), States: []community.State{community.StateOpen}},
		{ActiveFrom: day(5, 1, 0), ActiveTo: day(5, 1, 0)}, // empty range
	}
	e.checkList(n, filters)
	// Reference sanity: February has the items filed then (1, 7, 13) and those dispatched on
	// its 1st (0, 6, 12 were not dispatched; 1, 7, 13 filed in Feb; the dispatch of items
	// filed in January, odd i with i%6 == 0, none).
	items, err := e.s.ListItems(e.ctx, month(2))
	must(t, err, "ListItems")
	if len(items) == 0 {
		t.Fatalf("nothing active in February")
	}
}
