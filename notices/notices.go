package notices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Store is what notices need of a backend.
type Store interface {
	store.Docs
	store.Once
	store.Numbers
	Enqueue(ctx context.Context, entries ...store.OutboxEntry) error
	GetOutbox(ctx context.Context, id string) (store.OutboxEntry, error)
	OutboxStats(ctx context.Context, batch string) (store.OutboxStats, error)
	GetGroup(ctx context.Context, id string) (community.Group, error)
	ListGroups(ctx context.Context) ([]community.Group, error)
	ListPersons(ctx context.Context) ([]community.Person, error)
}

// Notices is the feature. Fill in the fields, then Register it on the bot.Mux, Routes into
// the HTTP mux, RefreshCard into the Dispatcher, and run Run (or call Tick every minute).
type Notices struct {
	Store Store
	Tree  *community.Tree
	Now   func() time.Time
	Log   *slog.Logger

	// Limits returns the rate limits that apply to an outbound message (its platform's
	// bot.Limited). The enqueuer spreads a broadcast's NotBefore by them, so the dispatcher
	// finds each message due when its platform can take it instead of leasing and deferring
	// thousands of messages over and over. nil: everything is due at once.
	Limits func(o bot.Outbound) []bot.Limit
	// CanUpdate reports whether a platform updates cards in place. Receipts and votes then
	// refresh the counters on the group's card, at most once a minute per group; elsewhere a
	// refreshed card would arrive as a new message, so nothing is sent. nil: never.
	CanUpdate func(platform string) bool
	// Wake, if set, tells the dispatcher that entries are waiting.
	Wake func()
	// PublicURL is where people reach this bot's HTTP server, for export links:
	// "https://bot.example.org". Empty: links are relative paths.
	PublicURL string
	// ExportLinkTTL is how long an export link works after 导出 made it; default 7 days. The
	// CSV names people: a link forwarded or found in a chat history later opens nothing.
	ExportLinkTTL time.Duration

	AckWindow   time.Duration // a bare 收到 (or an option) counts for what was sent this recently; default 3 days
	DraftTTL    time.Duration // how long a draft waits for 确认发送; default 24 h
	RemindAfter time.Duration // the automatic receipt reminder, this long after sending; default 24 h; < 0 disables
	PollDefault time.Duration // a poll without 截止 closes this many days later at 18:00; default 3 days
	Chunk       int           // outbox entries per enqueue (one store write); default 200
	// Headroom is the share of each rate limit a broadcast leaves free, for retries of its
	// failed sends and for the bot's replies meanwhile; default 0.1, negative for none.
	// Without it a platform whose broadcast falls behind (every failed send costs a token)
	// piles up due messages at the head of the outbox, and the dispatcher, which leases the
	// oldest first, serves nothing else until the pile is gone.
	Headroom     float64
	PublishLease time.Duration // how long one replica may take to publish before another does; default 10 min

	initOnce sync.Once
	kick     chan struct{}
	mu       sync.Mutex
	plan     map[string]time.Time // pacing: limit key → its theoretical arrival time (GCRA)
	groups   sync.Map             // id → []string: frozen target groups, immutable once written
}

func (n *Notices) init() {
	n.initOnce.Do(func() {
		if n.Log == nil {
			n.Log = slog.New(slog.DiscardHandler)
		}
		if n.Now == nil {
			n.Now = time.Now
		}
		if n.AckWindow <= 0 {
			n.AckWindow = 72 * time.Hour
		}
		if n.DraftTTL <= 0 {
			n.DraftTTL = 24 * time.Hour
		}
		if n.RemindAfter == 0 {
			n.RemindAfter = 24 * time.Hour
		}
		if n.PollDefault <= 0 {
			n.PollDefault = 72 * time.Hour
		}
		if n.Chunk <= 0 {
			n.Chunk = 200
		}
		switch {
		case n.Headroom == 0:
			n.Headroom = 0.1
		case n.Headroom < 0 || n.Headroom >= 1:
			n.Headroom = 0
		}
		if n.PublishLease <= 0 {
			n.PublishLease = 10 * time.Minute
		}
		if n.ExportLinkTTL <= 0 {
			n.ExportLinkTTL = DefaultExportLinkTTL
		}
		n.kick = make(chan struct{}, 1)
		n.plan = map[string]time.Time{}
	})
}

