package handlers

import (
	"github.com/neighborbot/neighborbot/bot/zh"
	"strings"
	"unicode/utf8"
)

// Parse turns one chat message into a Command. It is pure: the time comes from pc.Now and
// nothing is read or written. It never panics and scans each message a handful of times.
//
// The verb must start the message. A verb word only counts when what follows it can be its
// arguments (a space, a number, a star rating, "了"), so "取消了的活动还办吗" and
// "我来反映一下楼道灯坏了" are not commands; addressed to the bot they become needs.
func Parse(text string, pc ParseContext) Command {
	if pc.ReplyItem < 0 {
		pc.ReplyItem = 0
	}
	s := zh.Normalize(text)
	if s == "" {
		return Command{Verb: VerbHelp}
	}
	if c, ok := parseCommand(s, pc); ok {
		return c
	}
	if s[0] == '/' { // "/help", "/接单 12": slash-command habits from other bots
		if t := strings.TrimLeft(s[1:], " "); t != "" {
			if c, ok := parseCommand(t, pc); ok {
				return c
			}
		}
	}
	if !pc.Private && pc.Mentioned && utf8.RuneCountInString(s) >= 2 {
		return Command{Verb: VerbNeed, Text: s}
	}
	return Command{Verb: VerbUnknown}
}

// argKind says what a verb takes after it.
type argKind int

const (
	argNone     argKind = iota // 待办 [text]
	argItem                    // 接单 N [text]
	argConfirm                 // 确认 N [stars] [comment]: stars optional
	argRate                    // 评价 N ★★★★ [comment]: stars required
	argPraise                  // 好评 N [comment]: 5 stars unless written
	argComplain                // 不满意 N [stars] 原因
	argDispatch                // 派单 N [截止 …] [需要3人]
	argResched                 // 改期 N [截止] …
	argPost                    // 发布 标题 [需要5人] [截止 …]
	argRegister                // 报到 姓名 [楼栋单元]
	argApprove                 // 同意 N | [@]姓名 [原因]
	argBind                    // 绑定 节点
)

func (k argKind) takesItem() bool {
	switch k {
	case argItem, argConfirm, argRate, argPraise, argComplain, argDispatch, argResched:
		return true
	}
	return false
}

func (k argKind) takesStars() bool {
	switch k {
	case argConfirm, argRate, argPraise, argComplain:
		return true
	}
	return false
}

type verbWord struct {
	word    string
	verb    Verb
	args    argKind
	example string // shown in hints: "请告诉我单号，例如：<example>"
	weak    bool   // an everyday word (同意, 通过): alone, it is a command only when addressed to the bot
}

