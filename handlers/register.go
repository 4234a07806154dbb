package handlers

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// Owner is the name this package registers under on the bot.Mux.
const Owner = "items"

// itemVerb is one of the items' verbs as registered on the Mux. Its first word is the one the
// parser (Parse) knows for every synonym added here for natural phrasing (搞定, 我接, 满意).
type itemVerb struct {
	verb  Verb
	shape bot.Shape
	words []string
	help  []bot.HelpLine
}

var (
	resident  = community.RoleResident
	member    = community.RoleMember
	secretary = community.RoleSecretary
)

// itemVerbs are the verbs of service items, people and help, in the order of 帮助.
var itemVerbs = []itemVerb{
	{VerbHelp, bot.ShapeNone, []string{"帮助", "菜单", "怎么用", "使用说明", "help"}, []bot.HelpLine{
		{Role: resident, Text: "@%[1]s 需要帮助的事 —— 提需求，例如：@%[1]s 3栋2单元楼道灯坏了"}}},
	{VerbMine, bot.ShapeWhole, []string{"我的", "我的需求", "我的诉求"}, []bot.HelpLine{
		{Role: resident, Text: "我的 —— 查看我提的需求和进度"}}},
	{VerbConfirm, bot.ShapeItem, []string{"确认", "评价", "好评", "满意", "很满意", "非常满意", "挺满意", "五星好评"}, []bot.HelpLine{
		{Role: resident, Text: "确认 12 5星 很及时 —— 确认办好并评价（1-5星）；只有一单待评价时直接说“4星”或“满意”"}}},
	{VerbUnsatisfied, bot.ShapeItem, []string{"不满意", "差评", "不太满意", "很不满意", "非常不满意", "没修好", "没弄好", "没解决"}, []bot.HelpLine{
		{Role: resident, Text: "不满意 12 原因 —— 不满意，书记会回访"}}},
	{VerbItem, bot.ShapeItem, []string{"查看", "详情", "进度", "怎么样了", "怎么样", "进展", "进展如何", "到哪了", "办得怎么样了"}, []bot.HelpLine{
		{Role: resident, Text: "查看 12 / 12号怎么样了 —— 查看事项详情和办理记录"}}},
	{VerbRegister, bot.ShapeAny, []string{"报到"}, []bot.HelpLine{
		{Role: resident, Text: "报到 姓名 楼栋 —— 党员到小区报到（双报到），书记确认后可接单；共建单位的党员加“单位 区税务局”"}}},
	{VerbClaim, bot.ShapeItem, []string{"接单", "认领", "抢单", "我来", "我来吧", "+1", "接", "我接", "算我一个", "我去", "我来接",
		"交给我", "我负责", "包在我身上", "我来处理", "我去处理", "我来办", "我可以去", "我能去", "我来帮忙", "我来我来"}, []bot.HelpLine{
		{Role: member, Text: "接单 12 / 12号我来 —— 认领事项；回复卡片“我来”或点“接单”也行"}}},
	{VerbRelease, bot.ShapeItem, []string{"放弃", "退单", "取消认领"}, []bot.HelpLine{
		{Role: member, Text: "放弃 12 —— 放弃认领"}}},
	{VerbComplete, bot.ShapeItem, []string{"完成", "已完成", "办完", "搞定", "办好", "弄好", "修好", "做完", "已办好",
		"处理完", "处理好", "弄完", "干完", "已处理"}, []bot.HelpLine{
		{Role: member, Text: "完成 12 已换灯泡 / 12号搞定了 —— 报告办好"}}},
	{VerbMyTasks, bot.ShapeWhole, []string{"我的任务", "我的接单", "我的认领"}, []bot.HelpLine{
		{Role: member, Text: "我的任务 —— 查看我认领的事项和积分"}}},
	{VerbTodo, bot.ShapeNone, []string{"待办", "待办事项", "未办结"}, []bot.HelpLine{
		{Role: member, Text: "待办 —— 本群待认领的事项"}, {Role: secretary, Text: "待办 —— 辖区内未办结、超期的事项"}}},
	{VerbDispatch, bot.ShapeItem, []string{"派单", "下单", "派", "派下去", "派出去"}, []bot.HelpLine{
		{Role: secretary, Text: "派单 12 截止 周五18点 需要3人 —— 把需求派为服务事项"}}},
	{VerbPost, bot.ShapeText, []string{"发布", "发单"}, []bot.HelpLine{
		{Role: secretary, Text: "发布 周六上午清理楼道 需要5人 截止 周六12点 —— 直接发布事项"}}},
	{VerbCancel, bot.ShapeItem, []string{"取消", "撤销", "作废"}, []bot.HelpLine{
		{Role: secretary, Text: "取消 12 原因 / 改期 12 截止 明天 / 督办 12"}}},
	{VerbReschedule, bot.ShapeAny, []string{"改期", "延期", "推迟"}, nil},
	{VerbSupervise, bot.ShapeItem, []string{"督办", "催", "催办"}, nil},
	{VerbReopen, bot.ShapeItem, []string{"重办", "重新办理"}, []bot.HelpLine{
		{Role: secretary, Text: "重办 12 / 办结 12 —— 回访后重新办理或销号"}}},
	{VerbCloseOut, bot.ShapeItem, []string{"办结", "销号", "结案"}, nil},
	{VerbApprove, bot.ShapeAny, []string{"同意", "批准", "通过"}, []bot.HelpLine{
		{Role: secretary, Text: "同意 3 / 拒绝 3 原因 —— 审核报到申请 #3（待审核 列出本辖区的申请）；绑定 1网格 —— 把本群绑定到网格"}}},
	{VerbRefuse, bot.ShapeAny, []string{"拒绝", "驳回"}, nil},
	{VerbPendingRegs, bot.ShapeWhole, []string{"待审核", "待审核报到", "报到列表", "报到申请"}, nil},
	{VerbBind, bot.ShapeAny, []string{"绑定"}, nil},
	{VerbMyInfo, bot.ShapeWhole, []string{"我的信息", "我的资料", "我的个人信息", "查看我的信息"}, []bot.HelpLine{
		{Role: resident, Text: "我的信息 —— 私信查看机器人保存的您的信息；删除我的信息 —— 清除电话住址、匿名化您的需求"}}},
	{VerbErase, bot.ShapeWhole, []string{"删除我的信息", "删除我的个人信息", "删除个人信息", "注销我的信息"}, nil},
	{VerbEraseOK, bot.ShapeWhole, []string{"确认删除"}, nil},
}