// Owner is the name notices register under on the bot.Mux.
const Owner = "notices"

// noticeVerbs are the words of the notices' verbs. 进度 N alone is the items' (查看 a service
// item) until notices and items share one number space; 通知进度 N is the notice's.
var noticeVerbs = []struct {
	verb  Verb
	shape bot.Shape
	words []string
	help  []bot.HelpLine
}{
	{VerbNotice, bot.ShapeAny, []string{"通知"}, []bot.HelpLine{{Role: community.RoleSecretary,
		Text: "通知 全体 内容 —— 一键通知到各群；通知进度 N、回执 N 查看送达和回执；投票 议题 同意/反对 截止 周日"}}},
	{VerbPoll, bot.ShapeText, []string{"投票", "表决", "发起投票"}, nil},
	{VerbProgress, bot.ShapeText, []string{"通知进度", "发送进度", "送达情况"}, nil},
	{VerbRemind, bot.ShapeText, []string{"催办回执", "催回执", "提醒回执"}, nil},
	{VerbReceipts, bot.ShapeText, []string{"回执情况", "查回执", "回执"}, nil},
	{VerbResults, bot.ShapeText, []string{"投票结果", "表决结果"}, nil},
	{VerbExport, bot.ShapeText, []string{"导出"}, nil},
	{VerbConfirm, bot.ShapeText, []string{"确认发送", "确定发送", "确认发布"}, nil},
	{VerbCancel, bot.ShapeText, []string{"取消发送", "取消发布", "不发了"}, nil},
	{VerbAck, bot.ShapeAny, []string{"收到", "已收到", "收到了", "收到啦"}, []bot.HelpLine{{Role: community.RoleResident,
		Text: "收到 —— 回复通知表示已读"}}},
}

// Register puts the notices' verbs, card actions and the bare-vote guesser on m.
func (n *Notices) Register(m *bot.Mux) error {
	n.init()
	for _, v := range noticeVerbs {
		err := m.Handle(bot.Verb{Name: "notices." + string(v.verb), Owner: Owner, Words: v.words, Shape: v.shape, Help: v.help, Handler: n.onVerb})
		if err != nil {
			return err
		}
	}
	for _, a := range []string{ActConfirm, ActCancel, ActAck, ActVote} {
		if err := m.HandleAction(a, Owner, n.onAction); err != nil {
			return err
		}
	}
	return m.HandleGuess(Owner, n.guess)
}

func (n *Notices) onAction(ctx context.Context, r *bot.Request) error {
	_, err := n.action(ctx, r, r.Msg.Action)
	return err
}

// guess takes a bare option as a vote: replying to a poll's card, or in a group with one open poll.
func (n *Notices) guess(ctx context.Context, r *bot.Request) (bool, error) {
	return n.bareVote(ctx, r)
}

// onVerb runs one of the notices' verbs; what Parse finds to be chat goes back to the Mux.
func (n *Notices) onVerb(ctx context.Context, r *bot.Request) error {
	handled, err := n.command(ctx, r)
	if err == nil && !handled {
		return bot.ErrNotCommand
	}
	return err
}

