package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestOffsetIsComputedFromTheStart(t *testing.T) {
	if got := Offset(1000, 1000); got != time.Second {
		t.Errorf("event 1000 at 1000/s is due at %v, want 1s", got)
	}
	if got := Offset(3, 200); got != 15*time.Millisecond {
		t.Errorf("event 3 at 200/s is due at %v, want 15ms", got)
	}
	// No drift: the millionth event at 3/s is due exactly when the rate says.
	if got, want := Offset(3_000_000, 3), 1_000_000*time.Second; got != want {
		t.Errorf("event 3e6 at 3/s is due at %v, want %v", got, want)
	}
}

func TestPaceStartsEveryEventOnceAndBoundsConcurrency(t *testing.T) {
	var fired [50]atomic.Int32
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	go func() {
		// Let the first wave pile up against the bound, then let everything through.
		for inFlight.Load() < 4 {
			time.Sleep(time.Millisecond)
		}
		close(release)
	}()
	res := Pace(context.Background(), len(fired), 1e6, 4, func(i int) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		fired[i].Add(1)
		inFlight.Add(-1)
	})
	if res.Sent != len(fired) {
		t.Errorf("sent %d, want %d", res.Sent, len(fired))
	}
	for i := range fired {
		if n := fired[i].Load(); n != 1 {
			t.Errorf("event %d fired %d times", i, n)
		}
	}
	if p := peak.Load(); p > 4 {
		t.Errorf("%d in flight at once, bound is 4", p)
	}
	if res.Saturate == 0 {
		t.Errorf("no event waited for a slot although all 4 were held")
	}
}

func TestPaceStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var n atomic.Int32
	res := Pace(ctx, 1000, 1, 10, func(int) { n.Add(1) })
	// The first event is due at once; the second would be a second later but ctx is done.
	if res.Sent > 1 || n.Load() > 1 {
		t.Errorf("sent %d after cancel", res.Sent)
	}
}
