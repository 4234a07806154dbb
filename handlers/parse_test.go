package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/neighborbot/neighborbot/bot/zh"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without a zoneinfo database
)

func shanghaiLoc(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// monday is the fixed "now" of most cases: Monday 2026-11-23 10:00 in Shanghai.
func parseMonday(tb testing.TB) time.Time {
	return time.Date(2026, 11, 23, 10, 0, 0, 0, shanghaiLoc(tb))
}

// fridayEvening is Friday 2026-11-27 19:00: today's 18:00 deadline has passed.
func parseFridayEvening(tb testing.TB) time.Time {
	return time.Date(2026, 11, 27, 19, 0, 0, 0, shanghaiLoc(tb))
}

// parseCtx describes the message's situation in a table row.
type parseCtx struct {
	reply     int64
	addressed bool
	private   bool
}

type parseCase struct {
	in   string
	ctx  parseCtx
	want Command // want.Err, when set, need only be contained in the hint
}

func checkParse(t *testing.T, now time.Time, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		pc := ParseContext{Now: now, ReplyItem: tc.ctx.reply, Mentioned: tc.ctx.addressed, Private: tc.ctx.private}
		got := Parse(tc.in, pc)
		if d := diffCommand(got, tc.want); d != "" {
			t.Errorf("Parse(%q, reply=%d mention=%v private=%v):\n%s", tc.in, tc.ctx.reply, tc.ctx.addressed, tc.ctx.private, d)
		}
	}
}

func diffCommand(got, want Command) string {
	var b strings.Builder
	field := func(name string, g, w any) {
		if g != w {
			fmt.Fprintf(&b, "  %s: got %#v, want %#v\n", name, g, w)
		}
	}
	field("Verb", got.Verb, want.Verb)
	field("Item", got.Item, want.Item)
	field("Text", got.Text, want.Text)
	field("Slots", got.Slots, want.Slots)
	field("Stars", got.Stars, want.Stars)
	field("Name", got.Name, want.Name)
	field("Place", got.Place, want.Place)
	if !got.Deadline.Equal(want.Deadline) {
		fmt.Fprintf(&b, "  Deadline: got %s, want %s\n", fmtParseDeadline(got.Deadline), fmtParseDeadline(want.Deadline))
	}
	switch {
	case want.Err == "" && got.Err != "":
		fmt.Fprintf(&b, "  Err: got %q, want none\n", got.Err)
	case want.Err != "" && !strings.Contains(got.Err, want.Err):
		fmt.Fprintf(&b, "  Err: got %q, want one containing %q\n", got.Err, want.Err)
	}
	return b.String()
}

func fmtParseDeadline(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Format("2006-01-02 15:04 Mon")
}

var (
	inReply12   = parseCtx{reply: 12}
	inReply7    = parseCtx{reply: 7}
	addressed   = parseCtx{addressed: true}
	privateChat = parseCtx{private: true}
)

const (
	parseErrItem     = "请告诉我单号，例如："
	parseErrStars    = "1 到 5 星"
	parseErrDeadline = "没看懂截止时间"
)