// command handles the notices' verbs as written (the body of a notice keeps its line breaks).
func (n *Notices) command(ctx context.Context, r *bot.Request) (handled bool, err error) {
	mc := r.Command()
	cmd := Parse(mc.Raw, ParseContext{Now: r.Now, IsTarget: n.isTarget})
	// Commands name a notice by its number; everything below works with its id. Everyone's
	// verbs are resolved here, a secretary's only once the sender is known to be one.
	resolve := func() error {
		if cmd.Err != "" || cmd.ID <= 0 {
			return nil
		}
		id, err := n.resolveCommand(ctx, r, cmd.ID)
		cmd.ID = id
		return err
	}
	switch cmd.Verb {
	case VerbVote, VerbProgress:
		if err := resolve(); err != nil {
			return true, err
		}
	case VerbAck:
		if err := resolve(); err != nil {
			if community.ErrorCode(err) == community.ENotFound && r.Group.ID == "" {
				r.Reply("请在收到通知的群里回复“收到”。")
				return true, nil
			}
			return true, err
		}
	}
	secretary := r.Sender.Role.AtLeast(community.RoleSecretary)
	addressed := mc.Addressed
	switch cmd.Verb {
	case VerbNone:
		return false, nil
	case VerbAck:
		return n.ackText(ctx, r, cmd)
	case VerbVote:
		if cmd.Err != "" {
			r.Reply(cmd.Err)
			return true, nil
		}
		nt, err := n.get(ctx, cmd.ID)
		if err != nil {
			return true, err
		}
		opt, ok := MatchOption(nt.Options, cmd.Option)
		if nt.Kind != KindPoll || !ok {
			return true, community.Errorf(community.EInvalid, "%s 没有“%s”这个选项。", nt.Label(), cmd.Option)
		}
		return true, n.vote(ctx, r, nt, opt, true)
	case VerbProgress:
		return n.progress(ctx, r, cmd)
	}
	// The rest are a secretary's. Others are told so when they clearly meant the command;
	// "通知：明天停水" pasted by a resident is chat.
	if !secretary {
		meant := addressed
		switch cmd.Verb {
		case VerbNotice:
			meant = meant || cmd.All || len(cmd.Targets) > 0 && allFunc(cmd.Targets, n.isTarget)
		case VerbPoll:
			meant = meant || cmd.Err == "" && cmd.Options != nil
		case VerbUsage:
		default: // 确认发送, 回执 12, 导出 3: nobody says these in passing
			meant = true
		}
		if !meant {
			return false, nil
		}
		return true, community.Errorf(community.EForbidden, "只有书记可以发通知、发起投票和查看回执。需要通知大家的事，请联系所在网格的书记。")
	}
	if cmd.Err != "" {
		r.Reply(cmd.Err)
		return true, nil
	}
	if err := resolve(); err != nil {
		return true, err
	}
	switch cmd.Verb {
	case VerbUsage:
		r.Reply(UsageNotice)
		return true, nil
	case VerbNotice, VerbPoll:
		return true, n.draft(ctx, r, cmd)
	case VerbConfirm:
		return true, n.confirm(ctx, r, cmd.ID)
	case VerbCancel:
		return true, n.cancel(ctx, r, cmd.ID)
	case VerbReceipts:
		return true, n.receipts(ctx, r, cmd.ID)
	case VerbRemind:
		return true, n.remindCmd(ctx, r, cmd.ID)
	case VerbResults:
		return true, n.results(ctx, r, cmd.ID)
	case VerbExport:
		return true, n.export(ctx, r, cmd.ID)
	}
	return false, nil
}

func (n *Notices) action(ctx context.Context, r *bot.Request, a *bot.Action) (bool, error) {
	switch a.Name {
	case ActConfirm, ActCancel, ActAck, ActVote:
	default:
		return false, nil
	}
	id, err := strconv.ParseInt(a.Ref, 10, 64)
	if err != nil || id <= 0 {
		return true, community.Errorf(community.EInvalid, "这个按钮已失效。")
	}
	switch a.Name {
	case ActConfirm:
		return true, n.confirm(ctx, r, id)
	case ActCancel:
		return true, n.cancel(ctx, r, id)
	case ActAck:
		nt, err := n.get(ctx, id)
		if err != nil {
			return true, err
		}
		return true, n.ack(ctx, r, nt, "tap", false)
	default:
		nt, err := n.get(ctx, id)
		if err != nil {
			return true, err
		}
		opt, ok := MatchOption(nt.Options, a.Value)
		if nt.Kind != KindPoll || !ok {
			return true, community.Errorf(community.EInvalid, "这个选项已失效。")
		}
		return true, n.vote(ctx, r, nt, opt, false)
	}
}

// isTarget is ParseContext.IsTarget: a word that names an org node exactly or as the start
// of its name (not a longer phrase beginning with a node's name, such as 1栋加装电梯).
func (n *Notices) isTarget(q string) bool {
	if n.Tree == nil {
		return false
	}
	node, ok := n.Tree.Find(q)
	return ok && (node.ID == q || strings.HasPrefix(node.Name, q))
}

