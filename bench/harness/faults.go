package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// faultsInjected is what the fakes do to the bot's send calls in the faults scenario.
var faultsInjected = Faults{RateLimit: 0.10, Server: 0.10, Slow: 0.05, SlowFor: 3 * time.Second, Drop: 0.05}

type faultResult struct {
	Platform, Backend string
	Crash             bool           // the bot was killed (SIGKILL) halfway and restarted
	Events            int            // distinct events, each delivered twice (a platform retry)
	AckErrors         int            // deliveries not answered 200
	Handled           map[int]int    // times handled → events
	Delivered         map[int]int    // messages delivered → events
	Faults            map[string]int // injected, by kind
	Calls             int64          // send calls the fake received
	Took              time.Duration  // until the last reply arrived (or the wait gave up)
	Note              string
}

func (e *Env) faultEvents() int {
	if e.Quick {
		return 150
	}
	return 600
}

func runFaults(ctx context.Context, e *Env) ([]Section, error) {
	var rs []faultResult
	var errs []error
	backends := []string{"bbolt"}
	if e.Redis {
		backends = append(backends, "Redis")
	}
	for _, src := range []source{newFeishuSource(), newWeComSource()} {
		for _, be := range backends {
			for _, crash := range []bool{false, true} {
				r, err := e.faultRun(ctx, src, be, crash)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s on %s (kill -9: %v): %w", src.platform(), be, crash, err))
					r.Note = firstLine(err.Error())
				}
				rs = append(rs, r)
			}
		}
	}
	return []Section{{Name: "faults", Body: e.faultsReport(rs)}}, errors.Join(errs...)
}

var handledLine = regexp.MustCompile(`msg=handled .*?event=(\S+)`)

