package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

//go:embed page.html static
var assets embed.FS

// Limits of the JSON API.
const (
	MaxText = 2000     // characters in one message
	MaxBody = 64 << 10 // bytes in one request body
	// MaxWait bounds ?wait=, so a waiting request never holds up a shutdown for long.
	MaxWait = 10 * time.Second
	// settle is how long a waiting request keeps collecting after the last reply arrived,
	// when the engine does not report an event's replies (Platform.ReplyHook).
	settle = 100 * time.Millisecond
	// heartbeat keeps idle streams open through proxies.
	heartbeat = 20 * time.Second
	// streamWriteTimeout bounds each write to a live stream. The server's WriteTimeout bounds
	// a whole response, which a stream has none of: it lasts as long as the page is open; but
	// a client that stops reading must still not hold a goroutine for ever.
	streamWriteTimeout = heartbeat + 10*time.Second
	// waitSlack is the time a ?wait= post gets, beyond its wait, to hand over its event and
	// write its answer (the server's WriteTimeout may be shorter than MaxWait).
	waitSlack = 10 * time.Second
)

// Routes registers the page and the JSON API; messages and taps go to in.
func (p *Platform) Routes(mux *http.ServeMux, in bot.Receiver) {
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/local/static/", http.FileServerFS(static))
	mux.HandleFunc("GET /{$}", p.servePage)
	mux.HandleFunc("GET /local/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /local/groups", p.serveGroups)
	mux.HandleFunc("GET /local/personas", p.servePersonas)
	mux.HandleFunc("GET /local/messages", p.serveMessages)
	mux.HandleFunc("GET /local/stream", p.serveStream)
	mux.HandleFunc("GET /local/images/{file}", p.serveImage)
	mux.HandleFunc("POST /local/messages", func(w http.ResponseWriter, r *http.Request) { p.postMessage(w, r, in) })
	mux.HandleFunc("POST /local/actions", func(w http.ResponseWriter, r *http.Request) { p.postAction(w, r, in) })
}

// groupView and personaView are what the page lists.
type groupView struct {
	ID   string `json:"id"`   // "local:xingfuli"
	Chat string `json:"chat"` // "xingfuli"
	Name string `json:"name"`
}

type personaView struct {
	ID       string `json:"id"` // "local:wang"
	Name     string `json:"name"`
	Role     string `json:"role"`      // secretary
	RoleName string `json:"role_name"` // 书记
	Label    string `json:"label"`     // 王书记 · 书记
}

func (p *Platform) groupViews() []groupView {
	out := make([]groupView, 0, len(p.groups))
	for _, g := range p.groups {
		out = append(out, groupView{ID: g.ID, Chat: g.Chat, Name: g.Name})
	}
	return out
}

func (p *Platform) personaViews() []personaView {
	out := make([]personaView, 0, len(p.personas))
	for _, x := range p.personas {
		out = append(out, personaView{ID: x.ID, Name: x.Name, Role: x.Role.Key(), RoleName: x.Role.Chinese(),
			Label: x.Name + " · " + x.Role.Chinese()})
	}
	return out
}

func (p *Platform) servePage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	err := p.page.Execute(&buf, struct {
		BotName  string
		Groups   []groupView
		Personas []personaView
	}{p.botName, p.groupViews(), p.personaViews()})
	if err != nil {
		p.log.Error("playground page", "err", err)
		writeError(w, http.StatusInternalServerError, "页面生成失败。")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

func (p *Platform) serveGroups(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, p.groupViews())
}

func (p *Platform) servePersonas(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, p.personaViews())
}

// serveMessages answers GET /local/messages?group=G&after=ID (or ?user=U): the messages after
// id ID, or with since=REV those changed after revision REV (cards updated in place too).
func (p *Platform) serveMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group, user, msg := p.chatParams(q.Get("group"), q.Get("user"))
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	after, err1 := intParam(q.Get("after"))
	since, err2 := intParam(q.Get("since"))
	if err1 != nil || err2 != nil {
		writeError(w, http.StatusBadRequest, "after 和 since 需要是数字。")
		return
	}
	p.mu.Lock()
	var out []*record
	if q.Has("since") {
		out = p.changesSinceLocked(since, group, user)
		if group != "" {
			user = "" // one chat per request: the group's
		}
		out = slices.DeleteFunc(out, func(rec *record) bool { return rec.ID <= after || !visible(rec, group, user) })
	} else {
		ids := p.chats[group]
		if group == "" {
			ids = p.inboxes[user]
		}
		i, _ := slices.BinarySearch(ids, after+1)
		for _, id := range ids[i:] {
			out = append(out, p.msgs[id])
		}
	}
	rev := p.rev
	p.mu.Unlock()
	if out == nil {
		out = []*record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out, "rev": rev})
}

