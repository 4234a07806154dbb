package ledger_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/ledgertest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func nov() ledger.Period { return ledger.MonthOf(2026, time.November, ledgertest.Shanghai()) }

func build(reader community.Person, p ledger.Period, rules ledger.Rules) *ledger.Ledger {
	tree := ledgertest.Tree()
	return ledger.Build(ledgertest.Data(), p, ledger.NewScope(tree, community.ActorOf(reader)), rules)
}

// The hand-checked November figures (see ledgertest.Data for each item's story).
func TestMonthlyFiguresStreet(t *testing.T) {
	l := build(ledgertest.St, nov(), ledger.Rules{})
	s := l.Summary
	checks := []struct {
		name      string
		got, want int
	}{
		{"received (#1 #2 #3 #5)", s.Received, 4},
		{"dispatched (#1 #2 #3 and the post #6)", s.Dispatched, 4},
		{"claimed (#1 #2 #3)", s.Claimed, 3},
		{"done (#1 #2 #3; #4 was done in October)", s.Done, 3},
		{"on time (#1, #3 has no deadline)", s.OnTime, 2},
		{"late (#2)", s.Late, 1},
		{"ratings (#1 5, #2 3 and 4, #4 5)", s.Ratings, 4},
		{"stars", s.StarsSum, 17},
		{"cancelled (#5)", s.Cancelled, 1},
		{"overdue (#6)", s.Overdue, 1},
		{"follow-ups (#2's 3★)", s.FollowUps, 1},
		{"reopened (#2)", s.Reopened, 1},
		{"notices", s.Notices, 1},
		{"acks", s.NoticeAcks, 2},
		{"activities", s.Activities, 1},
		{"signups", s.Signups, 1},
		{"attended", s.Attended, 2},
		{"leaves", s.Leaves, 1},
		{"items with an event in November (#1-#6)", len(l.Items), 6},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	if s.ClaimMedian != time.Hour {
		t.Errorf("median time to claim: got %v, want 1h (1h, 1h, 30m)", s.ClaimMedian)
	}
	weeks := []int{1, 1, 1, 1, 0}
	for i, w := range s.Weeks {
		if w.Count != weeks[i] {
			t.Errorf("week %s: got %d, want %d", w.Label, w.Count, weeks[i])
		}
	}
	wantStates := map[community.State]int{community.StateClosed: 2, community.StateDone: 1, community.StateCancelled: 1}
	for _, sc := range s.ByState {
		if wantStates[sc.State] != sc.Count {
			t.Errorf("state %s: got %d, want %d", sc.State, sc.Count, wantStates[sc.State])
		}
	}
	if len(s.StarsByGrid) != 2 || s.StarsByGrid[0].Grid != "1网格" || s.StarsByGrid[0].Avg() != 5 || s.StarsByGrid[1].Avg() != 3.5 {
		t.Errorf("stars by grid: %+v, want 1网格 5.0, 2网格 3.5", s.StarsByGrid)
	}
}

// Points with the default rule: 10 for completing, +5 on time, +2 a star, -5 reopened.
func TestMemberPoints(t *testing.T) {
	l := build(ledgertest.St, nov(), ledger.Rules{})
	want := map[string]struct{ points, items, ratings int }{
		// #1 10+5+10, #2 10+6-5+8, #4's 5★ in November 10.
		"张三": {54, 2, 4},
		// #2 10+6-5+8.
		"李四": {19, 1, 2},
		// #3 10+5 (no deadline: on time), not yet rated.
		"王五": {15, 1, 0},
	}
	if len(l.Members) != 3 {
		t.Fatalf("members: %+v", l.Members)
	}
	for i, name := range []string{"张三", "李四", "王五"} {
		m := l.Members[i]
		w := want[name]
		if m.Name != name || m.Points != w.points || m.Items != w.items || m.Ratings != w.ratings {
			t.Errorf("rank %d: got %s %d points, %d items, %d ratings; want %s %+v", i+1, m.Name, m.Points, m.Items, m.Ratings, name, w)
		}
	}
	if len(l.Units) != 2 || l.Units[0].Name != "区税务局" || l.Units[0].Points != 73 || l.Units[1].Points != 15 {
		t.Errorf("units: %+v", l.Units)
	}
}

// A rule change applies to the past: points are recomputed from the history.
func TestRuleChangeAppliesToThePast(t *testing.T) {
	ten, zero, three := 20, 0, 3
	rules := ledger.RulesFrom(config.Ledger{
		Points:      config.PointsRule{Complete: &ten},
		Communities: map[string]config.PointsRule{"c2": {OnTime: &zero, Star: &three}},
	})
	l := build(ledgertest.St, nov(), rules)
	got := map[string]int{}
	for _, m := range l.Members {
		got[m.Name] = m.Points
	}
	// 张三: #1 20+5+10, #2 20+6-5+8, #4 10 = 74; 王五 in 光明社区: 20 and no on-time bonus.
	if got["张三"] != 74 || got["李四"] != 29 || got["王五"] != 20 {
		t.Errorf("points under the new rule: %v, want 张三 74, 李四 29, 王五 20", got)
	}
}

// A secretary's report covers only their community; the street's covers both.
func TestMonthlyScope(t *testing.T) {
	l := build(ledgertest.Sec, nov(), ledger.Rules{})
	if l.Summary.Received != 3 || l.Summary.Done != 2 || l.Summary.NoticeAcks != 1 || len(l.Members) != 2 {
		t.Errorf("幸福社区: received %d done %d acks %d members %d; want 3, 2, 1, 2",
			l.Summary.Received, l.Summary.Done, l.Summary.NoticeAcks, len(l.Members))
	}
	for _, il := range l.Items {
		if il.Item.Node == "g3" {
			t.Errorf("item #%d of 光明社区 in 幸福社区's report", il.Item.No)
		}
	}
	if l.Scope.Name != "幸福社区" {
		t.Errorf("scope name %q", l.Scope.Name)
	}
}

func TestMyPoints(t *testing.T) {
	loc := ledgertest.Shanghai()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, loc)
	year := build(community.Person{ID: "system", Role: community.RoleStreet}, ledger.YearOf(2026, loc), ledger.Rules{})
	mp := ledger.PointsOf(year, ledgertest.M1.ID, ledger.MonthOf(2026, 12, loc))
	// Year: #4 15 in October, 54 in November, #7 15 in December.
	if mp.YearLine.Points != 84 || mp.MonthLine.Points != 15 || mp.YearRank != 1 || mp.YearOf != 2 || mp.MonthRank != 1 || mp.MonthOf != 1 {
		t.Errorf("我的积分: year %d month %d rank %d/%d month rank %d/%d", mp.YearLine.Points, mp.MonthLine.Points, mp.YearRank, mp.YearOf, mp.MonthRank, mp.MonthOf)
	}
	golden(t, "points.txt", ledger.PointsText(mp, now))
	none := ledger.PointsOf(year, "local:nobody", ledger.MonthOf(2026, 12, loc))
	golden(t, "points_none.txt", ledger.PointsText(none, now))
}

