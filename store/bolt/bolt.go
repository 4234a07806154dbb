// Package bolt is the embedded store: one bbolt file, no server, the default for a single
// instance of the bot.
//
// bbolt runs one write transaction at a time, which makes every read-modify-write in the
// store.Store contract atomic by construction: UpdateItem, UpdatePerson and UpdateDoc call
// their fn exactly once, inside the write transaction. Reads run in parallel with writes.
//
// Layout (see keys.go for the key encodings): each concern has a bucket keyed by its id (items
// two: the bodies of open items apart from the finished ones, which outnumber them), and
// every query that must not read everything has an index bucket next to it — items by group,
// requester, claimer, state and openness; inbox and outbox entries by the time they are due;
// Once keys and handled inbox ids by when they may be forgotten.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/neighborbot/neighborbot/store"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Now is the clock, read for Once's ttl and for Enqueue's default CreatedAt; nil means
	// time.Now.
	Now func() time.Time
	// Timeout is how long Open waits for the file lock another process holds (another bot
	// on the same data); 0 means 5 seconds.
	Timeout time.Duration
	// NoSync skips fsync after each write: faster, but a power cut may lose the last writes
	// or corrupt the file. For tests and benchmarks only.
	NoSync bool
	// SyncEvents flushes every arriving event to the disk (fdatasync of the inbox journal)
	// before PutInbound returns, so before the platform's ack: an acknowledged event survives
	// a power cut too. Without it (the default) an event is written to the journal before the
	// ack, which a crash or kill -9 of the process cannot lose (the kernel holds the write),
	// and reaches the disk with the next checkpoint's synced commit, at most checkpointEvery
	// (100 ms) later: a power cut can lose the events acknowledged in that window. The flush
	// per event costs 12–30% more CPU per answered event (docs/BENCHMARKS.md, "Answered").
	SyncEvents bool
	// Log receives what Open does to the file beyond opening it (a layout migration), and
	// failing writes (health.go); nil means slog.Default().
	Log *slog.Logger
	// ProbeEvery is how often the store tries a write while writes fail (health.go), so it
	// sees them work again without traffic; 0 means 5 seconds.
	ProbeEvery time.Duration
	// SpaceProbe is how many bytes must be free beside the data file, after the disk was
	// found full, before writes count as working again; 0 means 1 MiB.
	SpaceProbe int64
}

// Store is a store.Store in one bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	now  func() time.Time
	path string

	closeOnce sync.Once
	closeErr  error

	inbox   groupCommit // inbox puts and acks share commits (inbox.go)
	journal *journal    // arriving events, durable before bbolt has them (journal.go)

	health     health // failing writes, for Ping (health.go)
	spaceProbe int64
	probeStop  chan struct{}
	probeDone  chan struct{}
}

var _ store.Store = (*Store)(nil)

// schemaVersion is written on creation and checked on open, so a future layout change is
// noticed instead of misread.
//
// 2: open items' bodies are in items.live, the others' in items. Open moves a file of schema
// 1 (every body in items) to 2 in one transaction; a build that reads 1 refuses a file of 2.
const schemaVersion = "2"

