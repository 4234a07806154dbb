package zh

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize folds full-width forms to ASCII (＃１２ → #12, ＋１ → +1, ：，→ :,), turns
// every kind of space into one ASCII space, drops zero-width characters and invalid bytes'
// damage (they become U+FFFD), trims, and drops trailing 。！!~ and similar.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == '\uFE5F': // small number sign
			r = '#'
		case r == '\u200B', r == '\u200C', r == '\u200D', r == '\u2060', r == '\uFEFF':
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	for out != "" {
		r, size := utf8.DecodeLastRuneInString(out)
		if !isTrailingPunct(r) {
			break
		}
		out = strings.TrimRight(out[:len(out)-size], " ")
	}
	return out
}

func isTrailingPunct(r rune) bool {
	switch r {
	case '。', '!', '~', '.', ',', ';', ':', '、', '…', '\uFF61':
		return true
	}
	return false
}

// IsSep reports separators that may sit between a verb, its number and its text.
func IsSep(r rune) bool {
	switch r {
	case ',', ';', ':', '、', '。':
		return true
	}
	return false
}

// TrimArgs trims spaces and separators from both ends.
func TrimArgs(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == ' ' || IsSep(r) })
}

// CutSpan removes s[a:b] and joins the two sides without doubling a space or a separator.
func CutSpan(s string, a, b int) string {
	left := strings.TrimRight(s[:a], " ")
	right := strings.TrimLeft(s[b:], " ")
	if left == "" || right == "" {
		return TrimArgs(left + right)
	}
	lr, _ := utf8.DecodeLastRuneInString(left)
	rr, rsize := utf8.DecodeRuneInString(right)
	switch {
	case IsSep(lr) && IsSep(rr):
		return left + strings.TrimLeft(right[rsize:], " ")
	case IsSep(lr) || IsSep(rr):
		return left + right
	}
	return left + " " + right
}

