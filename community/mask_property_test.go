package community_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/community"
)

// The spellings a black-box test found leaking into group replies, and what a group sees.
func TestMaskHidesPersonalData(t *testing.T) {
	tests := []struct{ in, want string }{
		{"身份证110105194912310021", "身份证110***********0021"},
		{"身份证号11010519491231002X，请核对", "身份证号110***********002X，请核对"},
		{"11010519491231002x", "110***********002X"},
		{"身份证 110105 19491231 002X", "身份证 110***********002X"},
		{"１１０１０５１９４９１２３１００２Ｘ", "110***********002X"},
		{"老身份证110105491231002", "老身份证110********1002"},
		{"电话+8613912345678", "电话139****5678"},
		{"电话8613912345678", "电话139****5678"},
		{"电话+86 139 1234 5678", "电话139****5678"},
		{"电话+86-139-1234-5678", "电话139****5678"},
		{"电话0086 139 1234 5678", "电话139****5678"},
		{"电话１３７１２３４５６７８", "电话137****5678"},
		{"电话１３７1234５６７８", "电话137****5678"},
		{"电话＋８６　１３７　１２３４　５６７８", "电话137****5678"},
		{"电话139 1234 5678", "电话139****5678"},
		{"电话139-1234-5678。", "电话139****5678。"},
		{"住3栋2单元502", "住3栋2单元***"},
		{"3栋2单元502楼道灯坏了", "3栋2单元***楼道灯坏了"},
		{"5栋1203楼下有狗叫", "5栋***楼下有狗叫"},
		{"住502室", "住***室"},
		{"住3号楼2单元1201，", "住3号楼2单元***，"},
		{"住3-2-502", "住3-2-***"},
		{"住3栋2单元5楼502", "住3栋2单元5楼***"},
		{"住A座1203", "住A座***"},
		{"住三零二室", "住***室"},
		{"卡号6222021234567890", "卡号****7890"},
		{"卡号 6222 0212 3456 7890 123 谢谢", "卡号 ****0123 谢谢"},
		{"卡号6222021234567890123", "卡号****0123"},
		{"座机0571 8888 1234", "座机0571-****1234"},
		{"2026-12-06 13812345678", "2026-12-06 138****5678"},
		{"138 1234 5678 139 0000 1111", "138****5678 139****1111"},
		{"3-502 13812345678", "3-*** 138****5678"},
	}
	for _, tt := range tests {
		got := community.Mask(tt.in)
		if got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !community.ContainsPersonal(tt.in) || community.ContainsPersonal(got) {
			t.Errorf("ContainsPersonal(%q) = %v, of its mask %v", tt.in, community.ContainsPersonal(tt.in), community.ContainsPersonal(got))
		}
	}
}

// Numbers that are not personal stay as written.
func TestMaskKeeps(t *testing.T) {
	for _, s := range []string{
		"#12", "事项12号", "12月3日", "18:00", "2026年", "需要5人", "3栋2单元", "3号楼2单元", "3栋2单元5楼", "3栋12楼", "2单元12楼的灯",
		"2026-12-06 18:00-19:30", "订单号 123456789012 不是电话", "3室2厅", "一室一厅", "报名1-100人",
		"活动室", "第3期", "费用1200元", "3栋住了120户", "2026年12月6日（周日）", "12:30", "1.5公里",
		"周六上午清理楼道 需要5人 截止 周六12点", "🎉 #3 已完成", "",
	} {
		if got := community.Mask(s); got != s {
			t.Errorf("Mask(%q) = %q, want it unchanged", s, got)
		}
		if community.ContainsPersonal(s) {
			t.Errorf("ContainsPersonal(%q) = true", s)
		}
	}
}

func TestPhonesEverySpelling(t *testing.T) {
	for _, s := range []string{
		"13912345678", "+8613912345678", "8613912345678", "008613912345678", "+86 139 1234 5678",
		"+86-139-1234-5678", "１３９１２３４５６７８", "139 1234 5678", "139-1234-5678", "＋８６ １３９１２３４５６７８",
	} {
		if got := community.Phones("找我" + s + "。"); len(got) != 1 || got[0] != "13912345678" {
			t.Errorf("Phones(%q) = %q, want [13912345678]", s, got)
		}
		if got := community.MaskPhone(s); got != "139****5678" {
			t.Errorf("MaskPhone(%q) = %q", s, got)
		}
	}
	if got := community.IDNumbers("A 11010519491231002x B 110105491231002"); len(got) != 2 || got[0] != "11010519491231002X" || got[1] != "110105491231002" {
		t.Errorf("IDNumbers = %q", got)
	}
	if got := community.BankCards("6222 0212 3456 7890"); len(got) != 1 || got[0] != "6222021234567890" {
		t.Errorf("BankCards = %q", got)
	}
	if got := community.MaskDoor("3栋2单元502室"); got != "3栋2单元***室" {
		t.Errorf("MaskDoor = %q", got)
	}
}

