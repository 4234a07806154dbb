package console

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
)

// reportsRoutes serves 报表: the monthly report of the ledger (the same figures and text as
// the chat's 月报) with its chart, the year's 服务之星 and 共建之星 candidates (排行), and the
// workbook (导出 台账) — each as the viewer's jurisdiction sees it.
func (c *Console) reportsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/reports", c.handle(c.reportsPage))
	mux.Handle("GET /console/reports/{file}", c.handle(c.reportFile))
}

// Reports is the 报表 page.
type Reports struct {
	Off        bool   // no ledger wired
	Month      string // 2026-11, the month picker's value
	Max        string // the latest month offered
	Label      string // 2026年11月
	YearLabel  string // 2026年
	Scope      string // 幸福社区
	Summary    ledger.Summary
	Text       string // the 月报 card's body
	Avg        string // the average rating, or —
	OnTime     string // 按时率
	Stars      []ledger.MemberLine
	Candidates []ledger.MemberLine
	Units      []ledger.UnitLine
	Chart      string // the chart's URL
	XLSX       string // the month's workbook
	YearXLSX   string // the year's workbook
}

// reportMonth reads the month picker ("2026-11"); the current month by default. A month after
// the current one, or before 2000, is refused.
func (c *Console) reportMonth(s string) (ledger.Period, error) {
	now := c.now()
	if s == "" {
		return ledger.MonthOf(now.Year(), now.Month(), c.loc), nil
	}
	t, err := time.ParseInLocation("2006-01", s, c.loc)
	if err != nil || t.Year() < 2000 || t.After(now) {
		return ledger.Period{}, community.Errorf(community.EInvalid, "月份不对，请在月份框里选择本月或以前的月份。")
	}
	return ledger.MonthOf(t.Year(), t.Month(), c.loc), nil
}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	rp := &Reports{Max: c.now().Format("2006-01")}
	if c.o.Ledger == nil {
		rp.Off = true
		c.render(w, r, v, http.StatusOK, "reports", "报表", rp)
		return nil
	}
	p, err := c.reportMonth(r.URL.Query().Get("month"))
	if err != nil {
		return err
	}
	lg, err := c.o.Ledger.Build(ctx, v.Person, p)
	if err != nil {
		return err
	}
	year, err := c.o.Ledger.Build(ctx, v.Person, ledger.YearOf(p.Year, c.loc))
	if err != nil {
		return err
	}
	s := lg.Summary
	rp.Month, rp.Label, rp.YearLabel, rp.Scope = p.Slug(), p.Label(), year.Period.Label(), lg.Scope.Name
	rp.Summary, rp.Text = s, ledger.MonthlyText(lg)
	rp.Avg, rp.OnTime = "—", "—"
	if s.Ratings > 0 {
		rp.Avg = fmt.Sprintf("%.2f", s.AvgStars())
	}
	if n := s.OnTime + s.Late; n > 0 {
		rp.OnTime = strconv.Itoa(s.OnTime*100/n) + "%"
	}
	rp.Stars = ledger.Top(lg.Members, 10)
	rp.Candidates = ledger.Candidates(year.Members, 10)
	rp.Units = year.Units[:min(len(year.Units), 10)]
	rp.Chart = "/console/reports/chart-" + p.Slug() + ".png"
	rp.XLSX = "/console/reports/ledger-" + p.Slug() + ".xlsx"
	rp.YearXLSX = "/console/reports/ledger-" + year.Period.Slug() + ".xlsx"
	c.render(w, r, v, http.StatusOK, "reports", "报表", rp)
	return nil
}

// reportFile serves the chart (chart-2026-11.png) and the workbooks (ledger-2026-11.xlsx,
// ledger-2026.xlsx) of the viewer's jurisdiction, built when asked, as the chat's links do.
func (c *Console) reportFile(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	ctx := r.Context()
	if c.o.Ledger == nil {
		return community.Errorf(community.ENotFound, "报表功能未启用。")
	}
	file := r.PathValue("file")
	var kind, slug string
	switch {
	case strings.HasPrefix(file, "chart-") && strings.HasSuffix(file, ".png"):
		kind, slug = "chart", strings.TrimSuffix(strings.TrimPrefix(file, "chart-"), ".png")
	case strings.HasPrefix(file, "ledger-") && strings.HasSuffix(file, ".xlsx"):
		kind, slug = "xlsx", strings.TrimSuffix(strings.TrimPrefix(file, "ledger-"), ".xlsx")
	default:
		return community.Errorf(community.ENotFound, "没有这个文件。")
	}
	var p ledger.Period
	if y, err := strconv.Atoi(slug); err == nil && kind == "xlsx" && len(slug) == 4 {
		if y < 2000 || y > c.now().Year() {
			return community.Errorf(community.ENotFound, "没有这个文件。")
		}
		p = ledger.YearOf(y, c.loc)
	} else {
		var err error
		if p, err = c.reportMonth(slug); err != nil || slug == "" {
			return community.Errorf(community.ENotFound, "没有这个文件。")
		}
	}
	var buf bytes.Buffer
	var name, ctype string
	if kind == "chart" {
		lg, err := c.o.Ledger.Build(ctx, v.Person, p)
		if err != nil {
			return err
		}
		png, err := chart.Monthly(lg, c.o.Ledger.Font)
		if err != nil {
			return err
		}
		buf.Write(png)
		name, ctype = fmt.Sprintf("月报-%s-%s.png", lg.Scope.Name, slug), "image/png"
	} else {
		lg, err := c.o.Ledger.WriteWorkbook(ctx, &buf, v.Person, p)
		if err != nil {
			return err
		}
		name, ctype = fmt.Sprintf("台账-%s-%s.xlsx", lg.Scope.Name, slug), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	c.log.Info("console report file", "person", v.Person.ID, "kind", kind, "period", slug, "bytes", buf.Len())
	h := w.Header()
	h.Set("Content-Type", ctype)
	disp := "attachment"
	if kind == "chart" {
		disp = "inline"
	}
	h.Set("Content-Disposition", disp+"; filename*=UTF-8''"+url.PathEscape(name))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	return nil
}
