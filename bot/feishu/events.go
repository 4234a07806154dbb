package feishu

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"

	"github.com/neighborbot/neighborbot/bot"
)

// Request headers of a signed event.
const (
	maxUnsignedBody = 1 << 10
	headerTimestamp = "X-Lark-Request-Timestamp"
	headerNonce     = "X-Lark-Request-Nonce"
	headerSignature = "X-Lark-Signature"
)

// EventHandler is the http handler of POST /feishu/events. It authenticates the request
// (signature, replay window, size, verification token), decrypts it, and hands the event to
// in; it answers 200 once in has recorded the event, 500 if it could not (Feishu retries).
// Refused requests get 401 (authentication), 400 (malformed) or 413 (too large) and a log
// line with the reason.
func (p *Platform) EventHandler(in bot.Receiver) http.Handler {
	d := p.dispatcher(in)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serveEvent(w, r, d, in) })
}

type encrypted struct {
	Encrypt string `json:"encrypt"`
}

// parseEncrypted reads the body Feishu sends, {"encrypt":"<base64>"}, directly when it has
// exactly that form (base64 needs no escapes), else with encoding/json.
func parseEncrypted(body []byte) (encrypted, error) {
	const pre, post = `{"encrypt":"`, `"}`
	b := bytes.TrimSpace(body)
	if bytes.HasPrefix(b, []byte(pre)) && bytes.HasSuffix(b, []byte(post)) && len(b) >= len(pre)+len(post) {
		v := b[len(pre) : len(b)-len(post)]
		if isBase64(v) {
			return encrypted{Encrypt: string(v)}, nil
		}
	}
	var env encrypted
	err := json.Unmarshal(body, &env)
	return env, err
}

// isBase64 tells whether v holds only characters of the standard base64 alphabet (padding
// included): nothing JSON would unescape, and no \r or \n, which the base64 decoder would skip.
func isBase64(v []byte) bool {
	for _, c := range v {
		if !base64Alphabet[c] {
			return false
		}
	}
	return true
}

var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

// eventHead is what is read of a decrypted body before dispatching it: the challenge of a URL
// verification (token at the top) or the v2 header (token inside), and the event itself, kept
// undecoded (see decodeEvent).
type eventHead struct {
	Type      string                 `json:"type"`
	Token     string                 `json:"token"`
	Challenge string                 `json:"challenge"`
	Schema    string                 `json:"schema"`
	Header    *larkevent.EventHeader `json:"header"`
	Event     json.RawMessage        `json:"event"`
}

// messageBody is eventHead with the event read as a message, the event nearly every request
// carries: one pass of encoding/json over the body instead of one for the head (which scans
// the event twice, to check it and to skip it) and two more over the event.
type messageBody struct {
	Type      string                         `json:"type"`
	Token     string                         `json:"token"`
	Challenge string                         `json:"challenge"`
	Schema    string                         `json:"schema"`
	Header    *larkevent.EventHeader         `json:"header"`
	Event     *larkim.P2MessageReceiveV1Data `json:"event"`
}

// eventMessageReceive is the event type of a message to the bot or in its chats.
const eventMessageReceive = "im.message.receive_v1"

// isMessage tells whether the header says im.message.receive_v1.
func (h *eventHead) isMessage() bool {
	return h.Header != nil && h.Header.EventType == eventMessageReceive
}

// decodeEvent reads a decrypted body in one pass as a message (messageBody). msg is the
// event when the header says it is a message and the body has one, else nil; then the event
// goes to the dispatcher, which reads it from the plaintext again, whatever its type. A body
// that does not fit messageBody (a type error, in the event of another type or anywhere) is
// read again as eventHead, the event kept raw: what was read before this one pass existed,
// and err is then what that read says. (A body naming "event" twice now has the two merged,
// as the SDK's dispatcher merges them, where the raw read kept the last.)
func decodeEvent(plain []byte) (head eventHead, msg *larkim.P2MessageReceiveV1Data, err error) {
	var b messageBody
	if json.Unmarshal(plain, &b) == nil {
		head = eventHead{Type: b.Type, Token: b.Token, Challenge: b.Challenge, Schema: b.Schema, Header: b.Header}
		if head.isMessage() {
			msg = b.Event
		}
		return head, msg, nil
	}
	err = json.Unmarshal(plain, &head)
	return head, nil, err
}

