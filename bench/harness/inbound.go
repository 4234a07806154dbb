package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/redis"
)

// Targets of the inbound scenario (issue 9).
const (
	targetAckP99    = 5 * time.Millisecond
	targetFirstSend = 100 * time.Millisecond
	targetCPURatio  = 1.5
	probeEvery      = 25 // one event in 25 asks the bot something (a reply is sent); the rest is chatter it records and ignores
	probeChats      = 50 // probes spread over this many chats (5 messages/s per chat is Feishu's limit)
)

// prepared is one platform request, built (encrypted, signed) before the run so the load
// generator only sends.
type prepared struct {
	path   string // with query
	body   []byte
	header http.Header
	key    string // the inbox id the bot must record: "feishu:om_x"
	probe  string // for a probe, the fake's key of its reply; "" for chatter
}

// source builds a platform's events.
type source interface {
	platform() string
	eventsPath() string
	// env is the bot's configuration for this platform, its API at fakeURL.
	env(fakeURL string) []string
	build(run string, i int, probe bool) prepared
	// startFake starts the fake platform API.
	startFake(f Faults) (fake, error)
}

// fake is a fake platform API.
type fake interface {
	URL() string
	log() *sendLog
	Close()
}

// rateResult is one rate against one target.
type rateResult struct {
	Target    string
	Rate      float64
	Achieved  float64
	Events    int
	Ack       Summary
	Errors    int
	CPU       time.Duration // of the target process, from the first send until its work was done
	FirstSend Summary       // probes: event sent → the bot's first call to the fake's send API
	Missing   int           // probes whose reply never reached the fake
}

func (r rateResult) cpuPerEvent() time.Duration {
	if r.Events == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Events)
}

func (e *Env) inboundDuration() time.Duration {
	if e.Quick {
		return 5 * time.Second
	}
	return 30 * time.Second
}

type inboundRun struct {
	Platform string
	Backend  string
	Results  []rateResult
	Bare     []rateResult // the SDK's bare dispatcher (Feishu only)
	Durable  string       // the kill -9 check
	Note     string
	Profile  string // pprof top at the top rate, with -pprof
}

func runInbound(ctx context.Context, e *Env) ([]Section, error) {
	var runs []inboundRun
	var errs []error
	for _, src := range []source{newFeishuSource(), newWeComSource()} {
		if !slices.Contains(e.Platforms, src.platform()) {
			continue
		}
		backends := []string{"bbolt"}
		if e.Redis {
			backends = append(backends, "Redis")
		}
		var bare []rateResult
		if src.platform() == "feishu" && !e.NoBare {
			for _, durable := range []bool{false, true} {
				rs, err := e.inboundBare(ctx, src, durable)
				if err != nil {
					errs = append(errs, fmt.Errorf("bare SDK (durable %v): %w", durable, err))
				}
				bare = append(bare, rs...)
			}
		}
		for _, be := range backends {
			run, err := e.inboundBot(ctx, src, be)
			run.Bare = bare
			if err != nil {
				errs = append(errs, fmt.Errorf("%s on %s: %w", src.platform(), be, err))
				if run.Note == "" {
					run.Note = firstLine(err.Error())
				}
			}
			runs = append(runs, run)
		}
	}
	return []Section{{Name: "inbound", Body: e.inboundReport(runs)}}, errors.Join(errs...)
}

// loadClient sends the load: keep-alive connections, enough of them for 1,000 events/s.
func loadClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
	}}
}

// sendOne posts p to base and returns how long the answer took and whether it was a 200.
func sendOne(ctx context.Context, c *http.Client, base string, p prepared) (time.Duration, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+p.path, bytes.NewReader(p.body))
	if err != nil {
		return 0, false
	}
	for k, v := range p.header {
		req.Header[k] = v
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return time.Since(t0), false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode == http.StatusOK
}

// loadOnce sends n events at rate to base and measures acks; sent[i] is when event i went.
func loadOnce(ctx context.Context, base string, events []prepared, rate float64) (PaceResult, *Recorder, []time.Time, []bool) {
	c := loadClient()
	defer c.CloseIdleConnections()
	var acks Recorder
	sent := make([]time.Time, len(events))
	ok := make([]bool, len(events))
	res := Pace(ctx, len(events), rate, 2000, func(i int) {
		sent[i] = time.Now()
		d, good := sendOne(ctx, c, base, events[i])
		ok[i] = good
		if good {
			acks.Add(d)
		}
	})
	return res, &acks, sent, ok
}

const (
	bareTarget    = "SDK bare dispatcher"
	durableTarget = "SDK + durable append (floor of a durable ack)"
)

