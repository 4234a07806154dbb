// Package feishutest is a fake Feishu Open API for tests (tenant token, bot info, send,
// reply, patch, delayed card update, and web login: the authorize page, the user token
// exchange and user_info) that records every call and can be told to fail the next ones
// (429, 5xx, code 230020, a hang); and helpers that build real encrypted, signed event
// bodies, so tests send what Feishu sends.
package feishutest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Routes of the fake, as named in Call.Route and Fail.
const (
	RouteToken      = "token"       // POST /open-apis/auth/v3/tenant_access_token/internal
	RouteBotInfo    = "bot_info"    // GET  /open-apis/bot/v3/info
	RouteCreate     = "create"      // POST /open-apis/im/v1/messages
	RouteReply      = "reply"       // POST /open-apis/im/v1/messages/{id}/reply
	RoutePatch      = "patch"       // PATCH /open-apis/im/v1/messages/{id}
	RouteCardUpdate = "card_update" // POST /open-apis/interactive/v1/card/update
	RouteImage      = "image"       // POST /open-apis/im/v1/images (multipart upload)
)

// Codes the fake answers with.
const (
	CodeRateLimit     = 230020   // too many messages in the chat
	CodeAppRateLimit  = 99991400 // too many requests for the app
	CodeTokenInvalid  = 99991663 // tenant access token unknown or revoked
	CodeBadSecret     = 10014    // app secret wrong
	CodeNoMessage     = 230011   // replied-to message missing or recalled
	CodeNotCard       = 230001   // patch of something that is not a card
	CodeBadRequest    = 99992402 // field validation failed
	tokenLifetimeSecs = 7200
)

// Fault is what the fake does instead of answering normally.
type Fault struct {
	Status     int  // HTTP status: 429 (with a JSON rate-limit body), 500, 503...
	Code       int  // a Feishu code in a JSON body (HTTP 400 unless Status says otherwise)
	RetryAfter int  // seconds, sent as Retry-After
	Hang       bool // hold the request until the client gives up (a timeout)
}

// Call is one request the fake received, with what it answered.
type Call struct {
	Route, Method, Path string
	Status, Code        int    // the answer
	Token               string // the bearer token presented
	IDType, ReceiveID   string // create: receive_id_type, receive_id
	MsgType, Content    string
	UUID                string
	MessageID           string // the message created, replied with, or patched
	Parent              string // reply: the message replied to
	ChatID              string // where the message went (create to a chat, reply: the parent's chat)
	Duplicate           bool   // create/reply with a uuid already used: Feishu sends nothing new
	Body                []byte
}

// Sent reports whether the call delivered a new message (create or reply, accepted, not a
// duplicate).
func (c Call) Sent() bool {
	return (c.Route == RouteCreate || c.Route == RouteReply) && c.Code == 0 && c.Status == http.StatusOK && !c.Duplicate
}

// Message is a message the fake knows: sent through it or registered as incoming.
type Message struct {
	ID, ChatID, MsgType, Content string
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	URL       string
	AppID     string
	AppSecret string
	BotOpenID string
	BotName   string
	// RedirectURIs, if set, are the only redirect_uri the authorize page accepts (the app's
	// 重定向 URL list).
	RedirectURIs []string
	// Now is the clock login codes expire by; nil means time.Now.
	Now func() time.Time

	srv  *httptest.Server
	done chan struct{}

	mu       sync.Mutex
	calls    []Call
	changed  chan struct{}
	faults   map[string][]Fault
	tokens   map[string]bool
	tokenSeq int
	msgSeq   int
	messages map[string]*Message
	uuids    map[string]string
	images   map[string][]byte // image_key → the uploaded bytes

	loggedIn   User                  // who the authorize page signs in
	codeSeq    int                   // login codes issued
	loginCodes map[string]*loginCode // code → what it was issued for
	userTokens map[string]User       // user access token → its user
}