func (p *Platform) serveEvent(w http.ResponseWriter, r *http.Request, d *dispatcher.EventDispatcher, in bot.Receiver) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.opt.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", p.opt.MaxBody))
			return
		}
		p.refuse(w, r, http.StatusBadRequest, "unreadable body: "+err.Error())
		return
	}
	sig := r.Header.Get(headerSignature)
	signed := sig != ""
	if !signed && len(body) > maxUnsignedBody {
		// Only the URL verification comes unsigned, and it is small.
		p.refuse(w, r, http.StatusUnauthorized, "event not signed")
		return
	}
	if signed {
		ts := r.Header.Get(headerTimestamp)
		if reason := p.checkTime(ts); reason != "" {
			p.refuse(w, r, http.StatusUnauthorized, reason)
			return
		}
		if !validSignature(ts, r.Header.Get(headerNonce), p.opt.EncryptKey, body, sig) {
			p.refuse(w, r, http.StatusUnauthorized, "signature does not match")
			return
		}
	}
	env, err := parseEncrypted(body)
	if err != nil {
		p.refuse(w, r, http.StatusBadRequest, "body is not JSON")
		return
	}
	if env.Encrypt == "" {
		p.refuse(w, r, http.StatusBadRequest, "event not encrypted (is the Encrypt Key set on the app's event page?)")
		return
	}
	plain, err := decrypt(p.block, env.Encrypt)
	if err != nil {
		p.refuse(w, r, http.StatusBadRequest, "cannot decrypt with FEISHU_ENCRYPT_KEY")
		return
	}
	head, msg, err := decodeEvent(plain)
	if err != nil {
		p.refuse(w, r, http.StatusBadRequest, "decrypted event is not JSON")
		return
	}
	token := head.Token
	if head.Header != nil {
		token = head.Header.Token
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(p.opt.VerificationToken)) != 1 {
		p.refuse(w, r, http.StatusUnauthorized, "wrong verification token")
		return
	}
	if head.Type == "url_verification" {
		// Feishu does not sign the verification request; decrypting it and the token are the proof.
		writeJSON(w, http.StatusOK, map[string]string{"challenge": head.Challenge})
		return
	}
	if !signed {
		p.refuse(w, r, http.StatusUnauthorized, "event not signed")
		return
	}
	if msg == nil && head.isMessage() && len(head.Event) > 0 {
		// Read as eventHead (decodeEvent): the event did not fit a message.
		msg = &larkim.P2MessageReceiveV1Data{}
		if err = json.Unmarshal(head.Event, msg); err != nil {
			p.refuse(w, r, http.StatusBadRequest, "message event is not JSON")
			return
		}
	}
	var resp any
	if msg != nil {
		ev := &larkim.P2MessageReceiveV1{
			EventV2Base: &larkevent.EventV2Base{Schema: head.Schema, Header: head.Header},
			Event:       msg,
		}
		err = p.onMessage(r.Context(), in, ev)
	} else {
		resp, err = d.Do(r.Context(), plain)
	}
	if err != nil {
		var nf *dispatcher.NotFoundEventHandlerErr
		if errors.As(err, &nf) {
			p.log.Debug("feishu event ignored", "type", eventType(head))
			writeJSON(w, http.StatusOK, map[string]string{"msg": "ignored"})
			return
		}
		p.log.Error("feishu event not recorded; Feishu will retry", "type", eventType(head), "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"msg": "not recorded, retry"})
		return
	}
	if resp != nil {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(successBody) // every recorded event gets these same bytes: nothing to encode
}

// successBody is the answer to a recorded event, {"msg":"success"}.
var successBody = []byte(`{"msg":"success"}`)

func eventType(h eventHead) string {
	if h.Header != nil {
		return h.Header.EventType
	}
	return h.Type
}

// checkTime refuses a timestamp (seconds) more than MaxSkew from now: a captured request
// cannot be replayed later.
func (p *Platform) checkTime(ts string) string {
	if ts == "" {
		return "signed event without timestamp"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "malformed timestamp"
	}
	skew := p.now().Sub(time.Unix(sec, 0))
	if skew > p.opt.MaxSkew || skew < -p.opt.MaxSkew {
		return fmt.Sprintf("timestamp %s is %s away from now (window ±%s)", ts, skew.Round(time.Second), p.opt.MaxSkew)
	}
	return ""
}

func (p *Platform) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	p.log.Warn("feishu event refused", "status", status, "reason", reason, "remote", r.RemoteAddr)
	http.Error(w, http.StatusText(status), status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"msg":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// dispatcher routes decrypted events (from HTTP or the long connection) to in.
func (p *Platform) dispatcher(in bot.Receiver) *dispatcher.EventDispatcher {
	// Verification and decryption happen before dispatching (serveEvent) or in the
	// connection (ws), so the dispatcher gets neither token nor key.
	d := dispatcher.NewEventDispatcher("", "")
	d.InitConfig(larkevent.WithLogger(sdkLogger{p.log.With("via", "sdk")}))
	d.OnP2MessageReceiveV1(func(ctx context.Context, ev *larkim.P2MessageReceiveV1) error {
		return p.onMessage(ctx, in, ev)
	})
	d.OnP2CardActionTrigger(func(ctx context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
		m, ok := p.actionFrom(ev)
		if !ok {
			return toast("error", "这个按钮已失效。"), nil
		}
		// The handler's answer to the tapper (bot.Request.Toast) is the toast when it comes
		// within ToastWait; the card itself is updated through the outbox.
		var text string
		var err error
		if tr, ok := in.(bot.TapReceiver); ok {
			wait, cancel := context.WithTimeout(ctx, p.opt.ToastWait)
			text, _, err = tr.ReceiveTap(wait, m)
			cancel()
		} else {
			err = in.Receive(ctx, m)
		}
		if err != nil {
			p.log.Error("card tap not recorded", "event", m.EventID, "err", err)
			return toast("error", "服务暂时不可用，请稍后再试。"), nil
		}
		if text != "" {
			return toast("info", text), nil
		}
		return toast("info", actionToasts[m.Action.Name]), nil
	})
	d.OnP2ChatMemberBotAddedV1(func(ctx context.Context, ev *larkim.P2ChatMemberBotAddedV1) error {
		return p.greet(ctx, ev)
	})
	return d
}

// onMessage records a message event (or ignores what the bot does not read).
func (p *Platform) onMessage(ctx context.Context, in bot.Receiver, ev *larkim.P2MessageReceiveV1) error {
	m, ok := p.messageFrom(ev)
	if !ok {
		return nil
	}
	return in.Receive(ctx, m)
}

var actionToasts = map[string]string{
	"claim": "已提交接单", "release": "已提交放弃", "complete": "已提交完成",
	"rate": "感谢评价", "unsatisfied": "已转书记回访", "cancel": "已提交取消", "dispatch": "已提交派单",
}

func toast(kind, text string) *callback.CardActionTriggerResponse {
	if text == "" {
		text = "已收到，正在处理"
	}
	return &callback.CardActionTriggerResponse{Toast: &callback.Toast{Type: kind, Content: text}}
}

// messageFrom turns im.message.receive_v1 into a Message, or reports false for what the bot
// ignores: messages from bots, and group messages that neither mention the bot nor reply to
// a message (the handlers resolve replies to the bot's cards through msgref).
func (p *Platform) messageFrom(ev *larkim.P2MessageReceiveV1) (bot.Message, bool) {
	if ev == nil || ev.Event == nil || ev.Event.Message == nil || ev.Event.Sender == nil {
		return bot.Message{}, false
	}
	s, msg := ev.Event.Sender, ev.Event.Message
	if str(s.SenderType) != "user" || s.SenderId == nil || str(s.SenderId.OpenId) == "" {
		return bot.Message{}, false
	}
	mentioned := false
	for _, m := range msg.Mentions {
		if m != nil && p.isBot(m) {
			mentioned = true
		}
	}
	text := replaceMentionKeys(messageText(str(msg.MessageType), str(msg.Content)), func(key string) string {
		for _, m := range msg.Mentions {
			if m == nil || str(m.Key) != key {
				continue
			}
			if p.isBot(m) {
				return ""
			}
			return "@" + str(m.Name)
		}
		return key
	})
	private := str(msg.ChatType) == "p2p"
	parent := str(msg.ParentId)
	if !private && !mentioned && parent == "" {
		return bot.Message{}, false
	}
	chat := str(msg.ChatId)
	m := bot.Message{
		// The message id is stable across Feishu's retries whatever their event ids, so it
		// is the dedupe key of a message; event_id is the fallback.
		EventID:   str(msg.MessageId),
		Platform:  Name,
		ChatID:    chat,
		UserID:    Name + ":" + str(s.SenderId.OpenId),
		MessageID: str(msg.MessageId),
		Text:      tidy(text),
		Mentioned: mentioned,
		ReplyTo:   parent,
		At:        p.eventTime(str(msg.CreateTime)),
	}
	if m.EventID == "" && ev.EventV2Base != nil && ev.EventV2Base.Header != nil {
		m.EventID = ev.EventV2Base.Header.EventID
	}
	if m.EventID == "" {
		return bot.Message{}, false
	}
	if private {
		m.Private = true
	} else {
		m.GroupID = Name + ":" + chat
	}
	return m, true
}

// isBot tells whether a mention is of this bot: by open_id once known, before that by type
// or name.
func (p *Platform) isBot(m *larkim.MentionEvent) bool {
	if id := p.botOpenID(); id != "" {
		return m.Id != nil && str(m.Id.OpenId) == id
	}
	return str(m.MentionedType) == "bot" || str(m.Name) == p.opt.BotName
}

// actionFrom turns a card tap into a Message with an Action.
func (p *Platform) actionFrom(ev *callback.CardActionTriggerEvent) (bot.Message, bool) {
	if ev == nil || ev.Event == nil || ev.Event.Action == nil || ev.Event.Operator == nil || ev.Event.Operator.OpenID == "" {
		return bot.Message{}, false
	}
	e := ev.Event
	v := e.Action.Value
	a := &bot.Action{Name: valueString(v["action"]), Item: valueInt(v["item"]), Value: valueString(v["value"]), Ref: valueString(v["ref"])}
	if a.Name == "" {
		return bot.Message{}, false
	}
	var chat string
	if e.Context != nil {
		chat, a.MessageID = e.Context.OpenChatID, e.Context.OpenMessageID
	}
	m := bot.Message{Platform: Name, ChatID: chat, UserID: Name + ":" + e.Operator.OpenID, Action: a, At: p.now()}
	if ev.EventV2Base != nil && ev.EventV2Base.Header != nil {
		m.EventID = ev.EventV2Base.Header.EventID
		m.At = p.eventTime(ev.EventV2Base.Header.CreateTime)
	}
	if m.EventID == "" {
		m.EventID = e.Token // one per tap
	}
	if m.EventID == "" {
		return bot.Message{}, false
	}
	if chat != "" {
		m.GroupID = Name + ":" + chat
	}
	return m, true
}

// greet answers im.chat.member.bot.added_v1. The greeting is not a command, so it skips the
// handlers and goes straight into the outbox, durably and under an id derived from the event:
// a retried event enqueues nothing new.
func (p *Platform) greet(ctx context.Context, ev *larkim.P2ChatMemberBotAddedV1) error {
	if ev == nil || ev.Event == nil || str(ev.Event.ChatId) == "" || ev.EventV2Base == nil || ev.EventV2Base.Header == nil {
		return nil
	}
	if p.opt.Outbox == nil {
		p.log.Warn("bot added to a group, but no outbox to greet through", "chat", str(ev.Event.ChatId))
		return nil
	}
	o := bot.Outbound{
		ID: Name + ":" + ev.EventV2Base.Header.EventID + "/greet", Platform: Name,
		ChatID: str(ev.Event.ChatId), Text: p.opt.Greeting,
	}
	e, err := bot.Entry(o, p.now())
	if err != nil {
		return err
	}
	if err := p.opt.Outbox.Enqueue(ctx, e); err != nil {
		return fmt.Errorf("enqueue greeting: %w", err)
	}
	p.log.Info("bot added to a group", "chat", o.ChatID, "name", str(ev.Event.Name))
	if p.opt.Wake != nil {
		p.opt.Wake()
	}
	return nil
}

// eventTime reads Feishu's millisecond (or microsecond) timestamps; now if absent.
func (p *Platform) eventTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return p.now()
	}
	if n > 1e15 {
		return time.UnixMicro(n)
	}
	return time.UnixMilli(n)
}

