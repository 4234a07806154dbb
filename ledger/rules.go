// Package ledger is the 台账: points (积分), stars and 服务之星, monthly reports and the
// figures behind the street's yearly workbook. It is pure: functions from items (with their
// full history), notices, activities and people to figures, and the Chinese text of its
// answers. Nothing here reads a store or a clock; ledger/chat does, ledger/xlsx writes the
// workbook and ledger/chart draws the chart.
//
// Points are recomputed from each item's history every time, so a change of the rule in
// the config applies to the past too: nothing is stored but the items themselves.
package ledger

import (
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
)

// Rule is what each step of an item earns the members who hold it.
type Rule struct {
	Complete int // claimed and completed (once per item)
	OnTime   int // completed (the first time) by the deadline in force then
	Star     int // each star of each rating
	Reopened int // each 重办 after a follow-up (回访), usually negative
}

// DefaultRule is the rule without configuration: 10, +5, +2 a star, -5.
func DefaultRule() Rule { return Rule{Complete: 10, OnTime: 5, Star: 2, Reopened: -5} }

// Rules is the street-wide rule and the communities' own.
type Rules struct {
	Street      Rule
	Communities map[string]Rule // community node id →
}

// RulesFrom reads the config's rules: unset fields take the default, a community's unset
// fields the street-wide value.
func RulesFrom(c config.Ledger) Rules {
	street := override(DefaultRule(), c.Points)
	rs := Rules{Street: street, Communities: map[string]Rule{}}
	for id, r := range c.Communities {
		rs.Communities[id] = override(street, r)
	}
	return rs
}

func override(base Rule, p config.PointsRule) Rule {
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set(&base.Complete, p.Complete)
	set(&base.OnTime, p.OnTime)
	set(&base.Star, p.Star)
	set(&base.Reopened, p.Reopened)
	return base
}

// For is the rule that applies to an item placed at node: its community's, else the street's.
func (rs Rules) For(tree *community.Tree, node string) Rule {
	if len(rs.Communities) > 0 && tree != nil && node != "" {
		if c, ok := tree.AncestorOfKind(node, community.KindCommunity); ok {
			if r, ok := rs.Communities[c.ID]; ok {
				return r
			}
		}
	}
	if rs.Street == (Rule{}) && rs.Communities == nil {
		return DefaultRule()
	}
	return rs.Street
}

// Period is a calendar month or year in one time zone: [From, To).
type Period struct {
	Year  int
	Month time.Month // 0 for the whole year
	From  time.Time
	To    time.Time
}

// MonthOf is month m of year y in loc.
func MonthOf(y int, m time.Month, loc *time.Location) Period {
	from := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	return Period{Year: y, Month: m, From: from, To: from.AddDate(0, 1, 0)}
}

// YearOf is year y in loc.
func YearOf(y int, loc *time.Location) Period {
	from := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	return Period{Year: y, From: from, To: from.AddDate(1, 0, 0)}
}

// Contains reports whether t lies in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Label is "2026年11月" or "2026年".
func (p Period) Label() string {
	if p.Month == 0 {
		return itoa(p.Year) + "年"
	}
	return itoa(p.Year) + "年" + itoa(int(p.Month)) + "月"
}

// Slug is "2026-11" or "2026", for file names and keys.
func (p Period) Slug() string {
	if p.Month == 0 {
		return itoa(p.Year)
	}
	return itoa(p.Year) + "-" + pad2(int(p.Month))
}

// Months lists the months of the period (one for a month).
func (p Period) Months() []Period {
	if p.Month != 0 {
		return []Period{p}
	}
	out := make([]Period, 12)
	for i := range out {
		out[i] = MonthOf(p.Year, time.Month(i+1), p.From.Location())
	}
	return out
}
