package community

import (
	"regexp"
	"strings"
)

var (
	// Mainland mobile numbers, possibly written with spaces or dashes (138 1234 5678). Go's
	// regexp has no lookaround: digit boundaries are checked in phoneMatches.
	phoneRe = regexp.MustCompile(`(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})`)
	// Landlines such as 0571-88881234 or 88881234 after 电话.
	landlineRe = regexp.MustCompile(`(^|[^0-9])(0[0-9]{2,3})-([0-9]{3,4})([0-9]{4})($|[^0-9])`)
	// Door numbers: 1203室, 502号房, 3-502.
	doorRe     = regexp.MustCompile(`([0-9一二三四五六七八九十]+)(室|号房)`)
	doorDashRe = regexp.MustCompile(`(^|[^0-9])([0-9]{1,2})-([0-9]{3,4})($|[^0-9])`)
)

// Mask hides phone numbers and door numbers in text shown to a group: 13812345678 becomes
// 138****5678, 502室 becomes **室, 3-502 becomes 3-**. Building and unit (3栋2单元) stay,
// so neighbours still know where help is needed.
func Mask(s string) string {
	s = maskPhones(s)
	s = replaceAllLoop(landlineRe, s, "${1}${2}-****${4}${5}")
	s = doorRe.ReplaceAllString(s, "**$2")
	s = replaceAllLoop(doorDashRe, s, "${1}${2}-**${4}")
	return s
}

// replaceAllLoop reapplies re until nothing changes: adjacent matches share a boundary
// character, which a single ReplaceAll pass would skip.
func replaceAllLoop(re *regexp.Regexp, s, repl string) string {
	for i := 0; i < 4; i++ {
		n := re.ReplaceAllString(s, repl)
		if n == s {
			break
		}
		s = n
	}
	return s
}

// MaskPhone masks one phone number for display: 13812345678 → 138****5678.
func MaskPhone(p string) string {
	p = strings.TrimSpace(p)
	r := []rune(p)
	if len(r) < 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}

// MaskDoor masks a door number, keeping building and unit: "3栋2单元502室" → "3栋2单元**室".
func MaskDoor(d string) string {
	if d == "" {
		return ""
	}
	m := Mask(d)
	if m == d && !strings.ContainsAny(d, "栋单元") {
		return "**"
	}
	return m
}

// Phones returns the phone numbers written in s, as the claimer and the secretary need them.
func Phones(s string) []string {
	var out []string
	for _, m := range phoneMatches(s) {
		out = append(out, s[m[2]:m[3]]+s[m[4]:m[5]]+s[m[6]:m[7]])
	}
	return out
}

// phoneMatches returns the submatch indexes of phone numbers not embedded in longer digit runs.
func phoneMatches(s string) [][]int {
	var out [][]int
	for _, m := range phoneRe.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > 0 && isDigit(s[m[0]-1]) || m[1] < len(s) && isDigit(s[m[1]]) {
			continue
		}
		out = append(out, m)
	}
	return out
}

func maskPhones(s string) string {
	ms := phoneMatches(s)
	if len(ms) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m[0]])
		b.WriteString(s[m[2]:m[3]] + "****" + s[m[6]:m[7]])
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
