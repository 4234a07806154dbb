package xlsx_test

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/ledgertest"
	"github.com/neighborbot/neighborbot/ledger/xlsx"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func novLedger(reader community.Person) *ledger.Ledger {
	return ledger.Build(ledgertest.Data(), ledger.MonthOf(2026, time.November, ledgertest.Shanghai()),
		ledger.NewScope(ledgertest.Tree(), community.ActorOf(reader)), ledger.Rules{})
}

func write(t *testing.T, l *ledger.Ledger) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := xlsx.Write(&buf, l, ledgertest.Shanghai()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dump is every sheet's cells as a secretary would read them (formatted), tab-separated.
func dump(t *testing.T, data []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		b.WriteString("## " + sh + "\n")
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			b.WriteString(strings.ReplaceAll(strings.Join(r, "\t"), "\n", " ⏎ ") + "\n")
		}
	}
	return b.String()
}

func TestWorkbookCells(t *testing.T) {
	data := write(t, novLedger(ledgertest.St))
	got := dump(t, data)
	path := filepath.Join("testdata", "november_street.txt")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("cells differ from %s (run with -update after checking):\n%s", path, got)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want6 := []string{xlsx.SheetSummary, xlsx.SheetItems, xlsx.SheetMembers, xlsx.SheetUnits, xlsx.SheetNotices, xlsx.SheetActivities}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(want6, ",") {
		t.Errorf("sheets %v, want %v", got, want6)
	}
	// The header row is frozen, dates are real dates, and 汇总 has a native chart.
	for _, sh := range want6[1:] {
		panes, err := f.GetPanes(sh)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v %v", sh, panes, err)
		}
	}
	if typ, _ := f.GetCellType(xlsx.SheetItems, "M2"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("点单时间 is stored as text (%v), want a date", typ)
	}
	if raw, _ := f.GetCellValue(xlsx.SheetItems, "M2", excelize.Options{RawCellValue: true}); !strings.HasPrefix(raw, "46") {
		t.Errorf("点单时间 raw value %q, want an Excel date serial (46xxx)", raw)
	}
	if w, _ := f.GetColWidth(xlsx.SheetItems, "F"); w < 30 {
		t.Errorf("事项内容 column width %v", w)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	chart := false
	for _, zf := range zr.File {
		chart = chart || zf.Name == "xl/charts/chart1.xml"
	}
	if !chart {
		t.Error("汇总 has no native chart")
	}
}

// Rows the reader may not see in full have phones and doors masked.
func TestWorkbookMasks(t *testing.T) {
	l := novLedger(ledgertest.St)
	for i := range l.Items {
		l.Items[i].Masked = true
	}
	got := dump(t, write(t, l))
	if strings.Contains(got, "13812345678") {
		t.Error("a masked row shows the phone number")
	}
	if !strings.Contains(got, "138****5678") {
		t.Error("the masked phone is missing")
	}
	full := dump(t, write(t, novLedger(ledgertest.St)))
	if !strings.Contains(full, "13812345678") {
		t.Error("the street's own workbook masks what it may see")
	}
}

// LibreOffice opens the workbook (converts it to PDF). With CI=true a missing soffice fails.
func TestWorkbookOpensInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("soffice not installed (apt-get install libreoffice-calc)")
		}
		t.Skip("soffice not installed (apt-get install libreoffice-calc)")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "台账.xlsx")
	if err := os.WriteFile(in, write(t, novLedger(ledgertest.St)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--headless", "--convert-to", "pdf", "--outdir", dir, in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "台账.pdf"))
	if err != nil {
		t.Fatalf("no PDF: %v\n%s", err, out)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 2000 {
		t.Errorf("not a PDF of the workbook (%d bytes)", len(pdf))
	}
	if keep := os.Getenv("LEDGER_PDF_OUT"); keep != "" {
		os.WriteFile(keep, pdf, 0o644)
	}
}
