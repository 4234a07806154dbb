package ledger

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// Data is everything the ledger reads: the items with any event in the period (more do no
// harm), the people, the groups, the notices and the activities.
type Data struct {
	Items      []*community.Item
	People     []community.Person
	Groups     []community.Group
	Notices    []Notice
	Activities []Activity
}

// Notice is a sent notice or poll with its receipts (from package notices' documents).
type Notice struct {
	ID         int64
	Kind       string // 通知 or 投票
	Subject    string
	AuthorName string
	SentAt     time.Time
	Groups     []string // target groups
	Acks       []Ack
}

// Ack is one 收到.
type Ack struct {
	Group, Person, Name string
	At                  time.Time
}

// Activity is one occurrence of a scheduled activity or meeting (package scheduler).
type Activity struct {
	ID, Title, Place string
	Start            time.Time
	Groups           []string // where it was announced
	Cancelled        bool
	People           []Attendee
}

// Attendee is one person's answer to an activity.
type Attendee struct {
	ID, Name string
	Status   string    // signup, leave, or "" (came without signing up)
	SignedIn time.Time // 签到
}

// Scope is whose figures: the reader's jurisdiction under the one authority rule.
type Scope struct {
	Tree   *community.Tree
	Reader community.Actor
	Name   string // as shown: 幸福社区, 和平街道
}

// NewScope is the jurisdiction of reader.
func NewScope(tree *community.Tree, reader community.Actor) Scope {
	s := Scope{Tree: tree, Reader: reader, Name: "全部"}
	if node, all := community.NewAuthority(tree).Scope(reader); !all && tree != nil {
		if n, ok := tree.Node(node); ok {
			s.Name = n.Name
		}
	}
	return s
}

// Covers reports whether node is in the scope.
func (s Scope) Covers(node string) bool {
	return community.NewAuthority(s.Tree).Covers(s.Reader, node)
}

// Full reports whether the reader may see it's personal data.
func (s Scope) Full(it *community.Item) bool {
	return community.NewAuthority(s.Tree).SightOf(s.Reader, it, "") == community.SightFull
}

// ItemLine is one item of the period, as the 事项台账 sheet shows it.
type ItemLine struct {
	Facts
	Grid      string // the grid's (or the group's node's) name
	Community string
	Group     string // the group's name
	Masked    bool   // personal data masked: the reader may not see it
}

// MemberLine is one member's service in the period.
type MemberLine struct {
	ID, Name, Unit string
	Node           string // home node
	Community      string // home community's name
	CommunityID    string
	Points         int
	Items          int // items completed (credited with 完成)
	OnTime, Late   int
	Ratings        int
	StarsSum       int
	Reopened       int
	Attended       int // activities signed in
	Credits        []Credit
}

// AvgStars is the average rating, 0 without ratings.
func (m MemberLine) AvgStars() float64 { return avg(m.StarsSum, m.Ratings) }

// UnitLine is one 共建单位's service in the period.
type UnitLine struct {
	Name     string
	Members  []MemberLine // by points, highest first
	Points   int
	Items    int
	Ratings  int
	StarsSum int
	Attended int
	ByMonth  [12]int // items completed per month (a year's period)
}

// AvgStars is the unit's average rating.
func (u UnitLine) AvgStars() float64 { return avg(u.StarsSum, u.Ratings) }

// Ledger is the period's figures for one scope.
type Ledger struct {
	Period     Period
	Scope      Scope
	Items      []ItemLine   // items with an event in the period, by number
	Members    []MemberLine // everyone who earned points or came to an activity, by points
	Units      []UnitLine   // by points
	Notices    []NoticeLine
	Activities []ActivityLine
	Summary    Summary
}

// NoticeLine is a notice sent in the period, counted within the scope.
type NoticeLine struct {
	Notice
	InScope int // target groups within the scope
	Acked   int // 收到 from those groups
}

// ActivityLine is an activity held in the period.
type ActivityLine struct {
	Activity
	Signups, Leaves, Attended int
}

