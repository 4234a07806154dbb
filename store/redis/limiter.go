package redis

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// Limiter is a bot.RateLimiter shared by every replica on the same Redis: the platforms'
// limits (per app, per chat, per robot) hold for the fleet, not for each process. It makes
// the same decisions as bot.LocalLimiter, with the buckets kept in Redis (takeLimits).
//
// It is a bot.Reserver: the put of an event addressed to the bot and leased to this replica
// also takes the tokens of its reply (store.InboundEntry.Reserve), in the same round trip.
// The reply's Take finds them here and asks Redis nothing, if it comes within reserveFor;
// a token not used by then stays taken (the limits hold back a little more, never less).
type Limiter struct {
	s *Store

	mu   sync.Mutex
	held map[string][]time.Time // the limits' signature → when each token held was taken, oldest first
	n    int                    // tokens held, in all
}

var (
	_ bot.RateLimiter = (*Limiter)(nil)
	_ bot.Reserver    = (*Limiter)(nil)
)

// reserveFor is how long a token taken with a put stays its reply's. A message goes out
// after its token was taken, never before; the longer after, the more messages taken at
// different times may go out close together. Within reserveFor, at most reserveFor's worth of
// a bucket's refills (a tenth of a token of a chat's 5 a second, one of an app's 50) more
// than its burst may reach a platform in a moment. A reply is sent within milliseconds of
// its event's put unless the replica is far behind, when it takes a token afresh.
const reserveFor = 50 * time.Millisecond

// maxHeld bounds the tokens held: past it, those too old to be used are dropped.
const maxHeld = 4096

// Limiter returns the store's shared rate limiter.
func (s *Store) Limiter() bot.RateLimiter { return s.limiter }

// ReservesWithPut implements bot.Reserver.
func (l *Limiter) ReservesWithPut() {}

// Take takes a token from every limit at once, or from none and says how long to wait.
func (l *Limiter) Take(ctx context.Context, limits []bot.Limit, now time.Time) (time.Duration, error) {
	if len(limits) == 0 || l.use(limits, now) {
		return 0, nil
	}
	keys, args := l.takeArgs(limits, now)
	wait, err := l.s.runInt(ctx, "rate limit", takeLimits, keys, args...)
	if err != nil {
		return 0, err
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// takeArgs are the takeLimits script's keys and arguments.
func (l *Limiter) takeArgs(limits []bot.Limit, now time.Time) (keys []string, args []any) {
	keys = make([]string, 0, len(limits))
	args = make([]any, 0, 1+2*len(limits))
	args = append(args, now.UnixMicro())
	for _, lim := range limits {
		keys = append(keys, l.s.k.limit(lim.Key))
		args = append(args, lim.Every.Microseconds(), max(lim.Burst, 1))
	}
	return keys, args
}

// signature names a set of limits: a token held for it serves a Take of exactly those.
func signature(limits []bot.Limit) string {
	var b strings.Builder
	for _, lim := range limits {
		b.WriteString(lim.Key)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(int64(lim.Every), 36))
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(lim.Burst))
		b.WriteByte(0)
	}
	return b.String()
}

// hold keeps a token taken at for limits.
func (l *Limiter) hold(limits []bot.Limit, at time.Time) {
	sig := signature(limits)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string][]time.Time{}
	}
	if l.n >= maxHeld {
		for k, ts := range l.held {
			l.dropStaleLocked(k, ts, at)
		}
		if l.n >= maxHeld {
			return // a token not held is only unused
		}
	}
	l.held[sig] = append(l.held[sig], at)
	l.n++
}

// use takes a token held for limits, if one was taken within reserveFor of now.
func (l *Limiter) use(limits []bot.Limit, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return false
	}
	sig := signature(limits)
	ts := l.dropStaleLocked(sig, l.held[sig], now)
	if len(ts) == 0 {
		return false
	}
	if len(ts) == 1 {
		delete(l.held, sig)
	} else {
		l.held[sig] = ts[1:]
	}
	l.n--
	return true
}

// dropStaleLocked drops sig's tokens taken more than reserveFor before now, and returns the rest.
func (l *Limiter) dropStaleLocked(sig string, ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > reserveFor {
		i++
	}
	if i == 0 {
		return ts
	}
	l.n -= i
	if ts = ts[i:]; len(ts) == 0 {
		delete(l.held, sig)
	} else {
		l.held[sig] = ts
	}
	return ts
}
