package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

func noop(context.Context, *bot.Request) error { return nil }

// testMux has a few verbs of each shape, as feature packages register them.
func testMux(t testing.TB) *bot.Mux {
	m := bot.NewMux("邻里帮")
	for _, v := range []bot.Verb{
		{Name: "claim", Owner: "items", Words: []string{"接单", "我来", "接", "算我一个"}, Shape: bot.ShapeItem,
			Help: []bot.HelpLine{{Role: community.RoleMember, Text: "接单 12 —— 认领"}}},
		{Name: "complete", Owner: "items", Words: []string{"完成", "搞定"}, Shape: bot.ShapeItem,
			Help: []bot.HelpLine{{Role: community.RoleMember, Text: "完成 12 —— 办好"}}},
		{Name: "show", Owner: "items", Words: []string{"查看", "怎么样了"}, Shape: bot.ShapeItem,
			Help: []bot.HelpLine{{Role: community.RoleResident, Text: "查看 12 —— 详情"}}},
		{Name: "unsatisfied", Owner: "items", Words: []string{"不满意"}, Shape: bot.ShapeItem},
		{Name: "mine", Owner: "items", Words: []string{"我的"}, Shape: bot.ShapeWhole,
			Help: []bot.HelpLine{{Role: community.RoleResident, Text: "我的 —— 我的需求"}}},
		{Name: "todo", Owner: "items", Words: []string{"待办"}, Shape: bot.ShapeNone},
		{Name: "notice", Owner: "notices", Words: []string{"通知"}, Shape: bot.ShapeAny,
			Help: []bot.HelpLine{{Role: community.RoleSecretary, Text: "通知 全体 内容"}}},
		{Name: "receipts", Owner: "notices", Words: []string{"回执"}, Shape: bot.ShapeText},
		{Name: "signup", Owner: "scheduler", Words: []string{"报名"}, Shape: bot.ShapeNone},
	} {
		v.Handler = noop
		if err := m.Handle(v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestMuxRefusesTheSameWordOrActionTwice(t *testing.T) {
	m := testMux(t)
	err := m.Handle(bot.Verb{Name: "ledger.claim", Owner: "ledger", Words: []string{"接单"}, Handler: noop})
	if err == nil || !strings.Contains(err.Error(), "items") || !strings.Contains(err.Error(), "ledger") {
		t.Fatalf("a word registered twice: %v", err)
	}
	if err := m.Handle(bot.Verb{Name: "claim", Owner: "ledger", Words: []string{"记账"}, Handler: noop}); err == nil || !strings.Contains(err.Error(), "items") {
		t.Fatalf("a verb name registered twice: %v", err)
	}
	if err := m.Handle(bot.Verb{Name: "x", Owner: "ledger", Words: []string{"记账。"}, Handler: noop}); err == nil {
		t.Fatal("a word that is not normalised was taken")
	}
	if err := m.HandleAction("claim", "items", noop); err != nil {
		t.Fatal(err)
	}
	if err := m.HandleAction("claim", "ledger", noop); err == nil || !strings.Contains(err.Error(), "items") || !strings.Contains(err.Error(), "ledger") {
		t.Fatalf("an action registered twice: %v", err)
	}
	if err := m.HandleOther("items", noop); err != nil {
		t.Fatal(err)
	}
	if err := m.HandleOther("ledger", noop); err == nil || !strings.Contains(err.Error(), "items") {
		t.Fatalf("two handlers of other messages: %v", err)
	}
	if err := m.HandleGuess("notices", func(context.Context, *bot.Request) (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	if err := m.HandleGuess("notices", func(context.Context, *bot.Request) (bool, error) { return false, nil }); err == nil {
		t.Fatal("two guessers of one owner")
	}
}

func TestMuxParse(t *testing.T) {
	m := testMux(t)
	tests := []struct {
		in        string
		pc        bot.ParseContext
		verb      string
		item      int64
		args      string
		addressed bool
	}{
		{in: "接单 12", verb: "claim", item: 12},
		{in: "接单12", verb: "claim", item: 12},
		{in: "接 十二", verb: "claim", item: 12},
		{in: "我接第十二单", verb: "claim", item: 12},
		{in: "算我一个 12", verb: "claim", item: 12},
		{in: "#12 我来", verb: "claim", item: 12},
		{in: "十二号我来", verb: "claim", item: 12},
		{in: "12号完成了", verb: "complete", item: 12},
		{in: "12 搞定了", verb: "complete", item: 12},
		{in: "１２号　搞定了！", verb: "complete", item: 12},
		{in: "完成了 12 换了灯泡", verb: "complete", item: 12, args: "换了灯泡"},
		{in: "完成了", verb: "complete"},
		{in: "12号怎么样了", verb: "show", item: 12},
		{in: "12号怎么样了呀？", verb: "show", item: 12},
		{in: "「12号」怎么样了", verb: "show", item: 12},
		{in: "7号单子 不满意，灯还是不亮", verb: "unsatisfied", item: 7, args: "灯还是不亮"},
		{in: "邻里帮 帮我看看楼道灯", addressed: true},
		{in: "邻里帮，接单 3", verb: "claim", item: 3, addressed: true},
		{in: "完成 12 👍", verb: "complete", item: 12},
		{in: "我来😄", verb: "claim"},
		{in: "好的 待办", verb: "todo"},
		{in: "我的", verb: "mine"},
		{in: "我的快递到了", verb: ""},
		{in: "接孩子去了", verb: ""},
		{in: "完成作业了吗", verb: ""},
		{in: "通知全体：明天停水", verb: "notice", args: "全体:明天停水"},
		{in: "回执12", verb: "receipts", args: "12"},
		{in: "报名表在哪", verb: ""},
		{in: "3栋我来看看", verb: ""},
		{in: "#12", item: 12},
		{in: "12", item: 0},
		{in: "12 接单 13", verb: ""},
		{in: "/接单 5", verb: "claim", item: 5},
		{in: "接单 12", pc: bot.ParseContext{Mentioned: true}, verb: "claim", item: 12, addressed: true},
	}
	for _, tt := range tests {
		c := m.Parse(tt.in, tt.pc)
		if c.Verb != tt.verb || c.Item != tt.item || c.Args != tt.args || c.Addressed != tt.addressed {
			t.Errorf("Parse(%q) = %+v, want verb %q item %d args %q addressed %v", tt.in, c, tt.verb, tt.item, tt.args, tt.addressed)
		}
	}
}

func TestTidy(t *testing.T) {
	for in, want := range map[string]string{
		"完成了啊～":      "完成了",
		"12号怎么样了呢？？": "12号怎么样了",
		"  接单　１２ 🙏 ": "接单 12",
		"4星哦":        "4星",
		"★★★★☆":      "★★★★☆",
		"好的吧":        "好的",
		"":           "",
		"～～～":        "",
	} {
		if got := bot.Tidy(in); got != want {
			t.Errorf("Tidy(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHelpAndSuggestFollowRegistrations(t *testing.T) {
	m := testMux(t)
	res := strings.Join(m.Help(community.RoleResident), "\n")
	if strings.Contains(res, "接单") || !strings.Contains(res, "查看 12") || !strings.Contains(res, "我的") {
		t.Errorf("a resident's help:\n%s", res)
	}
	sec := m.Help(community.RoleSecretary)
	if len(sec) != 5 || sec[0] != "查看 12 —— 详情" || sec[len(sec)-1] != "通知 全体 内容" {
		t.Errorf("a secretary's help, residents' lines first: %q", sec)
	}
	if got := m.Suggest("接丹", community.RoleMember, 3); len(got) == 0 || got[0] != "接单" {
		t.Errorf("Suggest(接丹) = %q", got)
	}
	if got := m.Suggest("接丹", community.RoleResident, 3); len(got) != 0 {
		t.Errorf("a resident is not offered members' commands: %q", got)
	}
}

func FuzzMuxParse(f *testing.F) {
	for _, s := range []string{"接单 12", "12号完成了", "#12 我来", "邻里帮 帮我看看", "我接第十二单", "「12」", "★★★", "通知全体：x", "\xff接单", "12号单子不满意"} {
		f.Add(s)
	}
	m := testMux(f)
	f.Fuzz(func(t *testing.T, s string) {
		c := m.Parse(s, bot.ParseContext{})
		if c.Item < 0 {
			t.Fatalf("Parse(%q): negative item %d", s, c.Item)
		}
		if !utf8.ValidString(c.Args) || !utf8.ValidString(c.Text) {
			t.Fatalf("Parse(%q): invalid UTF-8 out: %+v", s, c)
		}
		if c.Verb != "" {
			if _, ok := m.Verb(c.Verb); !ok {
				t.Fatalf("Parse(%q): unregistered verb %q", s, c.Verb)
			}
		}
		if again := m.Parse(s, bot.ParseContext{}); again != c {
			t.Fatalf("Parse(%q) not deterministic: %+v then %+v", s, c, again)
		}
	})
}

// A long message costs time in proportion to its length, whatever it ends with.
func TestParseIsLinear(t *testing.T) {
	m := testMux(t)
	long := "接单 12" + strings.Repeat("啊～", 50000)
	start := time.Now()
	c := m.Parse(long, bot.ParseContext{})
	if d := time.Since(start); d > time.Second {
		t.Errorf("Parse of %d bytes took %v", len(long), d)
	}
	if c.Verb != "claim" || c.Item != 12 {
		t.Errorf("Parse = %+v", c)
	}
}
