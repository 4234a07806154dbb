package app

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The bot's process runs its goroutines on one processor (GOMAXPROCS=1) while its load is
// light, and on the runtime's default (every CPU the process may use) once it is not.
//
// Why: a community's bot is idle or nearly so most of the day, and at a light load every
// event hands work from goroutine to goroutine (the HTTP connection, the pipeline's worker,
// the reply's HTTP client). With a processor idle, each hand-off wakes an OS thread to run it
// (a futex wake, and a thread that spins for work before it sleeps again); on one processor
// the goroutine just waits its turn. Measured on the answered-event benchmark, 2 cores, side
// by side: 12–26% less CPU per event at 200 and 500 events/s on both backends
// (docs/BENCHMARKS.md, "sixth pass"). Under load, one processor would queue work that a second
// one runs at once (pinned to one, the ack's p99 at 1,000 events/s on bbolt went from 2.9–4.0
// ms to 4.5–5.7), so the controller below watches the process's CPU and gives it every
// processor again as soon as it is busy.
const (
	// ProcsInterval is how often the process's CPU use is sampled.
	ProcsInterval = 500 * time.Millisecond
	// ProcsRaise: at or above this much CPU (in cores) over one interval on one processor,
	// the process goes back to the runtime's default at once. 1,000 answered events a
	// second take about half a core.
	ProcsRaise = 0.4
	// ProcsLower: below this much CPU for ProcsHold, the process goes down to one processor.
	// 200 answered events a second take about a fifth of a core.
	ProcsLower = 0.25
	// ProcsHold is how long the load must stay light before one processor serves it: a
	// burst's pauses do not switch back and forth.
	ProcsHold = 10 * time.Second
)

// Procs switches GOMAXPROCS between 1 and the runtime's default by the process's CPU use.
type Procs struct {
	Interval time.Duration // default ProcsInterval
	Raise    float64       // default ProcsRaise
	Lower    float64       // default ProcsLower
	Hold     time.Duration // default ProcsHold
	// Usage is the CPU the process used so far (user and system): getrusage by default.
	Usage func() time.Duration
	// One and All set one processor and the runtime's default, and return the processors
	// now in force: runtime.GOMAXPROCS(1) and runtime.SetDefaultGOMAXPROCS by default.
	One, All func() int
	Log      *slog.Logger

	procs   int           // in force
	lastCPU time.Duration // Usage at the last sample
	lastAt  time.Time
	light   time.Time // since when the load has been light (zero: it is not)
}

// TuneProcs starts a Procs for the process unless the environment (getenv) sets GOMAXPROCS,
// which the runtime read at start and which stays in force, or the runtime's default is one
// processor already. It runs until ctx ends, then puts back the runtime's default, and
// returns what to show in the log's first line: "adaptive, 1–N", or the fixed count.
//
// One Procs runs in a process at a time (GOMAXPROCS is the process's): a second call while
// one runs (tests start several bots in one process) starts nothing.
func TuneProcs(ctx context.Context, getenv func(string) string, log *slog.Logger) string {
	procsMu.Lock()
	defer procsMu.Unlock()
	if procsRunning {
		return "adaptive"
	}
	n := runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" || n <= 1 {
		return strconv.Itoa(n)
	}
	procsRunning = true
	p := &Procs{Log: log}
	go func() {
		p.Run(ctx)
		procsMu.Lock()
		procsRunning = false
		procsMu.Unlock()
	}()
	return "adaptive, 1–" + strconv.Itoa(n)
}

var (
	procsMu      sync.Mutex
	procsRunning bool
)

func (p *Procs) defaults() {
	if p.Interval <= 0 {
		p.Interval = ProcsInterval
	}
	if p.Raise <= 0 {
		p.Raise = ProcsRaise
	}
	if p.Lower <= 0 {
		p.Lower = ProcsLower
	}
	if p.Hold <= 0 {
		p.Hold = ProcsHold
	}
	if p.Usage == nil {
		p.Usage = processCPU
	}
	if p.One == nil {
		p.One = func() int { runtime.GOMAXPROCS(1); return 1 }
	}
	if p.All == nil {
		p.All = func() int { runtime.SetDefaultGOMAXPROCS(); return runtime.GOMAXPROCS(0) }
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
}

// Run samples every Interval until ctx ends, then puts back the runtime's default.
func (p *Procs) Run(ctx context.Context) {
	p.Start(time.Now()) // fills the defaults
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.All()
			return
		case now := <-t.C:
			p.Sample(now)
		}
	}
}

// Start takes the first sample at now; the process starts on the runtime's default, and
// goes down to one processor once the load has been light for Hold.
func (p *Procs) Start(now time.Time) {
	p.defaults()
	p.procs = p.All()
	p.lastCPU, p.lastAt = p.Usage(), now
	p.light = now
}

// Sample reads the CPU used since the last sample and switches if the load says so. It
// returns the processors in force.
func (p *Procs) Sample(now time.Time) int {
	cpu := p.Usage()
	since := p.lastAt
	wall := now.Sub(since)
	used := cpu - p.lastCPU
	p.lastCPU, p.lastAt = cpu, now
	if wall <= 0 {
		return p.procs
	}
	cores := used.Seconds() / wall.Seconds()
	switch {
	case cores >= p.Raise:
		p.light = time.Time{}
		if p.procs == 1 {
			p.procs = p.All()
			p.Log.Debug("busy: every processor", "gomaxprocs", p.procs, "cpu_cores", round2(cores))
		}
	case cores < p.Lower:
		if p.light.IsZero() {
			p.light = since // light over the whole interval
		}
		if p.procs != 1 && now.Sub(p.light) >= p.Hold {
			p.procs = p.One()
			p.Log.Debug("light load: one processor", "gomaxprocs", p.procs, "cpu_cores", round2(cores))
		}
	default:
		// Between the two: neither light enough to go down nor heavy enough to go up.
		p.light = time.Time{}
	}
	return p.procs
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// processCPU is the CPU the process used so far, user and system, from getrusage.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
