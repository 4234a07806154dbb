package zh

import "unicode/utf8"

// CNDigit is the value of one Chinese digit (零 and 〇 are 0, 两 is 2), or -1.
func CNDigit(r rune) int {
	switch r {
	case '零', '〇':
		return 0
	case '一':
		return 1
	case '二', '两':
		return 2
	case '三':
		return 3
	case '四':
		return 4
	case '五':
		return 5
	case '六':
		return 6
	case '七':
		return 7
	case '八':
		return 8
	case '九':
		return 9
	}
	return -1
}

// IsCNNumeral reports whether r can be part of a Chinese numeral we read.
func IsCNNumeral(r rune) bool { return r == '十' || CNDigit(r) >= 0 }

// LeadingCN reads a Chinese numeral 0..99 at the start of s: 三, 两, 十, 十二, 二十, 九十九.
// It returns the value and the bytes consumed; n == 0 when s does not start with one.
func LeadingCN(s string) (v, n int) {
	r, size := utf8.DecodeRuneInString(s)
	if r == '十' {
		v, n = 10, size
		if d, sz := leadingCNUnit(s[n:]); d > 0 {
			v += d
			n += sz
		}
		return v, n
	}
	d := CNDigit(r)
	if d < 0 {
		return 0, 0
	}
	v, n = d, size
	if d == 0 {
		return v, n
	}
	if r2, sz := utf8.DecodeRuneInString(s[n:]); r2 == '十' {
		v, n = d*10, n+sz
		if d2, sz2 := leadingCNUnit(s[n:]); d2 > 0 {
			v += d2
			n += sz2
		}
	}
	return v, n
}

// leadingCNUnit reads one Chinese digit 1..9 at the start of s.
func leadingCNUnit(s string) (v, n int) {
	r, size := utf8.DecodeRuneInString(s)
	if d := CNDigit(r); d > 0 {
		return d, size
	}
	return 0, 0
}

// DigitRunLen is the length of the run of ASCII digits at the start of s.
func DigitRunLen(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// AtoiDigits converts a short run of ASCII digits; callers bound the length so it cannot overflow.
func AtoiDigits(s string) int64 {
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*10 + int64(s[i]-'0')
	}
	return v
}

// LeadingNumber reads a number at the start of s: 1..maxDigits ASCII digits, or a Chinese
// numeral 0..99. A longer digit run is not a number here (n == 0), so a phone number is
// never read as an hour or a count.
func LeadingNumber(s string, maxDigits int) (v, n int) {
	if d := DigitRunLen(s); d > 0 {
		if d > maxDigits {
			return 0, 0
		}
		return int(AtoiDigits(s[:d])), d
	}
	return LeadingCN(s)
}

// NumberStartsAt reports whether a number read at s[i:] starts a number rather than
// continuing one ("12" inside "112", "五" inside "十五", "5" inside "4.5").
func NumberStartsAt(s string, i int) bool {
	if i == 0 {
		return true
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		return !(prev >= '0' && prev <= '9') && prev != '.'
	}
	return !IsCNNumeral(prev)
}

// NumberRunes reads a non-negative number at the start of rs: Arabic digits ("15", "2027") or
// Chinese numerals up to 99 ("十五", "二十一", "三十"; "二〇二七" digit by digit). It returns
// the value and how many runes it used; n == 0 when rs does not start with a number.
func NumberRunes(rs []rune) (v, n int) {
	for n < len(rs) && rs[n] >= '0' && rs[n] <= '9' {
		if v > 1e6 { // bounded: nothing in a rule needs more
			return 0, 0
		}
		v = v*10 + int(rs[n]-'0')
		n++
	}
	if n > 0 {
		return v, n
	}
	// Chinese: [d]十[d] or a run of digits (二〇二七).
	tens, seenTen := 0, false
	for n < len(rs) {
		r := rs[n]
		if r == '十' {
			if seenTen {
				break
			}
			seenTen = true
			if v == 0 && n == 0 {
				tens = 1
			} else {
				tens = v
			}
			v = 0
			n++
			continue
		}
		d := CNDigit(r)
		if d < 0 {
			break
		}
		if seenTen {
			v = d
			n++
			break // 二十一: one digit after 十
		}
		v = v*10 + d
		n++
	}
	if seenTen {
		v += tens * 10
	}
	return v, n
}
