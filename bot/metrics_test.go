package bot_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
)

// recordingMetrics counts what the pipeline and the dispatcher report.
type recordingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *recordingMetrics) add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[key]++
}

func (r *recordingMetrics) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.n)
}

func (r *recordingMetrics) Received(platform string, outcome bot.Outcome, reason string, d time.Duration) {
	r.add(fmt.Sprintf("received %s %s %s", platform, outcome, reason))
}
func (r *recordingMetrics) Handled(platform string, outcome bot.Outcome, d time.Duration) {
	r.add(fmt.Sprintf("handled %s %s", platform, outcome))
}
func (r *recordingMetrics) InboxTakeover(platform string) { r.add("takeover " + platform) }
func (r *recordingMetrics) Sent(platform, code string, d time.Duration) {
	r.add("sent " + platform + " " + code)
}
func (r *recordingMetrics) Retry(platform string)       { r.add("retry " + platform) }
func (r *recordingMetrics) RateLimited(platform string) { r.add("ratelimited " + platform) }

// The pipeline tells its Metrics what became of each event: accepted, duplicate, refused with
// the reason, and then handled.
func TestPipelineReportsOutcomes(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	var handled sync.Map
	var calls atomic.Int64
	inbox := &fullInbox{Inbox: st}
	m := &recordingMetrics{}
	p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a", Now: clock.Now, Log: discard, Metrics: m}
	ctx, stop := runPipeline(p)

	for _, id := range []string{"e1", "e2", "e1"} {
		if err := p.Receive(ctx, msg(id, "hi")); err != nil {
			t.Fatal(err)
		}
	}
	inbox.full.Store(true)
	if err := p.Receive(ctx, msg("e3", "hi")); err == nil {
		t.Fatal("Receive with the inbox full succeeded")
	}
	inbox.full.Store(false)
	if err := p.Receive(ctx, bot.Message{Platform: "local", Text: "no id"}); err == nil {
		t.Fatal("an event without an id was accepted")
	}
	waitFor(t, "two events handled", 10*time.Second, func() bool { return m.counts()["handled local handled"] == 2 })
	stop()
	if err := p.Receive(context.Background(), msg("e4", "hi")); err == nil {
		t.Fatal("Receive after Run ended succeeded")
	}
	want := map[string]int{
		"received local accepted ":                 2,
		"received local duplicate ":                1,
		"received local refused store_unavailable": 1,
		"received local refused invalid":           1,
		"received local refused shutting_down":     1,
		"handled local handled":                    2,
	}
	if got := m.counts(); !maps.Equal(got, want) {
		t.Errorf("reported %v, want %v", got, want)
	}
}

// The dispatcher reports each send with its result code, each retry and each wait for a
// rate limit.
func TestDispatcherReportsSends(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	st, _ := openStore(t, clock)
	p := &flaky{fails: map[string]int{"a": 2}, err: bot.Temporary("429", 0, errors.New("too many"))}
	m := &recordingMetrics{}
	d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": p}, Limiter: &bot.LocalLimiter{},
		Owner: "d", Now: clock.Now, Log: discard, BaseBackoff: time.Second, MaxBackoff: time.Second, Metrics: m}
	ctx := context.Background()
	// a fails twice; b, c and e go to one chat, whose limit lets two through at once.
	enqueue(t, st, clock.Now(), bot.Outbound{ID: "a", Platform: "local", ChatID: "c1", Text: "hi"},
		bot.Outbound{ID: "b", Platform: "local", ChatID: "c2", Text: "hi"}, bot.Outbound{ID: "c", Platform: "local", ChatID: "c2", Text: "hi"},
		bot.Outbound{ID: "e", Platform: "local", ChatID: "c2", Text: "hi"})
	for range 3 {
		if err := d.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	want := map[string]int{"sent local 429": 2, "retry local": 2, "ratelimited local": 1, "sent local ok": 4}
	if got := m.counts(); !maps.Equal(got, want) {
		t.Errorf("reported %v, want %v", got, want)
	}
}
