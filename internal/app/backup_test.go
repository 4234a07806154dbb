package app_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/redistest"
)

// Two replicas sharing one Redis, each with NEIGHBORBOT_BACKUP_DIR set: at 03:00 Shanghai
// time the day's backup is written once, by one of them, and is a store export.
func TestDailyBackupOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := "redis://" + redistest.Start(t) + "/0"
	loc, err := time.LoadLocation(app.Zone)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 12, 6, 2, 0, 0, 0, loc) }
	start := func(owner string) (*app.App, string) {
		dir := filepath.Join(t.TempDir(), "backups")
		env := map[string]string{"NEIGHBORBOT_REDIS_URL": url, "NEIGHBORBOT_BACKUP_DIR": dir}
		cfg, err := config.Load(func(k string) string { return env[k] }, "")
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(ctx, app.Options{Config: cfg, Now: now, Owner: owner, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		if a.Backups == nil {
			t.Fatal("NEIGHBORBOT_BACKUP_DIR is set but the app has no backups")
		}
		return a, dir
	}
	a1, d1 := start("replica-1")
	a2, d2 := start("replica-2")

	three := time.Date(2026, 12, 6, 3, 0, 0, 0, loc)
	for _, a := range []*app.App{a1, a2, a1} {
		if _, err := a.Backups.Tick(ctx, three); err != nil {
			t.Fatal(err)
		}
	}
	var found []string
	for _, dir := range []string{d1, d2} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	if len(found) != 1 || filepath.Base(found[0]) != "neighborbot-2026-12-06.jsonl" {
		t.Fatalf("after 03:00 on two replicas the backup directories hold %v, want one neighborbot-2026-12-06.jsonl", found)
	}
	if s1, s2 := a1.Backups.Status(), a2.Backups.Status(); (s1.File == "") == (s2.File == "") || s1.Err != nil || s2.Err != nil {
		t.Fatalf("statuses %+v and %+v: want one replica to have written the file", s1, s2)
	}
}
