package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/config"
)

// The answered scenario (issue 21): every event asks 帮助 and gets an answer, sent open loop to
// a naive bot built on the platform's SDK (bench/larkbare -reply, bench/wecombare) and to
// neighborbot on bbolt and Redis, interleaved rate by rate so they share the host's load.
const (
	targetAnsweredRatio = 1.5
	naiveTarget         = "naive SDK bot"
)

// answeredRepeats is how many times each rate runs for each target (medians are reported).
func (e *Env) answeredRepeats() int {
	if e.Repeat > 0 {
		return e.Repeat
	}
	if e.Quick {
		return 1
	}
	return 3
}

func (e *Env) answeredDuration() time.Duration {
	if e.Quick {
		return 5 * time.Second
	}
	return 10 * time.Second
}

// answeredTarget is one running bot: the naive one or neighborbot on a backend.
type answeredTarget struct {
	name    string
	backend string // "" for the naive bot
	proc    *Proc
	base    string
	fake    fake
	dir     string
	rs      *redisServer
	bin     string
	root    string   // the checkout neighborbot is built from ("": this one)
	variant string   // names a second target on the same backend (its data, its durability line)
	env     []string // extra settings
	acked   []string
	stop    func()
	results map[float64][]rateResult
}

// answeredRun is one platform's results.
type answeredRun struct {
	Platform string
	Targets  []*answeredTarget
	Durable  map[string]string // backend → the kill -9 check
	Profile  string
	Notes    []string
}

func runAnswered(ctx context.Context, e *Env) ([]Section, error) {
	var runs []answeredRun
	var errs []error
	for _, src := range []source{newFeishuSource(), newWeComSource()} {
		if !slices.Contains(e.Platforms, src.platform()) {
			continue
		}
		run, err := e.answered(ctx, src)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.platform(), err))
			run.Notes = append(run.Notes, firstLine(err.Error()))
		}
		runs = append(runs, run)
	}
	return []Section{{Name: "answered", Body: e.answeredReport(runs)}}, errors.Join(errs...)
}

// answeredEvent builds event i of run: Feishu, `帮助` in a person's private chat with the bot;
// WeCom, `帮助` written to the app.
func answeredEvent(src source, run string, i int) prepared {
	fs, ok := src.(*feishuSource)
	if !ok {
		return src.build(run, i, true)
	}
	user := i % 20000
	m := feishutest.Msg{
		EventID:   fmt.Sprintf("ev_%s_%d", run, i),
		MessageID: fmt.Sprintf("om_%s_%d", run, i),
		Sender:    fmt.Sprintf("ou_user_%05d", user),
		ChatID:    fmt.Sprintf("oc_p2p_%05d", user),
		ChatType:  "p2p",
		Text:      "帮助",
	}
	plain, _ := fs.ev.Message(m)
	body := fs.ev.Seal(plain)
	h := http.Header{}
	feishutest.Sign(h, body, fs.ev.EncryptKey, time.Now(), fmt.Sprintf("n-%s-%d", run, i))
	h.Set("Content-Type", "application/json; charset=utf-8")
	return prepared{path: "/feishu/events", body: body, header: h, key: "feishu:" + m.MessageID, probe: "any"}
}

