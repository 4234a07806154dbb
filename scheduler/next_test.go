package scheduler_test

import (
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/scheduler"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, shanghai)
}

func mustRule(t testing.TB, s string) scheduler.Rule {
	t.Helper()
	r, err := scheduler.ParseRule(s)
	if err != nil {
		t.Fatalf("ParseRule(%q): %v", s, err)
	}
	return r
}

// occurrences lists the occurrences of rule in [from, to).
func occurrences(rule scheduler.Rule, from, to time.Time, cal scheduler.Calendar) []time.Time {
	var out []time.Time
	for t := scheduler.Next(rule, from.Add(-time.Nanosecond), cal); !t.IsZero() && t.Before(to); t = scheduler.Next(rule, t, cal) {
		out = append(out, t)
	}
	return out
}

func fmtTimes(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format("2006-01-02 Mon 15:04")
	}
	return out
}

func TestNextThemeDay2026MovesOffHolidays(t *testing.T) {
	cal := scheduler.NewHolidays(nil)
	got := fmtTimes(occurrences(mustRule(t, "每月第一个周五 15:00"), at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0), cal))
	want := []string{
		"2026-01-04 Sun 15:00", // 1月2日 is 元旦; 1月3日 a day off; 1月4日 a 调休 working Sunday
		"2026-02-06 Fri 15:00",
		"2026-03-06 Fri 15:00",
		"2026-04-03 Fri 15:00",
		"2026-05-06 Wed 15:00", // 5月1日 劳动节, off until 5月5日
		"2026-06-05 Fri 15:00",
		"2026-07-03 Fri 15:00",
		"2026-08-07 Fri 15:00",
		"2026-09-04 Fri 15:00",
		"2026-10-08 Thu 15:00", // 10月2日 国庆节, off until 10月7日
		"2026-11-06 Fri 15:00",
		"2026-12-04 Fri 15:00",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d occurrences %v, want %v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("occurrence %d = %s, want %s", i, got[i], want[i])
		}
	}
	// The natural date is reported so the card can say why it moved.
	a, natural := scheduler.NextOccurrence(mustRule(t, "每月第一个周五 15:00"), at(2026, 9, 30, 0, 0), cal)
	if !a.Equal(at(2026, 10, 8, 15, 0)) || !natural.Equal(at(2026, 10, 2, 15, 0)) {
		t.Errorf("NextOccurrence = %v (natural %v)", a, natural)
	}
	if name, ok := scheduler.IsHoliday(cal, natural); !ok || name != "国庆节" {
		t.Errorf("holiday of %v = %q %v", natural, name, ok)
	}
}

func TestNextRules(t *testing.T) {
	cal := scheduler.NewHolidays(nil)
	tests := []struct {
		rule     string
		from, to time.Time
		want     []string
	}{
		{"每季度第一个月15日 9:30", at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0),
			[]string{"2026-01-15 Thu 09:30", "2026-04-15 Wed 09:30", "2026-07-15 Wed 09:30", "2026-10-15 Thu 09:30"}},
		{"每季度 第二个月 第一个周二 14:00", at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0),
			[]string{"2026-02-03 Tue 14:00", "2026-05-06 Wed 14:00", "2026-08-04 Tue 14:00", "2026-11-03 Tue 14:00"}}, // 5月5日 is 劳动节
		{"每月最后一个周三 9:00", at(2026, 9, 1, 0, 0), at(2026, 12, 1, 0, 0),
			[]string{"2026-09-30 Wed 09:00", "2026-10-28 Wed 09:00", "2026-11-25 Wed 09:00"}},
		{"每年3月 第一个周一 9:00", at(2026, 1, 1, 0, 0), at(2029, 1, 1, 0, 0),
			[]string{"2026-03-02 Mon 09:00", "2027-03-01 Mon 09:00", "2028-03-06 Mon 09:00"}},
		{"每周一 8:30", at(2026, 9, 28, 0, 0), at(2026, 10, 20, 0, 0),
			// 10月5日 falls in the National Day week: moved to the 8th, a Thursday.
			[]string{"2026-09-28 Mon 08:30", "2026-10-08 Thu 08:30", "2026-10-12 Mon 08:30", "2026-10-19 Mon 08:30"}},
		{"每天 8:00", at(2026, 9, 30, 0, 0), at(2026, 10, 11, 0, 0),
			// The days off fold into the first working day; the 10th is a 调休 Saturday
			// but every day has a stand-up anyway.
			[]string{"2026-09-30 Wed 08:00", "2026-10-08 Thu 08:00", "2026-10-09 Fri 08:00", "2026-10-10 Sat 08:00"}},
		{"工作日 8:00", at(2026, 9, 18, 0, 0), at(2026, 9, 23, 0, 0),
			// 9月20日 is a 调休 working Sunday.
			[]string{"2026-09-18 Fri 08:00", "2026-09-20 Sun 08:00", "2026-09-21 Mon 08:00", "2026-09-22 Tue 08:00"}},
		{"工作日 8:00", at(2026, 9, 30, 0, 0), at(2026, 10, 13, 0, 0),
			[]string{"2026-09-30 Wed 08:00", "2026-10-08 Thu 08:00", "2026-10-09 Fri 08:00", "2026-10-10 Sat 08:00", "2026-10-12 Mon 08:00"}},
		{"每月31日 9:00", at(2026, 1, 1, 0, 0), at(2026, 5, 1, 0, 0),
			[]string{"2026-01-31 Sat 09:00", "2026-02-28 Sat 09:00", "2026-03-31 Tue 09:00", "2026-04-30 Thu 09:00"}},
		{"每月第五个周五 9:00", at(2026, 1, 1, 0, 0), at(2026, 8, 1, 0, 0),
			[]string{"2026-01-30 Fri 09:00", "2026-05-29 Fri 09:00", "2026-07-31 Fri 09:00"}},
		{"11月30日 14:00", at(2026, 1, 1, 0, 0), at(2028, 1, 1, 0, 0),
			[]string{"2026-11-30 Mon 14:00", "2027-11-30 Tue 14:00"}}, // without a year: each year (the scheduler fixes the year)
		{"2027年1月5日 9:00", at(2026, 1, 1, 0, 0), at(2030, 1, 1, 0, 0),
			[]string{"2027-01-05 Tue 09:00"}},
	}
	for _, tt := range tests {
		got := fmtTimes(occurrences(mustRule(t, tt.rule), tt.from, tt.to, cal))
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.rule, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: occurrence %d = %s, want %s", tt.rule, i, got[i], tt.want[i])
			}
		}
	}
	if got := scheduler.Next(mustRule(t, "2026年1月5日 9:00"), at(2026, 2, 1, 0, 0), cal); !got.IsZero() {
		t.Errorf("a past one-off has a next occurrence: %v", got)
	}
}

