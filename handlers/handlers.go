package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Store is what the handlers need of a backend.
type Store interface {
	store.Items
	store.Directory
	store.Docs
	LookupNumber(ctx context.Context, no int64) (store.NumberEntry, error)
}

// Handlers executes the service items' commands. Register puts its verbs, card actions and
// the handler of other messages (needs, context, greetings) on a bot.Mux.
type Handlers struct {
	Store   Store
	Tree    *community.Tree
	BotName string // 邻里帮
	Log     *slog.Logger
	// Retention is how long closed items keep personal fields (told in 我的信息); 0 means
	// DefaultRetention. The scheduler does the purge.
	Retention time.Duration
	// Numbered answers 查看 N / 进度 N for numbers that name no item, by the kind of thing
	// they name (store.KindNotice, store.KindPoll, store.KindActivity); see showNumbered.
	Numbered map[string]NumberedFunc
	// Points, if set, is a member's 积分 this month and this year as the ledger (台账) works
	// them out from the items' histories (ledger/chat's Ledger.Points); 我的任务 and 我的信息
	// show it. Unset, they show no points.
	Points func(ctx context.Context, personID string) (month, year int, err error)

	mux *bot.Mux // where the verbs are registered (Register): 帮助 and "没听懂" read it
}

// Run executes one parsed command.
func (h *Handlers) Run(ctx context.Context, r *bot.Request, cmd Command) error {
	switch cmd.Verb {
	case VerbHelp:
		r.Reply(h.helpText(community.EffectiveRole(r.Sender)))
	case VerbNeed:
		// The need is kept as the resident wrote it (full-width punctuation and all), not in
		// the parser's normalised form.
		cmd.Text = h.needText(r)
		return h.fileNeed(ctx, r, r.Group, cmd)
	case VerbMine:
		return h.listMine(ctx, r)
	case VerbMyTasks:
		return h.listTasks(ctx, r)
	case VerbTodo:
		return h.listTodo(ctx, r)
	case VerbDispatch:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActDispatch, Slots: cmd.Slots, Deadline: cmd.Deadline})
	case VerbPost:
		return h.post(ctx, r, cmd)
	case VerbCancel:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActCancel, Note: cmd.Text})
	case VerbReschedule:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActReschedule, Deadline: cmd.Deadline})
	case VerbSupervise:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActSupervise, Note: cmd.Text})
	case VerbClaim:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActClaim})
	case VerbRelease:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActRelease, Note: cmd.Text})
	case VerbComplete:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActComplete, Note: cmd.Text})
	case VerbConfirm:
		stars := cmd.Stars
		if stars == 0 {
			stars = 5 // "确认 12" with no stars: the resident is satisfied
		}
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActConfirm, Stars: stars, Note: cmd.Text})
	case VerbUnsatisfied:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActUnsatisfied, Note: cmd.Text})
	case VerbReopen:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActReopen, Note: cmd.Text})
	case VerbCloseOut:
		return h.transition(ctx, r, cmd.Item, community.Change{Action: community.ActCloseOut, Note: cmd.Text})
	case VerbItem:
		return h.showItem(ctx, r, cmd.Item)
	case VerbRegister:
		return h.register(ctx, r, cmd)
	case VerbApprove:
		return h.approve(ctx, r, cmd)
	case VerbRefuse:
		return h.refuse(ctx, r, cmd)
	case VerbPendingRegs:
		return h.listRegistrations(ctx, r)
	case VerbMyInfo:
		return h.myInfo(ctx, r)
	case VerbErase:
		return h.askErase(ctx, r)
	case VerbEraseOK:
		return h.erase(ctx, r)
	case VerbBind:
		return h.bind(ctx, r, cmd)
	default:
		if r.Msg.Private && len([]rune(strings.TrimSpace(r.Msg.Text))) >= 4 && r.Sender.Node != "" {
			// In a private chat (a WeCom app, a Feishu p2p chat) a resident's free text is a
			// need for their home compound's group.
			if g, ok, err := h.homeGroup(ctx, r.Sender.Node); err != nil {
				return err
			} else if ok {
				cmd.Text = h.needText(r)
				return h.fileNeed(ctx, r, g, cmd)
			}
		}
		if r.Msg.Mentioned || r.Msg.Private {
			r.Reply(fmt.Sprintf("没太看懂您的意思。有需要帮助的事，直接 @%s 说明情况即可；发送“帮助”查看可以用的命令。", h.botName()))
		}
		// Ordinary chat between neighbours is none of the bot's business.
	}
	return nil
}

