// Command nbprof is neighborbot with net/http/pprof on its mux: the same app.New and Run as
// cmd/neighborbot, configured from the environment the same way, plus /debug/pprof/ on the
// same (loopback) address. bench/harness runs it instead of the real binary when asked to
// profile (-pprof), so the profile shows the bot's own work under the benchmark's load.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/logbuf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "nbprof:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load(os.Getenv, "")
	if err != nil {
		return err
	}
	lw := logbuf.NewWriter(os.Stderr, 100*time.Millisecond) // as cmd/neighborbot
	defer lw.Flush()
	log := slog.New(logbuf.Handler(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: cfg.Level()}), lw))
	app.TuneGC(os.Getenv) // as cmd/neighborbot does
	app.TuneProcs(ctx, os.Getenv, log)
	a, err := app.New(ctx, app.Options{Config: cfg, Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	a.Mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	a.Mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	a.Mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if err := a.Run(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
