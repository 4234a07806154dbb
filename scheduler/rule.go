package scheduler

import (
	"fmt"
	"github.com/neighborbot/neighborbot/bot/zh"
	"strings"
	"time"
)

// Freq is how often a rule recurs.
type Freq uint8

const (
	Once      Freq = iota + 1 // 11月30日 14:00, 2027年1月5日 9:00
	Daily                     // 每天 8:00
	Workdays                  // 工作日 8:00 (working days by the Calendar, 调休 included)
	Weekly                    // 每周一 8:30
	Monthly                   // 每月第一个周五 15:00, 每月15日 9:00
	Quarterly                 // 每季度第一个月15日 9:30
	Yearly                    // 每年3月第一个周一 9:00
)

// Rule is a parsed schedule rule. The zero Rule is invalid.
type Rule struct {
	Freq Freq
	// Year of a one-off; 0 when not written (the next such date is meant).
	Year int
	// Month: 1..12 for Once and Yearly; the month of the quarter, 1..3, for Quarterly.
	Month int
	// Day of the month, 1..31 (clamped to short months), or -1 for the last day; 0 when the
	// rule picks a weekday.
	Day int
	// Nth weekday of the month: 1..5, or -1 for the last; 0 when the rule picks a day.
	Nth     int
	Weekday time.Weekday // for Weekly, and for Nth
	Hour    int
	Minute  int
}

// RuleError is a rule that could not be read. Its message is Chinese, for the secretary.
type RuleError struct {
	Text   string // the rule as written
	Reason string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("没看懂时间“%s”：%s。例如：每月第一个周五 15:00、每季度第一个月15日 9:30、每周一 8:30、每天 8:00、11月30日 14:00", e.Text, e.Reason)
}

// ParseRule reads a whole rule: "每月第一个周五 15:00". It is pure.
func ParseRule(s string) (Rule, error) {
	r, rest, err := ParseRulePrefix(s)
	if err != nil {
		return Rule{}, err
	}
	if strings.TrimSpace(rest) != "" {
		return Rule{}, &RuleError{Text: strings.TrimSpace(s), Reason: fmt.Sprintf("时间后面多了“%s”", strings.TrimSpace(rest))}
	}
	return r, nil
}

// ParseRulePrefix reads a rule at the start of s and returns what follows it (a title, a
// place): "每月第一个周五 15:00 主题党日 地点 社区活动室" gives the rule and "主题党日 地点 社区活动室".
// A rule always ends with its time of day.
func ParseRulePrefix(s string) (Rule, string, error) {
	p := &ruleParser{rs: []rune(zh.Fold(s))}
	r, err := p.rule()
	if err != nil {
		text := strings.TrimSpace(s)
		if n := []rune(text); len(n) > 40 {
			text = string(n[:40]) + "…"
		}
		return Rule{}, "", &RuleError{Text: text, Reason: err.Error()}
	}
	if err := r.validate(); err != nil {
		return Rule{}, "", &RuleError{Text: strings.TrimSpace(string(p.rs[:p.i])), Reason: err.Error()}
	}
	return r, strings.TrimSpace(string(p.rs[p.i:])), nil
}

// LooksLikeRule reports whether s starts the way a rule does, so a chat verb can tell a rule
// from a title without reading all of it.
func LooksLikeRule(s string) bool {
	rs := []rune(zh.Fold(s))
	p := &ruleParser{rs: rs}
	for _, w := range []string{"每", "工作日", "天天"} {
		if p.peek(w) {
			return true
		}
	}
	_, n := zh.NumberRunes(rs)
	if n == 0 {
		return false
	}
	rest := string(rs[n:])
	return strings.HasPrefix(rest, "年") || strings.HasPrefix(rest, "月")
}

type ruleParser struct {
	rs []rune
	i  int
}

func (p *ruleParser) space() {
	for p.i < len(p.rs) && p.rs[p.i] == ' ' {
		p.i++
	}
}

func (p *ruleParser) peek(w string) bool {
	wr := []rune(w)
	if p.i+len(wr) > len(p.rs) {
		return false
	}
	for j, r := range wr {
		if p.rs[p.i+j] != r {
			return false
		}
	}
	return true
}

// eat consumes the first of words found at the cursor.
func (p *ruleParser) eat(words ...string) bool {
	for _, w := range words {
		if p.peek(w) {
			p.i += len([]rune(w))
			return true
		}
	}
	return false
}

func (p *ruleParser) num() (int, bool) {
	v, n := zh.NumberRunes(p.rs[p.i:])
	if n == 0 {
		return 0, false
	}
	p.i += n
	return v, true
}