// chatParams resolves the group and user of a read; msg is the error to show, if any.
func (p *Platform) chatParams(groupParam, userParam string) (group, user, msg string) {
	if groupParam == "" && userParam == "" {
		return "", "", "请指定群（group）或身份（user）。"
	}
	if groupParam != "" {
		g, ok := p.byGroup[groupParam]
		if !ok {
			return "", "", fmt.Sprintf("没有这个群：%s。", groupParam)
		}
		group = g.ID
	}
	if userParam != "" {
		x, ok := p.byPerson[qualify(userParam)]
		if !ok {
			return "", "", fmt.Sprintf("没有这个身份：%s。", userParam)
		}
		user = x.ID
	}
	return group, user, ""
}

// serveStream sends, as Server-Sent Events, every new or updated message of the group and of
// the person's private chat. Each event's id is its revision, so a reconnecting EventSource
// (Last-Event-ID) misses nothing.
func (p *Platform) serveStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group, user, msg := p.chatParams(q.Get("group"), q.Get("user"))
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	cursor := q.Get("since")
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		cursor = v
	}
	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests that end: lift them. A read
	// deadline would also cancel r's context when it passed, ending the stream.
	_ = rc.SetReadDeadline(time.Time{})
	writeDeadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) }
	writeDeadline()
	shutdown := p.serverDone(r)

	p.mu.Lock()
	since := p.rev
	if cursor != "" {
		if n, err := strconv.ParseInt(cursor, 10, 64); err == nil && n >= 0 && n <= p.rev {
			since = n
		}
	}
	p.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n: connected\n\n")
	if err := rc.Flush(); err != nil {
		return // no streaming here; the page falls back to polling
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		p.mu.Lock()
		recs := p.changesSinceLocked(since, group, user)
		changed := p.changed
		since = p.rev
		p.mu.Unlock()
		writeDeadline()
		for _, rec := range recs {
			data, err := json.Marshal(rec)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", rec.Rev, data)
		}
		if len(recs) > 0 {
			if err := rc.Flush(); err != nil {
				return
			}
		}
		select {
		case <-changed:
		case <-tick.C:
			writeDeadline()
			fmt.Fprint(w, ": ping\n\n")
			if err := rc.Flush(); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-p.stop:
			return
		case <-shutdown:
			return
		}
	}
}

// serverDone returns a channel closed when the server serving r shuts down: http.Server's
// Shutdown waits for open requests, and a stream never ends by itself.
func (p *Platform) serverDone(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.servers[srv]
	if !ok {
		ch = make(chan struct{})
		p.servers[srv] = ch
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

type messageRequest struct {
	Group   string `json:"group"`
	User    string `json:"user"`
	Text    string `json:"text"`
	ReplyTo flexID `json:"reply_to"`
	// EventID, optional, replays a platform event: posting the same event id again is what a
	// platform's retry (or a second replica getting it) looks like, and must change nothing.
	EventID string `json:"event_id"`
}

type actionRequest struct {
	Group   string `json:"group"`
	User    string `json:"user"`
	Message flexID `json:"message"`
	Action  string `json:"action"`
	Value   string `json:"value"`
}

// flexID is a message id written as a JSON string or number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexID(n.String())
	return nil
}

type postResponse struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	// Replies is there only with ?wait (then always, possibly empty).
	Replies *[]*record `json:"replies,omitempty"`
}

// who resolves the sender and the chat of a post; msg is the error to show, if any.
func (p *Platform) who(groupParam, userParam string) (g community.Group, person community.Person, private bool, msg string) {
	if userParam == "" {
		return g, person, false, "请先选择身份（user）。"
	}
	person, ok := p.byPerson[qualify(userParam)]
	if !ok {
		return g, person, false, fmt.Sprintf("没有这个身份：%s。", userParam)
	}
	if groupParam == "" {
		return g, person, true, ""
	}
	g, ok = p.byGroup[groupParam]
	if !ok {
		return g, person, false, fmt.Sprintf("没有这个群：%s。", groupParam)
	}
	return g, person, false, ""
}

