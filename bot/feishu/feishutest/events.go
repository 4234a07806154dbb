package feishutest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Events builds the bodies Feishu POSTs to an app's event URL: schema 2.0 JSON, encrypted
// with the app's Encrypt Key and signed, exactly as on the wire.
type Events struct {
	AppID             string
	VerificationToken string
	EncryptKey        string
	Now               func() time.Time // default time.Now
	// Server, if set, learns the ids of messages built here, so replies to them find their chat.
	Server *Server

	seq atomic.Int64
}

func (e *Events) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Events) next(prefix string) string {
	return prefix + strconv.FormatInt(e.seq.Add(1), 10)
}

// Mention is someone @-mentioned in a message; Key is the placeholder in the text ("@_user_1").
type Mention struct {
	Key    string
	OpenID string
	Name   string
	Bot    bool // mentioned_type "bot"
}

// Msg describes an im.message.receive_v1 event. Empty ids are generated.
type Msg struct {
	EventID   string
	MessageID string
	ChatID    string
	ChatType  string // group (default) or p2p
	Sender    string // open_id
	Text      string // with "@_user_1" where someone is mentioned
	Mentions  []Mention
	ParentID  string // the message this replies to
	Type      string // text (default) or post; Content overrides Text
	Content   string
}

// Message returns the plaintext of an im.message.receive_v1 event, and m with its ids filled.
func (e *Events) Message(m Msg) ([]byte, Msg) {
	if m.EventID == "" {
		m.EventID = e.next("ev_msg_")
	}
	if m.MessageID == "" {
		m.MessageID = e.next("om_in_")
	}
	if m.ChatType == "" {
		m.ChatType = "group"
	}
	if m.Type == "" {
		m.Type = "text"
	}
	content := m.Content
	if content == "" {
		b, _ := json.Marshal(map[string]string{"text": m.Text})
		content = string(b)
	}
	mentions := []any{}
	for _, mm := range m.Mentions {
		mt := "user"
		if mm.Bot {
			mt = "bot"
		}
		mentions = append(mentions, map[string]any{
			"key": mm.Key, "name": mm.Name, "tenant_key": "tenant", "mentioned_type": mt,
			"id": map[string]string{"open_id": mm.OpenID, "union_id": "on_" + mm.OpenID, "user_id": ""},
		})
	}
	at := strconv.FormatInt(e.now().UnixMilli(), 10)
	if e.Server != nil {
		e.Server.Incoming(m.ChatID, m.MessageID)
	}
	return e.envelope(m.EventID, "im.message.receive_v1", map[string]any{
		"sender": map[string]any{
			"sender_id":   map[string]string{"open_id": m.Sender, "union_id": "on_" + m.Sender, "user_id": ""},
			"sender_type": "user", "tenant_key": "tenant",
		},
		"message": map[string]any{
			"message_id": m.MessageID, "root_id": m.ParentID, "parent_id": m.ParentID,
			"create_time": at, "update_time": at, "chat_id": m.ChatID, "chat_type": m.ChatType,
			"message_type": m.Type, "content": content, "mentions": mentions,
		},
	}), m
}

// Tap describes a card.action.trigger callback: someone tapped a button.
type Tap struct {
	EventID   string
	Operator  string // open_id
	ChatID    string
	MessageID string         // the card's message
	Value     map[string]any // the button's value
	Token     string         // for the delayed-update API; generated when empty
}

// CardAction returns the plaintext of a card.action.trigger callback.
func (e *Events) CardAction(t Tap) []byte {
	if t.EventID == "" {
		t.EventID = e.next("ev_tap_")
	}
	if t.Token == "" {
		t.Token = e.next("c-tap-")
	}
	return e.envelope(t.EventID, "card.action.trigger", map[string]any{
		"operator": map[string]any{"tenant_key": "tenant", "open_id": t.Operator, "union_id": "on_" + t.Operator},
		"token":    t.Token,
		"action":   map[string]any{"value": t.Value, "tag": "button"},
		"host":     "im_message",
		"context":  map[string]string{"open_message_id": t.MessageID, "open_chat_id": t.ChatID},
	})
}

// BotAdded returns the plaintext of im.chat.member.bot.added_v1.
func (e *Events) BotAdded(eventID, chatID, operator, chatName string) []byte {
	if eventID == "" {
		eventID = e.next("ev_added_")
	}
	return e.envelope(eventID, "im.chat.member.bot.added_v1", map[string]any{
		"chat_id": chatID, "operator_id": map[string]string{"open_id": operator},
		"external": false, "operator_tenant_key": "tenant", "name": chatName,
	})
}

// Challenge returns the plaintext of the URL verification Feishu sends when the request URL
// is saved.
func (e *Events) Challenge(challenge string) []byte {
	b, _ := json.Marshal(map[string]string{"challenge": challenge, "token": e.VerificationToken, "type": "url_verification"})
	return b
}

func (e *Events) envelope(eventID, eventType string, event any) []byte {
	b, _ := json.Marshal(map[string]any{
		"schema": "2.0",
		"header": map[string]string{
			"event_id": eventID, "event_type": eventType, "token": e.VerificationToken,
			"create_time": strconv.FormatInt(e.now().UnixMilli(), 10), "app_id": e.AppID, "tenant_key": "tenant",
		},
		"event": event,
	})
	return b
}

// Seal encrypts plaintext into the body Feishu sends: {"encrypt": "..."}.
func (e *Events) Seal(plain []byte) []byte {
	b, _ := json.Marshal(map[string]string{"encrypt": Encrypt(e.EncryptKey, plain)})
	return b
}

// Request is a POST of plaintext to url, sealed and signed now.
func (e *Events) Request(url string, plain []byte) *http.Request {
	return e.SignedRequest(url, e.Seal(plain), e.now())
}

// SignedRequest is a POST of a sealed body signed at time at.
func (e *Events) SignedRequest(url string, body []byte, at time.Time) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	Sign(req.Header, body, e.EncryptKey, at, e.next("nonce-"))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return req
}

// Sign sets the timestamp, nonce and signature headers of body.
func Sign(h http.Header, body []byte, encryptKey string, at time.Time, nonce string) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set("X-Lark-Request-Timestamp", ts)
	h.Set("X-Lark-Request-Nonce", nonce)
	h.Set("X-Lark-Signature", Signature(ts, nonce, encryptKey, body))
}

// Signature is hex(sha256(timestamp + nonce + encryptKey + body)).
func Signature(ts, nonce, encryptKey string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(ts + nonce + encryptKey))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Encrypt is Feishu's event encryption: base64(IV | AES-256-CBC(PKCS#7(plain))) with the key
// sha256(encryptKey) and a random IV.
func Encrypt(encryptKey string, plain []byte) string {
	key := sha256.Sum256([]byte(encryptKey))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, aes.BlockSize+len(plain)+pad)
	if _, err := rand.Read(buf[:aes.BlockSize]); err != nil {
		panic(err)
	}
	copy(buf[aes.BlockSize:], plain)
	for i := aes.BlockSize + len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, buf[:aes.BlockSize]).CryptBlocks(buf[aes.BlockSize:], buf[aes.BlockSize:])
	return base64.StdEncoding.EncodeToString(buf)
}
