package redis_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/storetest"
	"github.com/neighborbot/neighborbot/store/transfer"
)

// Wipe empties the store's own prefix and leaves a store under another prefix (here one that
// starts with the same letters) as it was.
func TestWipe(t *testing.T) {
	t.Run("server", func(t *testing.T) { testWipe(t, "redis://"+redistest.Start(t)) })
	// On a Cluster the keys spread over every master.
	t.Run("cluster", func(t *testing.T) { testWipe(t, strings.Join(redistest.StartCluster(t), ",")) })
}

func testWipe(t *testing.T, url string) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Epoch)
	mine, other := MustOpen(t, url, "w", clock.Now), MustOpen(t, url, "w:x", clock.Now)
	storetest.Fill(t, mine, clock)
	storetest.Fill(t, other, clock)
	export := func(s store.Store) string {
		t.Helper()
		var b bytes.Buffer
		if _, err := transfer.Export(ctx, s, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	before := export(other)

	if err := mine.Wipe(ctx); err != nil {
		t.Fatal(err)
	}
	if got := export(MustOpen(t, url, "w", clock.Now)); got != "{\"format\":\"neighborbot-export\",\"version\":1}\n{\"item_seq\":0}\n" {
		t.Fatalf("after Wipe the store exports\n%s", got)
	}
	if export(other) != before {
		t.Fatal("Wipe changed the store under another prefix")
	}
}
