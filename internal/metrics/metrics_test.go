package metrics_test

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/metrics"
)

// Counting an event, a send, a retry or a rate-limit wait costs no allocation: every label
// combination they use was resolved at New.
func TestHotPathDoesNotAllocate(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "test"})
	allocs := testing.AllocsPerRun(1000, func() {
		m.Received("feishu", bot.OutcomeAccepted, "", time.Millisecond)
		m.Received("feishu", bot.OutcomeDuplicate, "", time.Millisecond)
		m.Handled("feishu", bot.OutcomeHandled, 3*time.Millisecond)
		m.Sent("feishu", bot.CodeOK, 20*time.Millisecond)
		m.Retry("wecom")
		m.RateLimited("wecom")
		m.InboxTakeover("local")
		m.TokenRefreshFailed("oa")
		m.SchedulerStep(metrics.StepItem, metrics.StepFired)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

// Labels are the known platforms, outcomes and codes: a platform not known at start is
// counted as "other", and a send's error code as the platform gave it.
func TestLabels(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "v1.2.3"})
	m.Received("slack", bot.OutcomeRefused, bot.RefusedStoreUnavailable, time.Millisecond)
	m.Received("feishu", bot.OutcomeRefused, bot.RefusedShuttingDown, time.Millisecond)
	m.Sent("feishu", "230020", time.Millisecond)
	m.Sent("feishu", "230020", time.Millisecond)
	m.Busy()
	want := `
# HELP neighborbot_sends_total Sends and card updates by platform and result code: ok, the platform's error code, or error (network, timeout).
# TYPE neighborbot_sends_total counter
neighborbot_sends_total{code="230020",platform="feishu"} 2
neighborbot_sends_total{code="ok",platform="feishu"} 0
neighborbot_sends_total{code="ok",platform="local"} 0
neighborbot_sends_total{code="ok",platform="oa"} 0
neighborbot_sends_total{code="ok",platform="other"} 0
neighborbot_sends_total{code="ok",platform="wecom"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "neighborbot_sends_total"); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`neighborbot_inbound_events_total{outcome="refused",platform="other",reason="store_unavailable"}`, 1},
		{`neighborbot_inbound_events_total{outcome="refused",platform="feishu",reason="shutting_down"}`, 1},
		{`neighborbot_inbound_events_total{outcome="refused",platform="any",reason="busy"}`, 1},
		{`neighborbot_build_info{goversion="` + runtime.Version() + `",revision="unknown",version="v1.2.3"}`, 1},
	} {
		if got := value(t, m, c.series); got != c.want {
			t.Errorf("%s = %v, want %v", c.series, got, c.want)
		}
	}
}

// value is the value of one series (a histogram's: its count), written as
// name{label="value",...} with the labels in order; -1 when the registry has no such series.
func value(t *testing.T, m *metrics.Metrics, series string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			var ls []string
			for _, l := range mt.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			if f.GetName()+"{"+strings.Join(ls, ",")+"}" != series {
				continue
			}
			switch {
			case mt.Counter != nil:
				return mt.GetCounter().GetValue()
			case mt.Gauge != nil:
				return mt.GetGauge().GetValue()
			case mt.Histogram != nil:
				return float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}
