package community

import (
	"strings"
	"unicode/utf8"
)

// Masking rules (Mask). Everything a group sees goes through Mask; private messages do not.
//
// Numbers are read as clusters: runs of ASCII or full-width digits joined by single
// separators (space, no-break space, ideographic space, ASCII/full-width hyphens and dashes),
// optionally led by + or ＋. A whole cluster is classified by its digits; a cluster that is
// not one number (two phones in a row, a date before a phone) is split at its separators
// into pieces, phones first, each as long as it can be.
//
//   - Mobile phone: 11 digits 1[3-9]…, optionally led by 86, +86 or 0086, written in any
//     grouping or width → first 3 and last 4 in ASCII: 138****5678 (the prefix goes).
//   - ID number: 17 digits and X, or 18 digits whose birth date looks like one; old 15-digit
//     numbers with a plausible date → first 3 and last 4: 110***********123X, 110********1234.
//   - Bank card: any other run of 16–19 digits → last 4 only: ****1234.
//   - Landline: area code 0xx/0xxx and 7–8 digits → 0571-****1234.
//   - Door: room numbers go, building and unit stay: 502室 → ***室, 3栋2单元502 →
//     3栋2单元***, 3号楼1201 → 3号楼***, 5楼502 → 5楼***, A座1203 → A座***,
//     3-2-502 → 3-2-***, 3-502 → 3-***; not before a measure word (1-100人).
//
// Kept: item numbers (#12, 12号), dates and times (12月3日, 18:00, 2026年, 2026-12-06),
// counts (需要5人), building and unit alone (3栋2单元), numbers of 12–15 digits that are
// neither phones nor ID numbers (order numbers).

// Mask hides personal numbers in text shown to a group (see the rules above). It is
// idempotent: masking is repeated until nothing changes, so digits a mask keeps can never
// join their neighbours into a new number.
func Mask(s string) string {
	for {
		n := maskOnce(s)
		if n == s {
			return s
		}
		// Each pass that changes s removes digits, so this ends.
		s = n
	}
}

// ContainsPersonal reports whether Mask would hide anything in s.
func ContainsPersonal(s string) bool { return maskOnce(s) != s }

// Phones returns the mobile numbers written in s, in any spelling Mask recognises,
// normalised to 11 ASCII digits, as the claimer and the secretary need them.
func Phones(s string) []string { return numbers(s, kindPhone) }

// IDNumbers returns the ID numbers written in s, normalised to ASCII digits and upper-case X.
func IDNumbers(s string) []string { return numbers(s, kindID) }

// BankCards returns the bank card numbers written in s, as ASCII digits.
func BankCards(s string) []string { return numbers(s, kindBank) }

// MaskPhone masks one phone number for display: 13812345678 → 138****5678.
func MaskPhone(p string) string {
	if ph := Phones(p); len(ph) == 1 {
		return ph[0][:3] + "****" + ph[0][7:]
	}
	p = strings.TrimSpace(p)
	r := []rune(p)
	if len(r) < 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}

// MaskDoor masks a door number, keeping building and unit: "3栋2单元502室" → "3栋2单元***室".
func MaskDoor(d string) string {
	if d == "" {
		return ""
	}
	m := Mask(d)
	if m == d && !strings.ContainsAny(d, "栋单元") {
		return "***"
	}
	return m
}

func numbers(s string, k kind) []string {
	var out []string
	scanNumbers(s, func(m match) {
		if m.kind == k {
			out = append(out, m.norm)
		}
	})
	return out
}

// maskOnce is one pass: numbers, then rooms, then rooms after a building or unit.
func maskOnce(s string) string {
	if !mayHold(s) {
		return s
	}
	var b strings.Builder
	last := 0
	scanNumbers(s, func(m match) {
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:m.from])
		b.WriteString(m.repl)
		last = m.to
	})
	if last > 0 {
		b.WriteString(s[last:])
		s = b.String()
	}
	return maskRooms(s)
}

// mayHold is the fast path: most chat lines hold no digit and no room word.
func mayHold(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c == 0xEF {
			return true
		}
	}
	return strings.Contains(s, "室") || strings.Contains(s, "房")
}

type kind uint8

const (
	kindPhone kind = iota + 1
	kindID
	kindBank
	kindLandline
	kindDoor
)

// match is one number to replace: s[from:to] becomes repl; norm is its ASCII digits.
type match struct {
	kind     kind
	from, to int
	repl     string
	norm     string
}