// verbWords is matched longest first, so 取消认领 wins over 取消 and 已完成 over 完成.
var verbWords = []verbWord{
	{word: "派单", verb: VerbDispatch, args: argDispatch, example: "派单 12 截止 周五18点 需要3人"},
	{word: "下单", verb: VerbDispatch, args: argDispatch, example: "下单 12 截止 周五18点 需要3人"},
	{word: "发布", verb: VerbPost, args: argPost, example: "发布 周六上午清理楼道 需要5人 截止 周五18点"},
	{word: "发单", verb: VerbPost, args: argPost, example: "发单 周六上午清理楼道 需要5人 截止 周五18点"},
	{word: "取消", verb: VerbCancel, args: argItem, example: "取消 12 重复提交"},
	{word: "撤销", verb: VerbCancel, args: argItem, example: "撤销 12 重复提交"},
	{word: "改期", verb: VerbReschedule, args: argResched, example: "改期 12 截止 周五18点"},
	{word: "督办", verb: VerbSupervise, args: argItem, example: "督办 12 请尽快处理"},
	{word: "待办", verb: VerbTodo, args: argNone},
	{word: "待办事项", verb: VerbTodo, args: argNone},
	{word: "未办结", verb: VerbTodo, args: argNone},
	{word: "接单", verb: VerbClaim, args: argItem, example: "接单 12"},
	{word: "认领", verb: VerbClaim, args: argItem, example: "认领 12"},
	{word: "抢单", verb: VerbClaim, args: argItem, example: "抢单 12"},
	{word: "放弃", verb: VerbRelease, args: argItem, example: "放弃 12 临时有事"},
	{word: "退单", verb: VerbRelease, args: argItem, example: "退单 12 临时有事"},
	{word: "取消认领", verb: VerbRelease, args: argItem, example: "取消认领 12 临时有事"},
	{word: "完成", verb: VerbComplete, args: argItem, example: "完成 12 已换灯泡"},
	{word: "已完成", verb: VerbComplete, args: argItem, example: "已完成 12 已换灯泡"},
	{word: "办完", verb: VerbComplete, args: argItem, example: "办完 12 已换灯泡"},
	{word: "确认", verb: VerbConfirm, args: argConfirm, example: "确认 12 5星 很及时"},
	{word: "评价", verb: VerbConfirm, args: argRate, example: "评价 12 ★★★★★ 很及时"},
	{word: "好评", verb: VerbConfirm, args: argPraise, example: "好评 12"},
	{word: "不满意", verb: VerbUnsatisfied, args: argComplain, example: "不满意 12 灯还是不亮"},
	{word: "差评", verb: VerbUnsatisfied, args: argComplain, example: "差评 12 灯还是不亮"},
	{word: "重办", verb: VerbReopen, args: argItem, example: "重办 12"},
	{word: "重新办理", verb: VerbReopen, args: argItem, example: "重新办理 12"},
	{word: "办结", verb: VerbCloseOut, args: argItem, example: "办结 12"},
	{word: "销号", verb: VerbCloseOut, args: argItem, example: "销号 12"},
	{word: "结案", verb: VerbCloseOut, args: argItem, example: "结案 12"},
	{word: "报到", verb: VerbRegister, args: argRegister, example: "报到 张三 3栋2单元"},
	{word: "同意", verb: VerbApprove, args: argApprove, example: "同意 3", weak: true},
	{word: "批准", verb: VerbApprove, args: argApprove, example: "批准 3", weak: true},
	{word: "通过", verb: VerbApprove, args: argApprove, example: "通过 3", weak: true},
	{word: "拒绝", verb: VerbRefuse, args: argApprove, example: "拒绝 3 不是本小区党员", weak: true},
	{word: "驳回", verb: VerbRefuse, args: argApprove, example: "驳回 3 不是本小区党员", weak: true},
	{word: "绑定", verb: VerbBind, args: argBind, example: "绑定 3网格"},
	{word: "查看", verb: VerbItem, args: argItem, example: "查看 12"},
	{word: "详情", verb: VerbItem, args: argItem, example: "详情 12"},
	{word: "进度", verb: VerbItem, args: argItem, example: "进度 12"},
}

// Hints shown to the user as is.
const (
	hintItem      = "请告诉我单号，例如："
	hintItemZero  = "单号从 1 开始，例如："
	hintStars     = "评星请给 1 到 5 星，例如："
	hintRate      = "请给出评星，例如："
	hintDeadline  = "没看懂截止时间，例如：截止 周五18点 / 明天 / 11月30日"
	hintResched   = "请告诉我新的截止时间，例如：改期 12 截止 周五18点"
	hintPostTitle = "请写上要发布的事项，例如：发布 周六上午清理楼道 需要5人 截止 周五18点"
	hintRegister  = "请写上姓名，例如：报到 张三 3栋2单元"
	hintApprove   = "请告诉我报到申请的编号，例如：同意 3（发送“待审核”查看申请）"
	hintRefuse    = "请告诉我报到申请的编号和原因，例如：拒绝 3 不是本小区党员"
	hintBind      = "请写上要绑定的网格或小区，例如：绑定 3网格"
	hintClaim     = "请告诉我单号，例如：接单 12（或直接回复任务卡片：我来）"
)

// parseCommand recognises a command in normalised text; ok is false when s is not one.
func parseCommand(s string, pc ParseContext) (Command, bool) {
	if isHelp(s) {
		return Command{Verb: VerbHelp}, true
	}
	if word, topic, ok := strings.Cut(s, " "); ok && isHelp(word) && word != "" && word[0] != '?' {
		return Command{Verb: VerbHelp, Text: topic}, true // 帮助 接单
	}
	switch s {
	case "我的", "我的需求", "我的诉求":
		return Command{Verb: VerbMine}, true
	case "我的任务", "我的接单", "我的认领":
		return Command{Verb: VerbMyTasks}, true
	case "我的信息", "我的资料", "我的个人信息", "查看我的信息":
		return Command{Verb: VerbMyInfo}, true
	case "删除我的信息", "删除我的个人信息", "删除个人信息", "注销我的信息":
		return Command{Verb: VerbErase}, true
	case "确认删除":
		return Command{Verb: VerbEraseOK}, true
	case "待审核", "待审核报到", "报到列表", "报到申请":
		return Command{Verb: VerbPendingRegs}, true
	}
	if c, ok := parseShortClaim(s, pc); ok {
		return c, true
	}
	if v, n, explicit := zh.LeadingItem(s); n > 0 && n == len(s) && explicit { // a lone "#12" / "12号"
		c := Command{Verb: VerbItem, Item: v}
		if v == 0 {
			c.Err = hintItemZero + "查看 12"
		}
		return c, true
	}

	best, bestArgs := -1, ""
	for i := range verbWords {
		w := &verbWords[i]
		if !strings.HasPrefix(s, w.word) || (best >= 0 && len(w.word) <= len(verbWords[best].word)) {
			continue
		}
		if args, ok := argsAfter(s[len(w.word):], w.args); ok {
			best, bestArgs = i, args
		}
	}
	if best < 0 {
		return Command{}, false
	}
	return verbWords[best].parse(bestArgs, pc)
}

