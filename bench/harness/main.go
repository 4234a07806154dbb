// Command harness measures neighborbot on this machine and writes the numbers into
// docs/BENCHMARKS.md, each scenario between its own markers (<!-- harness:NAME -->), leaving
// every other section of the file alone.
//
//	go run ./bench/harness -scenario all -out docs/BENCHMARKS.md
//	go run ./bench/harness -scenario scale,claims -quick -out -
//
// Scenarios: answered (every event answered: a naive SDK bot next to neighborbot), scale (100,000 items and 20,000 members: start-up, RSS, "待办" p99), claims
// (contested claims), inbound (signed, encrypted Feishu events and WeCom callbacks against
// the running binary, next to the Feishu SDK's bare dispatcher), faults (fake platforms
// failing; every event handled once, every message delivered once), console (the 指挥中心's
// pages on the scale dataset, signed in through the chat link). Broadcast has its own
// harness in bench/broadcast.
//
// Every load is bounded in count and time, goes to 127.0.0.1 only, and stops by itself. The
// neighborbot binary is built from this checkout and run as a separate process; Redis
// scenarios start their own redis-server on a free port when one is installed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

// Env is what every scenario gets.
type Env struct {
	Root    string // module root
	Work    string // scratch directory, removed at the end unless -keep
	Quick   bool
	Items   int
	Members int
	Redis   bool // run the Redis variants
	// ClaimRounds overrides the number of claim rushes.
	ClaimRounds int
	// Profile runs the inbound scenario on bench/nbprof and profiles it.
	Profile bool
	// Rates are the inbound scenario's rates (events/s), ascending; it profiles the last.
	Rates []float64
	// Platforms are the inbound scenario's platforms (feishu, wecom).
	Platforms []string
	// MetricsOff runs the bot with NEIGHBORBOT_ADMIN_ADDR=off: no admin listener, no metrics.
	MetricsOff bool
	// NoBare skips the inbound scenario's runs of the SDK's bare dispatcher.
	NoBare bool
	// Repeat is how many rounds the answered scenario runs (0: its default).
	Repeat     int
	Against    string   // answered: another checkout whose neighborbot also runs, for a before/after
	AgainstEnv []string // answered: its environment
	// EventSync adds neighborbot on bbolt with NEIGHBORBOT_INBOX_SYNC=event to the answered
	// scenario: the cost of flushing every event before its ack, side by side.
	EventSync bool
	Log       *slog.Logger
	Command   string // how this run was invoked, for the tables
	Machine   string

	bins       map[string]string
	boltDS     string
	boltStats  datasetStats
	redisDS    *redisServer
	redisStats datasetStats
	cleanups   []func()
}

// Section is one scenario's part of BENCHMARKS.md.
type Section struct {
	Name string
	Body string
}

type scenario struct {
	name string
	run  func(ctx context.Context, e *Env) ([]Section, error)
}

