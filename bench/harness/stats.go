package main

import (
	"slices"
	"sync"
	"time"
)

// Summary is what the tables show of a set of latencies.
type Summary struct {
	N                  int
	P50, P90, P99, Max time.Duration
	Mean               time.Duration
}

// Percentile is the nearest-rank percentile p (0 < p ≤ 100) of sorted: the smallest value
// with at least p% of the values at or below it. It is 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(p/100*float64(n) + 0.999999999) // ceil without float noise on exact ranks
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summarize sorts a copy of ds and reads its percentiles.
func Summarize(ds []time.Duration) Summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	out := Summary{N: len(s)}
	if len(s) == 0 {
		return out
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	out.P50, out.P90, out.P99 = Percentile(s, 50), Percentile(s, 90), Percentile(s, 99)
	out.Max, out.Mean = s[len(s)-1], sum/time.Duration(len(s))
	return out
}

// Recorder collects latencies from many goroutines.
type Recorder struct {
	mu sync.Mutex
	ds []time.Duration
}

// Add records one latency.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

// Summary summarises what was recorded so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Summarize(r.ds)
}

// ms formats a duration in milliseconds with precision that suits its size.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f == 0:
		return "0"
	case f < 1:
		return trimFloat(f, 3)
	case f < 100:
		return trimFloat(f, 1)
	default:
		return trimFloat(f, 0)
	}
}
