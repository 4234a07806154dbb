package ledger

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Verb is a ledger command.
type Verb string

const (
	VerbNone    Verb = ""
	VerbPoints  Verb = "points"  // 我的积分
	VerbMonthly Verb = "monthly" // 月报 [11月]
	VerbExport  Verb = "export"  // 导出 台账 11月 / 导出台账 2026
	VerbRanking Verb = "ranking" // 排行 [2026]
	VerbUnit    Verb = "unit"    // 单位报告 区税务局 [2026]
)

// Command is a parsed ledger command. Year 0 means "the current one", Month 0 "none given";
// Resolve turns them into a Period.
type Command struct {
	Verb  Verb
	Year  int
	Month time.Month
	Last  bool   // 上月 / 去年
	Unit  string // 单位报告's unit
	Err   string // what to tell the sender when the command is recognised but malformed
}

var (
	spaces = regexp.MustCompile(`\s+`)
	// 2026年11月, 2026-11, 2026.11, 11月, 2026年, 2026
	yearMonthRe = regexp.MustCompile(`^(?:(\d{4})\s*(?:年|-|/|\.)\s*)?(\d{1,2})\s*月?$`)
	yearRe      = regexp.MustCompile(`^(\d{4})\s*年?(?:度)?$`)
)

// ParseCommand recognises the ledger's commands; anything else is VerbNone. It is pure and
// knows no clock: Resolve places a month without a year.
func ParseCommand(text string) Command {
	s := normalize(text)
	switch {
	case s == "我的积分" || s == "积分" || s == "我的台账":
		return Command{Verb: VerbPoints}
	case strings.HasPrefix(s, "月报"):
		return periodArg(VerbMonthly, strings.TrimSpace(strings.TrimPrefix(s, "月报")), true)
	case strings.HasPrefix(s, "导出台账") || strings.HasPrefix(s, "导出 台账"):
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(s, "导出"), " "))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, "台账"))
		c := periodArg(VerbExport, rest, false)
		if c.Err != "" {
			c.Err = "请写上月份或年份，例如：导出 台账 11月、导出 台账 2026"
		}
		return c
	case strings.HasPrefix(s, "排行"):
		rest := strings.TrimSpace(strings.TrimPrefix(s, "排行"))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, "榜"))
		c := Command{Verb: VerbRanking}
		if rest == "" {
			return c
		}
		if rest == "去年" {
			c.Last = true
			return c
		}
		if m := yearRe.FindStringSubmatch(rest); m != nil {
			c.Year, _ = strconv.Atoi(m[1])
			return c
		}
		return Command{Verb: VerbNone}
	case strings.HasPrefix(s, "单位报告"):
		rest := strings.TrimSpace(strings.TrimPrefix(s, "单位报告"))
		c := Command{Verb: VerbUnit}
		if i := strings.LastIndexByte(rest, ' '); i > 0 {
			if m := yearRe.FindStringSubmatch(rest[i+1:]); m != nil {
				c.Year, _ = strconv.Atoi(m[1])
				rest = strings.TrimSpace(rest[:i])
			}
		}
		if rest == "" {
			c.Err = "请写上单位名称，例如：单位报告 区税务局 2026"
		}
		c.Unit = rest
		return c
	}
	return Command{Verb: VerbNone}
}

// periodArg reads "", "11月", "2026年11月", "上月" and, for an export, "2026" (a year).
func periodArg(v Verb, rest string, monthOnly bool) Command {
	c := Command{Verb: v}
	switch rest {
	case "", "本月":
		if monthOnly {
			return c
		}
		c.Err = "missing"
		return c
	case "上月", "上个月":
		c.Last = true
		return c
	}
	if m := yearMonthRe.FindStringSubmatch(rest); m != nil {
		mo, _ := strconv.Atoi(m[2])
		if mo < 1 || mo > 12 {
			c.Err = "月份需要在1到12之间，例如：月报 11月"
			return c
		}
		if m[1] != "" {
			c.Year, _ = strconv.Atoi(m[1])
		}
		c.Month = time.Month(mo)
		return c
	}
	if !monthOnly {
		if m := yearRe.FindStringSubmatch(rest); m != nil {
			c.Year, _ = strconv.Atoi(m[1])
			return c
		}
	}
	if monthOnly {
		return Command{Verb: VerbNone} // "月报告诉大家…" is chat
	}
	c.Err = "bad"
	return c
}

// Resolve is the period the command means at now: a month without a year is the latest such
// month not after now (11月 in January is last year's); 月报 alone is this month so far;
// 上月 the month before; an export or a ranking without a month is the whole year.
func (c Command) Resolve(now time.Time) Period {
	loc := now.Location()
	y := c.Year
	switch {
	case c.Verb == VerbRanking || c.Verb == VerbUnit:
		if y == 0 {
			y = now.Year()
			if c.Last {
				y--
			}
		}
		return YearOf(y, loc)
	case c.Last:
		m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, -1, 0)
		return MonthOf(m.Year(), m.Month(), loc)
	case c.Month == 0 && c.Verb == VerbExport:
		if y == 0 {
			y = now.Year()
		}
		return YearOf(y, loc)
	case c.Month == 0:
		return MonthOf(now.Year(), now.Month(), loc)
	}
	if y == 0 {
		y = now.Year()
		if c.Month > now.Month() {
			y--
		}
	}
	return MonthOf(y, c.Month, loc)
}

// normalize folds full-width characters and runs of spaces.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '\u3000':
			r = ' '
		case r >= '！' && r <= '～':
			r -= 0xFEE0
		}
		if unicode.IsSpace(r) {
			r = ' '
		}
		b.WriteRune(r)
	}
	return spaces.ReplaceAllString(b.String(), " ")
}
