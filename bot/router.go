package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Request is one inbound message being handled, with who sent it and where, and the replies
// the handler produces. Replies are collected and enqueued in the outbox after the handler
// returns, each with an id derived from the event, so handling the same event twice enqueues
// nothing new.
type Request struct {
	Msg    Message
	Sender community.Person // looked up by Identify; a resident when unknown
	Group  community.Group  // the group the message came from; zero for a private chat
	Now    time.Time

	outs []Outbound
	cmd  Command   // set by the Mux before it calls the handler
	ask  *Question // a clarifying question the handler asked
}

// Command is what the Mux read in the message (zero for a card tap, or outside a Mux).
func (r *Request) Command() Command { return r.cmd }

// Ask replies with a short numbered question instead of guessing: "您是指哪一单？回复 1) #7 楼道灯
// 2) #9 水管". The Mux keeps it for the sender for a few minutes (PendingTTL), and a bare "1"
// or "2" then runs that choice's command.
func (r *Request) Ask(prompt string, choices []Choice) {
	var b strings.Builder
	b.WriteString(prompt)
	b.WriteString("回复")
	for i, c := range choices {
		fmt.Fprintf(&b, " %d) %s", i+1, c.Label)
	}
	r.Reply(b.String())
	r.ask = &Question{Prompt: prompt, Choices: choices}
}

// Reply answers in the chat the message came from, @-mentioning the sender in a group.
func (r *Request) Reply(text string) {
	o := replyTo(r.Msg)
	o.Text = text
	if !r.Msg.Private {
		o.Mentions = []Mention{{UserID: r.Msg.UserID, Name: r.Sender.Name}}
	}
	r.outs = append(r.outs, o)
}

// replyTo is where Request.Reply answers m: m's chat, or the sender's private chat.
func replyTo(m Message) Outbound {
	o := Outbound{Platform: m.Platform, ReplyTo: m.MessageID, ResponseURL: m.ResponseURL}
	if m.Private {
		o.UserID = m.UserID
	} else {
		o.ChatID = m.ChatID
	}
	return o
}

// PrivatelyNote is what a group hears when the answer to a message went to the sender's
// private chat.
const PrivatelyNote = "📬 已私信您，请查看与我的私聊。"

// ReplyPrivately answers the sender in their private chat with the bot: for answers that
// name people who have not acted, or a jurisdiction's figures. Asked in a group, the group
// hears only PrivatelyNote.
func (r *Request) ReplyPrivately(text string) {
	r.SendPrivately(Outbound{Text: text})
}

// SendPrivately sends o (a text or a card) to the sender's private chat, telling the group
// where it went when the message came from one.
func (r *Request) SendPrivately(o Outbound) {
	if r.Msg.Private {
		o.ResponseURL = r.Msg.ResponseURL
		o.ReplyTo = r.Msg.MessageID
	}
	o.Platform, o.UserID, o.ChatID = r.Msg.Platform, r.Msg.UserID, ""
	r.outs = append(r.outs, o)
	if !r.Msg.Private {
		r.Reply(PrivatelyNote)
	}
}

// Toast answers the tapper of a card button, privately and briefly ("已收到，谢谢"): Feishu
// shows it as the tap's toast, other platforms as a private message. Without a tap it is a
// Reply.
func (r *Request) Toast(text string) {
	if r.Msg.Action == nil {
		r.Reply(text)
		return
	}
	r.outs = append(r.outs, Outbound{Platform: r.Msg.Platform, UserID: r.Msg.UserID, Text: text, Toast: true})
}

// Replyf is Reply with formatting.
func (r *Request) Replyf(format string, args ...any) { r.Reply(fmt.Sprintf(format, args...)) }

// Send queues any outbound message.
func (r *Request) Send(o Outbound) { r.outs = append(r.outs, o) }

// Outs is what the handler has queued so far.
func (r *Request) Outs() []Outbound { return r.outs }

// HandlerFunc handles one request.
type HandlerFunc func(ctx context.Context, r *Request) error

// Middleware wraps a handler.
type Middleware func(HandlerFunc) HandlerFunc

// Chain applies middleware so that the first listed runs outermost.
func Chain(h HandlerFunc, mw ...Middleware) HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Engine runs inbound messages through the handler chain and puts the replies in the outbox.
type Engine struct {
	Handler HandlerFunc
	Outbox  store.Outbox
	Now     func() time.Time
	Log     *slog.Logger
	// Wake, if set, is signalled (without blocking) after replies are enqueued, so the
	// dispatcher sends them at once instead of at its next poll.
	Wake func()
	// Replied, if set, is told the entries of an event's replies once they are handed on
	// (to the outbox, or to the direct sender), also when there are none. The playground
	// (bot/local) waits for exactly these.
	Replied func(m Message, entries []store.OutboxEntry)

	taps taps // adapters waiting to answer a card tap (Pipeline.ReceiveTap)
}

