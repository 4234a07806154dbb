package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("p%v of 1..100 ms = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
	// Few samples: p99 of 10 values is the largest, never an interpolation above it.
	ten := ds[:10]
	if got := Percentile(ten, 99); got != 10*time.Millisecond {
		t.Errorf("p99 of 1..10 ms = %v, want 10ms", got)
	}
}

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	s := Summarize(in)
	if s.N != 3 || s.P50 != 2 || s.Max != 3 || s.Mean != 2 {
		t.Errorf("summary = %+v", s)
	}
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("input was sorted in place: %v", in)
	}
}

func TestMillisecondFormatting(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0"}, {250 * time.Microsecond, "0.25"}, {1500 * time.Microsecond, "1.5"}, {123456 * time.Microsecond, "123"}} {
		if got := ms(c.d); got != c.want {
			t.Errorf("ms(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
