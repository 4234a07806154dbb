package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
)

// AckInboundBatch does what AckInbound does for each id, in one round trip, also on a server
// that has not seen the script yet.
func TestAckInboundBatch(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, "redis://"+redistest.Start(t), "ab", func() time.Time { return now })
	var entries []store.InboundEntry
	for _, id := range []string{"feishu:a", "feishu:b", "feishu:c"} {
		entries = append(entries, store.InboundEntry{ID: id, Payload: []byte(`{}`), LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)})
	}
	if _, err := s.PutInboundBatch(ctx, entries, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().ScriptFlush(ctx).Err(); err != nil { // as after a server restart
		t.Fatal(err)
	}
	err := s.AckInboundBatch(ctx, []string{"feishu:a", "feishu:missing", "feishu:b"}, now)
	if community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("a batch with an unknown id: err %v, want not found for it", err)
	}
	if err := s.AckInboundBatch(ctx, []string{"feishu:a", "feishu:b"}, now); err != nil {
		t.Fatalf("acking again: %v", err)
	}
	// a and b are handled: once every lease has run out only c is handed out again, and none
	// is accepted as new.
	got, err := s.LeaseInbound(ctx, "r2", 10, now.Add(2*time.Minute), time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != "feishu:c" {
		t.Fatalf("LeaseInbound after the batch: %+v, %v; want only feishu:c", got, err)
	}
	fresh, err := s.PutInboundBatch(ctx, entries, now.Add(2*time.Minute))
	if err != nil || fresh[0] || fresh[1] || fresh[2] {
		t.Fatalf("re-recording acked events: fresh %v, %v; want none", fresh, err)
	}
}
