package app

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// fakeProcs is a Procs on a made-up CPU meter: use adds CPU, sample moves the clock.
type fakeProcs struct {
	*Procs
	cpu   time.Duration
	now   time.Time
	calls []int
}

func newFakeProcs() *fakeProcs {
	f := &fakeProcs{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	f.Procs = &Procs{
		Usage: func() time.Duration { return f.cpu },
		One:   func() int { f.calls = append(f.calls, 1); return 1 },
		All:   func() int { f.calls = append(f.calls, 4); return 4 },
	}
	f.Start(f.now)
	return f
}

// step spends cores of CPU for one interval and samples.
func (f *fakeProcs) step(cores float64) int {
	f.cpu += time.Duration(cores * float64(ProcsInterval))
	f.now = f.now.Add(ProcsInterval)
	return f.Sample(f.now)
}

func TestProcsSwitchesByLoad(t *testing.T) {
	f := newFakeProcs()
	if len(f.calls) != 1 || f.calls[0] != 4 {
		t.Fatalf("start: calls %v, want the runtime's default", f.calls)
	}
	// Light load: the default until it has been light for ProcsHold, then one processor.
	steps := int(ProcsHold / ProcsInterval)
	for i := 1; i < steps; i++ {
		if n := f.step(0.1); n != 4 {
			t.Fatalf("light for %v: %d processors, want still 4", time.Duration(i)*ProcsInterval, n)
		}
	}
	if n := f.step(0.1); n != 1 {
		t.Fatalf("light for %v: %d processors, want 1", ProcsHold, n)
	}
	// Between the thresholds on one processor: it stays.
	for range 30 {
		if n := f.step((ProcsLower + ProcsRaise) / 2); n != 1 {
			t.Fatalf("between the thresholds: %d processors, want 1", n)
		}
	}
	// One busy interval: every processor at once.
	if n := f.step(ProcsRaise); n != 4 {
		t.Fatalf("busy: %d processors, want 4", n)
	}
	// Busy with pauses shorter than ProcsHold: it stays on every processor.
	for range 5 {
		for range steps - 1 {
			if n := f.step(0); n != 4 {
				t.Fatalf("a pause shorter than the hold: %d processors, want 4", n)
			}
		}
		if n := f.step(0.9); n != 4 {
			t.Fatalf("busy again: %d processors, want 4", n)
		}
	}
	// Between the thresholds on every processor: it stays too, and the hold starts again
	// after it.
	for range 30 {
		f.step((ProcsLower + ProcsRaise) / 2)
	}
	for range steps - 1 {
		f.step(0.2)
	}
	if n := f.step(0.2); n != 1 {
		t.Fatalf("light again for %v: %d processors, want 1", ProcsHold, n)
	}
	if want := []int{4, 1, 4, 1}; !slices.Equal(f.calls, want) {
		t.Errorf("switches %v, want %v: a switch only when the processors change", f.calls, want)
	}
	// A clock that did not move: no division by zero, no switch.
	if n := f.Sample(f.now); n != 1 {
		t.Errorf("a sample at the same instant: %d processors", n)
	}
}

func TestTuneProcsLeavesGOMAXPROCSAlone(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	env := map[string]string{"GOMAXPROCS": "3"}
	if got := TuneProcs(t.Context(), func(k string) string { return env[k] }, nil); got != strconv.Itoa(n) {
		t.Errorf("GOMAXPROCS set: TuneProcs = %q, want the count in force %d", got, n)
	}
	if runtime.GOMAXPROCS(0) != n {
		t.Error("GOMAXPROCS set: the processors changed")
	}
}

// On the real process: idle, it goes down to one processor; a goroutine spinning takes it
// back to the runtime's default; when the context ends the default is put back.
func TestProcsOnTheProcess(t *testing.T) {
	runtime.SetDefaultGOMAXPROCS()
	all := runtime.GOMAXPROCS(0)
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	if all < 2 {
		t.Skipf("this machine gives the process one processor (GOMAXPROCS default %d): nothing to switch", all)
	}
	ctx, cancel := context.WithCancel(t.Context())
	// Thresholds low enough that a spinning goroutine crosses them on a CI machine whose
	// cores other test processes share.
	p := &Procs{Interval: 20 * time.Millisecond, Hold: 100 * time.Millisecond, Lower: 0.15, Raise: 0.3}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	waitProcs(t, 1, "idle")

	spin, stop := context.WithCancel(ctx)
	go func() {
		for spin.Err() == nil {
		}
	}()
	waitProcs(t, all, "a goroutine spinning")
	stop()

	waitProcs(t, 1, "idle again")
	cancel()
	<-done
	if n := runtime.GOMAXPROCS(0); n != all {
		t.Errorf("after Run: GOMAXPROCS %d, want the default %d back", n, all)
	}
}

func waitProcs(t *testing.T, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOMAXPROCS %d after 10 s, want %d", what, runtime.GOMAXPROCS(0), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