func TestParseNormalisation(t *testing.T) {
	checkParse(t, parseMonday(t), []parseCase{
		{in: "  接单   12  ", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "＃１２", want: Command{Verb: VerbItem, Item: 12}},
		{in: "接单　１２", want: Command{Verb: VerbClaim, Item: 12}},            // ideographic space
		{in: "接单\u00a012", want: Command{Verb: VerbClaim, Item: 12}},       // no-break space
		{in: "接单\t12\n", want: Command{Verb: VerbClaim, Item: 12}},         // tab, newline
		{in: "接单\u200b12", want: Command{Verb: VerbClaim, Item: 12}},       // zero-width space
		{in: "接单 12。", want: Command{Verb: VerbClaim, Item: 12}},           // trailing 。
		{in: "接单 12！", want: Command{Verb: VerbClaim, Item: 12}},           // full-width !
		{in: "接单12!!~", want: Command{Verb: VerbClaim, Item: 12}},          // several
		{in: "接单 12 ～", want: Command{Verb: VerbClaim, Item: 12}},          // full-width ~
		{in: "＋１", ctx: inReply7, want: Command{Verb: VerbClaim, Item: 7}}, // full-width +1
		{in: "完成：１２，已换灯泡", want: Command{Verb: VerbComplete, Item: 12, Text: "已换灯泡"}},
		{in: "完成 12   已换   灯泡", want: Command{Verb: VerbComplete, Item: 12, Text: "已换 灯泡"}},
		{in: "派单 １２ 截止 周五１８：００", want: Command{Verb: VerbDispatch, Item: 12, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "确认 １２ ５星 很及时！", want: Command{Verb: VerbConfirm, Item: 12, Stars: 5, Text: "很及时"}},
		{in: "Ｎｏ．１２", want: Command{Verb: VerbItem, Item: 12}},
		{in: "ＨＥＬＰ", want: Command{Verb: VerbHelp}},
		{in: "。", want: Command{Verb: VerbHelp}},
	})
}

func TestNormalizeMessage(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"  a  b  ":        "a b",
		"＃１２　＋１：，":        "#12 +1",
		"x\u3000\u3000y":  "x y",
		"灯坏了。。！！~":        "灯坏了",
		"灯坏了 ! ":          "灯坏了",
		"a\x00b":          "a b",
		"\xffok":          "\uFFFDok",
		"﹟3":              "#3",
		"电话 13812345678。": "电话 13812345678",
	} {
		if got := zh.Normalize(in); got != want {
			t.Errorf("zh.Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseItemNumbers(t *testing.T) {
	claim := func(n int64) Command { return Command{Verb: VerbClaim, Item: n} }
	checkParse(t, parseMonday(t), []parseCase{
		{in: "接单 12", want: claim(12)},
		{in: "接单12", want: claim(12)},
		{in: "接单#12", want: claim(12)},
		{in: "接单 #12", want: claim(12)},
		{in: "接单 # 12", want: claim(12)},
		{in: "接单 12号", want: claim(12)},
		{in: "接单 12号单", want: claim(12)},
		{in: "接单 12单", want: claim(12)},
		{in: "接单 第12单", want: claim(12)},
		{in: "接单 第3单", want: claim(3)},
		{in: "接单 第十二单", want: claim(12)},
		{in: "接单第十二单", want: claim(12)},
		{in: "接单 第十二号", want: claim(12)},
		{in: "接单 No.12", want: claim(12)},
		{in: "接单 no 12", want: claim(12)},
		{in: "接单 NO.12", want: claim(12)},
		{in: "接单No12", want: claim(12)},
		{in: "接单 №12", want: claim(12)},
		{in: "接单 十二", want: claim(12)},
		{in: "接单 十", want: claim(10)},
		{in: "接单 二十", want: claim(20)},
		{in: "接单 九十九", want: claim(99)},
		{in: "认领 两", want: claim(2)},
		{in: "认领 二号", want: claim(2)},
		{in: "认领 #012", want: claim(12)},
		{in: "认领 123456789", want: claim(123456789)},

		// Not item numbers: a building, a quantity, a phone number.
		{in: "接单 12号楼", want: Command{Verb: VerbClaim, Text: "12号楼", Err: parseErrItem}},
		{in: "接单 3栋", ctx: inReply7, want: Command{Verb: VerbClaim, Item: 7, Text: "3栋"}},
		{in: "接单 2单元", ctx: inReply7, want: Command{Verb: VerbClaim, Item: 7, Text: "2单元"}},
		{in: "接单 第3栋", ctx: inReply7, want: Command{Verb: VerbClaim, Item: 7, Text: "第3栋"}},
		{in: "接单 13812345678", want: Command{Verb: VerbClaim, Text: "13812345678", Err: parseErrItem}},
		{in: "接单 0", want: Command{Verb: VerbClaim, Err: "单号从 1 开始"}},

		// A lone marked number shows the item.
		{in: "#12", want: Command{Verb: VerbItem, Item: 12}},
		{in: "12号", want: Command{Verb: VerbItem, Item: 12}},
		{in: "第12单", want: Command{Verb: VerbItem, Item: 12}},
		{in: "第十二单", want: Command{Verb: VerbItem, Item: 12}},
		{in: "No.12", want: Command{Verb: VerbItem, Item: 12}},
		{in: "十二号", want: Command{Verb: VerbItem, Item: 12}},
		{in: "#0", want: Command{Verb: VerbItem, Err: "单号从 1 开始"}},
		{in: "12", want: Command{}}, // a bare number is not a command
		{in: "3号楼", ctx: addressed, want: Command{Verb: VerbNeed, Text: "3号楼"}},
	})
}

func TestParseVerbs(t *testing.T) {
	checkParse(t, parseMonday(t), []parseCase{
		// help
		{in: "", want: Command{Verb: VerbHelp}},
		{in: "   ", want: Command{Verb: VerbHelp}},
		{in: "帮助", want: Command{Verb: VerbHelp}},
		{in: "菜单", want: Command{Verb: VerbHelp}},
		{in: "help", want: Command{Verb: VerbHelp}},
		{in: "Help!", want: Command{Verb: VerbHelp}},
		{in: "?", want: Command{Verb: VerbHelp}},
		{in: "？", want: Command{Verb: VerbHelp}},
		{in: "？？", want: Command{Verb: VerbHelp}},
		{in: "怎么用", want: Command{Verb: VerbHelp}},
		{in: "怎么用？", want: Command{Verb: VerbHelp}},
		{in: "使用说明", want: Command{Verb: VerbHelp}},
		{in: "/help", want: Command{Verb: VerbHelp}},
		{in: "帮助 接单", want: Command{Verb: VerbHelp, Text: "接单"}},
		{in: "help claim", want: Command{Verb: VerbHelp, Text: "claim"}},
		{in: "? 接单", ctx: addressed, want: Command{Verb: VerbNeed, Text: "? 接单"}},
		{in: "帮助一下我家老人", ctx: addressed, want: Command{Verb: VerbNeed, Text: "帮助一下我家老人"}},

		// mine, mytasks: the whole message only
		{in: "我的", want: Command{Verb: VerbMine}},
		{in: "我的需求", want: Command{Verb: VerbMine}},
		{in: "我的诉求", want: Command{Verb: VerbMine}},
		{in: "我的车被刮了", ctx: addressed, want: Command{Verb: VerbNeed, Text: "我的车被刮了"}},
		{in: "我的车被刮了", want: Command{}},
		{in: "我的任务", want: Command{Verb: VerbMyTasks}},
		{in: "我的接单", want: Command{Verb: VerbMyTasks}},
		{in: "我的认领", want: Command{Verb: VerbMyTasks}},
		{in: "我的任务还没派下来", ctx: addressed, want: Command{Verb: VerbNeed, Text: "我的任务还没派下来"}},

		// dispatch
		{in: "派单 12", want: Command{Verb: VerbDispatch, Item: 12}},
		{in: "派单 #12 截止 周五18点 需要3人", want: Command{Verb: VerbDispatch, Item: 12, Deadline: deadlineAt(t, 11, 27, 18, 0), Slots: 3}},
		{in: "下单 12 需要3人 截止 明天", want: Command{Verb: VerbDispatch, Item: 12, Deadline: deadlineAt(t, 11, 24, 18, 0), Slots: 3}},
		{in: "派单 12 给3网格 3人", want: Command{Verb: VerbDispatch, Item: 12, Slots: 3, Text: "给3网格"}},
		{in: "派单 截止 周五", ctx: inReply12, want: Command{Verb: VerbDispatch, Item: 12, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "派单", want: Command{Verb: VerbDispatch, Err: parseErrItem + "派单 12"}},
		{in: "派单 12 截止 下雨前", want: Command{Verb: VerbDispatch, Item: 12, Text: "截止 下雨前", Err: parseErrDeadline}},

		// post
		{in: "发布 周六上午清理楼道 需要5人 截止 周五18点", want: Command{Verb: VerbPost, Text: "周六上午清理楼道", Slots: 5, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "发布 周六上午清理楼道，需要5人，截止周五", want: Command{Verb: VerbPost, Text: "周六上午清理楼道", Slots: 5, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "发单：义诊志愿者 5名 限11月30日", want: Command{Verb: VerbPost, Text: "义诊志愿者", Slots: 5, Deadline: deadlineAt(t, 11, 30, 18, 0)}},
		{in: "发布 限行通知", want: Command{Verb: VerbPost, Text: "限行通知"}},
		{in: "发布 清理楼道 需要五人", want: Command{Verb: VerbPost, Text: "清理楼道", Slots: 5}},
		{in: "发布 清理楼道 需要5名党员", want: Command{Verb: VerbPost, Text: "清理楼道", Slots: 5}},
		{in: "发布 需要5人", want: Command{Verb: VerbPost, Slots: 5, Err: "请写上要发布的事项"}},
		{in: "发布", want: Command{Verb: VerbPost, Err: "请写上要发布的事项"}},
		{in: "发布了吗", ctx: addressed, want: Command{Verb: VerbNeed, Text: "发布了吗"}},

		// cancel
		{in: "取消 12 重复提交", want: Command{Verb: VerbCancel, Item: 12, Text: "重复提交"}},
		{in: "撤销 12", want: Command{Verb: VerbCancel, Item: 12}},
		{in: "取消", want: Command{Verb: VerbCancel, Err: parseErrItem + "取消 12"}},
		{in: "取消了的活动还办吗", ctx: addressed, want: Command{Verb: VerbNeed, Text: "取消了的活动还办吗"}},
		{in: "取消了的活动还办吗", want: Command{}},

		// resched
		{in: "改期 12 截止 周五18点", want: Command{Verb: VerbReschedule, Item: 12, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "改期 12 周五18点", want: Command{Verb: VerbReschedule, Item: 12, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "改期12 下周一", want: Command{Verb: VerbReschedule, Item: 12, Deadline: deadlineAt(t, 11, 30, 18, 0)}},
		{in: "改期 12 延到12月1日 下雨", want: Command{Verb: VerbReschedule, Item: 12, Deadline: deadlineAt(t, 12, 1, 18, 0), Text: "下雨"}},
		{in: "改期 12 因为下雨 周六", want: Command{Verb: VerbReschedule, Item: 12, Deadline: deadlineAt(t, 11, 28, 18, 0), Text: "因为下雨"}},
		{in: "改期 周五", ctx: inReply12, want: Command{Verb: VerbReschedule, Item: 12, Deadline: deadlineAt(t, 11, 27, 18, 0)}},
		{in: "改期 12", want: Command{Verb: VerbReschedule, Item: 12, Err: "请告诉我新的截止时间"}},
		{in: "改期 12 截止 胡说", want: Command{Verb: VerbReschedule, Item: 12, Text: "截止 胡说", Err: parseErrDeadline}},

		// supervise, todo
		{in: "督办 12 请尽快处理", want: Command{Verb: VerbSupervise, Item: 12, Text: "请尽快处理"}},
		{in: "督办", ctx: inReply7, want: Command{Verb: VerbSupervise, Item: 7}},
		{in: "待办", want: Command{Verb: VerbTodo}},
		{in: "待办事项", want: Command{Verb: VerbTodo}},
		{in: "未办结", want: Command{Verb: VerbTodo}},
		{in: "待办 3网格", want: Command{Verb: VerbTodo, Text: "3网格"}},
		{in: "待办理的事怎么查", ctx: addressed, want: Command{Verb: VerbNeed, Text: "待办理的事怎么查"}},

		// release (取消认领 before 取消)
		{in: "放弃 12 临时有事", want: Command{Verb: VerbRelease, Item: 12, Text: "临时有事"}},
		{in: "退单 12", want: Command{Verb: VerbRelease, Item: 12}},
		{in: "取消认领 12", want: Command{Verb: VerbRelease, Item: 12}},
		{in: "取消认领12 有事", want: Command{Verb: VerbRelease, Item: 12, Text: "有事"}},
		{in: "放弃", ctx: inReply7, want: Command{Verb: VerbRelease, Item: 7}},

		// complete
		{in: "完成 12 已换灯泡", want: Command{Verb: VerbComplete, Item: 12, Text: "已换灯泡"}},
		{in: "完成12已换灯泡", want: Command{Verb: VerbComplete, Item: 12, Text: "已换灯泡"}},
		{in: "已完成 12", want: Command{Verb: VerbComplete, Item: 12}},
		{in: "办完 12", want: Command{Verb: VerbComplete, Item: 12}},
		{in: "完成了 12", want: Command{Verb: VerbComplete, Item: 12}},
		{in: "完成了吗", ctx: addressed, want: Command{Verb: VerbNeed, Text: "完成了吗"}},
		{in: "完成三件事", ctx: addressed, want: Command{Verb: VerbNeed, Text: "完成三件事"}},
		{in: "完成", want: Command{Verb: VerbComplete, Err: parseErrItem + "完成 12"}},

		// unsatisfied, reopen, closeout
		{in: "不满意 12 灯还是不亮", want: Command{Verb: VerbUnsatisfied, Item: 12, Text: "灯还是不亮"}},
		{in: "差评 12", want: Command{Verb: VerbUnsatisfied, Item: 12}},
		{in: "差评 12 1星 没人来", want: Command{Verb: VerbUnsatisfied, Item: 12, Stars: 1, Text: "没人来"}},
		{in: "不满意 没人来", ctx: inReply12, want: Command{Verb: VerbUnsatisfied, Item: 12, Text: "没人来"}},
		{in: "重办 12", want: Command{Verb: VerbReopen, Item: 12}},
		{in: "重新办理 12 居民仍不满意", want: Command{Verb: VerbReopen, Item: 12, Text: "居民仍不满意"}},
		{in: "办结 12", want: Command{Verb: VerbCloseOut, Item: 12}},
		{in: "销号 12", want: Command{Verb: VerbCloseOut, Item: 12}},
		{in: "结案 12 已回访", want: Command{Verb: VerbCloseOut, Item: 12, Text: "已回访"}},
		{in: "办结", want: Command{Verb: VerbCloseOut, Err: parseErrItem + "办结 12"}},

		// register
		{in: "报到 张三 3栋2单元", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋2单元"}},
		{in: "报到 张三", want: Command{Verb: VerbRegister, Name: "张三"}},
		{in: "报到 张三 3栋 单位 区税务局", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋", Unit: "区税务局"}},
		{in: "报到 张三 3栋2单元 单位：区税务局", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋2单元", Unit: "区税务局"}},
		{in: "报到 张三 单位:区人民医院", want: Command{Verb: VerbRegister, Name: "张三", Unit: "区人民医院"}},
		{in: "报到 张三3栋，单位 市供电公司", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋", Unit: "市供电公司"}},
		{in: "报到 单位 区税务局", want: Command{Verb: VerbRegister, Unit: "区税务局", Err: "请写上姓名"}},
		{in: "报到 张三，3栋2单元", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋2单元"}},
		{in: "报到 张三3栋2单元", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋2单元"}},
		{in: "报到 @张三 幸福小区 3栋", want: Command{Verb: VerbRegister, Name: "张三", Place: "幸福小区 3栋"}},
		{in: "报到 3栋2单元 张三", want: Command{Verb: VerbRegister, Name: "张三", Place: "3栋2单元"}},
		{in: "报到 3栋2单元", want: Command{Verb: VerbRegister, Place: "3栋2单元", Err: "请写上姓名"}},
		{in: "报到", want: Command{Verb: VerbRegister, Err: "请写上姓名"}},
		{in: "报到了", ctx: addressed, want: Command{Verb: VerbNeed, Text: "报到了"}},

		// approve (a bare 同意 in a group is a vote, not a command)
		{in: "同意 张三", want: Command{Verb: VerbApprove, Name: "张三"}},
		{in: "同意 @张三", want: Command{Verb: VerbApprove, Name: "张三"}},
		{in: "同意@张三", want: Command{Verb: VerbApprove, Name: "张三"}},
		{in: "批准 李四", want: Command{Verb: VerbApprove, Name: "李四"}},
		{in: "通过 王五 欢迎", want: Command{Verb: VerbApprove, Name: "王五", Text: "欢迎"}},
		{in: "同意", want: Command{}},
		{in: "同意", ctx: addressed, want: Command{Verb: VerbApprove, Err: "报到申请的编号"}},
		{in: "同意", ctx: privateChat, want: Command{Verb: VerbApprove, Err: "报到申请的编号"}},
		{in: "通过物业反映了好几次", ctx: addressed, want: Command{Verb: VerbNeed, Text: "通过物业反映了好几次"}},
		// approve and refuse by the request's number
		{in: "同意 3", want: Command{Verb: VerbApprove, Item: 3}},
		{in: "同意3", want: Command{Verb: VerbApprove, Item: 3}},
		{in: "同意 #3", want: Command{Verb: VerbApprove, Item: 3}},
		{in: "批准 12 欢迎", want: Command{Verb: VerbApprove, Item: 12, Text: "欢迎"}},
		{in: "同意 0", want: Command{Verb: VerbApprove, Err: "单号从 1 开始"}},
		{in: "拒绝 3 不是本小区党员", want: Command{Verb: VerbRefuse, Item: 3, Text: "不是本小区党员"}},
		{in: "拒绝3，信息不符", want: Command{Verb: VerbRefuse, Item: 3, Text: "信息不符"}},
		{in: "驳回 #4", want: Command{Verb: VerbRefuse, Item: 4}},
		{in: "拒绝 张三 信息不符", ctx: privateChat, want: Command{Verb: VerbRefuse, Name: "张三", Text: "信息不符"}},
		{in: "拒绝 张三 信息不符", ctx: addressed, want: Command{Verb: VerbRefuse, Name: "张三", Text: "信息不符"}},
		{in: "拒绝 他的要求", want: Command{}},
		{in: "拒绝3次了", want: Command{}},
		{in: "拒绝", want: Command{}},
		{in: "拒绝", ctx: privateChat, want: Command{Verb: VerbRefuse, Err: "编号和原因"}},
		{in: "拒绝了他的好意", ctx: addressed, want: Command{Verb: VerbNeed, Text: "拒绝了他的好意"}},

		// registration requests, personal information
		{in: "待审核", want: Command{Verb: VerbPendingRegs}},
		{in: "报到列表", want: Command{Verb: VerbPendingRegs}},
		{in: "我的信息", want: Command{Verb: VerbMyInfo}},
		{in: "我的资料", want: Command{Verb: VerbMyInfo}},
		{in: "删除我的信息", want: Command{Verb: VerbErase}},
		{in: "删除我的信息。", want: Command{Verb: VerbErase}},
		{in: "确认删除", want: Command{Verb: VerbEraseOK}},
		{in: "确认 12", want: Command{Verb: VerbConfirm, Item: 12}},
		{in: "我的", want: Command{Verb: VerbMine}},

		// bind
		{in: "绑定 3网格", want: Command{Verb: VerbBind, Name: "3网格"}},
		{in: "绑定3网格", want: Command{Verb: VerbBind, Name: "3网格"}},
		{in: "绑定 幸福社区 3网格", want: Command{Verb: VerbBind, Name: "幸福社区 3网格"}},
		{in: "绑定", want: Command{Verb: VerbBind, Err: "请写上要绑定的网格或小区"}},

		// item
		{in: "查看 12", want: Command{Verb: VerbItem, Item: 12}},
		{in: "详情 #12", want: Command{Verb: VerbItem, Item: 12}},
		{in: "进度 12", want: Command{Verb: VerbItem, Item: 12}},
		{in: "进度", ctx: inReply7, want: Command{Verb: VerbItem, Item: 7}},
		{in: "查看", want: Command{Verb: VerbItem, Err: parseErrItem + "查看 12"}},
		{in: "进度怎么样了", ctx: addressed, want: Command{Verb: VerbNeed, Text: "进度怎么样了"}},

		// slash habit
		{in: "/接单 12", want: Command{Verb: VerbClaim, Item: 12}},
	})
}

func TestParseClaim(t *testing.T) {
	checkParse(t, parseMonday(t), []parseCase{
		{in: "接单 12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "认领12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "抢单 12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "接单 12 我明天上午去", want: Command{Verb: VerbClaim, Item: 12, Text: "我明天上午去"}},
		{in: "接单", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "接单了", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "接单", want: Command{Verb: VerbClaim, Err: "请告诉我单号，例如：接单 12"}},
		{in: "认领", want: Command{Verb: VerbClaim, Err: parseErrItem + "认领 12"}},

		// Shorthands: the whole message, optionally with a number.
		{in: "我来", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "我来吧", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "我来吧！", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "+1", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "1", ctx: inReply12, want: Command{Verb: VerbClaim, Item: 12}},
		{in: "我来 12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "我来12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "我来吧 #12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "+1 12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "1 12", want: Command{Verb: VerbClaim, Item: 12}},
		{in: "我来 12", ctx: inReply7, want: Command{Verb: VerbClaim, Item: 12}}, // a written number wins

		// Without a card or a number they are chat, unless addressed to the bot.
		{in: "我来", want: Command{}},
		{in: "1", want: Command{}},
		{in: "+1", want: Command{}},
		{in: "我来", ctx: addressed, want: Command{Verb: VerbClaim, Err: "请告诉我单号"}},
		{in: "+1", ctx: privateChat, want: Command{Verb: VerbClaim, Err: "请告诉我单号"}},

		// Traps.
		{in: "我来反映一下楼道灯坏了", ctx: addressed, want: Command{Verb: VerbNeed, Text: "我来反映一下楼道灯坏了"}},
		{in: "我来反映一下楼道灯坏了", ctx: inReply12, want: Command{}},
		{in: "我来看看", ctx: inReply12, want: Command{}},
		{in: "+10", ctx: inReply12, want: Command{}},
		{in: "12", ctx: inReply12, want: Command{}},
		{in: "1楼漏水", ctx: addressed, want: Command{Verb: VerbNeed, Text: "1楼漏水"}},
	})
}

func TestParseConfirmStars(t *testing.T) {
	confirm := func(item int64, stars int, text string) Command {
		return Command{Verb: VerbConfirm, Item: item, Stars: stars, Text: text}
	}
	checkParse(t, parseMonday(t), []parseCase{
		{in: "确认 12 5星 很及时", want: confirm(12, 5, "很及时")},
		{in: "确认 12", want: confirm(12, 0, "")}, // the handler picks the default
		{in: "确认12 4星", want: confirm(12, 4, "")},
		{in: "确认 12 五星", want: confirm(12, 5, "")},
		{in: "确认 12 三星 一般", want: confirm(12, 3, "一般")},
		{in: "确认 12 两星", want: confirm(12, 2, "")},
		{in: "确认 12 ★★★★★", want: confirm(12, 5, "")},
		{in: "确认 12 ★★★☆☆ 还行", want: confirm(12, 3, "还行")},
		{in: "确认 12 ⭐⭐⭐⭐", want: confirm(12, 4, "")},
		{in: "确认 12 5分", want: confirm(12, 5, "")},
		{in: "确认 12 满分", want: confirm(12, 5, "")},
		{in: "确认 12 5颗星", want: confirm(12, 5, "")},
		{in: "确认 12 5 星", want: confirm(12, 5, "")},
		{in: "确认 12 4 颗星 不错", want: confirm(12, 4, "不错")},
		{in: "确认 12 很及时 4星", want: confirm(12, 4, "很及时")},
		{in: "确认 12 五星好评", want: confirm(12, 5, "好评")},
		{in: "确认 12 十分满意", want: confirm(12, 0, "十分满意")},
		{in: "确认 12 8点5分就修好了", want: confirm(12, 0, "8点5分就修好了")},
		{in: "确认 12 10分钟就到了", want: confirm(12, 0, "10分钟就到了")},
		{in: "确认 12 零星几处没扫", want: confirm(12, 0, "零星几处没扫")},
		{in: "确认 12 4.5星", want: confirm(12, 0, "4.5星")},
		{in: "评价 12 ★★★★ 还行", want: confirm(12, 4, "还行")},
		{in: "评价 12 5星", want: confirm(12, 5, "")},
		{in: "好评 12", want: confirm(12, 5, "")},
		{in: "好评 12 很及时", want: confirm(12, 5, "很及时")},
		{in: "好评 12 4星", want: confirm(12, 4, "")},

		// Reply context.
		{in: "确认 5星", ctx: inReply12, want: confirm(12, 5, "")},
		{in: "确认5星", ctx: inReply12, want: confirm(12, 5, "")},
		{in: "确认 ★★★★★ 谢谢", ctx: inReply12, want: confirm(12, 5, "谢谢")},
		{in: "确认", ctx: inReply12, want: confirm(12, 0, "")},
		{in: "好评", ctx: inReply12, want: confirm(12, 5, "")},
		{in: "评价 满分", ctx: inReply12, want: confirm(12, 5, "")},

		// Errors.
		{in: "评价 12", want: Command{Verb: VerbConfirm, Item: 12, Err: "请给出评星"}},
		{in: "评价 12 很好", want: Command{Verb: VerbConfirm, Item: 12, Text: "很好", Err: "请给出评星"}},
		{in: "确认 12 9星", want: Command{Verb: VerbConfirm, Item: 12, Err: parseErrStars}},
		{in: "确认 12 0星", want: Command{Verb: VerbConfirm, Item: 12, Err: parseErrStars}},
		{in: "确认 12 六星", want: Command{Verb: VerbConfirm, Item: 12, Err: parseErrStars}},
		{in: "确认 12 10分", want: Command{Verb: VerbConfirm, Item: 12, Err: parseErrStars}},
		{in: "确认 12 ★★★★★★", want: Command{Verb: VerbConfirm, Item: 12, Err: parseErrStars}},
		{in: "确认 9星", ctx: inReply12, want: Command{Verb: VerbConfirm, Item: 12, Err: parseErrStars}},
		{in: "确认 5星", want: Command{Verb: VerbConfirm, Stars: 5, Err: parseErrItem + "确认 12"}},

		// Traps.
		{in: "确认一下明天停水吗", ctx: addressed, want: Command{Verb: VerbNeed, Text: "确认一下明天停水吗"}},
		{in: "确认收到", want: Command{}},
	})
}

func TestParseReplyContext(t *testing.T) {
	checkParse(t, parseMonday(t), []parseCase{
		{in: "完成 已换灯泡", ctx: inReply12, want: Command{Verb: VerbComplete, Item: 12, Text: "已换灯泡"}},
		{in: "完成了", ctx: inReply12, want: Command{Verb: VerbComplete, Item: 12}},
		{in: "完成 3栋灯已换", ctx: inReply12, want: Command{Verb: VerbComplete, Item: 12, Text: "3栋灯已换"}},
		{in: "完成 12 已换灯泡", ctx: inReply7, want: Command{Verb: VerbComplete, Item: 12, Text: "已换灯泡"}},
		{in: "确认 5星", ctx: inReply12, want: Command{Verb: VerbConfirm, Item: 12, Stars: 5}},
		{in: "放弃", ctx: inReply12, want: Command{Verb: VerbRelease, Item: 12}},
		{in: "放弃 临时有事", ctx: inReply12, want: Command{Verb: VerbRelease, Item: 12, Text: "临时有事"}},
		{in: "取消 重复了", ctx: inReply12, want: Command{Verb: VerbCancel, Item: 12, Text: "重复了"}},
		{in: "督办 请尽快", ctx: inReply12, want: Command{Verb: VerbSupervise, Item: 12, Text: "请尽快"}},
		{in: "重办", ctx: inReply12, want: Command{Verb: VerbReopen, Item: 12}},
		{in: "销号", ctx: inReply12, want: Command{Verb: VerbCloseOut, Item: 12}},
		{in: "派单 需要3人", ctx: inReply12, want: Command{Verb: VerbDispatch, Item: 12, Slots: 3}},
		{in: "派单 3人", ctx: inReply12, want: Command{Verb: VerbDispatch, Item: 12, Slots: 3}},
		{in: "完成", ctx: parseCtx{reply: -3}, want: Command{Verb: VerbComplete, Err: parseErrItem}},
		// Reply context does not make a need out of chat, nor a command out of a verb-less reply.
		{in: "楼道灯又坏了", ctx: inReply12, want: Command{}},
	})
}

func TestParseNeed(t *testing.T) {
	checkParse(t, parseMonday(t), []parseCase{
		{in: "3栋2单元楼道灯坏了", ctx: addressed, want: Command{Verb: VerbNeed, Text: "3栋2单元楼道灯坏了"}},
		{in: "  3栋2单元楼道灯坏了，电话１３８１２３４５６７８。", ctx: addressed,
			want: Command{Verb: VerbNeed, Text: "3栋2单元楼道灯坏了,电话13812345678"}},
		{in: "楼道灯坏了", want: Command{}},                   // not addressed to the bot
		{in: "楼道灯坏了", ctx: privateChat, want: Command{}}, // private chats get the hint
		{in: "楼道灯坏了", ctx: parseCtx{addressed: true, private: true}, want: Command{}},
		{in: "灯", ctx: addressed, want: Command{}},  // too short
		{in: "灯!", ctx: addressed, want: Command{}}, // too short once normalised
		{in: "12", ctx: addressed, want: Command{Verb: VerbNeed, Text: "12"}},
	})
}

func TestParseSlots(t *testing.T) {
	post := func(slots int) Command { return Command{Verb: VerbPost, Text: "清理楼道", Slots: slots} }
	checkParse(t, parseMonday(t), []parseCase{
		{in: "发布 清理楼道 需要5人", want: post(5)},
		{in: "发布 清理楼道 需5人", want: post(5)},
		{in: "发布 清理楼道 5人", want: post(5)},
		{in: "发布 清理楼道 五人", want: post(5)},
		{in: "发布 清理楼道 十二人", want: post(12)},
		{in: "发布 清理楼道 5名", want: post(5)},
		{in: "发布 清理楼道 3位", want: post(3)},
		{in: "发布 清理楼道 需要 5人", want: post(5)},
		{in: "发布 清理楼道 招募5名志愿者", want: post(5)},
		{in: "发布 需要5人 清理楼道", want: post(5)},
		{in: "发布 清理楼道，需要5人。", want: post(5)},
		{in: "发布 清理楼道 100人", want: Command{Verb: VerbPost, Text: "清理楼道 100人"}},
		{in: "发布 清理楼道 需要0人", want: Command{Verb: VerbPost, Text: "清理楼道 需要0人"}},
		{in: "发布 清理楼道 5人次", want: Command{Verb: VerbPost, Text: "清理楼道 5人次"}},
	})
}

// at is a deadline in Shanghai in 2026.
func deadlineAt(tb testing.TB, month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, shanghaiLoc(tb))
}

func TestParseDeadlines(t *testing.T) {
	loc := shanghaiLoc(t)
	type row struct {
		expr string
		want time.Time
	}
	check := func(t *testing.T, now time.Time, rows []row) {
		t.Helper()
		for _, r := range rows {
			got := Parse("派单 1 截止 "+r.expr, ParseContext{Now: now})
			want := Command{Verb: VerbDispatch, Item: 1, Deadline: r.want}
			if r.want.IsZero() {
				want.Err, want.Text = parseErrDeadline, got.Text
			}
			if d := diffCommand(got, want); d != "" {
				t.Errorf("截止 %s (now %s):\n%s", r.expr, fmtParseDeadline(now), d)
			}
			if !got.Deadline.IsZero() && (got.Deadline.Location() != now.Location() || got.Deadline.Second() != 0) {
				t.Errorf("截止 %s: %v is not in %v with zero seconds", r.expr, got.Deadline, now.Location())
			}
		}
	}

	t.Run("Monday10am", func(t *testing.T) {
		check(t, parseMonday(t), []row{
			{"今天", deadlineAt(t, 11, 23, 18, 0)},
			{"今天15点", deadlineAt(t, 11, 23, 15, 0)},
			{"今晚", deadlineAt(t, 11, 23, 21, 0)},
			{"明天", deadlineAt(t, 11, 24, 18, 0)},
			{"明日", deadlineAt(t, 11, 24, 18, 0)},
			{"后天", deadlineAt(t, 11, 25, 18, 0)},
			{"大后天", deadlineAt(t, 11, 26, 18, 0)},
			{"明天上午10点", deadlineAt(t, 11, 24, 10, 0)},
			{"明天下午3点", deadlineAt(t, 11, 24, 15, 0)},
			{"明天下午", deadlineAt(t, 11, 24, 18, 0)},
			{"明天上午", deadlineAt(t, 11, 24, 12, 0)},
			{"明天 18:30", deadlineAt(t, 11, 24, 18, 30)},
			{"明天18点半", deadlineAt(t, 11, 24, 18, 30)},
			{"明天8点15分", deadlineAt(t, 11, 24, 8, 15)},
			{"明天八点", deadlineAt(t, 11, 24, 8, 0)},
			{"明早", deadlineAt(t, 11, 24, 9, 0)},
			{"明早8点", deadlineAt(t, 11, 24, 8, 0)},
			{"周五", deadlineAt(t, 11, 27, 18, 0)},
			{"周五18点", deadlineAt(t, 11, 27, 18, 0)},
			{"周五 18点", deadlineAt(t, 11, 27, 18, 0)},
			{"周五晚上8点", deadlineAt(t, 11, 27, 20, 0)},
			{"周五晚8点", deadlineAt(t, 11, 27, 20, 0)},
			{"星期五", deadlineAt(t, 11, 27, 18, 0)},
			{"礼拜五", deadlineAt(t, 11, 27, 18, 0)},
			{"周六", deadlineAt(t, 11, 28, 18, 0)},
			{"周日", deadlineAt(t, 11, 29, 18, 0)},
			{"星期天", deadlineAt(t, 11, 29, 18, 0)},
			{"礼拜天", deadlineAt(t, 11, 29, 18, 0)},
			{"周一", deadlineAt(t, 11, 23, 18, 0)},  // today, still ahead
			{"周一9点", deadlineAt(t, 11, 30, 9, 0)}, // today, passed: next week
			{"本周五", deadlineAt(t, 11, 27, 18, 0)},
			{"这周日", deadlineAt(t, 11, 29, 18, 0)},
			{"下周一", deadlineAt(t, 11, 30, 18, 0)},
			{"下周三", deadlineAt(t, 12, 2, 18, 0)},
			{"下星期五", deadlineAt(t, 12, 4, 18, 0)},
			{"下礼拜日", deadlineAt(t, 12, 6, 18, 0)},
			{"11月30日", deadlineAt(t, 11, 30, 18, 0)},
			{"11月30号", deadlineAt(t, 11, 30, 18, 0)},
			{"11月30", deadlineAt(t, 11, 30, 18, 0)},
			{"11-30", deadlineAt(t, 11, 30, 18, 0)},
			{"11/30", deadlineAt(t, 11, 30, 18, 0)},
			{"11月30日12点", deadlineAt(t, 11, 30, 12, 0)},
			{"11月30日 下午5点", deadlineAt(t, 11, 30, 17, 0)},
			{"十二月一日", deadlineAt(t, 12, 1, 18, 0)},
			{"12月1日", deadlineAt(t, 12, 1, 18, 0)},
			{"11月1日", time.Date(2027, 11, 1, 18, 0, 0, 0, loc)}, // past: next year
			{"1月5日", time.Date(2027, 1, 5, 18, 0, 0, 0, loc)},
			{"11月23日", deadlineAt(t, 11, 23, 18, 0)}, // today
			{"2026年12月1日", deadlineAt(t, 12, 1, 18, 0)},
			{"2027年1月5号", time.Date(2027, 1, 5, 18, 0, 0, 0, loc)},
			{"2026-12-01", deadlineAt(t, 12, 1, 18, 0)},
			{"2026/12/1", deadlineAt(t, 12, 1, 18, 0)},
			{"30号", deadlineAt(t, 11, 30, 18, 0)},
			{"5号", deadlineAt(t, 12, 5, 18, 0)}, // past this month: next month
			{"3天内", deadlineAt(t, 11, 26, 18, 0)},
			{"3天", deadlineAt(t, 11, 26, 18, 0)},
			{"三天内", deadlineAt(t, 11, 26, 18, 0)},
			{"3日内", deadlineAt(t, 11, 26, 18, 0)},
			{"7天之内", deadlineAt(t, 11, 30, 18, 0)},
			{"1周内", deadlineAt(t, 11, 30, 18, 0)},
			{"3小时内", deadlineAt(t, 11, 23, 13, 0)},
			{"18点", deadlineAt(t, 11, 23, 18, 0)},
			{"18:00", deadlineAt(t, 11, 23, 18, 0)},
			{"18时", deadlineAt(t, 11, 23, 18, 0)},
			{"18点钟", deadlineAt(t, 11, 23, 18, 0)},
			{"18点前", deadlineAt(t, 11, 23, 18, 0)},
			{"9点", deadlineAt(t, 11, 24, 9, 0)},   // passed: tomorrow
			{"10点", deadlineAt(t, 11, 24, 10, 0)}, // now is not ahead: tomorrow
			{"11点", deadlineAt(t, 11, 23, 11, 0)},
			{"下午3点", deadlineAt(t, 11, 23, 15, 0)},
			{"下午3点半", deadlineAt(t, 11, 23, 15, 30)},
			{"下午三点一刻", deadlineAt(t, 11, 23, 15, 15)},
			{"晚上8点", deadlineAt(t, 11, 23, 20, 0)},
			{"晚上12点", deadlineAt(t, 11, 23, 23, 59)},
			{"上午10点", deadlineAt(t, 11, 24, 10, 0)},
			{"上午11点", deadlineAt(t, 11, 23, 11, 0)},
			{"中午12点", deadlineAt(t, 11, 23, 12, 0)},
			{"中午1点", deadlineAt(t, 11, 23, 13, 0)},
			{"早上8点", deadlineAt(t, 11, 24, 8, 0)},
			{"凌晨2点", deadlineAt(t, 11, 24, 2, 0)},
			{"24点", deadlineAt(t, 11, 23, 23, 59)},
			{"周五之前", deadlineAt(t, 11, 27, 18, 0)},
			{"到周五", deadlineAt(t, 11, 27, 18, 0)},
			{"日期：11月30日", deadlineAt(t, 11, 30, 18, 0)},

			// Not understood.
			{"下雨前", time.Time{}},
			{"2月30日", time.Time{}},
			{"13月1日", time.Time{}},
			{"25点", time.Time{}},
			{"18点61分", time.Time{}},
			{"18:61", time.Time{}},
			{"", time.Time{}},
		})
	})

	t.Run("FridayAfter6pm", func(t *testing.T) {
		check(t, parseFridayEvening(t), []row{
			{"周五", deadlineAt(t, 12, 4, 18, 0)},     // today's 18:00 has passed: next Friday
			{"周五20点", deadlineAt(t, 11, 27, 20, 0)}, // still ahead today
			{"周五18点", deadlineAt(t, 12, 4, 18, 0)},  // passed
			{"周六", deadlineAt(t, 11, 28, 18, 0)},
			{"周一", deadlineAt(t, 11, 30, 18, 0)},
			{"下周一", deadlineAt(t, 11, 30, 18, 0)},
			{"下周五", deadlineAt(t, 12, 4, 18, 0)},
			{"18点", deadlineAt(t, 11, 28, 18, 0)}, // passed: tomorrow
			{"20点", deadlineAt(t, 11, 27, 20, 0)}, // ahead: today
			{"晚上9点", deadlineAt(t, 11, 27, 21, 0)},
			{"今天", deadlineAt(t, 11, 27, 23, 59)}, // today's 18:00 has passed: end of today
			{"明天", deadlineAt(t, 11, 28, 18, 0)},
			{"3天内", deadlineAt(t, 11, 30, 18, 0)},
			{"11月27日", deadlineAt(t, 11, 27, 23, 59)}, // today, not next year
			{"11月26日", time.Date(2027, 11, 26, 18, 0, 0, 0, loc)},
		})
	})

	t.Run("YearEnd", func(t *testing.T) {
		now := time.Date(2026, 12, 30, 10, 0, 0, 0, loc)
		check(t, now, []row{
			{"1月2日", time.Date(2027, 1, 2, 18, 0, 0, 0, loc)},
			{"5号", time.Date(2027, 1, 5, 18, 0, 0, 0, loc)},
			{"3天内", time.Date(2027, 1, 2, 18, 0, 0, 0, loc)},
			{"下周一", time.Date(2027, 1, 4, 18, 0, 0, 0, loc)},
		})
	})
}

// parseGoldenInputs are representative messages; testdata/parse.golden holds what they parse to.
var parseGoldenInputs = []struct {
	in  string
	ctx parseCtx
}{
	{"", parseCtx{}}, {"帮助", parseCtx{}}, {"？", parseCtx{}}, {"菜单", parseCtx{}}, {"我的", parseCtx{}}, {"我的任务", parseCtx{}},
	{"待办", parseCtx{}}, {"#12", parseCtx{}}, {"12号", parseCtx{}}, {"第十二单", parseCtx{}},
	{"接单 12", parseCtx{}}, {"认领12", parseCtx{}}, {"接单#12", parseCtx{}}, {"接单 第3单", parseCtx{}}, {"抢单 No.12", parseCtx{}},
	{"接单", parseCtx{}}, {"接单", inReply12}, {"我来", inReply12}, {"我来吧", inReply12}, {"+1", inReply12}, {"1", inReply12},
	{"我来", parseCtx{}}, {"我来", addressed}, {"我来 12", parseCtx{}},
	{"我来反映一下楼道灯坏了", addressed}, {"我的车被刮了", addressed}, {"取消了的活动还办吗", addressed},
	{"3栋2单元楼道灯坏了，电话13812345678", addressed}, {"楼道灯坏了", parseCtx{}}, {"楼道灯坏了", privateChat},
	{"派单 12 截止 周五18点 需要3人", parseCtx{}}, {"下单 12 截止 明天下午3点", parseCtx{}}, {"派单 12 截止 下雨前", parseCtx{}},
	{"发布 周六上午清理楼道，需要5人，截止周五", parseCtx{}}, {"发单 义诊志愿者 5名 限11月30日", parseCtx{}}, {"发布", parseCtx{}},
	{"取消 12 重复提交", parseCtx{}}, {"撤销 12", parseCtx{}}, {"取消认领 12 临时有事", parseCtx{}},
	{"改期 12 截止 下周一", parseCtx{}}, {"改期 12 周五18点", parseCtx{}}, {"改期 12", parseCtx{}},
	{"督办 12 请尽快处理", parseCtx{}}, {"放弃 12 临时有事", parseCtx{}}, {"退单 12", parseCtx{}}, {"放弃", inReply12},
	{"完成 12 已换灯泡", parseCtx{}}, {"已完成 12", parseCtx{}}, {"完成 已换灯泡", inReply12}, {"完成了", inReply12},
	{"确认 12 5星 很及时", parseCtx{}}, {"确认 12", parseCtx{}}, {"确认 5星", inReply12}, {"评价 12 ★★★★ 还行", parseCtx{}},
	{"评价 12", parseCtx{}}, {"好评 12", parseCtx{}}, {"确认 12 9星", parseCtx{}}, {"确认 12 满分", parseCtx{}},
	{"不满意 12 灯还是不亮", parseCtx{}}, {"差评 12", parseCtx{}}, {"重办 12", parseCtx{}}, {"重新办理 12", parseCtx{}},
	{"办结 12", parseCtx{}}, {"销号 12", parseCtx{}}, {"结案 12", parseCtx{}},
	{"报到 张三 3栋2单元", parseCtx{}}, {"报到", parseCtx{}}, {"同意 @张三", parseCtx{}}, {"批准 李四", parseCtx{}}, {"同意", parseCtx{}},
	{"绑定 3网格", parseCtx{}}, {"查看 12", parseCtx{}}, {"详情 12", parseCtx{}}, {"进度", inReply12},
	{"　＃１２　", parseCtx{}}, {"接单　１２！", parseCtx{}},
}

type parseGoldenLine struct {
	Verb     Verb   `json:"verb"`
	Item     int64  `json:"item,omitempty"`
	Text     string `json:"text,omitempty"`
	Deadline string `json:"deadline,omitempty"`
	Slots    int    `json:"slots,omitempty"`
	Stars    int    `json:"stars,omitempty"`
	Name     string `json:"name,omitempty"`
	Place    string `json:"place,omitempty"`
	Err      string `json:"err,omitempty"`
}

func TestParseGolden(t *testing.T) {
	now := parseMonday(t)
	var out bytes.Buffer
	fmt.Fprintf(&out, "# Parse(input) with Now = %s (Asia/Shanghai). Rewrite: go test ./handlers -run Golden -update\n",
		now.Format("2006-01-02 15:04 Mon"))
	for _, g := range parseGoldenInputs {
		c := Parse(g.in, ParseContext{Now: now, ReplyItem: g.ctx.reply, Mentioned: g.ctx.addressed, Private: g.ctx.private})
		gc := parseGoldenLine{Verb: c.Verb, Item: c.Item, Text: c.Text, Slots: c.Slots, Stars: c.Stars,
			Name: c.Name, Place: c.Place, Err: c.Err}
		if !c.Deadline.IsZero() {
			gc.Deadline = c.Deadline.Format("2006-01-02 15:04 Mon")
		}
		var js bytes.Buffer
		enc := json.NewEncoder(&js)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(gc); err != nil {
			t.Fatal(err)
		}
		var flags []string
		if g.ctx.reply != 0 {
			flags = append(flags, fmt.Sprintf("reply=%d", g.ctx.reply))
		}
		if g.ctx.addressed {
			flags = append(flags, "mention")
		}
		if g.ctx.private {
			flags = append(flags, "private")
		}
		ctxText := ""
		if len(flags) > 0 {
			ctxText = " [" + strings.Join(flags, " ") + "]"
		}
		fmt.Fprintf(&out, "%q%s => %s", g.in, ctxText, js.Bytes())
	}

	path := filepath.Join("testdata", "parse.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		gotLines, wantLines := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
			var g, w string
			if i < len(gotLines) {
				g = gotLines[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Errorf("%s:%d:\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
		t.Log("run with -update if the change is intended")
	}
}

func BenchmarkParse(b *testing.B) {
	now := parseMonday(b)
	msgs := []string{
		"接单 12", "确认 12 5星 很及时", "派单 12 截止 周五18点 需要3人",
		"发布 周六上午清理楼道，需要5人，截止周五", "3栋2单元楼道灯坏了，电话13812345678",
		strings.Repeat("楼道灯坏了 ", 200),
	}
	pc := ParseContext{Now: now, Mentioned: true}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Parse(msgs[i%len(msgs)], pc)
	}
}