// personal is one generated personal number: as written, the digits that must not show
// (normalised), and what must show instead.
type personal struct {
	written, digits, shown string
}

// TestMaskProperty generates personal numbers in every spelling, embeds them in Chinese
// sentences with punctuation, emoji and numbers that must stay, and checks that none of the
// personal digits survive while the harmless numbers do.
func TestMaskProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		var ps []personal
		var b strings.Builder
		keeps := []string{}
		for k := range 1 + r.IntN(3) {
			if k > 0 || r.IntN(2) == 0 {
				w := pick(r, fillers)
				b.WriteString(w)
				if strings.ContainsAny(w, "0123456789") {
					keeps = append(keeps, w)
				}
			}
			b.WriteString(pick(r, joiners))
			p := genPersonal(r)
			ps = append(ps, p)
			b.WriteString(p.written)
			b.WriteString(pick(r, joiners))
		}
		b.WriteString(pick(r, fillers))
		in := b.String()
		out := community.Mask(in)
		norm := normalise(out)
		for _, p := range ps {
			if strings.Contains(norm, p.digits) {
				t.Fatalf("#%d: Mask(%q) = %q still shows %s", i, in, out, p.digits)
			}
			if !strings.Contains(out, p.shown) {
				t.Fatalf("#%d: Mask(%q) = %q, want it to show %q", i, in, out, p.shown)
			}
		}
		for _, k := range keeps {
			if !strings.Contains(out, k) {
				t.Fatalf("#%d: Mask(%q) = %q lost %q", i, in, out, k)
			}
		}
		if community.Mask(out) != out {
			t.Fatalf("#%d: Mask not idempotent on %q", i, in)
		}
	}
}

var (
	fillers = []string{"楼道灯坏了", "请帮忙联系", "周六上午清理楼道需要5人", "12月3日18:00前", "老人行动不便😢",
		"#12事项", "2026年社区活动", "谢谢大家！", "（急）", "3栋2单元", "水管漏水💧", "事项12号"}
	joiners = []string{"，", "：", "。", "、", "🙏", "（", "）", "电话", "住", "「", "」", "! ", "\n"}
)

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func genPersonal(r *rand.Rand) personal {
	switch r.IntN(5) {
	case 0, 1:
		return genPhone(r)
	case 2:
		return genID(r)
	case 3:
		return genCard(r)
	}
	return genDoor(r)
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// write spells ASCII digits in a random width: all ASCII, all full-width or mixed.
func write(r *rand.Rand, s string) string {
	mode := r.IntN(3)
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' && (mode == 1 || mode == 2 && r.IntN(2) == 0) {
			b.WriteRune(c - '0' + '０')
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func genPhone(r *rand.Rand) personal {
	p := "1" + string(byte('3'+r.IntN(7))) + digits(r, 9)
	sep := pick(r, []string{"", " ", "-", "－", "\u3000"})
	var body string
	switch r.IntN(3) {
	case 0:
		body = p
	case 1:
		body = p[:3] + sep + p[3:7] + sep + p[7:]
	default:
		body = p[:3] + sep + p[3:]
	}
	prefix := pick(r, []string{"", "", "+86", "86", "0086", "+86 ", "+86-", "＋86", "0086 ", "86 "})
	return personal{written: write(r, prefix) + write(r, body), digits: p, shown: p[:3] + "****" + p[7:]}
}

// genID makes an ID number with a real check character, so some end in X.
func genID(r *rand.Rand) personal {
	if r.IntN(5) == 0 { // the old 15-digit number
		d := string(byte('1'+r.IntN(8))) + digits(r, 5) + fmt.Sprintf("%02d%02d%02d", r.IntN(100), 1+r.IntN(12), 1+r.IntN(28)) + digits(r, 3)
		return personal{written: write(r, d), digits: d, shown: d[:3] + "********" + d[11:]}
	}
	d := string(byte('1'+r.IntN(8))) + digits(r, 5) + fmt.Sprintf("%04d%02d%02d", 1930+r.IntN(95), 1+r.IntN(12), 1+r.IntN(28)) + digits(r, 3)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(d[i]-'0') * w
	}
	check := string("10X98765432"[sum%11])
	full := d + check
	written := full
	if check == "X" && r.IntN(2) == 0 {
		written = d + "x"
	}
	if r.IntN(4) == 0 {
		written = written[:6] + " " + written[6:14] + " " + written[14:]
	}
	return personal{written: write(r, written), digits: full[:17], shown: full[:3] + "***********" + full[14:]}
}

func genCard(r *rand.Rand) personal {
	d := pick(r, []string{"62", "4", "5"})
	d += digits(r, 16+r.IntN(4)-len(d))
	written := d
	if r.IntN(2) == 0 {
		var b strings.Builder
		for i := 0; i < len(d); i += 4 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(d[i:min(i+4, len(d))])
		}
		written = b.String()
	}
	return personal{written: write(r, written), digits: d, shown: "****" + d[len(d)-4:]}
}

