package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/store"
)

// The inbox journal is where an arriving event is made durable before the platform gets its
// ack: appended to a journal file with one fdatasync, instead of a bbolt commit (two
// fdatasyncs, several page writes and the B+tree's copy-on-write). Events reach the inbox
// buckets in checkpoints: one commit every checkpointEvery (or sooner, when many wait) moves
// every journaled event there, already handled if its ack came meanwhile, so at 1,000 events/s
// a checkpoint commit serves a hundred events and their acks instead of one commit for each
// event and each ack (docs/BENCHMARKS.md, "Inbound").
//
// Two files take turns: a checkpoint sends new appends to the other (empty) file, and empties
// a file once every event in it is in bbolt. Open applies what the files hold (a crash between
// a checkpoint's commit and the emptying only repeats puts, which change nothing) and empties
// them; a torn last record (a crash mid-append, never acked) ends a file's replay.
//
// A record is [length uint32][crc32c of the rest uint32][the event, encodeJournal].
//
// Locks: putMu orders puts (the dedupe check and the append); mu guards the rest. A checkpoint
// takes mu inside bbolt's write transaction, so nothing holding mu may wait for that writer.
type journal struct {
	putMu sync.Mutex

	mu       sync.Mutex
	files    [2]*os.File
	size     [2]int64              // bytes in each file, appends reserved included
	inflight [2]int                // appends written or syncing, not yet in pending
	count    [2]int                // pending events in each file
	cur      int                   // the file appends go to
	pending  map[string]*journaled // events in a file, not yet in bbolt, by id
	gen      uint64                // checkpoints started
	broken   error                 // a failed append: the files can no longer be trusted past it
	noSync   bool

	kick chan struct{} // wakes the checkpointer early
	stop chan struct{}
	done chan struct{}
}

// journaled is an event in the journal: the record it becomes in bbolt, and its ack if it
// came before the checkpoint read it.
type journaled struct {
	rec      inboundRecord
	file     int
	acked    time.Time // handled while in the journal: the checkpoint writes it handled
	sealedBy uint64    // the checkpoint that read it (0: none yet); later acks go to bbolt
}

const (
	// checkpointEvery is how long journaled events wait at most for their checkpoint.
	checkpointEvery = 100 * time.Millisecond
	// checkpointAt is how many journaled events start a checkpoint before its time.
	checkpointAt = 512
	// journalRecordMax refuses absurd lengths when reading a file back (a torn header).
	journalRecordMax = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func journalPaths(path string) [2]string {
	return [2]string{path + ".inbox-0", path + ".inbox-1"}
}

// openJournal applies what the journal files hold to db, empties them and opens them for
// appending. Leases in them are kept: Open releases every lease next.
func openJournal(db *bbolt.DB, path string, noSync bool, log *slog.Logger) (*journal, error) {
	j := &journal{pending: map[string]*journaled{}, noSync: noSync,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	var recs []inboundRecord
	for i, p := range journalPaths(path) {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("open inbox journal: %w", err)
		}
		j.files[i] = f
		rs, torn, err := readJournal(f)
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("read inbox journal %s: %w", p, err)
		}
		if torn > 0 {
			log.Warn("bolt: inbox journal ends in a torn record (a crash while it was written; that event was never acknowledged)",
				"path", p, "bytes", torn)
		}
		recs = append(recs, rs...)
	}
	if len(recs) > 0 {
		err := db.Update(func(tx *bbolt.Tx) error {
			for i := range recs {
				if err := applyJournaled(tx, &recs[i], time.Time{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("apply inbox journal: %w", err)
		}
		log.Info("bolt: inbox journal applied", "events", len(recs))
	}
	for _, f := range j.files {
		if err := truncate(f, noSync); err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("empty inbox journal: %w", err)
		}
	}
	return j, nil
}

func truncate(f *os.File, noSync bool) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if noSync {
		return nil
	}
	return syncData(f)
}

func (j *journal) closeFiles() {
	for _, f := range j.files {
		if f != nil {
			f.Close()
		}
	}
}

// readJournal reads a file's records up to its end or to a torn or corrupt record, whose
// bytes (to the end of the file) it reports.
func readJournal(f *os.File) ([]inboundRecord, int64, error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return nil, 0, err
	}
	var out []inboundRecord
	for rest := data; len(rest) > 0; {
		if len(rest) < 8 {
			return out, int64(len(rest)), nil
		}
		n := binary.LittleEndian.Uint32(rest)
		sum := binary.LittleEndian.Uint32(rest[4:])
		if n > journalRecordMax || int(n) > len(rest)-8 || crc32.Checksum(rest[8:8+n], crcTable) != sum {
			return out, int64(len(rest)), nil
		}
		r, err := decodeJournal(rest[8 : 8+n])
		if err != nil {
			return out, int64(len(rest)), nil
		}
		out = append(out, r)
		rest = rest[8+n:]
	}
	return out, 0, nil
}

// encodeJournal appends r's record (header included) to buf: the id, when it was received,
// its lease (owner, end, attempts) and the payload, lengths and times as fixed-size integers.
func encodeJournal(buf []byte, r *inboundRecord) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, 8)...)
	buf = appendString(buf, r.ID)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(r.Received.UnixNano()))
	buf = appendString(buf, r.LeaseOwner)
	var until int64
	if !r.LeaseUntil.IsZero() {
		until = r.LeaseUntil.UnixNano()
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(until))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(r.Attempts))
	buf = append(buf, r.Payload...)
	body := buf[start+8:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(body, crcTable))
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

