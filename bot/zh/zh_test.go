package zh_test

import (
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/zh"
)

func TestLeadingItem(t *testing.T) {
	for _, tt := range []struct {
		in       string
		v        int64
		n        int
		explicit bool
	}{
		{"#12", 12, 3, true},
		{"12号", 12, len("12号"), true},
		{"第12单", 12, len("第12单"), true},
		{"第十二单", 12, len("第十二单"), true},
		{"十二", 12, len("十二"), false},
		{"12 已换灯泡", 12, 2, false},
		{"No.12", 12, 5, true},
		{"3栋", 0, 0, false},
		{"12号楼", 0, 0, false},
		{"5星", 0, 0, false},
		{"2单元", 0, 0, false},
	} {
		v, n, explicit := zh.LeadingItem(tt.in)
		if v != tt.v || n != tt.n || explicit != tt.explicit {
			t.Errorf("LeadingItem(%q) = %d, %d, %v; want %d, %d, %v", tt.in, v, n, explicit, tt.v, tt.n, tt.explicit)
		}
	}
}

func TestNormalizeAndFold(t *testing.T) {
	if got := zh.Normalize("＃１２　完成了！"); got != "#12 完成了!" && got != "#12 完成了" {
		t.Errorf("Normalize = %q", got)
	}
	if got := zh.Fold("  活动：每月１５日\u200b 9:00 "); got != "活动:每月15日 9:00" {
		t.Errorf("Fold = %q", got)
	}
	if got := zh.FoldDigits("投票 １２ 同意，好"); got != "投票 12 同意，好" {
		t.Errorf("FoldDigits = %q", got)
	}
}

func TestNumberRunes(t *testing.T) {
	for in, want := range map[string][2]int{"15日": {15, 2}, "二十一": {21, 3}, "十五": {15, 2}, "二〇二七年": {2027, 4}, "三十": {30, 2}, "日": {0, 0}} {
		v, n := zh.NumberRunes([]rune(in))
		if v != want[0] || n != want[1] {
			t.Errorf("NumberRunes(%q) = %d, %d; want %v", in, v, n, want)
		}
	}
}

// One deadline reader: 派单, 投票 and 改期 read 截止 the same way.
func TestFindDeadline(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, loc) // a Monday
	for in, want := range map[string]time.Time{
		"截止 周五18点": time.Date(2026, 11, 27, 18, 0, 0, 0, loc),
		"截止 明天":    time.Date(2026, 11, 24, 18, 0, 0, 0, loc),
		"截至11月30日": time.Date(2026, 11, 30, 18, 0, 0, 0, loc),
	} {
		got, _, _, found, bad := zh.FindDeadline(zh.Normalize(in), now, nil)
		if !found || bad || !got.Equal(want) {
			t.Errorf("FindDeadline(%q) = %v found %v bad %v; want %v", in, got, found, bad, want)
		}
	}
	if _, _, _, found, bad := zh.FindDeadline("截止 随便", now, nil); found || !bad {
		t.Error("截止 followed by no time is bad")
	}
}
