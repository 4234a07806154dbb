package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ListenAdmin opens the admin listener on addr (config admin_addr), which Run serves next to
// the public one and closes with it: GET /metrics (Prometheus) and, with config pprof, the
// profiles under /debug/pprof/. Neither is ever on the public listener. An address in use
// fails here, at start-up, naming the setting.
func (a *App) ListenAdmin(addr string) (net.Addr, error) {
	if a.Metrics == nil {
		return nil, fmt.Errorf("admin listener: admin_addr is %q", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener (admin_addr, NEIGHBORBOT_ADMIN_ADDR): %w; "+
			"choose a free host:port, or %q to run without metrics", err, "off")
	}
	a.admin = ln
	a.closers = append(a.closers, func() error {
		if err := ln.Close(); err != nil && !isClosed(err) {
			return err
		}
		return nil
	})
	return ln.Addr(), nil
}

// AdminHandler is what the admin listener serves.
func (a *App) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.Metrics.Handler())
	}
	if a.Cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// newAdminServer serves AdminHandler. A CPU profile or a trace takes as long as asked
// (?seconds=), so the write timeout leaves room for a minute's.
func (a *App) newAdminServer() *http.Server {
	return &http.Server{
		Handler:           a.AdminHandler(),
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       DefaultIdleTimeout,
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// stepMetric is the scheduler's Options.Step: nil without metrics.
func (a *App) stepMetric() func(kind, outcome string) {
	if a.Metrics == nil {
		return nil
	}
	return a.Metrics.SchedulerStep
}

// tokenMetric is an adapter's Options.TokenFailed: nil without metrics.
func (a *App) tokenMetric(platform string) func() {
	if a.Metrics == nil {
		return nil
	}
	return func() { a.Metrics.TokenRefreshFailed(platform) }
}

// busyMetric counts callbacks refused by limitInFlight: nil without metrics.
func (a *App) busyMetric() func() {
	if a.Metrics == nil {
		return nil
	}
	return a.Metrics.Busy
}
