// Command neighborbot runs the community service bot. With no platform credentials it serves
// the built-in web playground on http://127.0.0.1:8080 over an embedded store in ./data.
//
//	neighborbot [-config FILE]        serve (config also from $NEIGHBORBOT_CONFIG)
//	neighborbot check [-config FILE]  validate the config as start-up does, and exit
//	neighborbot export [-config FILE] OUT   write all data of the configured store to OUT ("-": stdout)
//	neighborbot import [-config FILE] IN    load an export into the configured (empty) store
//	neighborbot restore [-config FILE] [-force] BACKUP  load a backup; -force empties a store holding data first
//	neighborbot version                    print the version
//	neighborbot qr [-config FILE] NODE > qr.png  the Service Account QR code binding to NODE
//	neighborbot oa [-config FILE] menu      install the Service Account's menu
//	neighborbot outbox [-config FILE] -notice N | ID   where a notice's messages (or one outbox entry) stand, from the running bot
//
// export and import move a community between bbolt and Redis (docs/REDIS.md); stop the bots
// first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/logbuf"
	"github.com/neighborbot/neighborbot/store/transfer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "neighborbot:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its inputs passed in so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("neighborbot "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config file (default $NEIGHBORBOT_CONFIG, else the demo community)")
	var notice *string
	if cmd == "outbox" {
		notice = fs.String("notice", "", "the number of the notice or poll whose deliveries to show")
	}
	var force *bool
	if cmd == "restore" {
		force = fs.Bool("force", false, "empty a store that holds data before loading the backup (what it held is saved beside the backup first)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, versionLine())
		return nil
	}
	cfg, err := config.Load(getenv, *cfgPath)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// Lines are written within 100 ms, Warn and above at once (internal/logbuf).
	lw := logbuf.NewWriter(stderr, 100*time.Millisecond)
	defer lw.Flush()
	log := slog.New(logbuf.Handler(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: cfg.Level()}), lw))
	if cmd == "serve" {
		gcPercent, memLimit := app.TuneGC(getenv)
		procs := app.TuneProcs(ctx, getenv, log)
		log.Info("neighborbot starting", "version", version(), "gc_percent", gcPercent, "memory_limit_mib", memLimit>>20, "gomaxprocs", procs)
	}

	switch cmd {
	case "check":
		if err := app.Validate(cfg); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "config OK:", len(cfg.Groups), "groups,", len(cfg.Members), "members")
		return nil
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "export", "import":
		return moveData(ctx, cmd, fs.Args(), cfg, log, stdout)
	case "restore":
		return restore(ctx, fs.Args(), *force, cfg, log, stdout)
	case "qr":
		return qrCode(ctx, fs.Args(), cfg, log, stdout)
	case "oa":
		return oaCommand(ctx, fs.Args(), cfg, log, stdout)
	case "outbox":
		return outboxCommand(ctx, cfg, *notice, fs.Args(), stdout)
	default:
		return fmt.Errorf("unknown command %q (want serve, check, export, import, restore, qr, oa, outbox, version)", cmd)
	}
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	a, err := app.New(ctx, app.Options{Config: cfg, Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.AdminEnabled() {
		if _, err := a.ListenAdmin(cfg.AdminAddr); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if a.Local != nil {
		fmt.Fprintf(stdout, "neighborbot: playground at http://%s/\n", displayAddr(ln.Addr()))
	} else {
		fmt.Fprintf(stdout, "neighborbot: listening on %s\n", ln.Addr())
	}
	err = a.Run(ctx, ln)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// moveData runs export or import against the configured store (store/transfer).
func moveData(ctx context.Context, cmd string, files []string, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	if len(files) != 1 {
		return fmt.Errorf("%s needs one file: neighborbot %s [-config FILE] FILE", cmd, cmd)
	}
	file := files[0]
	st, err := app.OpenStore(ctx, cfg, time.Now, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if cmd == "import" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		stats, err := transfer.Import(ctx, st, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "neighborbot: imported %v from %s\n", stats, file)
		return nil
	}
	if file == "-" {
		_, err := transfer.Export(ctx, st, stdout)
		return err
	}
	// Write beside the target and rename, so a failed export leaves no half file.
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	stats, err := transfer.Export(ctx, st, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "neighborbot: exported %v to %s\n", stats, file)
	return nil
}

// displayAddr turns ":8080" into "localhost:8080" for the message people click.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
