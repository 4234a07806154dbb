// Package store declares what neighborbot keeps and the contract every backend meets.
// Backends live in subpackages (store/bolt, the embedded default; store/redis, shared by
// replicas) and all pass the one conformance suite in store/storetest.
package store

import (
	"context"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// Store is the whole of what a backend provides.
type Store interface {
	Items
	Numbers
	Directory
	Once
	Inbox
	Outbox
	Docs
	// Ping reports whether the backend is reachable and, as far as it knows, its writes work
	// (for /readyz): while writes fail (a full disk, Redis out of memory) it returns the last
	// failure, until a write succeeds again.
	Ping(ctx context.Context) error
	Close() error
}

// ItemFilter selects items. Empty fields select everything.
type ItemFilter struct {
	Groups    []string          // any of these groups
	States    []community.State // any of these states
	Requester string            // filed for this person
	Claimer   string            // claimed by this person
	Open      bool              // only items not closed or cancelled
	Limit     int               // at most this many, newest first; 0 for all
	// DueBefore, when not zero, selects only open items whose Deadline is set and not after
	// it (backends may compare to the millisecond). It implies Open.
	DueBefore time.Time
	// ByDeadline orders ListItems by Deadline, earliest first (equal deadlines by number,
	// lowest first), instead of newest first. It selects only open items with a Deadline.
	ByDeadline bool
	// ActiveFrom and ActiveTo, when both are set, select only items with at least one event
	// in their History at or after ActiveFrom and before ActiveTo: what happened in a month,
	// for the ledger's reports. Backends keep an index by month (ActiveMonths), so such a
	// list costs what the months' items cost, not every item ever.
	ActiveFrom, ActiveTo time.Time
}

// Items keeps service items. Numbers are global, start at 1 and have neither gaps nor repeats;
// notices, polls and activities take theirs from the same sequence (Numbers).
type Items interface {
	// CreateItem takes the next number, calls build with it and saves the result, atomically:
	// if build fails the number is not used. If the built item's Source is not empty and an
	// item with that Source exists, nothing is saved, no number is used, and the existing
	// item is returned.
	CreateItem(ctx context.Context, build func(no int64) (*community.Item, error)) (*community.Item, error)
	// GetItem returns item no, or an error with code community.ENotFound.
	GetItem(ctx context.Context, no int64) (*community.Item, error)
	// UpdateItem loads item no, calls fn with it and, if fn returns nil, saves it with its
	// Version increased, atomically with respect to every other writer (every replica). fn may
	// be called more than once (optimistic backends retry on conflict), so it must be pure.
	// fn's error is returned as is.
	UpdateItem(ctx context.Context, no int64, fn func(*community.Item) error) (*community.Item, error)
	// ListItems returns matching items, newest (highest number) first (see ByDeadline).
	ListItems(ctx context.Context, f ItemFilter) ([]*community.Item, error)
	// CountItems counts matching items by state without reading them (Limit and ByDeadline
	// are ignored, except that ByDeadline, like in ListItems, selects only open items with a
	// Deadline). States with no items are absent.
	CountItems(ctx context.Context, f ItemFilter) (map[community.State]int, error)
}

// Directory keeps people and groups.
type Directory interface {
	GetPerson(ctx context.Context, id string) (community.Person, error) // ENotFound
	PutPerson(ctx context.Context, p community.Person) error
	// UpdatePerson is atomic like UpdateItem; old is the zero Person with ID set when absent.
	UpdatePerson(ctx context.Context, id string, fn func(p *community.Person) error) (community.Person, error)
	ListPersons(ctx context.Context) ([]community.Person, error)
	GetGroup(ctx context.Context, id string) (community.Group, error) // ENotFound
	PutGroup(ctx context.Context, g community.Group) error
	ListGroups(ctx context.Context) ([]community.Group, error)
}

// Once makes something happen once across retries, restarts and replicas.
type Once interface {
	// Once records key and reports true the first time it is seen within ttl, false after.
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// InboundEntry is a platform event recorded before it was acknowledged.
type InboundEntry struct {
	ID         string    `json:"id"`
	Payload    []byte    `json:"payload"`
	Received   time.Time `json:"received"`
	Attempts   int       `json:"attempts"`
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitempty"`
	// Sender is the person the event is from, when known; it is not stored. A backend may
	// read their directory entry ahead, in the same round trip as the put (store/redis does,
	// for events leased to the receiver, who is about to handle them).
	Sender string `json:"-"`
	// Reserve are the rate limits the reply to the event will be sent under, when it is
	// addressed to the bot and they are known on arrival; they are not stored. A backend whose
	// rate limiter is shared may take the reply's tokens in the same round trip as the put, for
	// events leased to the receiver (store/redis does), so the reply needs no round trip of
	// its own to take them (bot.Reserver).
	Reserve []Limit `json:"-"`
}

// Limit is a token bucket: Burst tokens, one more every Every (bot.Limit).
type Limit struct {
	Key   string
	Every time.Duration
	Burst int
}

// Inbox records inbound events durably so a crash after the platform's ack loses nothing, and
// dedupes them: an event id is accepted once within the retention window.
type Inbox interface {
	// PutInbound records the event and reports true, or reports false if id was seen before.
	PutInbound(ctx context.Context, id string, payload []byte, now time.Time) (bool, error)
	// PutInboundBatch records many events in one durable write and reports, per event, whether
	// it was new (a repeated id, within the batch or seen before, reports false and changes
	// nothing). Only ID and Payload of an entry are read, and its lease: an entry given with a
	// LeaseOwner and a LeaseUntil after now is recorded already leased to that owner, in the
	// same write, as if LeaseInbound had handed it out (Attempts 1). The replica that receives
	// events leases them to itself this way and handles them without a LeaseInbound round trip;
	// LeaseInbound hands such an event out only once its lease has run out (its owner died).
	PutInboundBatch(ctx context.Context, entries []InboundEntry, now time.Time) ([]bool, error)
	// LeaseInbound hands up to max unfinished events to owner for lease; an event whose lease
	// ran out (its owner died) is handed out again.
	LeaseInbound(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]InboundEntry, error)
	// AckInbound marks the event handled. Its id stays known for dedupe until retention ends.
	AckInbound(ctx context.Context, id string, now time.Time) error
}

// InboxRetention is how long a handled event id is remembered: longer than Feishu's last retry
// (6 h after the first) and WeCom's.
const InboxRetention = 24 * time.Hour

// OutboxStatus is where an outbound message stands.
type OutboxStatus string

const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed" // gave up after the last attempt
)