func isHelp(s string) bool {
	t := strings.TrimRight(s, "?")
	switch t {
	case "", "帮助", "菜单", "怎么用", "使用说明":
		return true
	}
	return strings.EqualFold(t, "help")
}

// parseShortClaim reads the claim shorthands that must be the whole message: 我来, 我来吧,
// +1 and 1, optionally followed by an item number. Without a number or a card to reply to,
// they are everyday chat unless addressed to the bot.
func parseShortClaim(s string, pc ParseContext) (Command, bool) {
	for _, w := range []string{"我来吧", "我来", "+1", "1"} {
		if !strings.HasPrefix(s, w) {
			continue
		}
		c := Command{Verb: VerbClaim, Item: pc.ReplyItem}
		if rest := s[len(w):]; rest != "" {
			if (w == "1" || w == "+1") && rest[0] != ' ' {
				continue // "12", "+10"
			}
			rest = strings.TrimLeft(rest, " ")
			v, n, _ := zh.LeadingItem(rest)
			if n == 0 || n != len(rest) {
				continue
			}
			c.Item = v
			if v == 0 {
				c.Err = hintItemZero + "接单 12"
			}
			return c, true
		}
		if c.Item == 0 {
			if !pc.Mentioned && !pc.Private {
				return Command{}, false
			}
			c.Err = hintClaim
		}
		return c, true
	}
	return Command{}, false
}

// argsAfter decides whether rest, the text right after a verb word, can be that verb's
// arguments, and returns them with leading separators trimmed.
func argsAfter(rest string, k argKind) (string, bool) {
	if rest == "" {
		return "", true
	}
	r, size := utf8.DecodeRuneInString(rest)
	if r == ' ' || zh.IsSep(r) {
		return zh.TrimArgs(rest), true
	}
	switch k {
	case argRegister:
		return rest, r == '@'
	case argApprove:
		return rest, r == '@' || r == '#' || (r >= '0' && r <= '9')
	case argBind:
		return rest, r == '@' || (r >= '0' && r <= '9')
	}
	if !k.takesItem() {
		return "", false
	}
	if r == '了' || r == '啦' { // 完成了, 接单了 12
		after := rest[size:]
		if after == "" {
			return "", true
		}
		r2, _ := utf8.DecodeRuneInString(after)
		if r2 == ' ' || zh.IsSep(r2) {
			return zh.TrimArgs(after), true
		}
		if _, n, _ := zh.LeadingItem(after); n > 0 {
			return after, true
		}
		return "", false
	}
	if _, n, _ := zh.LeadingItem(rest); n > 0 {
		return rest, true
	}
	if k.takesStars() {
		if _, _, ok, bad := zh.StarsAt(rest, 0); ok || bad {
			return rest, true
		}
	}
	return "", false
}

