package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/store"
)

// Registrations decides 报到 requests exactly as the chat's 同意 N / 拒绝 N 原因 do
// (handlers.Handlers): the same checks, the same change, the person told the same way.
type Registrations interface {
	PendingRegistrations(ctx context.Context, actor community.Actor) ([]community.Registration, error)
	Decide(ctx context.Context, actor community.Person, no int64, approve bool, reason string, now time.Time) (replies []string, outs []bot.Outbound, err error)
}

// peopleRoutes serves 人员: the 报到 requests to decide, the members with their points and
// stars, and the 共建单位.
func (c *Console) peopleRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/people", c.handle(c.peoplePage))
	mux.Handle("POST /console/people/registrations/{no}/{decision}", c.handle(c.decide))
}

// People is the 人员 page.
type People struct {
	Grid    string // the grid filter (an org node), "" for all
	Grids   []PlaceRow
	Pending []RegRow
	RegsOff bool // no Registrations wired
	Members []MemberRow
	Units   []UnitRow
	Year    string // 2026年
	Month   string // 12月
	Points  bool   // the ledger is wired: points and stars are shown
	Flash   *flash
	CSRF    string
}

// RegRow is one pending 报到 request.
type RegRow struct {
	community.Registration
	Where string // the group (or place) it came from
}

// MemberRow is one member with their points (the ledger's, as 我的积分 counts them).
type MemberRow struct {
	ID, Name, Unit, Phone string
	Role                  community.Role
	Grid, Community       string
	Month, Year           int    // points
	Stars                 string // 4.5星（2次）, or —
	Items                 int    // items completed this year
}

// UnitRow is one 共建单位 with its members in the jurisdiction.
type UnitRow struct {
	Name    string
	Members []MemberRow
	Points  int // this year, the members' sum
}

func (c *Console) peoplePage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	p, err := c.People(r.Context(), v, r.URL.Query().Get("grid"))
	if err != nil {
		return err
	}
	if d := r.URL.Query().Get("done"); d == "approve" || d == "refuse" {
		p.Flash = &flash{Text: map[string]string{"approve": "已同意报到申请，已通知本人。", "refuse": "已拒绝报到申请，已通知本人。"}[d]}
	}
	if isHX(r) && r.Header.Get("HX-Target") == "members" {
		c.renderPart(w, http.StatusOK, "people", "members", p)
		return nil
	}
	c.render(w, r, v, http.StatusOK, "people", "人员", p)
	return nil
}