// New starts a fake for app "cli_test" / "secret" whose bot is "ou_bot"; tb closes it.
func New(tb testing.TB) *Server {
	s := &Server{
		AppID: "cli_test", AppSecret: "secret", BotOpenID: "ou_bot", BotName: "邻里帮",
		done: make(chan struct{}), changed: make(chan struct{}),
		faults: map[string][]Fault{}, tokens: map[string]bool{},
		messages: map[string]*Message{}, uuids: map[string]string{}, images: map[string][]byte{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /open-apis/auth/v3/tenant_access_token/internal", s.token)
	mux.HandleFunc("GET /open-apis/bot/v3/info", s.botInfo)
	mux.HandleFunc("POST /open-apis/im/v1/messages", s.create)
	mux.HandleFunc("POST /open-apis/im/v1/messages/{id}/reply", s.reply)
	mux.HandleFunc("PATCH /open-apis/im/v1/messages/{id}", s.patch)
	mux.HandleFunc("POST /open-apis/im/v1/images", s.uploadImage)
	mux.HandleFunc("POST /open-apis/interactive/v1/card/update", s.cardUpdate)
	mux.HandleFunc("GET /open-apis/authen/v1/authorize", s.authorize)
	mux.HandleFunc("POST /open-apis/authen/v2/oauth/token", s.userToken)
	mux.HandleFunc("GET /open-apis/authen/v1/user_info", s.userInfo)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close stops the fake, releasing hung requests first.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.srv.Close()
}

// Fail makes the next calls to route fail, one fault each, in order.
func (s *Server) Fail(route string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

// RevokeTokens makes every issued tenant token invalid (as if it expired early).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Incoming registers a message sent by someone else in chat, so a reply to it finds its chat.
func (s *Server) Incoming(chatID, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages[messageID] = &Message{ID: messageID, ChatID: chatID, MsgType: "text"}
}

// Message returns a known message in its current state (patches applied).
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Calls returns every call so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count counts the calls so far that match.
func (s *Server) Count(match func(Call) bool) int {
	n := 0
	for _, c := range s.Calls() {
		if match(c) {
			n++
		}
	}
	return n
}

// Wait returns the first call (already made or still to come) that matches, or ctx's error.
func (s *Server) Wait(ctx context.Context, match func(Call) bool) (Call, error) {
	cs, err := s.WaitN(ctx, 1, match)
	if err != nil {
		return Call{}, err
	}
	return cs[0], nil
}

// WaitN waits until n calls match and returns them.
func (s *Server) WaitN(ctx context.Context, n int, match func(Call) bool) ([]Call, error) {
	for {
		s.mu.Lock()
		var got []Call
		for _, c := range s.calls {
			if match(c) {
				got = append(got, c)
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got[:n], nil
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("feishutest: %d of %d calls seen: %w", len(got), n, ctx.Err())
		case <-ch:
		}
	}
}

// SentTo matches messages delivered to chat.
func SentTo(chat string) func(Call) bool {
	return func(c Call) bool { return c.Sent() && c.ChatID == chat }
}

// SentToUser matches messages delivered privately to open_id.
func SentToUser(openID string) func(Call) bool {
	return func(c Call) bool { return c.Sent() && c.IDType == "open_id" && c.ReceiveID == openID }
}

// Patched matches successful patches of message id.
func Patched(id string) func(Call) bool {
	return func(c Call) bool {
		return c.Route == RoutePatch && c.MessageID == id && c.Code == 0 && c.Status == http.StatusOK
	}
}

// Route matches every call to route.
func Route(route string) func(Call) bool {
	return func(c Call) bool { return c.Route == route }
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// fault applies the next fault of route, if any, and reports whether it answered.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, c *Call) bool {
	s.mu.Lock()
	q := s.faults[c.Route]
	if len(q) == 0 {
		s.mu.Unlock()
		return false
	}
	f := q[0]
	s.faults[c.Route] = q[1:]
	s.mu.Unlock()
	if f.Hang {
		c.Status = 0
		s.record(*c)
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return true
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		c.Status, c.Code = f.Status, CodeAppRateLimit
		if f.Code != 0 {
			c.Code = f.Code
		}
		writeCode(w, c.Status, c.Code, "request trigger frequency limit")
	case f.Status >= 500:
		c.Status = f.Status
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		io.WriteString(w, "upstream trouble")
	default:
		c.Status, c.Code = http.StatusBadRequest, f.Code
		if f.Status != 0 {
			c.Status = f.Status
		}
		writeCode(w, c.Status, c.Code, "injected failure")
	}
	s.record(*c)
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeCode(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "msg": msg})
}

func newCall(route string, r *http.Request) (Call, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return Call{Route: route, Method: r.Method, Path: r.URL.Path, Body: body,
		Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}, err
}

// authorized checks the bearer token; a refusal is answered and recorded.
func (s *Server) authorized(w http.ResponseWriter, c *Call) bool {
	s.mu.Lock()
	ok := s.tokens[c.Token]
	s.mu.Unlock()
	if ok {
		return true
	}
	c.Status, c.Code = http.StatusBadRequest, CodeTokenInvalid
	writeCode(w, c.Status, c.Code, "Invalid access token for authorization. Please make a request with token attached.")
	s.record(*c)
	return false
}

func (s *Server) ok(w http.ResponseWriter, c *Call, data any) {
	c.Status = http.StatusOK
	s.record(*c)
	resp := map[string]any{"code": 0, "msg": "success"}
	if data != nil {
		resp["data"] = data
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) refuse(w http.ResponseWriter, c *Call, code int, msg string) {
	c.Status, c.Code = http.StatusBadRequest, code
	s.record(*c)
	writeCode(w, c.Status, code, msg)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteToken, r)
	if s.fault(w, r, &c) {
		return
	}
	var req struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if json.Unmarshal(c.Body, &req) != nil || req.AppID != s.AppID || req.AppSecret != s.AppSecret {
		c.Status, c.Code = http.StatusOK, CodeBadSecret // Feishu answers 200 with a code here
		s.record(c)
		writeCode(w, http.StatusOK, CodeBadSecret, "app secret invalid")
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	tok := "t-fake-" + strconv.Itoa(s.tokenSeq)
	s.tokens[tok] = true
	s.mu.Unlock()
	c.Status = http.StatusOK
	s.record(c)
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "ok", "tenant_access_token": tok, "expire": tokenLifetimeSecs})
}

func (s *Server) botInfo(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteBotInfo, r)
	if s.fault(w, r, &c) || !s.authorized(w, &c) {
		return
	}
	c.Status = http.StatusOK
	s.record(c)
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "ok",
		"bot": map[string]any{"activate_status": 2, "app_name": s.BotName, "open_id": s.BotOpenID}})
}

