package zh

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Deadline phrases. A deadline is resolved against ParseContext.Now in its Location, with
// seconds zero:
//
//	date only            → 18:00 that day (today after 18:00 → 23:59 today)
//	time only            → today if still ahead, else tomorrow
//	周X / 星期X / 礼拜X   → next occurrence on or after today; today but passed → next week
//	下周X                → that day of next week (weeks start on Monday)
//	11月30日 / 11-30     → this year, or next year if the day is already past
//	30号                 → this month, or next month if already past
//	3天(内)              → today + 3 days, 18:00 unless a time follows; N周内 is N×7 days
//	3小时(内)            → now + 3 hours
const defaultDeadlineHour = 18

// deadlineKeywords introduce a deadline in 派单/发布. Those that are weak ("限" may start a
// title: 限行, 限购) only count when a time expression follows.
var deadlineKeywords = []struct {
	word   string
	strong bool
}{
	{"截止到", true}, {"截至到", true}, {"截止", true}, {"截至", true},
	{"限时", false}, {"限", false},
}

// ReschedKeywords also introduce the new deadline in 改期.
var ReschedKeywords = []string{"延期到", "推迟到", "延迟到", "改到", "改为", "改成", "延到", "推到", "延至", "到"}

// fillers may sit between a keyword and its expression: 截止 日期：11月30日, 截止到 周五.
var deadlineFillers = []string{"日期", "时间", "到", "于", "在", "至"}

// FindDeadline finds the first deadline keyword in s followed by a time expression. It
// returns the span [start, end) to cut from the text. bad is set when a strong keyword
// (截止) is followed by something that is not a time.
func FindDeadline(s string, now time.Time, extra []string) (t time.Time, start, end int, found, bad bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !strings.ContainsRune("截限延推迟改到", r) { // the first characters of every keyword
			i += size
			continue
		}
		word, strong := "", false
		for _, k := range deadlineKeywords {
			if strings.HasPrefix(s[i:], k.word) {
				word, strong = k.word, k.strong
				break
			}
		}
		if word == "" {
			for _, k := range extra {
				if strings.HasPrefix(s[i:], k) {
					word = k
					break
				}
			}
		}
		if word == "" {
			i += size
			continue
		}
		j := skipFillers(s, i+len(word))
		if tt, n, ok := parseWhen(s[j:], now); ok {
			return tt, i, j + n, true, false
		}
		if strong {
			return time.Time{}, i, j, false, true
		}
		i += len(word)
	}
	return time.Time{}, 0, 0, false, false
}

func skipFillers(s string, j int) int {
	for {
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == ':') {
			k++
		}
		for _, f := range deadlineFillers {
			if strings.HasPrefix(s[k:], f) {
				k += len(f)
				break
			}
		}
		if k == j {
			return j
		}
		j = k
	}
}

