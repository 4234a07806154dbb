package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

// running is the real app (demo playground config, embedded store in a temporary directory)
// serving on a loopback port.
type running struct {
	URL  string
	Addr string
	App  *app.App
}

func startApp(t *testing.T, limits app.ServerLimits, features ...app.Feature) *running {
	t.Helper()
	return startAppLogging(t, limits, slog.New(slog.DiscardHandler), features...)
}

func startAppLogging(t *testing.T, limits app.ServerLimits, log *slog.Logger, features ...app.Feature) *running {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"NEIGHBORBOT_DATA": t.TempDir(), "NEIGHBORBOT_ADDR": "127.0.0.1:0"}[k]
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg, Log: log, HTTP: limits, Features: features})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	})
	return &running{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), App: a}
}

// postJSON posts body as JSON and returns the status and the answer.
func postJSON(t *testing.T, url string, body any) (int, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// The playground's live stream lasts as long as the page is open, far past the server's
// WriteTimeout: a message said after that still arrives on it.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	const timeout = time.Second
	r := startApp(t, app.ServerLimits{ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: timeout})
	res, err := http.Get(r.URL + "/local/stream?group=local:xingfuli")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	if first := <-lines; !strings.HasPrefix(first, "retry:") {
		t.Fatalf("stream began with %q", first)
	}
	// The deadline under test is real time: let it pass, with margin.
	<-time.After(2 * timeout)

	// ?wait= gives the post its own deadline: a slow disk on a loaded machine does not fail it.
	if status, out := postJSON(t, r.URL+"/local/messages?wait=100ms", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "谢谢大家"}); status != http.StatusAccepted {
		t.Fatalf("post = %d %s", status, out)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended %v after it opened, with the server's WriteTimeout %v", 2*timeout, timeout)
			}
			if strings.HasPrefix(line, "data:") && strings.Contains(line, "谢谢大家") {
				return
			}
		case <-deadline:
			t.Fatal("the message said after WriteTimeout never arrived on the stream")
		}
	}
}

// slowVerb is a command ("慢") whose handler takes d of real time before it answers "好了".
type slowVerb struct{ d time.Duration }

func (v slowVerb) Register(m *bot.Mux) error {
	return m.Handle(bot.Verb{Name: "test.slow", Owner: "test", Words: []string{"慢"}, Handler: func(ctx context.Context, r *bot.Request) error {
		select {
		case <-time.After(v.d):
		case <-ctx.Done():
		}
		r.Reply("好了")
		return nil
	}})
}

// A post that waits for the bot's replies (?wait=) may wait longer than WriteTimeout and still
// gets its answer.
func TestWaitingPostOutlivesWriteTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	r := startApp(t, app.ServerLimits{ReadTimeout: timeout, WriteTimeout: timeout}, slowVerb{d: 3 * timeout})
	start := time.Now()
	// The reply comes after 3 WriteTimeouts: the post waits for it.
	status, out := postJSON(t, r.URL+"/local/messages?wait=5s", map[string]string{"user": "local:chen", "text": "慢"})
	took := time.Since(start)
	var a struct {
		ID      string            `json:"id"`
		Replies *[]map[string]any `json:"replies"`
	}
	if err := json.Unmarshal(out, &a); status != http.StatusAccepted || err != nil || a.ID == "" || a.Replies == nil {
		t.Fatalf("post with wait=5s = %d %s (%v), want 202 with its id and replies", status, out, err)
	}
	if len(*a.Replies) != 1 || (*a.Replies)[0]["text"] != "好了" {
		t.Fatalf("replies %s, want the slow command's answer", out)
	}
	if took < 3*timeout {
		t.Fatalf("the post took %v: it did not wait past the WriteTimeout %v, so this test proves nothing", took, timeout)
	}
}

// vmRSS is this process's resident set size from /proc/self/status, in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// trickler is what one slow client saw: a POST announcing a 1 MiB body that arrives a few
// bytes at a time.
type trickler struct {
	Status     string        `json:"status"`      // the status line the server answered with, if any
	RetryAfter string        `json:"retry_after"` // its Retry-After header
	Took       time.Duration `json:"took"`        // from dialling to the connection closed by the server
	Err        string        `json:"err,omitempty"`
}

