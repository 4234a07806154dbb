package redis

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Every key the store uses is built here. P is Options.Prefix.
//
// Redis Cluster runs a multi-key script only when all its keys hash to one slot, and a key's
// slot is decided by its first {hashtag}. So each group of keys that one script changes
// together shares a tag:
//
//	{P:items}:seq            string  the last item number handed out
//	{P:items}:i:<no>         hash    j → Item JSON, v → Version (compare-and-set by version),
//	                                 g → group, s → state (filters check them without decoding)
//	{P:items}:src            hash    source event → no: one item per event
//	{P:items}:all            zset    every item, score and member = no
//	{P:items}:open           zset    items not closed or cancelled
//	{P:items}:due            zset    open items with a deadline, score = deadline in Unix ms
//	{P:items}:os             hash    no → "<state>|<group>" of open items, for counting
//	{P:items}:duev           string  "1" once :due and :os cover every item (built on open if absent)
//	{P:items}:g:<group>      zset    items of a group
//	{P:items}:r:<requester>  zset    items filed for a person
//	{P:items}:c:<claimer>    zset    items a person holds a slot of
//	{P:items}:s:<state>      zset    items in a state
//	{P:items}:num            hash    no → NumberEntry JSON: numbers taken from :seq by TakeNumber
//	{P:items}:numref         hash    "<kind>|<ref>" → no
//	{P:items}:m:<2026-11>    zset    items with an event in that month (ItemFilter.ActiveFrom/To)
//	{P:items}:mv             string  "1" once the month zsets cover every item
//
//	{P:dir}:persons          hash    id → Person JSON
//	{P:dir}:groups           hash    id → Group JSON
//
//	P:once:<key>             string  tkey(expiry), PX ttl (one key per script: no tag needed)
//
//	{P:inbox}:e:<id>         hash    one inbound event (fields in inbox.go)
//	{P:inbox}:due            zset    tkey(due)+id, unhandled events by when they may be leased
//	{P:inbox}:exp            zset    tkey(forget)+id, handled ids by when they may be forgotten
//
//	{P:outbox}:e:<id>        hash    one outbox entry (fields in outbox.go)
//	{P:outbox}:seq           string  enqueue counter
//	{P:outbox}:ids           zset    every entry, score = enqueue seq (for export)
//	{P:outbox}:wait          zset    tkey(due)+id, pending entries not yet found due
//	{P:outbox}:ready         zset    tkey(created)+hex(seq)+id, pending entries found due, oldest first
//	{P:outbox}:stats         hash    "<status>*" overall and "<status>|<batch>" per batch → count
//
//	{P:docs:<coll>}:v        hash    id → value
//	{P:docs:<coll>}:i        zset    ids, all scored 0, for ordered prefix listing (ZRANGEBYLEX)
//	{P:docs}:colls           set     collection names (for export)
//
//	{P:rl}:<limit key>       string  GCRA theoretical arrival time, µs
//	P:schema                 string  layout version
//	P:health                 string  when Ping last probed a write while writes were refused (PX 1 min)
//
// The choice, and its cost: numbers are global and gapless and the item indexes must change
// atomically with the item, so every item key lives in one slot ({P:items}); the inbox and the
// outbox are each one slot for the same reason (a lease picks due entries and moves them in
// one step), and so are all rate-limit buckets (one Take checks several at once). A Cluster
// therefore spreads these groups over masters but does not split any one of them. Each group
// is small (an item is a few KB; the busiest, the outbox, is bounded by the platforms' rate
// limits of tens of messages a second), far below what one Redis node serves. Documents are
// tagged per collection and Once keys per key, so those spread over the whole cluster.
//
// Zset members that order by time start with tkey: 16 hex digits of the time's UnixNano with
// the sign bit flipped, so byte order (ZRANGEBYLEX) is time order to the nanosecond, which a
// float score (53 bits) cannot hold.
type keyspace struct{ p string }

func (k keyspace) items() string        { return "{" + k.p + ":items}" }
func (k keyspace) itemSeq() string      { return k.items() + ":seq" }
func (k keyspace) itemPrefix() string   { return k.items() + ":i:" }
func (k keyspace) itemSource() string   { return k.items() + ":src" }
func (k keyspace) item(no int64) string { return k.itemPrefix() + strconv.FormatInt(no, 10) }
func (k keyspace) numbers() string      { return k.items() + ":num" }
func (k keyspace) numberRefs() string   { return k.items() + ":numref" }
func (k keyspace) idxAll() string       { return k.items() + ":all" }
func (k keyspace) idxOpen() string      { return k.items() + ":open" }
func (k keyspace) idxDue() string       { return k.items() + ":due" }
func (k keyspace) idxDueBuilt() string  { return k.items() + ":duev" }
func (k keyspace) openStates() string   { return k.items() + ":os" }
func (k keyspace) idxGroup(g string) string {
	return k.items() + ":g:" + g
}
func (k keyspace) idxRequester(id string) string { return k.items() + ":r:" + id }
func (k keyspace) idxClaimer(id string) string   { return k.items() + ":c:" + id }
func (k keyspace) idxState(s string) string      { return k.items() + ":s:" + s }