// parse builds the Command for verb word w with its arguments.
func (w *verbWord) parse(args string, pc ParseContext) (Command, bool) {
	c := Command{Verb: w.verb}
	setErr := func(msg string) {
		if c.Err == "" {
			c.Err = msg
		}
	}
	switch w.args {
	case argNone:
		c.Text = zh.TrimArgs(args)
		return c, true
	case argPost:
		rest := args
		if t, a, b, found, bad := zh.FindDeadline(rest, pc.Now, nil); bad {
			setErr(hintDeadline)
		} else if found {
			c.Deadline, rest = t, zh.CutSpan(rest, a, b)
		}
		if v, a, b, ok := zh.FindSlots(rest); ok {
			c.Slots, rest = v, zh.CutSpan(rest, a, b)
		}
		c.Text = zh.TrimArgs(rest)
		if c.Text == "" {
			setErr(hintPostTitle)
		}
		return c, true
	case argRegister:
		args, c.Unit = cutUnit(args)
		name, rest := zh.SplitFirstWord(strings.TrimLeft(args, "@"))
		if k := strings.IndexAny(name, "0123456789"); k > 0 { // 张三3栋2单元
			name, rest = name[:k], name[k:]+" "+rest
		} else if k == 0 && zh.TrimArgs(rest) != "" { // 3栋2单元 张三
			place := name
			name, rest = zh.SplitFirstWord(strings.TrimLeft(zh.TrimArgs(rest), "@"))
			rest = place + " " + rest
		}
		if name != "" && name[0] >= '0' && name[0] <= '9' { // only a place
			name, rest = "", name+" "+rest
		}
		c.Name, c.Place = name, zh.TrimArgs(rest)
		if c.Name == "" {
			setErr(hintRegister)
		}
		return c, true
	case argApprove:
		v, n, _ := zh.LeadingItem(args)
		if n > 0 {
			c.Item, c.Text = v, zh.TrimArgs(args[n:])
			if v == 0 {
				setErr(hintItemZero + w.example)
			}
		} else {
			if w.verb == VerbRefuse && !pc.Mentioned && !pc.Private {
				return Command{}, false // "拒绝 他的要求" in a group is chat; by name only when addressed
			}
			name, rest := zh.SplitFirstWord(strings.TrimLeft(args, "@"))
			c.Name, c.Text = name, zh.TrimArgs(rest)
		}
		if n == 0 && c.Name == "" {
			if w.weak && !pc.Mentioned && !pc.Private {
				return Command{}, false // "同意" in a group: a vote, not a command
			}
			if w.verb == VerbRefuse {
				setErr(hintRefuse)
			} else {
				setErr(hintApprove)
			}
		}
		return c, true
	case argBind:
		c.Name = zh.TrimArgs(strings.TrimLeft(args, "@"))
		if c.Name == "" {
			setErr(hintBind)
		}
		return c, true
	}

	// Verbs on an item.
	rest := args
	if v, n, _ := zh.LeadingItem(args); n > 0 {
		c.Item, rest = v, args[n:]
		if v == 0 {
			setErr(hintItemZero + w.example)
		}
	} else {
		c.Item = pc.ReplyItem
		if c.Item == 0 {
			setErr(hintItem + w.example)
		}
	}

	switch w.args {
	case argConfirm, argRate, argPraise, argComplain:
		if v, a, b, ok, bad := zh.FindStars(rest); bad {
			setErr(hintStars + "确认 12 5星 很及时")
			rest = zh.CutSpan(rest, a, b)
		} else if ok {
			c.Stars, rest = v, zh.CutSpan(rest, a, b)
		}
		if c.Stars == 0 && w.args == argPraise {
			c.Stars = 5
		}
		if c.Stars == 0 && w.args == argRate {
			setErr(hintRate + w.example)
		}
	case argDispatch:
		if t, a, b, found, bad := zh.FindDeadline(rest, pc.Now, nil); bad {
			setErr(hintDeadline)
		} else if found {
			c.Deadline, rest = t, zh.CutSpan(rest, a, b)
		}
		if v, a, b, ok := zh.FindSlots(rest); ok {
			c.Slots, rest = v, zh.CutSpan(rest, a, b)
		}
	case argResched:
		if t, a, b, found, bad := zh.FindDeadline(rest, pc.Now, zh.ReschedKeywords); bad {
			setErr(hintDeadline)
		} else if found {
			c.Deadline, rest = t, zh.CutSpan(rest, a, b)
		} else if t, a, b, found := zh.FindBareWhen(rest, pc.Now); found {
			c.Deadline, rest = t, zh.CutSpan(rest, a, b)
		} else {
			setErr(hintResched)
		}
	}
	c.Text = zh.TrimArgs(rest)
	return c, true
}

// cutUnit takes the 共建单位 out of 报到's arguments: everything after the word 单位 (or 单位：),
// "张三 3栋 单位 区税务局" → "张三 3栋", "区税务局".
func cutUnit(args string) (rest, unit string) {
	k := strings.Index(args, "单位")
	if k < 0 {
		return args, ""
	}
	unit = zh.TrimArgs(strings.TrimLeft(args[k+len("单位"):], " :："))
	return zh.TrimArgs(args[:k]), unit
}
