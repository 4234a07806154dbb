package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot/zh"
	"github.com/neighborbot/neighborbot/community"
)

// Shape says what may follow a verb's word for the word to count as that verb.
type Shape int

const (
	// ShapeWhole: the word is the whole message (我的, 待审核, 确认删除).
	ShapeWhole Shape = iota
	// ShapeNone: the word, then nothing or text after a separator (待办, 活动列表).
	ShapeNone
	// ShapeItem: the word, then an item number, a rating or a note after a separator; 了/啦 may
	// follow the word (完成了 12). The number may also come first (12号完成了, #12 我来).
	ShapeItem
	// ShapeText: the word, then text after a separator, or a number right away (通知 全体 …, 回执12).
	ShapeText
	// ShapeAny: the word, then anything; the owner's reading of the arguments decides, and its
	// handler returns ErrNotCommand for chat (同意他的看法, 报到处在哪).
	ShapeAny
)

// HelpLine is one line of 帮助, shown to people with at least Role.
type HelpLine struct {
	Role community.Role
	Text string // "接单 12 —— 认领事项"; %[1]s is replaced by the bot's name
}

// Verb is one command a feature package registers on the Mux.
type Verb struct {
	Name    string   // canonical, unique: "claim", "notice.send"
	Owner   string   // the registering package: "items", "notices", "scheduler"
	Words   []string // the words that say it, normalised (zh.Normalize): 接单, 认领, 我来
	Shape   Shape
	Help    []HelpLine
	Handler HandlerFunc
}

// Command is what the Mux read in a message. The Mux sets it on the Request before calling the
// verb's handler (Request.Command); handlers read it and never change it.
type Command struct {
	Verb string // the registered verb's Name; "" when no verb's word was found
	Word string // the registered word that matched
	// Item is the number written with the verb, before (12号完成了) or after it (完成 12); 0 if
	// none. With no verb, it is a number the whole message consists of (#12, 12号).
	Item int64
	// Args is the normalised text after the word and the item number.
	Args string
	// Raw is the message as written (line breaks and all), without the bot's name before it.
	Raw string
	// Text is the whole message, normalised, without the bot's name, fillers (那个, 麻烦) and
	// trailing particles (啊, 呢, 吧, 哦, emoji).
	Text string
	// Addressed: @-mentioned, in a private chat, or starting with the bot's name (邻里帮 …).
	Addressed bool
	// ReplyKey is the key of the card the message replies to ("item:12"), "" if none.
	ReplyKey string
}

// ErrNotCommand is returned by a verb's handler when its own reading of the arguments finds
// chat rather than the command (同意他的看法): the Mux then handles the message as one that no
// verb took.
var ErrNotCommand = errors.New("bot: not a command")

// GuessFunc may take a message that no verb took (a bare poll option, a 收到 to a card); it
// reports whether it did.
type GuessFunc func(ctx context.Context, r *Request) (handled bool, err error)

// PendingStore keeps the clarifying questions waiting for an answer (store.Docs has it).
type PendingStore interface {
	GetDoc(ctx context.Context, coll, id string) ([]byte, error)
	PutDoc(ctx context.Context, coll, id string, value []byte) error
	DeleteDoc(ctx context.Context, coll, id string) error
}

// CollPending holds each person's open clarifying question, and CollMsgRef the card keys.
const CollPending = "pending"

// PendingTTL is how long a clarifying question waits for its answer.
const PendingTTL = 10 * time.Minute

// Choice is one numbered answer of a clarifying question: Label is shown, Command is handled
// as if the person had written it when they answer with its number.
type Choice struct {
	Label   string `json:"label"`
	Command string `json:"command"`
}

// Question is a short numbered question asked instead of guessing.
type Question struct {
	Prompt  string    `json:"prompt"` // 您是指哪一单？
	Choices []Choice  `json:"choices"`
	Chat    string    `json:"chat"` // asked in this chat (group id, or "" for private)
	Expires time.Time `json:"expires"`
}