type parseErr string

func (e parseErr) Error() string { return string(e) }

func (p *ruleParser) rule() (Rule, error) {
	var r Rule
	p.space()
	switch {
	case p.eat("每天", "每日", "天天"):
		r.Freq = Daily
	case p.eat("每个工作日", "每工作日", "工作日"):
		r.Freq = Workdays
	case p.peek("每周") || p.peek("每星期") || p.peek("每礼拜") || p.peek("每个周") || p.peek("每个星期"):
		r.Freq = Weekly
		p.eat("每个", "每")
		wd, ok := p.weekday()
		if !ok {
			return r, parseErr("“每周”后面要写星期几，例如：每周一")
		}
		r.Weekday = wd
	case p.eat("每月", "每个月"):
		r.Freq = Monthly
		if err := p.daySel(&r); err != nil {
			return r, err
		}
	case p.eat("每季度", "每个季度", "每季"):
		r.Freq = Quarterly
		p.space()
		r.Month = 1
		if save := p.i; p.eat("第") {
			m, ok := p.num()
			p.eat("个")
			if ok && p.eat("月") {
				r.Month = m
			} else {
				p.i = save
			}
		} else if p.eat("首月") {
			r.Month = 1
		} else if p.eat("末月", "最后一个月", "最后一月") {
			r.Month = 3
		}
		if err := p.daySel(&r); err != nil {
			return r, err
		}
	case p.eat("每年"):
		r.Freq = Yearly
		p.space()
		m, ok := p.num()
		if !ok || !p.eat("月", "月份") {
			return r, parseErr("“每年”后面要写月份，例如：每年3月第一个周一")
		}
		r.Month = m
		if err := p.daySel(&r); err != nil {
			return r, err
		}
	default:
		// A one-off: [2027年]11月30日.
		r.Freq = Once
		v, ok := p.num()
		if !ok {
			return r, parseErr("要以“每天/每周/每月/每季度/每年/工作日”或日期开头")
		}
		p.space()
		if p.eat("年") {
			r.Year = v
			p.space()
			if v, ok = p.num(); !ok {
				return r, parseErr("年份后面要写月和日，例如：2027年1月5日")
			}
		}
		if !p.eat("月") {
			return r, parseErr("日期要写成“11月30日”")
		}
		r.Month = v
		p.space()
		d, ok := p.num()
		if !ok || !p.eat("日", "号") {
			return r, parseErr("日期要写成“11月30日”")
		}
		r.Day = d
	}
	p.space()
	p.eat("的")
	p.space()
	h, m, err := p.clock()
	if err != nil {
		return r, err
	}
	r.Hour, r.Minute = h, m
	return r, nil
}

// daySel reads the day within a month: "15日", "最后一天", "第一个周五", "最后一个周三".
func (p *ruleParser) daySel(r *Rule) error {
	p.space()
	p.eat("的")
	switch {
	case p.eat("最后一天", "月底", "月末"):
		r.Day = -1
		return nil
	case p.eat("最后一个", "最后1个", "最后一", "最后", "倒数第一个"):
		wd, ok := p.weekday()
		if !ok {
			return parseErr("“最后一个”后面要写星期几，例如：最后一个周三")
		}
		r.Nth, r.Weekday = -1, wd
		return nil
	case p.eat("第"):
		n, ok := p.num()
		if !ok {
			return parseErr("“第”后面要写数字，例如：第一个周五")
		}
		p.eat("个")
		wd, ok := p.weekday()
		if !ok {
			return parseErr("“第几个”后面要写星期几，例如：第一个周五")
		}
		r.Nth, r.Weekday = n, wd
		return nil
	}
	d, ok := p.num()
	if !ok || !p.eat("日", "号") {
		return parseErr("要写哪一天，例如：15日、第一个周五、最后一个周三")
	}
	r.Day = d
	return nil
}

var weekdayNames = map[rune]time.Weekday{
	'一': time.Monday, '二': time.Tuesday, '三': time.Wednesday, '四': time.Thursday,
	'五': time.Friday, '六': time.Saturday, '日': time.Sunday, '天': time.Sunday,
	'1': time.Monday, '2': time.Tuesday, '3': time.Wednesday, '4': time.Thursday,
	'5': time.Friday, '6': time.Saturday, '7': time.Sunday,
}

// weekday reads 周五 / 星期五 / 礼拜五. The prefix is required: a lone 五 is a number.
func (p *ruleParser) weekday() (time.Weekday, bool) {
	save := p.i
	if !p.eat("周", "星期", "礼拜") {
		return 0, false
	}
	if p.i < len(p.rs) {
		if wd, ok := weekdayNames[p.rs[p.i]]; ok {
			p.i++
			return wd, true
		}
	}
	p.i = save
	return 0, false
}