// Handle handles one message: runs the chain, turns a handler error into a friendly reply,
// and enqueues the replies. It returns an error when the store could not be reached, either by
// the handler or to enqueue: the caller should try the message again later (its replies, which
// then say "服务暂时不可用", are returned for callers that can show them directly).
func (e *Engine) Handle(ctx context.Context, m Message) ([]Outbound, error) {
	return e.handle(ctx, m, func(ctx context.Context, m Message, entries []store.OutboxEntry, _ []Outbound) error {
		return e.enqueue(ctx, m, entries)
	})
}

// handle is Handle with the replies' entries, and the messages they encode, given to enqueue
// (Pipeline.Direct holds them for a send without the outbox).
func (e *Engine) handle(ctx context.Context, m Message, enqueue func(context.Context, Message, []store.OutboxEntry, []Outbound) error) ([]Outbound, error) {
	now := e.Now()
	r := &Request{Msg: m, Now: now, Sender: community.Person{ID: m.UserID, Name: m.UserName}}
	if err := e.Handler(ctx, r); err != nil {
		var ue *store.UnavailableError
		if errors.As(err, &ue) {
			r.outs = nil
			r.Reply(UserMessage(err))
			if m.Action != nil {
				e.taps.answer(m.Key(), "") // it is tried again later; the adapter says so
			}
			return r.outs, err
		}
		r.Reply(UserMessage(err))
		if community.ErrorCode(err) == community.EInternal {
			e.Log.ErrorContext(ctx, "handler failed", "event", m.Key(), "err", err)
		}
	}
	outs := r.outs
	// The answer to a tap whose adapter is waiting (Feishu's callback) goes back through the
	// callback as a toast, not through the outbox; without a waiter it is a private message.
	waiting := m.Action != nil && e.taps.waiting(m.Key())
	var toasts []string
	var toastEntries []store.OutboxEntry
	var toastOuts []Outbound
	entries := make([]store.OutboxEntry, 0, len(outs))
	entryOuts := make([]Outbound, 0, len(outs))
	for i := range outs {
		if outs[i].ID == "" {
			outs[i].ID = m.Key() + "/" + strconv.Itoa(i)
		}
		if outs[i].Platform == "" {
			outs[i].Platform = m.Platform
		}
		ent, err := Entry(outs[i], now)
		if err != nil {
			return nil, err
		}
		if waiting && outs[i].Toast {
			toasts = append(toasts, outs[i].Text)
			toastEntries = append(toastEntries, ent)
			toastOuts = append(toastOuts, outs[i])
			continue
		}
		entries = append(entries, ent)
		entryOuts = append(entryOuts, outs[i])
	}
	if err := enqueue(ctx, m, entries, entryOuts); err != nil {
		r.outs = nil
		r.Reply(UserMessage(err))
		if waiting {
			e.taps.answer(m.Key(), "")
		}
		return r.outs, err
	}
	if waiting && !e.taps.answer(m.Key(), strings.Join(toasts, "\n")) {
		// The adapter stopped waiting (it answered the platform already): send it privately.
		if err := enqueue(ctx, m, toastEntries, toastOuts); err != nil {
			return outs, err
		}
		entries = append(entries, toastEntries...)
	}
	if e.Replied != nil {
		e.Replied(m, entries)
	}
	return outs, nil
}

func (e *Engine) enqueue(ctx context.Context, m Message, entries []store.OutboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := e.Outbox.Enqueue(ctx, entries...); err != nil {
		return store.ErrUnavailable(fmt.Errorf("enqueue replies to %s: %w", m.Key(), err))
	}
	if e.Wake != nil {
		e.Wake()
	}
	return nil
}

// taps hands the answer to a card tap from the Engine to the adapter holding the tap's
// callback open, within one process: the Pipeline hands a tap recorded here to this
// replica's workers.
type taps struct {
	mu      sync.Mutex
	waiters map[string]chan string // event key →
}

func (t *taps) wait(key string) chan string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waiters == nil {
		t.waiters = map[string]chan string{}
	}
	ch := make(chan string, 1)
	t.waiters[key] = ch
	return ch
}

// stop gives up waiting; the answer, if it came meanwhile, is in ch.
func (t *taps) stop(key string, ch chan string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waiters[key] == ch {
		delete(t.waiters, key)
	}
}

func (t *taps) waiting(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.waiters[key]
	return ok
}

