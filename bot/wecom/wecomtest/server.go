// Package wecomtest is a fake WeCom for tests: an API server (gettoken, message/send,
// update_template_card, media/upload, group robot webhooks, the AI bot's response_url, web
// login: the 网页授权 and 扫码登录 pages and auth/getuserinfo) that records every
// request and can be told to fail, be slow or lose its answer, and builders of real encrypted,
// signed callbacks. Like WeCom, its message/send honours enable_duplicate_check.
package wecomtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	PathUpload     = "/cgi-bin/media/upload"
)

// Error codes the fake answers with.
const (
	CodeBadSecret    = 40001
	CodeInvalidToken = 40014
	CodeExpiredToken = 42001
	CodeBadResponse  = 40099 // a response code unknown or already used (the fake's choice)
	CodeBadRobotKey  = 93000
	CodeBadMediaID   = 40007 // an image message's media_id was never uploaded
	CodeBadUpload    = 40005 // media/upload without a "media" file part, or of a type other than image
)

// Request is one recorded call.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Body   []byte
	Header http.Header
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
	// Lost handles the request (a message is delivered) and then drops the connection without
	// an answer, so the client cannot know it went through.
	Lost  bool
	Times int // requests it applies to; 0 means 1
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	URL    string
	CorpID string
	Secret string
	// RobotKeys, if set, are the only webhook keys accepted.
	RobotKeys []string
	// Now is the clock duplicate checks and login codes are timed by; nil means time.Now.
	Now func() time.Time
	// AgentID, if set, is the only agentid the login pages accept.
	AgentID string
	// TrustedDomains, if set, are the only redirect_uri hosts the login pages accept (the
	// app's 可信域名).
	TrustedDomains []string

	srv *httptest.Server

	mu        sync.Mutex
	reqs      []Request
	changed   chan struct{}
	faults    map[string][]Fault
	tokens    map[string]bool // issued → still valid
	seq       int
	codes     map[string]bool   // update_template_card response codes → unused
	responses map[string]bool   // response_url codes → unused
	delivered []Request         // message/send calls that delivered a message
	recent    map[string]sent   // duplicate-check key → the message delivered for it
	media     map[string][]byte // media_id → the file uploaded

	visitor    visitor               // who the login pages sign in
	loginCodes map[string]*loginCode // web login codes
}

// sent is a message/send that delivered a message, for the duplicate check.
type sent struct {
	msgid string
	at    time.Time
}

// Duplicate check intervals (seconds): WeCom's default and its maximum.
const (
	DefaultDuplicateInterval = 1800
	MaxDuplicateInterval     = 4 * 3600
)

// New starts a fake WeCom; it stops with the test.
func New(tb testing.TB, corpID, secret string) *Server {
	tb.Helper()
	s := &Server{
		CorpID: corpID, Secret: secret,
		changed: make(chan struct{}), faults: map[string][]Fault{},
		tokens: map[string]bool{}, codes: map[string]bool{}, responses: map[string]bool{},
		recent: map[string]sent{}, media: map[string][]byte{},
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

// Delivered returns the message/send requests that delivered a message: every one but those
// the duplicate check dropped.
func (s *Server) Delivered() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delivered)
}

// Visible is a message's content as people read it: without zero-width characters.
func Visible(content string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
			return -1
		}
		return r
	}, content)
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
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Header: r.Header.Clone()})
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
		if fault.Lost {
			s.handle(r, body)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the answer
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
	if r.URL.Path == PathOAuthAuthorize || r.URL.Path == PathSSOLogin {
		s.loginPage(w, r)
		return
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
	case PathUpload:
		if err := s.tokenErr(q.Get("access_token")); err != nil {
			return err
		}
		data, ok := uploaded(r.Header.Get("Content-Type"), body)
		if !ok || q.Get("type") != "image" {
			return errAnswer(CodeBadUpload, "invalid media upload")
		}
		s.seq++
		id := "media-" + strconv.Itoa(s.seq)
		s.media[id] = data
		return map[string]any{"errcode": 0, "errmsg": "ok", "type": "image", "media_id": id, "created_at": strconv.FormatInt(s.now().Unix(), 10)}
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
		if req["msgtype"] == "image" {
			img, _ := req["image"].(map[string]any)
			id, _ := img["media_id"].(string)
			if _, ok := s.media[id]; !ok {
				return errAnswer(CodeBadMediaID, "invalid media_id")
			}
		}
		dupKey, interval := duplicateKey(req)
		if dupKey != "" {
			if prev, ok := s.recent[dupKey]; ok && s.now().Sub(prev.at) < interval {
				// WeCom drops the repeat; the fake answers as for the message first sent.
				return map[string]any{"errcode": 0, "errmsg": "ok", "msgid": prev.msgid}
			}
		}
		s.seq++
		ans := map[string]any{"errcode": 0, "errmsg": "ok", "msgid": "msg-" + strconv.Itoa(s.seq)}
		s.delivered = append(s.delivered, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body})
		if dupKey != "" {
			s.recent[dupKey] = sent{msgid: ans["msgid"].(string), at: s.now()}
		}
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
	case PathGetUserInfo:
		return s.getUserInfoLocked(q)
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

// Media is the file uploaded as media_id, nil if none was.
func (s *Server) Media(id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.media[id]
}

// tokenErr is the answer to a call with an unknown or expired access token; nil if valid.
func (s *Server) tokenErr(tok string) map[string]any {
	valid, known := s.tokens[tok]
	if !known {
		return errAnswer(CodeInvalidToken, "invalid access_token")
	}
	if !valid {
		return errAnswer(CodeExpiredToken, "access_token expired")
	}
	return nil
}

// uploaded is the file part "media" of a multipart body.
func uploaded(ctype string, body []byte) ([]byte, bool) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/form-data" {
		return nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, false
		}
		if part.FormName() == "media" && part.FileName() != "" {
			data, err := io.ReadAll(part)
			return data, err == nil && len(data) > 0
		}
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// duplicateKey is what WeCom's duplicate check compares for a message/send body with
// enable_duplicate_check 1 (recipients, app, message type and content), and its interval;
// "" when the check is off.
func duplicateKey(req map[string]any) (string, time.Duration) {
	if on, _ := req["enable_duplicate_check"].(float64); on != 1 {
		return "", 0
	}
	secs, _ := req["duplicate_check_interval"].(float64)
	if secs <= 0 {
		secs = DefaultDuplicateInterval
	}
	secs = min(secs, MaxDuplicateInterval)
	msgtype, _ := req["msgtype"].(string)
	content, _ := json.Marshal(req[msgtype]) // map keys sorted: canonical
	key := fmt.Sprint(req["touser"], "\x00", req["toparty"], "\x00", req["totag"], "\x00", req["agentid"], "\x00", msgtype, "\x00", string(content))
	return key, time.Duration(secs) * time.Second
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