// People reads the 人员 page for the viewer; a grid outside their jurisdiction is not found.
func (c *Console) People(ctx context.Context, v *Viewer, grid string) (*People, error) {
	s, err := c.ScopeOf(ctx, v)
	if err != nil {
		return nil, err
	}
	now := c.now()
	p := &People{Grid: grid, CSRF: v.Session.CSRF, Year: now.Format("2006年"), Month: now.Format("1月")}
	for _, pl := range c.places(s) {
		if pl.Node != "" {
			p.Grids = append(p.Grids, pl)
		}
	}
	if grid != "" && !slices.ContainsFunc(p.Grids, func(pl PlaceRow) bool { return pl.Node == grid }) {
		return nil, community.Errorf(community.ENotFound, "没有这个网格。")
	}
	if p.Pending, err = c.pending(ctx, v); err != nil {
		return nil, err
	}
	p.RegsOff = c.o.Registrations == nil

	persons, err := c.o.Store.ListPersons(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	var year *ledger.Ledger
	if c.o.Ledger != nil {
		if year, err = c.o.Ledger.Build(ctx, v.Person, ledger.YearOf(now.Year(), c.loc)); err != nil {
			return nil, err
		}
		p.Points = true
	}
	month := ledger.MonthOf(now.Year(), now.Month(), c.loc)
	units := map[string]*UnitRow{}
	for _, pr := range persons {
		if !community.ActorOf(pr).Role.AtLeast(community.RoleMember) || pr.Node == "" || !s.Covers(pr.Node) {
			continue
		}
		row := c.memberRow(v, pr, year, month)
		if pr.Unit != "" {
			u := units[pr.Unit]
			if u == nil {
				u = &UnitRow{Name: pr.Unit}
				units[pr.Unit] = u
			}
			u.Members = append(u.Members, row)
			u.Points += row.Year
		}
		if grid != "" && !c.placeHolds(grid, pr.Node) {
			continue
		}
		p.Members = append(p.Members, row)
	}
	byPoints := func(a, b MemberRow) int {
		return cmp.Or(b.Year-a.Year, b.Month-a.Month, strings.Compare(a.Grid, b.Grid), strings.Compare(a.Name, b.Name))
	}
	slices.SortFunc(p.Members, byPoints)
	for _, u := range units {
		slices.SortFunc(u.Members, byPoints)
		p.Units = append(p.Units, *u)
	}
	slices.SortFunc(p.Units, func(a, b UnitRow) int { return cmp.Or(b.Points-a.Points, strings.Compare(a.Name, b.Name)) })
	return p, nil
}

// memberRow is pr as the viewer may see them, with their points from the year's ledger.
func (c *Console) memberRow(v *Viewer, pr community.Person, year *ledger.Ledger, month ledger.Period) MemberRow {
	row := MemberRow{ID: pr.ID, Name: pr.Name, Unit: pr.Unit, Role: community.ActorOf(pr).Role, Stars: "—"}
	if c.o.Tree != nil {
		if n, ok := c.o.Tree.AncestorOfKind(pr.Node, community.KindGrid); ok {
			row.Grid = n.Name
		}
		if n, ok := c.o.Tree.AncestorOfKind(pr.Node, community.KindCommunity); ok {
			row.Community = n.Name
		}
	}
	// The phone only for those who cover the person's place (the rule the items' contacts
	// follow); others see it masked.
	if c.auth.Covers(v.Actor, pr.Node) {
		row.Phone = pr.Phone
	} else {
		row.Phone = community.MaskPhone(pr.Phone)
	}
	if year != nil {
		mp := ledger.PointsOf(year, pr.ID, month)
		row.Year, row.Month, row.Items = mp.YearLine.Points, mp.MonthLine.Points, mp.YearLine.Items
		if mp.YearLine.Ratings > 0 {
			row.Stars = fmt.Sprintf("%.1f星（%d次）", mp.YearLine.AvgStars(), mp.YearLine.Ratings)
		}
	}
	return row
}

// pending lists the 报到 requests the viewer decides.
func (c *Console) pending(ctx context.Context, v *Viewer) ([]RegRow, error) {
	if c.o.Registrations == nil {
		return nil, nil
	}
	regs, err := c.o.Registrations.PendingRegistrations(ctx, v.Actor)
	if err != nil {
		return nil, err
	}
	rows := make([]RegRow, 0, len(regs))
	for _, reg := range regs {
		where := c.nodeName(reg.Node)
		if reg.GroupID != "" {
			if g, err := c.o.Store.GetGroup(ctx, reg.GroupID); err == nil {
				where = g.Name
			}
		}
		rows = append(rows, RegRow{Registration: reg, Where: where})
	}
	return rows, nil
}

// decide is 同意 / 拒绝 of a 报到 request, through the chat's own path: the person is told
// exactly as from the chat.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	no, err := strconv.ParseInt(r.PathValue("no"), 10, 64)
	decision := r.PathValue("decision")
	if err != nil || no <= 0 || (decision != "approve" && decision != "refuse") || c.o.Registrations == nil {
		return community.Errorf(community.ENotFound, "没有这份报到申请。")
	}
	// A request outside the viewer's jurisdiction does not exist for them, like a decided one.
	regs, err := c.o.Registrations.PendingRegistrations(ctx, v.Actor)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(regs, func(reg community.Registration) bool { return reg.No == no }) {
		return community.Errorf(community.ENotFound, "没有找到待审核的报到申请 #%d（可能已处理）。", no)
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if n := len([]rune(reason)); n > 200 {
		return community.Errorf(community.EInvalid, "原因太长了（%d字），请控制在200字以内。", n)
	}
	now := c.now()
	replies, outs, err := c.o.Registrations.Decide(ctx, v.Person, no, decision == "approve", reason, now)
	if err != nil {
		return err
	}
	if err := c.enqueue(ctx, "reg-"+strconv.FormatInt(no, 10)+"-"+decision, outs, now); err != nil {
		return err
	}
	c.log.Info("console registration decided", "person", v.Person.ID, "registration", no, "decision", decision)
	if !isHX(r) {
		http.Redirect(w, r, "/console/people?done="+decision, http.StatusSeeOther)
		return nil
	}
	p, err := c.People(ctx, v, "")
	if err != nil {
		return err
	}
	p.Flash = &flash{Text: strings.Join(replies, "\n")}
	c.renderPart(w, http.StatusOK, "people", "regs", p)
	return nil
}
