package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store/storetest"
)

// An operator restores last night's backup: restore refuses a store holding data, and with
// -force saves what it held, empties it and loads the backup, after which the store exports
// the backup byte for byte. On bbolt and on Redis.
func TestRestore(t *testing.T) {
	for _, backend := range []string{"bbolt", "redis"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			env := map[string]string{"NEIGHBORBOT_DATA": filepath.Join(dir, "data"), "NEIGHBORBOT_LOG_LEVEL": "error"}
			if backend == "redis" {
				env = map[string]string{"NEIGHBORBOT_REDIS_URL": "redis://" + redistest.Start(t) + "/0", "NEIGHBORBOT_LOG_LEVEL": "error"}
			}
			getenv := func(k string) string { return env[k] }
			cmd := func(args ...string) (string, error) {
				var out, errs bytes.Buffer
				err := run(ctx, args, getenv, &out, &errs)
				return out.String() + errs.String(), err
			}
			must := func(args ...string) string {
				t.Helper()
				out, err := cmd(args...)
				if err != nil {
					t.Fatalf("neighborbot %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			read := func(name string) []byte {
				t.Helper()
				b, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}

			cfg, err := config.Load(getenv, "")
			if err != nil {
				t.Fatal(err)
			}
			st, err := app.OpenStore(ctx, cfg, time.Now, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			storetest.Fill(t, st, storetest.NewClock(storetest.Epoch))
			st.Close()

			backups := filepath.Join(dir, "backups")
			os.Mkdir(backups, 0o750)
			file := filepath.Join(backups, "neighborbot-2026-12-06.jsonl")
			must("export", file)
			want := read(file)

			// Into a store holding data: refused, and nothing changes.
			out, err := cmd("restore", file)
			if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "-force") {
				t.Fatalf("restore into a store holding data: %v\n%s", err, out)
			}
			// Not a backup at all: refused before anything is touched.
			notes := filepath.Join(dir, "notes.txt")
			os.WriteFile(notes, []byte("买菜\n"), 0o600)
			if _, err := cmd("restore", "-force", notes); err == nil || !strings.Contains(err.Error(), "not a neighborbot backup") {
				t.Fatalf("restore of a text file: %v", err)
			}

			out = must("restore", "-force", file)
			for _, says := range []string{"saved what the store held", "emptied the store", "restored ", "item"} {
				if !strings.Contains(out, says) {
					t.Errorf("restore -force said:\n%s\nwant it to say %q", out, says)
				}
			}
			saved, _ := filepath.Glob(filepath.Join(backups, "neighborbot-before-restore-*.jsonl"))
			if len(saved) != 1 || !bytes.Equal(read(saved[0]), want) {
				t.Fatalf("the copy of what the store held: %v", saved)
			}
			after := filepath.Join(dir, "after.jsonl")
			must("export", after)
			if !bytes.Equal(read(after), want) {
				t.Fatalf("after the restore the store exports something else:\n%s\nwant\n%s", read(after), want)
			}
		})
	}
}

// `neighborbot version` prints the version the package build stamped in.
func TestVersion(t *testing.T) {
	old := buildVersion
	buildVersion = "1.4.0"
	defer func() { buildVersion = old }()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "neighborbot 1.4.0 (go") {
		t.Fatalf("version printed %q", out.String())
	}
}
