package bolt_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// TestInboxGroupCommit: puts and acks that share commits each get their own result, also when
// one of them fails (an ack of an unknown event) in the middle of a group.
func TestInboxGroupCommit(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, filepath.Join(t.TempDir(), "neighborbot.db"), func() time.Time { return now })
	ctx := t.Context()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("ev%03d", i)
			ok, err := s.PutInbound(ctx, id, []byte("p"), now)
			if err != nil || !ok {
				t.Errorf("PutInbound(%s) = %v, %v", id, ok, err)
				return
			}
			if i%3 == 0 {
				err := s.AckInbound(ctx, "unknown-"+id, now)
				if community.ErrorCode(err) != community.ENotFound {
					t.Errorf("AckInbound(unknown) = %v, want not found", err)
				}
			}
			if err := s.AckInbound(ctx, id, now); err != nil {
				t.Errorf("AckInbound(%s) = %v", id, err)
			}
			if ok, err := s.PutInbound(ctx, id, []byte("p"), now); err != nil || ok {
				t.Errorf("PutInbound(%s) again = %v, %v", id, ok, err)
			}
		})
	}
	wg.Wait()
	got, err := s.LeaseInbound(ctx, "w", n, now.Add(store.InboxRetention/2), time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("LeaseInbound after every event was acked: %d entries, %v", len(got), err)
	}
}
