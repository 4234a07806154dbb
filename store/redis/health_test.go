package redis_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	redisstore "github.com/neighborbot/neighborbot/store/redis"
)

// lockedBuffer is a log destination goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Redis out of memory (maxmemory reached, noeviction) refuses writes: they fail as store
// unavailable (the platform retries the event), Ping reports the refusal while reads still
// work, and once Redis has room Ping's own write succeeds and it is ready again.
func TestRedisRefusedWrites(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := context.Background()
	var logs lockedBuffer
	s, err := redisstore.Open(ctx, "redis://"+srv.Addr, redisstore.Options{Prefix: "wh", Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.PutDoc(ctx, "c", "before", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping before: %v", err)
	}
	rdb := s.Client()
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	var ue *store.UnavailableError
	if err := s.PutDoc(ctx, "c", "during", []byte("v")); !errors.As(err, &ue) || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("PutDoc with Redis out of memory: %v; want store unavailable, OOM", err)
	}
	if _, err := s.PutInbound(ctx, "local:e1", []byte(`{}`), time.Now()); !errors.As(err, &ue) {
		t.Fatalf("PutInbound with Redis out of memory: %v; want store unavailable", err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "writes refused") || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("Ping with Redis out of memory: %v; want the refusal", err)
	}
	if v, err := s.GetDoc(ctx, "c", "before"); err != nil || string(v) != "v" {
		t.Fatalf("reading with Redis out of memory: %q, %v", v, err)
	}
	if n := strings.Count(logs.String(), "redis: write refused"); n != 1 {
		t.Errorf("the refusal logged %d times, want once:\n%s", n, logs.String())
	}

	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping once Redis has room: %v", err)
	}
	if fresh, err := s.PutInbound(ctx, "local:e1", []byte(`{}`), time.Now()); err != nil || !fresh {
		t.Fatalf("the platform's retry once Redis has room: fresh %v, %v", fresh, err)
	}
	if !strings.Contains(logs.String(), "redis: writes work again") {
		t.Errorf("log lacks the recovery:\n%s", logs.String())
	}
}
