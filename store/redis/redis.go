// Package redis is the store shared by replicas: every neighborbot process pointed at the same
// Redis (a single server, or a Redis Cluster) sees the same items, people, queues and rate
// limits, and no two of them claim, lease or send the same thing.
//
// Atomicity comes from Lua scripts (scripts.go), each touching the keys of one {hashtag}
// (keys.go) so they run on a Cluster. Read-modify-write operations whose modification is Go
// code (UpdateItem, UpdatePerson, UpdateDoc, CreateItem's build) are optimistic: read, run the
// function, then compare-and-set in Lua, and start again if another writer got there first.
//
// Every failure to reach Redis is returned wrapped in store.ErrUnavailable; the client
// reconnects by itself when Redis is back.
package redis

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/store"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Now is the clock, read for Once's ttl and for Enqueue's default CreatedAt; nil means
	// time.Now.
	Now func() time.Time
	// Prefix namespaces every key, so several bots (or tests) can share one Redis; default
	// "nb". It must not contain braces, which Redis Cluster reads as a hashtag.
	Prefix string
	// PoolSize is connections per node; 0 means go-redis's default (10 per CPU).
	PoolSize int
	// Log receives refused writes (health.go); nil means slog.Default().
	Log *slog.Logger
}

// Store is a store.Store on Redis. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	k       keyspace
	now     func() time.Time
	limiter *Limiter
	// stripes serialize this process's own compare-and-set loops on one key, so its
	// goroutines queue instead of colliding; only other replicas make a CAS fail.
	stripes [64]stripe

	health health // writes Redis refuses (health.go)
	later  later  // acks and records waiting for the next write (later.go)
	ahead  ahead  // directory entries read with an event's put (ahead.go)

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// schemaVersion is written on first use and checked on open, so a future layout change is
// noticed instead of misread.
const schemaVersion = "1"

// Open connects to url and checks that Redis answers. url is redis://[user:pass@]host:port/db
// (a single server), rediss://... (the same over TLS), or a comma-separated list of
// host:port addresses of Redis Cluster nodes.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Prefix == "" {
		opts.Prefix = "nb"
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redis: prefix %q contains a brace", opts.Prefix)
	}
	rdb, err := newClient(url, opts.PoolSize)
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Store{rdb: rdb, k: keyspace{opts.Prefix}, now: opts.Now, health: health{log: opts.Log}}
	s.limiter = &Limiter{s: s}
	if err := s.checkSchema(ctx); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("redis: open %s: %w", redact(url), err)
	}
	if err := s.buildDue(ctx); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("redis: open %s: %w", redact(url), err)
	}
	if err := s.buildMonths(ctx); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("redis: open %s: %w", redact(url), err)
	}
	return s, nil
}

// newClient connects to what the configured URL names: one server, or Cluster nodes.
//
// Automatic command retries are off (MaxRetries -1): go-redis retries a command whose reply
// was lost, and a compare-and-set script run twice could apply one change twice. A failed
// command is returned as unavailable instead, fast (one dial retry), and the pool dials
// fresh connections by itself when Redis is back.
func newClient(raw string, poolSize int) (redis.UniversalClient, error) {
	if strings.Contains(raw, "://") {
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis: parse url %s: %w", redact(raw), err)
		}
		o.MaxRetries = -1
		o.DialTimeout = cmp.Or(o.DialTimeout, 2*time.Second)
		o.ReadTimeout = cmp.Or(o.ReadTimeout, 3*time.Second)
		o.WriteTimeout = cmp.Or(o.WriteTimeout, 3*time.Second)
		o.DialerRetries = cmp.Or(o.DialerRetries, 2)
		o.DialerRetryTimeout = cmp.Or(o.DialerRetryTimeout, 20*time.Millisecond)
		o.PoolSize = cmp.Or(poolSize, o.PoolSize)
		if o.TLSConfig != nil && o.TLSConfig.MinVersion == 0 {
			o.TLSConfig.MinVersion = tls.VersionTLS12
		}
		return redis.NewClient(o), nil
	}
	var addrs []string
	for _, a := range strings.Split(raw, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("redis: no address")
	}
	// A host:port list names Cluster nodes, even a list of one.
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:              addrs,
		MaxRetries:         -1,
		DialTimeout:        2 * time.Second,
		ReadTimeout:        3 * time.Second,
		WriteTimeout:       3 * time.Second,
		DialerRetries:      2,
		DialerRetryTimeout: 20 * time.Millisecond,
		PoolSize:           poolSize,
	}), nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	at := strings.LastIndex(raw, "@")
	scheme := strings.Index(raw, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return raw
	}
	return raw[:scheme+3] + "xxx" + raw[at:]
}