// Summary is the month's (or year's) figures, as the 月报 card shows them.
type Summary struct {
	Received   int // needs filed (点单)
	Dispatched int // needs dispatched (派单) and items posted (发布)
	Claimed    int // items first claimed
	// ClaimMedian is the median time from dispatch to the first claim of the items first
	// claimed in the period.
	ClaimMedian time.Duration
	Done        int // items reported done (first completion)
	Confirmed   int // ratings given
	Cancelled   int
	OnTime      int // first completions by the deadline
	Late        int // first completions after it
	Overdue     int // items flagged overdue (挂牌)
	StarsSum    int
	Ratings     int
	FollowUps   int // 回访 opened
	Reopened    int // 重办
	Notices     int
	NoticeAcks  int
	Activities  int
	Signups     int
	Attended    int
	Leaves      int
	// Week is the needs received per 7 days from the 1st (per month for a year), by state now.
	Weeks []Bucket
	// ByState counts the needs received in the period by their state now.
	ByState []StateCount
	// StarsByGrid is the average rating per grid.
	StarsByGrid []GridStars
}

// AvgStars is the average rating in the period.
func (s Summary) AvgStars() float64 { return avg(s.StarsSum, s.Ratings) }

// Bucket is a slice of the period with a count.
type Bucket struct {
	Label string
	Count int
}

// StateCount is how many items are in a state.
type StateCount struct {
	State community.State
	Count int
}

// GridStars is a grid's ratings.
type GridStars struct {
	Grid     string
	Ratings  int
	StarsSum int
}

// Avg is the grid's average.
func (g GridStars) Avg() float64 { return avg(g.StarsSum, g.Ratings) }

// Build computes the ledger of period p within scope. rules price the credits.
func Build(d Data, p Period, sc Scope, rules Rules) *Ledger {
	b := NewBuilder(p, sc, rules, d.People, d.Groups)
	b.Add(d.Items, nil)
	return b.Finish(d.Notices, d.Activities)
}

// Builder computes a ledger from items given a chunk at a time, so a year of a street need
// not be in memory at once: Add with a visit function hands each item's line to it (to write
// a row) instead of keeping it in Ledger.Items.
type Builder struct {
	l          *Ledger
	p          Period
	sc         Scope
	rules      Rules
	groupNode  map[string]string
	groupName  map[string]string
	people     map[string]personInfo
	members    map[string]*MemberLine
	weeks      []Bucket
	states     map[community.State]int
	grids      map[string]*GridStars
	claimTimes []time.Duration
	seen       map[int64]bool
}

// NewBuilder starts the ledger of period p within scope.
func NewBuilder(p Period, sc Scope, rules Rules, people []community.Person, groups []community.Group) *Builder {
	b := &Builder{
		l: &Ledger{Period: p, Scope: sc}, p: p, sc: sc, rules: rules,
		groupNode: make(map[string]string, len(groups)), groupName: make(map[string]string, len(groups)),
		people: make(map[string]personInfo, len(people)), members: map[string]*MemberLine{},
		weeks: weekBuckets(p), states: map[community.State]int{}, grids: map[string]*GridStars{},
		seen: map[int64]bool{},
	}
	for _, g := range groups {
		b.groupNode[g.ID], b.groupName[g.ID] = g.Node, g.Name
	}
	for _, pp := range people {
		b.people[pp.ID] = personInfo{Name: pp.Name, Unit: pp.Unit, Node: pp.Node, Role: pp.Role}
	}
	return b
}

// personInfo is what the ledger reads of a person: a street's directory is tens of thousands
// of people, so the builder keeps only this of each, not their whole record.
type personInfo struct {
	Name, Unit, Node string
	Role             community.Role
}

func (b *Builder) member(id, name string) *MemberLine {
	if m := b.members[id]; m != nil {
		return m
	}
	m := &MemberLine{ID: id, Name: name}
	if pp, ok := b.people[id]; ok {
		m.Name, m.Unit, m.Node = pp.Name, pp.Unit, pp.Node
		if c, ok := ancestor(b.sc.Tree, pp.Node, community.KindCommunity); ok {
			m.Community, m.CommunityID = c.Name, c.ID
		}
	}
	b.members[id] = m
	return m
}