var errJournalRecord = errors.New("malformed inbox journal record")

func decodeJournal(b []byte) (inboundRecord, error) {
	var r inboundRecord
	str := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.LittleEndian.Uint32(b)
		if int(n) > len(b)-4 {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	var ok bool
	if r.ID, ok = str(); !ok || r.ID == "" || len(b) < 8 {
		return r, errJournalRecord
	}
	r.Received = time.Unix(0, int64(binary.LittleEndian.Uint64(b))).UTC()
	b = b[8:]
	if r.LeaseOwner, ok = str(); !ok || len(b) < 12 {
		return r, errJournalRecord
	}
	if until := int64(binary.LittleEndian.Uint64(b)); until != 0 {
		r.LeaseUntil = time.Unix(0, until).UTC()
	}
	r.Attempts = int(binary.LittleEndian.Uint32(b[8:]))
	r.Payload = bytes.Clone(b[12:])
	return r, nil
}

// applyJournaled writes a journaled event to the inbox buckets, handled at acked if that is
// set. An id already there and not forgotten is left alone: Open may apply an event a
// checkpoint already wrote.
func applyJournaled(tx *bbolt.Tx, r *inboundRecord, acked time.Time) error {
	b, due, exp := tx.Bucket(bInbox), tx.Bucket(bInboxDue), tx.Bucket(bInboxExp)
	old, err := getInbound(b, r.ID)
	if err != nil {
		return err
	}
	if old != nil {
		if old.Handled.IsZero() || old.Forget.After(r.Received) {
			return nil
		}
		if err := exp.Delete(old.expKey()); err != nil { // forgotten but not yet purged
			return err
		}
	}
	if !acked.IsZero() {
		h := *r
		h.Payload, h.LeaseOwner, h.LeaseUntil = nil, "", time.Time{}
		h.Handled, h.Forget = acked, acked.Add(store.InboxRetention)
		if err := putJSON(b, h.ID, &h); err != nil {
			return err
		}
		return exp.Put(h.expKey(), nil)
	}
	if err := putJSON(b, r.ID, r); err != nil {
		return err
	}
	return due.Put(r.dueKey(), nil)
}

// putJournal makes fresh events durable in the journal; see PutInboundBatch for the dedupe.
func (s *Store) putJournal(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	j := s.journal
	j.putMu.Lock()
	defer j.putMu.Unlock()
	fresh := make([]bool, len(entries))
	if j.forgottenPending(entries, now) {
		// An event acked in the journal and forgotten by now (a clock far ahead, in tests):
		// let bbolt decide, as for any forgotten event.
		if err := s.checkpoint(ctx); err != nil {
			return nil, err
		}
	}
	// Pending first, then bbolt: an event leaves pending only after its checkpoint committed,
	// so one not pending now is in bbolt already or was never put (puts hold putMu).
	j.mu.Lock()
	if j.broken != nil {
		err := j.broken
		j.mu.Unlock()
		return nil, err
	}
	seen := make(map[string]bool, len(entries))
	check := make([]int, 0, len(entries))
	for i, e := range entries {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		if _, ok := j.pending[e.ID]; !ok {
			check = append(check, i)
		}
	}
	j.mu.Unlock()
	if len(check) > 0 {
		err := s.view(ctx, "put inbound", func(tx *bbolt.Tx) error {
			b := tx.Bucket(bInbox)
			for _, i := range check {
				old, err := getInbound(b, entries[i].ID)
				if err != nil {
					return err
				}
				fresh[i] = old == nil || !old.Handled.IsZero() && !old.Forget.After(now)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var buf []byte
	var recs []*journaled
	for i, e := range entries {
		if !fresh[i] {
			continue
		}
		r := inboundRecord{InboundEntry: store.InboundEntry{ID: e.ID, Payload: e.Payload, Received: now}}
		if e.LeaseOwner != "" && e.LeaseUntil.After(now) { // leased to the receiver on the way in
			r.LeaseOwner, r.LeaseUntil, r.Attempts = e.LeaseOwner, e.LeaseUntil, 1
		}
		buf = encodeJournal(buf, &r)
		recs = append(recs, &journaled{rec: r})
	}
	if len(recs) == 0 {
		return fresh, nil
	}
	j.mu.Lock()
	k, f, off := j.cur, j.files[j.cur], j.size[j.cur]
	j.size[k] += int64(len(buf))
	j.inflight[k]++
	j.mu.Unlock()
	_, err := f.WriteAt(buf, off)
	if err == nil && !j.noSync {
		err = syncData(f)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.inflight[k]--
	if err != nil {
		// What follows a half-written record would be unreadable at replay: take no more.
		j.broken = fmt.Errorf("bolt: inbox journal unusable after a failed write (restart to recover): %w", err)
		return nil, store.ErrUnavailable(j.broken)
	}
	for _, r := range recs {
		r.file = k
		j.pending[r.rec.ID] = r
	}
	j.count[k] += len(recs)
	if len(j.pending) >= checkpointAt {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return fresh, nil
}

// ackJournaled acks the events of ids still in the journal and not yet read by a checkpoint
// (the checkpoint writes them handled) and returns the others, for bbolt.
func (j *journal) ackJournaled(ids []string, now time.Time) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var rest []string
	for _, id := range ids {
		if e := j.pending[id]; e != nil && e.sealedBy == 0 {
			if e.acked.IsZero() {
				e.acked = now
			}
			continue
		}
		rest = append(rest, id)
	}
	return rest
}

// forgottenPending tells whether an entry's id is journaled, acked and forgotten by now.
func (j *journal) forgottenPending(entries []store.InboundEntry, now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range entries {
		if p := j.pending[e.ID]; p != nil && !p.acked.IsZero() && !p.acked.Add(store.InboxRetention).After(now) {
			return true
		}
	}
	return false
}

func (j *journal) hasPending() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending) > 0
}

// checkpoint writes every journaled event to bbolt in one commit (shared with other writes,
// see grouped) and empties the journal files it no longer needs.
func (s *Store) checkpoint(ctx context.Context) error {
	j := s.journal
	j.mu.Lock()
	if len(j.pending) == 0 {
		j.mu.Unlock()
		return nil
	}
	j.gen++
	gen := j.gen
	// New appends go to the other file if it is empty, so this one empties after the commit.
	if o := 1 - j.cur; j.size[o] == 0 && j.inflight[o] == 0 {
		j.cur = o
	}
	j.mu.Unlock()
	var n int
	err := s.grouped(ctx, "inbox checkpoint", func(tx *bbolt.Tx) error {
		// Read under mu, inside the write transaction: an ack that finds its event sealed
		// goes to bbolt in a later commit than this one.
		j.mu.Lock()
		batch := make([]*journaled, 0, len(j.pending))
		for _, e := range j.pending {
			if e.sealedBy == 0 || e.sealedBy == gen {
				e.sealedBy = gen
				batch = append(batch, e)
			}
		}
		j.mu.Unlock()
		n = len(batch)
		if n == 0 {
			return nil
		}
		b, exp := tx.Bucket(bInbox), tx.Bucket(bInboxExp)
		if err := purgeExpired(exp, s.now(), purgeBudget+n, func(id []byte) error { return b.Delete(id) }); err != nil {
			return err
		}
		for _, e := range batch {
			if err := applyJournaled(tx, &e.rec, e.acked); err != nil {
				return err
			}
		}
		if afterSeal != nil {
			afterSeal()
		}
		return nil
	})
	j.mu.Lock()
	defer j.mu.Unlock()
	for id, e := range j.pending {
		if e.sealedBy != gen {
			continue
		}
		if err != nil {
			e.sealedBy = 0 // for the next checkpoint
			continue
		}
		delete(j.pending, id)
		j.count[e.file]--
	}
	if err != nil {
		return err
	}
	for k, f := range j.files {
		if j.count[k] == 0 && j.inflight[k] == 0 && j.size[k] > 0 {
			if terr := truncate(f, j.noSync); terr != nil {
				return fmt.Errorf("bolt: empty inbox journal: %w", terr)
			}
			j.size[k] = 0
		}
	}
	return nil
}

// afterSeal, if set, runs in a checkpoint after it wrote its events to the transaction and
// before the commit (tests).
var afterSeal func()

// runCheckpoints checkpoints every checkpointEvery, or sooner when kicked, until stop.
func (s *Store) runCheckpoints(log *slog.Logger) {
	j := s.journal
	defer close(j.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
		case <-j.kick:
		}
		if err := s.checkpoint(context.Background()); err != nil {
			log.Error("bolt: inbox checkpoint failed; events stay in the journal and are tried again", "err", err)
		}
	}
}

// closeJournal stops the checkpoints, writes the journaled events to bbolt and closes the
// files (empty after a clean close).
func (s *Store) closeJournal() error {
	j := s.journal
	close(j.stop)
	<-j.done
	err := s.checkpoint(context.Background())
	j.closeFiles()
	return err
}
