package scheduler_test

import (
	"testing"
	"time"

	"github.com/6tail/lunar-go/calendar"

	"github.com/neighborbot/neighborbot/scheduler"
)

// solar is the date of a lunar-go Solar at 9:00 in Shanghai.
func solar(s *calendar.Solar) time.Time {
	return at(s.GetYear(), time.Month(s.GetMonth()), s.GetDay(), 9, 0)
}

// Years whose official dates the bot lacks (2027, 2028 for lunar-go v1.4.6) still have their
// statutory holidays off; only the 调休 are unknown.
func TestStatutoryHolidaysWithoutOfficialData(t *testing.T) {
	cal := scheduler.NewHolidays(nil)
	for _, y := range []int{2027, 2028} {
		if cal.Official(y) {
			t.Fatalf("lunar-go now has official data for %d: move these cases to a later year", y)
		}
	}
	if !cal.Official(2026) {
		t.Fatal("lunar-go lost its 2026 data")
	}
	chuxi := func(y int) time.Time { return solar(calendar.NewLunarFromYmd(y, 1, 1).GetSolar()).AddDate(0, 0, -1) }
	lunar := func(y, m, d int) time.Time { return solar(calendar.NewLunarFromYmd(y, m, d).GetSolar()) }
	qingming := func(y int) time.Time {
		return solar(calendar.NewSolarFromYmd(y, 4, 20).GetLunar().GetJieQiTable()["清明"])
	}
	tests := []struct {
		what    string
		day     time.Time
		holiday string // the festival; "" for a day that is not off
		workday bool
	}{
		// Checked by hand against the lunar calendar.
		{"2027 元旦, a Friday", at(2027, 1, 1, 9, 0), "元旦节", false},
		{"2027 除夕", at(2027, 2, 5, 9, 0), "春节", false},
		{"2027 正月初三", at(2027, 2, 8, 9, 0), "春节", false},
		{"2027 正月初四, a Tuesday", at(2027, 2, 9, 9, 0), "", true},
		{"2027 清明", at(2027, 4, 5, 9, 0), "清明节", false},
		{"2027 May 2, a Sunday", at(2027, 5, 2, 9, 0), "劳动节", false},
		{"2027 May 3, a Monday", at(2027, 5, 3, 9, 0), "", true},
		{"2027 国庆 Oct 3", at(2027, 10, 3, 9, 0), "国庆节", false},
		{"2027 Oct 4, a Monday: its 调休 are unknown", at(2027, 10, 4, 9, 0), "", true},
		{"2027 Feb 20, a Saturday: no make-up day is known", at(2027, 2, 20, 9, 0), "", false},
		{"2028 除夕, a Tuesday", at(2028, 1, 25, 9, 0), "春节", false},
		{"2028 中秋 on 国庆 Oct 3", at(2028, 10, 3, 9, 0), "国庆节", false},
		// Computed with lunar-go.
		{"2027 除夕 (lunar-go)", chuxi(2027), "春节", false},
		{"2027 正月初一", lunar(2027, 1, 1), "春节", false},
		{"2027 清明 (lunar-go)", qingming(2027), "清明节", false},
		{"2027 端午", lunar(2027, 5, 5), "端午节", false},
		{"2027 中秋", lunar(2027, 8, 15), "中秋节", false},
		{"2028 除夕 (lunar-go)", chuxi(2028), "春节", false},
		{"2028 正月初三", lunar(2028, 1, 3), "春节", false},
		{"2028 正月初四", lunar(2028, 1, 4), "", lunar(2028, 1, 4).Weekday() != time.Saturday && lunar(2028, 1, 4).Weekday() != time.Sunday},
		{"2028 清明", qingming(2028), "清明节", false},
		{"2028 劳动节 May 1", at(2028, 5, 1, 9, 0), "劳动节", false},
		{"2028 端午", lunar(2028, 5, 5), "端午节", false},
		{"2028 元旦", at(2028, 1, 1, 9, 0), "元旦节", false},
	}
	for _, tt := range tests {
		name, hol := scheduler.IsHoliday(cal, tt.day)
		if hol != (tt.holiday != "") || name != tt.holiday {
			t.Errorf("%s (%s): holiday %q %v, want %q", tt.what, tt.day.Format(time.DateOnly), name, hol, tt.holiday)
		}
		if got := scheduler.IsWorkday(cal, tt.day); got != tt.workday {
			t.Errorf("%s (%s): workday %v, want %v", tt.what, tt.day.Format(time.DateOnly), got, tt.workday)
		}
	}
	if n := len(scheduler.Statutory(2027)); n != 13 {
		t.Errorf("2027 has %d statutory days off, want 13 (1+4+1+2+1+1+3)", n)
	}

	// The theme day of January 2027 falls on 元旦 and moves to Monday the 4th, saying why.
	next, natural := scheduler.NextOccurrence(mustRule(t, "每月第一个周五 15:00"), at(2026, 12, 20, 0, 0), cal)
	if !next.Equal(at(2027, 1, 4, 15, 0)) || !natural.Equal(at(2027, 1, 1, 15, 0)) {
		t.Errorf("theme day of January 2027: %v (natural %v), want Monday the 4th, moved from the 1st", next, natural)
	}
}

// The rule's statutory days are days off in every year the library has official data for:
// the fallback never calls a day off that the State Council would not.
func TestStatutoryDaysAgreeWithOfficialYears(t *testing.T) {
	cal := scheduler.NewHolidays(nil)
	for _, y := range []int{2025, 2026} {
		for _, d := range scheduler.Statutory(y) {
			if _, hol := scheduler.IsHoliday(cal, at(d.Date.Year(), d.Date.Month(), d.Date.Day(), 9, 0)); !hol {
				t.Errorf("%s (%s) is statutory by the rule but not off in the official %d data", d.Date.Format(time.DateOnly), d.Name, y)
			}
		}
	}
}

// The operator's file is the truth for a year it covers: the computed statutory days do not
// apply there, whatever the file leaves out.
func TestHolidayFileOverridesTheStatutoryRule(t *testing.T) {
	extra, err := scheduler.ParseHolidays([]byte(`
holidays:
  - name: 国庆节
    off: ["2027-10-01..2027-10-07"]
    work: ["2027-09-26", "2027-10-09"]
`))
	if err != nil {
		t.Fatal(err)
	}
	cal := scheduler.NewHolidays(extra)
	if !cal.Official(2027) || cal.Official(2028) {
		t.Errorf("official 2027 %v, 2028 %v; want the file's year only", cal.Official(2027), cal.Official(2028))
	}
	if _, hol := scheduler.IsHoliday(cal, at(2027, 10, 6, 9, 0)); !hol {
		t.Error("2027-10-06, off in the file, is not a holiday")
	}
	if !scheduler.IsWorkday(cal, at(2027, 10, 9, 9, 0)) {
		t.Error("2027-10-09, a 调休 Saturday in the file, is not a working day")
	}
	if _, hol := scheduler.IsHoliday(cal, at(2027, 1, 1, 9, 0)); hol {
		t.Error("2027-01-01 is a holiday although the file for 2027 does not list it")
	}
	if _, hol := scheduler.IsHoliday(cal, at(2028, 1, 1, 9, 0)); !hol {
		t.Error("2028-01-01, in a year the file does not cover, lost its statutory holiday")
	}
}
