package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/scheduler"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in    string
		want  scheduler.Rule
		canon string // "" means in is canonical
	}{
		{"每月第一个周五 15:00", scheduler.Rule{Freq: scheduler.Monthly, Nth: 1, Weekday: time.Friday, Hour: 15}, ""},
		{"每月最后一个周三 9:00", scheduler.Rule{Freq: scheduler.Monthly, Nth: -1, Weekday: time.Wednesday, Hour: 9}, ""},
		{"每季度第一个月15日 9:30", scheduler.Rule{Freq: scheduler.Quarterly, Month: 1, Day: 15, Hour: 9, Minute: 30}, ""},
		{"每季度 第二个月 第一个周二 14:00", scheduler.Rule{Freq: scheduler.Quarterly, Month: 2, Nth: 1, Weekday: time.Tuesday, Hour: 14}, "每季度第二个月第一个周二 14:00"},
		{"每年3月 第一个周一 9:00", scheduler.Rule{Freq: scheduler.Yearly, Month: 3, Nth: 1, Weekday: time.Monday, Hour: 9}, "每年3月第一个周一 9:00"},
		{"每年7月1日 9:00", scheduler.Rule{Freq: scheduler.Yearly, Month: 7, Day: 1, Hour: 9}, ""},
		{"每周一 8:30", scheduler.Rule{Freq: scheduler.Weekly, Weekday: time.Monday, Hour: 8, Minute: 30}, ""},
		{"每星期日 下午3点", scheduler.Rule{Freq: scheduler.Weekly, Weekday: time.Sunday, Hour: 15}, "每周日 15:00"},
		{"每天 8:00", scheduler.Rule{Freq: scheduler.Daily, Hour: 8}, ""},
		{"每日早上8点", scheduler.Rule{Freq: scheduler.Daily, Hour: 8}, "每天 8:00"},
		{"工作日 8:00", scheduler.Rule{Freq: scheduler.Workdays, Hour: 8}, ""},
		{"11月30日 14:00", scheduler.Rule{Freq: scheduler.Once, Month: 11, Day: 30, Hour: 14}, ""},
		{"2027年1月5日 9:00", scheduler.Rule{Freq: scheduler.Once, Year: 2027, Month: 1, Day: 5, Hour: 9}, ""},
		{"十一月三十号 下午两点半", scheduler.Rule{Freq: scheduler.Once, Month: 11, Day: 30, Hour: 14, Minute: 30}, "11月30日 14:30"},
		{"每月15号 9：30", scheduler.Rule{Freq: scheduler.Monthly, Day: 15, Hour: 9, Minute: 30}, "每月15日 9:30"},
		{"每月最后一天 17:00", scheduler.Rule{Freq: scheduler.Monthly, Day: -1, Hour: 17}, ""},
		{"每季度第一个周一 9:00", scheduler.Rule{Freq: scheduler.Quarterly, Month: 1, Nth: 1, Weekday: time.Monday, Hour: 9}, "每季度第一个月第一个周一 9:00"},
		{"每月第二个星期四 晚上7点", scheduler.Rule{Freq: scheduler.Monthly, Nth: 2, Weekday: time.Thursday, Hour: 19}, "每月第二个周四 19:00"},
		{"每天 8点15分", scheduler.Rule{Freq: scheduler.Daily, Hour: 8, Minute: 15}, "每天 8:15"},
	}
	for _, tt := range tests {
		got, err := scheduler.ParseRule(tt.in)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRule(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if got.String() != canon {
			t.Errorf("ParseRule(%q).String() = %q, want %q", tt.in, got.String(), canon)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, in := range []string{
		"", "每月", "每月第一个周五", "每月第一个周八 15:00", "每月第六个周五 15:00", "每月32日 9:00",
		"每季度第四个月1日 9:00", "每年13月1日 9:00", "每年2月30日 9:00", "2月30日 9:00", "每天 25:00",
		"每天 8:60", "下周五 15:00", "每周 15:00", "每月15日 9:00 多余", "1999年1月1日 9:00",
	} {
		if r, err := scheduler.ParseRule(in); err == nil {
			t.Errorf("ParseRule(%q) = %v, want an error", in, r)
		} else if msg := err.Error(); !strings.HasPrefix(msg, "没看懂时间") {
			t.Errorf("ParseRule(%q) error not for people: %q", in, msg)
		}
	}
}

func TestParseRulePrefix(t *testing.T) {
	r, rest, err := scheduler.ParseRulePrefix("每月第一个周五15:00主题党日 地点 社区活动室")
	if err != nil || r.String() != "每月第一个周五 15:00" || rest != "主题党日 地点 社区活动室" {
		t.Errorf("ParseRulePrefix = %v %q %v", r, rest, err)
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"每月第一个周五 15:00", "每月最后一个周三 9:00", "每季度第一个月15日 9:30", "每季度 第二个月 第一个周二 14:00",
		"每年3月 第一个周一 9:00", "每周一 8:30", "每天 8:00", "工作日 8:00", "11月30日 14:00", "2027年1月5日 9:00",
		"十一月三十号 下午两点半", "每月31日 晚上7点", "每季度末月最后一天 17:00", "二〇二七年二月二十九日 9:00", "每年2月29日 9:00",
	} {
		f.Add(s)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai)
	cal := scheduler.NewHolidays(nil)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := scheduler.ParseRule(s)
		if err != nil {
			return
		}
		back, err := scheduler.ParseRule(r.String())
		if err != nil || back != r {
			t.Fatalf("%q → %v → %q → %v (%v)", s, r, r.String(), back, err)
		}
		// Occurrences go forward and fall on the rule's time of day.
		prev := from
		for i := 0; i < 3; i++ {
			next := scheduler.Next(r, prev, cal)
			if next.IsZero() {
				break
			}
			if !next.After(prev) || next.Hour() != r.Hour || next.Minute() != r.Minute {
				t.Fatalf("%q: Next(%v) = %v", s, prev, next)
			}
			prev = next
		}
	})
}