// FindBareWhen finds the first position in s where a time expression starts ("改期 12
// 周五18点" has no keyword).
func FindBareWhen(s string, now time.Time) (t time.Time, start, end int, found bool) {
	for i := 0; i < len(s); {
		if r, _ := utf8.DecodeRuneInString(s[i:]); mayStartWhen(r) && NumberStartsAt(s, i) {
			if tt, n, ok := parseWhen(s[i:], now); ok {
				return tt, i, i + n, true
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return time.Time{}, 0, 0, false
}

// mayStartWhen is a cheap filter: the first characters of every expression parseWhen reads.
func mayStartWhen(r rune) bool {
	if r >= '0' && r <= '9' || IsCNNumeral(r) {
		return true
	}
	return strings.ContainsRune("今明后大下本这周星礼凌早上中午傍晚夜", r)
}

// relDays are the words for today, tomorrow and so on, with a default part of day.
var relDays = []struct {
	word   string
	days   int
	period string
}{
	{"大后天", 3, ""}, {"后天", 2, ""}, {"明天", 1, ""}, {"明日", 1, ""}, {"今天", 0, ""}, {"今日", 0, ""},
	{"今晚", 0, "晚上"}, {"今早", 0, "早上"}, {"明早", 1, "早上"}, {"明晚", 1, "晚上"},
}

var (
	nextWeekWords = []string{"下星期", "下礼拜", "下周"}
	weekWords     = []string{"这个星期", "本星期", "这星期", "本周", "这周", "星期", "礼拜", "周"}
)

// dayPeriods are the parts of the day, longest first: pm and noon say how a 1..12 hour is
// read (下午3点 is 15:00, 中午1点 13:00); defHour is the deadline when no hour follows
// (明天下午 → 18:00), 0 when an hour is required (晚 alone is not a deadline).
var dayPeriods = []struct {
	word    string
	pm      bool
	noon    bool
	defHour int
}{
	{word: "凌晨", defHour: 6},
	{word: "早上", defHour: 9},
	{word: "早晨", defHour: 9},
	{word: "上午", defHour: 12},
	{word: "中午", noon: true, defHour: 12},
	{word: "下午", pm: true, defHour: 18},
	{word: "傍晚", pm: true, defHour: 18},
	{word: "晚上", pm: true, defHour: 21},
	{word: "夜里", pm: true, defHour: 21},
	{word: "夜间", pm: true, defHour: 21},
	{word: "晚", pm: true},
	{word: "早"},
}

// weekdayAt reads a weekday character: 一..六, 日/天/七, or 1..7. It returns Monday=0..Sunday=6.
func weekdayAt(s string) (wd, n int) {
	r, size := utf8.DecodeRuneInString(s)
	switch r {
	case '日', '天', '七', '7':
		return 6, size
	case '1', '2', '3', '4', '5', '6':
		return int(r - '1'), size
	}
	if d := CNDigit(r); d >= 1 && d <= 6 && r != '两' {
		return d - 1, size
	}
	return 0, 0
}

func mondayIndex(w time.Weekday) int { return (int(w) + 6) % 7 }

// parseWhen reads a deadline expression at the start of s: an optional date, an optional
// time (at least one of them), and an optional trailing 前/之前/以前/为止.
func parseWhen(s string, now time.Time) (time.Time, int, bool) {
	loc := now.Location()
	y0, m0, d0 := now.Date()
	today := time.Date(y0, m0, d0, 0, 0, 0, 0, loc)

	var (
		i       int
		hasDate bool
		date    time.Time // midnight of the day
		weekday bool      // roll a week when today's time has passed
		period  string    // default part of day from 今晚 / 明早
		isToday bool      // a date that is today (for the after-18:00 rule)
	)

	// Date.
	for _, r := range relDays {
		if strings.HasPrefix(s, r.word) {
			date, hasDate, i, period = today.AddDate(0, 0, r.days), true, len(r.word), r.period
			isToday = r.days == 0
			break
		}
	}
	if !hasDate {
		for _, w := range nextWeekWords {
			if strings.HasPrefix(s, w) {
				if wd, n := weekdayAt(s[len(w):]); n > 0 {
					days := 7 - mondayIndex(now.Weekday()) + wd
					date, hasDate, i = today.AddDate(0, 0, days), true, len(w)+n
				}
				break
			}
		}
	}
	if !hasDate {
		for _, w := range weekWords {
			if strings.HasPrefix(s, w) {
				if wd, n := weekdayAt(s[len(w):]); n > 0 {
					days := (wd - mondayIndex(now.Weekday()) + 7) % 7
					date, hasDate, weekday, i = today.AddDate(0, 0, days), true, days == 0, len(w)+n
				}
				break
			}
		}
	}
	if !hasDate {
		if d, n, kind, ok := leadingDate(s, now, today); ok {
			if kind == dateHours {
				return d, endSuffix(s, n), true
			}
			date, hasDate, i = d, true, n
			isToday = d.Equal(today)
		}
	}

	// Time.
	j := i
	if hasDate && j < len(s) && s[j] == ' ' {
		j++
	}
	h, m, n, hasTime := leadingClock(s[j:], period)
	if hasTime {
		i = j + n
	} else if period != "" {
		for _, p := range dayPeriods {
			if p.word == period {
				h, m, hasTime = p.defHour, 0, true
			}
		}
	}
	if !hasDate && !hasTime {
		return time.Time{}, 0, false
	}

	var t time.Time
	switch {
	case hasDate && hasTime:
		t = time.Date(date.Year(), date.Month(), date.Day(), h, m, 0, 0, loc)
		if weekday && !t.After(now) {
			t = t.AddDate(0, 0, 7)
		}
	case hasDate:
		t = time.Date(date.Year(), date.Month(), date.Day(), defaultDeadlineHour, 0, 0, 0, loc)
		if weekday && !t.After(now) {
			t = t.AddDate(0, 0, 7)
		} else if isToday && !t.After(now) {
			t = time.Date(date.Year(), date.Month(), date.Day(), 23, 59, 0, 0, loc)
		}
	default:
		t = time.Date(y0, m0, d0, h, m, 0, 0, loc)
		if !t.After(now) {
			t = t.AddDate(0, 0, 1)
		}
	}
	return t, endSuffix(s, i), true
}

// endSuffix swallows 前 / 之前 / 以前 / 为止 after an expression ending at i.
func endSuffix(s string, i int) int {
	for _, w := range []string{"之前", "以前", "为止", "前"} {
		if strings.HasPrefix(s[i:], w) {
			return i + len(w)
		}
	}
	return i
}

type dateKind int

const (
	dateDay   dateKind = iota // a calendar day
	dateHours                 // 3小时内: an exact time, no clock may follow
)

// leadingDate reads a numeric date at the start of s: 2026年11月30日, 11月30日/号, 11-30,
// 11/30, 2026-11-30, 30号, 3天内, 1周内, 3小时内. For dateHours it returns the resolved time.
func leadingDate(s string, now time.Time, today time.Time) (time.Time, int, dateKind, bool) {
	loc := now.Location()
	d := DigitRunLen(s)
	v1, n1 := LeadingNumber(s, 4)
	if n1 == 0 {
		return time.Time{}, 0, 0, false
	}
	rest := s[n1:]
	i := n1

	// Durations.
	for _, w := range []string{"个小时", "小时"} {
		if strings.HasPrefix(rest, w) {
			if v1 < 1 || v1 > 240 {
				return time.Time{}, 0, 0, false
			}
			t := now.Truncate(time.Minute).Add(time.Duration(v1) * time.Hour)
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, loc)
			return t, i + len(w) + withinLen(s[i+len(w):]), dateHours, true
		}
	}
	if strings.HasPrefix(rest, "天") || strings.HasPrefix(rest, "日") && withinLen(rest[len("日"):]) > 0 {
		if v1 > 366 {
			return time.Time{}, 0, 0, false
		}
		n := i + len("天") + withinLen(rest[len("天"):]) // 天 and 日 are both 3 bytes
		return today.AddDate(0, 0, v1), n, dateDay, true
	}
	for _, w := range []string{"个星期", "个礼拜", "星期", "礼拜", "周"} {
		if strings.HasPrefix(rest, w) {
			k := withinLen(rest[len(w):])
			if k == 0 || v1 < 1 || v1 > 52 {
				return time.Time{}, 0, 0, false
			}
			return today.AddDate(0, 0, 7*v1), i + len(w) + k, dateDay, true
		}
	}

	year, month, day := 0, 0, 0
	switch {
	case strings.HasPrefix(rest, "年"):
		year = v1
		if d == 2 {
			year += 2000
		} else if d != 4 {
			return time.Time{}, 0, 0, false
		}
		i += len("年")
		mv, mn := LeadingNumber(s[i:], 2)
		if mn == 0 || !strings.HasPrefix(s[i+mn:], "月") {
			return time.Time{}, 0, 0, false
		}
		month, i = mv, i+mn+len("月")
		dv, dn := LeadingNumber(s[i:], 2)
		if dn == 0 {
			return time.Time{}, 0, 0, false
		}
		day, i = dv, i+dn
		i += dayMarkLen(s[i:])
	case strings.HasPrefix(rest, "月"):
		if n1 > 2 && d > 0 {
			return time.Time{}, 0, 0, false
		}
		month, i = v1, i+len("月")
		dv, dn := LeadingNumber(s[i:], 2)
		if dn == 0 {
			return time.Time{}, 0, 0, false
		}
		day, i = dv, i+dn
		i += dayMarkLen(s[i:])
	case d > 0 && len(rest) > 1 && (rest[0] == '-' || rest[0] == '/'):
		sep := rest[0]
		d2 := DigitRunLen(rest[1:])
		if d2 == 0 || d2 > 2 {
			return time.Time{}, 0, 0, false
		}
		v2 := int(AtoiDigits(rest[1 : 1+d2]))
		i += 1 + d2
		if i+1 < len(s) && s[i] == sep && DigitRunLen(s[i+1:]) > 0 {
			d3 := DigitRunLen(s[i+1:])
			if d != 4 || d3 > 2 {
				return time.Time{}, 0, 0, false
			}
			year, month, day = v1, v2, int(AtoiDigits(s[i+1:i+1+d3]))
			i += 1 + d3
		} else {
			if d > 2 {
				return time.Time{}, 0, 0, false
			}
			month, day = v1, v2
		}
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			return time.Time{}, 0, 0, false
		}
	case strings.HasPrefix(rest, "号") || strings.HasPrefix(rest, "日"):
		if n1 > 2 && d > 0 {
			return time.Time{}, 0, 0, false
		}
		day, i = v1, i+len("号")
		y, m, _ := now.Date()
		t, ok := calendarDate(y, int(m), day, loc)
		if !ok || t.Before(today) {
			y, m = y+oneIf(m == time.December), m%12+1
			if t, ok = calendarDate(y, int(m), day, loc); !ok {
				return time.Time{}, 0, 0, false
			}
		}
		return t, i, dateDay, true
	default:
		return time.Time{}, 0, 0, false
	}

	explicitYear := year != 0
	if !explicitYear {
		year = now.Year()
	}
	t, ok := calendarDate(year, month, day, loc)
	if !ok {
		return time.Time{}, 0, 0, false
	}
	if !explicitYear && t.Before(today) {
		if t, ok = calendarDate(year+1, month, day, loc); !ok { // 2月29日 in a leap year
			return time.Time{}, 0, 0, false
		}
	}
	return t, i, dateDay, true
}

// makeDate builds midnight of y-m-d, refusing days that do not exist (2月30日).
func calendarDate(y, m, d int, loc *time.Location) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 || y < 1 || y > 9999 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc)
	if t.Day() != d || int(t.Month()) != m {
		return time.Time{}, false
	}
	return t, true
}