// Register puts the items' verbs, card actions and the handler of other messages (needs,
// greetings, context) on m. The Mux is also what 帮助 is built from.
func (h *Handlers) Register(m *bot.Mux) error {
	h.mux = m
	for _, v := range itemVerbs {
		err := m.Handle(bot.Verb{Name: string(v.verb), Owner: Owner, Words: v.words, Shape: v.shape, Help: v.help, Handler: h.onVerb})
		if err != nil {
			return err
		}
	}
	for _, a := range []string{"claim", "release", "complete", "rate", "unsatisfied", "cancel", "dispatch"} {
		if err := m.HandleAction(a, Owner, h.onAction); err != nil {
			return err
		}
	}
	return m.HandleOther(Owner, h.onOther)
}

func (h *Handlers) onAction(ctx context.Context, r *bot.Request) error {
	return h.handleAction(ctx, r, r.Msg.Action)
}

// wordOf is the first (parser's) word of a verb.
func wordOf(v Verb) string {
	for _, x := range itemVerbs {
		if x.verb == v {
			return x.words[0]
		}
	}
	return ""
}

// parserKnows reports whether Parse reads word itself (with its own meaning: 好评 is 5 stars).
func parserKnows(word string) bool {
	for i := range verbWords {
		if verbWords[i].word == word {
			return true
		}
	}
	return false
}

// onVerb runs one of the items' verbs. The parser reads the arguments; a verb without an item
// number takes it from context (the card replied to, the sender's one item awaiting a rating,
// their one claim) or asks which one.
func (h *Handlers) onVerb(ctx context.Context, r *bot.Request) error {
	mc := r.Command()
	v := Verb(mc.Verb)
	word := mc.Word
	if !parserKnows(word) {
		word = wordOf(v)
	}
	var b strings.Builder
	b.WriteString(word)
	if mc.Item > 0 {
		b.WriteString(" " + strconv.FormatInt(mc.Item, 10))
	}
	if mc.Args != "" {
		b.WriteString(" " + mc.Args)
	}
	pc := ParseContext{Now: r.Now, ReplyItem: ItemFromKey(mc.ReplyKey), Mentioned: mc.Addressed, Private: r.Msg.Private}
	cmd := Parse(b.String(), pc)
	if cmd.Verb != v {
		return bot.ErrNotCommand // 同意他的看法, 报到处在哪: chat
	}
	if cmd.Item == 0 && contextual(v) {
		return h.fromContext(ctx, r, cmd)
	}
	if cmd.Err != "" {
		if !mc.Addressed && !parserKnows(mc.Word) {
			return bot.ErrNotCommand // 延期到周五吧, 催一下物业: a synonym in passing is chat
		}
		r.Reply(cmd.Err)
		return nil
	}
	return h.Run(ctx, r, cmd)
}

// errNoContext is what fromContext finds when nothing in context fits.
var errNoContext = errors.New("no item in context")
