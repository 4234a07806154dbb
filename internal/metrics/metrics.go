// Package metrics exports neighborbot's metrics in the Prometheus format: it implements
// bot.Metrics (the inbound pipeline and the outbox dispatcher), counts scheduler steps and
// token refresh failures, times the store's operations (WrapStore), and reads the queues'
// depth, the items by state and readiness from the store when scraped (Watch), never per
// event. Labels are platforms, outcomes, codes and operation names: never a person, a group
// or an item.
//
// The hot path is cheap: every label combination an event or a send can take is resolved
// once, at New, so counting is an atomic add with no allocation.
package metrics

import (
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/neighborbot/neighborbot/bot"
)

// Namespace prefixes every family of ours.
const Namespace = "neighborbot"

// Platforms are the platform label values resolved at start; any other platform name is
// counted as "other".
var Platforms = []string{"local", "feishu", "wecom", "oa"}

// otherPlatform stands for a platform not in Platforms.
const otherPlatform = "other"

// Scheduler step outcomes (Metrics.SchedulerStep).
const (
	StepFired    = "fired"     // sent on time
	StepCaughtUp = "caught_up" // sent more than 5 minutes late (the scheduler was not running)
	StepSkipped  = "skipped"   // its time passed while no scheduler ran; recorded, not sent
)

// Scheduler step kinds.
const (
	StepItem       = "item"       // an item's deadline ladder (remind, escalate, auto-close)
	StepOccurrence = "occurrence" // a schedule's occurrence (announce, remind, agenda)
)

// Latency buckets, in seconds. Acks are one durable write (sub-millisecond to tens of
// milliseconds); handling and sends include a platform round trip.
var (
	fastBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	slowBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}
)

// Metrics is the registry and every family. Use New; the zero value is not usable.
type Metrics struct {
	reg *prometheus.Registry

	plats map[string]*platform // by platform name, Platforms and otherPlatform

	inbound   *prometheus.CounterVec
	sends     *prometheus.CounterVec
	steps     map[[2]string]prometheus.Counter
	storeOps  *prometheus.HistogramVec
	storeErrs *prometheus.CounterVec
	busy      prometheus.Counter
}

// platform holds one platform's label children, resolved at New.
type platform struct {
	name                                    string
	accepted, duplicate, handled, failed    prometheus.Counter
	refusedStore, refusedStop, refusedInval prometheus.Counter
	ack, handle, send                       prometheus.Observer
	sentOK                                  prometheus.Counter
	retries, rateLimited, takeovers         prometheus.Counter
	tokenFailures                           prometheus.Counter
}

// Options configure New.
type Options struct {
	// Version names the build in neighborbot_build_info; default the module version from
	// the binary's build info.
	Version string
}

// New builds the registry with every family, the Go runtime's and the process's collectors.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), plats: map[string]*platform{}}
	f := factory{m.reg}
	m.inbound = f.counterVec("inbound_events_total",
		"Inbound events by platform and outcome: accepted (recorded), duplicate, refused (with a reason), handled, failed (the handler failed; retried after its lease).",
		"platform", "outcome", "reason")
	ack := f.histogramVec("ack_seconds", "Time to record an inbound event durably (what the platform waits for its ack), by platform.", fastBuckets, "platform")
	handle := f.histogramVec("handle_seconds", "Time a worker spent handling an inbound event (Engine.Handle), by platform.", slowBuckets, "platform")
	send := f.histogramVec("send_seconds", "Duration of one send or card update to a platform, by platform.", slowBuckets, "platform")
	m.sends = f.counterVec("sends_total", "Sends and card updates by platform and result code: ok, the platform's error code, or error (network, timeout).", "platform", "code")
	retries := f.counterVec("send_retries_total", "Failed sends put back to be tried again after a backoff, by platform.", "platform")
	limited := f.counterVec("rate_limit_waits_total", "Sends deferred by a rate limit, by platform.", "platform")
	takeovers := f.counterVec("inbox_lease_takeovers_total", "Inbound events leased again after an earlier lease ran out (a replica died, or a handler failed), by platform.", "platform")
	tokens := f.counterVec("token_refresh_failures_total", "Failed fetches of a platform's access token, by platform.", "platform")
	for _, name := range append(Platforms, otherPlatform) {
		m.plats[name] = &platform{
			name:          name,
			accepted:      m.inbound.WithLabelValues(name, string(bot.OutcomeAccepted), ""),
			duplicate:     m.inbound.WithLabelValues(name, string(bot.OutcomeDuplicate), ""),
			handled:       m.inbound.WithLabelValues(name, string(bot.OutcomeHandled), ""),
			failed:        m.inbound.WithLabelValues(name, string(bot.OutcomeFailed), ""),
			refusedStore:  m.inbound.WithLabelValues(name, string(bot.OutcomeRefused), bot.RefusedStoreUnavailable),
			refusedStop:   m.inbound.WithLabelValues(name, string(bot.OutcomeRefused), bot.RefusedShuttingDown),
			refusedInval:  m.inbound.WithLabelValues(name, string(bot.OutcomeRefused), bot.RefusedInvalid),
			ack:           ack.WithLabelValues(name),
			handle:        handle.WithLabelValues(name),
			send:          send.WithLabelValues(name),
			sentOK:        m.sends.WithLabelValues(name, bot.CodeOK),
			retries:       retries.WithLabelValues(name),
			rateLimited:   limited.WithLabelValues(name),
			takeovers:     takeovers.WithLabelValues(name),
			tokenFailures: tokens.WithLabelValues(name),
		}
	}
	m.busy = m.inbound.WithLabelValues("any", string(bot.OutcomeRefused), bot.RefusedBusy)

	steps := f.counterVec("scheduler_steps_total",
		"Scheduler steps by kind (item: the deadline ladder; occurrence: a schedule's announcement and reminders) and outcome: fired, caught_up (sent over 5 minutes late), skipped (its time passed while no scheduler ran).",
		"kind", "outcome")
	m.steps = map[[2]string]prometheus.Counter{}
	for _, k := range []string{StepItem, StepOccurrence} {
		for _, oc := range []string{StepFired, StepCaughtUp, StepSkipped} {
			m.steps[[2]string{k, oc}] = steps.WithLabelValues(k, oc)
		}
	}
	m.storeOps = f.histogramVec("store_op_seconds", "Duration of store operations by operation (the backend's, under the in-process cache).", fastBuckets, "op")
	m.storeErrs = f.counterVec("store_op_errors_total", "Store operations that failed, by operation (not found and conflicts are not failures).", "op")

	version, revision := buildVersion(o.Version)
	bi := f.gaugeVec("build_info", "The running build: 1, labelled with its version, VCS revision and Go version.", "version", "revision", "goversion")
	bi.WithLabelValues(version, revision, goVersion()).Set(1)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry every family is in (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
}