// postMessage handles POST /local/messages: a persona says something in a group, or to the
// bot privately when no group is given.
func (p *Platform) postMessage(w http.ResponseWriter, r *http.Request, in bot.Receiver) {
	if !requireJSON(w, r) {
		return
	}
	wait, msg := waitParam(r)
	var req messageRequest
	if msg == "" {
		msg = decode(w, r, &req)
	}
	if msg == "" && strings.TrimSpace(req.Text) == "" {
		msg = "消息不能为空。"
	}
	if n := utf8.RuneCountInString(req.Text); msg == "" && n > MaxText {
		msg = fmt.Sprintf("消息太长了（%d字），请控制在%d字以内。", n, MaxText)
	}
	var (
		g       community.Group
		person  community.Person
		private bool
	)
	if msg == "" {
		g, person, private, msg = p.who(req.Group, req.User)
	}
	if msg != "" {
		writeError(w, statusOf(msg), msg)
		return
	}
	now := p.now()
	eventID := newEventID()
	if req.EventID != "" {
		if !validEventID(req.EventID) {
			writeError(w, http.StatusBadRequest, "event_id 只能包含字母、数字、-、_，最长64个字符。")
			return
		}
		eventID = req.EventID
	}
	rec := &record{From: "user", User: person.ID, Name: person.Name, Text: req.Text, ReplyTo: string(req.ReplyTo), At: now, EventID: eventID}
	if private {
		rec.To = person.ID
	} else {
		rec.Group = g.ID
	}
	p.mu.Lock()
	if rec.ReplyTo != "" && !p.inChatLocked(rec.ReplyTo, rec.Group, rec.To) {
		p.mu.Unlock()
		writeError(w, http.StatusBadRequest, fmt.Sprintf("要回复的消息不存在：%s。", rec.ReplyTo))
		return
	}
	if id, seen := p.userByEvent[eventID]; seen {
		rec = p.msgs[id] // a replayed event: the people in the chat saw it once
		p.mu.Unlock()
	} else {
		p.appendLocked(rec)
		p.mu.Unlock()
		// A lost write loses history, not this conversation: go on.
		_ = p.persist(r.Context(), rec)
	}

	text, mentioned := StripMention(req.Text, p.botName)
	m := bot.Message{
		EventID: eventID, Platform: PlatformName, ChatID: g.Chat, GroupID: g.ID,
		UserID: person.ID, UserName: person.Name, MessageID: strconv.FormatInt(rec.ID, 10),
		Text: text, Mentioned: mentioned, ReplyTo: rec.ReplyTo, At: now,
	}
	if private {
		_, m.ChatID = community.SplitID(person.ID)
		m.Private = true
	}
	p.deliver(w, r, in, m, wait, postResponse{ID: m.MessageID, EventID: eventID})
}

// postAction handles POST /local/actions: a persona taps a card button.
func (p *Platform) postAction(w http.ResponseWriter, r *http.Request, in bot.Receiver) {
	if !requireJSON(w, r) {
		return
	}
	wait, msg := waitParam(r)
	var req actionRequest
	if msg == "" {
		msg = decode(w, r, &req)
	}
	if msg == "" && req.Action == "" {
		msg = "请指定按钮（action）。"
	}
	if msg == "" && req.Message == "" {
		msg = "请指定卡片消息（message）。"
	}
	var (
		g       community.Group
		person  community.Person
		private bool
	)
	if msg == "" {
		g, person, private, msg = p.who(req.Group, req.User)
	}
	if msg != "" {
		writeError(w, statusOf(msg), msg)
		return
	}
	var to string
	if private {
		to = person.ID
	}
	id, _ := strconv.ParseInt(string(req.Message), 10, 64)
	p.mu.Lock()
	var card *bot.Card
	if p.inChatLocked(string(req.Message), g.ID, to) {
		card = p.msgs[id].Card
	}
	p.mu.Unlock()
	if card == nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("找不到这张卡片：%s。", req.Message))
		return
	}
	i := slices.IndexFunc(card.Buttons, func(b bot.Button) bool { return b.Action == req.Action && b.Value == req.Value })
	if i < 0 {
		writeError(w, http.StatusBadRequest, "这个按钮已失效，请看卡片的最新状态。")
		return
	}
	b := card.Buttons[i]
	eventID := newEventID()
	messageID := strconv.FormatInt(id, 10)
	m := bot.Message{
		EventID: eventID, Platform: PlatformName, ChatID: g.Chat, GroupID: g.ID,
		UserID: person.ID, UserName: person.Name, MessageID: messageID, At: p.now(),
		Action: &bot.Action{Name: b.Action, Item: b.Item, Value: b.Value, Ref: b.Ref, MessageID: messageID},
	}
	if private {
		_, m.ChatID = community.SplitID(person.ID)
		m.Private = true
	}
	p.deliver(w, r, in, m, wait, postResponse{ID: messageID, EventID: eventID})
}

