package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/zh"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// contextual verbs take their item from context when none is written.
func contextual(v Verb) bool {
	switch v {
	case VerbClaim, VerbComplete, VerbRelease, VerbConfirm, VerbUnsatisfied, VerbItem:
		return true
	}
	return false
}

// candidates are the items a verb without a number can mean for this sender: what is waiting
// for their rating (确认, 不满意), their claims (完成, 放弃), what is open for claiming in this
// group (接单), or all of those that are not closed (查看).
func (h *Handlers) candidates(ctx context.Context, r *bot.Request, v Verb) ([]*community.Item, error) {
	var fs []store.ItemFilter
	me := r.Sender.ID
	switch v {
	case VerbConfirm, VerbUnsatisfied:
		fs = append(fs, store.ItemFilter{Requester: me, States: []community.State{community.StateDone}, Limit: 10})
	case VerbComplete, VerbRelease:
		fs = append(fs, store.ItemFilter{Claimer: me, States: []community.State{community.StateOpen, community.StateClaimed}, Limit: 10})
	case VerbClaim:
		if r.Group.ID == "" || !r.Command().Addressed {
			return nil, nil // a bare 接单 or 我来 means the card replied to, or the one open item when asked
		}
		fs = append(fs, store.ItemFilter{Groups: []string{r.Group.ID}, States: []community.State{community.StateOpen}, Limit: 10})
	case VerbItem:
		fs = append(fs, store.ItemFilter{Requester: me, Open: true, Limit: 10}, store.ItemFilter{Claimer: me, Open: true, Limit: 10})
	}
	var out []*community.Item
	seen := map[int64]bool{}
	for _, f := range fs {
		items, err := h.Store.ListItems(ctx, f)
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		for _, it := range items {
			if seen[it.No] || v == VerbClaim && it.ClaimedBy(me) {
				continue
			}
			seen[it.No] = true
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b *community.Item) int { return cmp.Compare(a.No, b.No) })
	return out, nil
}

// fromContext applies cmd, written without a number, to the one item it can mean, or asks
// which one. With nothing it could mean it answers the parser's hint when the message was
// meant for the bot (addressed, or clearly a command), and is chat otherwise.
func (h *Handlers) fromContext(ctx context.Context, r *bot.Request, cmd Command) error {
	items, err := h.candidates(ctx, r, cmd.Verb)
	if err != nil {
		return err
	}
	mc := r.Command()
	switch {
	case len(items) == 1:
		cmd.Item, cmd.Err = items[0].No, ""
		return h.Run(ctx, r, cmd)
	case len(items) > 1:
		if cmd.Verb == VerbClaim && !mc.Addressed {
			return bot.ErrNotCommand // "我来" in a busy group, not replying to a card: chat
		}
		choices := make([]bot.Choice, 0, min(len(items), 5))
		for _, it := range items[:min(len(items), 5)] {
			choices = append(choices, bot.Choice{Label: fmt.Sprintf("#%d %s", it.No, shortTitle(it.Title)), Command: commandFor(cmd, it.No)})
		}
		r.Ask("您是指哪一单？", choices)
		return nil
	}
	if !mc.Addressed && !parserKnows(mc.Word) {
		return bot.ErrNotCommand // 满意, 搞定了, 怎么样了 with nothing to apply to: chat
	}
	if cmd.Err == "" {
		cmd.Err = hintItem + wordOf(cmd.Verb) + " 12"
	}
	r.Reply(cmd.Err)
	return nil
}

// commandFor writes cmd back as text for item no, for a clarifying question's choice.
func commandFor(cmd Command, no int64) string {
	s := wordOf(cmd.Verb) + " " + strconv.FormatInt(no, 10)
	if cmd.Stars > 0 {
		s += " " + strconv.Itoa(cmd.Stars) + "星"
	}
	if cmd.Text != "" {
		s += " " + cmd.Text
	}
	return s
}

func shortTitle(s string) string {
	s = community.Mask(s)
	if utf8.RuneCountInString(s) <= 10 {
		return s
	}
	return string([]rune(s)[:10]) + "…"
}

var (
	greetings = []string{"你好", "您好", "在吗", "在不在", "hello", "hi", "嗨", "哈喽", "早上好", "早", "晚上好", "下午好", "大家好"}
	thanks    = []string{"谢谢", "谢谢你", "谢谢您", "感谢", "多谢", "辛苦了", "辛苦", "谢啦", "thanks", "thank you", "好的谢谢", "收到谢谢",
		"真好用", "好用", "真棒", "太棒了", "厉害", "点赞", "麻烦了", "麻烦你了", "麻烦您了"}
	// Words that, with an existing item's number, make a message a follow-up on that item.
	complaintWords = []string{"不满意", "不太满意", "差评", "还是不", "没修好", "没弄好", "没解决", "又坏", "还没好", "不行"}
	praiseWords    = []string{"非常满意", "很满意", "满意", "好评", "点赞", "很好", "不错"}
	// Without a number, only words about a service done make a message a rating of the one
	// item waiting for it ("楼道灯又坏了" may well be a new need).
	aboutServiceComplaints = []string{"不满意", "不太满意", "差评", "没修好", "没弄好", "没解决", "还是不"}
	aboutServicePraise     = []string{"满意", "好评", "五星", "5星"}
	// The words of a rating itself, for a number said in passing (1号差评).
	ratingWords = []string{"不满意", "不太满意", "差评", "没修好", "没弄好", "没解决", "满意", "好评"}
	statusWords = []string{"怎么样", "进度", "进展", "到哪", "好了没", "什么时候", "有人接", "没人接", "有人管", "没人管",
		"办了吗", "修了吗", "来了吗", "没人来", "还没来", "啥时候"}
)