// needText is the message as the resident wrote it (full-width punctuation and all), without
// the bot's name when they started with it instead of @-mentioning.
func (h *Handlers) needText(r *bot.Request) string {
	s := strings.TrimSpace(r.Msg.Text)
	for _, p := range []string{"@" + h.botName(), h.botName()} {
		if t, ok := strings.CutPrefix(s, p); ok && strings.TrimSpace(t) != "" {
			return strings.TrimLeft(strings.TrimSpace(t), ",，:：")
		}
	}
	return s
}

// helpText lists the commands role may use: the help lines of everything registered on the Mux.
func (h *Handlers) helpText(role community.Role) string {
	var lines []string
	if h.mux != nil {
		lines = h.mux.Help(role)
	}
	return HelpText(role, h.botName(), lines)
}

func (h *Handlers) botName() string {
	if h.BotName == "" {
		return "邻里帮"
	}
	return h.BotName
}

// ItemKey is the card key of item no.
func ItemKey(no int64) string { return "item:" + strconv.FormatInt(no, 10) }

// ItemFromKey parses a card key; 0 if it is not an item's.
func ItemFromKey(key string) int64 {
	s, ok := strings.CutPrefix(key, "item:")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func (h *Handlers) handleAction(ctx context.Context, r *bot.Request, a *bot.Action) error {
	switch a.Name {
	case "claim":
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActClaim})
	case "release":
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActRelease})
	case "complete":
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActComplete})
	case "rate":
		stars, err := strconv.Atoi(a.Value)
		if err != nil {
			return community.Errorf(community.EInvalid, "评星请在1到5星之间。")
		}
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActConfirm, Stars: stars})
	case "unsatisfied":
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActUnsatisfied})
	case "cancel":
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActCancel, Note: "卡片取消"})
	case "dispatch":
		return h.transition(ctx, r, a.Item, community.Change{Action: community.ActDispatch})
	}
	return community.Errorf(community.EInvalid, "这个按钮已失效，请发送“帮助”查看命令。")
}

func (h *Handlers) actor(r *bot.Request) community.Actor { return community.ActorOf(r.Sender) }

// Auth is the authority rule over this community's tree.
func (h *Handlers) Auth() community.Authority { return community.NewAuthority(h.Tree) }

// homeGroup is the group bound to node, or to its nearest ancestor that has one.
func (h *Handlers) homeGroup(ctx context.Context, node string) (community.Group, bool, error) {
	groups, err := h.Store.ListGroups(ctx)
	if err != nil {
		return community.Group{}, false, store.ErrUnavailable(err)
	}
	path := []string{node}
	if h.Tree != nil {
		for _, a := range h.Tree.Ancestors(node) {
			path = append(path, a.ID)
		}
	}
	for _, n := range path {
		for _, g := range groups {
			if g.Node == n {
				return g, true, nil
			}
		}
	}
	return community.Group{}, false, nil
}

// fileNeed files cmd.Text as a need in group g (the message's group, or in a private chat
// the sender's home group).
func (h *Handlers) fileNeed(ctx context.Context, r *bot.Request, g community.Group, cmd Command) error {
	if g.ID == "" {
		r.Reply("请在小区群里 @我 说明需要帮助的事，方便党员就近认领。")
		return nil
	}
	me := h.actor(r)
	it, err := h.Store.CreateItem(ctx, func(no int64) (*community.Item, error) {
		it, err := community.NewNeed(no, g, me, me, cmd.Text, r.Now)
		return withSource(r, it), err
	})
	if err != nil {
		return err
	}
	secs, err := h.secretaries(ctx, g)
	if err != nil {
		return err
	}
	names := make([]string, len(secs))
	for i, s := range secs {
		names[i] = s.Name
	}
	notified := "已通知书记"
	if len(names) > 0 {
		notified = "已通知" + strings.Join(names, "、")
	}
	if r.Msg.Private {
		r.Replyf("📝 已收到您的需求 #%d：%s\n已登记到%s，%s，派单后党员会来认领。进度可发送“我的”查看。", it.No, it.Title, h.groupName(g), notified)
	} else {
		r.Replyf("📝 已收到您的需求 #%d：%s\n%s，派单后党员会来认领。进度可发送“我的”查看。", it.No, community.Mask(it.Title), notified)
	}
	for _, s := range secs {
		r.Send(h.private(r, s.ID, fmt.Sprintf("📮 新需求 #%d（%s）\n%s：%s\n派单请发送：派单 %d 截止 明天 需要1人",
			it.No, h.groupName(g), it.RequesterName, it.Title, it.No)))
	}
	return nil
}

