// Package bot is the platform-neutral middle of neighborbot: the Message that every platform
// adapter produces, the Outbound messages and Cards handlers produce, the Platform interface
// adapters implement, a router with middleware, the durable inbound pipeline and the outbox
// dispatcher that sends with retries and rate limits.
package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// Message is one inbound event from a platform: a chat message or a card button tap.
type Message struct {
	EventID   string    `json:"event_id"`             // the platform's event id: the dedupe key
	Platform  string    `json:"platform"`             // local, feishu, wecom
	ChatID    string    `json:"chat_id"`              // the platform's chat id
	GroupID   string    `json:"group_id,omitempty"`   // platform:chat, empty for a private chat
	Private   bool      `json:"private,omitempty"`    // one-to-one with the bot
	UserID    string    `json:"user_id"`              // platform-qualified: "feishu:ou_x"
	UserName  string    `json:"user_name,omitempty"`  // display name if the platform gave one
	MessageID string    `json:"message_id,omitempty"` // this message's id on the platform
	Text      string    `json:"text,omitempty"`       // mentions of the bot stripped
	Mentioned bool      `json:"mentioned,omitempty"`  // the bot was @-mentioned
	ReplyTo   string    `json:"reply_to,omitempty"`   // the platform message id this replies to
	Action    *Action   `json:"action,omitempty"`     // a card button tap
	At        time.Time `json:"at"`
	// ResponseURL is a one-shot reply address some platforms give (WeCom AI bot).
	ResponseURL string `json:"response_url,omitempty"`
}

// Key is the message's dedupe key, unique across platforms.
func (m Message) Key() string { return m.Platform + ":" + m.EventID }

// Action is a tapped card button.
type Action struct {
	Name      string `json:"name"`                 // claim, release, complete, rate, cancel, ack, signup...
	Item      int64  `json:"item,omitempty"`       // the item the card shows
	Value     string `json:"value,omitempty"`      // e.g. stars for rate
	Ref       string `json:"ref,omitempty"`        // other card subjects (notice id, event id)
	MessageID string `json:"message_id,omitempty"` // the card message tapped
}

// Mention is someone an outbound message @-mentions.
type Mention struct {
	UserID string `json:"user_id"` // platform-qualified
	Name   string `json:"name"`
}

// Outbound is one message to send (or one card to update), platform-neutral.
type Outbound struct {
	ID       string    `json:"id"`                 // idempotency key; set by the router or the sender of record
	Platform string    `json:"platform"`           // which adapter sends it
	ChatID   string    `json:"chat_id,omitempty"`  // a group chat
	UserID   string    `json:"user_id,omitempty"`  // a private message to this person (platform-qualified)
	Text     string    `json:"text,omitempty"`     // plain text; may be combined with Mentions
	Mentions []Mention `json:"mentions,omitempty"` // mentioned at the start of the text
	Card     *Card     `json:"card,omitempty"`
	ReplyTo  string    `json:"reply_to,omitempty"` // platform message id to thread under
	// Update asks to update, in place, the card already sent under Card.Key in this chat.
	Update bool   `json:"update,omitempty"`
	Batch  string `json:"batch,omitempty"` // a broadcast's id, for progress counts
	// ResponseURL, when set, is used instead of the platform's send API (WeCom AI bot).
	ResponseURL string `json:"response_url,omitempty"`
	// NotBefore, when later than the time it is enqueued, holds the message back until then:
	// a card counter coalescing a burst of taps into one update.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Toast marks the answer to a card tap, for the tapper alone (UserID): a platform that
	// answers taps with a toast (Feishu) shows it there, in the tap's callback response; where
	// that cannot be done it is sent like any private message.
	Toast bool `json:"toast,omitempty"`
	// Image, when set, is shown with the message (a chart). Adapters that cannot show images
	// yet send the text or card alone; senders put a link to the image there too.
	Image *Image `json:"image,omitempty"`
}

// Image is a picture to show with a message. Feishu uploads it (im/v1/images → image_key),
// WeCom too (media/upload → media_id; a group robot takes it as base64 with its md5); the
// playground serves it itself.
type Image struct {
	PNG []byte `json:"png"`
	Alt string `json:"alt,omitempty"` // what it shows, for text-only clients
}