// clock reads a time of day: 15:00, 9:30, 15点, 15点30分, 9点半, 下午3点, 晚上7:30.
func (p *ruleParser) clock() (h, m int, err error) {
	period := ""
	for _, w := range []string{"上午", "早上", "早晨", "中午", "下午", "傍晚", "晚上"} {
		if p.eat(w) {
			period = w
			break
		}
	}
	p.space()
	h, ok := p.num()
	if !ok {
		return 0, 0, parseErr("要写几点，例如：15:00 或 下午3点")
	}
	switch {
	case p.eat(":"):
		if m, ok = p.num(); !ok {
			return 0, 0, parseErr("时间要写成 15:00")
		}
	case p.eat("点", "时"):
		switch {
		case p.eat("半"):
			m = 30
		case p.eat("一刻"):
			m = 15
		case p.eat("三刻"):
			m = 45
		default:
			if v, ok := p.num(); ok {
				m = v
				p.eat("分")
			}
		}
	default:
		return 0, 0, parseErr("时间要写成 15:00 或 15点")
	}
	switch period {
	case "下午", "傍晚", "晚上":
		if h < 12 {
			h += 12
		}
	case "中午":
		if h < 6 {
			h += 12
		}
	}
	if h > 23 || m > 59 {
		return 0, 0, parseErr("没有这个时间")
	}
	return h, m, nil
}

func (r Rule) validate() error {
	switch r.Freq {
	case Once:
		if r.Year != 0 && (r.Year < 2000 || r.Year > 2200) {
			return parseErr("年份不对")
		}
		if r.Month < 1 || r.Month > 12 || r.Day < 1 || r.Day > daysIn(yearOr(r.Year, 2028), time.Month(r.Month)) {
			return parseErr("没有这一天")
		}
	case Quarterly:
		if r.Month < 1 || r.Month > 3 {
			return parseErr("季度只有第一、二、三个月")
		}
	case Yearly:
		if r.Month < 1 || r.Month > 12 {
			return parseErr("月份要在1到12之间")
		}
	}
	switch r.Freq {
	case Monthly, Quarterly, Yearly:
		switch {
		case r.Nth != 0 && (r.Nth < -1 || r.Nth > 5):
			return parseErr("一个月最多有五个同一星期几")
		case r.Nth == 0 && (r.Day == 0 || r.Day < -1 || r.Day > 31):
			return parseErr("日期要在1到31之间")
		case r.Freq == Yearly && r.Day > daysIn(2028, time.Month(r.Month)):
			return parseErr("这个月没有这一天")
		}
	}
	return nil
}

func yearOr(y, def int) int {
	if y == 0 {
		return def
	}
	return y
}

var weekdayZh = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

var ordinalZh = map[int]string{1: "第一个", 2: "第二个", 3: "第三个", 4: "第四个", 5: "第五个", -1: "最后一个"}

var quarterMonthZh = map[int]string{1: "第一个月", 2: "第二个月", 3: "第三个月"}

// String is the rule in its canonical Chinese form; ParseRule reads it back to the same Rule.
func (r Rule) String() string {
	var b strings.Builder
	switch r.Freq {
	case Daily:
		b.WriteString("每天")
	case Workdays:
		b.WriteString("工作日")
	case Weekly:
		b.WriteString("每" + weekdayZh[r.Weekday])
	case Monthly:
		b.WriteString("每月" + r.daySelString())
	case Quarterly:
		b.WriteString("每季度" + quarterMonthZh[r.Month] + r.daySelString())
	case Yearly:
		fmt.Fprintf(&b, "每年%d月%s", r.Month, r.daySelString())
	case Once:
		if r.Year != 0 {
			fmt.Fprintf(&b, "%d年", r.Year)
		}
		fmt.Fprintf(&b, "%d月%d日", r.Month, r.Day)
	default:
		return "（无效规则）"
	}
	fmt.Fprintf(&b, " %d:%02d", r.Hour, r.Minute)
	return b.String()
}

func (r Rule) daySelString() string {
	switch {
	case r.Nth != 0:
		return ordinalZh[r.Nth] + weekdayZh[r.Weekday]
	case r.Day == -1:
		return "最后一天"
	default:
		return fmt.Sprintf("%d日", r.Day)
	}
}

// Recurring reports whether the rule has more than one occurrence.
func (r Rule) Recurring() bool { return r.Freq != Once }