// Mux routes each message to the one handler registered for it: card taps by action name, text
// by the verb its words name, replies to a pending question by the choice, and the rest to
// the guessers and the one Other handler. Feature packages register at start-up; a word,
// action or verb name registered twice is an error naming both owners.
type Mux struct {
	// BotName is the bot's name (邻里帮): a message starting with it is addressed to the bot.
	BotName string
	// Pending keeps clarifying questions; nil: questions are asked but answers not understood.
	Pending PendingStore
	// Refs maps replied-to messages to card keys (CollMsgRef); nil: replies carry no context.
	Refs interface {
		GetDoc(ctx context.Context, coll, id string) ([]byte, error)
	}

	verbs    []*Verb
	byName   map[string]*Verb
	words    map[string]*Verb
	maxWord  int // bytes of the longest word
	actions  map[string]action
	guesses  []guess
	other    HandlerFunc
	otherOwn string

	helpMu sync.Mutex
	help   map[helpKey][]string // Help's answers, until the next registration
}

type helpKey struct {
	role community.Role
	name string
}

type action struct {
	owner string
	h     HandlerFunc
}

type guess struct {
	owner string
	g     GuessFunc
}

// NewMux returns an empty Mux for a bot named botName.
func NewMux(botName string) *Mux {
	return &Mux{BotName: botName, byName: map[string]*Verb{}, words: map[string]*Verb{}, actions: map[string]action{}}
}

// Handle registers a verb. It fails, naming both owners, when the verb's name or one of its
// words is registered already.
func (m *Mux) Handle(v Verb) error {
	if v.Name == "" || v.Owner == "" || v.Handler == nil {
		return fmt.Errorf("mux: verb %q of %q needs a name, an owner and a handler", v.Name, v.Owner)
	}
	if old, ok := m.byName[v.Name]; ok {
		return fmt.Errorf("mux: verb %q registered by both %s and %s", v.Name, old.Owner, v.Owner)
	}
	seen := map[string]bool{}
	for _, w := range v.Words {
		if w != zh.Normalize(w) || w == "" {
			return fmt.Errorf("mux: word %q of verb %q (%s) is not normalised", w, v.Name, v.Owner)
		}
		if old, ok := m.words[w]; ok {
			return fmt.Errorf("mux: word %q registered by both %s (%s) and %s (%s)", w, old.Owner, old.Name, v.Owner, v.Name)
		}
		if seen[w] {
			return fmt.Errorf("mux: word %q twice in verb %q (%s)", w, v.Name, v.Owner)
		}
		seen[w] = true
	}
	p := &v
	m.helpMu.Lock()
	m.help = nil
	m.helpMu.Unlock()
	m.verbs = append(m.verbs, p)
	m.byName[v.Name] = p
	for _, w := range v.Words {
		m.words[w] = p
		m.maxWord = max(m.maxWord, len(w))
	}
	return nil
}

// HandleAction registers the handler of a card button's action.
func (m *Mux) HandleAction(name, owner string, h HandlerFunc) error {
	if old, ok := m.actions[name]; ok {
		return fmt.Errorf("mux: card action %q registered by both %s and %s", name, old.owner, owner)
	}
	m.actions[name] = action{owner, h}
	return nil
}

// HandleGuess registers owner's guesser for messages no verb took. Guessers run in the order
// of their owners' names, so wiring order changes nothing; an owner has at most one.
func (m *Mux) HandleGuess(owner string, g GuessFunc) error {
	for _, x := range m.guesses {
		if x.owner == owner {
			return fmt.Errorf("mux: guesser registered twice by %s", owner)
		}
	}
	m.guesses = append(m.guesses, guess{owner, g})
	slices.SortFunc(m.guesses, func(a, b guess) int { return cmp.Compare(a.owner, b.owner) })
	return nil
}

// HandleOther registers the handler of messages that neither a verb nor a guesser took (a
// need, a greeting, a bare rating resolved from context, "没听懂"). There is one.
func (m *Mux) HandleOther(owner string, h HandlerFunc) error {
	if m.other != nil {
		return fmt.Errorf("mux: the handler of other messages registered by both %s and %s", m.otherOwn, owner)
	}
	m.other, m.otherOwn = h, owner
	return nil
}

