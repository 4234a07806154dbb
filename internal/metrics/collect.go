package metrics

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// QueueStatser is the optional power of a store backend Watch reads the queues with
// (store/bolt and store/redis have it).
type QueueStatser interface {
	QueueStats(ctx context.Context, now time.Time) (store.QueueStats, error)
}

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 2 * time.Second

// openStates are the states counted in neighborbot_items: those of open items, which the
// backends count from their index of open items (closed and cancelled ones grow for ever).
var openStates = []community.State{community.StateNeed, community.StateOpen, community.StateClaimed, community.StateDone, community.StateFollowUp}

// Watch registers a collector that reads, on each scrape, from st: readiness (Ping, as
// /readyz), the inbox's and the outbox's depth and oldest entry (QueueStats, when the backend
// or one it wraps has it) and the open items by state. Each is a few bounded reads.
func (m *Metrics) Watch(st store.Store, now func() time.Time, log *slog.Logger) {
	c := &storeCollector{st: st, now: now, log: log}
	c.queues, _ = store.Find[QueueStatser](st)
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	c.ready = desc("ready", "1 when the store answers and its writes work (as /readyz), else 0.")
	c.inboxPending = desc("inbox_pending", "Inbound events recorded and not yet handled.")
	c.inboxOldest = desc("inbox_oldest_seconds", "Age of the unhandled event at the front of the inbox (0 when none).")
	c.outboxPending = desc("outbox_pending", "Outbox entries pending (not yet sent nor given up), including those held back until later.")
	c.outboxOldest = desc("outbox_oldest_due_seconds", "How long the longest-waiting due outbox entry has waited to be sent (0 when nothing is due).")
	c.items = desc("items", "Open service items by state.", "state")
	c.scrapeErrs = desc("store_scrape_errors_total", "Scrapes whose store reads failed (the families they feed are left out of that scrape).")
	m.reg.MustRegister(c)
}

type storeCollector struct {
	st     store.Store
	queues QueueStatser
	now    func() time.Time
	log    *slog.Logger

	ready, inboxPending, inboxOldest, outboxPending, outboxOldest, items, scrapeErrs *prometheus.Desc
	failed                                                                           atomic.Uint64 // scrapes with a failed read
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ready, c.inboxPending, c.inboxOldest, c.outboxPending, c.outboxOldest, c.items, c.scrapeErrs} {
		ch <- d
	}
}

// Collect is called by the registry once per scrape (the handler allows a few at once).
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	age := func(t time.Time) float64 {
		if t.IsZero() || t.After(now) {
			return 0
		}
		return now.Sub(t).Seconds()
	}
	failed := 0
	fail := func(what string, err error) {
		failed++
		if c.log != nil {
			c.log.Warn("metrics: store read failed", "what", what, "err", err)
		}
	}
	ready := 1.0
	if err := c.st.Ping(ctx); err != nil {
		ready = 0
	}
	gauge(c.ready, ready)
	if c.queues != nil {
		if q, err := c.queues.QueueStats(ctx, now); err != nil {
			fail("queue stats", err)
		} else {
			gauge(c.inboxPending, float64(q.InboxPending))
			gauge(c.inboxOldest, age(q.InboxOldest))
			gauge(c.outboxPending, float64(q.OutboxPending))
			gauge(c.outboxOldest, age(q.OutboxOldestDue))
		}
	}
	if n, err := c.st.CountItems(ctx, store.ItemFilter{Open: true}); err != nil {
		fail("items by state", err)
	} else {
		for _, s := range openStates {
			gauge(c.items, float64(n[s]), string(s))
		}
	}
	total := c.failed.Load()
	if failed > 0 {
		total = c.failed.Add(1)
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrs, prometheus.CounterValue, float64(total))
}