func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dayMarkLen(s string) int {
	if strings.HasPrefix(s, "日") || strings.HasPrefix(s, "号") {
		return len("日")
	}
	return 0
}

// withinLen is the length of 内 / 之内 / 以内 / 后 / 之后 at the start of s, or 0.
func withinLen(s string) int {
	for _, w := range []string{"之内", "以内", "之后", "以后", "内", "后"} {
		if strings.HasPrefix(s, w) {
			return len(w)
		}
	}
	return 0
}

// leadingClock reads a time of day: [period] H点[半|一刻|三刻|M[分]] / H时[M分] / H:MM.
// defPeriod (from 今晚, 明早) applies when no period is written.
func leadingClock(s string, defPeriod string) (h, m, n int, ok bool) {
	i := 0
	period := defPeriod
	for _, p := range dayPeriods {
		if strings.HasPrefix(s, p.word) {
			period, i = p.word, len(p.word)
			break
		}
	}
	written := i > 0
	if i < len(s) && s[i] == ' ' && written {
		i++
	}
	hv, hn := LeadingNumber(s[i:], 2)
	if hn == 0 {
		return periodDefault(period, written, i)
	}
	j := i + hn
	switch {
	case strings.HasPrefix(s[j:], "点钟"):
		j += len("点钟")
	case strings.HasPrefix(s[j:], "点"), strings.HasPrefix(s[j:], "时") && !strings.HasPrefix(s[j:], "时间"):
		j += len("点")
		switch {
		case strings.HasPrefix(s[j:], "半"):
			m, j = 30, j+len("半")
		case strings.HasPrefix(s[j:], "一刻"):
			m, j = 15, j+len("一刻")
		case strings.HasPrefix(s[j:], "三刻"):
			m, j = 45, j+len("三刻")
		default:
			if mv, mn := LeadingNumber(s[j:], 2); mn > 0 && !strings.HasPrefix(s[j+mn:], "天") &&
				!strings.HasPrefix(s[j+mn:], "号") && !strings.HasPrefix(s[j+mn:], "人") {
				if mv > 59 {
					return 0, 0, 0, false // 18点61分
				}
				m, j = mv, j+mn
				if strings.HasPrefix(s[j:], "分") && !strings.HasPrefix(s[j:], "分钟") {
					j += len("分")
				}
			}
		}
	case j+2 < len(s) && s[j] == ':' && DigitRunLen(s[j+1:]) == 2:
		m = int(AtoiDigits(s[j+1 : j+3]))
		j += 3
	default:
		return periodDefault(period, written, i)
	}
	if m > 59 {
		return 0, 0, 0, false
	}
	h = hv
	for _, p := range dayPeriods {
		if p.word != period {
			continue
		}
		switch {
		case p.pm && h == 12:
			h, m = 23, 59 // 晚上12点: the end of the day
		case p.pm && h < 12:
			h += 12
		case p.noon && h < 6:
			h += 12
		case p.word == "凌晨" && h == 12:
			h = 0
		}
	}
	if h == 24 && m == 0 {
		h, m = 23, 59
	}
	if h > 23 {
		return 0, 0, 0, false
	}
	return h, m, j, true
}

// periodDefault gives the deadline for a written part of day with no hour (明天下午 → 18:00).
func periodDefault(period string, written bool, n int) (h, m, nn int, ok bool) {
	if !written {
		return 0, 0, 0, false
	}
	for _, p := range dayPeriods {
		if p.word == period && p.defHour > 0 {
			return p.defHour, 0, n, true
		}
	}
	return 0, 0, 0, false
}
