package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults is what a fake platform does instead of answering normally, as fractions of the
// send calls (token and bot-info calls are never failed: they are not what is measured).
type Faults struct {
	RateLimit float64       // answer 429 with the platform's rate-limit code and Retry-After: 1
	Server    float64       // answer 500/502/503
	Slow      float64       // answer correctly but only after SlowFor
	SlowFor   time.Duration // default 3 s
	Drop      float64       // accept the message, then drop the connection without an answer
}

func (f Faults) any() bool { return f.RateLimit+f.Server+f.Slow+f.Drop > 0 }

// delivery is what a fake knows of one message delivered into a chat.
type delivery struct {
	first   time.Time // the first send call for it (before any fault)
	created int       // messages created for it: more than one is a duplicate delivery
	calls   int
}

// sendLog counts send calls by key (the message replied to, or a WeCom msgid) and by the
// idempotency key the platform dedupes on.
type sendLog struct {
	mu      sync.Mutex
	byKey   map[string]*delivery
	seenKey map[string]string // idempotency key → message id already created
	calls   atomic.Int64
	faults  map[string]int // fault kind → count
	seq     atomic.Int64
}

func newSendLog() *sendLog {
	return &sendLog{byKey: map[string]*delivery{}, seenKey: map[string]string{}, faults: map[string]int{}}
}

// call notes a send call for key at t.
func (l *sendLog) call(key string, t time.Time) {
	l.calls.Add(1)
	l.mu.Lock()
	d := l.byKey[key]
	if d == nil {
		d = &delivery{first: t}
		l.byKey[key] = d
	}
	d.calls++
	l.mu.Unlock()
}

// create delivers a message for key unless idem was delivered already (the platform's own
// idempotency), and returns the message id.
func (l *sendLog) create(key, idem string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id, ok := l.seenKey[idem]; ok && idem != "" {
		return id
	}
	id := "om_fake_" + strconv.FormatInt(l.seq.Add(1), 10)
	if idem != "" {
		l.seenKey[idem] = id
	}
	if d := l.byKey[key]; d != nil {
		d.created++
	}
	return id
}

func (l *sendLog) fault(kind string) {
	l.mu.Lock()
	l.faults[kind]++
	l.mu.Unlock()
}

// snapshot copies the deliveries.
func (l *sendLog) snapshot() map[string]delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]delivery, len(l.byKey))
	for k, d := range l.byKey {
		out[k] = *d
	}
	return out
}

func (l *sendLog) faultCounts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.faults {
		out[k] = v
	}
	return out
}

// wait blocks until every key in keys has a created message, or until d passes.
func (l *sendLog) wait(keys []string, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		missing := 0
		l.mu.Lock()
		for _, k := range keys {
			if dl := l.byKey[k]; dl == nil || dl.created == 0 {
				missing++
			}
		}
		l.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// injector draws faults.
type injector struct {
	f   Faults
	mu  sync.Mutex
	rng *rand.Rand
}

func newInjector(f Faults) *injector {
	if f.SlowFor == 0 {
		f.SlowFor = 3 * time.Second
	}
	return &injector{f: f, rng: rand.New(rand.NewPCG(7, 9))}
}

// draw picks what happens to one call: "", "429", "5xx", "slow" or "drop".
func (in *injector) draw() string {
	if !in.f.any() {
		return ""
	}
	in.mu.Lock()
	x := in.rng.Float64()
	in.mu.Unlock()
	for _, c := range []struct {
		p    float64
		kind string
	}{{in.f.RateLimit, "429"}, {in.f.Server, "5xx"}, {in.f.Slow, "slow"}, {in.f.Drop, "drop"}} {
		if x < c.p {
			return c.kind
		}
		x -= c.p
	}
	return ""
}

// dropConn closes the client's connection without an answer.
func dropConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, as a crashed proxy gives
			}
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// fakeFeishu is the Open API as the bot uses it: tenant token, bot info, send, reply,
// patch, card update. Sends are keyed by the message replied to (the inbound message the
// reply answers) or the receive_id, and deduped by uuid as Feishu does.
type fakeFeishu struct {
	srv   *http.Server
	URL   string
	log   *sendLog
	inj   *injector
	Token string
}

func startFakeFeishu(f Faults) (*fakeFeishu, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ff := &fakeFeishu{URL: "http://" + ln.Addr().String(), log: newSendLog(), inj: newInjector(f), Token: "t-bench"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /open-apis/auth/v3/tenant_access_token/internal", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		writeJSONResp(w, 200, map[string]any{"code": 0, "msg": "ok", "tenant_access_token": ff.Token, "expire": 7200})
	})
	mux.HandleFunc("GET /open-apis/bot/v3/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSONResp(w, 200, map[string]any{"code": 0, "msg": "ok", "bot": map[string]any{"activate_status": 2, "app_name": "邻里帮", "open_id": "ou_bot"}})
	})
	mux.HandleFunc("POST /open-apis/im/v1/messages", func(w http.ResponseWriter, r *http.Request) {
		ff.send(w, r, "to:"+r.URL.Query().Get("receive_id_type"))
	})
	mux.HandleFunc("POST /open-apis/im/v1/messages/{id}/reply", func(w http.ResponseWriter, r *http.Request) {
		ff.send(w, r, "reply:"+r.PathValue("id"))
	})
	mux.HandleFunc("PATCH /open-apis/im/v1/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		ff.send(w, r, "patch:"+r.PathValue("id"))
	})
	mux.HandleFunc("POST /open-apis/interactive/v1/card/update", func(w http.ResponseWriter, r *http.Request) {
		ff.send(w, r, "card_update")
	})
	ff.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go ff.srv.Serve(ln)
	return ff, nil
}

func (ff *fakeFeishu) Close() { ff.srv.Close() }

func (ff *fakeFeishu) send(w http.ResponseWriter, r *http.Request, key string) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var b struct {
		ReceiveID string `json:"receive_id"`
		UUID      string `json:"uuid"`
	}
	json.Unmarshal(body, &b)
	if strings.HasPrefix(key, "to:") {
		key = "to:" + b.ReceiveID
	}
	if r.Header.Get("Authorization") != "Bearer "+ff.Token {
		writeJSONResp(w, 400, map[string]any{"code": 99991663, "msg": "invalid access token"})
		return
	}
	ff.log.call(key, at)
	switch kind := ff.inj.draw(); kind {
	case "429":
		ff.log.fault(kind)
		w.Header().Set("Retry-After", "1")
		writeJSONResp(w, 429, map[string]any{"code": 99991400, "msg": "request trigger frequency limit"})
		return
	case "5xx":
		ff.log.fault(kind)
		writeJSONResp(w, []int{500, 502, 503}[ff.log.calls.Load()%3], map[string]any{"code": 1, "msg": "internal error"})
		return
	case "slow":
		ff.log.fault(kind)
		time.Sleep(ff.inj.f.SlowFor)
	case "drop":
		// The message goes out, the answer is lost: the retry must not deliver it twice.
		ff.log.fault(kind)
		ff.log.create(key, b.UUID)
		dropConn(w)
		return
	}
	id := ff.log.create(key, b.UUID)
	writeJSONResp(w, 200, map[string]any{"code": 0, "msg": "success", "data": map[string]any{"message_id": id}})
}

func writeJSONResp(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
