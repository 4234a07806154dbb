package handlers

import (
	"testing"
	"time"
	"unicode/utf8"
)

var declaredVerbs = map[Verb]bool{
	VerbUnknown: true, VerbHelp: true, VerbNeed: true, VerbMine: true, VerbMyTasks: true,
	VerbDispatch: true, VerbPost: true, VerbCancel: true, VerbReschedule: true, VerbSupervise: true,
	VerbTodo: true, VerbClaim: true, VerbRelease: true, VerbComplete: true, VerbConfirm: true,
	VerbUnsatisfied: true, VerbReopen: true, VerbCloseOut: true, VerbRegister: true, VerbApprove: true,
	VerbBind: true, VerbItem: true,
}

func FuzzParse(f *testing.F) {
	for _, g := range parseGoldenInputs {
		f.Add(g.in, g.ctx.reply, g.ctx.addressed, g.ctx.private, int64(0))
	}
	for _, s := range []string{
		"派单 1 截止 明天下午3点半 需要三人", "改期 12 下星期日晚上12点前", "确认 12 ★★★☆☆⭐️ 好",
		"截止2026年2月29日", "派单 1 截止 99月99日 99点99分", "发布 限 限时 截止", "第九十九单", "第十单号单",
		"No.", "№", "#", "第", "我来 第", "1 ", "+1 #", "确认 十", "报到 @", "同意 @@", "完成了了",
		"派单 1 截止 1天内 1小时内", "改期 1 到", "改期 1 240小时内", "改期 1 9999年1月1日", "\xff\xfe接单 1",
		"接单 999999999", "接单 9999999999", "派单 1 截止 0月0日", "派单 1 截止 0天", "派单 1 截止 周8",
	} {
		f.Add(s, int64(12), true, false, int64(0))
	}
	f.Add("派单 1 截止 周五", int64(0), false, false, int64(400*24*3600))

	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		f.Fatal(err)
	}
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, loc)

	f.Fuzz(func(t *testing.T, text string, reply int64, mentioned, private bool, shift int64) {
		// Now moves around a few years either way so month and year ends are covered.
		now := base.Add(time.Duration(shift%(4*365*24*3600)) * time.Second)
		pc := ParseContext{Now: now, ReplyItem: reply, Mentioned: mentioned, Private: private}
		c := Parse(text, pc)
		if !declaredVerbs[c.Verb] {
			t.Fatalf("Parse(%q): undeclared verb %q", text, c.Verb)
		}
		if c.Stars < 0 || c.Stars > 5 {
			t.Fatalf("Parse(%q): Stars %d", text, c.Stars)
		}
		if c.Item < 0 {
			t.Fatalf("Parse(%q): Item %d", text, c.Item)
		}
		if c.Slots < 0 || c.Slots > 99 {
			t.Fatalf("Parse(%q): Slots %d", text, c.Slots)
		}
		for name, s := range map[string]string{"Text": c.Text, "Name": c.Name, "Place": c.Place, "Err": c.Err} {
			if !utf8.ValidString(s) {
				t.Fatalf("Parse(%q): %s %q is not valid UTF-8", text, name, s)
			}
		}
		if !c.Deadline.IsZero() {
			if c.Deadline.Location() != loc || c.Deadline.Second() != 0 || c.Deadline.Nanosecond() != 0 {
				t.Fatalf("Parse(%q): Deadline %v not in %v on the minute", text, c.Deadline, loc)
			}
		}
		if c.Verb == VerbNeed && c.Text == "" {
			t.Fatalf("Parse(%q): need without text", text)
		}
		if again := Parse(text, pc); again != c {
			t.Fatalf("Parse(%q) is not deterministic: %+v then %+v", text, c, again)
		}
	})
}