type sendBody struct {
	ReceiveID string `json:"receive_id"`
	MsgType   string `json:"msg_type"`
	Content   string `json:"content"`
	UUID      string `json:"uuid"`
}

// validContent checks content as Feishu would: JSON, with a text or a 2.0 card in it.
func validContent(msgType, content string) string {
	var v map[string]any
	if err := json.Unmarshal([]byte(content), &v); err != nil {
		return "content is not JSON: " + err.Error()
	}
	switch msgType {
	case "text":
		if _, ok := v["text"].(string); !ok {
			return "text content without text"
		}
	case "image":
		if k, _ := v["image_key"].(string); k == "" {
			return "image content without image_key"
		}
	case "interactive":
		if v["schema"] != "2.0" {
			return "card is not JSON 2.0"
		}
		if _, ok := v["body"].(map[string]any); !ok {
			return "card without body"
		}
	default:
		return "unsupported msg_type " + msgType
	}
	return ""
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteCreate, r)
	c.IDType = r.URL.Query().Get("receive_id_type")
	if s.fault(w, r, &c) || !s.authorized(w, &c) {
		return
	}
	var b sendBody
	if err := json.Unmarshal(c.Body, &b); err != nil {
		s.refuse(w, &c, CodeBadRequest, "body is not JSON")
		return
	}
	c.ReceiveID, c.MsgType, c.Content, c.UUID = b.ReceiveID, b.MsgType, b.Content, b.UUID
	if c.IDType != "chat_id" && c.IDType != "open_id" {
		s.refuse(w, &c, CodeBadRequest, "receive_id_type must be chat_id or open_id here")
		return
	}
	if msg := validContent(b.MsgType, b.Content); msg != "" {
		s.refuse(w, &c, CodeBadRequest, msg)
		return
	}
	chat := b.ReceiveID
	if c.IDType == "open_id" {
		chat = "p2p:" + b.ReceiveID
	}
	c.ChatID = chat
	s.deliver(w, &c, chat)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteReply, r)
	c.Parent = r.PathValue("id")
	if s.fault(w, r, &c) || !s.authorized(w, &c) {
		return
	}
	var b sendBody
	if err := json.Unmarshal(c.Body, &b); err != nil {
		s.refuse(w, &c, CodeBadRequest, "body is not JSON")
		return
	}
	c.MsgType, c.Content, c.UUID = b.MsgType, b.Content, b.UUID
	parent, ok := s.Message(c.Parent)
	if !ok {
		s.refuse(w, &c, CodeNoMessage, "the message replied to does not exist or was recalled")
		return
	}
	if msg := validContent(b.MsgType, b.Content); msg != "" {
		s.refuse(w, &c, CodeBadRequest, msg)
		return
	}
	c.ChatID = parent.ChatID
	s.deliver(w, &c, parent.ChatID)
}