func (s *Store) checkSchema(ctx context.Context) error {
	if err := s.rdb.SetNX(ctx, s.k.schema(), schemaVersion, 0).Err(); err != nil {
		return s.fail(ctx, "schema", err)
	}
	v, err := s.rdb.Get(ctx, s.k.schema()).Result()
	if err != nil {
		return s.fail(ctx, "schema", err)
	}
	if v != schemaVersion {
		return fmt.Errorf("data has schema %q, this build reads %q", v, schemaVersion)
	}
	return nil
}

// Close closes the connections. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.flushLater(true)
		if err := s.rdb.Close(); err != nil {
			s.closeErr = fmt.Errorf("redis: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether Redis answers (every master, on a Cluster) and takes writes: while it
// refuses them (OOM, MISCONF) Ping tries one and reports the refusal until one works
// (health.go).
func (s *Store) Ping(ctx context.Context) error {
	var err error
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Ping(ctx).Err()
		})
	} else {
		err = s.rdb.Ping(ctx).Err()
	}
	if err != nil {
		return s.fail(ctx, "ping", err)
	}
	if s.probe(ctx) != nil {
		return s.health.check()
	}
	return nil
}

// Client is the underlying client, for tests and tools.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// fail wraps err: failures to reach Redis (network errors, timeouts, a closed client, a
// cluster or replica not ready) become store.ErrUnavailable; a caller's cancellation and
// Redis's answers to a wrong command stay as they are, named by op.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	s.health.failed(op, err)
	var re redis.Error
	if errors.As(err, &re) && !transient(re.Error()) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return fmt.Errorf("redis: %s: %w", op, store.ErrUnavailable(err))
}

// transient reports whether an error reply means Redis cannot serve right now (refused writes
// included: the platform retries the event once Redis takes them again).
func transient(msg string) bool {
	if refusesWrites(msg) {
		return true
	}
	for _, p := range []string{"LOADING", "CLUSTERDOWN", "READONLY", "MASTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS", "MOVED", "ASK"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// run runs a script.
func (s *Store) run(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (any, error) {
	v, err := sc.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return v, nil
}

// noScript reports whether err is Redis's NOSCRIPT: the server does not know the script (a
// restart, a new server, SCRIPT FLUSH), so it did not run.
func noScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// runInt runs a script that answers an integer.
func (s *Store) runInt(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (int64, error) {
	v, err := s.run(ctx, op, sc, keys, args...)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redis: %s: script answered %T, want an integer", op, v)
	}
	return n, nil
}

// stripe is one of a process's locks, with the last value this process saved under it.
type stripe struct {
	sync.Mutex
	// key, version and data are what the last holder saved (UpdateItem): a writer that
	// queued behind it can start from them instead of reading again.
	key     string
	version int64
	data    []byte
}

// lock takes the stripe of key and returns its unlock.
func (s *Store) lock(key string) func() {
	m := s.stripe(key)
	m.Lock()
	return m.Unlock
}

func (s *Store) stripe(key string) *stripe {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &s.stripes[h.Sum32()%uint32(len(s.stripes))]
}

// contended waits a little before the attempt-th retry of a compare-and-set, with jitter,
// so a crowd of writers on one key (a contested claim) spreads out instead of colliding
// again in step.
func contended(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return ctx.Err()
	}
	d := min(50*time.Microsecond<<min(attempt-2, 10), 5*time.Millisecond)
	t := time.NewTimer(rand.N(d) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// strs converts a script's array reply of strings.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// String names the server for logs, without credentials: "redis://host:port/db" or
// "cluster host:port,host:port".
func (s *Store) String() string {
	switch o := s.rdb.(type) {
	case *redis.Client:
		scheme := "redis"
		if o.Options().TLSConfig != nil {
			scheme = "rediss"
		}
		return fmt.Sprintf("%s://%s/%d", scheme, o.Options().Addr, o.Options().DB)
	case *redis.ClusterClient:
		return "cluster " + strings.Join(o.Options().Addrs, ",")
	}
	return "redis"
}
