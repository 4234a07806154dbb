// Package oatest is a fake WeChat Service Account (服务号) for tests: an API server speaking
// the real wire formats (cgi-bin/token, message/custom/send, message/template/send,
// qrcode/create, showqrcode, menu/create) that records every request and can be told to
// answer with an errcode, and builders of real signed, safe-mode encrypted callbacks.
package oatest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// API paths the fake serves.
const (
	PathToken       = "/cgi-bin/token"
	PathCustomSend  = "/cgi-bin/message/custom/send"
	PathTemplate    = "/cgi-bin/message/template/send"
	PathQRCreate    = "/cgi-bin/qrcode/create"
	PathShowQR      = "/cgi-bin/showqrcode"
	PathMenuCreate  = "/cgi-bin/menu/create"
	CodeNotFollow   = 43004
	CodeWindow      = 45015
	CodeFreqLimit   = 45009
	CodeRefused     = 43101
	CodeBadToken    = 40001
	CodeBadAppCreds = 40125
)

// PNG is the image showqrcode answers with (a PNG signature and a little more).
var PNG = []byte("\x89PNG\r\n\x1a\nfake-qr")

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

// Server is the fake. Call New.
type Server struct {
	URL    string
	AppID  string
	Secret string

	srv *httptest.Server

	mu      sync.Mutex
	reqs    []Request
	changed chan struct{}
	faults  map[string][]int // path → errcodes for the next requests
	tokens  map[string]bool
	seq     int
}

// New starts a fake account; it stops with the test.
func New(tb testing.TB, appID, secret string) *Server {
	tb.Helper()
	s := &Server{AppID: appID, Secret: secret, changed: make(chan struct{}), faults: map[string][]int{}, tokens: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Fail makes the next request to path answer with errcode code (once per call).
func (s *Server) Fail(path string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], code)
}

// Requests returns the recorded requests to path.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []Request
	for _, r := range s.reqs {
		if r.Path == path {
			got = append(got, r)
		}
	}
	return got
}

// Await waits until at least n requests to path were recorded and returns them; it fails the
// test after timeout.
func (s *Server) Await(tb testing.TB, path string, n int, timeout time.Duration) []Request {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if got := s.Requests(path); len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-ctx.Done():
			tb.Fatalf("oatest: %d requests to %s after %v, want %d", len(s.Requests(path)), path, timeout, n)
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
	var fault int
	if f := s.faults[r.URL.Path]; len(f) > 0 {
		fault, s.faults[r.URL.Path] = f[0], f[1:]
	}
	s.mu.Unlock()
	q := r.URL.Query()
	if r.URL.Path == PathShowQR {
		if q.Get("ticket") == "" {
			http.Error(w, "no ticket", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "image/jpg")
		w.Write(PNG)
		return
	}
	if fault != 0 {
		answer(w, map[string]any{"errcode": fault, "errmsg": "fake fault"})
		return
	}
	if r.URL.Path == PathToken {
		if q.Get("grant_type") != "client_credential" || q.Get("appid") != s.AppID || q.Get("secret") != s.Secret {
			answer(w, map[string]any{"errcode": CodeBadAppCreds, "errmsg": "invalid appsecret"})
			return
		}
		s.mu.Lock()
		s.seq++
		tok := "oa-token-" + strconv.Itoa(s.seq)
		s.tokens[tok] = true
		s.mu.Unlock()
		answer(w, map[string]any{"access_token": tok, "expires_in": 7200})
		return
	}
	s.mu.Lock()
	valid := s.tokens[q.Get("access_token")]
	s.mu.Unlock()
	if !valid {
		answer(w, map[string]any{"errcode": CodeBadToken, "errmsg": "invalid credential"})
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		answer(w, map[string]any{"errcode": 47001, "errmsg": "data format error"})
		return
	}
	switch r.URL.Path {
	case PathCustomSend:
		if req["touser"] == nil || req["msgtype"] == nil {
			answer(w, map[string]any{"errcode": 40003, "errmsg": "invalid openid"})
			return
		}
		answer(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	case PathTemplate:
		if req["touser"] == nil || req["template_id"] == nil {
			answer(w, map[string]any{"errcode": 40037, "errmsg": "invalid template_id"})
			return
		}
		answer(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": 200228332})
	case PathQRCreate:
		info, _ := req["action_info"].(map[string]any)
		scene, _ := info["scene"].(map[string]any)
		str, _ := scene["scene_str"].(string)
		if req["action_name"] != "QR_LIMIT_STR_SCENE" || str == "" || len(str) > 64 {
			answer(w, map[string]any{"errcode": 40053, "errmsg": "invalid action info"})
			return
		}
		ticket := "ticket-" + url.QueryEscape(str)
		answer(w, map[string]any{"ticket": ticket, "url": "http://weixin.qq.com/q/" + url.QueryEscape(str)})
	case PathMenuCreate:
		if _, ok := req["button"].([]any); !ok {
			answer(w, map[string]any{"errcode": 40016, "errmsg": "invalid button size"})
			return
		}
		answer(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	default:
		http.NotFound(w, r)
	}
}

func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("oatest: %v", err))
	}
}
