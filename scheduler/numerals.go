package scheduler

var chineseDigits = map[rune]int{
	'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4,
	'五': 5, '六': 6, '七': 7, '八': 8, '九': 9,
}

// number reads a non-negative number at the start of rs: Arabic digits ("15", "2027") or
// Chinese numerals up to 99 ("十五", "二十一", "三十"; "二〇二七" digit by digit). It returns
// the value and how many runes it used; n == 0 when rs does not start with a number.
func number(rs []rune) (v, n int) {
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
		d, ok := chineseDigits[r]
		if !ok {
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