// group is one run of digits of a cluster.
type group struct {
	start, end int  // byte offsets in s
	ds, de     int  // offsets in the cluster's normalised digits
	xEnd       int  // > 0: an ID check letter X follows, up to here
	sepDash    bool // the separator after this group is a dash
}

const maxNumber = 19 // the longest number classified (bank card)

// scanNumbers calls fn, in order, for every number of s a group must not see.
func scanNumbers(s string, fn func(match)) {
	var digits []byte
	var gs []group
	for i := 0; i < len(s); {
		if _, n := digitAt(s, i); n == 0 {
			i++
			continue
		}
		// A cluster: groups of digits joined by single separators.
		plus := -1
		if i > 0 && s[i-1] == '+' {
			plus = i - 1
		} else if i >= 3 && s[i-3:i] == "＋" {
			plus = i - 3
		}
		digits, gs = digits[:0], gs[:0]
		j := i
		for {
			g := group{start: j, ds: len(digits)}
			for {
				d, n := digitAt(s, j)
				if n == 0 {
					break
				}
				digits = append(digits, d)
				j += n
			}
			g.end, g.de = j, len(digits)
			sep, dash := sepAt(s, j)
			if sep > 0 {
				if _, n := digitAt(s, j+sep); n > 0 {
					g.sepDash = dash
					gs = append(gs, g)
					j += sep
					continue
				}
			}
			if x := xAt(s, j); x > 0 {
				g.xEnd = j + x
			}
			gs = append(gs, g)
			break
		}
		c := cluster{s: s, d: digits, g: gs, plus: plus}
		c.matches(fn)
		i = j
	}
}

type cluster struct {
	s    string
	d    []byte
	g    []group
	plus int // offset of a leading + sign, -1 if none
}

func (c *cluster) matches(fn func(match)) {
	n := len(c.g)
	if m, ok := c.classify(0, n-1, true, 0); ok {
		fn(m)
		return
	}
	// Not one number: pieces of it, longest first, phones before other kinds.
	for i := 0; i < n; {
		found := false
		for k := kindPhone; k <= kindDoor && !found; k++ {
			for j := c.lastWithin(i); j >= i; j-- {
				if i == 0 && j == n-1 {
					continue
				}
				if m, ok := c.classify(i, j, false, k); ok {
					fn(m)
					i, found = j+1, true
					break
				}
			}
		}
		if !found {
			i++
		}
	}
}

// lastWithin is the last group a piece starting at group i may reach without holding more
// digits than any number classified (plus a country code).
func (c *cluster) lastWithin(i int) int {
	j := i
	for j+1 < len(c.g) && c.g[j+1].de-c.g[i].ds <= maxNumber+4 {
		j++
	}
	return j
}