const (
	clients  = 300
	bodySize = 1 << 20
	// trickleEnv makes this test binary the trickling clients (TestMain), in a process of
	// their own, so the RSS the test measures is the server's alone.
	trickleEnv = "NEIGHBORBOT_TEST_TRICKLE_TO"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(trickleEnv); addr != "" {
		os.Exit(trickleClients(addr, os.Stdout))
	}
	os.Exit(m.Run())
}

// trickleClients opens clients connections to addr, writes "sent" to out when every one has
// sent its headers, trickles their bodies until the server has closed each, then writes their
// results as JSON.
func trickleClients(addr string, out io.Writer) int {
	sent := make(chan struct{}, clients)
	results := make([]trickler, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = trickle(addr, sent, 50*time.Millisecond)
		}()
	}
	for range clients {
		<-sent
	}
	fmt.Fprintln(out, "sent")
	wg.Wait()
	if err := json.NewEncoder(out).Encode(results); err != nil {
		return 1
	}
	return 0
}

// trickle opens a connection, sends the headers, then the body a few bytes every tick until
// the server answers and closes it. sent is told when the headers are out.
func trickle(addr string, sent chan<- struct{}, tick time.Duration) trickler {
	start := time.Now() // the server's read deadline starts after this, when it accepts
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		sent <- struct{}{}
		return trickler{Err: err.Error()}
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /local/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"+
		`{"group":"local:xingfuli","user":"local:chen","text":"`, addr, bodySize)
	_, err = io.WriteString(conn, head)
	sent <- struct{}{}
	if err != nil {
		return trickler{Err: err.Error()}
	}
	closed := make(chan []byte, 1)
	go func() {
		answer, _ := io.ReadAll(conn) // until the server closes the connection
		closed <- answer
	}()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case answer := <-closed:
			head, _, _ := strings.Cut(string(answer), "\r\n\r\n")
			status, fields, _ := strings.Cut(head, "\r\n")
			res := trickler{Status: status, Took: time.Since(start)}
			for _, f := range strings.Split(fields, "\r\n") {
				if v, ok := strings.CutPrefix(f, "Retry-After: "); ok {
					res.RetryAfter = v
				}
			}
			return res
		case <-t.C:
			_, _ = conn.Write([]byte("aaaaaaaa")) // fails once the server has closed; the read says so
		}
	}
}

// 300 clients trickling 1 MiB bodies must neither grow the process much nor stop it from
// answering; the read timeout cuts them off, and those beyond the cap on requests in flight
// are refused at once.
func TestTricklingClientsDoNotExhaustTheServer(t *testing.T) {
	const readTimeout = 2 * time.Second
	limits := app.ServerLimits{ReadHeaderTimeout: readTimeout, ReadTimeout: readTimeout, WriteTimeout: readTimeout}
	logs := &syncBuffer{}
	r := startAppLogging(t, limits, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))

	// Warm up what a first request initialises (JSON, store, the inbox), then measure.
	if status, out := postJSON(t, r.URL+"/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "早上好"}); status != http.StatusAccepted {
		t.Fatalf("warm-up post = %d %s", status, out)
	}
	runtime.GC()
	debug.FreeOSMemory()
	before, goBefore := vmRSS(t), goMemory()

	// The clients run in a process of their own (this test binary again, see TestMain).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), trickleEnv+"="+r.Addr)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "sent\n" {
		t.Fatalf("clients: %q, %v", line, err)
	}
	results := make(chan []trickler, 1)
	go func() {
		var rs []trickler
		if err := json.NewDecoder(out).Decode(&rs); err != nil {
			t.Errorf("clients' results: %v", err)
		}
		results <- rs
	}()

	// While they are connected: a health check answers, and RSS stays low. Poll RSS (bounded:
	// until every client is done) and keep the peak.
	client := &http.Client{Timeout: readTimeout}
	res, err := client.Get(r.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz while %d clients trickle: %v", clients, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("GET /healthz while %d clients trickle = %d %q", clients, res.StatusCode, body)
	}
	peak, goPeak := vmRSS(t), goMemory()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	giveUp := time.After(readTimeout + 20*time.Second)
	var rs []trickler
