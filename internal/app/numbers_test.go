package app_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/transfer"
)

// The app, started on a store the release before shared numbers wrote, renumbers it before
// it serves anything, and says so in its log; started again, it leaves it alone.
func TestNewMovesOldStoreToOneNumberSpace(t *testing.T) {
	now := func() time.Time { return bottest.Start }
	st, err := bolt.Open(filepath.Join(t.TempDir(), "neighborbot.db"), bolt.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := os.Open("../numbering/testdata/release-d237e50.export")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := transfer.Import(t.Context(), st, f); err != nil {
		t.Fatal(err)
	}
	start := func() string {
		t.Helper()
		var logs bytes.Buffer
		if _, err := app.New(t.Context(), app.Options{Config: config.Demo(), Store: st, Now: now, Owner: "t",
			Log: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	if logs := start(); !strings.Contains(logs, "level=INFO msg=\"numbers: items, notices, polls and activities now share one number space") ||
		!strings.Contains(logs, "activities=5") || !strings.Contains(logs, "notices=2") {
		t.Fatalf("the first start did not log the move:\n%s", logs)
	}
	e, err := st.LookupNumber(t.Context(), 9)
	if err != nil || e != (store.NumberEntry{No: 9, Kind: store.KindNotice, Ref: "1"}) {
		t.Fatalf("number 9 = %+v, %v; want the old notice 1", e, err)
	}
	if logs := start(); strings.Contains(logs, "share one number space") {
		t.Fatalf("the second start moved the store again:\n%s", logs)
	}
}