// Open opens (creating if needed, with its directory) the data file at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.ProbeEvery <= 0 {
		opts.ProbeEvery = 5 * time.Second
	}
	if opts.SpaceProbe <= 0 {
		opts.SpaceProbe = 1 << 20
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.Timeout,
		NoSync:  opts.NoSync,
		// The freelist is written with every commit. Without it bbolt rebuilds the list at
		// open by walking every page of the file: with 100,000 items that read 250 MB into
		// the process (RSS over 250 MB before the first message) and grew start-up with the
		// data (docs/BENCHMARKS.md, "Scale").
		NoFreelistSync: false,
		FreelistType:   bbolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("bolt: open %s: file is locked by another process (is another neighborbot running?): %w", path, err)
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	var moved int
	migrated := false
	start := time.Now()
	err = db.Update(func(tx *bbolt.Tx) error {
		// A data file from before the deadline index has items but no items.due: build it.
		rebuild := tx.Bucket(bItems) != nil && tx.Bucket(bItemsDue) == nil
		// One of schema 1 keeps every item's body in items: move the open ones out.
		split := tx.Bucket(bItems) != nil && tx.Bucket(bItemsLive) == nil
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bMeta)
		switch v := meta.Get(keySchema); {
		case v == nil, string(v) == schemaVersion:
		case string(v) == "1" && split:
		default:
			return fmt.Errorf("data file has schema %q, this build reads %q", v, schemaVersion)
		}
		if rebuild {
			if err := rebuildOpen(tx); err != nil {
				return fmt.Errorf("rebuild items.due: %w", err)
			}
		}
		if _, err := buildMonths(tx); err != nil {
			return fmt.Errorf("build %s: %w", bItemsMonth, err)
		}
		if split {
			var err error
			if moved, err = splitItems(tx); err != nil {
				return fmt.Errorf("move open items to %s: %w", bItemsLive, err)
			}
			migrated = true
		}
		if v := meta.Get(keySchema); string(v) == schemaVersion {
			return nil
		}
		return meta.Put(keySchema, []byte(schemaVersion))
	})
	var j *journal
	if err == nil { // events the last process journaled but did not checkpoint
		j, err = openJournal(db, path, opts.NoSync, opts.SyncEvents, opts.Log)
	}
	if err == nil { // the file lock is ours: every lease in the file is a dead process's
		if err = db.Update(releaseLeases); err != nil {
			j.closeFiles()
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if migrated {
		opts.Log.Info("bolt: data file moved to schema "+schemaVersion+": open items' bodies kept apart",
			"path", path, "moved", moved, "took", time.Since(start).Round(time.Millisecond))
	}
	s := &Store{db: db, now: opts.Now, path: path, journal: j, spaceProbe: opts.SpaceProbe,
		probeStop: make(chan struct{}), probeDone: make(chan struct{})}
	s.health.log, s.health.wake = opts.Log, make(chan struct{}, 1)
	go s.runCheckpoints(opts.Log)
	go s.runProbes(opts.ProbeEvery, s.probeStop, s.probeDone)
	return s, nil
}

// Path is the data file's path.
func (s *Store) Path() string { return s.path }

// Close closes the data file. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.probeStop)
		<-s.probeDone
		jerr := s.closeJournal()
		s.flushLazy() // acks waiting for a commit to ride in
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("bolt: close: %w", err)
		} else if jerr != nil {
			s.closeErr = fmt.Errorf("bolt: close: %w", jerr)
		}
	})
	return s.closeErr
}

// Ping reports whether the data file is open and readable, and writes are not failing: while
// they fail (a full disk, an I/O error) it returns the last failure, what failed and since
// when, until a write or a probe succeeds (health.go).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.health.check(); err != nil {
		return err
	}
	return s.view(ctx, "ping", func(tx *bbolt.Tx) error {
		if tx.Bucket(bMeta) == nil {
			return errors.New("meta bucket missing")
		}
		return nil
	})
}

// passErr carries an error out of a transaction unwrapped: the caller's own error, or a
// domain error (not found, conflict) the contract returns as is.
type passErr struct{ err error }

func (p passErr) Error() string { return p.err.Error() }

// pass marks err to be returned as is.
func pass(err error) error { return passErr{err} }

func (s *Store) update(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return unwrap(op, s.commit(fn))
}

// batch is update for small writes that concurrent workers make one each (outbox enqueues
// and send results): they share the inbox's group commits (see groupCommit), so every small
// write on the hot path goes through one queue of commits on bbolt's one writer. With bbolt's
// own Batch (its commits apart, each held up to 2 ms), WeCom answering 1,000 events/s
// backed up: event → first send p99 1.3–2.2 s, 23–45 ms with one queue. fn may run more than
// once (a group that fails is retried without the failing function), so it must only write
// through tx.
func (s *Store) batch(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	return s.grouped(ctx, op, fn)
}

func (s *Store) view(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return unwrap(op, s.db.View(fn))
}

// unwrap returns a passed error as is and wraps everything else (bbolt and encoding
// failures) with the operation's name.
func unwrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if p, ok := err.(passErr); ok {
		return p.err
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("bolt: %s: %w", op, store.ErrUnavailable(err))
	}
	return fmt.Errorf("bolt: %s: %w", op, err)
}

// Remove deletes the database at path with its inbox journal files, so the next Open starts
// empty: `neighborbot restore --force` loads a backup into it. The store must be closed.
func Remove(path string) error {
	var errs []error
	j := journalPaths(path)
	for _, p := range []string{path, j[0], j[1]} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
