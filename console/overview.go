package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// overviewRoutes serves 总览.
func (c *Console) overviewRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/{$}", c.handle(c.overview))
}

// Overview is 总览 for one jurisdiction.
type Overview struct {
	Totals  PlaceRow
	Places  []PlaceRow // communities, each followed by its grids
	Weeks   []Week     // the trend, oldest first
	Chart   Chart
	Overdue []*community.Item // the most overdue first
	Month   string            // 2026年11月
}

// PlaceRow counts one place's items.
type PlaceRow struct {
	Node, Name  string
	Grid        bool // a grid under the community row above it
	Open        int  // not closed nor cancelled
	Overdue     int  // past the deadline, still in hand
	Done        int  // reported done, awaiting the recipient's confirmation
	ClosedMonth int  // closed this month
	groups      []string
}

// Week is one week of the trend: items filed and items closed.
type Week struct {
	Start         time.Time
	Filed, Closed int
}

// TrendWeeks is how many weeks the trend chart shows.
const TrendWeeks = 12

// trendTTL is how long a jurisdiction's trend and monthly figures are fresh: they read every
// item active in twelve weeks, while the open and overdue counts are read live from indexes.
// Older figures are still shown while one request's worth of work refreshes them in the
// background, so only the first 总览 of a jurisdiction in a process waits for them.
const trendTTL = time.Minute

func (c *Console) overview(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ov, err := c.Overview(r.Context(), v)
	if err != nil {
		return err
	}
	c.render(w, r, v, http.StatusOK, "overview", "总览", ov)
	return nil
}

// Overview computes 总览 for the viewer's jurisdiction.
func (c *Console) Overview(ctx context.Context, v *Viewer) (*Overview, error) {
	s, err := c.ScopeOf(ctx, v)
	if err != nil {
		return nil, err
	}
	now := c.now()
	ov := &Overview{Month: now.Format("2006年1月"), Totals: PlaceRow{Name: "合计"}}
	ov.Places = c.places(s)
	tr, err := c.trendOf(ctx, s, now)
	if err != nil {
		return nil, err
	}
	for i := range ov.Places {
		p := &ov.Places[i]
		if !p.Grid {
			continue // communities are the sums of their grids, below
		}
		if err := c.countPlace(ctx, p, now); err != nil {
			return nil, err
		}
		p.ClosedMonth = tr.closedMonth[p.Node]
	}
	var comm *PlaceRow
	for i := range ov.Places {
		p := &ov.Places[i]
		if !p.Grid {
			comm = p
			continue
		}
		if comm != nil {
			comm.Open += p.Open
			comm.Overdue += p.Overdue
			comm.Done += p.Done
			comm.ClosedMonth += p.ClosedMonth
		}
		ov.Totals.Open += p.Open
		ov.Totals.Overdue += p.Overdue
		ov.Totals.Done += p.Done
		ov.Totals.ClosedMonth += p.ClosedMonth
	}
	ov.Weeks = tr.weeks
	ov.Chart = trendChart(tr.weeks)
	f, ok := s.Filter(store.ItemFilter{ByDeadline: true, DueBefore: now, Limit: 10})
	if ok {
		items, err := c.o.Store.ListItems(ctx, f)
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		for _, it := range items {
			if it.IsOverdue(now) && s.Covers(it.Node) {
				ov.Overdue = append(ov.Overdue, shown(it, c.auth.SightOf(v.Actor, it, "")))
			}
		}
	}
	return ov, nil
}