// messageText extracts the text of a text or post (rich text) message; other kinds have none.
func messageText(kind, content string) string {
	switch kind {
	case "text":
		var c struct {
			Text string `json:"text"`
		}
		if json.Unmarshal([]byte(content), &c) == nil {
			return c.Text
		}
	case "post":
		var c struct {
			Title   string `json:"title"`
			Content [][]struct {
				Tag    string `json:"tag"`
				Text   string `json:"text"`
				UserID string `json:"user_id"`
			} `json:"content"`
		}
		if json.Unmarshal([]byte(content), &c) != nil {
			return ""
		}
		var lines []string
		if c.Title != "" {
			lines = append(lines, c.Title)
		}
		for _, para := range c.Content {
			var b strings.Builder
			for _, el := range para {
				switch el.Tag {
				case "text", "a":
					b.WriteString(el.Text)
				case "at":
					b.WriteString(" " + el.UserID + " ")
				}
			}
			lines = append(lines, b.String())
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

// replaceMentionKeys replaces each mention placeholder ("@_user_3", "@_all") by repl(key).
// Keys are matched whole, so "@_user_1" never eats the start of "@_user_12".
func replaceMentionKeys(text string, repl func(key string) string) string {
	if !strings.Contains(text, "@_") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "@_")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		text = text[i:]
		n := mentionKeyLen(text)
		if n == 0 {
			b.WriteString("@_")
			text = text[2:]
			continue
		}
		b.WriteString(repl(text[:n]))
		text = text[n:]
	}
}

func mentionKeyLen(s string) int {
	if strings.HasPrefix(s, "@_all") {
		return len("@_all")
	}
	if !strings.HasPrefix(s, "@_user_") {
		return 0
	}
	n := len("@_user_")
	d := n
	for d < len(s) && s[d] >= '0' && s[d] <= '9' {
		d++
	}
	if d == n {
		return 0
	}
	return d
}

// tidy collapses the spaces left where mentions were, line by line.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func valueInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

// runWS holds the long connection, feeding the same dispatcher, until ctx ends.
func (p *Platform) runWS(ctx context.Context, in bot.Receiver) error {
	err := p.wsClient(in).Start(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (p *Platform) wsClient(in bot.Receiver) *larkws.Client {
	return larkws.NewClient(p.opt.AppID, p.opt.AppSecret,
		larkws.WithEventHandler(p.dispatcher(in)),
		larkws.WithDomain(p.opt.BaseURL),
		larkws.WithHttpClient(p.opt.HTTPClient),
		larkws.WithLogger(sdkLogger{p.log.With("via", "ws")}),
		larkws.WithLogLevel(larkcore.LogLevelInfo),
	)
}

// learnBotID asks Feishu for the bot's own open_id (GET /open-apis/bot/v3/info), so mentions
// of the bot are told from mentions of anyone else. It tries a few times, then gives up: the
// name and type of a mention still work.
func (p *Platform) learnBotID(ctx context.Context) {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		id, err := p.fetchBotID(ctx)
		if err == nil && id != "" {
			p.botID.Store(&id)
			p.log.Info("bot identity learned", "open_id", id)
			return
		}
		if attempt == 5 || ctx.Err() != nil {
			p.log.Warn("bot open_id unknown; recognising mentions of the bot by type and name", "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (p *Platform) fetchBotID(ctx context.Context) (string, error) {
	var id string
	err := p.call(ctx, "bot info", func(opt larkcore.RequestOptionFunc) (apiResult, error) {
		resp, err := larkcore.Request(ctx, &larkcore.ApiReq{
			HttpMethod:                http.MethodGet,
			ApiPath:                   "/open-apis/bot/v3/info",
			SupportedAccessTokenTypes: []larkcore.AccessTokenType{larkcore.AccessTokenTypeTenant},
		}, p.conf, opt)
		if err != nil {
			return apiResult{}, err
		}
		var info struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
			Bot  struct {
				OpenID string `json:"open_id"`
			} `json:"bot"`
		}
		if err := json.Unmarshal(resp.RawBody, &info); err != nil {
			return apiResult{}, err
		}
		id = info.Bot.OpenID
		return apiResult{code: info.Code, msg: info.Msg, resp: resp}, nil
	})
	return id, err
}
