package app

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if p, l := TuneGC(getenv); p != DefaultGCPercent || l != DefaultMemoryLimit {
		t.Errorf("nothing set: GC percent %d, limit %d; want %d, %d", p, l, DefaultGCPercent, DefaultMemoryLimit)
	}

	// What the operator sets (the runtime read it at start) is left alone.
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(1 << 30)
	env["GOGC"], env["GOMEMLIMIT"] = "50", "1GiB"
	if p, l := TuneGC(getenv); p != 50 || l != 1<<30 {
		t.Errorf("GOGC=50 GOMEMLIMIT=1GiB: GC percent %d, limit %d; want them kept", p, l)
	}
}
