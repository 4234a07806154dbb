package app

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"
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
	// cap a request is answered 503 with Retry-After at once rather than queued: Feishu and
	// WeCom retry a callback that failed, and the playground's page shows the error.
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
		Handler:           limitInFlight(a.Mux, l.MaxInFlight, a.Log),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// limitInFlight lets at most max requests that carry a body (POST, PUT, PATCH, DELETE: the
// platforms' callbacks and the playground's posts) into next at once; one more is answered
// 503 with Retry-After without reading its body, so the number of bodies held in memory is
// bounded whatever clients do. Reads (GET, HEAD: pages, streams, health checks, exports) pass:
// they carry no body, and /healthz must answer when callbacks are flooding in.
func limitInFlight(next http.Handler, max int, log *slog.Logger) http.Handler {
	sem := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case sem <- struct{}{}:
		default:
			log.Warn("busy: request refused", "method", r.Method, "path", r.URL.Path, "in_flight", max)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			w.Header().Set("Connection", "close") // its unread body is not worth reading
			http.Error(w, "服务繁忙，请稍后重试。Server busy, retry later.", http.StatusServiceUnavailable)
			return
		}
		defer func() { <-sem }()
		next.ServeHTTP(w, r)
	})
}
