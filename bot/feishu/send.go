package feishu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/neighborbot/neighborbot/bot"
)

// Feishu error codes the adapter treats specially.
const (
	codeChatRateLimit      = 230020   // "This operation triggers the frequency limit" (per chat)
	codeAppRateLimit       = 99991400 // request trigger frequency limit (per app)
	codeTenantTokenInvalid = 99991663
	codeTokenInvalid       = 99991671
	codeAppTokenInvalid    = 99991664
	codeTokenExpired       = 99991677
)

func tokenRejected(code int) bool {
	switch code {
	case codeTenantTokenInvalid, codeTokenInvalid, codeAppTokenInvalid, codeTokenExpired:
		return true
	}
	return false
}

// Send implements bot.Platform: a text message or a card, to a chat (receive_id_type
// chat_id) or a person (open_id), or as a reply when ReplyTo is set. Whatever is not for
// one person only is masked (bot.ForGroup). Uuid is derived from
// o.ID, so Feishu itself drops a second send of the same outbound within an hour.
func (p *Platform) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	if !bot.Private(o) {
		o = bot.ForGroup(o) // the last gate before the chat: no ID, phone or door
	}
	sent, err := p.send(ctx, o)
	if err != nil || o.Image == nil || len(o.Image.PNG) == 0 {
		return sent, err
	}
	// The picture follows as an image message of its own (uploaded for its image_key). Should
	// that fail, the retry sends the message again too, which Feishu drops by its uuid.
	key, err := p.uploadImage(ctx, o.Image.PNG)
	if err != nil {
		return bot.Sent{}, err
	}
	img := o
	img.ID, img.Card, img.Text, img.Mentions, img.Image = o.ID+":image", nil, "", nil, nil
	if _, err := p.sendRendered(ctx, img, "image", imageContent(key)); err != nil {
		return bot.Sent{}, err
	}
	return sent, nil
}

// send sends o's text or card.
func (p *Platform) send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	msgType, content, err := renderOutbound(o)
	if err != nil {
		return bot.Sent{}, err
	}
	return p.sendRendered(ctx, o, msgType, content)
}

// sendRendered sends content of msgType to o's receiver, or as a reply to o.ReplyTo.
func (p *Platform) sendRendered(ctx context.Context, o bot.Outbound, msgType, content string) (bot.Sent, error) {
	uuid := uuidFor(o.ID)
	if o.ReplyTo != "" {
		id, err := p.reply(ctx, o.ReplyTo, msgType, content, uuid)
		var se *bot.SendError
		if err == nil || !errors.As(err, &se) || se.Retryable || (o.ChatID == "" && o.UserID == "") {
			return bot.Sent{MessageID: id}, err
		}
		// The message replied to is gone (recalled, too old): say it in the chat instead.
		p.log.Info("reply refused, sending to the chat instead", "outbox", o.ID, "err", err)
	}
	idType, to, err := receiver(o)
	if err != nil {
		return bot.Sent{}, err
	}
	id, err := p.create(ctx, idType, to, msgType, content, uuid)
	return bot.Sent{MessageID: id}, err
}

// UpdateCard implements bot.CardUpdater: the card message is patched in place, for everyone
// in the chat (JSON 2.0 cards are shared cards).
func (p *Platform) UpdateCard(ctx context.Context, messageID string, o bot.Outbound) error {
	if o.Card == nil {
		return bot.Permanent("no_card", errors.New("feishu: card update without a card"))
	}
	if !bot.Private(o) {
		o = bot.ForGroup(o)
	}
	content, err := CardJSON(*o.Card)
	if err != nil {
		return bot.Permanent("render", err)
	}
	if len(content) > maxCardBytes {
		return bot.Permanent("too_large", fmt.Errorf("feishu: card of %d bytes exceeds 30 KB", len(content)))
	}
	c := string(content)
	return p.call(ctx, "patch", func(opt larkcore.RequestOptionFunc) (apiResult, error) {
		resp, err := p.im.Message.Patch(ctx, larkim.NewPatchMessageReqBuilder().MessageId(messageID).
			Body(&larkim.PatchMessageReqBody{Content: &c}).Build(), opt)
		if err != nil {
			return apiResult{}, err
		}
		return apiResult{code: resp.Code, msg: resp.Msg, resp: resp.ApiResp}, nil
	})
}

