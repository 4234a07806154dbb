package app

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// Limits of the HTTP server. Every inbound request is a platform callback (a few KiB, answered
// in milliseconds: the event is made durable and acknowledged, handled later), a playground
// call, an export, or a health check; so a client that needs longer than these is either
// broken or trying to hold the server's memory and connections (slowloris).
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included. Bodies are capped at
	// 1 MiB (bot/feishu, bot/wecom) or 64 KiB (bot/local); 30 s is a slow mobile link's
	// worth for that, and a body trickled slower is cut off.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds handling and writing a response after the headers were read.
	// The longest ordinary handler is a playground post with ?wait= (bot/local.MaxWait, 10 s)
	// or a CSV export; the playground's live stream and ?wait= posts set their own deadlines.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout closes a kept-alive connection nobody uses, so idle clients (and
	// platforms' connection pools) do not pin a goroutine and buffers each for ever.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxInFlight caps the requests with a body (webhook callbacks, playground posts)
	// handled at once. Each holds up to its body limit in memory while it is read; beyond the
	// cap a request waits a moment for a slot (admitWait, in a bounded waiting room), then is
	// answered 503 with Retry-After: Feishu and WeCom retry a callback that failed, and the
	// playground's page shows the error.
	DefaultMaxInFlight = 64
	// retryAfter is what a refused request is told to wait, in seconds.
	retryAfter = 1
)

// ServerLimits are the HTTP server's timeouts and its cap on concurrent requests with a body.
// Zero fields take the Default values; tests inject short ones.
type ServerLimits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxInFlight       int
}

// withDefaults fills the zero fields.
func (l ServerLimits) withDefaults() ServerLimits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = DefaultMaxInFlight
	}
	return l
}

// newServer builds the HTTP server around the app's routes.
func (a *App) newServer() *http.Server {
	l := a.limits
	return &http.Server{
		Handler:           limitInFlight(a.Mux, l.MaxInFlight, a.Log, a.busyMetric()),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// limitInFlight lets at most max requests that carry a body (POST, PUT, PATCH, DELETE: the
// platforms' callbacks and the playground's posts) into next at once, so the number of bodies
// held in memory is bounded whatever clients do. One more waits for a slot up to admitWait
// (a burst of callbacks, each handled in milliseconds, gets through), with at most
// maxWaiters others; past that it is answered 503 with Retry-After, its body unread. Reads
// (GET, HEAD: pages, streams, health checks, exports) pass: they carry no body, and /healthz
// must answer while callbacks flood in. A handler gives its slot back early with
// bot.ReleaseSlot.
func limitInFlight(next http.Handler, max int, log *slog.Logger, refused func()) http.Handler {
	l := &inFlight{slots: make(chan struct{}, max), maxWaiters: int64(max) * waitersPerSlot}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if !l.acquire(r.Context()) {
			if refused != nil {
				refused()
			}
			if n, ok := l.refusedLog(time.Now()); ok {
				log.Warn("busy: requests refused", "refused", n, "last", r.Method+" "+r.URL.Path, "in_flight", max)
			}
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			w.Header().Set("Connection", "close") // its unread body is not worth reading
			http.Error(w, "服务繁忙，请稍后重试。Server busy, retry later.", http.StatusServiceUnavailable)
			return
		}
		release := sync.OnceFunc(func() { <-l.slots })
		defer release()
		next.ServeHTTP(w, r.WithContext(bot.WithSlot(r.Context(), release)))
	})
}

const (
	// admitWait is how long a request over the cap waits for a slot: well under the 3 s in
	// which Feishu wants a callback answered (WeCom: 5 s).
	admitWait = time.Second
	// waitersPerSlot bounds the requests waiting for a slot, per slot.
	waitersPerSlot = 4
)

// inFlight is limitInFlight's semaphore and its bounded waiting room.
type inFlight struct {
	slots      chan struct{}
	waiters    atomic.Int64
	maxWaiters int64

	mu        sync.Mutex
	refused   int       // since the last log line
	lastLogAt time.Time // of that line
}

// refusedLogEvery spaces the log lines about refused requests: a flood of them must not
// become a flood of log lines.
const refusedLogEvery = 10 * time.Second

// refusedLog counts a refusal and says whether to log now, with the count since the last line.
func (l *inFlight) refusedLog(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused++
	if now.Sub(l.lastLogAt) < refusedLogEvery {
		return 0, false
	}
	n := l.refused
	l.refused, l.lastLogAt = 0, now
	return n, true
}

// acquire takes a slot, waiting up to admitWait if there is room to wait.
func (l *inFlight) acquire(ctx context.Context) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	defer l.waiters.Add(-1)
	if l.waiters.Add(1) > l.maxWaiters {
		return false
	}
	t := time.NewTimer(admitWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
