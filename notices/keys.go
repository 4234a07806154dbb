package notices

import (
	"fmt"
	"strconv"
	"strings"
)

// Doc collections. Every id of a notice's own docs starts with its id and "|", so one
// prefix lists them (1| never matches 12|).
const (
	collNotices = "notices"       // <id> → Notice
	collGroups  = "notice_groups" // <id> → []string, the frozen target groups, sorted
	collMeta    = "notice_meta"   // "seq" → the last id given out (ids are internal; numbers are store.Numbers)
	collDraft   = "notice_draft"  // <author> → <id> of the author's latest draft
	collOpen    = "notice_open"   // <padded id> → "1": notices Tick still has work for
	collRecent  = "notice_recent" // <padded id> → recentEntry: what a bare 收到 or 同意 may mean
	collAcks    = "notice_acks"   // <id>|<group>|<person> → Receipt
	collVotes   = "notice_votes"  // <id>|<person> → Vote
	collCounts  = "notice_counts" // <id> → counts, for the card's counters
	collAlias   = "notice_alias"  // <old number> → <id>: a notice's number before numbers were shared
	collAckers  = "notice_ackers" // <id>|<person> → "1": counted once on the card, whatever the groups
)

// HotColls are the collections the inbound path reads on every bare 收到 or poll answer
// (what it may mean, and the frozen target groups): a read cache may serve them, with
// another replica's new notice seen within its staleness bound.
var HotColls = []string{collRecent, collGroups}

// Card actions.
const (
	ActConfirm = "notice_confirm" // Ref: id
	ActCancel  = "notice_cancel"  // Ref: id
	ActAck     = "notice_ack"     // Ref: id
	ActVote    = "vote"           // Ref: id, Value: option
)

// BatchID is the outbox batch of a notice's delivery: OutboxStats(BatchID(id)) is its progress.
func BatchID(id int64) string { return "notice:" + strconv.FormatInt(id, 10) }

// EntryID is the outbox id of a notice's message to a group. It is the same however often
// the notice is enqueued, so a resumed or repeated enqueue adds nothing.
func EntryID(id int64, group string) string { return BatchID(id) + ":" + group }

// CardKey is the key of a notice's card in each group (for in-place updates and replies).
func CardKey(id int64) string { return BatchID(id) }

// IDFromCardKey parses a card key; 0 when it is not a notice's.
func IDFromCardKey(key string) int64 {
	s, ok := strings.CutPrefix(key, "notice:")
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

func draftCardKey(id int64) string { return "notice-draft:" + strconv.FormatInt(id, 10) }

func resultID(id int64, group string) string { return EntryID(id, group) + ":result" }
func resultBatch(id int64) string            { return BatchID(id) + ":result" }
func remindID(id int64, group, tag string) string {
	return EntryID(id, group) + ":remind:" + tag
}
func remindBatch(id int64) string { return BatchID(id) + ":remind" }

func docID(id int64) string    { return strconv.FormatInt(id, 10) }
func paddedID(id int64) string { return fmt.Sprintf("%012d", id) }

func ackPrefix(id int64) string                   { return docID(id) + "|" }
func ackID(id int64, group, person string) string { return ackPrefix(id) + group + "|" + person }
func ackerID(id int64, person string) string      { return ackPrefix(id) + person }
func votePrefix(id int64) string                  { return docID(id) + "|" }
func voteID(id int64, person string) string       { return votePrefix(id) + person }

// Once keys: publishing a poll's result and the automatic receipt reminder, each taken as a
// lease so a replica that dies halfway is relieved after it runs out.
func publishKey(id int64) string    { return BatchID(id) + ":publish" }
func autoRemindKey(id int64) string { return BatchID(id) + ":remind:auto" }
