package store

import "time"

// QueueStats describe the inbox and the outbox for monitoring (internal/metrics reads them
// on each scrape). Backends compute them with a few bounded reads, never a walk of a queue.
type QueueStats struct {
	// InboxPending counts unhandled events (up to QueueStatsCap; the embedded store's events
	// still in its journal, under 100 ms old, are not counted).
	InboxPending int
	// InboxOldest is when the unhandled event at the front of the inbox's queue (the next to
	// come due: received unleased, or whose lease runs out first) was received; zero: none.
	InboxOldest time.Time
	// OutboxPending counts the pending outbox entries (not yet sent nor given up).
	OutboxPending int
	// OutboxOldestDue is since when the longest-waiting entry that is due has waited: its
	// enqueue time if it was found due and is waiting for a dispatcher, else the time the
	// first entry in the waiting queue came due. Entries held back (NotBefore, a retry's
	// backoff, a rate-limit slot) count once their time has come. Zero: nothing is due.
	OutboxOldestDue time.Time
}

// QueueStatsCap bounds what a backend counts for QueueStats.InboxPending.
const QueueStatsCap = 100_000