func (p *Platform) create(ctx context.Context, idType, to, msgType, content, uuid string) (string, error) {
	var id string
	err := p.call(ctx, "create", func(opt larkcore.RequestOptionFunc) (apiResult, error) {
		resp, err := p.im.Message.Create(ctx, larkim.NewCreateMessageReqBuilder().ReceiveIdType(idType).
			Body(&larkim.CreateMessageReqBody{ReceiveId: &to, MsgType: &msgType, Content: &content, Uuid: &uuid}).Build(), opt)
		if err != nil {
			return apiResult{}, err
		}
		if resp.Data != nil && resp.Data.MessageId != nil {
			id = *resp.Data.MessageId
		}
		return apiResult{code: resp.Code, msg: resp.Msg, resp: resp.ApiResp}, nil
	})
	return id, err
}

func (p *Platform) reply(ctx context.Context, parent, msgType, content, uuid string) (string, error) {
	var id string
	err := p.call(ctx, "reply", func(opt larkcore.RequestOptionFunc) (apiResult, error) {
		resp, err := p.im.Message.Reply(ctx, larkim.NewReplyMessageReqBuilder().MessageId(parent).
			Body(&larkim.ReplyMessageReqBody{MsgType: &msgType, Content: &content, Uuid: &uuid}).Build(), opt)
		if err != nil {
			return apiResult{}, err
		}
		if resp.Data != nil && resp.Data.MessageId != nil {
			id = *resp.Data.MessageId
		}
		return apiResult{code: resp.Code, msg: resp.Msg, resp: resp.ApiResp}, nil
	})
	return id, err
}

type apiResult struct {
	code int
	msg  string
	resp *larkcore.ApiResp
}

// call runs one Open API call with the tenant token, once more with a fresh token if Feishu
// rejected the cached one, and classifies the outcome for the outbox.
func (p *Platform) call(ctx context.Context, op string, do func(larkcore.RequestOptionFunc) (apiResult, error)) error {
	for attempt := 0; ; attempt++ {
		tok, err := p.tokens.token(ctx)
		if err != nil {
			// Without a token nothing can be sent, but a later try may have one (a wrong secret
			// gets fixed, Feishu's auth recovers): keep the message.
			var se *bot.SendError
			if errors.As(classify(op, err), &se) {
				se.Retryable, se.Code = true, "token_"+se.Code
				return se
			}
			return bot.Temporary("token", 0, err)
		}
		res, err := do(larkcore.WithTenantAccessToken(tok))
		if err != nil {
			return classify(op, err)
		}
		if res.code == 0 {
			return nil
		}
		if tokenRejected(res.code) && attempt == 0 {
			p.tokens.forget(ctx)
			continue
		}
		var after time.Duration
		if res.resp != nil {
			after = retryAfter(res.resp.Header)
		}
		return classifyCode(op, res.code, res.msg, after)
	}
}

func classifyCode(op string, code int, msg string, after time.Duration) error {
	err := fmt.Errorf("feishu %s: %w", op, &codeError{code: code, msg: msg})
	c := strconv.Itoa(code)
	switch {
	case code == codeChatRateLimit || code == codeAppRateLimit:
		return bot.Temporary(c, after, err)
	case tokenRejected(code):
		return bot.Temporary(c, 0, err)
	}
	return bot.Permanent(c, err)
}