// Add counts items (in number order; an item already added is skipped). With visit nil
// their lines are kept in the ledger; else each is handed to visit and dropped.
func (b *Builder) Add(items []*community.Item, visit func(ItemLine) error) error {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b *community.Item) int { return cmp.Compare(a.No, b.No) })
	p, sc, tree, s := b.p, b.sc, b.sc.Tree, &b.l.Summary
	for _, it := range items {
		if b.seen[it.No] || !sc.Covers(it.Node) || !Active(it, p) {
			continue
		}
		b.seen[it.No] = true
		f := Analyze(it, b.rules.For(tree, it.Node))
		line := ItemLine{Facts: f, Group: b.groupName[it.GroupID], Masked: !sc.Full(it)}
		line.Grid = nodeName(tree, it.Node, community.KindGrid)
		line.Community = nodeName(tree, it.Node, community.KindCommunity)
		if visit == nil {
			b.l.Items = append(b.l.Items, line)
		} else if err := visit(line); err != nil {
			return err
		}

		if in(p, f.Filed) && it.Origin == community.OriginResident {
			s.Received++
			b.weeks[bucketOf(p, f.Filed)].Count++
			b.states[it.State]++
		}
		if in(p, f.Dispatched) {
			s.Dispatched++
		}
		if in(p, f.FirstClaim) {
			s.Claimed++
			if !f.Dispatched.IsZero() && !f.FirstClaim.Before(f.Dispatched) {
				b.claimTimes = append(b.claimTimes, f.FirstClaim.Sub(f.Dispatched))
			}
		}
		if in(p, f.FirstDone) {
			s.Done++
			if f.OnTime {
				s.OnTime++
			} else if f.Late {
				s.Late++
			}
		}
		if in(p, f.Cancelled) {
			s.Cancelled++
		}
		for _, r := range f.Ratings {
			if in(p, r.At) {
				s.Confirmed++
				s.Ratings++
				s.StarsSum += r.Stars
				g := b.grids[line.Grid]
				if g == nil {
					g = &GridStars{Grid: line.Grid}
					b.grids[line.Grid] = g
				}
				g.Ratings++
				g.StarsSum += r.Stars
			}
		}
		s.FollowUps += countIn(p, f.FollowUps)
		s.Reopened += countIn(p, f.Reopens)
		if countIn(p, f.Overdues) > 0 {
			s.Overdue++
		}
		for _, c := range f.Credits {
			if !in(p, c.At) {
				continue
			}
			m := b.member(c.Person, c.Name)
			m.Points += c.Points
			// The member's own strings, not the item's: the year's credits then keep none
			// of the items they came from.
			c.Person = m.ID
			if c.Name == m.Name {
				c.Name = m.Name
			}
			m.Credits = append(m.Credits, c)
			switch c.Kind {
			case CreditComplete:
				m.Items++
				if f.OnTime {
					m.OnTime++
				} else if f.Late {
					m.Late++
				}
			case CreditStars:
				m.Ratings++
				m.StarsSum += c.Stars
			case CreditReopened:
				m.Reopened++
			}
		}
	}
	return nil
}

