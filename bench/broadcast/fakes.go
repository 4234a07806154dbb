package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// fakeServer is a fake Feishu message API or a fake WeCom group robot on 127.0.0.1. It
// answers 429 or 5xx to failRate of the sends and lets timeouts of them hang until the
// client gives up. It enforces its own rate limits (with a little slack for network jitter)
// and counts, per chat, the distinct messages it showed.
type fakeServer struct {
	kind     string // feishu or wecom
	failRate float64
	timeouts float64
	limits   func(chat string) []bot.Limit

	srv *http.Server
	url string

	mu        sync.Mutex
	rng       *rand.Rand
	limiter   bot.LocalLimiter
	seen      map[string]string   // Feishu uuid → message id: its 1-hour idempotency
	shown     map[string][]string // chat → bench ids of the messages shown, in order
	attempts  int
	failures  int
	timedOut  int
	overLimit int
	seq       int
	times     []time.Time // of every attempt
}

// perSecond is how many attempts arrived in each second since start.
func (f *fakeServer) perSecond(start time.Time) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, t := range f.times {
		s := int(t.Sub(start) / time.Second)
		for len(out) <= s {
			out = append(out, 0)
		}
		out[s]++
	}
	return out
}

func startFake(kind string, failRate, timeouts float64, seed uint64, limits func(chat string) []bot.Limit) (*fakeServer, error) {
	f := &fakeServer{kind: kind, failRate: failRate, timeouts: timeouts, limits: limits,
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), seen: map[string]string{}, shown: map[string][]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /open-apis/im/v1/messages", f.feishu)
	mux.HandleFunc("POST /cgi-bin/webhook/send", f.wecom)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	f.url = "http://" + ln.Addr().String()
	go f.srv.Serve(ln)
	return f, nil
}

func (f *fakeServer) Close() { f.srv.Close() }

// outcome decides what happens to one attempt.
type outcome int

const (
	ok outcome = iota
	overLimit
	fail429
	fail5xx
	hang
)

func (f *fakeServer) roll(chat string) outcome {
	f.attempts++
	f.times = append(f.times, time.Now())
	// The slack: a message taken from the client's bucket 20 ms after the last can arrive
	// 19.9 ms after it.
	lims := f.limits(chat)
	for i := range lims {
		lims[i].Burst += 2
	}
	if wait, _ := f.limiter.Take(context.Background(), lims, time.Now()); wait > 0 {
		f.overLimit++
		return overLimit
	}
	r := f.rng.Float64()
	switch {
	case r < f.failRate/2:
		f.failures++
		return fail429
	case r < f.failRate:
		f.failures++
		return fail5xx
	case r < f.failRate+f.timeouts:
		f.timedOut++
		return hang
	}
	return ok
}

// show records a message in chat once per key ("" = no idempotency key) and returns its id.
func (f *fakeServer) show(chat, key, benchID string) string {
	if key != "" {
		if id, ok := f.seen[key]; ok {
			return id
		}
	}
	f.seq++
	id := "om_" + strconv.Itoa(f.seq)
	if key != "" {
		f.seen[key] = id
	}
	f.shown[chat] = append(f.shown[chat], benchID)
	return id
}

// hangUp holds a timed-out request until the client gives up.
func hangUp(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Minute):
	}
}

// feishu is POST /open-apis/im/v1/messages?receive_id_type=chat_id. A timeout hangs after
// the message was shown: the case only the uuid makes safe.
func (f *fakeServer) feishu(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ReceiveID string `json:"receive_id"`
		MsgType   string `json:"msg_type"`
		Content   string `json:"content"`
		UUID      string `json:"uuid"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ReceiveID == "" {
		http.Error(w, `{"code":230001,"msg":"bad request"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	o := f.roll(req.ReceiveID)
	var id string
	if o == ok || o == hang {
		id = f.show(req.ReceiveID, req.UUID, r.Header.Get("X-Bench-ID"))
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch o {
	case overLimit:
		w.Header().Set("x-ogw-ratelimit-reset", "1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":230020,"msg":"This chat is being rate limited"}`)
	case fail429:
		w.Header().Set("x-ogw-ratelimit-reset", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"code":99991400,"msg":"request trigger frequency limit"}`)
	case fail5xx:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"code":1,"msg":"internal error"}`)
	case hang:
		hangUp(r)
	default:
		fmt.Fprintf(w, `{"code":0,"msg":"success","data":{"message_id":%q}}`, id)
	}
}

// wecom is POST /cgi-bin/webhook/send?key=…. A robot has no idempotency key, so a timeout
// here hangs before the message is shown: were it shown, the retry would show it twice and
// no client could tell.
func (f *fakeServer) wecom(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	var req struct {
		MsgType string `json:"msgtype"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || key == "" {
		http.Error(w, `{"errcode":40008,"errmsg":"invalid message type"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	o := f.roll(key)
	if o == ok {
		f.show(key, "", r.Header.Get("X-Bench-ID"))
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch o {
	case overLimit:
		fmt.Fprint(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
	case fail429:
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errcode":-1,"errmsg":"system busy"}`)
	case fail5xx:
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, `bad gateway`)
	case hang:
		hangUp(r)
	default:
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}
}

// tally counts, over chats, how many show id once, more than once, or not at all.
func (f *fakeServer) tally(chats []string, id func(chat string) string) (once, dup, lost int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range chats {
		n := 0
		for _, s := range f.shown[c] {
			if s == id(c) {
				n++
			}
		}
		switch {
		case n == 1:
			once++
		case n > 1:
			dup++
		default:
			lost++
		}
	}
	return once, dup, lost
}

func (f *fakeServer) counters() (attempts, failures, timedOut, overLimit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts, f.failures, f.timedOut, f.overLimit
}

func (f *fakeServer) shownCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.shown {
		n += len(s)
	}
	return n
}
