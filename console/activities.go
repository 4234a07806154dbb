package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
)

// activitiesRoutes serves 活动: the coming dates of the activities and meetings in the
// viewer's jurisdiction with their sign-ups, an occurrence's sign-ups and attendance, and
// creating or changing a recurring activity through the scheduler's own 活动 / 修改活动.
func (c *Console) activitiesRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/activities", c.handle(c.activitiesPage))
	mux.Handle("POST /console/activities", c.handle(c.activityCreate))
	mux.Handle("GET /console/activities/{id}", c.handle(c.schedulePage))
	mux.Handle("POST /console/activities/{id}", c.handle(c.activityChange))
	mux.Handle("GET /console/activities/{id}/{occ}", c.handle(c.occurrencePage))
}

const (
	// upcomingDays is how far ahead 活动 lists dates.
	upcomingDays = 62
	// datesPerSchedule bounds a daily schedule's share of the list.
	datesPerSchedule = 3
)

// Activities is the 活动 page.
type Activities struct {
	Page      string // "list" (the template shows one of list, show, occ)
	FormView  ActivityForm
	Off       bool // no scheduler wired
	Upcoming  []Upcoming
	Schedules []ScheduleRow
	Form      scheduler.Form
	Err       string // the form's error, in Chinese
	Scopes    []PlaceRow
	All       bool // the viewer may send to every group
	CSRF      string
}

// Upcoming is one coming date.
type Upcoming struct {
	scheduler.Date
	S                       *scheduler.Schedule
	Kind                    string
	Signup, Leave, SignedIn int
	Announced               bool
}

// ScheduleRow is one schedule as listed.
type ScheduleRow struct {
	S        *scheduler.Schedule
	Kind     string
	Rule     string
	Scope    string
	Next     time.Time
	Editable bool
}

// kindName names a schedule's kind in Chinese.
func kindName(k string) string {
	switch k {
	case config.ScheduleTheme:
		return "主题党日"
	case config.ScheduleMeeting:
		return "联席会议"
	case config.ScheduleJointActivity:
		return "联合活动"
	case config.ScheduleCongress:
		return "党员代表大会"
	case config.ScheduleStandup:
		return "早碰头"
	}
	return "活动"
}