// withSource marks a new item with the event that created it, so the store creates it once
// even if the event is handled again after a crash.
func withSource(r *bot.Request, it *community.Item) *community.Item {
	if it != nil && r.Msg.EventID != "" {
		it.Source = r.Msg.Key()
	}
	return it
}

func (h *Handlers) post(ctx context.Context, r *bot.Request, cmd Command) error {
	if r.Msg.Private || r.Group.ID == "" {
		r.Reply("请在要发布事项的小区群里发送“发布 …”。")
		return nil
	}
	me := h.actor(r)
	if me.Role.AtLeast(community.RoleSecretary) {
		if err := h.Auth().CheckPlace(me, r.Group.Node); err != nil {
			return err
		}
	}
	it, err := h.Store.CreateItem(ctx, func(no int64) (*community.Item, error) {
		it, err := community.NewPost(no, r.Group, me, cmd.Text, cmd.Slots, cmd.Deadline, r.Now)
		return withSource(r, it), err
	})
	if err != nil {
		return err
	}
	r.Send(h.cardMessage(it, r.Now, false))
	return nil
}

// transition applies one change to an item atomically, then tells the people concerned.
func (h *Handlers) transition(ctx context.Context, r *bot.Request, no int64, c community.Change) error {
	if no <= 0 {
		return community.Errorf(community.EInvalid, "请告诉我单号，例如：%s 12", c.Action.Chinese())
	}
	c.Actor = h.actor(r)
	c.At = r.Now
	var before community.Item
	auth := h.Auth()
	it, err := h.Store.UpdateItem(ctx, no, func(it *community.Item) error {
		before = *it
		if err := auth.CheckItem(c.Actor, c.Action, it); err != nil {
			return err
		}
		return it.Apply(c)
	})
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return community.Errorf(community.ENotFound, "没有找到 #%d，请核对单号（发送“我的”或“待办”查看）。", no)
		}
		return err
	}
	h.award(ctx, c)
	h.announce(ctx, r, &before, it, c)
	return nil
}

// award adds 积分; a failure is logged, not shown: the item itself already moved.
func (h *Handlers) award(ctx context.Context, c community.Change) {
	pts := community.PointsFor(c.Action)
	if pts == 0 {
		return
	}
	_, err := h.Store.UpdatePerson(ctx, c.Actor.ID, func(p *community.Person) error {
		if p.Name == "" {
			p.Name = c.Actor.Name
		}
		p.Points += pts
		return nil
	})
	if err != nil {
		h.Log.Warn("points not awarded", "person", c.Actor.ID, "err", err)
	}
}