// onOther handles what no verb took: an answer from context (a bare rating, a number replying
// to a card), a greeting or thanks, a follow-up on an item, a need, or "没听懂".
func (h *Handlers) onOther(ctx context.Context, r *bot.Request) error {
	mc := r.Command()
	s := mc.Text
	addressed := mc.Addressed
	if s == "" && !addressed {
		return nil // 👍, ～～: nothing but decoration
	}
	low := strings.ToLower(s)
	if greet, thank := isGreeting(low), isThanks(low); addressed && (greet || thank) {
		hi := "您好！"
		if thank {
			hi = "不客气，能帮上忙就好！"
		}
		r.Replyf("%s我是%s。有需要帮助的事，直接 @%s 说明情况即可；发送“帮助”查看可以用的命令。", hi, h.botName(), h.botName())
		return nil
	}
	replyItem := ItemFromKey(mc.ReplyKey)
	// A bare rating: 4星, ★★★★, 给5星, 5分 很及时.
	rating := s
	for _, p := range []string{"给", "打", "评"} {
		if t, ok := strings.CutPrefix(rating, p); ok {
			rating = strings.TrimLeft(t, " ")
			break
		}
	}
	if stars, end, ok, _ := zh.StarsAt(rating, 0); ok {
		rest := strings.TrimPrefix(rating[end:], "好评") // 5星好评
		if rest == "" || rest[0] == ' ' || rest[0] == '!' || zh.IsSep(rune(rest[0])) {
			cmd := Command{Verb: VerbConfirm, Item: replyItem, Stars: stars, Text: zh.TrimArgs(strings.TrimLeft(rest, "! "))}
			if cmd.Item > 0 {
				return h.Run(ctx, r, cmd)
			}
			if err := h.fromContext(ctx, r, cmd); !errors.Is(err, bot.ErrNotCommand) {
				return err
			}
			return nil
		}
	}
	// A bare number replying to a card that waits for the sender's rating: the stars.
	if replyItem > 0 && len(s) == 1 && s[0] >= '1' && s[0] <= '5' {
		if it, err := h.Store.GetItem(ctx, replyItem); err == nil && it.State == community.StateDone && it.RequesterID == r.Sender.ID {
			return h.Run(ctx, r, Command{Verb: VerbConfirm, Item: replyItem, Stars: int(s[0] - '0')})
		}
	}
	if _, n, explicit := zh.LeadingItem(strings.TrimPrefix(s, "给")); addressed || n > 0 && explicit {
		// 1号4星, 给1号打5星, @邻里帮 我对7号不满意: a follow-up on an item, never a new need.
		if done, err := h.followUp(ctx, r, s); done || err != nil {
			return err
		}
	}
	if addressed && mentionedItem(s) == 0 && utf8.RuneCountInString(s) <= 20 {
		if containsAny(s, statusWords) && utf8.RuneCountInString(s) <= 15 {
			return h.listMine(ctx, r) // @邻里帮 我的单子怎么样了
		}
		// @邻里帮 给师傅五星好评 / 灯还是不亮: about the item waiting for the sender's rating,
		// when there is one; otherwise it is a need.
		var cmd Command
		switch {
		case containsAny(s, aboutServiceComplaints):
			cmd = Command{Verb: VerbUnsatisfied, Text: s}
		case containsAny(s, aboutServicePraise):
			cmd = Command{Verb: VerbConfirm, Text: s}
			if v, _, _, ok, _ := zh.FindStars(s); ok {
				cmd.Stars = v
			}
		}
		if cmd.Verb != "" {
			items, err := h.candidates(ctx, r, cmd.Verb)
			if err != nil {
				return err
			}
			if len(items) > 0 {
				return h.fromContext(ctx, r, cmd)
			}
		}
	}
	cmd := Parse(s, ParseContext{Now: r.Now, ReplyItem: replyItem, Mentioned: addressed && !r.Msg.Private, Private: r.Msg.Private})
	if cmd.Item == 0 && cmd.Err != "" && contextual(cmd.Verb) {
		if err := h.fromContext(ctx, r, cmd); !errors.Is(err, bot.ErrNotCommand) {
			return err
		}
		return nil
	}
	if cmd.Err != "" {
		r.Reply(cmd.Err)
		return nil
	}
	if cmd.Verb == VerbNeed {
		// A mistyped command (接丹 2, 帮组) or a few letters are not a need.
		var near []string
		if h.mux != nil && utf8.RuneCountInString(s) <= 4 {
			near = h.mux.Suggest(s, community.EffectiveRole(r.Sender), 3)
		}
		if len(near) > 0 || hanCount(s) < 2 {
			h.notUnderstood(r, near)
			return nil
		}
	}
	if cmd.Verb == VerbUnknown && (addressed || r.Msg.Private) && !(r.Msg.Private && r.Sender.Node != "" && utf8.RuneCountInString(s) >= 4) {
		var near []string
		if h.mux != nil {
			near = h.mux.Suggest(s, community.EffectiveRole(r.Sender), 3)
		}
		h.notUnderstood(r, near)
		return nil
	}
	return h.Run(ctx, r, cmd)
}