wait:
	for {
		select {
		case rs = <-results:
			break wait
		case <-poll.C:
			peak, goPeak = max(peak, vmRSS(t)), max(goPeak, goMemory())
		case <-giveUp:
			t.Fatalf("trickling clients still connected %v after the read timeout", 20*time.Second)
		}
	}
	growth := peak - before
	t.Logf("RSS before %.1f MB, peak with %d trickling clients %.1f MB: +%.1f MB (Go runtime's memory +%.1f MB)",
		mb(before), clients, mb(peak), mb(growth), mb(goPeak-goBefore))
	const bar = 30 << 20
	if goPeak-goBefore >= bar {
		t.Errorf("the Go runtime's memory grew by %.1f MB with %d clients trickling 1 MiB bodies, want < 30 MB", mb(goPeak-goBefore), clients)
	}
	// Under the race detector RSS also holds its shadow memory and tens of KiB of state per
	// goroutine (the server has one per connection): the bar is for the server as built for
	// production, which scripts/test.sh also runs this test as.
	if !raceDetector && growth >= bar {
		t.Errorf("RSS grew by %.1f MB with %d clients trickling 1 MiB bodies, want < 30 MB", mb(growth), clients)
	}

	refused, cut := 0, 0
	for i, c := range rs {
		switch {
		case c.Err != "":
			t.Errorf("client %d: %s", i, c.Err)
		case strings.Contains(c.Status, " 503 "):
			refused++
			if c.RetryAfter == "" {
				t.Errorf("client %d refused without Retry-After", i)
			}
		case strings.Contains(c.Status, " 2"):
			t.Errorf("client %d: a request whose body never arrived was accepted: %q", i, c.Status)
		default:
			// Admitted, and cut off by the read timeout: not before it, and soon after.
			cut++
			if c.Took < readTimeout*9/10 || c.Took > readTimeout+10*time.Second {
				t.Errorf("client %d admitted and cut off after %v (answer %q), want about the read timeout %v", i, c.Took, c.Status, readTimeout)
			}
		}
	}
	t.Logf("%d clients refused with 503, %d admitted and cut off by the read timeout", refused, cut)
	// A flood of refusals is a line in the log, not a flood of lines.
	if n := strings.Count(logs.String(), "busy: requests refused"); refused > 0 && (n == 0 || n > 2) {
		t.Errorf("%d refusals logged in %d lines, want 1 or 2:\n%s", refused, n, logs.String())
	}
	if len(rs) != clients || cut == 0 || cut > app.DefaultMaxInFlight {
		t.Errorf("%d of %d clients reported; %d requests were admitted at once, want 1 to %d", len(rs), clients, cut, app.DefaultMaxInFlight)
	}
}

// goMemory is the memory the Go runtime holds mapped and not released to the OS: heap,
// stacks and the runtime's own structures. Unlike RSS it leaves out the race detector's
// shadow memory and per-goroutine state, which are the test's instrumentation, not the server.
func goMemory() int64 {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	return int64(samples[0].Value.Uint64()) - int64(samples[1].Value.Uint64())
}

// syncBuffer is a log sink the server's goroutines write to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// A playground post waiting for the bot's replies (?wait=) gives its slot back once its event
// is handed over: with one slot, another post still gets in while it waits.
func TestWaitingPostHoldsNoSlot(t *testing.T) {
	r := startApp(t, app.ServerLimits{MaxInFlight: 1})
	waiting := make(chan int, 1)
	go func() {
		raw, _ := json.Marshal(map[string]string{"group": "local:xingfuli", "user": "local:chen", "text": "谢谢"})
		res, err := http.Post(r.URL+"/local/messages?wait=3s", "application/json", bytes.NewReader(raw))
		if err != nil {
			waiting <- 0
			return
		}
		res.Body.Close()
		waiting <- res.StatusCode
	}()
	// The waiting post's message shows in the transcript once it is handed over.
	for i := 0; ; i++ {
		res, err := http.Get(r.URL + "/local/messages?group=local:xingfuli&after=0")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), "谢谢") {
			break
		}
		if i == 500 {
			t.Fatal("the waiting post never reached the transcript")
		}
		<-time.After(10 * time.Millisecond) // bounded poll of the transcript
	}
	if status, out := postJSON(t, r.URL+"/local/messages", map[string]string{"group": "local:xingfuli", "user": "local:li", "text": "早"}); status != http.StatusAccepted {
		t.Fatalf("a post while another waits, with one slot = %d %s, want 202", status, out)
	}
	if status := <-waiting; status != http.StatusAccepted {
		t.Fatalf("the waiting post = %d, want 202", status)
	}
}