// visibleSchedules are the live schedules the viewer's jurisdiction is concerned with: those
// announced in one of its groups, or sent to a place within it.
func (c *Console) visibleSchedules(ctx context.Context, s *Scope) ([]*scheduler.Schedule, error) {
	all, err := c.o.Scheduler.Schedules(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sc := range all {
		if c.scheduleVisible(s, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func (c *Console) scheduleVisible(s *Scope, sc *scheduler.Schedule) bool {
	if s.All {
		return true
	}
	if slices.ContainsFunc(sc.Nodes, s.Covers) {
		return true
	}
	return slices.ContainsFunc(s.Groups, func(g community.Group) bool { return g.Node != "" && c.o.Scheduler.Reaches(sc, g.Node) })
}

// schedule returns schedule id if the viewer's jurisdiction is concerned with it; else it is
// not found, like one that does not exist.
func (c *Console) schedule(ctx context.Context, v *Viewer, id string) (*scheduler.Schedule, *Scope, error) {
	if c.o.Scheduler == nil {
		return nil, nil, community.Errorf(community.ENotFound, "没有这个活动。")
	}
	s, err := c.ScopeOf(ctx, v)
	if err != nil {
		return nil, nil, err
	}
	sc, err := c.o.Scheduler.Schedule(ctx, id)
	if community.ErrorCode(err) == community.ENotFound || err == nil && !c.scheduleVisible(s, sc) {
		return nil, nil, community.Errorf(community.ENotFound, "没有这个活动。")
	}
	return sc, s, err
}

// editable reports whether the console offers to change sc: one created in chat, by the viewer
// or within their jurisdiction (the scheduler's own check decides in the end).
func (c *Console) editable(s *Scope, v *Viewer, sc *scheduler.Schedule) bool {
	if sc.Source != scheduler.SourceChat || sc.Cancelled || !v.Actor.Role.AtLeast(community.RoleSecretary) {
		return false
	}
	if sc.CreatedBy == v.Person.ID || s.All {
		return true
	}
	return len(sc.Nodes) > 0 && !slices.ContainsFunc(sc.Nodes, func(n string) bool { return !s.Covers(n) })
}

func (c *Console) scopeLabel(nodes []string) string {
	if len(nodes) == 0 {
		return "全部群"
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = c.nodeName(n)
	}
	return strings.Join(names, "、")
}

// Activities reads the 活动 page for the viewer.
func (c *Console) Activities(ctx context.Context, v *Viewer) (*Activities, error) {
	a := &Activities{CSRF: v.Session.CSRF}
	if c.o.Scheduler == nil {
		a.Off = true
		return a, nil
	}
	s, err := c.ScopeOf(ctx, v)
	if err != nil {
		return nil, err
	}
	a.All = s.All
	for _, pl := range c.places(s) {
		if pl.Node != "" {
			a.Scopes = append(a.Scopes, pl)
		}
	}
	scheds, err := c.visibleSchedules(ctx, s)
	if err != nil {
		return nil, err
	}
	now := c.now()
	until := now.AddDate(0, 0, upcomingDays)
	for _, sc := range scheds {
		if sc.Cancelled {
			continue
		}
		row := ScheduleRow{S: sc, Kind: kindName(sc.Kind), Rule: c.o.Scheduler.RuleText(sc), Scope: c.scopeLabel(sc.Nodes), Editable: c.editable(s, v, sc)}
		dates := c.o.Scheduler.Dates(sc, now, datesPerSchedule)
		if len(dates) > 0 {
			row.Next = dates[0].At
		}
		a.Schedules = append(a.Schedules, row)
		for _, d := range dates {
			if d.At.After(until) {
				break
			}
			u, err := c.upcoming(ctx, sc, d)
			if err != nil {
				return nil, err
			}
			a.Upcoming = append(a.Upcoming, u)
		}
	}
	slices.SortFunc(a.Upcoming, func(x, y Upcoming) int { return x.At.Compare(y.At) })
	slices.SortFunc(a.Schedules, func(x, y ScheduleRow) int {
		if x.Next.IsZero() != y.Next.IsZero() {
			if x.Next.IsZero() {
				return 1
			}
			return -1
		}
		return x.Next.Compare(y.Next)
	})
	return a, nil
}

// upcoming counts a coming date's answers from its occurrence, if one is recorded.
func (c *Console) upcoming(ctx context.Context, sc *scheduler.Schedule, d scheduler.Date) (Upcoming, error) {
	u := Upcoming{Date: d, S: sc, Kind: kindName(sc.Kind)}
	occs, err := c.occurrence(ctx, sc.ID, d.ID)
	if err != nil || occs == nil {
		return u, err
	}
	u.Announced = occs.Steps[scheduler.StepAnnounce].Done()
	for _, at := range occs.People {
		switch at.Status {
		case scheduler.StatusSignup:
			u.Signup++
		case scheduler.StatusLeave:
			u.Leave++
		}
		if !at.SignedIn.IsZero() {
			u.SignedIn++
		}
	}
	return u, nil
}

// occurrence reads occurrence id of schedule sid (nil if none is recorded).
func (c *Console) occurrence(ctx context.Context, sid, id string) (*scheduler.Occurrence, error) {
	o, err := c.o.Scheduler.Occurrence(ctx, id)
	if err != nil || o == nil || o.Schedule != sid {
		return nil, err
	}
	return o, nil
}

func (c *Console) activitiesPage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	a, err := c.Activities(r.Context(), v)
	if err != nil {
		return err
	}
	c.render(w, r, v, http.StatusOK, "activities", "活动", a.view(c))
	return nil
}

// formOf reads the activity form.
func formOf(r *http.Request) scheduler.Form {
	return scheduler.Form{
		Meeting: r.PostFormValue("kind") == "meeting",
		Rule:    strings.TrimSpace(r.PostFormValue("rule")), Title: strings.TrimSpace(r.PostFormValue("title")),
		Place: strings.TrimSpace(r.PostFormValue("place")), Scope: strings.TrimSpace(r.PostFormValue("scope")),
		Remind: strings.TrimSpace(r.PostFormValue("remind")),
	}
}

// formError is err as the form shows it, when it is the person's to fix (ok false otherwise).
func formError(err error) (string, bool) {
	switch community.ErrorCode(err) {
	case community.EInvalid, community.EConflict, community.EForbidden, community.ENotFound:
		return community.ErrorMessage(err), true
	}
	return "", false
}

// activityCreate is 活动 / 会议 from the form, through the scheduler's own create; a mistake
// shows the form again with everything typed in it and the reason in Chinese.
func (c *Console) activityCreate(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	if c.o.Scheduler == nil {
		return community.Errorf(community.EInvalid, "活动功能未启用。")
	}
	f := formOf(r)
	sc, replies, outs, err := c.o.Scheduler.Create(ctx, v.Person, f, c.now())
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		a, err := c.Activities(ctx, v)
		if err != nil {
			return err
		}
		a.Form, a.Err = f, msg
		c.render(w, r, v, http.StatusUnprocessableEntity, "activities", "活动", a.view(c))
		return nil
	}
	if err := c.enqueue(ctx, "activity-"+sc.ID+"-create", outs, c.now()); err != nil {
		return err
	}
	c.log.Info("console activity created", "person", v.Person.ID, "schedule", sc.ID, "rule", sc.Rule, "replies", len(replies))
	http.Redirect(w, r, "/console/activities/"+sc.ID+"?done=create", http.StatusSeeOther)
	return nil
}

// ActivityForm is the form that creates or changes an activity, as shown.
type ActivityForm struct {
	Form   scheduler.Form
	Err    string
	Scopes []PlaceRow
	All    bool
	CSRF   string
	Action string
	Create bool
	Other  string // the scope's label when none of the options is it (several places): kept as is
}

func (c *Console) activityForm(f scheduler.Form, errText string, scopes []PlaceRow, all bool, csrf, action string, create bool) ActivityForm {
	af := ActivityForm{Form: f, Err: errText, Scopes: scopes, All: all, CSRF: csrf, Action: action, Create: create}
	known := f.Scope == "" && create || f.Scope == "全部" && all || slices.ContainsFunc(scopes, func(p PlaceRow) bool { return p.Node == f.Scope })
	if !known {
		if f.Scope == "全部" {
			af.Other = "全部群"
		} else {
			af.Other = c.scopeLabel(strings.Fields(f.Scope))
		}
	}
	return af
}

// SchedulePage is one activity: what and when, its coming dates, its past dates with their
// attendance, and the form that changes it.
type SchedulePage struct {
	Page     string // "show"
	FormView ActivityForm
	S        *scheduler.Schedule
	Kind     string
	Rule     string
	Scope    string
	Dates    []Upcoming
	Past     []Upcoming
	Editable bool
	Form     scheduler.Form
	Err      string
	Flash    *flash
	Scopes   []PlaceRow
	All      bool
	CSRF     string
}

// SchedulePage reads schedule id for the viewer: not found outside their jurisdiction.
func (c *Console) SchedulePage(ctx context.Context, v *Viewer, id string) (*SchedulePage, error) {
	sc, s, err := c.schedule(ctx, v, id)
	if err != nil {
		return nil, err
	}
	now := c.now()
	p := &SchedulePage{S: sc, Kind: kindName(sc.Kind), Rule: c.o.Scheduler.RuleText(sc), Scope: c.scopeLabel(sc.Nodes),
		Editable: c.editable(s, v, sc), Form: scheduler.FormOf(sc), CSRF: v.Session.CSRF, All: s.All}
	for _, pl := range c.places(s) {
		if pl.Node != "" {
			p.Scopes = append(p.Scopes, pl)
		}
	}
	if !sc.Cancelled {
		for _, d := range c.o.Scheduler.Dates(sc, now, datesPerSchedule) {
			u, err := c.upcoming(ctx, sc, d)
			if err != nil {
				return nil, err
			}
			p.Dates = append(p.Dates, u)
		}
	}
	occs, err := c.o.Scheduler.Occurrences(ctx, sc.ID)
	if err != nil {
		return nil, err
	}
	for i := len(occs) - 1; i >= 0 && len(p.Past) < 12; i-- {
		o := occs[i]
		if !o.Start.Before(now) {
			continue
		}
		u, err := c.upcoming(ctx, sc, scheduler.Date{At: o.Start, Natural: o.Start, ID: o.ID})
		if err != nil {
			return nil, err
		}
		p.Past = append(p.Past, u)
	}
	return p, nil
}

func (c *Console) schedulePage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	p, err := c.SchedulePage(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "create":
		p.Flash = &flash{Text: "已创建，将按时在群里发布通知和提醒。"}
	case "change":
		p.Flash = &flash{Text: "已修改，已发布过通知的群会收到更新。"}
	}
	c.render(w, r, v, http.StatusOK, "activities", p.S.Title, p.view(c))
	return nil
}

// activityChange is 修改活动 from the form, through the scheduler's own modify.
func (c *Console) activityChange(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, _, err := c.schedule(ctx, v, id); err != nil {
		return err
	}
	f := formOf(r)
	sc, _, outs, err := c.o.Scheduler.Change(ctx, v.Person, id, f, c.now())
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return err
		}
		p, err := c.SchedulePage(ctx, v, id)
		if err != nil {
			return err
		}
		p.Form, p.Err = f, msg
		c.render(w, r, v, http.StatusUnprocessableEntity, "activities", p.S.Title, p.view(c))
		return nil
	}
	if err := c.enqueue(ctx, "activity-"+sc.ID+"-change", outs, c.now()); err != nil {
		return err
	}
	c.log.Info("console activity changed", "person", v.Person.ID, "schedule", sc.ID, "rev", sc.Rev)
	http.Redirect(w, r, "/console/activities/"+sc.ID+"?done=change", http.StatusSeeOther)
	return nil
}

