package redis

import (
	"context"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// Limiter is a bot.RateLimiter shared by every replica on the same Redis: the platforms'
// limits (per app, per chat, per robot) hold for the fleet, not for each process. It makes
// the same decisions as bot.LocalLimiter, with the buckets kept in Redis (takeLimits).
type Limiter struct{ s *Store }

var _ bot.RateLimiter = (*Limiter)(nil)

// Limiter returns the store's shared rate limiter.
func (s *Store) Limiter() bot.RateLimiter { return s.limiter }

// Take takes a token from every limit at once, or from none and says how long to wait.
func (l *Limiter) Take(ctx context.Context, limits []bot.Limit, now time.Time) (time.Duration, error) {
	if len(limits) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, len(limits))
	args := make([]any, 0, 1+2*len(limits))
	args = append(args, now.UnixMicro())
	for _, lim := range limits {
		keys = append(keys, l.s.k.limit(lim.Key))
		args = append(args, lim.Every.Microseconds(), max(lim.Burst, 1))
	}
	wait, err := l.s.runInt(ctx, "rate limit", takeLimits, keys, args...)
	if err != nil {
		return 0, err
	}
	return time.Duration(wait) * time.Microsecond, nil
}
