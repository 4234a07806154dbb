package bolt

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Buckets, with what their keys and values are. be64 is a big-endian uint64 (so keys sort
// numerically), str is a string prefixed with its big-endian uint32 length (so one value's
// keys never run into another's), tkey is a time as 8 order-preserving bytes.
var (
	bMeta = []byte("meta") // "schema" → schemaVersion; "probe" → when a write probe last committed

	// be64(no) → Item JSON of closed and cancelled items; the sequence is the last number.
	bItems = []byte("items")
	// be64(no) → Item JSON of the other items, those in items.open. The scheduler reads every
	// open item each tick: kept apart from the (far more) finished ones, their bodies fill a
	// few MB of pages instead of being scattered over the whole file, which mapped nearly
	// all of it into the process (docs/BENCHMARKS.md, "Start-up and memory").
	bItemsLive      = []byte("items.live")
	bItemsGroup     = []byte("items.group")     // str(group) be64(no) → ""
	bItemsRequester = []byte("items.requester") // str(requester) be64(no) → ""
	bItemsClaimer   = []byte("items.claimer")   // str(claimer) be64(no) → ""
	bItemsState     = []byte("items.state")     // str(state) be64(no) → ""
	bItemsOpen      = []byte("items.open")      // be64(no) → str(group) str(state), items not closed or cancelled
	// tkey(deadline) be64(no) → str(group) str(state): open items with a deadline, earliest
	// first; the value lets filters check group and state without decoding the item.
	bItemsDue    = []byte("items.due")
	bItemsSource = []byte("items.source") // source event key → be64(no): creation is idempotent
	// str(month) be64(no) → "": items with an event in that month (store.MonthKey), for
	// ItemFilter.ActiveFrom/ActiveTo. Built at open for a file written before it (months.go).
	bItemsMonth = []byte("items.month")

	// The number index (store.Numbers): be64(no) → NumberEntry JSON for numbers taken by
	// TakeNumber (from the items bucket's sequence), and str(kind) ref → be64(no).
	bNumbers    = []byte("numbers")
	bNumberRefs = []byte("numbers.ref")

	bPersons = []byte("persons") // id → Person JSON
	bGroups  = []byte("groups")  // id → Group JSON

	bOnce    = []byte("once")     // key → tkey(expiry)
	bOnceExp = []byte("once.exp") // tkey(expiry) key → "", for purging

	bInbox    = []byte("inbox")     // id → inboundRecord JSON
	bInboxDue = []byte("inbox.due") // tkey(due) id → "", unhandled events by when they may be leased
	bInboxExp = []byte("inbox.exp") // tkey(forget) id → "", handled events by when they may be forgotten

	bOutbox      = []byte("outbox")       // id → outboxRecord JSON; the sequence orders enqueues
	bOutboxWait  = []byte("outbox.wait")  // tkey(due) be64(seq) → id, pending entries not yet known due
	bOutboxReady = []byte("outbox.ready") // tkey(created) be64(seq) → id, pending entries found due, oldest first
	bOutboxStats = []byte("outbox.stats") // statsAll or "b"+batch → 3×be64 (pending, sent, failed)

	bDocs = []byte("docs") // coll → bucket of id → value

	allBuckets = [][]byte{
		bMeta, bItems, bItemsLive, bItemsGroup, bItemsRequester, bItemsClaimer, bItemsState, bItemsOpen, bItemsDue, bItemsSource, bItemsMonth,
		bNumbers, bNumberRefs, bPersons, bGroups, bOnce, bOnceExp, bInbox, bInboxDue, bInboxExp,
		bOutbox, bOutboxWait, bOutboxReady, bOutboxStats, bDocs,
	}

	keySchema = []byte("schema")
	keyProbe  = []byte("probe") // when the last write probe committed (health.go)
	statsAll  = []byte{0}
)

func be64(n uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n)
}

// str encodes s so that str(a)+x and str(b)+y never share a prefix unless a == b.
func str(s string) []byte {
	b := make([]byte, 0, 4+len(s)+8)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// idx is an index key: str(val) be64(no).
func idx(val string, no int64) []byte {
	return binary.BigEndian.AppendUint64(str(val), uint64(no))
}

// tkey encodes t in 8 bytes that sort like the times (the zero time first). Times outside
// 1678–2262 are not representable, which a chat bot's clock never leaves.
func tkey(t time.Time) []byte {
	if t.IsZero() {
		return make([]byte, 8)
	}
	return be64(uint64(t.UnixNano()) ^ 1<<63)
}

func tkeyTime(b []byte) time.Time {
	n := binary.BigEndian.Uint64(b)
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n^1<<63))
}

// cat concatenates byte slices into a new one.
func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}
