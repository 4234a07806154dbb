package main

import (
	"strings"
	"testing"
)

func TestReplaceSectionKeepsOtherSections(t *testing.T) {
	doc := "# Benchmarks\n\nintro\n\n<!-- harness:scale -->\nold numbers\n<!-- /harness:scale -->\n\n## Broadcast\n\nhand-written by someone else\n"
	got := ReplaceSection(doc, "scale", "new numbers\n")
	want := "# Benchmarks\n\nintro\n\n<!-- harness:scale -->\nnew numbers\n<!-- /harness:scale -->\n\n## Broadcast\n\nhand-written by someone else\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if again := ReplaceSection(got, "scale", "new numbers"); again != got {
		t.Errorf("replacing with the same body changed the doc:\n%s", again)
	}
}

func TestReplaceSectionAppendsWhenMissing(t *testing.T) {
	got := ReplaceSection("# Benchmarks\n<!-- harness:scale -->\nx\n<!-- /harness:scale -->", "claims", "table")
	if !strings.HasSuffix(got, "<!-- harness:claims -->\ntable\n<!-- /harness:claims -->\n") {
		t.Errorf("claims not appended:\n%s", got)
	}
	if !strings.Contains(got, "<!-- harness:scale -->\nx\n<!-- /harness:scale -->") {
		t.Errorf("scale section lost:\n%s", got)
	}
	if got := ReplaceSection("", "scale", "x"); got != "<!-- harness:scale -->\nx\n<!-- /harness:scale -->\n" {
		t.Errorf("empty doc: %q", got)
	}
}

func TestReplaceSectionDoesNotConfusePrefixes(t *testing.T) {
	doc := "<!-- harness:inbound-wecom -->\nw\n<!-- /harness:inbound-wecom -->\n"
	got := ReplaceSection(doc, "inbound", "i")
	if !strings.Contains(got, "<!-- harness:inbound-wecom -->\nw\n") || !strings.Contains(got, "<!-- harness:inbound -->\ni\n") {
		t.Errorf("prefix section touched:\n%s", got)
	}
}

func TestTableEscapesPipes(t *testing.T) {
	tb := Table{Head: []string{"a", "b"}}
	tb.Row("x|y", "2")
	want := "| a | b |\n| --- | --- |\n| x\\|y | 2 |\n"
	if got := tb.String(); got != want {
		t.Errorf("got %q want %q", got, want)
	}
}