// announce says what happened, to whom it concerns: the card is updated in place, the actor
// gets a reply, the requester, claimers or secretaries get told privately where needed.
func (h *Handlers) announce(ctx context.Context, r *bot.Request, before, it *community.Item, c community.Change) {
	no := it.No
	sameChat := r.Group.ID == it.GroupID
	card := h.cardMessage(it, r.Now, true)
	switch c.Action {
	case community.ActDispatch:
		r.Send(h.cardMessage(it, r.Now, false)) // the item's first card, in its group
		h.toPrivateRequester(r, it, fmt.Sprintf("📋 您的需求 #%d 已派单，正在等待党员认领。", no))
		if !sameChat {
			r.Replyf("✅ 已派单 #%d，卡片已发到群里。", no)
		}
		return
	case community.ActClaim:
		r.Send(card)
		left := ""
		if it.SlotsLeft() > 0 {
			left = fmt.Sprintf("，还差%d人", it.SlotsLeft())
		}
		h.replyInItemChat(r, it, fmt.Sprintf("✅ %s 认领了 #%d%s。", c.Actor.Name, no, left))
		h.toPrivateRequester(r, it, fmt.Sprintf("👷 您的需求 #%d 已由%s认领，正在办理。", no, c.Actor.Name))
		if h.Auth().SightOf(c.Actor, it, "") == community.SightFull {
			r.Send(h.private(r, c.Actor.ID, h.contactCard(ctx, it)))
		}
	case community.ActRelease:
		r.Send(card)
		h.replyInItemChat(r, it, fmt.Sprintf("↩️ %s 放弃了 #%d，欢迎其他党员认领。", c.Actor.Name, no))
	case community.ActComplete:
		r.Send(card)
		msg := fmt.Sprintf("🎉 #%d 已完成（%s）", no, c.Actor.Name)
		if c.Note != "" {
			msg += "：" + community.Mask(c.Note)
		}
		h.replyInItemChat(r, it, msg)
		h.toRequester(r, it, fmt.Sprintf("#%d 已办好，请确认并评价：确认 %d 5星 很及时（不满意请发：不满意 %d 原因）", no, no, no))
	case community.ActConfirm:
		r.Send(card)
		if it.State == community.StateFollowUp {
			h.replyInItemChat(r, it, fmt.Sprintf("已记录 #%d 的评价 %s，书记会尽快回访。", no, stars(it.Stars)))
			h.toSecretaries(ctx, r, it, fmt.Sprintf("☎️ 回访：#%d 评价 %s %s\n处理后发送“重办 %d”或“办结 %d”。", no, stars(it.Stars), it.Comment, no, no))
		} else {
			h.replyInItemChat(r, it, fmt.Sprintf("🌟 #%d 已办结，评价 %s。感谢 %s 的服务！", no, stars(it.Stars), it.ClaimerNames()))
		}
	case community.ActUnsatisfied:
		r.Send(card)
		h.replyInItemChat(r, it, fmt.Sprintf("抱歉让您不满意，#%d 已转书记回访。", no))
		h.toSecretaries(ctx, r, it, fmt.Sprintf("☎️ 回访：%s 对 #%d 不满意：%s\n处理后发送“重办 %d”或“办结 %d”。", it.RequesterName, no, it.Reason, no, no))
	case community.ActReopen:
		r.Send(card)
		h.replyInItemChat(r, it, fmt.Sprintf("🔁 #%d 重新办理，请 %s 再跟进一下。", no, it.ClaimerNames()))
		for _, cl := range it.Claims {
			r.Send(h.private(r, cl.UserID, fmt.Sprintf("🔁 #%d 需要重办：%s", no, before.Reason)))
		}
	case community.ActCloseOut:
		r.Send(card)
		h.replyInItemChat(r, it, fmt.Sprintf("✅ #%d 已办结销号。", no))
	case community.ActCancel:
		r.Send(card)
		reason := ""
		if c.Note != "" {
			reason = "，原因：" + community.Mask(c.Note)
		}
		h.replyInItemChat(r, it, fmt.Sprintf("#%d 已取消%s。", no, reason))
		for _, cl := range it.Claims {
			r.Send(h.private(r, cl.UserID, fmt.Sprintf("#%d 已取消%s，无需再办理。", no, reason)))
		}
	case community.ActReschedule:
		r.Send(card)
		h.replyInItemChat(r, it, fmt.Sprintf("🕒 #%d 截止时间改为 %s。", no, community.FormatTime(it.Deadline, r.Now)))
	case community.ActSupervise:
		r.Send(card)
		h.replyInItemChat(r, it, fmt.Sprintf("📌 #%d 已督办（第%d次），请 %s 抓紧办理。", no, it.Supervised, nonEmpty(it.ClaimerNames(), "党员们")))
		for _, cl := range it.Claims {
			r.Send(h.private(r, cl.UserID, fmt.Sprintf("📌 书记督办 #%d：%s %s", no, community.Mask(it.Title), c.Note)))
		}
	default:
		r.Send(card)
	}
}

// replyInItemChat answers in the item's group; if the command came from elsewhere (a private
// chat), the actor also gets the answer there.
func (h *Handlers) replyInItemChat(r *bot.Request, it *community.Item, text string) {
	if r.Group.ID == it.GroupID {
		r.Reply(text)
		return
	}
	plat, chat := community.SplitID(it.GroupID)
	r.Send(bot.Outbound{Platform: plat, ChatID: chat, Text: text})
	r.Reply(text)
}

