// Package chat is the 台账 feature in the bot: the chat commands (我的积分, 月报, 导出 台账,
// 排行, 单位报告) as a Handlers.Extra hook, the private signed links to the workbook and the
// chart, and the monthly report sent by itself on the 1st at 9:00 to every secretary. It
// reads the store; the figures are package ledger's.
package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/golang/freetype/truetype"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
	"github.com/neighborbot/neighborbot/ledger/xlsx"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
)

// Store is what the ledger needs of a backend.
type Store interface {
	ListItems(ctx context.Context, f store.ItemFilter) ([]*community.Item, error)
	GetPerson(ctx context.Context, id string) (community.Person, error)
	ListPersons(ctx context.Context) ([]community.Person, error)
	ListGroups(ctx context.Context) ([]community.Group, error)
	store.Docs
	Enqueue(ctx context.Context, entries ...store.OutboxEntry) error
}

// Ledger is the feature. Fill in the fields, plug Extra into Handlers.Extra (before notices',
// whose 导出 N it would otherwise meet), Routes into the mux, and run Run.
type Ledger struct {
	Store Store
	Tree  *community.Tree
	Rules ledger.Rules
	Now   func() time.Time // in Asia/Shanghai
	Log   *slog.Logger
	// PublicURL is where people reach this bot's HTTP server, for the links.
	PublicURL string
	// Font is the CJK font of the charts (chart.LoadFont); nil draws without one.
	Font *truetype.Font
	// LinkTTL is how long a link works; default 7 days.
	LinkTTL time.Duration
	// Owner names this replica in the monthly push's claim.
	Owner string
	// Wake, if set, tells the dispatcher that messages are waiting.
	Wake func()
}

// Doc collections.
const (
	CollMeta = "ledger_meta" // "secret" → the links' signing key (hex)
	CollPush = "ledger_push" // <2026-11> → pushState: the monthly report of that month
)

func (l *Ledger) log() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}

func (l *Ledger) linkTTL() time.Duration {
	if l.LinkTTL <= 0 {
		return 7 * 24 * time.Hour
	}
	return l.LinkTTL
}

// Owner names the ledger on the command mux.
const Owner = "ledger"

// Register puts the ledger's verbs on the command mux.
func (l *Ledger) Register(m *bot.Mux) error {
	verbs := []bot.Verb{
		{Name: "ledger.points", Words: []string{"我的积分", "积分", "我的台账"}, Shape: bot.ShapeWhole,
			Help: []bot.HelpLine{{Role: community.RoleMember, Text: "我的积分 —— 本月和本年的积分、星级、社区排名和得分事项"}}},
		{Name: "ledger.monthly", Words: []string{"月报"}, Shape: bot.ShapeAny,
			Help: []bot.HelpLine{{Role: community.RoleSecretary, Text: "月报 / 月报 11月 —— 辖区月报和图表（私信）；导出 台账 11月 —— Excel 台账"}}},
		{Name: "ledger.export", Words: []string{"导出台账", "导出 台账"}, Shape: bot.ShapeAny},
		{Name: "ledger.ranking", Words: []string{"排行", "排行榜"}, Shape: bot.ShapeAny,
			Help: []bot.HelpLine{{Role: community.RoleSecretary, Text: "排行 2026 —— 服务之星、共建之星候选；单位报告 区税务局 2026 —— 共建单位年度汇总"}}},
		{Name: "ledger.unit", Words: []string{"单位报告"}, Shape: bot.ShapeAny},
	}
	for _, v := range verbs {
		v.Owner, v.Handler = Owner, l.onVerb
		if err := m.Handle(v); err != nil {
			return err
		}
	}
	return nil
}

// onVerb runs one of the ledger's verbs; what ParseCommand finds to be chat (排行的人多)
// goes back to the Mux.
func (l *Ledger) onVerb(ctx context.Context, r *bot.Request) error {
	handled, err := l.command(ctx, r)
	if err == nil && !handled {
		return bot.ErrNotCommand
	}
	return err
}