func TestHolidayFile2027(t *testing.T) {
	// The library's data ends with 2026; the operator adds 2027 when it is published.
	extra, err := scheduler.ParseHolidays([]byte(`
holidays:
  - name: 元旦
    off: ["2027-01-01..2027-01-03"]
  - name: 春节
    off: [2027-02-06..2027-02-13]
    work: [2027-02-14, "2027-02-20"]
`))
	if err != nil {
		t.Fatal(err)
	}
	with, without := scheduler.NewHolidays(extra), scheduler.NewHolidays(nil)
	rule := mustRule(t, "每月第一个周五 15:00")
	// Without it 元旦 is still a statutory holiday (its 调休 are unknown): Monday the 4th.
	if got := scheduler.Next(rule, at(2026, 12, 31, 0, 0), without); !got.Equal(at(2027, 1, 4, 15, 0)) {
		t.Errorf("without the file: 2027-01-01 (元旦) should move to Monday the 4th, got %v", got)
	}
	if got := scheduler.Next(rule, at(2026, 12, 31, 0, 0), with); !got.Equal(at(2027, 1, 4, 15, 0)) {
		t.Errorf("with the file: 2027-01-01 should move to Monday the 4th, got %v", got)
	}
	if !scheduler.IsWorkday(with, at(2027, 2, 14, 9, 0)) || scheduler.IsWorkday(without, at(2027, 2, 14, 9, 0)) {
		t.Error("2027-02-14, a 调休 Sunday in the file, is not a working day")
	}
	if scheduler.IsWorkday(with, at(2027, 2, 10, 9, 0)) {
		t.Error("2027-02-10 in the 春节 range is a working day")
	}
	// 2026 still comes from the library.
	if !scheduler.IsWorkday(with, at(2026, 9, 20, 9, 0)) {
		t.Error("2026-09-20 (调休 Sunday from the library) lost")
	}
}

func TestHolidayFileFormats(t *testing.T) {
	js := `{"holidays":[{"name":"国庆节","off":["2027-10-01~2027-10-07"],"work":["2027-09-26"]},{"name":"更正","normal":["2026-10-10"]}]}`
	extra, err := scheduler.ParseHolidays([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	cal := scheduler.NewHolidays(extra)
	if d := cal.Day(2027, 10, 7); !d.Holiday || d.Name != "国庆节" {
		t.Errorf("2027-10-07 = %+v", d)
	}
	if d := cal.Day(2027, 9, 26); !d.Makeup {
		t.Errorf("2027-09-26 = %+v", d)
	}
	// "normal" cancels the library's 调休 Saturday.
	if scheduler.IsWorkday(cal, at(2026, 10, 10, 9, 0)) {
		t.Error("2026-10-10 corrected to an ordinary Saturday is still a working day")
	}
	for _, bad := range []string{
		`holidays: [{name: x, off: ["2027-13-01"]}]`,
		`holidays: [{name: x, off: ["2027-02-10..2027-02-01"]}]`,
		`holidays: [{name: x, of: ["2027-02-10"]}]`,
		`holidays: [{name: x, off: ["2027-02-10"], work: ["2027-02-10"]}]`,
	} {
		if _, err := scheduler.ParseHolidays([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if _, err := scheduler.LoadHolidays(""); err != nil {
		t.Errorf("no file: %v", err)
	}
}

func TestWorkdays(t *testing.T) {
	cal := scheduler.NewHolidays(nil)
	// Deadline Wednesday 30 Sep 2026; the National Day week follows; 10月10日 is a 调休 Saturday.
	dl := at(2026, 9, 30, 18, 0)
	for n, want := range map[int]time.Time{
		1: at(2026, 10, 8, 18, 0), 2: at(2026, 10, 9, 18, 0), 3: at(2026, 10, 10, 18, 0),
		4: at(2026, 10, 12, 18, 0), 5: at(2026, 10, 13, 18, 0),
	} {
		if got := scheduler.AddWorkdays(cal, dl, n); !got.Equal(want) {
			t.Errorf("AddWorkdays(%d) = %v, want %v", n, got, want)
		}
	}
}