func (e *Env) answered(ctx context.Context, src source) (answeredRun, error) {
	run := answeredRun{Platform: src.platform(), Durable: map[string]string{}}
	targets := []*answeredTarget{{name: naiveTarget}}
	targets = append(targets, &answeredTarget{name: "neighborbot on bbolt", backend: "bbolt"})
	if e.EventSync {
		// The same bot with every arriving event flushed to the disk before its ack
		// (docs/OPERATIONS.md, "Durability"): what that flush costs, side by side.
		targets = append(targets, &answeredTarget{name: "neighborbot on bbolt, inbox_sync=event", backend: "bbolt", variant: "event",
			env: []string{"NEIGHBORBOT_INBOX_SYNC=event"}})
	}
	if e.Against != "" {
		targets = append(targets, &answeredTarget{name: "neighborbot (" + filepath.Base(e.Against) + ") on bbolt", backend: "bbolt", root: e.Against})
	}
	if e.Redis {
		targets = append(targets, &answeredTarget{name: "neighborbot on Redis", backend: "Redis"})
		if e.Against != "" {
			targets = append(targets, &answeredTarget{name: "neighborbot (" + filepath.Base(e.Against) + ") on Redis", backend: "Redis", root: e.Against})
		}
	}
	defer func() {
		for _, t := range targets {
			if t.stop != nil {
				t.stop()
			}
		}
	}()
	for _, t := range targets {
		if err := e.startAnswered(ctx, src, t); err != nil {
			return run, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	for _, t := range targets {
		warm := make([]prepared, 200)
		for i := range warm {
			warm[i] = answeredEvent(src, "warm-"+t.backend+t.variant, i)
		}
		seq0 := t.fake.log().seq.Load()
		loadOnce(ctx, t.base, warm, 200)
		waitCreated(t.fake.log(), seq0+int64(len(warm)), 10*time.Second)
		waitQuiet(t.proc.Pid(), 3*time.Second)
	}
	n := int(e.answeredDuration().Seconds())
	for rep := range e.answeredRepeats() {
		for _, rate := range e.Rates {
			// Each round starts with the next target: a target that always ran right after
			// another would carry what that one left behind (caches, the host's state).
			for i := range targets {
				t := targets[(i+rep)%len(targets)]
				if ctx.Err() != nil {
					return run, ctx.Err()
				}
				tag := fmt.Sprintf("%s%s%s%d-%d", t.backend, t.variant, "r", int(rate), rep)
				if t.root != "" {
					tag = "against" + tag
				}
				if t.backend == "" {
					tag = fmt.Sprintf("naive%d-%d", int(rate), rep)
				}
				evs := make([]prepared, int(rate)*n)
				for i := range evs {
					evs[i] = answeredEvent(src, tag, i)
				}
				e.Log.Info("load", "scenario", "answered", "platform", src.platform(), "target", t.name, "rate", rate, "rep", rep+1, "events", len(evs))
				profDone := make(chan string, 1)
				if e.Profile && t.backend != "" && t.root == "" && rep == 0 && rate == e.Rates[len(e.Rates)-1] {
					// Every neighborbot is profiled (with -keep the profiles stay in the scratch
					// directory); the report shows the one on bbolt.
					shown := t.backend == "bbolt" && t.variant == ""
					go func() {
						top := grabProfileFor(ctx, e, t.base, t.bin, fmt.Sprintf("answered-%s-%s", src.platform(), tag), max(n-2, 1))
						if !shown {
							top = ""
						}
						profDone <- top
					}()
				} else {
					profDone <- ""
				}
				r := e.answeredOnce(ctx, t, evs, rate)
				e.Log.Info("round", "platform", src.platform(), "target", t.name, "rate", rate, "rep", rep+1,
					"cpu_per_event", r.cpuPerEvent().Round(time.Microsecond), "ack_p99", r.Ack.P99)
				if top := <-profDone; top != "" {
					run.Profile = top
				}
				t.results[rate] = append(t.results[rate], r)
			}
		}
	}
	// kill -9 the neighborbots: every acknowledged event must be in the inbox.
	for _, t := range targets {
		if t.backend == "" || t.root != "" { // the before of a before/after is not checked
			continue
		}
		t.proc.Cmd.Process.Signal(syscall.SIGKILL)
		t.proc.Stop(5 * time.Second)
		res, err := checkInbox(ctx, t.backend, t.dir, t.rs, t.acked)
		if err != nil {
			return run, err
		}
		run.Durable[durableKey(t)] = res
	}
	run.Targets = targets
	return run, nil
}

// answeredOnce sends evs at rate to t and measures acks, answers and CPU until t goes quiet.
func (e *Env) answeredOnce(ctx context.Context, t *answeredTarget, evs []prepared, rate float64) rateResult {
	sl := t.fake.log()
	seq0 := sl.seq.Load()
	cpu0, _ := cpuTime(t.proc.Pid())
	pr, acks, _, ok := loadOnce(ctx, t.base, evs, rate)
	r := rateResult{Target: t.name, Rate: rate, Achieved: pr.Rate(), Events: pr.Sent, Ack: acks.Summary()}
	for i, good := range ok[:pr.Sent] {
		if !good {
			r.Errors++
			continue
		}
		t.acked = append(t.acked, evs[i].key)
	}
	created := waitCreated(sl, seq0+int64(pr.Sent-r.Errors), 30*time.Second)
	// A bot may answer events whose ack the load generator gave up on: those are not missing.
	r.Missing = max(0, int(seq0+int64(pr.Sent-r.Errors)-created))
	waitQuiet(t.proc.Pid(), 5*time.Second)
	cpu1, _ := cpuTime(t.proc.Pid())
	r.CPU = cpu1 - cpu0
	return r
}

// waitCreated waits until the fake created want messages in all, or d passes, and returns
// how many it created.
func waitCreated(sl *sendLog, want int64, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for {
		n := sl.seq.Load()
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startAnswered starts t's fake platform and t itself.
func (e *Env) startAnswered(ctx context.Context, src source, t *answeredTarget) error {
	t.results = map[float64][]rateResult{}
	fk, err := src.startFake(Faults{})
	if err != nil {
		return err
	}
	t.fake = fk
	var cleanups []func()
	t.stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	cleanups = append(cleanups, fk.Close)
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	t.base = "http://" + addr
	slug := "answered-" + src.platform() + "-" + strings.ToLower(cmpOr(t.backend, "naive"))
	if t.root != "" {
		slug += "-against"
	}
	if t.variant != "" {
		slug += "-" + t.variant
	}
	logPath := filepath.Join(e.Work, slug+".log")
	var p *Proc
	if t.backend == "" {
		switch s := src.(type) {
		case *feishuSource:
			bin, err := e.binary(ctx, "./bench/larkbare", "larkbare")
			if err != nil {
				return err
			}
			p, err = start(bin, []string{"-addr", addr, "-token", s.ev.VerificationToken, "-key", s.ev.EncryptKey,
				"-reply", "-app-id", s.ev.AppID, "-app-secret", "bench-secret", "-base", fk.URL()}, nil, logPath)
			if err != nil {
				return err
			}
		case *wecomSource:
			bin, err := e.binary(ctx, "./bench/wecombare", "wecombare")
			if err != nil {
				return err
			}
			p, err = start(bin, []string{"-addr", addr, "-token", s.cb.Token, "-aes-key", s.cb.AESKey, "-corp", s.corpID,
				"-secret", "bench-secret", "-agent", "1000002", "-base", fk.URL()}, nil, logPath)
			if err != nil {
				return err
			}
		}
	} else {
		switch {
		case t.root != "":
			t.bin, err = e.binaryFrom(ctx, t.root, "./cmd/neighborbot", "neighborbot-against")
		case e.Profile:
			t.bin, err = e.binary(ctx, "./bench/nbprof", "nbprof")
		default:
			t.bin, err = e.binary(ctx, "./cmd/neighborbot", "neighborbot")
		}
		if err != nil {
			return err
		}
		t.dir = filepath.Join(e.Work, slug)
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return err
		}
		// Feishu takes 50 messages a second from an app; answering 1,000 events a second needs
		// a tenant with a higher quota, which the fake stands for (it limits nothing).
		cfg := filepath.Join(t.dir, "config.yaml")
		demo := config.Demo()
		demo.Limits.FeishuPerApp = 5000
		y, err := yaml.Marshal(demo)
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg, y, 0o644); err != nil {
			return err
		}
		env := append(src.env(fk.URL()), "NEIGHBORBOT_DATA="+t.dir, "NEIGHBORBOT_CONFIG="+cfg, "NEIGHBORBOT_ADDR="+addr)
		if t.root != "" {
			env = append(env, e.AgainstEnv...)
		}
		env = append(env, t.env...)
		if t.backend == "Redis" {
			if t.rs, err = startRedis(ctx, e, slug); err != nil {
				return err
			}
			cleanups = append(cleanups, t.rs.Stop)
			env = append(env, "NEIGHBORBOT_REDIS_URL="+t.rs.URL())
		}
		if p, err = start(t.bin, nil, env, logPath); err != nil {
			return err
		}
	}
	t.proc = p
	cleanups = append(cleanups, func() { p.Stop(20 * time.Second) })
	if _, err := p.waitReady(t.base+"/readyz", 30*time.Second); err != nil {
		return err
	}
	return nil
}

// durableKey names t's kill -9 check in the report.
func durableKey(t *answeredTarget) string {
	if t.variant != "" {
		return t.backend + ", inbox_sync=" + t.variant
	}
	return t.backend
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// grabProfileFor takes a CPU profile of secs seconds from the bot at base and renders its top.
func grabProfileFor(ctx context.Context, e *Env, base, bin, name string, secs int) string {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
	if err != nil {
		e.Log.Warn("profile", "err", err)
		return ""
	}
	defer resp.Body.Close()
	path := filepath.Join(e.Work, name+".pprof")
	b, err := io.ReadAll(resp.Body)
	if err != nil || os.WriteFile(path, b, 0o644) != nil {
		return ""
	}
	return pprofTop(ctx, bin, path, 25)
}

// median of the results' values by f.
func medianBy(rs []rateResult, f func(rateResult) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (e *Env) answeredReport(runs []answeredRun) string {
	var b strings.Builder
	b.WriteString(e.header("Answered: every event asks 帮助 and gets an answer"))
	fmt.Fprintf(&b, "\nEvery event is a person asking `帮助` (Feishu: in their private chat with the bot, schema 2.0, encrypted and "+
		"signed; WeCom: written to the app, XML, AES-256-CBC, msg_signature), sent open loop for %v a rate to each target in turn "+
		"(naive bot, neighborbot on bbolt, on bbolt with `NEIGHBORBOT_INBOX_SYNC=event`, on Redis, then the next rate; each round starts one target further on), %d round(s), each against a fake platform API of its own on "+
		"127.0.0.1. The naive SDK bot is what a user would write instead of neighborbot: Feishu, bench/larkbare `-reply` "+
		"(`dispatcher.NewEventDispatcher` + `OnP2MessageReceiveV1` behind `httpserverext.NewEventHandlerFunc`, a seen-map, "+
		"`client.Im.Message.Create` from a goroutine per event); WeCom, bench/wecombare (silenceper/wechat/v2: `util.Signature`, "+
		"`util.DecryptMsg`, a seen-map, work/message `SendText` from a goroutine; the SDK has no callback server for app messages). "+
		"Neither keeps anything across a crash or retries a failed send. neighborbot runs with Feishu's app-wide send limit raised "+
		"to 5,000/s (the fake limits nothing; Feishu's default quota is 50/s). On bbolt it writes each event to its inbox journal "+
		"before the ack and flushes it to the disk with the next checkpoint, within 100 ms (the default); with `inbox_sync=event` "+
		"it flushes each one (fdatasync) before the ack (docs/OPERATIONS.md, \"Durability\"). CPU per event is the process's utime+stime over the "+
		"run, until every answer reached the fake and the process went quiet, divided by the events; each cell is the median of "+
		"the rounds, ack p99 too.\n", e.answeredDuration(), e.answeredRepeats())
	for _, run := range runs {
		fmt.Fprintf(&b, "\n#### %s, answered\n\n", platformTitle(run.Platform))
		if len(run.Targets) == 0 {
			fmt.Fprintf(&b, "Not measured: %s.\n", strings.Join(run.Notes, "; "))
			continue
		}
		t := Table{Head: []string{"rate /s", "target", "events", "errors", "unanswered", "ack p50 / p99 ms", "CPU per event", "vs naive"}}
		for _, rate := range e.Rates {
			naive := medianBy(run.Targets[0].results[rate], func(r rateResult) float64 { return float64(r.cpuPerEvent()) })
			for _, tg := range run.Targets {
				rs := tg.results[rate]
				if len(rs) == 0 {
					continue
				}
				cpu := medianBy(rs, func(r rateResult) float64 { return float64(r.cpuPerEvent()) })
				p50 := medianBy(rs, func(r rateResult) float64 { return float64(r.Ack.P50) })
				p99 := medianBy(rs, func(r rateResult) float64 { return float64(r.Ack.P99) })
				events, errs, missing := 0, 0, 0
				for _, r := range rs {
					events += r.Events
					errs += r.Errors
					missing += r.Missing
				}
				ratio, ack := "1×", fmt.Sprintf("%s / %s", ms(time.Duration(p50)), ms(time.Duration(p99)))
				if tg.backend != "" {
					if naive > 0 {
						x := cpu / naive
						ratio = fmt.Sprintf("%.2f× %s", x, verdict(x <= targetAnsweredRatio))
					}
					if rate >= 1000 {
						ack += " " + verdict(time.Duration(p99) < targetAckP99)
					}
				}
				t.Row(fmt.Sprintf("%.0f", rate), tg.name, fmt.Sprint(events), fmt.Sprint(errs), fmt.Sprint(missing), ack,
					fmt.Sprintf("%.0f µs", cpu/1e3), ratio)
			}
		}
		b.WriteString(t.String())
		for _, tg := range run.Targets {
			if tg.root != "" {
				continue // not checked; its key is its twin's
			}
			if d, ok := run.Durable[durableKey(tg)]; ok {
				fmt.Fprintf(&b, "\nDurability, %s: %s.\n", durableKey(tg), d)
			}
		}
		for _, n := range run.Notes {
			fmt.Fprintf(&b, "\nNote: %s.\n", n)
		}
		if run.Profile != "" {
			fmt.Fprintf(&b, "\nWhere neighborbot's CPU goes (bbolt, %.0f answered events/s, bench/nbprof, `go tool pprof -top`):\n\n```\n%s\n```\n", e.Rates[len(e.Rates)-1], run.Profile)
		}
	}
	fmt.Fprintf(&b, "\nTargets: CPU per answered event within %.1f× of the naive SDK bot at every rate; ack p99 under 5 ms at "+
		"1,000 events/s; every acknowledged event in the inbox after kill -9.\n", targetAnsweredRatio)
	return b.String()
}
