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

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/redistest"
)

// An operator moves the embedded store to Redis with `neighborbot export` and `neighborbot
// import`: the Redis store then exports the same file.
func TestExportImportCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	boltEnv := map[string]string{"NEIGHBORBOT_DATA": filepath.Join(dir, "data"), "NEIGHBORBOT_LOG_LEVEL": "error"}
	redisEnv := map[string]string{"NEIGHBORBOT_REDIS_URL": "redis://" + redistest.Start(t) + "/0", "NEIGHBORBOT_LOG_LEVEL": "error"}
	cmd := func(env map[string]string, args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if err := run(ctx, args, func(k string) string { return env[k] }, &out, &errs); err != nil {
			t.Fatalf("neighborbot %s: %v\n%s", strings.Join(args, " "), err, errs.String())
		}
		return out.String()
	}

	// Something to move: one item in the embedded store.
	cfg, err := config.Load(func(k string) string { return boltEnv[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(ctx, cfg, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreateItem(ctx, func(no int64) (*community.Item, error) {
		return community.NewNeed(no, community.Group{ID: "local:xingfuli"}, community.Actor{ID: "local:chen", Name: "陈阿姨"},
			community.Actor{ID: "local:chen", Name: "陈阿姨"}, "楼道灯坏了", time.Now())
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	first, second := filepath.Join(dir, "bolt.jsonl"), filepath.Join(dir, "redis.jsonl")
	if out := cmd(boltEnv, "export", first); !strings.Contains(out, "1 item") {
		t.Fatalf("export said %q", out)
	}
	cmd(redisEnv, "import", first)
	cmd(redisEnv, "export", second)
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if !bytes.Equal(a, b) {
		t.Fatalf("Redis exports what bbolt exported differently:\n%s\n%s", a, b)
	}
	var errs bytes.Buffer
	if err := run(ctx, []string{"import", first}, func(k string) string { return redisEnv[k] }, &bytes.Buffer{}, &errs); err == nil {
		t.Fatal("a second import into a store holding items succeeded")
	}
	var stdout bytes.Buffer
	if err := run(ctx, []string{"export", "-"}, func(k string) string { return redisEnv[k] }, &stdout, &errs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), a) {
		t.Fatal("export - wrote something else to stdout")
	}
}