// classify turns a transport failure into a SendError: timeouts, 429 and 5xx are temporary.
func classify(op string, err error) error {
	err = fmt.Errorf("feishu %s: %w", op, err)
	var se *statusError
	var ce *codeError
	var ct *larkcore.ClientTimeoutError
	var st *larkcore.ServerTimeoutError
	var df *larkcore.DialFailedError
	switch {
	case errors.As(err, &se):
		return bot.Temporary("http_"+strconv.Itoa(se.status), se.after, err)
	case errors.As(err, &ce):
		return classifyCode(op, ce.code, ce.msg, 0)
	case errors.As(err, &ct), errors.As(err, &st), errors.Is(err, context.DeadlineExceeded):
		return bot.Temporary("timeout", 0, err)
	case errors.As(err, &df):
		return bot.Temporary("dial", 0, err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return bot.Temporary("timeout", 0, err)
	}
	return bot.Temporary("network", 0, err) // connection reset, DNS: worth another try
}

// statusClient is the SDK's HTTP client: it turns 429 and 5xx answers into a *statusError
// carrying Retry-After, because the SDK would otherwise fail on a non-JSON body and lose the
// status code.
type statusClient struct{ c *http.Client }

type statusError struct {
	status int
	after  time.Duration
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("http %d %s: %s", e.status, http.StatusText(e.status), e.body)
}

func (s statusClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &statusError{status: resp.StatusCode, after: retryAfter(resp.Header), body: strings.TrimSpace(string(body))}
	}
	return resp, nil
}

// retryAfter reads Retry-After (seconds) or Feishu's x-ogw-ratelimit-reset.
func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"Retry-After", "X-Ogw-Ratelimit-Reset"} {
		if v := h.Get(k); v != "" {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// uuidFor is Feishu's idempotency key for an outbound: 32 hex characters (the API takes at
// most 50) from a hash of the outbox id.
func uuidFor(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// receiver picks receive_id_type and receive_id.
func receiver(o bot.Outbound) (idType, id string, err error) {
	switch {
	case o.ChatID != "":
		return "chat_id", strings.TrimPrefix(o.ChatID, Name+":"), nil
	case o.UserID != "":
		open, ok := strings.CutPrefix(o.UserID, Name+":")
		if !ok || open == "" {
			return "", "", bot.Permanent("bad_user", fmt.Errorf("feishu: %q is not a Feishu user", o.UserID))
		}
		return "open_id", open, nil
	}
	return "", "", bot.Permanent("no_target", errors.New("feishu: outbound without chat or user"))
}

// renderOutbound builds msg_type and content.
func renderOutbound(o bot.Outbound) (msgType, content string, err error) {
	if o.Card != nil {
		b, err := CardJSON(*o.Card)
		if err != nil {
			return "", "", bot.Permanent("render", err)
		}
		if len(b) > maxCardBytes {
			return "", "", bot.Permanent("too_large", fmt.Errorf("feishu: card of %d bytes exceeds 30 KB", len(b)))
		}
		return "interactive", string(b), nil
	}
	if o.Text == "" && len(o.Mentions) == 0 {
		return "", "", bot.Permanent("empty", errors.New("feishu: nothing to send"))
	}
	b, err := TextContent(o.Text, o.Mentions)
	if err != nil {
		return "", "", bot.Permanent("render", err)
	}
	if len(b) > maxTextBytes {
		return "", "", bot.Permanent("too_large", fmt.Errorf("feishu: text of %d bytes exceeds 150 KB", len(b)))
	}
	return "text", string(b), nil
}

// sdkLogger is the SDK's logger interface over slog. The SDK's debug lines are dropped: some
// carry whole event payloads (the long connection logs each one), which hold personal data.
type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) Debug(context.Context, ...any)         {}
func (s sdkLogger) Info(ctx context.Context, args ...any) { s.l.InfoContext(ctx, fmt.Sprint(args...)) }
func (s sdkLogger) Warn(ctx context.Context, args ...any) { s.l.WarnContext(ctx, fmt.Sprint(args...)) }
func (s sdkLogger) Error(ctx context.Context, args ...any) {
	s.l.ErrorContext(ctx, fmt.Sprint(args...))
}