// privateOnly reports whether a person is in no group (a WeChat Service Account follower,
// "oa:<openid>"): they hear about their items privately, and a group never mentions them.
func privateOnly(userID string) bool {
	plat, _ := community.SplitID(userID)
	return plat == "oa"
}

// toRequester tells the requester, in the item's group with a mention, or privately when
// they are in no group.
func (h *Handlers) toRequester(r *bot.Request, it *community.Item, text string) {
	if privateOnly(it.RequesterID) {
		r.Send(h.private(r, it.RequesterID, text))
		return
	}
	plat, chat := community.SplitID(it.GroupID)
	r.Send(bot.Outbound{Platform: plat, ChatID: chat, Text: text,
		Mentions: []bot.Mention{{UserID: it.RequesterID, Name: it.RequesterName}}})
}

// toPrivateRequester tells a requester who is in no group what the group sees happen to
// their item (dispatched, claimed).
func (h *Handlers) toPrivateRequester(r *bot.Request, it *community.Item, text string) {
	if privateOnly(it.RequesterID) {
		r.Send(h.private(r, it.RequesterID, text))
	}
}

func (h *Handlers) toSecretaries(ctx context.Context, r *bot.Request, it *community.Item, text string) {
	g, err := h.Store.GetGroup(ctx, it.GroupID)
	if err != nil {
		g = community.Group{ID: it.GroupID, Node: it.Node}
	}
	secs, err := h.secretaries(ctx, g)
	if err != nil {
		h.Log.Warn("secretaries not found", "group", it.GroupID, "err", err)
		return
	}
	for _, s := range secs {
		r.Send(h.private(r, s.ID, text))
	}
}

// private builds a one-to-one message. It goes through the person's own platform.
func (h *Handlers) private(r *bot.Request, userID, text string) bot.Outbound {
	plat, _ := community.SplitID(userID)
	if plat == "" {
		plat = r.Msg.Platform
	}
	return bot.Outbound{Platform: plat, UserID: userID, Text: text}
}

// contactCard is what a claimer needs, privately: the requester's full contact. It is sent
// only to those the authority rule lets see the item in full.
func (h *Handlers) contactCard(ctx context.Context, it *community.Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "🔒 #%d 的联系方式（仅您可见）\n事项：%s\n提出人：%s", it.No, it.Title, it.RequesterName)
	b.WriteString(contactLines(it, h.requester(ctx, it)))
	b.WriteString(h.imageLines(ctx, it))
	fmt.Fprintf(&b, "\n办好后发送：完成 %d 办理情况", it.No)
	return b.String()
}

// imageLines lists the pictures the resident sent for it before it was claimed (the Service
// Account channel keeps them), so the claimer sees them too.
func (h *Handlers) imageLines(ctx context.Context, it *community.Item) string {
	raw, err := h.Store.GetDoc(ctx, bot.CollItemImages, strconv.FormatInt(it.No, 10))
	if err != nil {
		return ""
	}
	var imgs []struct {
		PicURL string `json:"pic_url"`
	}
	if json.Unmarshal(raw, &imgs) != nil {
		return ""
	}
	var b strings.Builder
	for _, im := range imgs {
		if im.PicURL != "" {
			fmt.Fprintf(&b, "\n图片：%s", im.PicURL)
		}
	}
	return b.String()
}

// requester is the item's requester as the directory knows them (zero if unknown).
func (h *Handlers) requester(ctx context.Context, it *community.Item) community.Person {
	p, err := h.Store.GetPerson(ctx, it.RequesterID)
	if err != nil {
		return community.Person{}
	}
	return p
}

// contactLines are the requester's phone and address, for private messages only.
func contactLines(it *community.Item, p community.Person) string {
	var b strings.Builder
	phone := it.Phone
	if phone == "" {
		phone = p.Phone
	}
	if phone != "" {
		fmt.Fprintf(&b, "\n电话：%s", phone)
	}
	if p.Door != "" {
		fmt.Fprintf(&b, "\n住址：%s", p.Door)
	}
	return b.String()
}

// roleLister is an optional power of the Store (store/cache has it): the people with one role,
// without reading the whole directory.
type roleLister interface {
	ListPersonsByRole(ctx context.Context, role community.Role) ([]community.Person, error)
}

