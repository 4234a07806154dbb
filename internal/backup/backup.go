// Package backup writes a daily export of the whole store (store/transfer, the same file as
// `neighborbot export`) into a directory, at At (03:00 Asia/Shanghai), and keeps the newest
// Keep files. `neighborbot restore FILE` loads one back.
//
// Exactly once a day on any number of replicas, the way the scheduler's retention purge
// claims its pass (scheduler/privacy.go): the day's backup is claimed in the "daily" document
// of Coll (one replica wins; a claim its replica never finished is taken over after
// claimLease). A replica that fails to write gives the claim back at once, with the error, so
// another replica (whose directory works) can take it at its next tick; the failing one
// tries again after retryAfter.
//
// A file is written atomically: into a temporary file beside it, fsynced, renamed, and the
// directory fsynced, so a crash leaves either yesterday's set or today's complete file, never
// a half one under the final name.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/transfer"
)

// At is the time of day (Asia/Shanghai) of the daily backup, before the retention purge
// (scheduler.PurgeAt, 03:30), so a restored backup still holds what the purge clears next.
const At = 3 * time.Hour

// DefaultKeep is how many daily files are kept when Options.Keep is 0.
const DefaultKeep = 14

// Coll is the document collection of the claim; its one document is "daily".
const Coll = "backup"

const claimDoc = "daily"

// claimLease is how long a claimed backup may stay unfinished before another replica takes it
// over (its replica died while writing). An export of a large community takes seconds.
const claimLease = 10 * time.Minute

// retryAfter is how long a replica whose write failed waits before it tries again.
const retryAfter = 10 * time.Minute

// fileRE matches the files Prune may delete; nothing else in the directory is touched.
var fileRE = regexp.MustCompile(`^neighborbot-\d{4}-\d{2}-\d{2}\.jsonl$`)

// tmpRE matches temporary files a crashed write may have left.
var tmpRE = regexp.MustCompile(`^neighborbot-\d{4}-\d{2}-\d{2}\.jsonl\.\d+\.tmp$`)

// FileName is the backup file of a day (2006-01-02).
func FileName(day string) string { return "neighborbot-" + day + ".jsonl" }

// Options configure Backups.
type Options struct {
	// Store is the backend (not a cache in front of it): it is exported, and holds the claim.
	Store store.Store
	Dir   string // where the files go; created (0750) when missing
	Keep  int    // daily files kept; 0 means DefaultKeep
	Now   func() time.Time
	Loc   *time.Location // Asia/Shanghai
	Owner string         // names this replica in the claim
	Log   *slog.Logger
}

// Backups writes the daily backup. It is safe for concurrent use.
type Backups struct {
	st    store.Store
	dir   string
	keep  int
	now   func() time.Time
	loc   *time.Location
	owner string
	log   *slog.Logger

	mu   sync.Mutex
	last Status
}

// Status is what this replica last did: for logs, /metrics and tests.
type Status struct {
	Day     string         // the day of the last attempt
	File    string         // the file written (empty if the attempt failed)
	Stats   transfer.Stats // what it holds
	Written time.Time      // when the last file was written by this replica
	Err     error          // the last attempt's error, nil if it succeeded
	Failed  time.Time      // when the last attempt failed
}

// state is the claim document.
type state struct {
	Day       string    `json:"day"` // the day (2006-01-02) of the last backup claimed
	Owner     string    `json:"owner"`
	ClaimedAt time.Time `json:"claimed_at"`
	Done      bool      `json:"done"`
	File      string    `json:"file,omitempty"`  // the last file written, on its owner's machine
	Error     string    `json:"error,omitempty"` // the last failure, kept until a backup succeeds
}

// New checks the options.
func New(o Options) (*Backups, error) {
	if o.Store == nil {
		return nil, errors.New("backup: no store")
	}
	if o.Dir == "" {
		return nil, errors.New("backup: no directory")
	}
	if o.Keep < 0 {
		return nil, fmt.Errorf("backup: keep %d is negative", o.Keep)
	}
	if o.Keep == 0 {
		o.Keep = DefaultKeep
	}
	if o.Loc == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		o.Loc = loc
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Owner == "" {
		o.Owner = "backup"
	}
	return &Backups{st: o.Store, dir: o.Dir, keep: o.Keep, now: o.Now, loc: o.Loc, owner: o.Owner, log: o.Log}, nil
}