// get loads a notice; a missing one is a domain error naming its number.
func (n *Notices) get(ctx context.Context, id int64) (*Notice, error) {
	raw, err := n.Store.GetDoc(ctx, collNotices, docID(id))
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return nil, community.Errorf(community.ENotFound, "没有找到这条通知或投票。")
		}
		return nil, store.ErrUnavailable(err)
	}
	nt := new(Notice)
	if err := json.Unmarshal(raw, nt); err != nil {
		return nil, fmt.Errorf("decode notice %d: %w", id, err)
	}
	return nt, nil
}

// Get returns notice id (ENotFound when there is none).
func (n *Notices) Get(ctx context.Context, id int64) (*Notice, error) { return n.get(ctx, id) }

// update changes notice id atomically; fn may run more than once.
func (n *Notices) update(ctx context.Context, id int64, fn func(nt *Notice) error) (*Notice, error) {
	var out *Notice
	_, err := n.Store.UpdateDoc(ctx, collNotices, docID(id), func(old []byte) ([]byte, error) {
		if old == nil {
			return nil, community.Errorf(community.ENotFound, "没有找到这条通知或投票。")
		}
		nt := new(Notice)
		if err := json.Unmarshal(old, nt); err != nil {
			return nil, fmt.Errorf("decode notice %d: %w", id, err)
		}
		if err := fn(nt); err != nil {
			return nil, err
		}
		out = nt
		return json.Marshal(nt)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// targetGroups returns the frozen target groups of notice id, sorted.
func (n *Notices) targetGroups(ctx context.Context, id int64) ([]string, error) {
	if v, ok := n.groups.Load(id); ok {
		return v.([]string), nil
	}
	raw, err := n.Store.GetDoc(ctx, collGroups, docID(id))
	if err != nil {
		return nil, err
	}
	var gs []string
	if err := json.Unmarshal(raw, &gs); err != nil {
		return nil, fmt.Errorf("decode groups of notice %d: %w", id, err)
	}
	n.groups.Store(id, gs)
	return gs, nil
}

func (n *Notices) isTargetGroup(ctx context.Context, id int64, group string) (bool, error) {
	gs, err := n.targetGroups(ctx, id)
	if err != nil {
		return false, err
	}
	_, found := slices.BinarySearch(gs, group)
	return found, nil
}

// scope is the org node whose subtree a person may send to, or all when that is everything
// (a secretary placed on no node, or no org tree), by the authority rule.
func (n *Notices) scope(p community.Person) (node string, all bool) {
	node, all = community.NewAuthority(n.Tree).Scope(community.ActorOf(p))
	return node, all || n.Tree == nil
}

// covers reports whether node lies within p's jurisdiction, by the authority rule (a node
// unknown to the tree lies in none).
func (n *Notices) covers(p community.Person, node string) bool {
	return community.NewAuthority(n.Tree).Covers(community.ActorOf(p), node)
}

func (n *Notices) nodeName(id string) string {
	if n.Tree != nil {
		if node, ok := n.Tree.Node(id); ok {
			return node.Name
		}
	}
	return id
}

// reach is who a draft goes to.
type reach struct {
	all    bool
	nodes  []string // target node ids
	names  string
	groups []string // group ids, sorted
	people int
}

func (n *Notices) resolve(ctx context.Context, r *bot.Request, cmd Command) (*reach, error) {
	rc := &reach{}
	scope, all := n.scope(r.Sender)
	switch {
	case cmd.All:
		if all {
			rc.all, rc.names = true, "全体"
		} else {
			rc.nodes, rc.names = []string{scope}, "全体（"+n.nodeName(scope)+"）"
		}
	case len(cmd.Targets) > 0:
		if n.Tree == nil {
			return nil, community.Errorf(community.EInvalid, "还没有配置组织架构，只能发给全体。")
		}
		var names []string
		for _, q := range cmd.Targets {
			node, ok := n.Tree.Find(q)
			if !ok {
				return nil, community.Errorf(community.ENotFound, "没有找到“%s”。可以发给：全体、%s", q, strings.Join(n.targetChoices(r.Sender), "、"))
			}
			if !all && !n.covers(r.Sender, node.ID) {
				return nil, community.Errorf(community.EForbidden, "您只能向%s范围内的群发送，“%s”不在其中。", n.nodeName(scope), node.Name)
			}
			if !slices.Contains(rc.nodes, node.ID) {
				rc.nodes = append(rc.nodes, node.ID)
				names = append(names, node.Name)
			}
		}
		rc.names = strings.Join(names, "、")
	default: // a poll without a target: this group, or everything the sender may reach
		if r.Group.ID == "" {
			return n.resolve(ctx, r, Command{All: true})
		}
		rc.groups = []string{r.Group.ID}
		rc.names = "本群（" + groupName(r.Group) + "）"
		if r.Group.Node != "" {
			rc.people = n.countPeople(ctx, []string{r.Group.Node}, false)
		}
		return rc, nil
	}
	groups, err := n.Store.ListGroups(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	for _, g := range groups {
		if rc.all || g.Node != "" && n.within(g.Node, rc.nodes) {
			rc.groups = append(rc.groups, g.ID)
		}
	}
	slices.Sort(rc.groups)
	rc.groups = slices.Compact(rc.groups)
	if len(rc.groups) == 0 {
		return nil, community.Errorf(community.EConflict, "%s下还没有绑定的群。请书记在群里发送“绑定 网格名”后再试。", rc.names)
	}
	rc.people = n.countPeople(ctx, rc.nodes, rc.all)
	return rc, nil
}

func (n *Notices) within(node string, roots []string) bool {
	for _, t := range roots {
		if node == t || n.Tree != nil && n.Tree.Within(node, t) {
			return true
		}
	}
	return false
}

// countPeople counts registered persons whose node is under the targets (all: everyone). A
// failure only loses the number, shown as unknown.
func (n *Notices) countPeople(ctx context.Context, nodes []string, all bool) int {
	ps, err := n.Store.ListPersons(ctx)
	if err != nil {
		n.Log.Warn("persons not counted", "err", err)
		return -1
	}
	c := 0
	for _, p := range ps {
		if all || p.Node != "" && n.within(p.Node, nodes) {
			c++
		}
	}
	return c
}

func (n *Notices) targetChoices(p community.Person) []string {
	_, all := n.scope(p)
	var out []string
	for _, node := range n.Tree.Nodes() {
		if (node.Kind == community.KindCommunity || node.Kind == community.KindGrid) && (all || n.covers(p, node.ID)) {
			out = append(out, node.Name)
		}
	}
	if len(out) > 12 {
		out = append(out[:12], "…")
	}
	return out
}

// nextID gives out the next notice number.
func (n *Notices) nextID(ctx context.Context) (int64, error) {
	var id int64
	_, err := n.Store.UpdateDoc(ctx, collMeta, "seq", func(old []byte) ([]byte, error) {
		last, _ := strconv.ParseInt(string(old), 10, 64)
		id = last + 1
		return []byte(strconv.FormatInt(id, 10)), nil
	})
	if err != nil {
		return 0, store.ErrUnavailable(err)
	}
	return id, nil
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// draft records a notice or poll and asks the sender to confirm its reach.
func (n *Notices) draft(ctx context.Context, r *bot.Request, cmd Command) error {
	rc, err := n.resolve(ctx, r, cmd)
	if err != nil {
		return err
	}
	id, err := n.nextID(ctx)
	if err != nil {
		return err
	}
	plat, _ := community.SplitID(r.Sender.ID)
	if plat == "" {
		plat = r.Msg.Platform
	}
	nt := &Notice{
		ID: id, Kind: KindNotice, Status: StatusDraft,
		Author: r.Sender.ID, AuthorName: r.Sender.Name, AuthorPlatform: plat,
		All: rc.all, Targets: rc.nodes, TargetNames: rc.names,
		Text: cmd.Text, Links: cmd.Links,
		Groups: len(rc.groups), People: rc.people, CreatedAt: r.Now, Token: newToken(),
	}
	if cmd.Verb == VerbPoll {
		nt.Kind, nt.Title, nt.Options, nt.Deadline = KindPoll, cmd.Title, cmd.Options, cmd.Deadline
		if nt.Options == nil {
			nt.Options = slices.Clone(DefaultOptions)
		}
		if nt.Deadline.IsZero() {
			d := r.Now.Add(n.PollDefault)
			nt.Deadline = time.Date(d.Year(), d.Month(), d.Day(), 18, 0, 0, 0, d.Location())
		}
	}
	gs, err := json.Marshal(rc.groups)
	if err != nil {
		return err
	}
	if err := n.Store.PutDoc(ctx, collGroups, docID(id), gs); err != nil {
		return store.ErrUnavailable(err)
	}
	raw, err := json.Marshal(nt)
	if err != nil {
		return err
	}
	if err := n.Store.PutDoc(ctx, collNotices, docID(id), raw); err != nil {
		return store.ErrUnavailable(err)
	}
	if err := n.Store.PutDoc(ctx, collDraft, r.Sender.ID, []byte(docID(id))); err != nil {
		return store.ErrUnavailable(err)
	}
	c := confirmCard(nt, r.Now, n.DraftTTL)
	if wecom := countPlatform(rc.groups, "wecom"); wecom > 0 && len(nt.Text) > wecomRobotMax {
		c.Fields = append(c.Fields, bot.Field{Label: "注意", Value: fmt.Sprintf(
			"企业微信群（%d 个）的机器人消息最长 4096 字节（约1300字），超出部分会被截断；长通知建议附全文链接。", wecom)})
	}
	// A draft is the secretary's to confirm: it goes privately, never into the group.
	r.SendPrivately(bot.Outbound{Card: &c})
	return nil
}

// wecomRobotMax is about what of a notice's text fits in a WeCom robot's 4096-byte markdown
// message next to the card's title, fields and footer.
const wecomRobotMax = 3500

func countPlatform(groups []string, platform string) int {
	n := 0
	for _, g := range groups {
		if p, _ := community.SplitID(g); p == platform {
			n++
		}
	}
	return n
}

// confirm sends a draft: the sender's latest one when id is 0.
func (n *Notices) confirm(ctx context.Context, r *bot.Request, id int64) error {
	if !r.Sender.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以发送通知。")
	}
	id, err := n.draftOf(ctx, r, id)
	if err != nil || id == 0 {
		return err
	}
	check := func(nt *Notice) (already bool, err error) {
		if nt.Author != r.Sender.ID {
			return false, community.Errorf(community.EForbidden, "%s 是 %s 起草的，请由本人确认发送。", nt.Label(), nt.AuthorName)
		}
		switch nt.Status {
		case StatusSending, StatusSent:
			return true, nil
		case StatusCancelled:
			return false, community.Errorf(community.EConflict, "%s 已取消，如需发送请重新起草。", nt.Label())
		}
		if r.Now.Sub(nt.CreatedAt) > n.DraftTTL {
			return false, community.Errorf(community.EConflict, "%s 的草稿已过期，请重新发送命令起草。", nt.Label())
		}
		if nt.Kind == KindPoll && !nt.Deadline.After(r.Now) {
			return false, community.Errorf(community.EConflict, "%s 的截止时间已过，请重新发起。", nt.Label())
		}
		return false, nil
	}
	// The number is taken only for a draft that may be sent, and recorded under the draft's
	// id: a second confirmation (a retry, another replica) gets the same number, and the
	// update below, which flips the status, finds the draft already sending.
	nt, err := n.get(ctx, id)
	if err != nil {
		return err
	}
	already, err := check(nt)
	if err != nil {
		return err
	}
	var no int64
	if !already {
		if no, err = n.takeNumber(ctx, nt); err != nil {
			return err
		}
	}
	nt, err = n.update(ctx, id, func(nt *Notice) error {
		var err error
		if already, err = check(nt); err != nil || already {
			return err
		}
		nt.Status, nt.ConfirmedAt, nt.No = StatusSending, r.Now, no
		return nil
	})
	if err != nil {
		return err
	}
	if already {
		r.Replyf("%s 已在发送，发送“进度 %d”查看送达情况。", nt.Label(), nt.Number())
		return nil
	}
	if err := n.Store.PutDoc(ctx, collOpen, paddedID(id), []byte("1")); err != nil {
		return store.ErrUnavailable(err)
	}
	n.clearDraft(ctx, r.Sender.ID, id)
	n.Kick()
	msg := fmt.Sprintf("✅ %s 开始发送到 %d 个群。发送“进度 %d”查看送达，“回执 %d”查看回执。", nt.Label(), nt.Groups, nt.Number(), nt.Number())
	if nt.Kind == KindPoll {
		msg = fmt.Sprintf("✅ %s 开始发送到 %d 个群，%s截止后自动公布结果。发送“投票结果 %d”随时查看。", nt.Label(), nt.Groups, community.FormatDate(nt.Deadline, r.Now), nt.Number())
	}
	r.Reply(msg)
	n.updateDraftCard(r, nt)
	return nil
}

func (n *Notices) cancel(ctx context.Context, r *bot.Request, id int64) error {
	if !r.Sender.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以取消通知。")
	}
	id, err := n.draftOf(ctx, r, id)
	if err != nil || id == 0 {
		return err
	}
	nt, err := n.update(ctx, id, func(nt *Notice) error {
		if nt.Author != r.Sender.ID {
			return community.Errorf(community.EForbidden, "%s 是 %s 起草的，请由本人取消。", nt.Label(), nt.AuthorName)
		}
		switch nt.Status {
		case StatusSending, StatusSent:
			return community.Errorf(community.EConflict, "%s 已开始发送，无法撤回。发送“进度 %d”查看送达情况。", nt.Label(), nt.Number())
		}
		nt.Status = StatusCancelled
		return nil
	})
	if err != nil {
		return err
	}
	n.clearDraft(ctx, r.Sender.ID, id)
	r.Replyf("已取消 %s，没有发送。", nt.Label())
	n.updateDraftCard(r, nt)
	return nil
}

// draftOf returns id, or the sender's latest draft when id is 0 (0 with a reply when none).
func (n *Notices) draftOf(ctx context.Context, r *bot.Request, id int64) (int64, error) {
	if id > 0 {
		return id, nil
	}
	raw, err := n.Store.GetDoc(ctx, collDraft, r.Sender.ID)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			r.Reply("您没有待确认的通知。发通知请发送：通知 全体 内容")
			return 0, nil
		}
		return 0, store.ErrUnavailable(err)
	}
	id, _ = strconv.ParseInt(string(raw), 10, 64)
	if id <= 0 {
		r.Reply("您没有待确认的通知。")
	}
	return id, nil
}

func (n *Notices) clearDraft(ctx context.Context, author string, id int64) {
	_, err := n.Store.UpdateDoc(ctx, collDraft, author, func(old []byte) ([]byte, error) {
		if string(old) == docID(id) {
			return nil, nil
		}
		return old, nil
	})
	if err != nil {
		n.Log.Warn("draft pointer not cleared", "author", author, "err", err)
	}
}

// updateDraftCard replaces the confirmation card's buttons with the outcome, where the
// platform can update a card in place.
func (n *Notices) updateDraftCard(r *bot.Request, nt *Notice) {
	if n.CanUpdate == nil || !n.CanUpdate(r.Msg.Platform) {
		return
	}
	c := confirmCard(nt, r.Now, n.DraftTTL)
	// The draft card lives in the author's private chat (draft sends it there).
	r.Send(bot.Outbound{Platform: r.Msg.Platform, UserID: r.Msg.UserID, Card: &c, Update: true})
}

// Kick makes Run enqueue confirmed notices now rather than at its next tick.
func (n *Notices) Kick() {
	n.init()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run enqueues confirmed notices as soon as they are confirmed and calls Tick every period
// with now(), until ctx ends.
func (n *Notices) Run(ctx context.Context, every time.Duration, now func() time.Time) error {
	n.init()
	t := time.NewTicker(every)
	defer t.Stop()
	// A restart resumes what a crash interrupted now, not at the first tick.
	if err := n.Tick(ctx, now()); err != nil && ctx.Err() == nil {
		n.Log.Warn("notices", "err", err)
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-n.kick:
			err = n.Pump(ctx)
		case <-t.C:
			err = n.Tick(ctx, now())
		}
		if err != nil && ctx.Err() == nil {
			n.Log.Warn("notices", "err", err)
		}
	}
}

func groupName(g community.Group) string {
	if g.Name != "" {
		return g.Name
	}
	return g.ID
}
