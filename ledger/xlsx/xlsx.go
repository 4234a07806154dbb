// Package xlsx writes the 台账 workbook a street office can file: 汇总 (with a native Excel
// chart), 事项台账 (one row per item with its whole history), 党员服务, 共建单位, 通知回执 and
// 活动考勤. Chinese headers, a frozen header row, set column widths, dates as dates. The big
// sheets are streamed (excelize's StreamWriter), so a year of a street fits in little memory.
package xlsx

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
)

// Sheet names, in the workbook's order.
const (
	SheetSummary    = "汇总"
	SheetItems      = "事项台账"
	SheetMembers    = "党员服务"
	SheetUnits      = "共建单位"
	SheetNotices    = "通知回执"
	SheetActivities = "活动考勤"
)

// Write writes l's workbook to w. Times are shown in loc. Personal data (phones, doors) is
// masked on the rows of items the reader may not see in full (ItemLine.Masked).
func Write(w io.Writer, l *ledger.Ledger, loc *time.Location) error {
	wr, err := NewWriter(loc)
	if err != nil {
		return err
	}
	for _, il := range l.Items {
		if err := wr.Item(il); err != nil {
			wr.Close()
			return err
		}
	}
	return wr.Finish(w, l)
}

// Writer writes a workbook whose 事项台账 rows come one at a time (Item), from a
// ledger.Builder's visit function, before the rest (Finish): a year of a street is then never
// in memory at once.
type Writer struct {
	b     *book
	items *excelize.StreamWriter
	n     int
}

// NewWriter starts a workbook.
func NewWriter(loc *time.Location) (*Writer, error) {
	f := excelize.NewFile()
	b := &book{f: f, loc: loc}
	if err := b.styles(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	sw, err := b.itemsSheet()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{b: b, items: sw}, nil
}

// Item writes one 事项台账 row.
func (w *Writer) Item(il ledger.ItemLine) error {
	w.n++
	return w.b.itemRow(w.items, w.n+1, il)
}

// Close releases the workbook without writing it (Finish closes it too).
func (w *Writer) Close() { w.b.f.Close() }

// Finish writes the other sheets from l (its Items are not read again) and the workbook to out.
func (w *Writer) Finish(out io.Writer, l *ledger.Ledger) error {
	defer w.b.f.Close()
	if err := w.items.Flush(); err != nil {
		return fmt.Errorf("xlsx: %s: %w", SheetItems, err)
	}
	b := w.b
	for _, step := range []func(*ledger.Ledger) error{b.members, b.units, b.notices, b.activities, b.summary} {
		if err := step(l); err != nil {
			return err
		}
	}
	// Printed (or converted to PDF), each sheet is landscape A4, as wide as one page.
	landscape, a4, one, zero, fit := "landscape", 9, 1, 0, true
	for _, sh := range b.f.GetSheetList() {
		if err := b.f.SetPageLayout(sh, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &zero}); err != nil {
			return fmt.Errorf("xlsx: %s page: %w", sh, err)
		}
		if err := b.f.SetSheetProps(sh, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
			return fmt.Errorf("xlsx: %s page: %w", sh, err)
		}
	}
	b.f.SetActiveSheet(0)
	if err := b.f.SetDocProps(&excelize.DocProperties{Title: l.Period.Label() + " " + l.Scope.Name + " 台账", Creator: "邻里帮", Language: "zh-CN"}); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if _, err := b.f.WriteTo(out); err != nil {
		return fmt.Errorf("xlsx: write: %w", err)
	}
	return nil
}

type book struct {
	f                             *excelize.File
	loc                           *time.Location
	head, date, wrap, num2, title int
}