func (m *Metrics) plat(name string) *platform {
	if p, ok := m.plats[name]; ok {
		return p
	}
	return m.plats[otherPlatform]
}

var _ bot.Metrics = (*Metrics)(nil)

// Received implements bot.Metrics.
func (m *Metrics) Received(platform string, outcome bot.Outcome, reason string, d time.Duration) {
	p := m.plat(platform)
	p.ack.Observe(d.Seconds())
	switch outcome {
	case bot.OutcomeAccepted:
		p.accepted.Inc()
	case bot.OutcomeDuplicate:
		p.duplicate.Inc()
	default:
		switch reason {
		case bot.RefusedStoreUnavailable:
			p.refusedStore.Inc()
		case bot.RefusedShuttingDown:
			p.refusedStop.Inc()
		default:
			p.refusedInval.Inc()
		}
	}
}

// Handled implements bot.Metrics.
func (m *Metrics) Handled(platform string, outcome bot.Outcome, d time.Duration) {
	p := m.plat(platform)
	p.handle.Observe(d.Seconds())
	if outcome == bot.OutcomeHandled {
		p.handled.Inc()
	} else {
		p.failed.Inc()
	}
}

// InboxTakeover implements bot.Metrics.
func (m *Metrics) InboxTakeover(platform string) { m.plat(platform).takeovers.Inc() }

// Sent implements bot.Metrics. Error codes are resolved when they first occur (failures are
// rare; a success costs no lookup).
func (m *Metrics) Sent(platform, code string, d time.Duration) {
	p := m.plat(platform)
	p.send.Observe(d.Seconds())
	if code == bot.CodeOK {
		p.sentOK.Inc()
		return
	}
	m.sends.WithLabelValues(p.name, code).Inc()
}

// Retry implements bot.Metrics.
func (m *Metrics) Retry(platform string) { m.plat(platform).retries.Inc() }

// RateLimited implements bot.Metrics.
func (m *Metrics) RateLimited(platform string) { m.plat(platform).rateLimited.Inc() }

// Busy counts a callback the HTTP server refused because too many were in flight.
func (m *Metrics) Busy() { m.busy.Inc() }

// TokenRefreshFailed counts a failed fetch of platform's access token.
func (m *Metrics) TokenRefreshFailed(platform string) { m.plat(platform).tokenFailures.Inc() }

// SchedulerStep counts a scheduler step of kind (StepItem, StepOccurrence) by outcome
// (StepFired, StepCaughtUp, StepSkipped).
func (m *Metrics) SchedulerStep(kind, outcome string) {
	if c, ok := m.steps[[2]string{kind, outcome}]; ok {
		c.Inc()
	}
}

// factory registers families under Namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(v)
	return v
}

// buildVersion is the version (given, else the main module's) and the VCS revision.
func buildVersion(given string) (version, revision string) {
	version, revision = given, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	if version == "" {
		version = "unknown"
	}
	return version, revision
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}
