package ledger

import (
	"slices"
	"strconv"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// Credit is points one member earned from one item at one moment.
type Credit struct {
	Item   int64
	Person string
	Name   string
	At     time.Time
	Kind   CreditKind
	Points int
	Stars  int // for a rating: its stars
}

// CreditKind says what a credit is for.
type CreditKind string

const (
	CreditComplete CreditKind = "complete" // 完成
	CreditOnTime   CreditKind = "ontime"   // 按时
	CreditStars    CreditKind = "stars"    // 评星
	CreditReopened CreditKind = "reopened" // 重办
)

var creditNames = map[CreditKind]string{CreditComplete: "完成", CreditOnTime: "按时", CreditStars: "评星", CreditReopened: "重办"}

// Chinese is the credit's name as shown.
func (k CreditKind) Chinese() string { return creditNames[k] }

// Rating is one confirm of an item.
type Rating struct {
	At    time.Time
	Stars int
}

// Facts is what an item's history says happened to it, replayed event by event.
type Facts struct {
	Item       *community.Item
	Filed      time.Time   // 点单 (a need) or 发布 (a direct post)
	Dispatched time.Time   // 派单, or the post itself
	FirstClaim time.Time   // the first 接单
	FirstDone  time.Time   // the first 完成
	Dones      []time.Time // every 完成
	Ratings    []Rating
	FollowUps  []time.Time // 回访 opened: a rating ≤3★ or 不满意
	Reopens    []time.Time // 重办
	Overdues   []time.Time // 挂牌
	Cancelled  time.Time
	Deadline   time.Time // the deadline in force at the first completion (or now, if none yet)
	// OnTime and Late judge the first completion against that deadline; an item without a
	// deadline completed counts as on time.
	OnTime, Late bool
	Completers   []community.Claim // who held the item at its (last) completion
	Credits      []Credit
}

// Analyze replays it's history under rule r.
func Analyze(it *community.Item, r Rule) Facts {
	f := Facts{Item: it}
	var holders []community.Claim
	// The deadline in force as the history goes: dispatch and reschedule events carry theirs;
	// a post's (not in its event) and one set before events kept deadlines are the item's.
	dl := it.Deadline
	credited := map[string]bool{}
	lastConfirm := -1
	for i, ev := range it.History {
		if ev.Action == community.ActConfirm {
			lastConfirm = i
		}
	}
	credit := func(to []community.Claim, at time.Time, k CreditKind, pts, stars int) {
		for _, c := range to {
			f.Credits = append(f.Credits, Credit{Item: it.No, Person: c.UserID, Name: c.Name, At: at, Kind: k, Points: pts, Stars: stars})
		}
	}
	for i, ev := range it.History {
		switch ev.Action {
		case community.ActFile:
			f.Filed = ev.At
		case community.ActPost:
			f.Filed, f.Dispatched = ev.At, ev.At
		case community.ActDispatch:
			if f.Dispatched.IsZero() {
				f.Dispatched = ev.At
			}
			if !ev.Deadline.IsZero() {
				dl = ev.Deadline
			}
		case community.ActReschedule:
			if !ev.Deadline.IsZero() {
				dl = ev.Deadline
			}
		case community.ActClaim:
			if f.FirstClaim.IsZero() {
				f.FirstClaim = ev.At
			}
			if !slices.ContainsFunc(holders, func(c community.Claim) bool { return c.UserID == ev.Actor }) {
				holders = append(holders, community.Claim{UserID: ev.Actor, Name: ev.Name, At: ev.At})
			}
		case community.ActRelease:
			holders = slices.DeleteFunc(holders, func(c community.Claim) bool { return c.UserID == ev.Actor })
		case community.ActComplete:
			f.Dones = append(f.Dones, ev.At)
			f.Completers = slices.Clone(holders)
			var fresh []community.Claim
			for _, c := range holders {
				if !credited[c.UserID] {
					credited[c.UserID] = true
					fresh = append(fresh, c)
				}
			}
			credit(fresh, ev.At, CreditComplete, r.Complete, 0)
			if f.FirstDone.IsZero() {
				f.FirstDone, f.Deadline = ev.At, dl
				if dl.IsZero() || !ev.At.After(dl) {
					f.OnTime = true
					if r.OnTime != 0 {
						credit(holders, ev.At, CreditOnTime, r.OnTime, 0)
					}
				} else {
					f.Late = true
				}
			}
		case community.ActConfirm:
			stars := ev.Stars
			if stars == 0 && i == lastConfirm {
				stars = it.Stars // recorded before events kept their stars
			}
			if stars > 0 {
				f.Ratings = append(f.Ratings, Rating{At: ev.At, Stars: stars})
				credit(f.Completers, ev.At, CreditStars, r.Star*stars, stars)
				if stars <= community.LowStars {
					f.FollowUps = append(f.FollowUps, ev.At)
				}
			}
		case community.ActUnsatisfied:
			f.FollowUps = append(f.FollowUps, ev.At)
		case community.ActReopen:
			f.Reopens = append(f.Reopens, ev.At)
			credit(holders, ev.At, CreditReopened, r.Reopened, 0)
		case community.ActOverdue:
			f.Overdues = append(f.Overdues, ev.At)
		case community.ActCancel:
			f.Cancelled = ev.At
		}
	}
	if f.FirstDone.IsZero() {
		f.Deadline = dl
	}
	// Credits worth nothing (a bonus switched off) are not shown.
	f.Credits = slices.DeleteFunc(f.Credits, func(c Credit) bool { return c.Points == 0 && c.Kind != CreditComplete })
	return f
}

// LastStars is the most recent rating's stars, 0 if never rated.
func (f Facts) LastStars() int {
	if len(f.Ratings) == 0 {
		return 0
	}
	return f.Ratings[len(f.Ratings)-1].Stars
}

// Active reports whether anything of f happened in p (any history event).
func Active(it *community.Item, p Period) bool {
	for _, ev := range it.History {
		if p.Contains(ev.At) {
			return true
		}
	}
	return false
}

func in(p Period, t time.Time) bool { return !t.IsZero() && p.Contains(t) }

func countIn(p Period, ts []time.Time) int {
	n := 0
	for _, t := range ts {
		if in(p, t) {
			n++
		}
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
