package oa

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// MaxBody bounds a callback body.
const MaxBody = 1 << 20

// ackWithin is how long a callback may take to record its event: WeChat waits 5 s, then
// retries (three times).
const ackWithin = 4 * time.Second

// Routes implements bot.Router: GET (server URL verification) and POST (messages) at Path.
func (p *Platform) Routes(mux *http.ServeMux, in bot.Receiver) {
	mux.HandleFunc("GET "+Path, p.verify)
	mux.HandleFunc("POST "+Path, func(w http.ResponseWriter, r *http.Request) {
		if err := p.handle(r.Context(), w, r, in); err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("success")) // nothing to reply passively: answers go out as messages
	})
}

type refusal struct {
	status int
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(status int, err error) error { return &refusal{status, err} }

// fail answers a refused callback and logs why, never the body (personal data).
func (p *Platform) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var rf *refusal
	if errors.As(err, &rf) {
		status = rf.status
	}
	p.log.Warn("oa callback refused", "status", status, "remote", r.RemoteAddr, "err", err)
	http.Error(w, http.StatusText(status), status)
}

// checkTime checks the query's timestamp against the window.
func (p *Platform) checkTime(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refuse(http.StatusBadRequest, fmt.Errorf("bad timestamp %q", ts))
	}
	if skew := p.o.Now().Sub(time.Unix(sec, 0)); skew > p.o.MaxSkew || skew < -p.o.MaxSkew {
		return refuse(http.StatusBadRequest, fmt.Errorf("timestamp %s is %v off", ts, skew.Round(time.Second)))
	}
	return nil
}

// verify answers the check WeChat makes when the server URL is saved: signature is
// sha1(sort(token, timestamp, nonce)), and echostr is answered as it is.
func (p *Platform) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := p.checkTime(q.Get("timestamp"))
	if err == nil {
		if err = p.crypto.Verify(q.Get("signature"), q.Get("timestamp"), q.Get("nonce"), ""); err != nil {
			err = refuse(http.StatusForbidden, err)
		}
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(q.Get("echostr")))
}

func (p *Platform) handle(ctx context.Context, w http.ResponseWriter, r *http.Request, in bot.Receiver) error {
	q := r.URL.Query()
	if err := p.checkTime(q.Get("timestamp")); err != nil {
		return err
	}
	if q.Get("encrypt_type") != "aes" {
		// Plain mode would carry residents' messages readable on the wire: only safe mode.
		return refuse(http.StatusBadRequest, errors.New("not safe mode (encrypt_type=aes): set the account's 消息加解密方式 to 安全模式"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refuse(http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", MaxBody))
		}
		return refuse(http.StatusBadRequest, fmt.Errorf("read body: %w", err))
	}
	var env envelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		return refuse(http.StatusBadRequest, fmt.Errorf("envelope: no Encrypt (%v)", err))
	}
	if err := p.crypto.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt); err != nil {
		return refuse(http.StatusForbidden, err)
	}
	plain, err := p.crypto.Decrypt(env.Encrypt) // checks the receive id is our AppID
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	m, err := Decode(plain)
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	if oid := q.Get("openid"); oid != "" && oid != m.FromUserName {
		return refuse(http.StatusBadRequest, errors.New("openid in the query is not the message's sender"))
	}
	ctx, cancel := context.WithTimeout(ctx, ackWithin)
	defer cancel()
	if m.MsgType == "event" && strings.EqualFold(m.Event, "unsubscribe") {
		// Nothing can reach them any more: no sends until they follow again.
		if err := p.markUnreachable(ctx, m.FromUserName, "unsubscribe"); err != nil {
			return refuse(http.StatusServiceUnavailable, err)
		}
		return nil
	}
	msg, err := message(m, p.o.Now().Location())
	if errors.Is(err, errIgnored) {
		p.log.Debug("oa callback ignored", "type", m.MsgType, "event", m.Event)
		return nil
	}
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	// What the person does (a message, a follow, a scan, a menu tap) opens the 48-hour window.
	if err := p.seen(ctx, m.FromUserName); err != nil {
		p.log.Warn("oa last-seen not recorded", "err", err)
	}
	// The inbox dedupes WeChat's retries by msg.Key() across replicas.
	if err := in.Receive(ctx, msg); err != nil {
		return refuse(http.StatusServiceUnavailable, fmt.Errorf("record event %s: %w", msg.Key(), err))
	}
	return nil
}

type seenDoc struct {
	At time.Time `json:"at"`
}

// seen records the person's last message and clears an unreachable mark: they follow again.
func (p *Platform) seen(ctx context.Context, openID string) error {
	raw, err := json.Marshal(seenDoc{At: p.o.Now()})
	if err != nil {
		return err
	}
	if err := p.o.Store.PutDoc(ctx, CollSeen, openID, raw); err != nil {
		return fmt.Errorf("put %s: %w", CollSeen, err)
	}
	return p.o.Store.DeleteDoc(ctx, CollUnreachable, openID)
}

// lastSeen is the person's last message, zero if none is known.
func (p *Platform) lastSeen(ctx context.Context, openID string) time.Time {
	raw, err := p.o.Store.GetDoc(ctx, CollSeen, openID)
	if err != nil {
		return time.Time{}
	}
	var d seenDoc
	if json.Unmarshal(raw, &d) != nil {
		return time.Time{}
	}
	return d.At
}

// markUnreachable records that nothing can be sent to the person (why: an errcode or
// "unsubscribe") until they write or follow again.
func (p *Platform) markUnreachable(ctx context.Context, openID, why string) error {
	raw, err := json.Marshal(map[string]any{"why": why, "at": p.o.Now()})
	if err != nil {
		return err
	}
	if err := p.o.Store.PutDoc(ctx, CollUnreachable, openID, raw); err != nil {
		return fmt.Errorf("put %s: %w", CollUnreachable, err)
	}
	return nil
}
