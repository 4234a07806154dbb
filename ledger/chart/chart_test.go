package chart_test

import (
	"bytes"
	"image/png"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
	"github.com/neighborbot/neighborbot/ledger/ledgertest"
)

// The 月报 chart is a real PNG of the promised size, drawn with a CJK font. With CI=true a
// missing font fails the test (scripts/test.sh installs fonts-wqy-microhei).
func TestMonthlyChart(t *testing.T) {
	font := chart.LoadFont("", slog.New(slog.DiscardHandler))
	if font == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no CJK font installed (apt-get install fonts-wqy-microhei)")
		}
		t.Log("no CJK font: drawing with the built-in font")
	}
	l := ledger.Build(ledgertest.Data(), ledger.MonthOf(2026, time.November, ledgertest.Shanghai()),
		ledger.NewScope(ledgertest.Tree(), community.ActorOf(ledgertest.St)), ledger.Rules{})
	data, err := chart.Monthly(l, font)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != chart.Width || b.Dy() != chart.Height {
		t.Errorf("size %v, want %dx%d", b, chart.Width, chart.Height)
	}
	// Something is drawn: not a blank canvas.
	colors := map[uint32]bool{}
	for y := 0; y < chart.Height; y += 7 {
		for x := 0; x < chart.Width; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[r<<16^g<<8^b] = true
		}
	}
	if len(colors) < 3 {
		t.Errorf("the chart has %d colours: blank", len(colors))
	}
	if out := os.Getenv("LEDGER_CHART_OUT"); out != "" {
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An empty month still draws.
	empty := ledger.Build(ledger.Data{}, ledger.MonthOf(2026, time.March, ledgertest.Shanghai()),
		ledger.NewScope(ledgertest.Tree(), community.ActorOf(ledgertest.St)), ledger.Rules{})
	if _, err := chart.Monthly(empty, font); err != nil {
		t.Errorf("empty month: %v", err)
	}
}