// secretaries are the people with a secretary's role over the group's node (or every
// secretary when the group is not bound yet), nearest first.
func (h *Handlers) secretaries(ctx context.Context, g community.Group) ([]community.Person, error) {
	var all []community.Person
	var err error
	if byRole, ok := h.Store.(roleLister); ok {
		all, err = byRole.ListPersonsByRole(ctx, community.RoleSecretary)
	} else {
		all, err = h.Store.ListPersons(ctx)
	}
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	var out []community.Person
	for _, p := range all {
		if p.Role != community.RoleSecretary {
			continue
		}
		if g.Node == "" || p.Node == "" || h.Tree == nil || h.Tree.Within(g.Node, p.Node) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (h *Handlers) groupName(g community.Group) string {
	if g.Name != "" {
		return g.Name
	}
	if h.Tree != nil {
		if n, ok := h.Tree.Node(g.Node); ok {
			return n.Name
		}
	}
	return g.ID
}

func (h *Handlers) listMine(ctx context.Context, r *bot.Request) error {
	items, err := h.Store.ListItems(ctx, store.ItemFilter{Requester: r.Sender.ID, Limit: 10})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if len(items) == 0 {
		r.Replyf("您还没有提过需求。有事请直接 @%s 说明，例如：@%s 3栋2单元楼道灯坏了", h.botName(), h.botName())
		return nil
	}
	r.Reply("您的需求（最近10条）：\n" + summaries(items, r.Now))
	return nil
}

func (h *Handlers) listTasks(ctx context.Context, r *bot.Request) error {
	items, err := h.Store.ListItems(ctx, store.ItemFilter{Claimer: r.Sender.ID, Limit: 10})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if len(items) == 0 {
		r.Reply("您还没有认领任务。看到群里的服务卡片，点“接单”或回复“接单 单号”即可。")
		return nil
	}
	pts := ""
	if month, year, ok := h.points(ctx, r.Sender.ID); ok {
		pts = fmt.Sprintf("（积分：本月 %d，本年 %d）", month, year)
	}
	r.Reply("您认领的任务" + pts + "：\n" + summaries(items, r.Now))
	return nil
}

// points is the person's ledger points this month and this year; ok is false without a
// ledger, or when it could not be read (logged: the answer goes out without the points).
func (h *Handlers) points(ctx context.Context, id string) (month, year int, ok bool) {
	if h.Points == nil {
		return 0, 0, false
	}
	month, year, err := h.Points(ctx, id)
	if err != nil {
		h.Log.Warn("ledger points unavailable", "person", id, "err", err)
		return 0, 0, false
	}
	return month, year, true
}

// listTodo: for a secretary, the totals of what is open in the groups under their node and
// the most urgent of it, overdue first; for anyone else, what is open for claiming in this
// group. It counts with the store's indexes and reads only the items it shows: one query
// for the overdue ones (earliest deadline first), one for the newest of the rest.
func (h *Handlers) listTodo(ctx context.Context, r *bot.Request) error {
	f := store.ItemFilter{Open: true}
	secretary := r.Sender.Role.AtLeast(community.RoleSecretary)
	if secretary {
		groups, err := h.Store.ListGroups(ctx)
		if err != nil {
			return store.ErrUnavailable(err)
		}
		auth, me := h.Auth(), h.actor(r)
		for _, g := range groups {
			if auth.Covers(me, g.Node) {
				f.Groups = append(f.Groups, g.ID)
			}
		}
		if len(f.Groups) == 0 {
			r.ReplyPrivately("您的辖区内还没有绑定的群，暂无待办。")
			return nil
		}
	} else {
		if r.Group.ID == "" {
			r.Reply("请在小区群里发送“待办”查看本群待认领的事项。")
			return nil
		}
		f.Groups = []string{r.Group.ID}
		f.States = []community.State{community.StateOpen}
	}
	const max = 20
	// Overdue is what Item.IsOverdue says: a deadline before now, in a state still in hand.
	due := f
	due.States = overdueStates(f.States)
	due.DueBefore = r.Now.Add(-time.Nanosecond)
	due.ByDeadline = true
	counts, err := h.Store.CountItems(ctx, f)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		if secretary {
			r.ReplyPrivately("👍 您的辖区目前没有待办事项。")
		} else {
			r.Reply("👍 目前没有待办事项。")
		}
		return nil
	}
	overdue := 0
	if len(due.States) > 0 {
		dueCounts, err := h.Store.CountItems(ctx, due)
		if err != nil {
			return store.ErrUnavailable(err)
		}
		for _, n := range dueCounts {
			overdue += n
		}
	}
	var items []*community.Item
	if overdue > 0 {
		due.Limit = max
		if items, err = h.Store.ListItems(ctx, due); err != nil {
			return store.ErrUnavailable(err)
		}
	}
	if len(items) < max {
		// The newest max items hold at least max-overdue that are not overdue, when fewer
		// than max are: every overdue one is listed above already.
		shown := make(map[int64]bool, len(items))
		for _, it := range items {
			shown[it.No] = true
		}
		f.Limit = max
		rest, err := h.Store.ListItems(ctx, f)
		if err != nil {
			return store.ErrUnavailable(err)
		}
		for _, it := range rest {
			if len(items) < max && !shown[it.No] {
				items = append(items, it)
			}
		}
	}
	var title string
	if secretary {
		title = fmt.Sprintf("您辖区共 %d 项未办结，其中超期 %d 项、待派单 %d 项、待认领 %d 项：",
			total, overdue, counts[community.StateNeed], counts[community.StateOpen])
	} else {
		title = "本群待认领的事项："
	}
	more := ""
	if total > len(items) {
		more = fmt.Sprintf("\n……另有%d项", total-len(items))
	}
	if secretary {
		// The whole jurisdiction's list is the secretary's business, not the group's.
		r.ReplyPrivately(title + "\n" + summaries(items, r.Now) + more)
		return nil
	}
	r.Reply(title + "\n" + summaries(items, r.Now) + more)
	return nil
}

// overdueStates are the states of states (all, if none) in which an item can be overdue.
func overdueStates(states []community.State) []community.State {
	var out []community.State
	for _, st := range []community.State{community.StateNeed, community.StateOpen, community.StateClaimed, community.StateFollowUp} {
		if len(states) == 0 || slices.Contains(states, st) {
			out = append(out, st)
		}
	}
	return out
}

func summaries(items []*community.Item, now time.Time) string {
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = it.Summary(now)
	}
	return strings.Join(lines, "\n")
}