// OccurrencePage is one date of an activity: who signed up, excused themselves and came.
type OccurrencePage struct {
	Page    string // "occ"
	S       *scheduler.Schedule
	At      time.Time
	Place   string
	Rows    []AttendRow
	Others  int // answers of people outside the viewer's jurisdiction (counted, not named)
	Summary Upcoming
	Past    bool
}

// AttendRow is one person's answer.
type AttendRow struct {
	Name, Status, Reason string
	At, SignedIn         time.Time
}

func (c *Console) occurrencePage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	sc, s, err := c.schedule(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	id := r.PathValue("occ")
	sid, start, ok := scheduler.SplitOccurrenceID(id, c.loc)
	if !ok || sid != sc.ID {
		return community.Errorf(community.ENotFound, "没有这次活动。")
	}
	occ, err := c.occurrence(ctx, sc.ID, id)
	if err != nil {
		return err
	}
	p := &OccurrencePage{Page: "occ", S: sc, At: start, Place: sc.Place, Past: start.Before(c.now())}
	if occ == nil && !slices.ContainsFunc(c.o.Scheduler.Dates(sc, c.now(), datesPerSchedule), func(d scheduler.Date) bool { return d.ID == id }) {
		return community.Errorf(community.ENotFound, "没有这次活动。")
	}
	p.Summary, err = c.upcoming(ctx, sc, scheduler.Date{At: start, Natural: start, ID: id})
	if err != nil {
		return err
	}
	if occ != nil {
		if occ.Place != "" {
			p.Place = occ.Place
		}
		persons, err := c.o.Store.ListPersons(ctx)
		if err != nil {
			return store.ErrUnavailable(err)
		}
		home := map[string]string{}
		for _, pr := range persons {
			home[pr.ID] = pr.Node
		}
		for uid, at := range occ.People {
			// Names only of the viewer's own people; others' answers are counted.
			if node := home[uid]; !s.All && (node == "" || !s.Covers(node)) {
				p.Others++
				continue
			}
			p.Rows = append(p.Rows, AttendRow{Name: at.Name, Status: attendStatus(at), Reason: community.Mask(at.Reason), At: at.At, SignedIn: at.SignedIn})
		}
		slices.SortFunc(p.Rows, func(a, b AttendRow) int { return a.At.Compare(b.At) })
	}
	c.render(w, r, v, http.StatusOK, "activities", sc.Title, p)
	return nil
}

func attendStatus(a *scheduler.Attendance) string {
	switch a.Status {
	case scheduler.StatusSignup:
		return "报名"
	case scheduler.StatusLeave:
		return "请假"
	}
	return "未报名"
}

func (a *Activities) view(c *Console) *Activities {
	a.Page = "list"
	a.FormView = c.activityForm(a.Form, a.Err, a.Scopes, a.All, a.CSRF, "/console/activities", true)
	return a
}

func (p *SchedulePage) view(c *Console) *SchedulePage {
	p.Page = "show"
	p.FormView = c.activityForm(p.Form, p.Err, p.Scopes, p.All, p.CSRF, "/console/activities/"+p.S.ID, false)
	return p
}
