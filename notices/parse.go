package notices

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot/zh"
)

// Verb names what a message asks of the notices feature.
type Verb string

const (
	VerbNone     Verb = ""         // not ours: the core handlers get the message
	VerbUsage    Verb = "usage"    // 通知 / 投票 alone: how to use them
	VerbNotice   Verb = "notice"   // 通知 全体 内容
	VerbPoll     Verb = "poll"     // 投票 [目标] 标题 同意/反对/弃权 截止 周日
	VerbConfirm  Verb = "confirm"  // 确认发送 [N]
	VerbCancel   Verb = "cancel"   // 取消发送 [N]
	VerbProgress Verb = "progress" // 进度 N / 通知进度 N
	VerbReceipts Verb = "receipts" // 回执 N
	VerbRemind   Verb = "remind"   // 催办回执 N
	VerbResults  Verb = "results"  // 投票结果 N
	VerbExport   Verb = "export"   // 导出 N
	VerbAck      Verb = "ack"      // 收到 [N]
	VerbVote     Verb = "vote"     // 投票 N 同意
)

// Command is a parsed message.
type Command struct {
	Verb Verb
	ID   int64 // the notice or poll number; 0 when not given

	All     bool     // 全体: every group the sender may reach
	Targets []string // org node names as written (3网格, 幸福社区)

	Text  string   // the notice's body, as written (line breaks kept)
	Links []string // http(s) links found in Text (an image or a file)

	Title    string    // a poll's question
	Options  []string  // a poll's options, or nil for the default 同意/反对/弃权
	Deadline time.Time // a poll's deadline; zero when none was written
	Option   string    // the option of a vote

	// Err is a short Chinese hint shown as is when the verb was recognised but its
	// arguments are wrong.
	Err string
}

// ParseContext is what Parse needs besides the text.
type ParseContext struct {
	Now time.Time // resolves 截止 phrases, in its Location
	// IsTarget reports whether a word names an org node (for the optional target of 投票).
	// nil: only 全体 is recognised there.
	IsTarget func(name string) bool
}

// Limits of what people may write.
const (
	MaxTextRunes   = 5000 // a notice's body
	MaxTitleRunes  = 200  // a poll's question
	MaxOptions     = 10
	MaxOptionRunes = 20
)

// DefaultOptions are a poll's options when none are written: the usual three of a residents' vote.
var DefaultOptions = []string{"同意", "反对", "弃权"}

// Hints shown as is.
const (
	UsageNotice = "发通知：通知 全体 内容（或 通知 3网格,5网格 内容 / 通知 幸福社区 内容），可附图片或文件链接。\n" +
		"发投票：投票 [全体] 是否同意加装电梯 同意/反对/弃权 截止 周日\n" +
		"查看：通知进度 N · 回执 N · 催办回执 N · 投票结果 N · 导出 N"
	hintNoTarget = "请写上发给谁，例如：通知 全体 今晚8点停水 / 通知 3网格,5网格 内容"
	hintNoText   = "请写上通知内容，例如：通知 全体 今晚8点停水"
	hintNoTitle  = "请写上投票的事项，例如：投票 是否同意加装电梯 同意/反对/弃权 截止 周日"
	hintDeadline = "没看懂截止时间，例如：截止 周日 / 截止 11月30日18点 / 截止 3天内"
	hintPast     = "截止时间已经过了，请换一个以后的时间。"
	hintID       = "请告诉我编号，例如："
	hintVote     = "请写上编号和选项，例如：投票 12 同意"
)

var (
	allWords   = []string{"全体", "全部", "所有", "所有群", "全部群", "全体群", "全街道"}
	linkRe     = regexp.MustCompile(`https?://[^\s<>"'，。、；！？）】」]+`)
	ackWords   = []string{"已收到", "收到了", "收到啦", "收到"}
	ackTails   = []string{"谢谢", "了解", "明白"}
	optionSeps = "/／|｜"
)

