package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// MaxBody bounds a callback body; WeCom's are a few KiB.
const MaxBody = 1 << 20

// ackWithin is how long a callback may take to record its event: WeCom waits 5 s, then
// retries; the AI bot's URL verification must answer within 1 s (it does no I/O).
const ackWithin = 4 * time.Second

// Routes implements bot.Router.
func (p *Platform) Routes(mux *http.ServeMux, in bot.Receiver) {
	if p.app != nil {
		mux.HandleFunc("GET /wecom/callback", p.verify(p.app, "app"))
		mux.HandleFunc("POST /wecom/callback", func(w http.ResponseWriter, r *http.Request) { p.appCallback(w, r, in) })
	}
	if p.aibot != nil {
		mux.HandleFunc("GET /wecom/aibot", p.verify(p.aibot, "aibot"))
		mux.HandleFunc("POST /wecom/aibot", func(w http.ResponseWriter, r *http.Request) { p.aibotCallback(w, r, in) })
	}
}

// refusal is a callback turned away, with the status it gets.
type refusal struct {
	status int
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }

func refuse(status int, err error) error { return &refusal{status, err} }

// fail answers a refused or failed callback and logs why, without the body (personal data).
func (p *Platform) fail(w http.ResponseWriter, r *http.Request, kind string, err error) {
	status := http.StatusInternalServerError
	var rf *refusal
	if errors.As(err, &rf) {
		status = rf.status
	}
	p.log.Warn("wecom callback refused", "callback", kind, "status", status, "remote", r.RemoteAddr, "err", err)
	http.Error(w, http.StatusText(status), status)
}

// open checks the query's timestamp and signature over encrypted, and decrypts it.
func (p *Platform) open(c *Crypto, r *http.Request, encrypted string) ([]byte, error) {
	q := r.URL.Query()
	ts := q.Get("timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, fmt.Errorf("bad timestamp %q", ts))
	}
	if skew := p.o.Now().Sub(time.Unix(sec, 0)); skew > p.o.MaxSkew || skew < -p.o.MaxSkew {
		return nil, refuse(http.StatusBadRequest, fmt.Errorf("timestamp %s is %v off", ts, skew.Round(time.Second)))
	}
	if encrypted == "" {
		return nil, refuse(http.StatusBadRequest, errors.New("nothing encrypted"))
	}
	if err := c.Verify(q.Get("msg_signature"), ts, q.Get("nonce"), encrypted); err != nil {
		return nil, refuse(http.StatusForbidden, err)
	}
	plain, err := c.Decrypt(encrypted)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, err)
	}
	return plain, nil
}

// verify answers the URL verification WeCom makes when the callback URL is saved: the
// decrypted echostr, as plain text.
func (p *Platform) verify(c *Crypto, kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// echostr is base64: a '+' that arrived unescaped was read as a space.
		echo := strings.ReplaceAll(r.URL.Query().Get("echostr"), " ", "+")
		plain, err := p.open(c, r, echo)
		if err != nil {
			p.fail(w, r, kind+" verification", err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(plain)
	}
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, refuse(http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", MaxBody))
		}
		return nil, refuse(http.StatusBadRequest, fmt.Errorf("read body: %w", err))
	}
	return body, nil
}

func (p *Platform) appCallback(w http.ResponseWriter, r *http.Request, in bot.Receiver) {
	if err := p.handleApp(r.Context(), w, r, in); err != nil {
		p.fail(w, r, "app", err)
		return
	}
	w.WriteHeader(http.StatusOK) // an empty answer: nothing to reply passively
}

func (p *Platform) handleApp(ctx context.Context, w http.ResponseWriter, r *http.Request, in bot.Receiver) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	env, err := parseEnvelope(body)
	if err != nil {
		return refuse(http.StatusBadRequest, fmt.Errorf("envelope: %w", err))
	}
	plain, err := p.open(p.app, r, strings.TrimSpace(env.Encrypt))
	if err != nil {
		return err
	}
	m, err := parseAppXML(plain)
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	if m.ToUserName != "" && m.ToUserName != p.o.CorpID {
		return refuse(http.StatusBadRequest, fmt.Errorf("message to %q, not this corp", m.ToUserName))
	}
	ctx, cancel := context.WithTimeout(ctx, ackWithin)
	defer cancel()
	switch {
	case m.MsgType == "event" && m.Event == "change_external_chat":
		return p.knowGroup(ctx, m)
	case m.MsgType == "event" && m.Event == "template_card_event" && m.ResponseCode != "" && m.TaskID != "":
		// The tap's response_code lets the card be updated once: kept before the event is
		// recorded, so the update the handlers cause finds it.
		if err := p.pushCode(ctx, m.TaskID, m.ResponseCode); err != nil {
			return fmt.Errorf("keep response code: %w", err)
		}
	}
	msg, err := appMessage(m, p.loc())
	if errors.Is(err, errIgnored) {
		p.log.Debug("wecom callback ignored", "callback", "app", "why", err)
		return nil
	}
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	return p.receive(ctx, in, msg)
}

func (p *Platform) aibotCallback(w http.ResponseWriter, r *http.Request, in bot.Receiver) {
	if err := p.handleAIBot(r.Context(), w, r, in); err != nil {
		p.fail(w, r, "aibot", err)
		return
	}
	w.WriteHeader(http.StatusOK) // empty: the reply goes through response_url
}

func (p *Platform) handleAIBot(ctx context.Context, w http.ResponseWriter, r *http.Request, in bot.Receiver) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var env struct {
		Encrypt string `json:"encrypt"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return refuse(http.StatusBadRequest, fmt.Errorf("envelope: %w", err))
	}
	plain, err := p.open(p.aibot, r, env.Encrypt)
	if err != nil {
		return err
	}
	m, err := parseAIBot(plain)
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	msg, err := aibotMessage(m, p.o.BotName, p.o.Now())
	if errors.Is(err, errIgnored) {
		p.log.Debug("wecom callback ignored", "callback", "aibot", "why", err)
		return nil
	}
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	ctx, cancel := context.WithTimeout(ctx, ackWithin)
	defer cancel()
	return p.receive(ctx, in, msg)
}

// receive records the event durably (the pipeline dedupes WeCom's retries by event id across
// replicas); a failure answers 503 so WeCom tries again.
func (p *Platform) receive(ctx context.Context, in bot.Receiver, m bot.Message) error {
	if err := in.Receive(ctx, m); err != nil {
		return refuse(http.StatusServiceUnavailable, fmt.Errorf("record event %s: %w", m.Key(), err))
	}
	return nil
}

// knowGroup records a customer group WeCom announces (created, changed) so it can be bound to
// an org node with 绑定; a known group is left as it is.
func (p *Platform) knowGroup(ctx context.Context, m appXML) error {
	if m.ChatID == "" || m.ChangeType == "dismiss" {
		p.log.Info("wecom customer group change", "chat", m.ChatID, "change", m.ChangeType, "detail", m.UpdateDetail)
		return nil
	}
	id := GroupID(m.ChatID)
	_, err := p.o.Directory.GetGroup(ctx, id)
	if err == nil {
		return nil
	}
	if community.ErrorCode(err) != community.ENotFound {
		return refuse(http.StatusServiceUnavailable, err)
	}
	p.log.Info("wecom customer group seen", "chat", m.ChatID, "change", m.ChangeType)
	if err := p.o.Directory.PutGroup(ctx, community.Group{ID: id, Platform: Name, Chat: m.ChatID}); err != nil {
		return refuse(http.StatusServiceUnavailable, err)
	}
	return nil
}

func (p *Platform) loc() *time.Location { return p.o.Now().Location() }