// OutboxEntry is one message to send. The payload is opaque to the store.
type OutboxEntry struct {
	ID         string       `json:"id"`              // idempotency key: enqueueing an existing id does nothing
	Platform   string       `json:"platform"`        // which sender
	Chat       string       `json:"chat"`            // rate-limit key within the platform (chat or robot)
	Batch      string       `json:"batch,omitempty"` // a broadcast's id, for progress counts
	Payload    []byte       `json:"payload"`
	Status     OutboxStatus `json:"status"`
	Attempts   int          `json:"attempts"`
	CreatedAt  time.Time    `json:"created_at"`
	NotBefore  time.Time    `json:"not_before"`
	LeaseOwner string       `json:"lease_owner,omitempty"`
	LeaseUntil time.Time    `json:"lease_until,omitempty"`
	LastError  string       `json:"last_error,omitempty"`
	SentAt     time.Time    `json:"sent_at,omitempty"`
	Result     string       `json:"result,omitempty"` // the platform's message id
}

// OutboxStats counts a batch's entries (or all entries for batch "").
type OutboxStats struct {
	Pending, Sent, Failed int
}

// Outbox is the durable queue of messages to send: retried, never lost by a restart, never
// sent twice by two replicas (a lease gives one owner at a time). CompleteOutbox,
// ReleaseOutbox and FailOutbox act only for a pending entry's lease owner: anyone else (a
// replica whose lease ran out and was taken over) gets an error with code
// community.EConflict, and an unknown id community.ENotFound.
type Outbox interface {
	// Enqueue adds entries as pending; ids already present are left untouched.
	Enqueue(ctx context.Context, entries ...OutboxEntry) error
	// LeaseOutbox hands up to max due entries (pending, NotBefore ≤ now, lease free or expired)
	// to owner until now+lease, oldest (by CreatedAt) first.
	LeaseOutbox(ctx context.Context, owner string, max int, now time.Time, lease time.Duration) ([]OutboxEntry, error)
	// CompleteOutbox marks an entry sent with the platform's result; only the lease owner may.
	CompleteOutbox(ctx context.Context, id, owner, result string, now time.Time) error
	// ReleaseOutbox gives a leased entry back to be tried at notBefore. With attempt true the
	// try counts (a failed send), else it was only deferred (a rate limit).
	ReleaseOutbox(ctx context.Context, id, owner string, notBefore time.Time, errText string, attempt bool) error
	// FailOutbox gives up on an entry.
	FailOutbox(ctx context.Context, id, owner, errText string, now time.Time) error
	// GetOutbox returns one entry (ENotFound).
	GetOutbox(ctx context.Context, id string) (OutboxEntry, error)
	// OutboxStats counts entries of a batch ("" for all).
	OutboxStats(ctx context.Context, batch string) (OutboxStats, error)
}

