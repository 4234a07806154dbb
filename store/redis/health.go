package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Write health: Redis refuses writes it cannot keep, out of memory (OOM, maxmemory reached
// under a noeviction policy) or unable to persist (MISCONF, a failed RDB save with
// stop-writes-on-bgsave-error). Such a refusal is returned as store unavailable (the platform
// retries the event) and recorded here; Ping (so /readyz) reports it until a write works
// again: Ping itself tries one (a small SET) while writes are refused, so readiness comes back
// once the operator has made room, without traffic. The refusal is logged at Error once, then
// at most once a minute while it lasts, and the recovery at Info.
type health struct {
	log *slog.Logger

	mu     sync.Mutex
	err    error     // the last refused write; nil while writes work
	op     string    // what it was
	since  time.Time // the first refusal of this spell
	count  int       // refusals in this spell
	logged time.Time // when a refusal was last logged
}

// refusesWrites reports whether an error reply means Redis refuses writes for now.
func refusesWrites(msg string) bool {
	return strings.HasPrefix(msg, "OOM") || strings.HasPrefix(msg, "MISCONF")
}

// failed records a refused write, if err is one.
func (h *health) failed(op string, err error) {
	var re redis.Error
	if !errors.As(err, &re) || !refusesWrites(re.Error()) {
		return
	}
	now := time.Now()
	h.mu.Lock()
	first := h.err == nil
	if first {
		h.since, h.count = now, 0
	}
	h.err, h.op = err, op
	h.count++
	again := !first && now.Sub(h.logged) >= time.Minute
	if first || again {
		h.logged = now
	}
	since, count := h.since, h.count
	h.mu.Unlock()
	const hint = "Redis refuses writes: give it memory (maxmemory) or fix its persistence (disk); the store recovers by itself and is not ready meanwhile"
	switch {
	case first:
		h.log.Error("redis: write refused", "op", op, "err", err, "hint", hint)
	case again:
		h.log.Error("redis: writes still refused", "op", op, "err", err, "since", since, "failures", count, "hint", hint)
	}
}

// check returns the refusal being recorded, or nil.
func (h *health) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("redis: writes refused since %s (refused writes: %d): %s: %w",
		h.since.UTC().Format(time.RFC3339), h.count, h.op, h.err)
}

// recovered clears the refusal, if any, and logs it.
func (h *health) recovered() {
	h.mu.Lock()
	if h.err == nil {
		h.mu.Unlock()
		return
	}
	op, since, count := h.op, h.since, h.count
	h.err = nil
	h.mu.Unlock()
	h.log.Info("redis: writes work again", "failed", op,
		"failing_for", time.Since(since).Round(time.Millisecond), "failures", count)
}

// probe tries a write while writes are refused: a small SET that expires by itself.
func (s *Store) probe(ctx context.Context) error {
	if s.health.check() == nil {
		return nil
	}
	err := s.rdb.Set(ctx, s.k.health(), time.Now().UTC().Format(time.RFC3339Nano), time.Minute).Err()
	if err != nil {
		return s.fail(ctx, "write probe", err)
	}
	s.health.recovered()
	return nil
}
