package store

import (
	"slices"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// monthZone is the zone months are indexed in: Asia/Shanghai's offset (it has had no daylight
// saving since 1991), fixed so a store needs no zone database.
var monthZone = time.FixedZone("CST", 8*3600)

// MonthKey is the month index key of t: "2026-11".
func MonthKey(t time.Time) string { return t.In(monthZone).Format("2006-01") }

// ActiveMonths lists the months (MonthKey) in which it has events, in order, without repeats.
// Backends index items by them for ItemFilter.ActiveFrom/ActiveTo.
func ActiveMonths(it *community.Item) []string {
	var out []string
	for _, ev := range it.History {
		k := MonthKey(ev.At)
		if len(out) == 0 || out[len(out)-1] != k {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// MonthsBetween lists the month keys that [from, to) touches, oldest first.
func MonthsBetween(from, to time.Time) []string {
	if !from.Before(to) {
		return nil
	}
	var out []string
	f := from.In(monthZone)
	m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, monthZone)
	for ; m.Before(to); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// ActiveFilter reports whether f selects by activity.
func ActiveFilter(f ItemFilter) bool { return !f.ActiveFrom.IsZero() && !f.ActiveTo.IsZero() }

// ActiveIn reports whether it has an event in [from, to).
func ActiveIn(it *community.Item, from, to time.Time) bool {
	for _, ev := range it.History {
		if !ev.At.Before(from) && ev.At.Before(to) {
			return true
		}
	}
	return false
}