// Verb returns the registered verb name, if any.
func (m *Mux) Verb(name string) (Verb, bool) {
	v, ok := m.byName[name]
	if !ok {
		return Verb{}, false
	}
	return *v, true
}

// ParseContext is what Parse needs besides the text.
type ParseContext struct {
	Mentioned bool   // @-mentioned
	Private   bool   // a one-to-one chat
	ReplyKey  string // key of the card replied to
}

// Parse reads a message: which verb, with which item number and arguments. It is pure.
func (m *Mux) Parse(text string, pc ParseContext) Command {
	s := Tidy(text)
	c := Command{Addressed: pc.Mentioned || pc.Private, ReplyKey: pc.ReplyKey}
	if m.BotName != "" {
		for _, p := range []string{"@" + m.BotName, m.BotName} {
			if t, ok := strings.CutPrefix(s, p); ok {
				s = zh.TrimArgs(strings.TrimLeft(t, ",:~ "))
				c.Addressed = true
				break
			}
		}
	}
	c.Raw = strings.TrimSpace(text)
	if c.Addressed && m.BotName != "" {
		for _, p := range []string{"@" + m.BotName, m.BotName} {
			if t, ok := strings.CutPrefix(c.Raw, p); ok {
				c.Raw = strings.TrimLeftFunc(t, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(",，:：~～", r) })
				break
			}
		}
	}
	s = strings.TrimLeft(s, "/")
	s = strings.TrimLeft(s, " ")
	c.Text = s
	if r, ok := m.read(c, s); ok {
		return r
	}
	if no, n, explicit := zh.LeadingItem(s); n > 0 && explicit && strings.TrimLeft(s[n:], " ,:") == "" {
		c.Item = no // #12, 12号: the number alone
	}
	return c
}

// read reads a verb in s after up to three fillers: 我接第十二单, 麻烦 完成 12, 好的收到,
// 我这单搞定了, 好的 2号我来.
func (m *Mux) read(c Command, s string) (Command, bool) {
	for t, i := s, 0; i < 4; i++ {
		if r, ok := m.parseAt(c, t); ok {
			r.Text = t
			return r, true
		}
		u := trimFiller(t)
		if u == t {
			break
		}
		t = u
	}
	return c, false
}

// parseAt reads a verb at the start of s (接单 12), or a number and then a verb (12号完成了,
// #12 我来, 十二号我来, 7号单子 不满意, 12号怎么样了).
func (m *Mux) parseAt(c Command, s string) (Command, bool) {
	if v, w, rest, ok := m.verbAt(s); ok {
		return m.withArgs(c, v, w, rest), true
	}
	no, n, _ := zh.LeadingItem(s)
	if n == 0 {
		return c, false
	}
	rest := strings.TrimLeft(s[n:], " ,:")
	if rest == "" {
		return c, false
	}
	tries := []string{rest}
	for t, i := rest, 0; i < 3; i++ {
		u := trimFiller(t)
		if u == t {
			break
		}
		t = u
		tries = append(tries, t)
	}
	for _, f := range afterNumber {
		if t, ok := strings.CutPrefix(rest, f); ok {
			tries = append(tries, strings.TrimLeft(t, " ,:"))
		}
	}
	for _, t := range tries {
		if v, w, after, ok := m.verbAt(t); ok && (v.Shape == ShapeItem || v.Shape == ShapeAny) {
			after = cutLe(after)
			if _, k, _ := zh.LeadingItem(strings.TrimLeft(after, " ")); k > 0 {
				return c, false // "12 接单 13": not a number-first form
			}
			c.Verb, c.Word, c.Item, c.Args = v.Name, w, no, zh.TrimArgs(after)
			return c, true
		}
	}
	return c, false
}

// withArgs fills in the verb and reads an item number right after the word.
func (m *Mux) withArgs(c Command, v *Verb, w, rest string) Command {
	c.Verb, c.Word = v.Name, w
	if v.Shape == ShapeItem {
		rest = strings.TrimLeft(cutLe(rest), " ,:")
		for _, f := range afterVerb {
			if t, ok := strings.CutPrefix(rest, f); ok {
				rest = strings.TrimLeft(t, " ,:")
				break
			}
		}
		if no, n, _ := zh.LeadingItem(rest); n > 0 {
			c.Item, rest = no, rest[n:]
		}
	}
	rest = strings.TrimLeft(rest, "!?~ ")
	if rest == "了" || rest == "啦" { // 完成12号了
		rest = ""
	}
	c.Args = zh.TrimArgs(rest)
	return c
}