// classify tries groups i..j as one number: of kind only, or of any kind if only is 0. Only
// a whole cluster of 11 digits is a phone in any grouping; otherwise a number must look
// written as one: groups of 3 or more digits, besides a leading country code, or a card in
// groups of 4 (so a date
// before a phone, 2026-12-06 13812345678, is not taken for a bank card).
func (c *cluster) classify(i, j int, whole bool, only kind) (match, bool) {
	d := string(c.d[c.g[i].ds:c.g[j].de])
	short, fours := false, true
	for k := i; k <= j && i != j; k++ {
		n := c.g[k].de - c.g[k].ds
		if n < 3 && !(k == i && d[:n] == "86") {
			short = true
		}
		if k < j && n != 4 {
			fours = false
		}
	}
	if short && fours && i != j {
		short = false // a card in fours, its last group shorter: 6222 0212 3456 7890 1
	}
	from, to := c.g[i].start, c.g[j].end
	if i == 0 && c.plus >= 0 {
		from = c.plus
	}
	x := j == len(c.g)-1 && c.g[j].xEnd > 0
	try := func(k kind) bool { return only == 0 || only == k }

	if try(kindPhone) && (whole || !short) {
		p := d
		switch {
		case len(p) == 13 && p[:2] == "86":
			p = p[2:]
		case len(p) == 15 && p[:4] == "0086":
			p = p[4:]
		}
		if isMobile(p) {
			return match{kind: kindPhone, from: from, to: to, repl: p[:3] + "****" + p[7:], norm: p}, true
		}
	}
	if short {
		if try(kindDoor) && c.door(i, j) {
			return match{kind: kindDoor, from: c.g[j].start, to: to, repl: "***"}, true
		}
		return match{}, false
	}
	if try(kindID) {
		switch {
		case len(d) == 17 && x:
			return match{kind: kindID, from: c.g[i].start, to: c.g[j].xEnd, repl: d[:3] + "***********" + d[14:] + "X", norm: d + "X"}, true
		case len(d) == 18 && looksID18(d):
			return match{kind: kindID, from: c.g[i].start, to: to, repl: d[:3] + "***********" + d[14:], norm: d}, true
		case len(d) == 15 && looksID15(d):
			return match{kind: kindID, from: c.g[i].start, to: to, repl: d[:3] + "********" + d[11:], norm: d}, true
		}
	}
	if try(kindBank) && len(d) >= 16 && len(d) <= maxNumber {
		return match{kind: kindBank, from: c.g[i].start, to: to, repl: "****" + d[len(d)-4:], norm: d}, true
	}
	if try(kindLandline) && len(d) >= 10 && len(d) <= 12 && d[0] == '0' && d[1] != '0' {
		area := 4
		if d[1] == '1' || d[1] == '2' {
			area = 3
		}
		if i < j {
			area = c.g[i].de - c.g[i].ds
		}
		if rest := len(d) - area; area >= 3 && area <= 4 && rest >= 7 && rest <= 8 {
			return match{kind: kindLandline, from: c.g[i].start, to: to, repl: d[:area] + "-****" + d[len(d)-4:], norm: d}, true
		}
	}
	if try(kindDoor) && c.door(i, j) {
		return match{kind: kindDoor, from: c.g[j].start, to: to, repl: "***"}, true
	}
	return match{}, false
}

// door reports whether groups i..j read as building-room or building-unit-room: 3-502,
// 3-2-502, and not a range of a count (1-100人) or a date (2026-12-06).
func (c *cluster) door(i, j int) bool {
	if j-i < 1 || j-i > 2 || c.g[j].xEnd > 0 {
		return false
	}
	if i > 0 && c.g[i-1].sepDash || c.g[j].sepDash {
		return false // part of a longer dashed number
	}
	for k := i; k < j; k++ {
		if n := c.g[k].de - c.g[k].ds; n > 2 || !c.g[k].sepDash {
			return false
		}
	}
	if n := c.g[j].de - c.g[j].ds; n < 3 || n > 4 {
		return false
	}
	return !unitFollows(c.s[c.g[j].end:])
}

// unitFollows reports whether rest starts with a measure word: the number before it is a
// count, a sum or a date, not a room.
func unitFollows(rest string) bool {
	for _, r := range rest {
		if r == '楼' {
			// 12楼 is a floor, but 502楼道 / 502楼下 is a room and what is outside it.
			after := rest[len("楼"):]
			for _, r2 := range after {
				return !strings.ContainsRune("道梯下上顶里外前后口", r2)
			}
			return true
		}
		return strings.ContainsRune("人元块个名位户岁天年月日次件米斤层栋幢单%", r)
	}
	return false
}

func isMobile(p string) bool {
	return len(p) == 11 && p[0] == '1' && p[1] >= '3' && p[1] <= '9'
}

// looksID18 checks a region code and a birth date of 19xx or 20xx.
func looksID18(d string) bool {
	return d[0] >= '1' && d[0] <= '8' && (d[6:8] == "19" || d[6:8] == "20") && validMonthDay(d[10:14])
}

// looksID15 checks the old format: region code and a YYMMDD birth date.
func looksID15(d string) bool {
	return d[0] >= '1' && d[0] <= '8' && validMonthDay(d[8:12])
}

func validMonthDay(md string) bool {
	m := int(md[0]-'0')*10 + int(md[1]-'0')
	day := int(md[2]-'0')*10 + int(md[3]-'0')
	return m >= 1 && m <= 12 && day >= 1 && day <= 31
}

// digitAt returns the ASCII digit at s[i] (ASCII or full-width) and its width, 0 if none.
func digitAt(s string, i int) (byte, int) {
	if i >= len(s) {
		return 0, 0
	}
	if c := s[i]; c >= '0' && c <= '9' {
		return c, 1
	}
	// Full-width ０-９ are U+FF10-U+FF19: EF BC 90-99.
	if i+2 < len(s) && s[i] == 0xEF && s[i+1] == 0xBC && s[i+2] >= 0x90 && s[i+2] <= 0x99 {
		return '0' + s[i+2] - 0x90, 3
	}
	return 0, 0
}

