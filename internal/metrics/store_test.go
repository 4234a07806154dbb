package metrics_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/metrics"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// The wrapped store keeps the backend's later acks (bot.LaterAcker), counted as ack_inbound,
// and acks through it: hiding them would make the pipeline ack each event with a write of its
// own. A backend without them is not made to look as if it had them.
func TestWrapStoreKeepsLaterAcks(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := metrics.New(metrics.Options{Version: "test"})
	w := m.WrapStore(st)
	la, ok := w.(bot.LaterAcker)
	if !ok {
		t.Fatal("the wrapped bbolt store is not a bot.LaterAcker")
	}
	if _, err := w.PutInboundBatch(ctx, []store.InboundEntry{{ID: "feishu:e1", Payload: []byte(`{}`)}}, now); err != nil {
		t.Fatal(err)
	}
	la.AckInboundLater([]string{"feishu:e1"}, now)
	la.FlushLater()
	if got, err := st.LeaseInbound(ctx, "probe", 10, now.Add(time.Hour), time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("after the later ack, LeaseInbound gave %d events (%v), want none", len(got), err)
	}
	for op, want := range map[string]float64{"put_inbound": 1, "ack_inbound": 1} {
		if got := value(t, m, `neighborbot_store_op_seconds{op="`+op+`"}`); got != want {
			t.Errorf("%s timed %v times, want %v", op, got, want)
		}
	}
	if _, ok := m.WrapStore(struct{ store.Store }{st}).(bot.LaterAcker); ok {
		t.Error("a store without later acks was wrapped as a bot.LaterAcker")
	}
}