// Finish adds the notices and activities and returns the ledger.
func (b *Builder) Finish(notices []Notice, activities []Activity) *Ledger {
	l, p, sc, s := b.l, b.p, b.sc, &b.l.Summary
	s.ClaimMedian = median(b.claimTimes)
	s.Weeks = b.weeks
	for _, st := range stateOrder {
		if n := b.states[st]; n > 0 {
			s.ByState = append(s.ByState, StateCount{st, n})
		}
	}
	for _, g := range b.grids {
		s.StarsByGrid = append(s.StarsByGrid, *g)
	}
	slices.SortFunc(s.StarsByGrid, func(a, b GridStars) int { return strings.Compare(a.Grid, b.Grid) })

	inScope := func(groups []string) int {
		n := 0
		for _, g := range groups {
			if sc.Covers(b.groupNode[g]) {
				n++
			}
		}
		return n
	}
	for _, nt := range notices {
		if !in(p, nt.SentAt) {
			continue
		}
		line := NoticeLine{Notice: nt, InScope: inScope(nt.Groups)}
		if line.InScope == 0 {
			continue
		}
		for _, a := range nt.Acks {
			if sc.Covers(b.groupNode[a.Group]) {
				line.Acked++
			}
		}
		s.Notices++
		s.NoticeAcks += line.Acked
		l.Notices = append(l.Notices, line)
	}
	slices.SortFunc(l.Notices, func(a, b NoticeLine) int { return a.SentAt.Compare(b.SentAt) })
	for _, ac := range activities {
		if ac.Cancelled || !in(p, ac.Start) || (len(ac.Groups) > 0 && inScope(ac.Groups) == 0) {
			continue
		}
		line := ActivityLine{Activity: ac}
		for _, at := range ac.People {
			switch at.Status {
			case "signup":
				line.Signups++
			case "leave":
				line.Leaves++
			}
			if !at.SignedIn.IsZero() {
				line.Attended++
				if pp, ok := b.people[at.ID]; ok && pp.Role.AtLeast(community.RoleMember) {
					b.member(at.ID, at.Name).Attended++
				}
			}
		}
		s.Activities++
		s.Signups += line.Signups
		s.Leaves += line.Leaves
		s.Attended += line.Attended
		l.Activities = append(l.Activities, line)
	}
	slices.SortFunc(l.Activities, func(a, b ActivityLine) int { return a.Start.Compare(b.Start) })

	for _, m := range b.members {
		l.Members = append(l.Members, *m)
	}
	slices.SortFunc(l.Members, byPoints)
	l.Units = units(l.Members, p)
	return l
}

// byPoints orders members by points, then average stars, then items, then name.
func byPoints(a, b MemberLine) int {
	if c := cmp.Compare(b.Points, a.Points); c != 0 {
		return c
	}
	if c := cmp.Compare(b.AvgStars(), a.AvgStars()); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Items, a.Items); c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
}

func units(ms []MemberLine, p Period) []UnitLine {
	byName := map[string]*UnitLine{}
	var out []UnitLine
	for _, m := range ms {
		if m.Unit == "" {
			continue
		}
		u := byName[m.Unit]
		if u == nil {
			u = &UnitLine{Name: m.Unit}
			byName[m.Unit] = u
		}
		u.Members = append(u.Members, m)
		u.Points += m.Points
		u.Items += m.Items
		u.Ratings += m.Ratings
		u.StarsSum += m.StarsSum
		u.Attended += m.Attended
		for _, c := range m.Credits {
			if c.Kind == CreditComplete {
				u.ByMonth[c.At.In(p.From.Location()).Month()-1]++
			}
		}
	}
	for _, u := range byName {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b UnitLine) int {
		return cmp.Or(cmp.Compare(b.Points, a.Points), strings.Compare(a.Name, b.Name))
	})
	return out
}

var stateOrder = []community.State{
	community.StateNeed, community.StateOpen, community.StateClaimed, community.StateDone,
	community.StateFollowUp, community.StateClosed, community.StateCancelled,
}

// weekBuckets: a month in 7-day slices from the 1st (the last one shorter), a year by month.
func weekBuckets(p Period) []Bucket {
	if p.Month == 0 {
		out := make([]Bucket, 12)
		for i := range out {
			out[i].Label = itoa(i+1) + "月"
		}
		return out
	}
	days := p.To.AddDate(0, 0, -1).Day()
	var out []Bucket
	for d := 1; d <= days; d += 7 {
		end := min(d+6, days)
		out = append(out, Bucket{Label: itoa(d) + "-" + itoa(end) + "日"})
	}
	return out
}

func bucketOf(p Period, t time.Time) int {
	t = t.In(p.From.Location())
	if p.Month == 0 {
		return int(t.Month()) - 1
	}
	return (t.Day() - 1) / 7
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

func avg(sum, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

func ancestor(t *community.Tree, node string, kind community.NodeKind) (community.Node, bool) {
	if t == nil || node == "" {
		return community.Node{}, false
	}
	return t.AncestorOfKind(node, kind)
}

// nodeName is the name of node's ancestor of kind (or node's own, when above that level).
func nodeName(t *community.Tree, node string, kind community.NodeKind) string {
	if n, ok := ancestor(t, node, kind); ok {
		return n.Name
	}
	if t != nil {
		if n, ok := t.Node(node); ok {
			return n.Name
		}
	}
	return "未分网格"
}
