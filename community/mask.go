package community

import (
	"regexp"
	"strings"
)

var (
	// Mainland mobile numbers, possibly written with spaces or dashes (138 1234 5678).
	phoneRe = regexp.MustCompile(`(^|[^0-9])(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})($|[^0-9])`)
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
	s = replaceAllLoop(phoneRe, s, "${1}${2}****${4}${5}")
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
	for _, m := range phoneRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[2]+m[3]+m[4])
	}
	return out
}
