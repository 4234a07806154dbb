package chat_test

import (
	"bufio"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
	"github.com/neighborbot/neighborbot/ledger/chat"
	"github.com/neighborbot/neighborbot/ledger/ledgertest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// benchLedger opens a bbolt store holding bench/'s dataset (100,000 items over three years,
// 20,000 persons, 200 groups in the demo community) and the feature over it, read as the
// demo's street secretary 周书记 (the whole street).
func benchLedger(b *testing.B) (*chat.Ledger, *bolt.Store) {
	b.Helper()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "neighborbot.db"), bolt.Options{NoSync: true, Now: ledgertest.DSNow})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	t0 := time.Now()
	err = ledgertest.Dataset(100_000, 20_000, func(recs []store.Record) error { return st.Restore(b.Context(), recs) })
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("dataset built in %v", time.Since(t0).Round(time.Millisecond))
	tree, err := setup.Tree(config.Demo())
	if err != nil {
		b.Fatal(err)
	}
	return &chat.Ledger{Store: st, Tree: tree, Now: ledgertest.DSNow, PublicURL: "http://localhost:8080"}, st
}

// resetPeakRSS makes the kernel's peak RSS (VmHWM) start again from the current RSS, after
// dropping what building the dataset left in the heap.
func resetPeakRSS(b *testing.B) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS: %v", err)
	}
}

// peakRSS is VmHWM in MB.
func peakRSS() float64 { return status("VmHWM:") }

// status is a /proc/self/status figure in MB (VmHWM, RssAnon, RssFile).
func status(key string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the process's CPU time so far (user and system, every thread, GC included): on a
// shared machine it says what an operation costs whatever else runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkMonthlyReportStreet is 月报 for the whole street on November 2026: loading the
// month's items through the month index, the figures, the card and the chart PNG.
// Target: p99 under 1 s.
func BenchmarkMonthlyReportStreet(b *testing.B) {
	l, st := benchLedger(b)
	street, err := st.GetPerson(b.Context(), "local:zhou")
	if err != nil {
		b.Fatal(err)
	}
	l.Font = chart.LoadFont("", slog.New(slog.DiscardHandler))
	nov := ledger.MonthOf(2026, time.November, ledgertest.Shanghai())
	var took []time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		t0 := time.Now()
		o, err := l.MonthlyReport(b.Context(), street, nov, ledgertest.DSNow())
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		if o.Image == nil {
			b.Fatal("no chart")
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(len(took)), "cpu-ms/op")
	b.ReportMetric(float64(percentile(took, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(took, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkYearlyXLSX is 导出 台账 2026 for the whole street: loading the year's items, the
// figures and the workbook (every item of the year with its history). Targets: under 10 s,
// peak RSS under 250 MB (measured from the kernel's VmHWM, reset after the dataset is built;
// it includes the bbolt file pages the process maps).
func BenchmarkYearlyXLSX(b *testing.B) {
	l, st := benchLedger(b)
	street, err := st.GetPerson(b.Context(), "local:zhou")
	if err != nil {
		b.Fatal(err)
	}
	year := ledger.YearOf(2026, ledgertest.Shanghai())
	resetPeakRSS(b)
	before := peakRSS()
	rows, n := 0, 0
	cpu0 := cpuTime()
	for b.Loop() {
		n++
		cw := &countWriter{profile: *peakProfile}
		lg, err := l.WriteWorkbook(b.Context(), cw, street, year)
		if err != nil {
			b.Fatal(err)
		}
		rows = lg.Summary.Received
		b.ReportMetric(float64(cw.n)/(1<<20), "xlsx-MB")
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
	b.ReportMetric(float64(rows), "needs-filed")
	b.ReportMetric(before, "rss-start-MB")
	b.ReportMetric(peakRSS(), "peak-rss-MB")
	// What the RSS is made of at the end: the process's own memory, and the pages of the
	// bbolt file it has mapped (shared with the page cache, dropped under memory pressure).
	b.ReportMetric(status("RssAnon:"), "end-anon-MB")
	b.ReportMetric(status("RssFile:"), "end-file-MB")
}

// peakProfile names a file for the heap profile BenchmarkYearlyXLSX takes when the workbook
// starts coming out (every month read, the zip about to be written): where memory peaks.
var peakProfile = flag.String("peakprofile", "", "write a heap profile at the yearly workbook's peak to this file")

type countWriter struct {
	n       int64
	profile string // a heap profile is written here at the first Write
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.n == 0 && c.profile != "" {
		if f, err := os.Create(c.profile); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		c.profile = ""
	}
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