// places lists the scope's communities, each followed by its grids (a group bound above a
// grid counts as its own row, "直属"), with the groups each row counts.
func (c *Console) places(s *Scope) []PlaceRow {
	type grid struct {
		node   string
		groups []string
	}
	byComm := map[string][]*grid{}
	gridOf := map[string]*grid{}
	var comms []string
	for _, g := range s.Groups {
		gnode, cnode := g.Node, ""
		if c.o.Tree != nil {
			if n, ok := c.o.Tree.AncestorOfKind(g.Node, community.KindGrid); ok {
				gnode = n.ID
			}
			if n, ok := c.o.Tree.AncestorOfKind(g.Node, community.KindCommunity); ok {
				cnode = n.ID
			}
		}
		gr, ok := gridOf[gnode]
		if !ok {
			gr = &grid{node: gnode}
			gridOf[gnode] = gr
			if _, seen := byComm[cnode]; !seen {
				comms = append(comms, cnode)
			}
			byComm[cnode] = append(byComm[cnode], gr)
		}
		gr.groups = append(gr.groups, g.ID)
	}
	order := c.treeOrder()
	slices.SortFunc(comms, func(a, b string) int { return order[a] - order[b] })
	var out []PlaceRow
	for _, cn := range comms {
		name := c.nodeName(cn)
		if cn == "" {
			name = "未绑定社区"
		}
		out = append(out, PlaceRow{Node: cn, Name: name})
		grids := byComm[cn]
		slices.SortFunc(grids, func(a, b *grid) int { return order[a.node] - order[b.node] })
		for _, g := range grids {
			name := c.nodeName(g.node)
			if g.node == cn && cn != "" {
				name = "社区直属"
			} else if g.node == "" {
				name = "未绑定的群"
			}
			if c.o.Tree != nil {
				if n, ok := c.o.Tree.Node(g.node); ok && n.Kind == community.KindGrid {
					name = n.Name
				}
			}
			out = append(out, PlaceRow{Node: g.node, Name: name, Grid: true, groups: g.groups})
		}
	}
	return out
}

// treeOrder numbers the org nodes in the config's order.
func (c *Console) treeOrder() map[string]int {
	order := map[string]int{}
	if c.o.Tree != nil {
		for i, n := range c.o.Tree.Nodes() {
			order[n.ID] = i + 1
		}
	}
	return order
}

// countPlace reads a row's open, done and overdue counts from the store's indexes.
func (c *Console) countPlace(ctx context.Context, p *PlaceRow, now time.Time) error {
	open, err := c.o.Store.CountItems(ctx, store.ItemFilter{Groups: p.groups, Open: true})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	for _, n := range open {
		p.Open += n
	}
	p.Done = open[community.StateDone]
	due, err := c.o.Store.CountItems(ctx, store.ItemFilter{Groups: p.groups, ByDeadline: true, DueBefore: now})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	for st, n := range due {
		if st != community.StateDone { // done awaits the recipient: no longer the claimer's to miss
			p.Overdue += n
		}
	}
	return nil
}

// trend is a jurisdiction's figures that need the items themselves.
type trend struct {
	weeks       []Week
	closedMonth map[string]int // by grid row node
	at          time.Time
}

// trends caches trend per jurisdiction (stale while refreshing, see trendTTL).
type trends struct {
	mu sync.Mutex
	m  map[string]*trendEntry
}

type trendEntry struct {
	ready      chan struct{} // closed once the first read is done
	t          *trend
	err        error
	refreshing bool
}

// trendOf returns the scope's trend: computed now the first time, else the one kept, which a
// background read replaces once it is older than trendTTL (or from a clock set back).
func (c *Console) trendOf(ctx context.Context, s *Scope, now time.Time) (*trend, error) {
	key := fmt.Sprintf("%v|%s", s.All, s.Node)
	c.trend.mu.Lock()
	if c.trend.m == nil {
		c.trend.m = map[string]*trendEntry{}
	}
	e := c.trend.m[key]
	if e == nil {
		e = &trendEntry{ready: make(chan struct{})}
		c.trend.m[key] = e
		c.trend.mu.Unlock()
		e.t, e.err = c.readTrend(ctx, s, now)
		close(e.ready)
		if e.err != nil {
			c.trend.mu.Lock()
			delete(c.trend.m, key)
			c.trend.mu.Unlock()
		}
		return e.t, e.err
	}
	c.trend.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	c.trend.mu.Lock()
	t := e.t
	if (now.Sub(t.at) >= trendTTL || now.Before(t.at)) && !e.refreshing {
		e.refreshing = true
		go func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			fresh, err := c.readTrend(rctx, s, now)
			c.trend.mu.Lock()
			defer c.trend.mu.Unlock()
			e.refreshing = false
			if err != nil {
				c.log.Warn("console: trend not refreshed", "err", err)
				return
			}
			e.t = fresh
		}()
	}
	c.trend.mu.Unlock()
	return t, nil
}