func (h *Handlers) showItem(ctx context.Context, r *bot.Request, no int64) error {
	if no <= 0 {
		return community.Errorf(community.EInvalid, "请告诉我单号，例如：查看 12")
	}
	it, err := h.Store.GetItem(ctx, no)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return h.showNumbered(ctx, r, no)
		}
		return err
	}
	switch h.Auth().SightOf(h.actor(r), it, r.Group.ID) {
	case community.SightNone:
		// The same answer as for a number that does not exist: another area's items are
		// not even confirmed to exist.
		return community.Errorf(community.ENotFound, "没有找到 #%d，或它不在您可查看的范围内。", no)
	case community.SightFull:
		if r.Msg.Private {
			r.Reply(ItemDetail(it, r.Now) + contactLines(it, h.requester(ctx, it)))
			return nil
		}
	}
	r.Reply(ItemDetail(it, r.Now))
	return nil
}

func (h *Handlers) bind(ctx context.Context, r *bot.Request, cmd Command) error {
	if !r.Sender.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以绑定群。")
	}
	if r.Group.ID == "" {
		r.Reply("请在要绑定的群里发送“绑定 网格名”。")
		return nil
	}
	if h.Tree == nil {
		return community.Errorf(community.EInvalid, "还没有配置组织架构。")
	}
	n, ok := h.Tree.Find(cmd.Name)
	if !ok {
		var names []string
		for _, n := range h.Tree.Nodes() {
			if n.Kind == community.KindGrid || n.Kind == community.KindCommunity {
				names = append(names, n.Name)
			}
		}
		return community.Errorf(community.ENotFound, "没有找到“%s”。可以绑定：%s", cmd.Name, strings.Join(names, "、"))
	}
	// A secretary binds a group only into their own jurisdiction, and cannot take over a
	// group bound elsewhere.
	me, auth := h.actor(r), h.Auth()
	if err := auth.CheckPlace(me, n.ID); err != nil {
		return err
	}
	if r.Group.Node != "" {
		if err := auth.CheckPlace(me, r.Group.Node); err != nil {
			return err
		}
	}
	g := r.Group
	g.Node = n.ID
	if err := h.Store.PutGroup(ctx, g); err != nil {
		return store.ErrUnavailable(err)
	}
	r.Replyf("🔗 本群已绑定到 %s，通知和事项将按此归属。", n.Name)
	return nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
