// Package storetest is the conformance suite every store backend passes, so the bot behaves
// the same on the embedded store as on a store shared by replicas.
//
// A backend's test calls Run with a function that opens a new, empty store and one that
// reopens a store's data (store/bolt's test, abridged):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t,
//			func(t *testing.T, now func() time.Time) store.Store {
//				return MustOpen(t, filepath.Join(t.TempDir(), "neighborbot.db"), now)
//			},
//			func(t *testing.T, s store.Store, now func() time.Time) store.Store {
//				path := s.(*bolt.Store).Path()
//				if err := s.Close(); err != nil {
//					t.Fatal(err)
//				}
//				return MustOpen(t, path, now) // opens with Options{Now: now}, closes in t.Cleanup
//			})
//	}
//
// Every subtest gets its own fresh store, so subtests neither see nor clean up each other's
// data, and each can be run alone with -run.
//
// Time never passes by itself in the suite: each subtest makes a Clock and hands its Now to
// the backend, which must read the time only through it (Once's ttl is the one place the
// contract leaves the clock to the backend; every other method takes now as an argument).
// The suite never sleeps.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// OpenFunc returns a new, empty store that reads the time from now. It registers the store's
// Close with t.Cleanup. It is called once per subtest, never concurrently.
type OpenFunc func(t *testing.T, now func() time.Time) store.Store

// ReopenFunc closes s and opens the same data again, reading the time from now: a restart,
// or for a shared backend a new replica connecting to the same server. It registers the new
// store's Close with t.Cleanup (Close is idempotent, so the old store's cleanup is harmless).
type ReopenFunc func(t *testing.T, s store.Store, now func() time.Time) store.Store

// Option adjusts what the suite expects of a backend.
type Option func(*env)

// LeasesEndAtReopen says a reopen is a restart of the one process that can hold the data (a
// file it locks): the inbox and outbox leases taken before it belonged to a process that has
// ended, and their entries are due at once. Without it, leases outlive a reopen, as on a
// backend several replicas share.
func LeasesEndAtReopen() Option { return func(e *env) { e.leasesEnd = true } }

// Run runs the whole suite against a backend. reopen may be nil for a backend that keeps
// nothing across a restart; the persistence subtests are then skipped.
func Run(t *testing.T, open OpenFunc, reopen ReopenFunc, opts ...Option) {
	type test struct {
		name string
		fn   func(*testing.T, *env)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Items", []test{
			{"Numbers", testCreateItemNumbers},
			{"ConcurrentCreate", testCreateItemConcurrent},
			{"Source", testCreateItemSource},
			{"Update", testUpdateItem},
			{"ContestedClaim", testContestedClaim},
			{"List", testListItems},
			{"ListFollowsUpdates", testListItemsMaintained},
			{"Due", testDueItems},
			{"Active", testActiveItems},
		}},
		{"Numbers", []test{
			{"Shared", testNumbersShared},
			{"Concurrent", testNumbersConcurrent},
		}},
		{"Directory", []test{
			{"Persons", testPersons},
			{"ConcurrentUpdatePerson", testPersonsConcurrent},
			{"Groups", testGroups},
		}},
		{"Once", []test{
			{"TTL", testOnce},
			{"Concurrent", testOnceConcurrent},
		}},
		{"Inbox", []test{
			{"Dedupe", testInboxDedupe},
			{"Lease", testInboxLease},
			{"ConcurrentLease", testInboxConcurrentLease},
			{"LeasedOnPut", testInboxLeasedOnPut},
		}},
		{"Outbox", []test{
			{"Enqueue", testOutboxEnqueue},
			{"LeaseOrder", testOutboxLeaseOrder},
			{"Lifecycle", testOutboxLifecycle},
			{"ExpiredLease", testOutboxExpiredLease},
			{"Stats", testOutboxStats},
			{"ConcurrentLease", testOutboxConcurrentLease},
		}},
		{"QueueStats", []test{{"DepthAndAge", testQueueStats}}},
		{"Docs", []test{
			{"CRUD", testDocs},
			{"ConcurrentUpdate", testDocsConcurrent},
		}},
		{"Ping", []test{{"Open", testPing}}},
		{"Persist", []test{
			{"Items", testPersistItems},
			{"Directory", testPersistDirectory},
			{"Once", testPersistOnce},
			{"Inbox", testPersistInbox},
			{"InboxLeased", testPersistInboxLeased},
			{"Outbox", testPersistOutbox},
			{"Docs", testPersistDocs},
			{"Numbers", testPersistNumbers},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					e := &env{t: t, ctx: t.Context(), clock: NewClock(Epoch), reopen: reopen}
					for _, o := range opts {
						o(e)
					}
					e.s = open(t, e.clock.Now)
					tc.fn(t, e)
				})
			}
		})
	}
}

// Epoch is when every subtest's clock starts: a Monday morning in China.
var Epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Clock is a clock that moves only when told. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass the method value as a backend's Now option.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one subtest's store and clock.
type env struct {
	t      *testing.T
	ctx    context.Context
	s      store.Store
	clock  *Clock
	reopen ReopenFunc
	// leasesEnd: a reopen releases every lease (LeasesEndAtReopen).
	leasesEnd bool
}

// restart closes the store and opens its data again, or skips the test.
func (e *env) restart() {
	e.t.Helper()
	if e.reopen == nil {
		e.t.Skip("backend keeps nothing across a restart")
	}
	e.s = e.reopen(e.t, e.s, e.clock.Now)
}

// requirePersistent skips a persistence test up front, before it writes anything.
func (e *env) requirePersistent() {
	if e.reopen == nil {
		e.t.Skip("backend keeps nothing across a restart")
	}
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code community.Code, what string) {
	t.Helper()
	if got := community.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