// deliver creates the message, or, for a uuid already used, answers with the first message
// as Feishu does within an hour.
func (s *Server) deliver(w http.ResponseWriter, c *Call, chat string) {
	s.mu.Lock()
	if id, dup := s.uuids[c.UUID]; dup && c.UUID != "" {
		s.mu.Unlock()
		c.MessageID, c.Duplicate = id, true
		s.ok(w, c, map[string]any{"message_id": id, "chat_id": chat})
		return
	}
	s.msgSeq++
	id := "om_fake_" + strconv.Itoa(s.msgSeq)
	s.messages[id] = &Message{ID: id, ChatID: chat, MsgType: c.MsgType, Content: c.Content}
	if c.UUID != "" {
		s.uuids[c.UUID] = id
	}
	s.mu.Unlock()
	c.MessageID = id
	s.ok(w, c, map[string]any{"message_id": id, "chat_id": chat, "msg_type": c.MsgType})
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RoutePatch, r)
	c.MessageID = r.PathValue("id")
	if s.fault(w, r, &c) || !s.authorized(w, &c) {
		return
	}
	var b struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(c.Body, &b); err != nil {
		s.refuse(w, &c, CodeBadRequest, "body is not JSON")
		return
	}
	c.Content, c.MsgType = b.Content, "interactive"
	s.mu.Lock()
	m, ok := s.messages[c.MessageID]
	isCard := ok && m.MsgType == "interactive"
	s.mu.Unlock()
	if !isCard {
		s.refuse(w, &c, CodeNotCard, "only a card sent by the bot can be patched")
		return
	}
	if msg := validContent("interactive", b.Content); msg != "" {
		s.refuse(w, &c, CodeBadRequest, msg)
		return
	}
	s.mu.Lock()
	m.Content = b.Content
	c.ChatID = m.ChatID
	s.mu.Unlock()
	s.ok(w, &c, nil)
}

func (s *Server) cardUpdate(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteCardUpdate, r)
	if s.fault(w, r, &c) || !s.authorized(w, &c) {
		return
	}
	var b struct {
		Token string          `json:"token"`
		Card  json.RawMessage `json:"card"`
	}
	if err := json.Unmarshal(c.Body, &b); err != nil || b.Token == "" || len(b.Card) == 0 {
		s.refuse(w, &c, CodeBadRequest, "want token and card")
		return
	}
	c.Content = string(b.Card)
	s.ok(w, &c, nil)
}
