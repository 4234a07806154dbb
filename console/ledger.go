package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// ledgerRoutes serves 台账: the list with its filters, an item's page, and its actions.
func (c *Console) ledgerRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/items", c.handle(c.ledger))
	mux.Handle("GET /console/items/{no}", c.handle(c.itemPage))
	mux.Handle("POST /console/items/{no}/{action}", c.handle(c.itemAction))
}

const (
	// PageSize is how many items a ledger page shows.
	PageSize = 20
	// maxPages bounds paging: further back, narrow the filters.
	maxPages = 100
	// searchWindow is how many of the newest matching items a text search reads.
	searchWindow = 2000
)

// LedgerQuery is the ledger's filters, as in the URL.
type LedgerQuery struct {
	State   string // "" open (未办结), "all", or a community.State
	Place   string // an org node: its subtree
	Due     string // 2026-12-10: deadline on or before that day
	Overdue bool
	Claimer string // a name or person id
	Q       string // text in the item
	Page    int    // from 1
}

// Ledger is one ledger page.
type Ledger struct {
	Query    LedgerQuery
	Rows     []Row
	More     bool
	Places   []PlaceRow
	States   []StateOption
	Prev     string // the previous and next pages' URLs ("" for none)
	Next     string
	Note     string // a hint about the results (search window, page limit)
	Searched bool
}

// StateOption is one choice of the state filter.
type StateOption struct{ Value, Label string }

// Row is one item in the ledger.
type Row struct {
	*community.Item
	Group   string
	Overdue bool
}

func parseLedgerQuery(v url.Values) LedgerQuery {
	q := LedgerQuery{
		State: v.Get("state"), Place: v.Get("place"), Due: v.Get("due"), Overdue: v.Get("overdue") == "1",
		Claimer: strings.TrimSpace(v.Get("claimer")), Q: strings.TrimSpace(v.Get("q")),
	}
	q.Page, _ = strconv.Atoi(v.Get("page"))
	q.Page = min(max(q.Page, 1), maxPages)
	return q
}

// url is the ledger's URL for q.
func (q LedgerQuery) url() string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("state", q.State)
	set("place", q.Place)
	set("due", q.Due)
	if q.Overdue {
		v.Set("overdue", "1")
	}
	set("claimer", q.Claimer)
	set("q", q.Q)
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if len(v) == 0 {
		return "/console/items"
	}
	return "/console/items?" + v.Encode()
}

func stateOptions() []StateOption {
	opts := []StateOption{{"", "未办结"}, {"all", "全部"}}
	for _, s := range []community.State{community.StateNeed, community.StateOpen, community.StateClaimed,
		community.StateDone, community.StateFollowUp, community.StateClosed, community.StateCancelled} {
		opts = append(opts, StateOption{string(s), s.Chinese()})
	}
	return opts
}