var scenarios = []scenario{
	{"scale", runScale},
	{"claims", runClaims},
	{"inbound", runInbound},
	{"faults", runFaults},
	{"console", runConsole},
	{"answered", runAnswered},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	which := fs.String("scenario", "all", "comma-separated: scale, claims, inbound, faults, console, or all")
	out := fs.String("out", "docs/BENCHMARKS.md", `markdown file whose harness sections are rewritten ("-": print only)`)
	quick := fs.Bool("quick", false, "short runs (5 s per rate, fewer samples) for a local check; numbers are noisier")
	items := fs.Int("items", 100_000, "items in the scale dataset")
	members := fs.Int("members", 20_000, "members in the scale dataset")
	redisFlag := fs.String("redis", "auto", "run Redis variants: auto (if redis-server is installed), on, off")
	prof := fs.Bool("pprof", false, "inbound: run bench/nbprof (neighborbot with /debug/pprof) and profile it at the top rate")
	rounds := fs.Int("claim-rounds", 0, "claim rushes per backend (default 50, 10 with -quick)")
	keep := fs.Bool("keep", false, "keep the scratch directory (data, logs, profiles)")
	rates := fs.String("rates", "200,500,1000", "inbound: the rates (events/s) to run, comma-separated")
	platforms := fs.String("platforms", "feishu,wecom", "inbound, answered: the platforms to run, comma-separated")
	metricsFlag := fs.String("metrics", "on", "the bot's metrics: on (the default, an admin listener on a free port) or off (NEIGHBORBOT_ADMIN_ADDR=off)")
	bare := fs.Bool("bare", true, "inbound: also run the Feishu SDK's bare dispatcher for comparison")
	against := fs.String("against", "", "answered: also run neighborbot on bbolt built from this checkout (another commit, for a before/after side by side)")
	againstEnv := fs.String("against-env", "", "answered: environment for the -against bot, space-separated KEY=VALUE (e.g. GOGC=50); with -against . it compares settings of one build")
	eventSync := fs.Bool("event-sync", true, "answered: also run neighborbot on bbolt with NEIGHBORBOT_INBOX_SYNC=event (every event flushed before its ack)")
	repeat := fs.Int("repeat", 0, "answered: rounds of every rate and target, medians reported (default 3, 1 with -quick)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var inRates []float64
	for _, r := range strings.Split(*rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("-rates: bad rate %q", r)
		}
		inRates = append(inRates, v)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "neighborbot-bench-")
	if err != nil {
		return err
	}
	if *keep {
		log.Info("scratch directory kept", "dir", work)
	} else {
		defer os.RemoveAll(work)
	}
	e := &Env{
		Root: root, Work: work, Quick: *quick, Items: *items, Members: *members, Log: log,
		Command: commandLine(args), Machine: machine(), bins: map[string]string{}, ClaimRounds: *rounds, Profile: *prof,
		Rates: inRates, Platforms: strings.Split(*platforms, ","), NoBare: !*bare, Repeat: *repeat, Against: *against, AgainstEnv: strings.Fields(*againstEnv), EventSync: *eventSync,
	}
	switch *metricsFlag {
	case "on":
	case "off":
		e.MetricsOff = true
	default:
		return fmt.Errorf("-metrics: want on or off, not %q", *metricsFlag)
	}
	defer func() {
		for _, f := range e.cleanups {
			f()
		}
	}()
	switch *redisFlag {
	case "on":
		e.Redis = true
	case "off":
	default:
		_, err := exec.LookPath("redis-server")
		e.Redis = err == nil
		if !e.Redis {
			log.Warn("redis-server not installed: Redis variants skipped (apt-get install redis-server)")
		}
	}

	names := strings.Split(*which, ",")
	if *which == "all" {
		names = nil
		for _, s := range scenarios {
			names = append(names, s.name)
		}
	}
	var sections []Section
	var errs []error
	for _, name := range names {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			return fmt.Errorf("unknown scenario %q", name)
		}
		if ctx.Err() != nil {
			break
		}
		log.Info("scenario", "name", scenarios[i].name, "quick", e.Quick)
		t0 := time.Now()
		secs, err := scenarios[i].run(ctx, e)
		if err != nil {
			log.Error("scenario failed", "name", scenarios[i].name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", scenarios[i].name, err))
		}
		log.Info("scenario done", "name", scenarios[i].name, "took", time.Since(t0).Round(time.Second))
		sections = append(sections, secs...)
	}
	for _, s := range sections {
		fmt.Fprintf(stdout, "\n%s\n", s.Body)
	}
	if len(sections) > 0 {
		sections = append([]Section{{Name: "intro", Body: intro}}, sections...)
	}
	if *out != "-" && len(sections) > 0 {
		path := *out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := writeSections(path, sections); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("written", "file", path, "sections", len(sections))
		}
	}
	return errors.Join(errs...)
}

// intro opens BENCHMARKS.md: how to rerun everything.
const intro = `Numbers measured on one machine by the harness in bench/harness, which writes the sections
between ` + "`<!-- harness:NAME -->`" + ` markers itself. Rerun everything with one command (about 25 minutes on
2 cores; ` + "`-quick`" + ` takes a few minutes and is noisier):

` + "```sh\n./bench/run.sh                       # = go run ./bench/harness -scenario all -out docs/BENCHMARKS.md\n" +
	"go run ./bench/harness -scenario scale,claims -quick -out -   # some scenarios, print only\n```" + `

Every load goes to 127.0.0.1 only, is bounded in count and time and stops by itself. The neighborbot
binary is built from the checkout (` + "`go build ./cmd/neighborbot`" + `) and run as its own process; Redis
variants start their own redis-server on a free port (skipped, with a warning, where none is installed:
` + "`apt-get install redis-server`" + `). Broadcast has its own harness (bench/broadcast) and section below.`

// writeSections rewrites the named sections of the markdown file at path, creating it with
// a title when it does not exist.
func writeSections(path string, secs []Section) error {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	doc := string(b)
	if doc == "" {
		doc = "# Benchmarks\n"
	}
	for _, s := range secs {
		doc = ReplaceSection(doc, s.Name, s.Body)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// header is the first lines of every section: machine, date, command.
func (e *Env) header(title string) string {
	mode := ""
	if e.Quick {
		mode = " (quick mode: short runs, noisier numbers)"
	}
	return fmt.Sprintf("### %s\n\nMachine: %s. Date: %s. Command: `%s`%s.\n",
		title, e.Machine, time.Now().Format("2006-01-02 15:04 MST"), e.Command, mode)
}

// binary builds (once per run) the package at pkg and returns its path.
func (e *Env) binary(ctx context.Context, pkg, name string) (string, error) {
	return e.binaryFrom(ctx, e.Root, pkg, name)
}

// binaryFrom builds pkg from the checkout at root (e.Root, or -against's), once per run.
func (e *Env) binaryFrom(ctx context.Context, root, pkg, name string) (string, error) {
	key := root + "\x00" + pkg
	if p, ok := e.bins[key]; ok {
		return p, nil
	}
	t0 := time.Now()
	p, err := build(ctx, root, e.Work, pkg, name)
	if err != nil {
		return "", err
	}
	e.Log.Info("built", "pkg", pkg, "from", root, "took", time.Since(t0).Round(time.Millisecond))
	e.bins[key] = p
	return p, nil
}

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the repository")
		}
		dir = parent
	}
}

func commandLine(args []string) string {
	if len(args) == 0 {
		return "go run ./bench/harness"
	}
	return "go run ./bench/harness " + strings.Join(args, " ")
}

// machine describes this machine: cores and CPU model.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (`nproc`), %s, %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