// answer hands text ("" when the handler had nothing to say to the tapper) to the waiter of
// key and reports whether one was still there.
func (t *taps) answer(key, text string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch, ok := t.waiters[key]
	if !ok {
		return false
	}
	delete(t.waiters, key)
	ch <- text
	return true
}

// Entry turns an outbound message into an outbox entry.
func Entry(o Outbound, now time.Time) (store.OutboxEntry, error) {
	payload, err := json.Marshal(o)
	if err != nil {
		return store.OutboxEntry{}, fmt.Errorf("encode outbound %s: %w", o.ID, err)
	}
	notBefore := now
	if o.NotBefore.After(now) {
		notBefore = o.NotBefore
	}
	return store.OutboxEntry{
		ID: o.ID, Platform: o.Platform, Chat: o.Target(), Batch: o.Batch, Payload: payload,
		Status: store.OutboxPending, CreatedAt: now, NotBefore: notBefore,
	}, nil
}

// UserMessage is what a person is told when handling failed.
func UserMessage(err error) string {
	var ue *store.UnavailableError
	if errors.As(err, &ue) {
		return "服务暂时不可用，请稍后再试。"
	}
	return community.ErrorMessage(err)
}

// Recover turns a panic in a handler into an internal error, logged with its stack.
func Recover(log *slog.Logger) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) (err error) {
			defer func() {
				if p := recover(); p != nil {
					log.ErrorContext(ctx, "handler panic", "event", r.Msg.Key(), "panic", p, "stack", string(debug.Stack()))
					err = fmt.Errorf("panic: %v", p)
				}
			}()
			return next(ctx, r)
		}
	}
}

// Logging logs each handled message (who, where, how long, outcome) without its text, which
// may hold personal data: at Info when the bot answered or failed, at Debug when it had
// nothing to do with the message (neighbours chatting), which is most of a group's traffic.
func Logging(log *slog.Logger) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) error {
			start := time.Now()
			err := next(ctx, r)
			level := slog.LevelInfo
			if err == nil && len(r.outs) == 0 {
				level = slog.LevelDebug
			}
			if !log.Enabled(ctx, level) {
				return err
			}
			attrs := []any{"event", r.Msg.Key(), "user", r.Msg.UserID, "chat", r.Msg.ChatID,
				"replies", len(r.outs), "took", time.Since(start).Round(time.Microsecond)}
			if r.Msg.Action != nil {
				attrs = append(attrs, "action", r.Msg.Action.Name, "item", r.Msg.Action.Item)
			} else if c := r.cmd; c.Verb != "" {
				attrs = append(attrs, "verb", c.Verb, "item", c.Item) // what the Mux read, not the text
			}
			if err != nil {
				attrs = append(attrs, "outcome", string(community.ErrorCode(err)))
				if code := community.ErrorCode(err); code == community.EInternal {
					attrs = append(attrs, "err", err)
				}
			}
			log.Log(ctx, level, "handled", attrs...)
			return err
		}
	}
}

// Dedupe drops a message whose event was already handled. Use it where messages do not come
// through the Pipeline (which dedupes when it records them).
func Dedupe(once store.Once, ttl time.Duration) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) error {
			if r.Msg.EventID == "" {
				return next(ctx, r)
			}
			first, err := once.Once(ctx, "event:"+r.Msg.Key(), ttl)
			if err != nil {
				return store.ErrUnavailable(err)
			}
			if !first {
				return nil
			}
			return next(ctx, r)
		}
	}
}

// Directory is what Identify needs to know people and groups.
type Directory interface {
	GetPerson(ctx context.Context, id string) (community.Person, error)
	GetGroup(ctx context.Context, id string) (community.Group, error)
}

// Identify fills in the sender (registered person, or a resident by the platform's name)
// and the group.
func Identify(dir Directory) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, r *Request) error {
			p, err := dir.GetPerson(ctx, r.Msg.UserID)
			switch {
			case err == nil:
				r.Sender = p
			case community.ErrorCode(err) == community.ENotFound:
				name := r.Msg.UserName
				if name == "" {
					name = "居民"
				}
				r.Sender = community.Person{ID: r.Msg.UserID, Name: name, Role: community.RoleResident}
			default:
				return store.ErrUnavailable(err)
			}
			if r.Msg.GroupID != "" {
				g, err := dir.GetGroup(ctx, r.Msg.GroupID)
				switch {
				case err == nil:
					r.Group = g
				case community.ErrorCode(err) == community.ENotFound:
					plat, chat := community.SplitID(r.Msg.GroupID)
					r.Group = community.Group{ID: r.Msg.GroupID, Platform: plat, Chat: chat}
				default:
					return store.ErrUnavailable(err)
				}
			}
			return next(ctx, r)
		}
	}
}