// Doc is one document of a collection.
type Doc struct {
	ID    string
	Value []byte
}

// Docs is a small document store for everything else (schedules, notices, receipts, card
// references, tokens), so features do not each grow every backend.
type Docs interface {
	GetDoc(ctx context.Context, coll, id string) ([]byte, error) // ENotFound
	PutDoc(ctx context.Context, coll, id string, value []byte) error
	// UpdateDoc is atomic; fn gets nil when the doc is absent and returns the new value (nil
	// deletes). fn may be called more than once.
	UpdateDoc(ctx context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error)
	DeleteDoc(ctx context.Context, coll, id string) error // an absent doc is not an error
	// ListDocs returns the docs of coll whose id starts with prefix, ordered by id.
	ListDocs(ctx context.Context, coll, prefix string) ([]Doc, error)
}

// ErrNotFound builds the not-found error backends return.
func ErrNotFound(what string) error {
	return community.Errorf(community.ENotFound, "%s不存在。", what)
}

// ErrUnavailable wraps a backend failure so the edge can say "服务暂时不可用".
func ErrUnavailable(err error) error {
	return &UnavailableError{Err: err}
}

// UnavailableError is a backend that could not be reached.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "store unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Dumper is a backend whose whole content can be copied out and back in: `neighborbot
// export` and `neighborbot import` (store/transfer) move data between backends with it.
// store/bolt and store/redis implement it; storetest.RunDump checks them.
type Dumper interface {
	// Dump calls fn with every record, in this order: the item counter (the shared number
	// sequence); items by number; the number index (Numbers) by number;
	// persons by id; groups by id; docs by collection, then id; outbox entries in enqueue
	// order; inbound events (unhandled ones, and handled ids still remembered) by id; Once
	// keys still live at the store's clock, by key. It is a consistent snapshot only if
	// nothing writes meanwhile: stop the bots first.
	Dump(ctx context.Context, fn func(Record) error) error
	// Restore saves records as they are: items with their numbers, versions and history
	// (the counter raised to cover them), number entries (likewise), outbox entries with their status, attempts and
	// lease (after the entries already queued), inbound events leased or handled as they
	// were, Once keys until their expiry (unless it has passed). Items, persons, groups and
	// docs replace those with the same id; outbox entries, inbound events and Once keys
	// already present are left alone. It is meant for an empty store.
	Restore(ctx context.Context, records []Record) error
}

// Record is one piece of a store's data, as Dump gives it: exactly one field is set.
type Record struct {
	ItemSeq *int64            `json:"item_seq,omitempty"` // the last item number handed out
	Item    *community.Item   `json:"item,omitempty"`
	Number  *NumberEntry      `json:"number,omitempty"` // a number's index entry (Numbers)
	Person  *community.Person `json:"person,omitempty"`
	Group   *community.Group  `json:"group,omitempty"`
	Doc     *DocRecord        `json:"doc,omitempty"`
	Outbox  *OutboxEntry      `json:"outbox,omitempty"`
	Inbound *InboundRecord    `json:"inbound,omitempty"`
	Once    *OnceRecord       `json:"once,omitempty"`
}

// DocRecord is one doc with its collection.
type DocRecord struct {
	Coll  string `json:"coll"`
	ID    string `json:"id"`
	Value []byte `json:"value"`
}

// InboundRecord is an inbound event with its handling: a handled event has no payload and
// is remembered, for dedupe, until Forget.
type InboundRecord struct {
	InboundEntry
	Handled time.Time `json:"handled,omitzero"`
	Forget  time.Time `json:"forget,omitzero"`
}

// OnceRecord is a key Once has seen, and when it may be seen as new again.
type OnceRecord struct {
	Key   string    `json:"key"`
	Until time.Time `json:"until"`
}

// Find is the first of s and the stores it wraps (the cache, the metrics' timer: each with
// Unwrap() Store), however deep, that has the power T: a backend's optional interface
// (Dumper, its rate limiter, its queue stats, ...) found through the wrappers around it.
func Find[T any](s any) (T, bool) {
	for s != nil {
		if t, ok := s.(T); ok {
			return t, true
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	var zero T
	return zero, false
}