// notUnderstood says so, with the closest commands.
func (h *Handlers) notUnderstood(r *bot.Request, near []string) {
	msg := "没听懂您的意思。"
	if len(near) > 0 {
		msg += "您是想用：" + strings.Join(near, "、") + "？"
	}
	r.Replyf("%s有需要帮助的事，直接 @%s 说明情况即可；发送“帮助”查看可以用的命令。", msg, h.botName())
}

// followUp takes a message addressed to the bot that names an existing item (#7, 7号, 第7单)
// and a complaint, a rating or a status question as that, never as a new need:
// "@邻里帮 我对7号不满意，灯还是不亮".
func (h *Handlers) followUp(ctx context.Context, r *bot.Request, s string) (bool, error) {
	no := mentionedItem(s)
	if no == 0 {
		return false, nil
	}
	var cmd Command
	switch {
	case containsAny(s, complaintWords):
		cmd = Command{Verb: VerbUnsatisfied, Item: no, Text: s}
	case containsAny(s, praiseWords):
		cmd = Command{Verb: VerbConfirm, Item: no, Text: s}
		if v, _, _, ok, _ := zh.FindStars(s); ok {
			cmd.Stars = v
		}
	case containsAny(s, statusWords):
		cmd = Command{Verb: VerbItem, Item: no}
	default:
		if v, _, _, ok, _ := zh.FindStars(s); ok {
			cmd = Command{Verb: VerbConfirm, Item: no, Stars: v}
			break
		}
		if _, strong := itemRef(s); !strong || !r.Command().Addressed {
			return false, nil
		}
		cmd = Command{Verb: VerbItem, Item: no} // @邻里帮 #7 师傅来过了: about #7, shown
	}
	it, err := h.Store.GetItem(ctx, no)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return false, nil
		}
		return true, store.ErrUnavailable(err)
	}
	if !r.Command().Addressed && cmd.Verb != VerbItem {
		// Not said to the bot ("5号不行，我那天有事" may be about a date): a rating only from
		// the one who waits to give it, in the words of a rating.
		if it.RequesterID != r.Sender.ID || it.State != community.StateDone ||
			cmd.Stars == 0 && !containsAny(s, ratingWords) {
			return false, nil
		}
	}
	return true, h.Run(ctx, r, cmd)
}

// mentionedItem finds an explicitly marked item number anywhere in s (#7, 7号, 第7单, 7号单),
// not a building (7号楼) or an address; 0 if none or more than one.
func mentionedItem(s string) int64 {
	no, _ := itemRef(s)
	return no
}

// itemRef is mentionedItem and whether the mark is unmistakable (#7, 第7单, 7号单: not 7号,
// which is also a day of the month).
func itemRef(s string) (no int64, strong bool) {
	var found int64
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		start := r == '#' || r == '第' || r >= '0' && r <= '9'
		if start && i > 0 {
			if p, _ := utf8.DecodeLastRuneInString(s[:i]); p >= '0' && p <= '9' {
				start = false
			}
		}
		if start {
			if v, n, explicit := zh.LeadingItem(s[i:]); n > 0 && explicit && v > 0 {
				if found != 0 && found != v {
					return 0, false
				}
				found = v
				strong = strong || r == '#' || strings.HasSuffix(s[i:i+n], "单")
				i += n
				continue
			}
		}
		i += size
	}
	return found, strong
}

func isGreeting(s string) bool { return oneOf(s, greetings) }

// isThanks: 谢谢, 感谢感谢, 多谢邻里帮, 辛苦了 (short: a longer message is more than thanks).
func isThanks(s string) bool {
	if oneOf(s, thanks) {
		return true
	}
	for _, p := range []string{"谢谢", "感谢", "多谢"} {
		if strings.HasPrefix(s, p) && utf8.RuneCountInString(s) <= 8 {
			return true
		}
	}
	return false
}

// hanCount counts Chinese characters.
func hanCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}

func oneOf(s string, words []string) bool {
	for _, w := range words {
		if s == w {
			return true
		}
	}
	return false
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