// inboundBare measures the SDK's bare dispatcher at each rate; durable, the same with every
// message recorded in a group-committed journal before the ack (larkbare -journal).
func (e *Env) inboundBare(ctx context.Context, src source, durable bool) ([]rateResult, error) {
	bin, err := e.binary(ctx, "./bench/larkbare", "larkbare")
	if err != nil {
		return nil, err
	}
	fs := src.(*feishuSource)
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"-addr", addr, "-token", fs.ev.VerificationToken, "-key", fs.ev.EncryptKey}
	target, name := bareTarget, "larkbare"
	if durable {
		target, name = durableTarget, "larkbare-journal"
		args = append(args, "-journal", filepath.Join(e.Work, name+".journal"))
	}
	p, err := start(bin, args, nil, filepath.Join(e.Work, name+".log"))
	if err != nil {
		return nil, err
	}
	defer p.Stop(5 * time.Second)
	if _, err := p.waitReady("http://"+addr+"/readyz", 10*time.Second); err != nil {
		return nil, err
	}
	base := "http://" + addr
	warm := e.events(src, "bare-warm", 200)
	loadOnce(ctx, base, warm, 500)
	var out []rateResult
	for _, rate := range e.Rates {
		evs := e.events(src, fmt.Sprintf("%s%d", name, int(rate)), int(rate*e.inboundDuration().Seconds()))
		e.Log.Info("load", "target", target, "rate", rate, "events", len(evs))
		cpu0, _ := cpuTime(p.Pid())
		pr, acks, _, ok := loadOnce(ctx, base, evs, rate)
		cpu1, _ := cpuTime(p.Pid())
		r := rateResult{Target: target, Rate: rate, Achieved: pr.Rate(), Events: pr.Sent, Ack: acks.Summary(), CPU: cpu1 - cpu0}
		for _, good := range ok[:pr.Sent] {
			if !good {
				r.Errors++
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// events builds n events of run.
func (e *Env) events(src source, run string, n int) []prepared {
	out := make([]prepared, n)
	for i := range out {
		out[i] = src.build(run, i, i%probeEvery == 0)
	}
	return out
}

// inboundBot runs the neighborbot binary with src's platform against a fake API, on backend,
// at each rate; then kills it (SIGKILL) and checks that every acknowledged event is in the
// store's inbox.
func (e *Env) inboundBot(ctx context.Context, src source, backend string) (inboundRun, error) {
	run := inboundRun{Platform: src.platform(), Backend: backend}
	bin, err := e.binary(ctx, "./cmd/neighborbot", "neighborbot")
	if e.Profile {
		bin, err = e.binary(ctx, "./bench/nbprof", "nbprof")
	}
	if err != nil {
		return run, err
	}
	fk, err := src.startFake(Faults{})
	if err != nil {
		return run, err
	}
	defer fk.Close()
	dir := filepath.Join(e.Work, "inbound-"+src.platform()+"-"+strings.ToLower(backend))
	env := append(src.env(fk.URL()), "NEIGHBORBOT_DATA="+dir)
	if e.MetricsOff {
		env = append(env, "NEIGHBORBOT_ADMIN_ADDR=off")
		run.Note = "metrics off (NEIGHBORBOT_ADMIN_ADDR=off)"
	}
	var rs *redisServer
	if backend == "Redis" {
		if rs, err = startRedis(ctx, e, "inbound-"+src.platform()); err != nil {
			return run, err
		}
		defer rs.Stop()
		env = append(env, "NEIGHBORBOT_REDIS_URL="+rs.URL())
	}
	addr, err := freeAddr()
	if err != nil {
		return run, err
	}
	logPath := filepath.Join(e.Work, "inbound-"+src.platform()+"-"+strings.ToLower(backend)+".log")
	p, err := start(bin, nil, append(env, "NEIGHBORBOT_ADDR="+addr), logPath)
	if err != nil {
		return run, err
	}
	defer p.Stop(20 * time.Second)
	if _, err := p.waitReady("http://"+addr+"/readyz", 30*time.Second); err != nil {
		return run, err
	}
	if backend == "Redis" && !logMentions(logPath, "backend=redis") {
		return run, errors.New("the binary ignored NEIGHBORBOT_REDIS_URL (internal/app opens only bbolt in this build)")
	}
	base := "http://" + addr
	warm := e.events(src, "warm-"+backend, 200)
	loadOnce(ctx, base, warm, 200)
	fk.log().wait(probeKeys(warm), 10*time.Second)

	var acked []string
	for _, rate := range e.Rates {
		tag := fmt.Sprintf("%s%d", strings.ToLower(backend), int(rate))
		evs := e.events(src, tag, int(rate*e.inboundDuration().Seconds()))
		e.Log.Info("load", "target", "neighborbot", "platform", src.platform(), "backend", backend, "rate", rate, "events", len(evs))
		cpu0, _ := cpuTime(p.Pid())
		profDone := make(chan string, 1)
		if e.Profile && rate == e.Rates[len(e.Rates)-1] {
			go func() { profDone <- e.grabProfile(ctx, base, bin, fmt.Sprintf("inbound-%s-%s", src.platform(), tag)) }()
		} else {
			profDone <- ""
		}
		pr, acks, sent, ok := loadOnce(ctx, base, evs, rate)
		if top := <-profDone; top != "" {
			run.Profile = top
		}
		r := rateResult{Target: "neighborbot on " + backend, Rate: rate, Achieved: pr.Rate(), Events: pr.Sent, Ack: acks.Summary()}
		// The bot's work goes on after the acks (handling, replies): wait for the probes'
		// replies, then for the process to go quiet, before reading its CPU.
		keys := probeKeys(evs[:pr.Sent])
		r.Missing = fk.log().wait(keys, 30*time.Second)
		waitQuiet(p.Pid(), 5*time.Second)
		cpu1, _ := cpuTime(p.Pid())
		r.CPU = cpu1 - cpu0
		deliveries := fk.log().snapshot()
		var first Recorder
		for i, ev := range evs[:pr.Sent] {
			if !ok[i] {
				r.Errors++
				continue
			}
			acked = append(acked, ev.key)
			if ev.probe != "" {
				if d, found := deliveries[ev.probe]; found {
					first.Add(d.first.Sub(sent[i]))
				}
			}
		}
		r.FirstSend = first.Summary()
		run.Results = append(run.Results, r)
	}

	// kill -9 now: whatever was acknowledged must already be in the inbox.
	p.Cmd.Process.Signal(syscall.SIGKILL)
	p.Stop(5 * time.Second)
	run.Durable, err = checkInbox(ctx, backend, dir, rs, acked)
	return run, err
}

// grabProfile takes a CPU profile of the running bot for most of the load and renders its top.
func (e *Env) grabProfile(ctx context.Context, base, bin, name string) string {
	return grabProfileFor(ctx, e, base, bin, name, max(int(e.inboundDuration().Seconds())-2, 1))
}

func probeKeys(evs []prepared) []string {
	var keys []string
	for _, ev := range evs {
		if ev.probe != "" {
			keys = append(keys, ev.probe)
		}
	}
	return keys
}

// waitQuiet waits until pid has used no CPU for 300 ms, or max passes.
func waitQuiet(pid int, max time.Duration) {
	deadline := time.Now().Add(max)
	last, _ := cpuTime(pid)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		now, err := cpuTime(pid)
		if err != nil || now == last {
			return
		}
		last = now
	}
}

// checkInbox opens the killed bot's store and counts acknowledged events missing from its
// inbox.
func checkInbox(ctx context.Context, backend, dir string, rs *redisServer, acked []string) (string, error) {
	var st interface {
		store.Dumper
		Close() error
	}
	var err error
	if backend == "Redis" {
		st, err = redis.Open(ctx, rs.URL(), redis.Options{})
	} else {
		st, err = bolt.Open(filepath.Join(dir, "neighborbot.db"), bolt.Options{})
	}
	if err != nil {
		return "", err
	}
	defer st.Close()
	seen := map[string]bool{}
	err = st.Dump(ctx, func(r store.Record) error {
		if r.Inbound != nil {
			seen[r.Inbound.ID] = true
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	missing := 0
	for _, k := range acked {
		if !seen[k] {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Sprintf("%d of %d acknowledged events missing after kill -9 ❌", missing, len(acked)), nil
	}
	return fmt.Sprintf("all %d acknowledged events in the inbox after kill -9 ✅", len(acked)), nil
}

func (e *Env) inboundReport(runs []inboundRun) string {
	var b strings.Builder
	b.WriteString(e.header("Inbound: signed, encrypted events against the running binary"))
	fmt.Fprintf(&b, "\nThe harness builds real platform requests (Feishu: schema 2.0 events encrypted with the Encrypt Key and "+
		"signed, as `bot/feishu/feishutest` builds them) and sends them open-loop, each rate for %v, to the neighborbot "+
		"binary on 127.0.0.1 with its platform API pointed at a fake the harness runs. One event in %d is a probe "+
		"(Feishu: `@邻里帮 帮助` in one of %d chats) that the bot answers; on Feishu the rest are replies between neighbours, "+
		"which the bot records durably, handles and ignores. WeCom app callbacks are people writing to the app privately "+
		"(XML, AES-256-CBC, msg_signature, as `bot/wecom/wecomtest` builds them), so the bot answers every one of them. Ack is the platform's wait for the HTTP answer; first send is from the "+
		"event's send to the bot's first call of the fake's send API for it (probes only). CPU per event is the process's "+
		"utime+stime (/proc/<pid>/stat) over the run and until it goes quiet, divided by the events; the SDK's bare "+
		"dispatcher (bench/larkbare: `httpserverext.NewEventHandlerFunc` with a no-op handler) gets the same events, and so does \"SDK + "+
		"durable append\" (`larkbare -journal`): the same dispatcher whose handler first writes the message to a preallocated file with "+
		"one fdatasync per group of concurrent events, the cheapest durable record before an ack, with no handling at all.\n",
		e.inboundDuration(), probeEvery, probeChats)
	for _, run := range runs {
		fmt.Fprintf(&b, "\n#### %s, %s\n\n", platformTitle(run.Platform), run.Backend)
		if run.Note != "" && len(run.Results) == 0 {
			fmt.Fprintf(&b, "Not measured: %s.\n", run.Note)
			continue
		}
		t := Table{Head: []string{"target", "rate /s (achieved)", "events", "errors", "ack p50 / p99 / max", "CPU per event", "vs SDK", "first send p50 / p99 / max", "probes unanswered"}}
		for _, r := range run.Bare {
			ratio := "1×"
			if r.Target != bareTarget {
				if x, ok := run.vsBare(r); ok {
					ratio = fmt.Sprintf("%.2f×", x)
				}
			}
			t.Row(r.Target, fmt.Sprintf("%.0f (%.0f)", r.Rate, r.Achieved), fmt.Sprint(r.Events), fmt.Sprint(r.Errors),
				fmt.Sprintf("%s / %s / %s ms", ms(r.Ack.P50), ms(r.Ack.P99), ms(r.Ack.Max)),
				fmt.Sprintf("%.0f µs", float64(r.cpuPerEvent())/1e3), ratio, "", "")
		}
		for _, r := range run.Results {
			ratio := ""
			if x, ok := run.vsBare(r); ok {
				ratio = fmt.Sprintf("%.2f× %s", x, verdict(x <= targetCPURatio))
			}
			ackOK := r.Rate < 1000 || r.Ack.P99 < targetAckP99
			t.Row(r.Target, fmt.Sprintf("%.0f (%.0f)", r.Rate, r.Achieved), fmt.Sprint(r.Events), fmt.Sprint(r.Errors),
				fmt.Sprintf("%s / %s / %s ms %s", ms(r.Ack.P50), ms(r.Ack.P99), ms(r.Ack.Max), verdict(ackOK && r.Errors == 0)),
				fmt.Sprintf("%.0f µs", float64(r.cpuPerEvent())/1e3), ratio,
				fmt.Sprintf("%s / %s / %s ms %s", ms(r.FirstSend.P50), ms(r.FirstSend.P99), ms(r.FirstSend.Max), verdict(r.FirstSend.N > 0 && r.FirstSend.P99 < targetFirstSend)),
				fmt.Sprint(r.Missing))
		}
		b.WriteString(t.String())
		if run.Durable != "" {
			fmt.Fprintf(&b, "\nDurability: %s.\n", run.Durable)
		}
		if run.Note != "" {
			fmt.Fprintf(&b, "\nNote: %s.\n", run.Note)
		}
		if run.Profile != "" {
			fmt.Fprintf(&b, "\nWhere the bot's CPU goes at %.0f events/s (bench/nbprof, `go tool pprof -top`):\n\n```\n%s\n```\n", e.Rates[len(e.Rates)-1], run.Profile)
		}
	}
	fmt.Fprintf(&b, "\nTargets: ack p99 under 5 ms at 1,000 events/s with every event recorded before its ack (kill -9 loses none); "+
		"first send p99 under 100 ms; CPU per event within %.1f× of the SDK's bare dispatcher.\n", targetCPURatio)
	return b.String()
}

// vsBare is r's CPU per event over the SDK's bare dispatcher's at the same rate.
func (run inboundRun) vsBare(r rateResult) (float64, bool) {
	i := slices.IndexFunc(run.Bare, func(x rateResult) bool { return x.Target == bareTarget && x.Rate == r.Rate })
	if i < 0 || run.Bare[i].cpuPerEvent() <= 0 {
		return 0, false
	}
	return float64(r.cpuPerEvent()) / float64(run.Bare[i].cpuPerEvent()), true
}

func platformTitle(p string) string {
	switch p {
	case "feishu":
		return "Feishu events (POST /feishu/events)"
	case "wecom":
		return "WeCom callbacks (POST /wecom/callback)"
	}
	return p
}
