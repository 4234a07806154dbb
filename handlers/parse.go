package handlers

import (
	"strings"
	"unicode"
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
	s := normalizeMessage(text)
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
	if v, n, explicit := leadingItem(s); n > 0 && n == len(s) && explicit { // a lone "#12" / "12号"
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
			v, n, _ := leadingItem(rest)
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
	if r == ' ' || isArgSep(r) {
		return trimArgs(rest), true
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
		if r2 == ' ' || isArgSep(r2) {
			return trimArgs(after), true
		}
		if _, n, _ := leadingItem(after); n > 0 {
			return after, true
		}
		return "", false
	}
	if _, n, _ := leadingItem(rest); n > 0 {
		return rest, true
	}
	if k.takesStars() {
		if _, _, ok, bad := starsAt(rest, 0); ok || bad {
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
		c.Text = trimArgs(args)
		return c, true
	case argPost:
		rest := args
		if t, a, b, found, bad := findDeadline(rest, pc.Now, nil); bad {
			setErr(hintDeadline)
		} else if found {
			c.Deadline, rest = t, cutSpan(rest, a, b)
		}
		if v, a, b, ok := findSlots(rest); ok {
			c.Slots, rest = v, cutSpan(rest, a, b)
		}
		c.Text = trimArgs(rest)
		if c.Text == "" {
			setErr(hintPostTitle)
		}
		return c, true
	case argRegister:
		name, rest := splitFirstWord(strings.TrimLeft(args, "@"))
		if k := strings.IndexAny(name, "0123456789"); k > 0 { // 张三3栋2单元
			name, rest = name[:k], name[k:]+" "+rest
		} else if k == 0 && trimArgs(rest) != "" { // 3栋2单元 张三
			place := name
			name, rest = splitFirstWord(strings.TrimLeft(trimArgs(rest), "@"))
			rest = place + " " + rest
		}
		if name != "" && name[0] >= '0' && name[0] <= '9' { // only a place
			name, rest = "", name+" "+rest
		}
		c.Name, c.Place = name, trimArgs(rest)
		if c.Name == "" {
			setErr(hintRegister)
		}
		return c, true
	case argApprove:
		v, n, _ := leadingItem(args)
		if n > 0 {
			c.Item, c.Text = v, trimArgs(args[n:])
			if v == 0 {
				setErr(hintItemZero + w.example)
			}
		} else {
			if w.verb == VerbRefuse && !pc.Mentioned && !pc.Private {
				return Command{}, false // "拒绝 他的要求" in a group is chat; by name only when addressed
			}
			name, rest := splitFirstWord(strings.TrimLeft(args, "@"))
			c.Name, c.Text = name, trimArgs(rest)
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
		c.Name = trimArgs(strings.TrimLeft(args, "@"))
		if c.Name == "" {
			setErr(hintBind)
		}
		return c, true
	}

	// Verbs on an item.
	rest := args
	if v, n, _ := leadingItem(args); n > 0 {
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
		if v, a, b, ok, bad := findStars(rest); bad {
			setErr(hintStars + "确认 12 5星 很及时")
			rest = cutSpan(rest, a, b)
		} else if ok {
			c.Stars, rest = v, cutSpan(rest, a, b)
		}
		if c.Stars == 0 && w.args == argPraise {
			c.Stars = 5
		}
		if c.Stars == 0 && w.args == argRate {
			setErr(hintRate + w.example)
		}
	case argDispatch:
		if t, a, b, found, bad := findDeadline(rest, pc.Now, nil); bad {
			setErr(hintDeadline)
		} else if found {
			c.Deadline, rest = t, cutSpan(rest, a, b)
		}
		if v, a, b, ok := findSlots(rest); ok {
			c.Slots, rest = v, cutSpan(rest, a, b)
		}
	case argResched:
		if t, a, b, found, bad := findDeadline(rest, pc.Now, reschedKeywords); bad {
			setErr(hintDeadline)
		} else if found {
			c.Deadline, rest = t, cutSpan(rest, a, b)
		} else if t, a, b, found := findBareWhen(rest, pc.Now); found {
			c.Deadline, rest = t, cutSpan(rest, a, b)
		} else {
			setErr(hintResched)
		}
	}
	c.Text = trimArgs(rest)
	return c, true
}

// normalize folds full-width forms to ASCII (＃１２ → #12, ＋１ → +1, ：，→ :,), turns
// every kind of space into one ASCII space, drops zero-width characters and invalid bytes'
// damage (they become U+FFFD), trims, and drops trailing 。！!~ and similar.
func normalizeMessage(s string) string {
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

// isSep reports separators that may sit between a verb, its number and its text.
func isArgSep(r rune) bool {
	switch r {
	case ',', ';', ':', '、', '。':
		return true
	}
	return false
}

// tidy trims spaces and separators from both ends.
func trimArgs(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == ' ' || isArgSep(r) })
}

// cut removes s[a:b] and joins the two sides without doubling a space or a separator.
func cutSpan(s string, a, b int) string {
	left := strings.TrimRight(s[:a], " ")
	right := strings.TrimLeft(s[b:], " ")
	if left == "" || right == "" {
		return trimArgs(left + right)
	}
	lr, _ := utf8.DecodeLastRuneInString(left)
	rr, rsize := utf8.DecodeRuneInString(right)
	switch {
	case isArgSep(lr) && isArgSep(rr):
		return left + strings.TrimLeft(right[rsize:], " ")
	case isArgSep(lr) || isArgSep(rr):
		return left + right
	}
	return left + " " + right
}

// splitToken splits off the first word (up to a space or a separator).
func splitFirstWord(s string) (tok, rest string) {
	s = trimArgs(s)
	for i, r := range s {
		if r == ' ' || isArgSep(r) {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

const maxItemDigits = 9

// leadingItem reads an item number at the start of s: 12, #12, 12号, 12单, 第12单, 第十二单,
// No.12, №12, 十二. n == 0 when s does not start with one. explicit is set when the number
// is marked as an item (#, No., 第, 号, 单), so it can stand alone as a message. A bare
// number followed by a unit (3栋, 5星, 18点, 11-30) is not an item.
func leadingItem(s string) (v int64, n int, explicit bool) {
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
		num, k := leadingNumber(s[i:], maxItemDigits)
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
	if d := digitRunLen(s); d > 0 {
		if d > maxItemDigits {
			return 0, 0, false
		}
		v = atoiDigits(s[:d])
		if sl := itemSuffixLen(s[d:]); sl > 0 {
			return v, d + sl, true
		}
		if !digitsMayEndItem(s[d:]) {
			return 0, 0, false
		}
		return v, d, false
	}
	num, k := leadingCN(s)
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
	d := digitRunLen(s[i:])
	if d == 0 || d > maxItemDigits {
		return 0, 0, false
	}
	v := atoiDigits(s[i : i+d])
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
	return r == ' ' || isArgSep(r)
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

// starsAt reads a rating at s[i:]: ★★★★ (☆ ignored), 5星 / 5颗星 / 五星, 5分, 满分.
// bad is set for a rating outside 1..5 (9星, 0星, ★★★★★★, 10分).
func starsAt(s string, i int) (stars, end int, ok, bad bool) {
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
	if !numberStartsAt(s, i) {
		return 0, 0, false, false
	}
	digits := digitRunLen(t) > 0
	v, n := leadingNumber(t, 3)
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

// findStars finds the first rating in s and its span.
func findStars(s string) (stars, start, end int, ok, bad bool) {
	for i := 0; i < len(s); {
		if v, e, ok, bad := starsAt(s, i); ok || bad {
			return v, i, e, ok, bad
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return 0, 0, 0, false, false
}

// findSlots finds how many people an item needs: 需要5人, 需5人, 5人, 五人, 5名, 3位,
// 需要5名党员. It returns 1..99 and the span.
func findSlots(s string) (v, start, end int, ok bool) {
	for i := 0; i < len(s); {
		if numberStartsAt(s, i) {
			if n, k := leadingNumber(s[i:], 2); k > 0 && n >= 1 && n <= 99 {
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