// sepAt returns the width of a separator at s[i] that may sit inside a number, 0 if none,
// and whether it is a dash.
func sepAt(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch s[i] {
	case ' ':
		return 1, false
	case '-':
		return 1, true
	}
	for _, sep := range [...]struct {
		s    string
		dash bool
	}{{"\u00a0", false}, {"\u3000", false}, {"－", true}, {"‐", true}, {"‑", true}, {"–", true}, {"—", true}} {
		if strings.HasPrefix(s[i:], sep.s) {
			return len(sep.s), sep.dash
		}
	}
	return 0, false
}

// xAt returns the width of an ID check letter (X, x, Ｘ, ｘ) at s[i] that ends a word, 0 if none.
func xAt(s string, i int) int {
	n := 0
	switch {
	case i < len(s) && (s[i] == 'X' || s[i] == 'x'):
		n = 1
	case strings.HasPrefix(s[i:], "Ｘ") || strings.HasPrefix(s[i:], "ｘ"):
		n = 3
	default:
		return 0
	}
	if k := i + n; k < len(s) {
		if c := s[k]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' {
			return 0
		}
		if _, d := digitAt(s, k); d > 0 {
			return 0
		}
	}
	return n
}

// unitMarks end a building, floor or unit; 3 or 4 digits right after one are a room:
// 3栋2单元502, 3号楼1201, A座1203.
var unitMarks = [...]string{"单元", "栋", "幢", "楼", "座"}

// maskRooms masks room numbers, keeping building and unit: the numerals before 室, 号房 or
// 房 (502室, 三零二室), and 3 or 4 digits after a building or unit mark. A hand-written scan:
// Go's regexp has no lookaround and is several times slower here, on every group message.
func maskRooms(s string) string {
	var b strings.Builder
	last := 0
	cut := func(from, to int) {
		b.WriteString(s[last:from])
		b.WriteString("***")
		last = to
	}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && (c < '0' || c > '9') {
			i++ // ASCII, most of a message's bytes between the Chinese
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '单', '栋', '幢', '楼', '座':
			if from, to, ok := roomAfterMark(s, i); ok {
				cut(from, to)
				i = to
				continue
			}
		}
		if e := numeralsEnd(s, i); e > i {
			if roomWordAt(s, e) {
				cut(i, e)
			}
			i = e
			continue
		}
		i += w
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// roomAfterMark reports a room number right after a unit mark at s[i]: its digits' range.
func roomAfterMark(s string, i int) (from, to int, ok bool) {
	for _, m := range unitMarks {
		if !strings.HasPrefix(s[i:], m) {
			continue
		}
		k := i + len(m)
		if k < len(s) && s[k] == ' ' {
			k++
		} else if strings.HasPrefix(s[k:], "\u3000") {
			k += len("\u3000")
		}
		e, n := k, 0
		for {
			_, w := digitAt(s, e)
			if w == 0 {
				break
			}
			e, n = e+w, n+1
		}
		// A longer run is no room; a measure word after it makes it a count (栋住了120户 has
		// none, 楼2026年 has one); a mask after it is a phone already masked.
		if n >= 3 && n <= 4 && !unitFollows(s[e:]) && !strings.HasPrefix(s[e:], "*") {
			return k, e, true
		}
		return 0, 0, false
	}
	return 0, 0, false
}

// numeralsEnd returns the end of the run of digits or Chinese numerals at s[i], i if none.
func numeralsEnd(s string, i int) int {
	for i < len(s) {
		if _, w := digitAt(s, i); w > 0 {
			i += w
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '〇', '零':
			i += w
			continue
		}
		return i
	}
	return i
}

// roomWordAt reports 室, 号房 or 房(间) at s[i], but not in 3室2厅 or 一室一厅, which
// describe a flat rather than a door.
func roomWordAt(s string, i int) bool {
	var k int
	switch {
	case strings.HasPrefix(s[i:], "室"), strings.HasPrefix(s[i:], "房"):
		k = i + len("室")
	case strings.HasPrefix(s[i:], "号房"):
		k = i + len("号房")
	default:
		return false
	}
	r := []rune(firstRunes(s[k:], 2))
	return !(len(r) > 0 && r[0] == '厅' || len(r) > 1 && r[1] == '厅')
}

func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