// Parse reads one message. It is pure: time comes from pc.Now, nothing is read or written.
// The verb must start the message; a verb word followed by anything but a separator (通知大家
// 明天停水) is ordinary chat.
func Parse(text string, pc ParseContext) Command {
	s := strings.TrimFunc(text, isSpace)
	s = strings.TrimPrefix(s, "/")
	if s == "" {
		return Command{}
	}
	head := strings.TrimRightFunc(zh.FoldDigits(s), isTrailing)

	// Longer verbs first: 通知进度 before 通知, 投票结果 before 投票, 催办回执 before 回执.
	for _, v := range []struct {
		words []string
		verb  Verb
		ex    string
	}{
		{[]string{"通知进度", "发送进度", "送达情况"}, VerbProgress, "通知进度 12"},
		{[]string{"催办回执", "催回执", "提醒回执"}, VerbRemind, "催办回执 12"},
		{[]string{"回执情况", "查回执", "回执"}, VerbReceipts, "回执 12"},
		{[]string{"投票结果", "表决结果"}, VerbResults, "投票结果 12"},
		{[]string{"导出"}, VerbExport, "导出 12"},
	} {
		for _, w := range v.words {
			if rest, ok := cutVerb(head, w); ok {
				id, n, bad := leadingID(rest)
				if n == 0 || strings.TrimFunc(rest[n:], isSep) != "" {
					if rest == "" {
						return Command{Verb: v.verb, Err: hintID + v.ex}
					}
					return Command{} // 回执单据已经交了: chat, not a command
				}
				c := Command{Verb: v.verb, ID: id}
				if bad {
					c.Err = hintID + v.ex
				}
				return c
			}
		}
	}
	// A bare 进度 N is the core's: numbers are shared, so it looks N up (an item, or through
	// the number index a notice, whose answer is Notices.Numbered) without a detour here.
	for _, w := range []string{"确认发送", "确定发送", "确认发布"} {
		if rest, ok := cutVerb(head, w); ok {
			return idOnly(VerbConfirm, rest)
		}
	}
	for _, w := range []string{"取消发送", "取消发布", "不发了"} {
		if rest, ok := cutVerb(head, w); ok {
			return idOnly(VerbCancel, rest)
		}
	}
	if c, ok := parseAck(head); ok {
		return c
	}
	if rest, ok := cutVerb(s, "通知"); ok {
		return parseNotice(rest)
	}
	for _, w := range allWords { // 通知全体：内容
		if rest, ok := cutVerb(s, "通知"+w); ok && rest != "" {
			return parseNotice(w + " " + rest)
		}
	}
	for _, w := range []string{"投票", "表决", "发起投票"} {
		if rest, ok := cutVerb(s, w); ok {
			return parsePoll(rest, pc)
		}
	}
	return Command{}
}

