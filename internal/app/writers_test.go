package app_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/redistest"
)

// On Redis the pipeline may have a second inbox write in flight while one stalls (each is a
// round trip of its own); on bbolt, whose journal takes one append at a time, it keeps one.
func TestInboxWritersByBackend(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		env  map[string]string
		want int
	}{
		{"redis", map[string]string{"NEIGHBORBOT_REDIS_URL": "redis://" + redistest.Start(t) + "/0"}, 2},
		{"bbolt", map[string]string{"NEIGHBORBOT_DATA": t.TempDir()}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Load(func(k string) string { return c.env[k] }, "")
			if err != nil {
				t.Fatal(err)
			}
			a, err := app.New(ctx, app.Options{Config: cfg, Owner: "r1", Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if got := max(a.Pipeline.Writers, 1); got != c.want {
				t.Errorf("the pipeline's inbox writers on %s: %d, want %d", c.name, got, c.want)
			}
		})
	}
}