func (c *Console) ledger(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	l, err := c.Ledger(r.Context(), v, parseLedgerQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	if isHX(r) {
		c.renderPart(w, http.StatusOK, "ledger", "rows", l)
		return nil
	}
	c.render(w, r, v, http.StatusOK, "ledger", "台账", l)
	return nil
}

// Ledger reads one page of the ledger for the viewer.
func (c *Console) Ledger(ctx context.Context, v *Viewer, q LedgerQuery) (*Ledger, error) {
	s, err := c.ScopeOf(ctx, v)
	if err != nil {
		return nil, err
	}
	now := c.now()
	l := &Ledger{Query: q, Places: c.places(s), States: stateOptions()}
	f := store.ItemFilter{}
	switch q.State {
	case "":
		f.Open = true
	case "all":
	default:
		f.States = []community.State{community.State(q.State)}
	}
	if q.Place != "" {
		for _, g := range s.Groups {
			if c.placeHolds(q.Place, g.Node) {
				f.Groups = append(f.Groups, g.ID)
			}
		}
		if len(f.Groups) == 0 {
			return l, nil
		}
	}
	if q.Due != "" {
		day, err := time.ParseInLocation("2006-01-02", q.Due, c.loc)
		if err != nil {
			return nil, community.Errorf(community.EInvalid, "截止日期格式不对，请选择日期。")
		}
		f.DueBefore = day.AddDate(0, 0, 1).Add(-time.Millisecond)
	}
	if q.Overdue {
		if f.DueBefore.IsZero() || now.Before(f.DueBefore) {
			f.DueBefore = now
		}
		if len(f.States) == 0 { // done awaits the recipient: not the claimer's to miss
			f.States = []community.State{community.StateNeed, community.StateOpen, community.StateClaimed, community.StateFollowUp}
		}
	}
	if !f.DueBefore.IsZero() {
		f.ByDeadline = true
	}
	if q.Claimer != "" {
		id, err := c.personByName(ctx, q.Claimer)
		if err != nil {
			return nil, err
		}
		if id == "" {
			l.Note = "没有找到名为“" + q.Claimer + "”的人。"
			return l, nil
		}
		f.Claimer = id
	}
	want := q.Page*PageSize + 1
	f.Limit = want
	if q.Q != "" {
		f.Limit = searchWindow
		l.Searched = true
	}
	items, err := c.Items(ctx, s, f)
	if err != nil {
		return nil, err
	}
	if q.Q != "" {
		if len(items) == searchWindow {
			l.Note = "文字搜索只查找最近的" + itoa(searchWindow) + "条，可加上状态、地点等条件缩小范围。"
		}
		items = slices.DeleteFunc(items, func(it *community.Item) bool {
			return !strings.Contains(shownTitle(c, v, it), q.Q) && !strings.Contains(it.RequesterName, q.Q) &&
				!strings.Contains(it.ClaimerNames(), q.Q) && strconv.FormatInt(it.No, 10) != strings.TrimPrefix(q.Q, "#")
		})
	}
	if q.Overdue {
		items = slices.DeleteFunc(items, func(it *community.Item) bool { return !it.IsOverdue(now) })
	}
	from := (q.Page - 1) * PageSize
	if from < len(items) {
		page := items[from:min(len(items), from+PageSize)]
		for _, it := range page {
			g, _ := s.Group(it.GroupID)
			l.Rows = append(l.Rows, Row{Item: shown(it, c.auth.SightOf(v.Actor, it, "")), Group: nonEmpty(g.Name, it.GroupID), Overdue: it.IsOverdue(now)})
		}
	}
	l.More = len(items) > from+PageSize
	if q.Page > 1 {
		p := q
		p.Page--
		l.Prev = p.url()
	}
	if l.More && q.Page < maxPages {
		n := q
		n.Page++
		l.Next = n.url()
	} else if l.More {
		l.Note = "最多显示" + itoa(maxPages) + "页，请加上条件缩小范围。"
	}
	return l, nil
}

// shownTitle is the title the viewer may read, which a text search looks in.
func shownTitle(c *Console, v *Viewer, it *community.Item) string {
	if c.auth.SightOf(v.Actor, it, "") == community.SightFull {
		return it.Title
	}
	return community.Mask(it.Title)
}

// placeHolds reports whether node lies in place's subtree.
func (c *Console) placeHolds(place, node string) bool {
	if place == node {
		return true
	}
	return c.o.Tree != nil && node != "" && c.o.Tree.Within(node, place)
}

// personByName finds a person by id or exact name.
func (c *Console) personByName(ctx context.Context, q string) (string, error) {
	if p, err := c.o.Store.GetPerson(ctx, q); err == nil {
		return p.ID, nil
	}
	persons, err := c.o.Store.ListPersons(ctx)
	if err != nil {
		return "", store.ErrUnavailable(err)
	}
	for _, p := range persons {
		if p.Name == q {
			return p.ID, nil
		}
	}
	return "", nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ItemPage is an item's page: the item as the viewer may see it, its timeline and the
// actions its state allows.
type ItemPage struct {
	Item    *community.Item
	Group   string
	Overdue bool
	Full    bool // personal fields shown
	Phone   string
	Actions []string // dispatch, reschedule, supervise, cancel, closeout, reopen
	Flash   *flash
	CSRF    string
	Min     string // the earliest deadline the form offers (now), datetime-local
}

func (c *Console) itemPage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	no, err := strconv.ParseInt(r.PathValue("no"), 10, 64)
	if err != nil || no <= 0 {
		return community.Errorf(community.ENotFound, "没有这个单号。")
	}
	p, err := c.ItemPage(r.Context(), v, no)
	if err != nil {
		return err
	}
	if done := r.URL.Query().Get("done"); done != "" {
		p.Flash = &flash{Text: "已" + community.Action(done).Chinese() + "。"}
	}
	c.render(w, r, v, http.StatusOK, "ledger_item", "#"+strconv.FormatInt(no, 10), p)
	return nil
}

// ItemPage reads item no for the viewer: not found outside their reach.
func (c *Console) ItemPage(ctx context.Context, v *Viewer, no int64) (*ItemPage, error) {
	it, sight, err := c.Item(ctx, v, no)
	if err != nil {
		return nil, err
	}
	now := c.now()
	p := &ItemPage{Item: shown(it, sight), Overdue: it.IsOverdue(now), Full: sight == community.SightFull,
		CSRF: v.Session.CSRF, Min: now.Format("2006-01-02T15:04")}
	p.Group = it.GroupID
	if g, err := c.o.Store.GetGroup(ctx, it.GroupID); err == nil {
		p.Group = g.Name
	}
	if p.Full {
		p.Phone = it.Phone
	} else if it.Phone != "" {
		p.Phone = community.MaskPhone(it.Phone)
	}
	// The actions the console offers: the secretary's, where the item's state allows them
	// and the authority rule lets this viewer act (Apply decides in the end).
	for _, a := range consoleActions {
		if allowedIn(a, it.State) && c.auth.CheckItem(v.Actor, a, it) == nil {
			p.Actions = append(p.Actions, string(a))
		}
	}
	return p, nil
}

// consoleActions are the items' actions the console offers, in the order shown.
var consoleActions = []community.Action{community.ActDispatch, community.ActReschedule, community.ActSupervise,
	community.ActCloseOut, community.ActReopen, community.ActCancel}

// allowedIn says which states offer an action's form (community.Item.Apply has the last word).
func allowedIn(a community.Action, s community.State) bool {
	switch a {
	case community.ActDispatch:
		return s == community.StateNeed
	case community.ActReschedule, community.ActSupervise:
		return s == community.StateOpen || s == community.StateClaimed || s == community.StateFollowUp
	case community.ActCloseOut:
		return s == community.StateDone || s == community.StateFollowUp
	case community.ActReopen:
		return s == community.StateFollowUp
	case community.ActCancel:
		return !s.Terminal()
	}
	return false
}

// itemAction performs one action through the chat's own transition (Actions), enqueues what
// the chat would send (the group's card updated in place, the group told), and shows the
// item again with the answer the chat would have given.
func (c *Console) itemAction(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	no, err := strconv.ParseInt(r.PathValue("no"), 10, 64)
	if err != nil || no <= 0 {
		return community.Errorf(community.ENotFound, "没有这个单号。")
	}
	act := community.Action(r.PathValue("action"))
	if !slices.Contains(consoleActions, act) {
		return community.Errorf(community.ENotFound, "没有这个操作。")
	}
	// Outside the viewer's reach the item does not exist, for actions as for pages.
	if _, _, err := c.Item(ctx, v, no); err != nil {
		return err
	}
	if c.o.Actions == nil {
		return community.Errorf(community.EInvalid, "控制台暂时不能办理事项，请在聊天中操作。")
	}
	now := c.now()
	ch := community.Change{Action: act, Note: strings.TrimSpace(r.PostFormValue("note"))}
	if n := len([]rune(ch.Note)); n > 200 {
		return community.Errorf(community.EInvalid, "说明太长了（%d字），请控制在200字以内。", n)
	}
	switch act {
	case community.ActDispatch, community.ActReschedule:
		if d := r.PostFormValue("deadline"); d != "" {
			t, err := time.ParseInLocation("2006-01-02T15:04", d, c.loc)
			if err != nil {
				return community.Errorf(community.EInvalid, "截止时间格式不对，请重新选择。")
			}
			ch.Deadline = t
		}
		if act == community.ActDispatch {
			if s := r.PostFormValue("slots"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil {
					return community.Errorf(community.EInvalid, "人数需要在1到%d之间。", community.MaxSlots)
				}
				ch.Slots = n
			}
		}
	}
	replies, outs, err := c.o.Actions.Act(ctx, v.Person, no, ch, now)
	if err != nil {
		return err
	}
	if err := c.enqueue(ctx, "item-"+strconv.FormatInt(no, 10)+"-"+string(act), outs, now); err != nil {
		return err
	}
	c.log.Info("console action", "person", v.Person.ID, "item", no, "action", act)
	if !isHX(r) {
		http.Redirect(w, r, "/console/items/"+strconv.FormatInt(no, 10)+"?done="+string(act), http.StatusSeeOther)
		return nil
	}
	p, err := c.ItemPage(ctx, v, no)
	if err != nil {
		return err
	}
	msg := "已" + act.Chinese() + "。"
	if len(replies) > 0 {
		msg = strings.Join(replies, "\n")
	}
	p.Flash = &flash{Text: msg}
	c.renderPart(w, http.StatusOK, "ledger_item", "item", p)
	return nil
}

// enqueue puts the messages an action produced in the outbox, each with an id of its own, and
// wakes the dispatcher.
func (c *Console) enqueue(ctx context.Context, what string, outs []bot.Outbound, now time.Time) error {
	if len(outs) == 0 {
		return nil
	}
	_, key, err := token()
	if err != nil {
		return err
	}
	entries := make([]store.OutboxEntry, 0, len(outs))
	for i, o := range outs {
		if o.ID == "" {
			o.ID = "console:" + what + ":" + key[:16] + "/" + strconv.Itoa(i)
		}
		e, err := bot.Entry(o, now)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	if err := c.o.Store.Enqueue(ctx, entries...); err != nil {
		return store.ErrUnavailable(err)
	}
	if c.o.Wake != nil {
		c.o.Wake()
	}
	return nil
}
