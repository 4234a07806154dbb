// Package chart draws the 月报's chart as a PNG: needs received by week, by state now, and
// the average stars by grid, with Chinese labels in a CJK font found on the system.
package chart

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/go-analyze/charts"
	"github.com/golang/freetype/truetype"

	"github.com/neighborbot/neighborbot/ledger"
)

// FontPaths are where Debian's CJK TrueType fonts live (fonts-wqy-microhei, fonts-wqy-zenhei).
// Noto Sans CJK (fonts-noto-cjk) is OpenType/CFF, which the renderer cannot read.
var FontPaths = []string{
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// LoadFont reads the first CJK font it finds: path if given (NEIGHBORBOT_CJK_FONT), else
// FontPaths. Without one it logs a warning and returns nil: charts are then drawn in the
// built-in Latin font, and Chinese labels show as boxes.
func LoadFont(path string, log *slog.Logger) *truetype.Font {
	paths := FontPaths
	if path != "" {
		paths = append([]string{path}, paths...)
	}
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := truetype.Parse(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		log.Info("chart font loaded", "path", p)
		return f
	}
	log.Warn("no CJK font for charts: Chinese labels will not show; install fonts-wqy-microhei or set NEIGHBORBOT_CJK_FONT",
		"tried", strings.Join(paths, ", "), "err", errors.Join(errs...))
	return nil
}

// Width and Height of the chart image.
const (
	Width  = 960
	Height = 720
)

// Monthly draws l's chart: needs by week on top; needs by state and stars by grid below.
func Monthly(l *ledger.Ledger, font *truetype.Font) ([]byte, error) {
	s := l.Summary
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: Width, Height: Height, Font: font})
	p.FilledRect(0, 0, Width, Height, charts.ColorWhite, charts.ColorWhite, 0)
	cells, err := p.LayoutByRows().
		Row().Height("360").Columns("weeks").
		Row().Columns("states", "stars").
		Build()
	if err != nil {
		return nil, fmt.Errorf("chart layout: %w", err)
	}
	fs := func(size float64) charts.FontStyle {
		return charts.FontStyle{FontSize: size, Font: font, FontColor: charts.ColorBlack}
	}
	bar := func(title string, labels []string, values []float64, format string) charts.BarChartOption {
		if len(labels) == 0 {
			labels, values = []string{"无"}, []float64{0}
		}
		o := charts.NewBarChartOptionWithData([][]float64{values})
		o.Padding = charts.NewBoxEqual(16)
		o.Title = charts.TitleOption{Text: title, FontStyle: fs(15)}
		o.Legend = charts.LegendOption{Show: charts.Ptr(false)}
		o.CategoryAxis = charts.CategoryAxisOption{Labels: labels, LabelFontStyle: fs(11)}
		o.ValueAxis = []charts.ValueAxisOption{{LabelFontStyle: fs(11), Min: charts.Ptr(0.0)}}
		o.SeriesList[0].Label = charts.SeriesLabel{Show: charts.Ptr(true), FontStyle: fs(11), ValueFormatter: func(f float64) string { return fmt.Sprintf(format, f) }}
		return o
	}
	var wl []string
	var wv []float64
	for _, w := range s.Weeks {
		wl, wv = append(wl, w.Label), append(wv, float64(w.Count))
	}
	unit := "按周"
	if l.Period.Month == 0 {
		unit = "按月"
	}
	if err := cells["weeks"].BarChart(bar(fmt.Sprintf("%s %s 居民点单（%s，共%d件）", l.Scope.Name, l.Period.Label(), unit, s.Received), wl, wv, "%.0f")); err != nil {
		return nil, fmt.Errorf("chart weeks: %w", err)
	}
	var sl []string
	var sv []float64
	for _, st := range s.ByState {
		sl, sv = append(sl, st.State.Chinese()), append(sv, float64(st.Count))
	}
	if err := cells["states"].BarChart(bar("本期点单的当前状态", sl, sv, "%.0f")); err != nil {
		return nil, fmt.Errorf("chart states: %w", err)
	}
	var gl []string
	var gv []float64
	for _, g := range s.StarsByGrid {
		gl, gv = append(gl, g.Grid), append(gv, g.Avg())
	}
	o := bar("各网格平均评星", gl, gv, "%.2f★")
	if err := cells["stars"].BarChart(o); err != nil {
		return nil, fmt.Errorf("chart stars: %w", err)
	}
	png, err := p.Bytes()
	if err != nil {
		return nil, fmt.Errorf("chart encode: %w", err)
	}
	return png, nil
}
