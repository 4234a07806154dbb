package app

import (
	"math"
	"runtime/debug"
)

// Collector defaults for the bot's process, used unless the environment sets GOGC or
// GOMEMLIMIT (which the Go runtime reads itself).
const (
	// DefaultGCPercent lets the heap grow to four times what is live before a collection,
	// instead of the runtime's two. The bot's live heap is small (tens of MB) and it allocates
	// with every event, so at the runtime's default it collects several times a second; each
	// collection wakes every processor. Measured at 500 answered events/s: about 13% less CPU
	// per event for about 19 MB more memory (docs/BENCHMARKS.md, "Answered").
	DefaultGCPercent = 300
	// DefaultMemoryLimit is the heap's soft limit (the packaged unit sets the same,
	// docs/OPERATIONS.md "Memory"): nearing it, the collector works harder again, so the
	// larger GC percent cannot take the process past it in a yearly export.
	DefaultMemoryLimit = 320 << 20
)

// TuneGC applies DefaultGCPercent and DefaultMemoryLimit where the environment (getenv) does
// not set GOGC or GOMEMLIMIT, and returns the GC percent and the memory limit in force.
func TuneGC(getenv func(string) string) (gcPercent int, memoryLimit int64) {
	gcPercent = debug.SetGCPercent(DefaultGCPercent) // what was in force
	if getenv("GOGC") != "" {
		debug.SetGCPercent(gcPercent) // the operator's setting: put back
	} else {
		gcPercent = DefaultGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	memoryLimit = debug.SetMemoryLimit(-1) // a negative limit reads it without a change
	if memoryLimit == math.MaxInt64 {
		memoryLimit = 0
	}
	return gcPercent, memoryLimit
}
