package main

import (
	"context"
	"sync"
	"time"
)

// Offset is when, after the start, event i of an open-loop load at rate events per second is
// due. Computing every offset from the start (not from the previous send) keeps the rate
// exact however late a single send is.
func Offset(i int, rate float64) time.Duration {
	return time.Duration(float64(i) / rate * float64(time.Second))
}

// PaceResult says how an open-loop run went.
type PaceResult struct {
	Sent     int           // events started
	Elapsed  time.Duration // from the first due time to the last start
	MaxLate  time.Duration // the latest an event started after it was due
	Saturate int           // events that waited for a free slot (MaxInFlight reached)
}

// Rate is the achieved rate.
func (r PaceResult) Rate() float64 {
	if r.Elapsed <= 0 || r.Sent < 2 {
		return 0
	}
	return float64(r.Sent-1) / r.Elapsed.Seconds()
}

// Pace starts fire(i) in its own goroutine for i = 0..n-1 at rate per second (open loop: a
// slow answer does not slow the schedule, so queueing shows up in the latencies instead of
// hiding), at most maxInFlight at once, and waits for them all. It stops early when ctx ends.
// It is bounded by n: the load always stops by itself.
func Pace(ctx context.Context, n int, rate float64, maxInFlight int, fire func(i int)) PaceResult {
	var res PaceResult
	slots := make(chan struct{}, max(maxInFlight, 1))
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := 0; i < n; i++ {
		due := start.Add(Offset(i, rate))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				wg.Wait()
				return res
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			res.Saturate++
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return res
			}
		}
		now := time.Now()
		res.MaxLate = max(res.MaxLate, now.Sub(due))
		res.Elapsed = now.Sub(start)
		res.Sent++
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			fire(i)
		}()
	}
	wg.Wait()
	return res
}