// fillers may come before a verb; afterVerb between a verb and its number (接单 第12单 is read
// by zh.LeadingItem; 我接 一下 12 is not common enough); afterNumber between a number and a
// verb (7号单子 不满意).
var (
	fillers = []string{"那个", "嗯嗯", "嗯", "哦", "好的", "好", "ok", "OK", "请", "麻烦", "我要", "我想", "我这边", "我", "这单", "这个",
		"这边", "已经", "刚刚", "刚"}
	afterVerb   = []string{"一下", "下"}
	afterNumber = []string{"子", "单子", "这单", "的单子", "的事情", "的事", "的", "呢"}
)

// cutLe drops the 了 or 啦 right after a verb (完成了, 搞定啦).
func cutLe(s string) string {
	for _, p := range []string{"了", "啦"} {
		if t, ok := strings.CutPrefix(s, p); ok {
			return t
		}
	}
	return s
}

func trimFiller(s string) string {
	for _, f := range fillers {
		if t, ok := strings.CutPrefix(s, f); ok {
			return strings.TrimLeft(t, " ,")
		}
	}
	return s
}

// verbAt finds the longest registered word at the start of s that s's continuation allows.
func (m *Mux) verbAt(s string) (*Verb, string, string, bool) {
	for i := min(len(s), m.maxWord); i > 0; i-- {
		if i < len(s) && !utf8.RuneStart(s[i]) {
			continue
		}
		w := s[:i]
		v, ok := m.words[w]
		if !ok {
			continue
		}
		rest := s[i:]
		if accepts(v.Shape, rest) {
			return v, w, rest, true
		}
	}
	return nil, "", "", false
}

// accepts reports whether rest, right after a word, can be the arguments of a verb of shape k.
func accepts(k Shape, rest string) bool {
	if rest == "" {
		return true
	}
	r, size := utf8.DecodeRuneInString(rest)
	sep := r == ' ' || zh.IsSep(r) || r == '!' || r == '?' || r == '~'
	switch k {
	case ShapeWhole:
		return false
	case ShapeNone:
		return sep
	case ShapeText:
		return sep || r == '#' || r >= '0' && r <= '9'
	case ShapeAny:
		return true
	}
	// ShapeItem
	if sep {
		return true
	}
	if r == '了' || r == '啦' {
		after := rest[size:]
		if after == "" {
			return true
		}
		r2, _ := utf8.DecodeRuneInString(after)
		if r2 == ' ' || zh.IsSep(r2) {
			return true
		}
		_, n, _ := zh.LeadingItem(after)
		return n > 0
	}
	for _, f := range afterVerb {
		if t, ok := strings.CutPrefix(rest, f); ok {
			rest = strings.TrimLeft(t, " ")
			break
		}
	}
	if _, n, _ := zh.LeadingItem(rest); n > 0 {
		return true
	}
	if strings.HasPrefix(rest, "第") {
		return false
	}
	_, _, ok, bad := zh.StarsAt(rest, 0)
	return ok || bad
}

// Tidy is zh.Normalize plus what chat adds around a message: 「」 and quotes become spaces,
// emoji go, and trailing particles (啊 呢 哈 吧 哦 呀 嘛 哟 ～) and question marks are dropped.
// Star characters (★ ☆ ⭐) are kept: they are ratings.
func Tidy(text string) string {
	s := zh.Normalize(text)
	if s == "" {
		return s
	}
	if strings.ContainsFunc(s, isDecor) {
		s = zh.Normalize(strings.Map(func(r rune) rune {
			switch {
			case r == '「' || r == '」' || r == '『' || r == '』' || r == '“' || r == '”' || r == '"' || r == '【' || r == '】':
				return ' '
			case isDecor(r):
				return -1
			}
			return r
		}, s))
	}
	for s != "" { // linear: each turn drops one rune
		r, size := utf8.DecodeLastRuneInString(s)
		if !isParticle(r) {
			break
		}
		s = strings.TrimRight(s[:len(s)-size], " ")
	}
	return s
}