func genDoor(r *rand.Rand) personal {
	room := fmt.Sprint(1+r.IntN(30)) + fmt.Sprintf("%02d", 1+r.IntN(4))
	b, u := fmt.Sprint(1+r.IntN(20)), fmt.Sprint(1+r.IntN(6))
	// What must not show is the room with what marks it as a door: any 3 digits may appear
	// elsewhere (2026年).
	var written, gone, shown string
	switch r.IntN(5) {
	case 0:
		written, gone, shown = b+"栋"+u+"单元"+room, u+"单元"+room, b+"栋"+u+"单元***"
	case 1:
		written, gone, shown = room+"室", room+"室", "***室"
	case 2:
		written, gone, shown = b+"号楼"+u+"单元"+room, u+"单元"+room, b+"号楼"+u+"单元***"
	case 3:
		written, gone, shown = b+"-"+u+"-"+room, b+u+room, b+"-"+u+"-***"
	default:
		written, gone, shown = b+"栋"+u+"单元"+room+"室", room+"室", b+"栋"+u+"单元***室"
	}
	return personal{written: written, digits: gone, shown: shown}
}

// normalise writes full-width digits as ASCII and drops spaces and dashes, as someone reading
// the masked text back would.
func normalise(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '０' && c <= '９':
			b.WriteRune(c - '０' + '0')
		case strings.ContainsRune(" \u00a0\u3000-－‐‑–—", c):
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mobileRun reports an 11-digit mobile number in s once full-width digits are read as ASCII
// and single separators between digits are dropped.
func mobileRun(s string) (string, bool) {
	rs := []rune(s)
	var b strings.Builder
	isDigit := func(c rune) bool { return c >= '0' && c <= '9' || c >= '０' && c <= '９' }
	for i, c := range rs {
		if strings.ContainsRune(" \u00a0\u3000-－‐‑–—", c) && i > 0 && i+1 < len(rs) && isDigit(rs[i-1]) && isDigit(rs[i+1]) {
			continue
		}
		if c >= '０' && c <= '９' {
			c = c - '０' + '0'
		}
		b.WriteRune(c)
	}
	n := b.String()
	for i := 0; i < len(n); {
		if n[i] < '0' || n[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(n) && n[j] >= '0' && n[j] <= '9' {
			j++
		}
		if run := n[i:j]; len(run) == 11 && run[0] == '1' && run[1] >= '3' {
			return run, true
		}
		i = j
	}
	return "", false
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"电话13812345678", "3栋502室", "3-502", "0571-88881234", "１３８", "+86 139 1234 5678",
		"11010519491231002X", "6222 0212 3456 7890", "3栋2单元502", "１３７1234５６７８", "1-3812345678 9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := community.Mask(s)
		if mm := community.Mask(m); mm != m {
			t.Fatalf("Mask(%q) = %q, but Mask of that = %q", s, m, mm)
		}
		if utf8.ValidString(s) && !utf8.ValidString(m) {
			t.Fatalf("Mask(%q) = %q is not UTF-8", s, m)
		}
		if p := community.Phones(m); len(p) > 0 {
			t.Fatalf("Mask(%q) = %q still shows phone %s", s, m, p)
		}
		if run, ok := mobileRun(m); ok {
			t.Fatalf("Mask(%q) = %q still shows %s", s, m, run)
		}
	})
}

func BenchmarkMask(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"plain", "3栋2单元楼道灯坏了，麻烦物业师傅周六上午来看看，谢谢大家！🙏"},
		{"numbers", "#12 周六12月3日18:00在3栋2单元门口集合，需要5人，2026年社区活动"},
		{"personal", "住3栋2单元502，电话+86 139 1234 5678，身份证11010519491231002X，卡号6222 0212 3456 7890"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				community.Mask(bc.s)
			}
		})
	}
}
