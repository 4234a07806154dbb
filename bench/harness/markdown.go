package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Sections of docs/BENCHMARKS.md that the harness owns sit between markers
//
//	<!-- harness:NAME -->
//	...
//	<!-- /harness:NAME -->
//
// and only those are rewritten; everything else (hand-written notes, other authors'
// sections such as Broadcast) is left as it is.
func markers(name string) (begin, end string) {
	return "<!-- harness:" + name + " -->", "<!-- /harness:" + name + " -->"
}

// ReplaceSection puts body between the markers of section name in doc, or appends the
// section (markers and body) at the end when doc has no such markers yet.
func ReplaceSection(doc, name, body string) string {
	begin, end := markers(name)
	body = strings.Trim(body, "\n")
	block := begin + "\n" + body + "\n" + end
	i := strings.Index(doc, begin)
	if i >= 0 {
		if j := strings.Index(doc[i:], end); j >= 0 {
			return doc[:i] + block + doc[i+j+len(end):]
		}
	}
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	if doc != "" {
		doc += "\n"
	}
	return doc + block + "\n"
}

// Table is a markdown table.
type Table struct {
	Head []string
	Rows [][]string
}

// Row adds a row.
func (t *Table) Row(cells ...string) { t.Rows = append(t.Rows, cells) }

// String renders the table; a pipe inside a cell is escaped.
func (t *Table) String() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(t.Head)
	sep := make([]string, len(t.Head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// trimFloat formats f with at most prec decimals, without trailing zeros.
func trimFloat(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// verdict says whether a measured value meets its target ("≤ target" when lower is better).
func verdict(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

// mb formats kilobytes as megabytes.
func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