func isDecor(r rune) bool {
	switch r {
	case '★', '☆', '⭐':
		return false
	case '「', '」', '『', '』', '“', '”', '"', '【', '】', '\uFE0F', '\u200D':
		return true
	}
	return r >= 0x1F000 || unicode.Is(unicode.So, r) && r >= 0x2190
}

func isParticle(r rune) bool {
	switch r {
	case '啊', '呢', '哈', '吧', '哦', '呀', '嘛', '哟', '呗', '噢', '~', '?', '!', '.', '。', ',', ';', ':', '、', '…':
		return true
	}
	return false
}

// ServeBot is the HandlerFunc: it routes r to its one handler.
func (m *Mux) ServeBot(ctx context.Context, r *Request) error {
	if a := r.Msg.Action; a != nil {
		x, ok := m.actions[a.Name]
		if !ok {
			return community.Errorf(community.EInvalid, "这个按钮已失效，请发送“帮助”查看命令。")
		}
		return x.h(ctx, r)
	}
	replyKey, err := m.replyKey(ctx, r.Msg)
	if err != nil {
		return err
	}
	r.cmd = m.Parse(r.Msg.Text, ParseContext{Mentioned: r.Msg.Mentioned, Private: r.Msg.Private, ReplyKey: replyKey})
	if handled, err := m.answer(ctx, r); handled || err != nil {
		return err
	}
	if v, ok := m.byName[r.cmd.Verb]; ok {
		err := m.run(ctx, r, v.Handler)
		if !errors.Is(err, ErrNotCommand) {
			return err
		}
		// The word was chat, but what follows it may be a command: 收到，我来处理.
		first := r.cmd
		if next, ok := m.read(Command{Raw: first.Raw, Addressed: first.Addressed, ReplyKey: first.ReplyKey}, first.Args); ok && next.Verb != first.Verb {
			r.cmd = next
			if err := m.run(ctx, r, m.byName[next.Verb].Handler); !errors.Is(err, ErrNotCommand) {
				return err
			}
		}
		r.cmd = first
		r.cmd.Verb, r.cmd.Word, r.cmd.Args = "", "", ""
	}
	for _, g := range m.guesses {
		if handled, err := g.g(ctx, r); handled || err != nil {
			return m.save(ctx, r, err)
		}
	}
	if m.other == nil {
		return nil
	}
	return m.run(ctx, r, m.other)
}

// run calls h and keeps the question it asked, if any.
func (m *Mux) run(ctx context.Context, r *Request, h HandlerFunc) error {
	return m.save(ctx, r, h(ctx, r))
}

func (m *Mux) save(ctx context.Context, r *Request, err error) error {
	if err != nil || r.ask == nil || m.Pending == nil {
		return err
	}
	q := *r.ask
	q.Chat = r.Msg.GroupID
	q.Expires = r.Now.Add(PendingTTL)
	raw, err := json.Marshal(q)
	if err != nil {
		return fmt.Errorf("encode question: %w", err)
	}
	if err := m.Pending.PutDoc(ctx, CollPending, r.Msg.UserID, raw); err != nil {
		return fmt.Errorf("save question for %s: %w", r.Msg.UserID, err)
	}
	return nil
}