// command handles the ledger's verbs as written.
func (l *Ledger) command(ctx context.Context, r *bot.Request) (bool, error) {
	cmd := ledger.ParseCommand(r.Command().Text)
	if cmd.Verb == ledger.VerbNone {
		return false, nil
	}
	if cmd.Err != "" {
		r.Reply(cmd.Err)
		return true, nil
	}
	now := r.Now
	if now.IsZero() {
		now = l.Now()
	}
	p := cmd.Resolve(now)
	if cmd.Verb != ledger.VerbPoints && !r.Sender.Role.AtLeast(community.RoleSecretary) {
		return true, community.Errorf(community.EForbidden, "台账、月报和排行只限书记查看。党员可以发送“我的积分”查看自己的积分。")
	}
	switch cmd.Verb {
	case ledger.VerbPoints:
		return true, l.points(ctx, r, now)
	case ledger.VerbMonthly:
		o, err := l.MonthlyReport(ctx, r.Sender, p, now)
		if err != nil {
			return true, err
		}
		r.SendPrivately(o)
	case ledger.VerbExport:
		return true, l.export(ctx, r, p, now)
	case ledger.VerbRanking:
		return true, l.ranking(ctx, r, p, now)
	case ledger.VerbUnit:
		return true, l.unit(ctx, r, cmd.Unit, p)
	}
	return true, nil
}

// Load reads what period p's figures need: the items with an event in it (through the
// store's month index), the people, the groups, the notices sent in it with their receipts,
// and the activities held in it.
func (l *Ledger) Load(ctx context.Context, p ledger.Period) (ledger.Data, error) {
	var d ledger.Data
	var err error
	if d.Items, err = l.Store.ListItems(ctx, store.ItemFilter{ActiveFrom: p.From, ActiveTo: p.To}); err != nil {
		return d, store.ErrUnavailable(fmt.Errorf("ledger items %s: %w", p.Slug(), err))
	}
	if d.People, err = l.Store.ListPersons(ctx); err != nil {
		return d, store.ErrUnavailable(fmt.Errorf("ledger persons: %w", err))
	}
	if d.Groups, err = l.Store.ListGroups(ctx); err != nil {
		return d, store.ErrUnavailable(fmt.Errorf("ledger groups: %w", err))
	}
	if d.Notices, err = l.loadNotices(ctx, p); err != nil {
		return d, err
	}
	if d.Activities, err = l.loadActivities(ctx, p); err != nil {
		return d, err
	}
	return d, nil
}

func (l *Ledger) loadNotices(ctx context.Context, p ledger.Period) ([]ledger.Notice, error) {
	docs, err := l.Store.ListDocs(ctx, notices.CollNotices, "")
	if err != nil {
		return nil, store.ErrUnavailable(fmt.Errorf("ledger notices: %w", err))
	}
	var out []ledger.Notice
	for _, doc := range docs {
		var nt notices.Notice
		if err := json.Unmarshal(doc.Value, &nt); err != nil {
			l.log().Error("undecodable notice", "id", doc.ID, "err", err)
			continue
		}
		if nt.SentAt.IsZero() || !p.Contains(nt.SentAt) {
			continue
		}
		ln := ledger.Notice{ID: nt.ID, Kind: nt.Kind.Chinese(), Subject: nt.Subject(), AuthorName: nt.AuthorName, SentAt: nt.SentAt}
		if raw, err := l.Store.GetDoc(ctx, notices.CollGroups, doc.ID); err == nil {
			_ = json.Unmarshal(raw, &ln.Groups)
		} else if community.ErrorCode(err) != community.ENotFound {
			return nil, store.ErrUnavailable(fmt.Errorf("ledger notice groups %d: %w", nt.ID, err))
		}
		acks, err := l.Store.ListDocs(ctx, notices.CollAcks, notices.AckPrefix(nt.ID))
		if err != nil {
			return nil, store.ErrUnavailable(fmt.Errorf("ledger notice acks %d: %w", nt.ID, err))
		}
		for _, a := range acks {
			var rc notices.Receipt
			if json.Unmarshal(a.Value, &rc) == nil {
				ln.Acks = append(ln.Acks, ledger.Ack{Group: rc.Group, Person: rc.Person, Name: rc.Name, At: rc.At})
			}
		}
		out = append(out, ln)
	}
	return out, nil
}