// inChatLocked reports whether message id belongs to the group (or, with no group, to the
// person's private chat).
func (p *Platform) inChatLocked(id, group, to string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false
	}
	rec, ok := p.msgs[n]
	if !ok {
		return false
	}
	if group != "" {
		return rec.Group == group
	}
	return rec.Group == "" && rec.To == to
}

// deliver hands m to the bot and answers, after waiting for its replies if asked to.
func (p *Platform) deliver(w http.ResponseWriter, r *http.Request, in bot.Receiver, m bot.Message, wait time.Duration, resp postResponse) {
	if wait > 0 {
		// Waiting may outlast the server's timeouts; its body is read, so extend both (a read
		// deadline passing would cancel r's context and cut the wait short).
		rc := http.NewResponseController(w)
		until := time.Now().Add(wait + waitSlack)
		_ = rc.SetReadDeadline(until)
		_ = rc.SetWriteDeadline(until)
	}
	if err := in.Receive(r.Context(), m); err != nil {
		p.log.Error("playground message not received", "event", m.Key(), "err", err)
		writeError(w, http.StatusServiceUnavailable, "服务暂时不可用，请稍后再试。")
		return
	}
	if wait > 0 {
		bot.ReleaseSlot(r.Context()) // the body is read and the event handed over: wait without a slot
		replies := p.waitReplies(r.Context(), m.Key(), wait)
		resp.Replies = &replies
	}
	writeJSON(w, http.StatusAccepted, resp)
}

// waitReplies waits until the bot's replies to event key (outbound ids key+"/n") are in the
// transcript, or d passes, and returns them. With the engine's reports (ReplyHook) it waits
// for exactly the replies the event produced; without them, until settle passes after the
// last. It wakes on every change, never polls.
func (p *Platform) waitReplies(ctx context.Context, key string, d time.Duration) []*record {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var quiet <-chan time.Time
	seen := 0
wait:
	for {
		p.mu.Lock()
		n := len(p.byEvent[key])
		done := p.replies[key].complete()
		tracking := p.tracking
		changed := p.changed
		p.mu.Unlock()
		if done {
			break
		}
		if n > seen && !tracking {
			seen = n
			quiet = time.After(settle)
		}
		select {
		case <-changed:
		case <-quiet:
			break wait
		case <-deadline.C:
			break wait
		case <-ctx.Done():
			break wait
		case <-p.stop:
			break wait
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []*record{}
	for _, id := range p.byEvent[key] {
		out = append(out, p.msgs[id])
	}
	slices.SortFunc(out, func(a, b *record) int { return cmpInt(a.ID, b.ID) })
	return out
}

// StripMention removes @-mentions of the bot (half- or full-width @) from text and reports
// whether there was one. Platforms strip mentions wherever they are; so does the playground.
func StripMention(text, botName string) (string, bool) {
	mentioned := false
	for _, at := range []string{"@", "＠"} {
		tag := at + botName
		if strings.Contains(text, tag) {
			mentioned = true
			text = strings.ReplaceAll(text, tag, " ")
		}
	}
	return strings.TrimLeft(strings.TrimSpace(text), ":：,，"), mentioned
}

func validEventID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func newEventID() string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return "ev" + hex.EncodeToString(b[:])
}

// waitParam reads ?wait=3s (or plain seconds, ?wait=3); msg is the error to show, if any.
func waitParam(r *http.Request) (time.Duration, string) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, ""
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, err2 := strconv.ParseFloat(v, 64)
		if err2 != nil {
			return 0, "wait 参数格式不对，例如 wait=3s。"
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 {
		return 0, "wait 参数格式不对，例如 wait=3s。"
	}
	return min(d, MaxWait), ""
}

func intParam(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

const msgTooBig = "请求太大了，请控制在64KB以内。"

// requireJSON refuses a post whose Content-Type is not application/json, with 415: an HTML
// form on another site can post to the playground without asking (text/plain, form types),
// but not with this type, so a page a person visits cannot act in the playground for them.
func requireJSON(w http.ResponseWriter, r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		return true
	}
	writeError(w, http.StatusUnsupportedMediaType,
		"请求需要 Content-Type: application/json。This endpoint accepts only Content-Type: application/json.")
	return false
}

// decode reads a JSON body of at most MaxBody bytes; it returns the error to show, if any.
func decode(w http.ResponseWriter, r *http.Request, v any) string {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return msgTooBig
		}
		return "请求格式不对，需要 JSON，例如 {\"group\":\"local:xingfuli\",\"user\":\"local:chen\",\"text\":\"你好\"}。"
	}
	return ""
}

func statusOf(msg string) int {
	if msg == msgTooBig {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