// cutVerb returns what follows verb when s starts with it and a separator (or nothing)
// comes next, with the separators trimmed.
func cutVerb(s, verb string) (string, bool) {
	rest, ok := strings.CutPrefix(s, verb)
	if !ok {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	if isSep(r) {
		return strings.TrimLeftFunc(rest, isSep), true
	}
	// 回执12, 导出#3: a number may follow directly.
	if r == '#' || r == '＃' || (r >= '0' && r <= '9') {
		return rest, true
	}
	return "", false
}

func idOnly(v Verb, rest string) Command {
	rest = strings.TrimFunc(rest, isSep)
	if rest == "" {
		return Command{Verb: v}
	}
	id, n, bad := leadingID(rest)
	if n == 0 || strings.TrimFunc(rest[n:], isSep) != "" {
		return Command{} // 确认发送了吗？: chat
	}
	c := Command{Verb: v, ID: id}
	if bad {
		c.Err = hintID + "确认发送 12"
	}
	return c
}

// parseAck reads 收到 / 已收到 / 收到了 with an optional number and thanks: the whole message.
func parseAck(s string) (Command, bool) {
	s = strings.TrimRightFunc(s, isTrailing)
	for _, p := range []string{"好的", "好", "ok", "OK"} {
		if t, ok := strings.CutPrefix(s, p); ok {
			s = strings.TrimLeftFunc(t, isSep)
			break
		}
	}
	for _, w := range ackWords {
		rest, ok := strings.CutPrefix(s, w)
		if !ok {
			continue
		}
		rest = strings.TrimFunc(rest, isSep)
		for _, t := range ackTails {
			rest = strings.TrimFunc(strings.TrimSuffix(rest, t), isSep)
		}
		if rest == "" {
			return Command{Verb: VerbAck}, true
		}
		if id, n, bad := leadingID(rest); n > 0 && n == len(rest) && !bad {
			return Command{Verb: VerbAck, ID: id}, true
		}
		return Command{}, false
	}
	return Command{}, false
}

// parseNotice reads "全体 内容", "3网格,5网格 内容", "幸福社区：内容".
func parseNotice(rest string) Command {
	c := Command{Verb: VerbNotice}
	if rest == "" {
		return Command{Verb: VerbUsage}
	}
	target, body := splitTarget(rest)
	c.All, c.Targets = targets(target)
	c.Text = strings.TrimFunc(body, isSep)
	switch {
	case !c.All && len(c.Targets) == 0:
		c.Err = hintNoTarget
	case c.Text == "":
		c.Err = hintNoText
	case utf8.RuneCountInString(c.Text) > MaxTextRunes:
		c.Err = fmt.Sprintf("通知内容最多%d字，这条有%d字，请精简或分成几条。", MaxTextRunes, utf8.RuneCountInString(c.Text))
	}
	c.Links = linkRe.FindAllString(c.Text, -1)
	return c
}

// splitTarget cuts the first word (up to a space, a line break or a colon) off s.
func splitTarget(s string) (target, rest string) {
	for i, r := range s {
		if isSpace(r) || r == ':' || r == '：' {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// targets reads "全体" or a list of node names separated by , ， 、 ; ；.
func targets(word string) (all bool, names []string) {
	if slices.Contains(allWords, word) {
		return true, nil
	}
	for _, p := range strings.FieldsFunc(word, func(r rune) bool { return strings.ContainsRune(",，、;；", r) }) {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	return false, names
}

// parsePoll reads "[目标] 标题 选项/选项 [截止 …]" or a vote "N 选项".
func parsePoll(rest string, pc ParseContext) Command {
	if rest == "" {
		return Command{Verb: VerbUsage}
	}
	// A vote: "投票 12 同意".
	if id, n, bad := leadingID(zh.FoldDigits(rest)); n > 0 && (n == len(zh.FoldDigits(rest)) || startsWithSep(zh.FoldDigits(rest)[n:])) {
		opt := strings.TrimFunc(zh.FoldDigits(rest)[n:], isSep)
		c := Command{Verb: VerbVote, ID: id, Option: opt}
		if bad || opt == "" || strings.ContainsAny(opt, optionSeps) {
			c.Err = hintVote
		}
		return c
	}
	c := Command{Verb: VerbPoll}
	// The deadline: from 截止/截至 on. zh reads the phrase, so a deadline means the same in
	// 投票 as in 派单.
	if i := deadlineAt(rest); i >= 0 {
		tail := zh.Normalize(rest[i:])
		t, a, b, found, bad := zh.FindDeadline(tail, pc.Now, nil)
		if !found || bad {
			c.Err = hintDeadline
			rest = rest[:i]
		} else {
			c.Deadline = t
			if !c.Deadline.After(pc.Now) {
				c.Err = hintPast
			}
			rest = rest[:i] + " " + zh.CutSpan(tail, a, b)
		}
	}
	words := strings.FieldsFunc(rest, isSpace)
	if len(words) > 0 {
		first := strings.TrimRight(words[0], ":：")
		if all, names := targets(first); all || (len(names) > 0 && pc.IsTarget != nil && allFunc(names, pc.IsTarget)) {
			c.All, c.Targets = all, names
			words = words[1:]
		}
	}
	// The options: the last word holding a separator, so a question may contain one too.
	for i := len(words) - 1; i >= 0; i-- {
		if strings.ContainsAny(words[i], optionSeps) {
			opts, err := splitOptions(words[i])
			if err != "" && c.Err == "" {
				c.Err = err
			}
			c.Options = opts
			words = slices.Delete(words, i, i+1)
			break
		}
	}
	c.Title = strings.TrimFunc(strings.Join(words, " "), isSep)
	switch {
	case c.Err != "":
	case c.Title == "":
		c.Err = hintNoTitle
	case utf8.RuneCountInString(c.Title) > MaxTitleRunes:
		c.Err = fmt.Sprintf("投票事项最多%d字，请精简。", MaxTitleRunes)
	}
	return c
}

func allFunc(names []string, f func(string) bool) bool {
	for _, n := range names {
		if !f(n) {
			return false
		}
	}
	return true
}

// deadlineAt finds where a 截止 clause starts, or -1.
func deadlineAt(s string) int {
	best := -1
	for _, k := range []string{"截止", "截至"} {
		if i := strings.Index(s, k); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

func splitOptions(word string) ([]string, string) {
	var opts []string
	for _, o := range strings.FieldsFunc(word, func(r rune) bool { return strings.ContainsRune(optionSeps, r) }) {
		o = strings.TrimFunc(o, isSep)
		if o == "" {
			continue
		}
		if utf8.RuneCountInString(o) > MaxOptionRunes {
			return nil, fmt.Sprintf("选项最多%d字：%s", MaxOptionRunes, o)
		}
		if slices.Contains(opts, o) {
			return nil, "选项重复了：" + o
		}
		opts = append(opts, o)
	}
	switch {
	case len(opts) < 2:
		return nil, "请至少给两个选项，用 / 分开，例如：同意/反对/弃权"
	case len(opts) > MaxOptions:
		return nil, fmt.Sprintf("选项最多%d个。", MaxOptions)
	}
	return opts, ""
}

// MatchOption finds the option a vote names: the option itself, or its number (1-based).
// It reports false when text names none.
func MatchOption(options []string, text string) (string, bool) {
	t := strings.TrimFunc(zh.FoldDigits(text), func(r rune) bool { return isSep(r) || isTrailing(r) })
	if t == "" {
		return "", false
	}
	for _, o := range options {
		if t == o {
			return o, true
		}
	}
	for _, o := range options {
		if strings.EqualFold(t, o) {
			return o, true
		}
	}
	if id, n, bad := leadingID(t); n == len(t) && !bad && id >= 1 && id <= int64(len(options)) && !strings.HasPrefix(t, "#") {
		return options[id-1], true
	}
	return "", false
}

// leadingID reads a number at the start of s: 12, #12, 第12, No.12, 12号. bad is set for 0 or
// a number too long to be an id. n is 0 when s does not start with one. The digits are read as
// zh reads item numbers (the same length limit); 条 and 期 also end a notice's number.
func leadingID(s string) (id int64, n int, bad bool) {
	i := 0
	for _, p := range []string{"#", "＃", "第", "No.", "no.", "NO."} {
		if strings.HasPrefix(s, p) {
			i = len(p)
			break
		}
	}
	d := zh.DigitRunLen(s[i:])
	if d == 0 {
		return 0, 0, false
	}
	j := i + d
	if d > zh.MaxItemDigits {
		return 0, j, true
	}
	id = zh.AtoiDigits(s[i:j])
	for _, suf := range []string{"号", "条", "期"} {
		if strings.HasPrefix(s[j:], suf) {
			j += len(suf)
			break
		}
	}
	return id, j, id == 0
}

func startsWithSep(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isSep(r)
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == '\u200B' || r == '\uFEFF' }

// isSep: what may sit between a verb and its arguments.
func isSep(r rune) bool {
	return isSpace(r) || strings.ContainsRune(":：,，、;；", r)
}

func isTrailing(r rune) bool {
	return isSpace(r) || strings.ContainsRune("!！。.~～…,，", r)
}
