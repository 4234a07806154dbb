package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/metrics"
	"github.com/neighborbot/neighborbot/store"
)

// nopInbox is an inbox that does nothing, so BenchmarkEventCost times the metrics alone.
type nopInbox struct{ store.Store }

func (nopInbox) PutInboundBatch(_ context.Context, e []store.InboundEntry, _ time.Time) ([]bool, error) {
	return nil, nil
}
func (nopInbox) AckInboundLater([]string, time.Time)    {}
func (nopInbox) RecordOutboxLater(...store.OutboxEntry) {}
func (nopInbox) FlushLater()                            {}

// BenchmarkEventCost is what the metrics add to one inbound Feishu event, at most: the
// pipeline's clock readings and its Received and Handled, the store timer around the event's
// inbox write (shared by a batch of events in the bot; here one) and its ack, and
// a twenty-fifth of a send (one event in 25 is answered in the harness's inbound scenario).
// Compare with the bot's CPU per event (docs/BENCHMARKS.md, "Metrics").
//
//	go test -run '^$' -bench BenchmarkEventCost -count 10 ./internal/metrics/
func BenchmarkEventCost(b *testing.B) {
	m := metrics.New(metrics.Options{Version: "bench"})
	st := m.WrapStore(nopInbox{})
	acker := st.(bot.LaterAcker)
	ctx := context.Background()
	entries := []store.InboundEntry{{ID: "feishu:om_1"}}
	ids := []string{"feishu:om_1"}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		st.PutInboundBatch(ctx, entries, now)
		m.Received("feishu", bot.OutcomeAccepted, "", time.Since(start))
		start = time.Now()
		m.Handled("feishu", bot.OutcomeHandled, time.Since(start))
		acker.AckInboundLater(ids, now)
		if i%25 == 0 {
			start = time.Now()
			m.Sent("feishu", bot.CodeOK, time.Since(start))
		}
	}
}