func (b *book) styles() error {
	var err error
	mk := func(s *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = b.f.NewStyle(s)
		return id
	}
	dateFmt := "yyyy-mm-dd hh:mm"
	b.head = mk(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"C00000"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	b.date = mk(&excelize.Style{CustomNumFmt: &dateFmt})
	b.wrap = mk(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	twoDec := "0.00"
	b.num2 = mk(&excelize.Style{CustomNumFmt: &twoDec})
	b.title = mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	if err != nil {
		return fmt.Errorf("xlsx: styles: %w", err)
	}
	return nil
}

// column is a header and its width.
type column struct {
	name  string
	width float64
}

// stream starts a streamed sheet with a styled, frozen header row and the column widths.
func (b *book) stream(name string, cols []column) (*excelize.StreamWriter, error) {
	if _, err := b.f.NewSheet(name); err != nil {
		return nil, fmt.Errorf("xlsx: sheet %s: %w", name, err)
	}
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return nil, fmt.Errorf("xlsx: sheet %s: %w", name, err)
	}
	for i, c := range cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return nil, fmt.Errorf("xlsx: sheet %s: %w", name, err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("xlsx: sheet %s: %w", name, err)
	}
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = excelize.Cell{StyleID: b.head, Value: c.name}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 24}); err != nil {
		return nil, fmt.Errorf("xlsx: sheet %s: %w", name, err)
	}
	return sw, nil
}

func row(sw *excelize.StreamWriter, n int, vals []any) error {
	cell, err := excelize.CoordinatesToCellName(1, n)
	if err != nil {
		return err
	}
	if err := sw.SetRow(cell, vals); err != nil {
		return fmt.Errorf("xlsx: %s row %d: %w", sw.Sheet, n, err)
	}
	return nil
}

// t is a date cell, or an empty one for the zero time.
func (b *book) t(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return excelize.Cell{StyleID: b.date, Value: t.In(b.loc)}
}

func stars(sum, n int) any {
	if n == 0 {
		return nil
	}
	return float64(sum) / float64(n)
}

// text defuses a cell Excel would read as a formula.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

var originNames = map[community.Origin]string{community.OriginResident: "居民点单", community.OriginDirect: "书记发布"}

func (b *book) itemsSheet() (*excelize.StreamWriter, error) {
	return b.stream(SheetItems, []column{
		{"编号", 8}, {"社区", 12}, {"网格", 10}, {"群", 16}, {"来源", 10}, {"事项内容", 36}, {"提出人", 10}, {"电话", 14},
		{"当前状态", 10}, {"名额", 6}, {"认领人", 14}, {"截止时间", 17}, {"点单/发布时间", 17}, {"派单时间", 17},
		{"首次接单", 17}, {"首次完成", 17}, {"按时完成", 9}, {"评星", 6}, {"回访次数", 9}, {"重办次数", 9}, {"挂牌超期", 9},
		{"办理记录", 70},
	})
}

func (b *book) itemRow(sw *excelize.StreamWriter, n int, il ledger.ItemLine) error {
	it := il.Item
	title, phone := it.Title, it.Phone
	if il.Masked {
		title, phone = community.Mask(title), community.MaskPhone(phone)
		if it.Phone == "" {
			phone = ""
		}
	}
	onTime := ""
	switch {
	case il.OnTime:
		onTime = "是"
	case il.Late:
		onTime = "否"
	}
	var st any
	if s := il.LastStars(); s > 0 {
		st = s
	}
	var hist strings.Builder
	for j, ev := range it.History {
		if j > 0 {
			hist.WriteString("\n")
		}
		note := ev.Note
		if il.Masked {
			note = community.Mask(note)
		}
		fmt.Fprintf(&hist, "%s %s %s", ev.At.In(b.loc).Format("2006-01-02 15:04"), ev.Action.Chinese(), ev.Name)
		if ev.Stars > 0 {
			fmt.Fprintf(&hist, " %d星", ev.Stars)
		}
		if !ev.Deadline.IsZero() {
			fmt.Fprintf(&hist, " 截止%s", ev.Deadline.In(b.loc).Format("2006-01-02 15:04"))
		}
		if note != "" {
			hist.WriteString("：" + note)
		}
	}
	vals := []any{
		it.No, il.Community, il.Grid, il.Group, originNames[it.Origin], text(title), text(it.RequesterName), phone,
		it.State.Chinese(), it.Slots, text(it.ClaimerNames()), b.t(it.Deadline), b.t(il.Filed), b.t(il.Dispatched),
		b.t(il.FirstClaim), b.t(il.FirstDone), onTime, st, len(il.FollowUps), len(il.Reopens), yesNo(len(il.Overdues) > 0),
		excelize.Cell{StyleID: b.wrap, Value: text(hist.String())},
	}
	return row(sw, n, vals)
}