func TestCardTexts(t *testing.T) {
	golden(t, "monthly_street.txt", ledger.MonthlyTitle(build(ledgertest.St, nov(), ledger.Rules{}))+"\n"+ledger.MonthlyText(build(ledgertest.St, nov(), ledger.Rules{})))
	golden(t, "monthly_secretary.txt", ledger.MonthlyText(build(ledgertest.Sec, nov(), ledger.Rules{})))
	year := build(ledgertest.St, ledger.YearOf(2026, ledgertest.Shanghai()), ledger.Rules{})
	golden(t, "ranking.txt", ledger.RankingText(year))
	txt, ok := ledger.UnitText(year, "区税务局")
	if !ok {
		t.Fatal("区税务局 not found")
	}
	golden(t, "unit.txt", txt)
	if _, ok := ledger.UnitText(year, "不存在的单位"); ok {
		t.Error("an unknown unit has a report")
	}
}

func TestParseCommand(t *testing.T) {
	loc := ledgertest.Shanghai()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, loc)
	jan := time.Date(2027, 1, 3, 10, 0, 0, 0, loc)
	cases := []struct {
		text   string
		now    time.Time
		verb   ledger.Verb
		period string // Slug of the resolved period
		unit   string
		err    bool
	}{
		{"我的积分", now, ledger.VerbPoints, "2026-12", "", false},
		{"月报", now, ledger.VerbMonthly, "2026-12", "", false},
		{"月报 11月", now, ledger.VerbMonthly, "2026-11", "", false},
		{"月报１１月", now, ledger.VerbMonthly, "2026-11", "", false},
		{"月报 12月", jan, ledger.VerbMonthly, "2026-12", "", false},
		{"月报 2025年3月", now, ledger.VerbMonthly, "2025-03", "", false},
		{"月报 上月", now, ledger.VerbMonthly, "2026-11", "", false},
		{"月报 13月", now, ledger.VerbMonthly, "", "", true},
		{"月报告诉大家明天停水", now, ledger.VerbNone, "", "", false},
		{"导出 台账 11月", now, ledger.VerbExport, "2026-11", "", false},
		{"导出台账 2026", now, ledger.VerbExport, "2026", "", false},
		{"导出  台账  2026年", now, ledger.VerbExport, "2026", "", false},
		{"导出 台账", now, ledger.VerbExport, "", "", true},
		{"导出 12", now, ledger.VerbNone, "", "", false},
		{"排行 2026", now, ledger.VerbRanking, "2026", "", false},
		{"排行", jan, ledger.VerbRanking, "2027", "", false},
		{"排行 去年", jan, ledger.VerbRanking, "2026", "", false},
		{"排行一下大家", now, ledger.VerbNone, "", "", false},
		{"单位报告 区税务局 2026", now, ledger.VerbUnit, "2026", "区税务局", false},
		{"单位报告 区 税务局", now, ledger.VerbUnit, "2026", "区 税务局", false},
		{"单位报告", now, ledger.VerbUnit, "", "", true},
		{"今天天气不错", now, ledger.VerbNone, "", "", false},
	}
	for _, c := range cases {
		cmd := ledger.ParseCommand(c.text)
		if cmd.Verb != c.verb || (cmd.Err != "") != c.err || cmd.Unit != c.unit {
			t.Errorf("%q: got %+v; want verb %q unit %q err %v", c.text, cmd, c.verb, c.unit, c.err)
			continue
		}
		if c.period != "" && !c.err {
			if got := cmd.Resolve(c.now).Slug(); got != c.period {
				t.Errorf("%q at %s: period %s, want %s", c.text, c.now.Format(time.DateOnly), got, c.period)
			}
		}
	}
}
