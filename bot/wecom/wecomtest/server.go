// Package wecomtest is a fake WeCom for tests: an API server (gettoken, message/send,
// update_template_card, group robot webhooks, the AI bot's response_url) that records every
// request and can be told to fail or be slow, and builders of real encrypted, signed callbacks.
package wecomtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// API paths the fake serves.
const (
	PathGetToken   = "/cgi-bin/gettoken"
	PathSend       = "/cgi-bin/message/send"
	PathUpdateCard = "/cgi-bin/message/update_template_card"
	PathWebhook    = "/cgi-bin/webhook/send"
	PathResponse   = "/cgi-bin/aibot/response"
)

// Error codes the fake answers with.
const (
	CodeBadSecret    = 40001
	CodeInvalidToken = 40014
	CodeExpiredToken = 42001
	CodeBadResponse  = 40099 // a response code unknown or already used (the fake's choice)
	CodeBadRobotKey  = 93000
)

// Request is one recorded call.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Body   []byte
}

// JSON decodes the body.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Fault makes the next Times requests to a path fail or answer late.
type Fault struct {
	Status  int           // HTTP status instead of 200 (0: 200)
	ErrCode int           // errcode in the answer
	ErrMsg  string        //
	Delay   time.Duration // answer after this long, or when the client gives up
	Times   int           // requests it applies to; 0 means 1
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	URL    string
	CorpID string
	Secret string
	// RobotKeys, if set, are the only webhook keys accepted.
	RobotKeys []string

	srv *httptest.Server

	mu        sync.Mutex
	reqs      []Request
	changed   chan struct{}
	faults    map[string][]Fault
	tokens    map[string]bool // issued → still valid
	seq       int
	codes     map[string]bool // update_template_card response codes → unused
	responses map[string]bool // response_url codes → unused
}

// New starts a fake WeCom; it stops with the test.
func New(tb testing.TB, corpID, secret string) *Server {
	tb.Helper()
	s := &Server{
		CorpID: corpID, Secret: secret,
		changed: make(chan struct{}), faults: map[string][]Fault{},
		tokens: map[string]bool{}, codes: map[string]bool{}, responses: map[string]bool{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Fail queues a fault for path.
func (s *Server) Fail(path string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], f)
}

// ExpireTokens makes every token issued so far refused with 42001.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = false
	}
}

// TapCode issues a response code, as WeCom puts in a template_card_event, for one
// update_template_card.
func (s *Server) TapCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	c := "rc-tap-" + strconv.Itoa(s.seq)
	s.codes[c] = true
	return c
}

// ResponseURL issues a one-shot AI bot response_url.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	c := "resp-" + strconv.Itoa(s.seq)
	s.responses[c] = true
	return s.URL + PathResponse + "?response_code=" + c
}

// Requests returns the recorded requests to path ("" for all).
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Await waits until at least n requests to path were recorded and returns them; it fails
// the test after timeout.
func (s *Server) Await(tb testing.TB, path string, n int, timeout time.Duration) []Request {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		s.mu.Lock()
		var got []Request
		for _, r := range s.reqs {
			if r.Path == path {
				got = append(got, r)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-ctx.Done():
			tb.Fatalf("wecomtest: %d requests to %s after %v, want %d", len(got), path, timeout, n)
			return nil
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body})
	close(s.changed)
	s.changed = make(chan struct{})
	var fault *Fault
	if fs := s.faults[r.URL.Path]; len(fs) > 0 {
		f := fs[0]
		fault = &f
		if fs[0].Times--; fs[0].Times == 0 {
			s.faults[r.URL.Path] = fs[1:]
		}
	}
	s.mu.Unlock()

	if fault != nil {
		if fault.Delay > 0 {
			t := time.NewTimer(fault.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if fault.Status != 0 {
			http.Error(w, http.StatusText(fault.Status), fault.Status)
			return
		}
		if fault.ErrCode != 0 {
			answer(w, map[string]any{"errcode": fault.ErrCode, "errmsg": nonEmpty(fault.ErrMsg, "injected")})
			return
		}
	}
	answer(w, s.handle(r, body))
}

func (s *Server) handle(r *http.Request, body []byte) map[string]any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case PathGetToken:
		if q.Get("corpid") != s.CorpID || q.Get("corpsecret") != s.Secret {
			return errAnswer(CodeBadSecret, "invalid credential")
		}
		s.seq++
		tok := "tok-" + strconv.Itoa(s.seq)
		s.tokens[tok] = true
		return map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": 7200}
	case PathSend, PathUpdateCard:
		valid, known := s.tokens[q.Get("access_token")]
		if !known {
			return errAnswer(CodeInvalidToken, "invalid access_token")
		}
		if !valid {
			return errAnswer(CodeExpiredToken, "access_token expired")
		}
		var req map[string]any
		if json.Unmarshal(body, &req) != nil {
			return errAnswer(44004, "empty or invalid json")
		}
		if r.URL.Path == PathUpdateCard {
			code, _ := req["response_code"].(string)
			if !s.codes[code] {
				return errAnswer(CodeBadResponse, "invalid response_code")
			}
			s.codes[code] = false
			return map[string]any{"errcode": 0, "errmsg": "ok"}
		}
		s.seq++
		ans := map[string]any{"errcode": 0, "errmsg": "ok", "msgid": "msg-" + strconv.Itoa(s.seq)}
		if req["msgtype"] == "template_card" {
			code := "rc-send-" + strconv.Itoa(s.seq)
			s.codes[code] = true
			ans["response_code"] = code
		}
		return ans
	case PathWebhook:
		key := q.Get("key")
		if key == "" || (len(s.RobotKeys) > 0 && !slices.Contains(s.RobotKeys, key)) {
			return errAnswer(CodeBadRobotKey, "invalid webhook url")
		}
		return map[string]any{"errcode": 0, "errmsg": "ok"}
	case PathResponse:
		code := q.Get("response_code")
		if !s.responses[code] {
			return errAnswer(CodeBadResponse, "response_url used or expired")
		}
		s.responses[code] = false
		return map[string]any{"errcode": 0, "errmsg": "ok"}
	}
	return errAnswer(404, fmt.Sprintf("no such api %s", r.URL.Path))
}

func errAnswer(code int, msg string) map[string]any {
	return map[string]any{"errcode": code, "errmsg": msg}
}

func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