// SplitFirstWord splits off the first word (up to a space or a separator).
func SplitFirstWord(s string) (tok, rest string) {
	s = TrimArgs(s)
	for i, r := range s {
		if r == ' ' || IsSep(r) {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

const MaxItemDigits = 9

// LeadingItem reads an item number at the start of s: 12, #12, 12号, 12单, 第12单, 第十二单,
// No.12, №12, 十二. n == 0 when s does not start with one. explicit is set when the number
// is marked as an item (#, No., 第, 号, 单), so it can stand alone as a message. A bare
// number followed by a unit (3栋, 5星, 18点, 11-30) is not an item.
func LeadingItem(s string) (v int64, n int, explicit bool) {
	i := 0
	switch {
	case strings.HasPrefix(s, "#"):
		i = 1
		if i < len(s) && s[i] == ' ' {
			i++
		}
		return itemDigits(s, i, true)
	case strings.HasPrefix(s, "№"):
		i = len("№")
		if i < len(s) && (s[i] == '.' || s[i] == ' ') {
			i++
		}
		return itemDigits(s, i, true)
	case len(s) >= 3 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'O' || s[1] == 'o'):
		i = 2
		if s[i] == '.' {
			i++
		}
		if i < len(s) && s[i] == ' ' {
			i++
		}
		return itemDigits(s, i, true)
	case strings.HasPrefix(s, "第"):
		i = len("第")
		if i < len(s) && s[i] == ' ' {
			i++
		}
		num, k := LeadingNumber(s[i:], MaxItemDigits)
		if k == 0 {
			return 0, 0, false
		}
		i += k
		if sl := itemSuffixLen(s[i:]); sl > 0 {
			return int64(num), i + sl, true
		}
		if !itemEnds(s[i:]) {
			return 0, 0, false
		}
		return int64(num), i, true
	}
	if d := DigitRunLen(s); d > 0 {
		if d > MaxItemDigits {
			return 0, 0, false
		}
		v = AtoiDigits(s[:d])
		if sl := itemSuffixLen(s[d:]); sl > 0 {
			return v, d + sl, true
		}
		if !digitsMayEndItem(s[d:]) {
			return 0, 0, false
		}
		return v, d, false
	}
	num, k := LeadingCN(s)
	if k == 0 {
		return 0, 0, false
	}
	if sl := itemSuffixLen(s[k:]); sl > 0 {
		return int64(num), k + sl, true
	}
	if !itemEnds(s[k:]) {
		return 0, 0, false
	}
	return int64(num), k, false
}

// itemDigits reads the digits after an explicit mark (#, No.) at s[i:].
func itemDigits(s string, i int, explicit bool) (int64, int, bool) {
	d := DigitRunLen(s[i:])
	if d == 0 || d > MaxItemDigits {
		return 0, 0, false
	}
	v := AtoiDigits(s[i : i+d])
	i += d
	i += itemSuffixLen(s[i:])
	return v, i, explicit
}

// itemSuffixLen is the length of 号 / 单 / 号单 after an item number, but not of 号楼 or
// 单元, which name buildings.
func itemSuffixLen(s string) int {
	switch {
	case strings.HasPrefix(s, "号"):
		for _, w := range []string{"号楼", "号院", "号门", "号线", "号床", "号房", "号室"} {
			if strings.HasPrefix(s, w) {
				return 0
			}
		}
		if strings.HasPrefix(s[len("号"):], "单") && !strings.HasPrefix(s[len("号"):], "单元") {
			return len("号单")
		}
		return len("号")
	case strings.HasPrefix(s, "单"):
		if strings.HasPrefix(s, "单元") || strings.HasPrefix(s, "单位") {
			return 0
		}
		return len("单")
	}
	return 0
}

// itemEnds reports whether an item number may end right before s (end, space, separator).
func itemEnds(s string) bool {
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r == ' ' || IsSep(r)
}

// digitsMayEndItem reports whether a run of digits followed by s can be an item number:
// "12已换灯泡" can, "3栋", "5星", "18:00", "11-30", "4.5", "5G" cannot.
func digitsMayEndItem(s string) bool {
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch {
	case r == ':' || r == '.' || r == '-' || r == '/':
		return len(s) < 2 || s[1] < '0' || s[1] > '9'
	case r == '%' || r == '*' || r == '+' || r == '~' || r == '×':
		return false
	case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
		return false
	}
	return !isCountUnit(r)
}

// isCountUnit reports characters that, after a number, make it a quantity, a time or an
// address rather than an item number.
func isCountUnit(r rune) bool {
	switch r {
	case '星', '分', '人', '名', '位', '天', '日', '月', '年', '点', '时', '小', '周', '秒', '刻',
		'栋', '幢', '座', '楼', '层', '室', '户', '门', '期', '路', '弄', '区', '组', '排', '巷', '街', '村',
		'元', '块', '角', '毛', '米', '斤', '克', '升', '公', '千', '万', '百', '亿', '度', '寸', '尺',
		'个', '件', '次', '遍', '趟', '岁', '台', '辆', '只', '条', '张', '本', '份', '箱', '袋', '瓶',
		'桶', '倍', '折', '平', '方', '间', '套', '班', '届', '代', '句', '页', '部', '把', '双', '对',
		'根', '棵', '盆', '支', '颗', '粒', '项', '样', '种', '车', '号', '单':
		return true
	}
	return false
}

// StarsAt reads a rating at s[i:]: ★★★★ (☆ ignored), 5星 / 5颗星 / 五星, 5分, 满分.
// bad is set for a rating outside 1..5 (9星, 0星, ★★★★★★, 10分).
func StarsAt(s string, i int) (stars, end int, ok, bad bool) {
	t := s[i:]
	if strings.HasPrefix(t, "满分") {
		return 5, i + len("满分"), true, false
	}
	if r, _ := utf8.DecodeRuneInString(t); r == '★' || r == '⭐' {
		j := 0
		for j < len(t) {
			r, size := utf8.DecodeRuneInString(t[j:])
			if r == '★' || r == '⭐' {
				stars++
			} else if r != '☆' && r != '\uFE0F' {
				break
			}
			j += size
		}
		return stars, i + j, stars <= 5, stars > 5
	}
	if !NumberStartsAt(s, i) {
		return 0, 0, false, false
	}
	digits := DigitRunLen(t) > 0
	v, n := LeadingNumber(t, 3)
	if n == 0 {
		return 0, 0, false, false
	}
	u := t[n:]
	if digits && strings.HasPrefix(u, " ") && (strings.HasPrefix(u[1:], "星") || strings.HasPrefix(u[1:], "颗星")) {
		u, n = u[1:], n+1 // "5 星"
	}
	switch {
	case strings.HasPrefix(u, "颗星"):
		n += len("颗星")
	case strings.HasPrefix(u, "星") && !strings.HasPrefix(u, "星期"):
		n += len("星")
	case strings.HasPrefix(u, "分") && !strings.HasPrefix(u, "分钟") && !strings.HasPrefix(u, "分钱") &&
		!strings.HasPrefix(u, "分之"):
		if prev, _ := utf8.DecodeLastRuneInString(s[:i]); prev == '点' || prev == '时' {
			return 0, 0, false, false // 8点5分 is a time
		}
		if !digits && (v < 1 || v > 5) {
			return 0, 0, false, false // 十分满意 means "very satisfied"
		}
		n += len("分")
	default:
		return 0, 0, false, false
	}
	if !digits && v == 0 {
		return 0, 0, false, false // 零星 means "sporadic"
	}
	if v < 1 || v > 5 {
		return v, i + n, false, true
	}
	return v, i + n, true, false
}

// FindStars finds the first rating in s and its span.
func FindStars(s string) (stars, start, end int, ok, bad bool) {
	for i := 0; i < len(s); {
		if v, e, ok, bad := StarsAt(s, i); ok || bad {
			return v, i, e, ok, bad
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return 0, 0, 0, false, false
}

// FindSlots finds how many people an item needs: 需要5人, 需5人, 5人, 五人, 5名, 3位,
// 需要5名党员. It returns 1..99 and the span.
func FindSlots(s string) (v, start, end int, ok bool) {
	for i := 0; i < len(s); {
		if NumberStartsAt(s, i) {
			if n, k := LeadingNumber(s[i:], 2); k > 0 && n >= 1 && n <= 99 {
				if e, ok := slotUnitEnd(s, i+k); ok {
					start := i
					left := strings.TrimRight(s[:i], " ")
					for _, p := range []string{"需要", "招募", "需", "要", "招"} {
						if strings.HasSuffix(left, p) {
							start = len(left) - len(p)
							break
						}
					}
					return n, start, e, true
				}
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return 0, 0, 0, false
}

func slotUnitEnd(s string, j int) (int, bool) {
	u := s[j:]
	if !strings.HasPrefix(u, "人") && !strings.HasPrefix(u, "名") && !strings.HasPrefix(u, "位") {
		return 0, false
	}
	for _, w := range []string{"人次", "人份", "人民", "名字", "名单", "位置"} {
		if strings.HasPrefix(u, w) {
			return 0, false
		}
	}
	j += len("人")
	for _, w := range []string{"党员", "志愿者"} {
		if strings.HasPrefix(s[j:], w) {
			return j + len(w), true
		}
	}
	return j, true
}

// FoldDigits turns full-width digits and ＃ into ASCII and leaves everything else as it is
// (for text kept as written, such as a poll's options).
func FoldDigits(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= '０' && r <= '９' || r == '＃' }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' || r == '＃' {
			return r - 0xFEE0
		}
		return r
	}, s)
}

// Fold turns full-width letters, digits and punctuation into ASCII, drops zero-width
// characters and turns every run of white space into one ASCII space, trimmed. Unlike
// Normalize it keeps trailing punctuation.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == '\u200B', r == '\u200C', r == '\u200D', r == '\u2060', r == '\uFEFF':
			continue
		}
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