// answer takes a bare number that answers the sender's open question: the chosen command is
// handled as if the sender had written it, addressed to the bot.
func (m *Mux) answer(ctx context.Context, r *Request) (bool, error) {
	if m.Pending == nil || r.cmd.Verb != "" {
		return false, nil
	}
	k := choiceNumber(r.cmd.Text)
	if k == 0 {
		return false, nil
	}
	raw, err := m.Pending.GetDoc(ctx, CollPending, r.Msg.UserID)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return false, nil
		}
		return false, fmt.Errorf("read question for %s: %w", r.Msg.UserID, err)
	}
	var q Question
	if err := json.Unmarshal(raw, &q); err != nil || !r.Now.Before(q.Expires) || q.Chat != r.Msg.GroupID || k > len(q.Choices) {
		return false, nil
	}
	if err := m.Pending.DeleteDoc(ctx, CollPending, r.Msg.UserID); err != nil {
		return false, fmt.Errorf("drop question for %s: %w", r.Msg.UserID, err)
	}
	r.cmd = m.Parse(q.Choices[k-1].Command, ParseContext{Mentioned: true, ReplyKey: r.cmd.ReplyKey})
	if v, ok := m.byName[r.cmd.Verb]; ok {
		return true, m.run(ctx, r, v.Handler)
	}
	if m.other != nil {
		return true, m.run(ctx, r, m.other)
	}
	return true, nil
}

// choiceNumber reads an answer to a numbered question: 2, 2), 2号, 第2个, 第二个; 0 if s is not one.
func choiceNumber(s string) int {
	s = strings.TrimPrefix(s, "第")
	v, n := zh.LeadingNumber(s, 1)
	if n == 0 || v < 1 || v > 9 {
		return 0
	}
	switch s[n:] {
	case "", ")", "号", "个", "单", "项":
		return v
	}
	return 0
}

func (m *Mux) replyKey(ctx context.Context, msg Message) (string, error) {
	if msg.ReplyTo == "" || m.Refs == nil {
		return "", nil
	}
	raw, err := m.Refs.GetDoc(ctx, CollMsgRef, MsgRefID(msg.Platform, msg.ReplyTo))
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return "", nil
		}
		return "", fmt.Errorf("read the card replied to: %w", err)
	}
	return string(raw), nil
}

// Help lists the help lines of every registered verb that role may use, residents' first.
func (m *Mux) Help(role community.Role) []string {
	// Every 帮助 asks it, and it changes only with a registration: kept per role.
	k := helpKey{role, m.BotName}
	m.helpMu.Lock()
	lines, ok := m.help[k]
	m.helpMu.Unlock()
	if !ok {
		lines = m.helpLines(role)
		m.helpMu.Lock()
		if m.help == nil {
			m.help = map[helpKey][]string{}
		}
		m.help[k] = lines
		m.helpMu.Unlock()
	}
	return slices.Clone(lines)
}

func (m *Mux) helpLines(role community.Role) []string {
	type line struct {
		role community.Role
		text string
	}
	var lines []line
	for _, v := range m.verbs {
		for _, h := range v.Help {
			if role.AtLeast(h.Role) {
				lines = append(lines, line{h.Role, strings.ReplaceAll(h.Text, "%[1]s", m.BotName)})
			}
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int { return cmp.Compare(a.role, b.role) })
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return out
}

// Suggest returns up to n registered words close to what was written (by edit distance and
// shared characters), among the verbs whose help role allows. Words of verbs without help
// lines are not suggested.
func (m *Mux) Suggest(text string, role community.Role, n int) []string {
	t := Tidy(text)
	if i := strings.IndexFunc(t, func(r rune) bool { return r == ' ' || r >= '0' && r <= '9' || r == '#' }); i > 0 {
		t = t[:i] // 接丹 2: the word is what is mistyped
	}
	s := []rune(t)
	if len(s) > 12 {
		s = s[:12]
	}
	type cand struct {
		word string
		d    int
	}
	var cs []cand
	for _, v := range m.verbs {
		minRole, listed := community.Role(0), false
		for _, h := range v.Help {
			if !listed || h.Role < minRole {
				minRole, listed = h.Role, true
			}
		}
		if !listed || !role.AtLeast(minRole) {
			continue
		}
		for _, w := range v.Words {
			wr := []rune(w)
			if len(wr) < 2 {
				continue
			}
			d := distance(s[:min(len(s), len(wr)+1)], wr)
			if d <= (len(wr)+1)/2 {
				cs = append(cs, cand{w, d})
			}
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	var out []string
	for _, c := range cs {
		if len(out) < n && !slices.Contains(out, c.word) {
			out = append(out, c.word)
		}
	}
	return out
}

// distance is the Levenshtein distance between a and b.
func distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
