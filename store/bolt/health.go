package bolt

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/store"
)

// Write health: a write that fails (a bbolt commit, an inbox journal append or reset; a full
// disk, an I/O error) is recorded here, and Ping (so /readyz) reports it until writes work
// again. Nothing is given up meanwhile: bbolt rolls a failed commit back, a failed journal
// append is taken back (journal.go), and the next write simply tries again.
//
// What clears it: any write that succeeds, unless the failure was a full disk (ENOSPC,
// EDQUOT). On a full disk small commits still succeed now and then (bbolt reuses pages the
// file already has) while anything that needs a new page fails, so a success proves nothing
// there: only a probe that finds room (spaceProbe bytes written beside the data file) and
// then commits clears it. Probes run every probeEvery while writes fail, so recovery is seen
// without traffic.
//
// Logs: the first failure at Error with the path and the reason, then at most once a minute
// while it lasts, and the recovery at Info.

// Write targets: a success on one does not clear the other's failure.
const (
	targetData    = iota // the bbolt data file
	targetJournal        // the inbox journal files
	targets
)

// health is a Store's write health. It is safe for concurrent use.
type health struct {
	log     *slog.Logger
	failing atomic.Bool   // a target is failing, read without mu on every write
	wake    chan struct{} // asks the prober to probe now (a success on a full disk)

	mu     sync.Mutex
	f      [targets]failure
	logged time.Time // when a failure was last logged
}

// failure is a target's failing writes; err nil while they work.
type failure struct {
	err   error     // the last failure
	what  string    // what failed, with its path
	since time.Time // the first failure of this spell
	last  time.Time // the latest failure
	count int       // failures in this spell (probes included)
	full  bool      // err says the disk (or quota) is full
}

// logEvery bounds how often a lasting write failure is logged again.
const logEvery = time.Minute

// noSpace reports whether err means the disk (or the user's quota) is full.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// anyFailing reports whether some target fails. h.mu held.
func (h *health) anyFailing() bool {
	for _, f := range h.f {
		if f.err != nil {
			return true
		}
	}
	return false
}

// failed records that what (a write to path, of target t) failed with err and returns err for
// the caller: store unavailable, so the edge answers "try again" and the platform retries the
// event.
func (h *health) failed(t int, what, path string, err error) error {
	now := time.Now()
	h.mu.Lock()
	first := !h.anyFailing()
	f := &h.f[t]
	if f.err == nil {
		f.since, f.count = now, 0
	}
	f.err, f.what, f.last, f.full = err, what+" "+path, now, noSpace(err)
	f.count++
	again := !first && now.Sub(h.logged) >= logEvery
	if first || again {
		h.logged = now
	}
	count, since := f.count, f.since
	h.failing.Store(true)
	h.mu.Unlock()
	hint := "the store retries by itself and is not ready meanwhile"
	if noSpace(err) {
		hint = "the disk is full: free space on it; the store recovers by itself and is not ready meanwhile"
	}
	switch {
	case first:
		h.log.Error("bolt: write failed", "what", what, "path", path, "err", err, "hint", hint)
	case again:
		h.log.Error("bolt: writes still failing", "what", what, "path", path, "err", err,
			"since", since, "failures", count, "hint", hint)
	}
	return store.ErrUnavailable(fmt.Errorf("%s %s: %w", what, path, err))
}

// succeeded notes a write to target t that worked: its writes have recovered, unless the
// disk was full (see above), where it asks the prober to look now.
func (h *health) succeeded(t int) {
	if !h.failing.Load() {
		return
	}
	h.mu.Lock()
	f := h.f[t]
	h.mu.Unlock()
	switch {
	case f.err == nil:
	case !f.full:
		h.recovered(t, "a write succeeded")
	default:
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// recovered clears target t's failure (every target's for -1), if any, and logs it.
func (h *health) recovered(t int, how string) {
	h.mu.Lock()
	var cleared []failure
	for i := range h.f {
		if (t < 0 || i == t) && h.f[i].err != nil {
			cleared = append(cleared, h.f[i])
			h.f[i] = failure{}
		}
	}
	h.failing.Store(h.anyFailing())
	h.mu.Unlock()
	for _, f := range cleared {
		h.log.Info("bolt: writes recovered", "how", how, "failed", f.what,
			"failing_for", time.Since(f.since).Round(time.Millisecond), "failures", f.count)
	}
}

// check returns the failures, for Ping: nil while writes work.
func (h *health) check() error {
	if !h.failing.Load() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, f := range h.f {
		if f.err == nil {
			continue
		}
		reason := "writes failing"
		if f.full {
			reason = "disk full, writes failing"
		}
		errs = append(errs, fmt.Errorf("bolt: %s since %s (failed writes: %d, the last %s ago): %s: %w", reason,
			f.since.UTC().Format(time.RFC3339), f.count, time.Since(f.last).Round(time.Second), f.what, f.err))
	}
	return errors.Join(errs...)
}

// outOfSpace returns a target whose failure is a full disk, or -1.
func (h *health) outOfSpace() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t, f := range h.f {
		if f.err != nil && f.full {
			return t
		}
	}
	return -1
}

// commit runs fn in a bbolt write transaction. A commit that fails after fn succeeded (the
// write to the file: a full disk, an I/O error; bbolt rolls it back) is a write failure,
// recorded in s.health and returned as store unavailable; fn's own error is returned as is.
func (s *Store) commit(fn func(*bbolt.Tx) error) error {
	fnOK := false
	err := s.db.Update(func(tx *bbolt.Tx) error {
		err := fn(tx)
		fnOK = err == nil
		return err
	})
	switch {
	case err == nil:
		s.health.succeeded(targetData)
	case fnOK:
		return s.health.failed(targetData, "bbolt commit to", s.path, err)
	}
	return err
}

// runProbes probes the store every probeEvery while writes fail, or at once when woken,
// until stop.
func (s *Store) runProbes(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-s.health.wake:
		}
		if !s.health.failing.Load() {
			continue
		}
		if err := s.probe(); err != nil {
			s.health.log.Debug("bolt: write probe failed", "err", err)
			continue
		}
		s.health.recovered(-1, "a probe write succeeded")
	}
}

// probe tries the writes that may have failed: room on the disk (when it was full), the
// inbox journal file appends go to, and a bbolt commit. A failure is recorded like any
// write's (logged at most once a minute).
func (s *Store) probe() error {
	if t := s.health.outOfSpace(); t >= 0 {
		p := s.path + ".probe"
		if err := probeSpace(p, s.spaceProbe); err != nil {
			return s.health.failed(t, "disk space probe", p, err)
		}
	}
	if err := s.journal.probe(s); err != nil {
		return err
	}
	return s.commit(func(tx *bbolt.Tx) error {
		return tx.Bucket(bMeta).Put(keyProbe, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	})
}

// probeSpace writes n bytes to a new file at path and removes it: whether the disk has room
// for them.
func probeSpace(path string, n int64) (err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		if rerr := os.Remove(path); err == nil && rerr != nil {
			err = rerr
		}
	}()
	buf := make([]byte, min(n, 64<<10))
	for off := int64(0); off < n; off += int64(len(buf)) {
		if _, err := f.WriteAt(buf[:min(int64(len(buf)), n-off)], off); err != nil {
			return err
		}
	}
	return f.Sync()
}