// idxMonth is the zset of items with an event in month (store.MonthKey); :mv marks that
// every item is in its months' zsets (months.go builds them on open if absent).
func (k keyspace) idxMonth(month string) string { return k.items() + ":m:" + month }
func (k keyspace) idxMonthBuilt() string        { return k.items() + ":mv" }

func (k keyspace) persons() string { return "{" + k.p + ":dir}:persons" }
func (k keyspace) groups() string  { return "{" + k.p + ":dir}:groups" }

func (k keyspace) oncePrefix() string     { return k.p + ":once:" }
func (k keyspace) once(key string) string { return k.oncePrefix() + key }

func (k keyspace) inbox() string               { return "{" + k.p + ":inbox}" }
func (k keyspace) inboxPrefix() string         { return k.inbox() + ":e:" }
func (k keyspace) inboxEntry(id string) string { return k.inboxPrefix() + id }
func (k keyspace) inboxDue() string            { return k.inbox() + ":due" }
func (k keyspace) inboxExp() string            { return k.inbox() + ":exp" }

func (k keyspace) outbox() string               { return "{" + k.p + ":outbox}" }
func (k keyspace) outboxPrefix() string         { return k.outbox() + ":e:" }
func (k keyspace) outboxEntry(id string) string { return k.outboxPrefix() + id }
func (k keyspace) outboxSeq() string            { return k.outbox() + ":seq" }
func (k keyspace) outboxIDs() string            { return k.outbox() + ":ids" }
func (k keyspace) outboxWait() string           { return k.outbox() + ":wait" }
func (k keyspace) outboxReady() string          { return k.outbox() + ":ready" }
func (k keyspace) outboxStats() string          { return k.outbox() + ":stats" }

func (k keyspace) docVals(coll string) string { return "{" + k.p + ":docs:" + coll + "}:v" }
func (k keyspace) docIDs(coll string) string  { return "{" + k.p + ":docs:" + coll + "}:i" }
func (k keyspace) docColls() string           { return "{" + k.p + ":docs}:colls" }

func (k keyspace) limit(key string) string { return "{" + k.p + ":rl}:" + key }

func (k keyspace) schema() string { return k.p + ":schema" }

func (k keyspace) health() string { return k.p + ":health" }

// all are SCAN patterns covering every key above (Wipe); doc collections are found through
// :colls, so no pattern reaches into another prefix's keys.
func (k keyspace) all() []string {
	var out []string
	for _, tag := range []string{k.items(), "{" + k.p + ":dir}", k.inbox(), k.outbox(), "{" + k.p + ":docs}", "{" + k.p + ":rl}"} {
		out = append(out, globEscape(tag)+"*")
	}
	return append(out, globEscape(k.oncePrefix())+"*", globEscape(k.schema()), globEscape(k.health()))
}

// tkeyLen is the length of a tkey.
const tkeyLen = 16

// tkey encodes t as 16 hex digits that sort like the times, the zero time first (as bolt's
// keys do). Times outside 1678–2262 are not representable, which a chat bot's clock never
// leaves.
func tkey(t time.Time) string {
	if t.IsZero() {
		return strings.Repeat("0", tkeyLen)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^1<<63)
	return hex.EncodeToString(b[:])
}

// tkeyTime decodes a tkey (the zero time for zeros or anything malformed).
func tkeyTime(s string) time.Time {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		return time.Time{}
	}
	n := binary.BigEndian.Uint64(b)
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n^1<<63)).UTC()
}

// upTo is the exclusive ZRANGEBYLEX bound that selects members whose tkey is at or before t.
func upTo(t time.Time) string { return "(" + tkey(t.Add(1)) }

// timeText and parseTime store a time losslessly, its offset included, as RFC 3339; the zero
// time as "".
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	b, _ := t.MarshalText()
	return string(b)
}

func parseTime(s string) (time.Time, error) {
	var t time.Time
	if s == "" {
		return t, nil
	}
	err := t.UnmarshalText([]byte(s))
	return t, err
}