func (b *book) members(l *ledger.Ledger) error {
	sw, err := b.stream(SheetMembers, []column{
		{"排名", 6}, {"姓名", 10}, {"所属社区", 12}, {"共建单位", 16}, {"积分", 8}, {"完成件数", 9}, {"按时完成", 9},
		{"超时完成", 9}, {"评价次数", 9}, {"平均星级", 9}, {"重办次数", 9}, {"活动签到", 9},
	})
	if err != nil {
		return err
	}
	for i, m := range l.Members {
		vals := []any{i + 1, text(m.Name), m.Community, text(m.Unit), m.Points, m.Items, m.OnTime, m.Late, m.Ratings,
			cellNum2(b, stars(m.StarsSum, m.Ratings)), m.Reopened, m.Attended}
		if err := row(sw, i+2, vals); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func cellNum2(b *book, v any) any {
	if v == nil {
		return nil
	}
	return excelize.Cell{StyleID: b.num2, Value: v}
}

func (b *book) units(l *ledger.Ledger) error {
	cols := []column{{"排名", 6}, {"共建单位", 18}, {"党员人数", 9}, {"积分合计", 9}, {"完成件数", 9}, {"平均星级", 9}, {"活动签到", 9}, {"党员", 30}}
	for m := 1; m <= 12; m++ {
		cols = append(cols, column{fmt.Sprintf("%d月完成", m), 8})
	}
	sw, err := b.stream(SheetUnits, cols)
	if err != nil {
		return err
	}
	for i, u := range l.Units {
		names := make([]string, len(u.Members))
		for j, m := range u.Members {
			names[j] = fmt.Sprintf("%s(%d分)", m.Name, m.Points)
		}
		vals := []any{i + 1, text(u.Name), len(u.Members), u.Points, u.Items, cellNum2(b, stars(u.StarsSum, u.Ratings)), u.Attended, text(strings.Join(names, "、"))}
		for _, n := range u.ByMonth {
			vals = append(vals, n)
		}
		if err := row(sw, i+2, vals); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func (b *book) notices(l *ledger.Ledger) error {
	sw, err := b.stream(SheetNotices, []column{
		{"编号", 8}, {"类型", 8}, {"主题", 36}, {"发起人", 10}, {"发出时间", 17}, {"本辖区群数", 11}, {"本辖区回执人次", 14},
	})
	if err != nil {
		return err
	}
	for i, n := range l.Notices {
		vals := []any{n.ID, n.Kind, text(n.Subject), text(n.AuthorName), b.t(n.SentAt), n.InScope, n.Acked}
		if err := row(sw, i+2, vals); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func (b *book) activities(l *ledger.Ledger) error {
	sw, err := b.stream(SheetActivities, []column{
		{"活动", 20}, {"时间", 17}, {"地点", 16}, {"报名", 7}, {"请假", 7}, {"签到", 7}, {"签到名单", 40}, {"请假名单", 24},
	})
	if err != nil {
		return err
	}
	for i, a := range l.Activities {
		var in, leave []string
		for _, p := range a.People {
			if !p.SignedIn.IsZero() {
				in = append(in, p.Name)
			}
			if p.Status == "leave" {
				leave = append(leave, p.Name)
			}
		}
		vals := []any{text(a.Title), b.t(a.Start), text(a.Place), a.Signups, a.Leaves, a.Attended,
			text(strings.Join(in, "、")), text(strings.Join(leave, "、"))}
		if err := row(sw, i+2, vals); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// summary fills 汇总: the key figures, the needs by week (or month) with a native column
// chart over them, and the stars by grid.
func (b *book) summary(l *ledger.Ledger) error {
	f, sh, s := b.f, SheetSummary, l.Summary
	set := func(cell string, v any) {
		_ = f.SetCellValue(sh, cell, v) // cells named here are valid
	}
	set("A1", fmt.Sprintf("%s %s 台账汇总", l.Scope.Name, l.Period.Label()))
	_ = f.SetCellStyle(sh, "A1", "A1", b.title)
	for i, h := range []string{"指标", "数值"} {
		c, _ := excelize.CoordinatesToCellName(i+1, 3)
		set(c, h)
		_ = f.SetCellStyle(sh, c, c, b.head)
	}
	var avgStars any
	if s.Ratings > 0 {
		avgStars = s.AvgStars()
	}
	var median any
	if s.Claimed > 0 {
		median = ledger.Duration(s.ClaimMedian)
	}
	figures := []struct {
		k string
		v any
	}{
		{"居民点单（件）", s.Received}, {"派单/发布（件）", s.Dispatched}, {"接单（件）", s.Claimed}, {"接单用时中位数", median},
		{"报告完成（件）", s.Done}, {"居民评价（次）", s.Ratings}, {"取消（件）", s.Cancelled}, {"按时完成（件）", s.OnTime},
		{"超时完成（件）", s.Late}, {"挂牌超期（件）", s.Overdue}, {"平均评星", avgStars}, {"回访（次）", s.FollowUps},
		{"重办（次）", s.Reopened}, {"通知（条）", s.Notices}, {"通知回执（人次）", s.NoticeAcks}, {"活动（场）", s.Activities},
		{"活动报名（人次）", s.Signups}, {"活动签到（人次）", s.Attended}, {"活动请假（人次）", s.Leaves},
		{"积分党员（人）", len(l.Members)}, {"共建单位（个）", len(l.Units)},
	}
	for i, fg := range figures {
		set(fmt.Sprintf("A%d", 4+i), fg.k)
		set(fmt.Sprintf("B%d", 4+i), fg.v)
	}
	_ = f.SetCellStyle(sh, "B14", "B14", b.num2)
	unit := "周"
	if l.Period.Month == 0 {
		unit = "月份"
	}
	set("D3", unit)
	set("E3", "居民点单")
	_ = f.SetCellStyle(sh, "D3", "E3", b.head)
	for i, w := range s.Weeks {
		set(fmt.Sprintf("D%d", 4+i), w.Label)
		set(fmt.Sprintf("E%d", 4+i), w.Count)
	}
	gridRow := 4 + len(s.Weeks) + 2
	set(fmt.Sprintf("D%d", gridRow), "网格")
	set(fmt.Sprintf("E%d", gridRow), "平均评星")
	set(fmt.Sprintf("F%d", gridRow), "评价次数")
	_ = f.SetCellStyle(sh, fmt.Sprintf("D%d", gridRow), fmt.Sprintf("F%d", gridRow), b.head)
	for i, g := range s.StarsByGrid {
		r := gridRow + 1 + i
		set(fmt.Sprintf("D%d", r), g.Grid)
		set(fmt.Sprintf("E%d", r), g.Avg())
		set(fmt.Sprintf("F%d", r), g.Ratings)
		_ = f.SetCellStyle(sh, fmt.Sprintf("E%d", r), fmt.Sprintf("E%d", r), b.num2)
	}
	for col, w := range map[string]float64{"A": 20, "B": 14, "C": 3, "D": 14, "E": 12, "F": 10} {
		if err := f.SetColWidth(sh, col, col, w); err != nil {
			return fmt.Errorf("xlsx: %s: %w", sh, err)
		}
	}
	if err := f.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("xlsx: %s: %w", sh, err)
	}
	last := 3 + len(s.Weeks)
	ref := func(col string) string { return fmt.Sprintf("'%s'!$%s$4:$%s$%d", sh, col, col, last) }
	noVary := false
	err := f.AddChart(sh, "H3", &excelize.Chart{
		VaryColors: &noVary,
		Type:       excelize.Col,
		Series:     []excelize.ChartSeries{{Name: fmt.Sprintf("'%s'!$E$3", sh), Categories: ref("D"), Values: ref("E")}},
		Title:      excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "居民点单（按" + unit + "）"}}},
		Legend:     excelize.ChartLegend{Position: "none"},
		Format:     excelize.GraphicOptions{OffsetX: 10, OffsetY: 10},
		Dimension:  excelize.ChartDimension{Width: 560, Height: 320},
		PlotArea:   excelize.ChartPlotArea{ShowVal: true},
	})
	if err != nil {
		return fmt.Errorf("xlsx: %s chart: %w", sh, err)
	}
	return nil
}