// Status returns what this replica last did.
func (b *Backups) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Tick writes the day's backup if it is due and no replica has written it; it returns when to
// look again. A failed write is logged, recorded in the claim and returned.
func (b *Backups) Tick(ctx context.Context, now time.Time) (time.Time, error) {
	now = now.In(b.loc)
	y, m, d := now.Date()
	due := time.Date(y, m, d, 0, 0, 0, 0, b.loc).Add(At)
	if now.Before(due) {
		return due, nil
	}
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, b.loc).Add(At)
	day := due.Format("2006-01-02")
	var st state
	mine := false
	_, err := b.st.UpdateDoc(ctx, Coll, claimDoc, func(old []byte) ([]byte, error) {
		st, mine = state{}, false
		if old != nil {
			if err := json.Unmarshal(old, &st); err != nil {
				return nil, err
			}
		}
		if st.Day == day && (st.Done || now.Before(st.ClaimedAt.Add(claimLease))) {
			return old, nil // done today, or being done
		}
		st.Day, st.Owner, st.ClaimedAt, st.Done, mine = day, b.owner, now, false, true
		return json.Marshal(st)
	})
	if err != nil {
		err = fmt.Errorf("backup %s: claim: %w", day, err)
		b.fail(day, now, err)
		return now.Add(time.Minute), err
	}
	if !mine {
		if st.Done {
			return tomorrow, nil
		}
		return st.ClaimedAt.Add(claimLease), nil // look again in case its replica dies
	}
	claimed := st.ClaimedAt
	file, stats, werr := b.write(ctx, day)
	// Record the outcome, unless another replica took the claim over meanwhile.
	_, err = b.st.UpdateDoc(ctx, Coll, claimDoc, func(old []byte) ([]byte, error) {
		var cur state
		if old != nil {
			if err := json.Unmarshal(old, &cur); err != nil {
				return nil, err
			}
		}
		if cur.Day != day || cur.Owner != b.owner || !cur.ClaimedAt.Equal(claimed) {
			return old, nil
		}
		if werr != nil {
			// Give the claim back so a replica whose directory works can take it now.
			cur.ClaimedAt, cur.Error = time.Time{}, b.owner+": "+werr.Error()
		} else {
			cur.Done, cur.File, cur.Error = true, b.owner+":"+file, ""
		}
		return json.Marshal(cur)
	})
	if werr != nil {
		werr = fmt.Errorf("backup %s: %w", day, werr)
		b.fail(day, now, werr)
		return now.Add(retryAfter), werr
	}
	b.mu.Lock()
	b.last = Status{Day: day, File: file, Stats: stats, Written: now}
	b.mu.Unlock()
	removed, perr := b.Prune()
	b.log.Info("backup written", "file", file, "records", stats.Records, "removed_old", len(removed))
	if perr != nil {
		b.log.Warn("old backups not removed", "dir", b.dir, "err", perr)
	}
	if err != nil {
		return claimed.Add(claimLease), fmt.Errorf("backup %s: record done: %w", day, err)
	}
	return tomorrow, nil
}

func (b *Backups) fail(day string, now time.Time, err error) {
	b.log.Error("backup failed", "day", day, "dir", b.dir, "err", err, "retry_in", retryAfter)
	b.mu.Lock()
	b.last.Day, b.last.Err, b.last.Failed = day, err, now
	b.mu.Unlock()
}

// write exports the store into the day's file, atomically.
func (b *Backups) write(ctx context.Context, day string) (path string, stats transfer.Stats, err error) {
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return "", stats, err
	}
	path = filepath.Join(b.dir, FileName(day))
	stats, err = WriteFile(path, func(f *os.File) (transfer.Stats, error) { return transfer.Export(ctx, b.st, f) })
	return path, stats, err
}

// WriteFile writes path atomically with fill: a temporary file beside it (mode 0600, as the
// data names people), fsynced, renamed over path, and the directory fsynced so the rename
// survives a power cut. On error nothing is left behind.
func WriteFile(path string, fill func(*os.File) (transfer.Stats, error)) (transfer.Stats, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return transfer.Stats{}, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	stats, err := fill(f)
	if err != nil {
		return stats, err
	}
	if err := f.Sync(); err != nil {
		return stats, err
	}
	if err := f.Close(); err != nil {
		return stats, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return stats, err
	}
	done = true
	return stats, syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Prune removes the daily files beyond the newest Keep, and temporary files a crash left
// more than a day ago; it touches nothing else in the directory. It returns the files removed.
func (b *Backups) Prune() ([]string, error) {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, err
	}
	var daily, removed []string
	var errs []error
	for _, e := range ents {
		switch name := e.Name(); {
		case fileRE.MatchString(name):
			daily = append(daily, name)
		case tmpRE.MatchString(name):
			if info, err := e.Info(); err == nil && b.now().Sub(info.ModTime()) > 24*time.Hour {
				if err := os.Remove(filepath.Join(b.dir, name)); err != nil {
					errs = append(errs, err)
				} else {
					removed = append(removed, name)
				}
			}
		}
	}
	slices.Sort(daily) // the day in the name sorts by date
	for len(daily) > b.keep {
		if err := os.Remove(filepath.Join(b.dir, daily[0])); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, daily[0])
		}
		daily = daily[1:]
	}
	return removed, errors.Join(errs...)
}

// Run ticks until ctx ends: at once (a backup missed while every replica was down is written
// now), then whenever Tick said, looking at the clock at least every minute.
func (b *Backups) Run(ctx context.Context) error {
	var next time.Time
	for {
		now := b.now()
		if !now.Before(next) {
			next, _ = b.Tick(ctx, now) // Tick logs its failures
		}
		wait := min(max(next.Sub(now), time.Second), time.Minute)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