// Target is the outbox rate-limit key of o within its platform.
func (o Outbound) Target() string {
	if o.ChatID != "" {
		return o.ChatID
	}
	return "user:" + o.UserID
}

// Card is a platform-neutral interactive card; each adapter renders it in its own format.
type Card struct {
	Key      string    `json:"key"` // identity of the card's subject: "item:12", "notice:3"
	Title    string    `json:"title"`
	Color    string    `json:"color,omitempty"` // blue, green, orange, red, grey
	Text     string    `json:"text,omitempty"`  // body, plain text with line breaks
	Fields   []Field   `json:"fields,omitempty"`
	Buttons  []Button  `json:"buttons,omitempty"`
	Footer   string    `json:"footer,omitempty"`
	Mentions []Mention `json:"mentions,omitempty"`
}

// Field is one labelled value on a card.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Short bool   `json:"short,omitempty"` // may share a row with another short field
}

// Button is a card button; tapping it produces a Message with Action.
type Button struct {
	Label  string `json:"label"`
	Action string `json:"action"`
	Item   int64  `json:"item,omitempty"`
	Value  string `json:"value,omitempty"`
	Ref    string `json:"ref,omitempty"`
	Style  string `json:"style,omitempty"` // primary, danger, default
}

// Sent is what a platform says about a sent message.
type Sent struct {
	MessageID string `json:"message_id,omitempty"`
}

// Receiver takes inbound messages from adapters. It returns once the message is durably
// recorded (or recognised as a duplicate); handling happens later.
type Receiver interface {
	Receive(ctx context.Context, m Message) error
}

// TapReceiver is an optional power of a Receiver (the Pipeline has it): recording a card tap
// and waiting, until ctx ends, for the handler's answer to the tapper (Request.Toast), for a
// platform that shows it in the response to the tap.
type TapReceiver interface {
	ReceiveTap(ctx context.Context, m Message) (toast string, answered bool, err error)
}

// Platform is what an adapter provides: three methods.
type Platform interface {
	Name() string
	// Send delivers one outbound message. Errors should be *SendError where the adapter knows
	// whether a retry can help.
	Send(ctx context.Context, o Outbound) (Sent, error)
	// Run receives events and hands them to in until ctx ends (HTTP adapters just wait).
	Run(ctx context.Context, in Receiver) error
}

// Router is an optional power: an adapter that serves HTTP routes (event callbacks, pages).
type Router interface {
	Routes(mux *http.ServeMux, in Receiver)
}

// CardUpdater is an optional power: updating a sent card in place. Adapters without it get
// updated cards sent as new messages.
type CardUpdater interface {
	UpdateCard(ctx context.Context, messageID string, o Outbound) error
}

// Limited is an optional power: the rate limits that apply to one outbound message.
type Limited interface {
	Limits(o Outbound) []Limit
}

// ReplyLimited is an optional power of a Limited platform: the limits of reply, the answer
// to a message as it arrives (Request.Reply), when they are known without a lookup; nil when
// not. A Reserver takes their tokens with the event's write.
type ReplyLimited interface {
	ReplyLimits(reply Outbound) []Limit
}

// Limit is a token bucket: Burst tokens, one more every Every.
type Limit = store.Limit

// SendError classifies a failed send.
type SendError struct {
	Retryable  bool
	RetryAfter time.Duration // a hint from the platform (429 Retry-After), 0 if none
	Code       string        // the platform's error code, for logs
	Err        error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("send failed (code %s, retryable %v): %v", e.Code, e.Retryable, e.Err)
}
func (e *SendError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying (bad request, chat gone).
func Permanent(code string, err error) error { return &SendError{Code: code, Err: err} }

// Temporary marks err as worth retrying, optionally after a hint.
func Temporary(code string, after time.Duration, err error) error {
	return &SendError{Retryable: true, Code: code, RetryAfter: after, Err: err}
}

func retryable(err error) (bool, time.Duration) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Retryable, se.RetryAfter
	}
	return true, 0 // network errors, timeouts: try again
}