func (c *Console) readTrend(ctx context.Context, s *Scope, now time.Time) (*trend, error) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, c.loc)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	from := monday.AddDate(0, 0, -7*(TrendWeeks-1))
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, c.loc)
	if monthStart.Before(from) {
		from = monthStart
	}
	t := &trend{closedMonth: map[string]int{}, at: now}
	for i := range TrendWeeks {
		t.weeks = append(t.weeks, Week{Start: monday.AddDate(0, 0, -7*(TrendWeeks-1-i))})
	}
	items, err := c.Items(ctx, s, store.ItemFilter{ActiveFrom: from, ActiveTo: now.Add(time.Second)})
	if err != nil {
		return nil, err
	}
	gridOf := map[string]string{}
	for _, p := range c.places(s) {
		for _, g := range p.groups {
			gridOf[g] = p.Node
		}
	}
	week := func(at time.Time) int {
		if at.Before(t.weeks[0].Start) {
			return -1
		}
		return min(int(at.Sub(t.weeks[0].Start)/(7*24*time.Hour)), TrendWeeks-1)
	}
	for _, it := range items {
		if i := week(it.CreatedAt); i >= 0 {
			t.weeks[i].Filed++
		}
		if it.State == community.StateClosed && !it.ClosedAt.IsZero() {
			if i := week(it.ClosedAt); i >= 0 {
				t.weeks[i].Closed++
			}
			if !it.ClosedAt.Before(monthStart) {
				t.closedMonth[gridOf[it.GroupID]]++
			}
		}
	}
	return t, nil
}

// Chart is the trend as an SVG bar chart, drawn on the server (no script).
type Chart struct {
	W, H  int
	Bars  []Bar
	Ticks []Tick
	Base  int // the x axis' y
}

// Bar is one bar of the chart.
type Bar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

// Tick is a label on an axis.
type Tick struct {
	X, Y  int
	Text  string
	Right bool
}

func trendChart(weeks []Week) Chart {
	const w, h, left, bottom, top = 640, 200, 34, 22, 10
	ch := Chart{W: w, H: h, Base: h - bottom}
	peak := 1
	for _, wk := range weeks {
		peak = max(peak, wk.Filed, wk.Closed)
	}
	peak = niceCeil(peak)
	plot := h - bottom - top
	slot := (w - left) / max(len(weeks), 1)
	bw := max(slot/3, 2)
	for i, wk := range weeks {
		x := left + i*slot + (slot-2*bw)/2
		for j, bar := range []struct {
			n           int
			class, what string
		}{{wk.Filed, "bar-open", "新增"}, {wk.Closed, "bar-closed", "办结"}} {
			bh := bar.n * plot / peak
			ch.Bars = append(ch.Bars, Bar{X: x + j*bw, Y: h - bottom - bh, W: bw - 1, H: bh, Class: bar.class,
				Title: fmt.Sprintf("%s起一周%s %d 件", wk.Start.Format("1月2日"), bar.what, bar.n)})
		}
		if i%2 == 0 || len(weeks) <= 6 {
			ch.Ticks = append(ch.Ticks, Tick{X: left + i*slot + slot/2, Y: h - 6, Text: wk.Start.Format("1/2")})
		}
	}
	for _, v := range []int{0, peak / 2, peak} {
		ch.Ticks = append(ch.Ticks, Tick{X: left - 6, Y: h - bottom - v*plot/peak + 4, Text: itoa(v), Right: true})
	}
	return ch
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, for the axis.
func niceCeil(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