// faultRun sends every event twice (as a platform retries when it misses an ack) at 50
// events/s to the bot, whose platform API fails a quarter of its calls, then counts how
// often each event was handled (the bot's own log, one line per handled event) and how many
// messages each one's reply became at the fake. With crash, the bot is killed (SIGKILL) right
// after the first half of the events were acknowledged, while their answers are still being
// sent and retried, and started again on the same data; events whose ack failed are sent
// again, as the platform would, with the second half.
func (e *Env) faultRun(ctx context.Context, src source, backend string, crash bool) (faultResult, error) {
	res := faultResult{Platform: src.platform(), Backend: backend, Crash: crash, Handled: map[int]int{}, Delivered: map[int]int{}}
	bin, err := e.binary(ctx, "./cmd/neighborbot", "neighborbot")
	if err != nil {
		return res, err
	}
	fk, err := src.startFake(faultsInjected)
	if err != nil {
		return res, err
	}
	defer fk.Close()
	name := "faults-" + src.platform() + "-" + strings.ToLower(backend)
	if crash {
		name += "-kill9"
	}
	env := append(src.env(fk.URL()), "NEIGHBORBOT_DATA="+filepath.Join(e.Work, name))
	if backend == "Redis" {
		rs, err := startRedis(ctx, e, name)
		if err != nil {
			return res, err
		}
		defer rs.Stop()
		env = append(env, "NEIGHBORBOT_REDIS_URL="+rs.URL())
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	logPath := filepath.Join(e.Work, name+".log")
	env = append(env, "NEIGHBORBOT_ADDR="+addr)
	p, err := start(bin, nil, env, logPath)
	if err != nil {
		return res, err
	}
	defer func() { p.Stop(20 * time.Second) }()
	if _, err := p.waitReady("http://"+addr+"/readyz", 30*time.Second); err != nil {
		return res, err
	}
	n := e.faultEvents()
	evs := make([]prepared, 0, 2*n)
	run := "f" + strings.ToLower(backend)
	if crash {
		run += "k"
	}
	for i := range n {
		ev := src.build(run, i, true)
		evs = append(evs, ev, ev) // the retry: the same event again
	}
	e.Log.Info("faults", "platform", src.platform(), "backend", backend, "events", n, "kill9", crash)
	t0 := time.Now()
	sent := evs
	logs := []string{logPath}
	if crash {
		first, _, _, ok := loadOnce(ctx, "http://"+addr, evs[:n], 100)
		var again []prepared
		for i, good := range ok[:first.Sent] {
			if !good {
				res.AckErrors++
				again = append(again, evs[i])
			}
		}
		p.Cmd.Process.Signal(syscall.SIGKILL)
		p.Stop(5 * time.Second)
		logPath2 := filepath.Join(e.Work, name+"-restarted.log")
		logs = append(logs, logPath2)
		if p, err = start(bin, nil, env, logPath2); err != nil {
			return res, err
		}
		if _, err := p.waitReady("http://"+addr+"/readyz", 30*time.Second); err != nil {
			return res, err
		}
		sent = append(again, evs[n:]...)
	}
	pr, _, _, ok := loadOnce(ctx, "http://"+addr, sent, 100)
	for _, good := range ok[:pr.Sent] {
		if !good {
			res.AckErrors++
		}
	}
	res.Events = n
	if crash {
		sent = evs // every event was sent, and acknowledged once or more
	} else {
		sent = evs[:pr.Sent]
	}
	keys := probeKeys(sent)
	// WeCom's 45009 means its per-minute window is spent: the bot waits a minute before the
	// retry, so an answer that draws it twice in a row takes over two minutes.
	fk.log().wait(keys, 5*time.Minute)
	res.Took = time.Since(t0)
	waitQuiet(p.Pid(), 5*time.Second)
	p.Stop(20 * time.Second)

	deliveries := fk.log().snapshot()
	seen := map[string]bool{}
	for _, ev := range sent {
		if seen[ev.probe] {
			continue
		}
		seen[ev.probe] = true
		res.Delivered[deliveries[ev.probe].created]++
	}
	handled := map[string]int{}
	for _, path := range logs {
		logb, err := os.ReadFile(path)
		if err != nil {
			return res, err
		}
		for _, m := range handledLine.FindAllSubmatch(logb, -1) {
			handled[string(m[1])]++
		}
	}
	counted := map[string]bool{}
	for _, ev := range sent {
		if counted[ev.key] {
			continue
		}
		counted[ev.key] = true
		res.Handled[handled[ev.key]]++
	}
	res.Faults, res.Calls = fk.log().faultCounts(), fk.log().calls.Load()
	return res, nil
}

func (e *Env) faultsReport(rs []faultResult) string {
	var b strings.Builder
	b.WriteString(e.header("Faults: every event handled once, every message delivered once"))
	fmt.Fprintf(&b, "\nThe fake platform APIs fail the bot's send calls at random: %.0f%% rate limits (Feishu: HTTP 429 code 99991400 "+
		"with Retry-After; WeCom: errcode 45009), %.0f%% server errors (500/502/503), %.0f%% slow answers (%v), and %.0f%% dropped "+
		"connections after the message was delivered (the answer is lost, so the bot cannot know it went out). Every "+
		"event is sent twice, as a platform does when it retries, and each asks for an answer. Handled counts the bot's "+
		"own log line per handled event; delivered counts the messages created at the fake for each event's answer "+
		"(Feishu dedupes a repeated `uuid` within an hour, as the real API does; WeCom's message/send has no idempotency key, but drops a repeat with identical recipients and content while `enable_duplicate_check` is on, as the bot asks). The harness waits up to 5 minutes for every answer: WeCom's 45009 says its per-minute window is spent, and the bot waits a minute before trying again, so an answer that draws it twice takes over two. In the kill -9 rows the bot is killed (SIGKILL) as soon as the first half of the events is acknowledged, with their answers still being sent and retried, and started again on the same data; events whose ack failed are sent again with the second half. Events it was handling then are handled again after the restart (counted, not a failure: their answers carry the same ids); what must hold is that every answer is delivered once. The bot writes its log lines at most 100 ms late (internal/logbuf), so the kill also takes the lines of its last moments: an event counted 0× handled there was answered (delivered once) but its line died with the process.\n\n",
		faultsInjected.RateLimit*100, faultsInjected.Server*100, faultsInjected.Slow*100, faultsInjected.SlowFor, faultsInjected.Drop*100)
	t := Table{Head: []string{"platform", "backend", "kill -9", "events (×2)", "acks refused", "send calls (faults injected)", "handled once", "delivered once", "missing / duplicated", "all answered after"}}
	for _, r := range rs {
		if r.Note != "" && r.Events == 0 {
			t.Row(platformTitle(r.Platform), r.Backend, crashString(r.Crash), "not measured: "+r.Note, "", "", "", "", "", "")
			continue
		}
		once := r.Handled[1] == r.Events
		dOnce := r.Delivered[1] == r.Events
		if r.Crash {
			once = true // events handled again after the restart are expected; deliveries are what counts
		}
		t.Row(platformTitle(r.Platform), r.Backend, crashString(r.Crash), fmt.Sprint(r.Events), fmt.Sprint(r.AckErrors),
			fmt.Sprintf("%d (%s)", r.Calls, countsString(r.Faults)),
			fmt.Sprintf("%d of %d %s%s", r.Handled[1], r.Events, verdict(once), othersString(r.Handled, "handled")),
			fmt.Sprintf("%d of %d %s", r.Delivered[1], r.Events, verdict(dOnce)),
			fmt.Sprintf("%d / %d", r.Delivered[0], r.Events-r.Delivered[0]-r.Delivered[1]),
			r.Took.Round(100*time.Millisecond).String())
	}
	b.WriteString(t.String())
	return b.String()
}

func crashString(crash bool) string {
	if crash {
		return "halfway, restarted"
	}
	return "no"
}

func countsString(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// othersString lists the events handled other than once, e.g. "; 2× handled: 3".
func othersString(m map[int]int, what string) string {
	var parts []string
	for k, v := range m {
		if k != 1 && v > 0 {
			parts = append(parts, fmt.Sprintf("%d× %s: %d", k, what, v))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}