func (l *Ledger) loadActivities(ctx context.Context, p ledger.Period) ([]ledger.Activity, error) {
	docs, err := l.Store.ListDocs(ctx, scheduler.CollOccurrences, "")
	if err != nil {
		return nil, store.ErrUnavailable(fmt.Errorf("ledger activities: %w", err))
	}
	var titles map[string]scheduler.Schedule
	var out []ledger.Activity
	for _, doc := range docs {
		var o scheduler.Occurrence
		if err := json.Unmarshal(doc.Value, &o); err != nil {
			l.log().Error("undecodable occurrence", "id", doc.ID, "err", err)
			continue
		}
		if !p.Contains(o.Start) {
			continue
		}
		a := ledger.Activity{ID: o.ID, Title: o.Title, Place: o.Place, Start: o.Start, Groups: o.Groups, Cancelled: o.Cancelled}
		if a.Title == "" {
			if titles == nil {
				titles = map[string]scheduler.Schedule{}
				scs, err := l.Store.ListDocs(ctx, scheduler.CollSchedules, "")
				if err != nil {
					return nil, store.ErrUnavailable(fmt.Errorf("ledger schedules: %w", err))
				}
				for _, s := range scs {
					var sc scheduler.Schedule
					if json.Unmarshal(s.Value, &sc) == nil {
						titles[sc.ID] = sc
					}
				}
			}
			a.Title, a.Place = titles[o.Schedule].Title, cmpOr(a.Place, titles[o.Schedule].Place)
		}
		for id, at := range o.People {
			a.People = append(a.People, ledger.Attendee{ID: id, Name: at.Name, Status: at.Status, SignedIn: at.SignedIn})
		}
		slices.SortFunc(a.People, func(x, y ledger.Attendee) int { return strings.Compare(x.ID, y.ID) })
		out = append(out, a)
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// WriteWorkbook writes p's workbook as reader may see it, reading the items a month at a
// time and writing their rows as it goes: a year of a street is never in memory at once.
func (l *Ledger) WriteWorkbook(ctx context.Context, w io.Writer, reader community.Person, p ledger.Period) (*ledger.Ledger, error) {
	var d ledger.Data
	var err error
	if d.People, err = l.Store.ListPersons(ctx); err != nil {
		return nil, store.ErrUnavailable(fmt.Errorf("ledger persons: %w", err))
	}
	if d.Groups, err = l.Store.ListGroups(ctx); err != nil {
		return nil, store.ErrUnavailable(fmt.Errorf("ledger groups: %w", err))
	}
	if d.Notices, err = l.loadNotices(ctx, p); err != nil {
		return nil, err
	}
	if d.Activities, err = l.loadActivities(ctx, p); err != nil {
		return nil, err
	}
	b := ledger.NewBuilder(p, ledger.NewScope(l.Tree, community.ActorOf(reader)), l.Rules, d.People, d.Groups)
	d.People, d.Groups = nil, nil // the builder keeps what it needs of them; the rest can go
	xw, err := xlsx.NewWriter(p.From.Location())
	if err != nil {
		return nil, err
	}
	for _, m := range p.Months() {
		items, err := l.Store.ListItems(ctx, store.ItemFilter{ActiveFrom: m.From, ActiveTo: m.To})
		if err != nil {
			xw.Close()
			return nil, store.ErrUnavailable(fmt.Errorf("ledger items %s: %w", m.Slug(), err))
		}
		if err := b.Add(items, xw.Item); err != nil {
			xw.Close()
			return nil, err
		}
	}
	lg := b.Finish(d.Notices, d.Activities)
	return lg, xw.Finish(w, lg)
}

// Build loads and computes p's ledger as reader may see it.
func (l *Ledger) Build(ctx context.Context, reader community.Person, p ledger.Period) (*ledger.Ledger, error) {
	d, err := l.Load(ctx, p)
	if err != nil {
		return nil, err
	}
	return ledger.Build(d, p, ledger.NewScope(l.Tree, community.ActorOf(reader)), l.Rules), nil
}

// MonthlyReport is the 月报 card of p for reader, with its chart, to send privately.
func (l *Ledger) MonthlyReport(ctx context.Context, reader community.Person, p ledger.Period, now time.Time) (bot.Outbound, error) {
	d, err := l.Load(ctx, p)
	if err != nil {
		return bot.Outbound{}, err
	}
	return l.monthlyFrom(d, reader, p, now), nil
}

// monthlyFrom is MonthlyReport over loaded data.
func (l *Ledger) monthlyFrom(d ledger.Data, reader community.Person, p ledger.Period, now time.Time) bot.Outbound {
	lg := ledger.Build(d, p, ledger.NewScope(l.Tree, community.ActorOf(reader)), l.Rules)
	o := bot.Outbound{Card: &bot.Card{
		Key: "ledger:monthly:" + p.Slug(), Title: ledger.MonthlyTitle(lg), Color: "red", Text: ledger.MonthlyText(lg),
	}}
	png, err := chart.Monthly(lg, l.Font)
	if err != nil {
		l.log().Error("monthly chart failed", "period", p.Slug(), "err", err)
	} else {
		o.Image = &bot.Image{PNG: png, Alt: "按周点单、按状态、各网格评星"}
	}
	exp := now.Add(l.linkTTL())
	o.Card.Footer = fmt.Sprintf("图表：%s\n台账（Excel）：%s\n链接%s前有效，含个人信息，请勿转发。",
		l.link("chart", reader.ID, p, exp), l.link("xlsx", reader.ID, p, exp), exp.Format("1月2日15:04"))
	return o
}

func (l *Ledger) points(ctx context.Context, r *bot.Request, now time.Time) error {
	mp, err := l.myPoints(ctx, r.Sender.ID, now)
	if err != nil {
		return err
	}
	r.Reply(ledger.PointsText(mp, now))
	return nil
}

// Points is person id's points this month and this year, from the items' histories (what
// 我的积分 shows): for 我的任务 and 我的信息 (handlers.Handlers.Points).
func (l *Ledger) Points(ctx context.Context, id string) (month, year int, err error) {
	mp, err := l.myPoints(ctx, id, l.Now())
	if err != nil {
		return 0, 0, err
	}
	return mp.MonthLine.Points, mp.YearLine.Points, nil
}

// myPoints works out 我的积分 for person id at now.
func (l *Ledger) myPoints(ctx context.Context, id string, now time.Time) (ledger.MyPoints, error) {
	year := ledger.YearOf(now.Year(), now.Location())
	people, err := l.Store.ListPersons(ctx)
	if err != nil {
		return ledger.MyPoints{}, store.ErrUnavailable(fmt.Errorf("ledger persons: %w", err))
	}
	groups, err := l.Store.ListGroups(ctx)
	if err != nil {
		return ledger.MyPoints{}, store.ErrUnavailable(fmt.Errorf("ledger groups: %w", err))
	}
	// The whole tree's year (the rank counts every member of the community), a month of items
	// at a time, keeping only the lines of the person's own items.
	b := ledger.NewBuilder(year, ledger.NewScope(l.Tree, community.SystemActor), l.Rules, people, groups)
	var mine []ledger.ItemLine
	keep := func(il ledger.ItemLine) error {
		if slices.ContainsFunc(il.Credits, func(c ledger.Credit) bool { return c.Person == id }) {
			mine = append(mine, il)
		}
		return nil
	}
	for _, m := range year.Months() {
		if m.From.After(now) {
			break
		}
		items, err := l.Store.ListItems(ctx, store.ItemFilter{ActiveFrom: m.From, ActiveTo: m.To})
		if err != nil {
			return ledger.MyPoints{}, store.ErrUnavailable(fmt.Errorf("ledger items %s: %w", m.Slug(), err))
		}
		if err := b.Add(items, keep); err != nil {
			return ledger.MyPoints{}, err
		}
	}
	lg := b.Finish(nil, nil)
	lg.Items = mine
	month := ledger.MonthOf(now.Year(), now.Month(), now.Location())
	return ledger.PointsOf(lg, id, month), nil
}

func (l *Ledger) export(ctx context.Context, r *bot.Request, p ledger.Period, now time.Time) error {
	exp := now.Add(l.linkTTL())
	msg := fmt.Sprintf("📎 %s 台账（%s）Excel：\n%s\n含事项台账、党员服务、共建单位、通知回执、活动考勤和汇总图表。链接%s前有效，含个人信息，请勿转发到群里。",
		p.Label(), ledger.NewScope(l.Tree, community.ActorOf(r.Sender)).Name, l.link("xlsx", r.Sender.ID, p, exp), exp.Format("1月2日15:04"))
	r.ReplyPrivately(msg)
	return nil
}

func (l *Ledger) ranking(ctx context.Context, r *bot.Request, p ledger.Period, now time.Time) error {
	lg, err := l.Build(ctx, r.Sender, p)
	if err != nil {
		return err
	}
	exp := now.Add(l.linkTTL())
	r.ReplyPrivately(ledger.RankingText(lg) + fmt.Sprintf("\n全年台账（Excel）：%s\n链接%s前有效。", l.link("xlsx", r.Sender.ID, p, exp), exp.Format("1月2日15:04")))
	return nil
}

func (l *Ledger) unit(ctx context.Context, r *bot.Request, unit string, p ledger.Period) error {
	lg, err := l.Build(ctx, r.Sender, p)
	if err != nil {
		return err
	}
	txt, _ := ledger.UnitText(lg, unit)
	r.ReplyPrivately(txt)
	return nil
}
