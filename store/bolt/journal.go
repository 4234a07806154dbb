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

// The inbox journal is where an arriving event is recorded before the platform gets its ack:
// appended to a journal file (and, with Options.SyncEvents, flushed with one fdatasync),
// instead of a bbolt commit (two fdatasyncs, several page writes and the B+tree's
// copy-on-write). An appended event survives a crash or kill -9 of the process: the kernel
// holds the write. Without SyncEvents it reaches the disk with its checkpoint's commit, at
// most checkpointEvery later, so a power cut can lose the events of that window.
//
// Events reach the inbox buckets in checkpoints: one commit every checkpointEvery (or sooner, when many wait) moves
// every journaled event there, already handled if its ack came meanwhile, so at 1,000 events/s
// a checkpoint commit serves a hundred events and their acks instead of one commit for each
// event and each ack (docs/BENCHMARKS.md, "Inbound").
//
// Two files take turns: a checkpoint sends new appends to the other (empty) file, and empties
// a file once every event in it is in bbolt. Open applies what the files hold (a crash between
// a checkpoint's commit and the emptying only repeats puts, which change nothing) and empties
// them; a torn last record (a crash mid-append, never acked) ends a file's replay.
//
// The files are written full of zeros once (journalPrealloc) and then overwritten in place: an
// fdatasync that need not also record a new file size and newly allocated blocks cost 63–70
// instead of 112–115 µs of CPU here. Emptying a file is therefore not truncating it but giving
// it a new epoch in its header: records of an older epoch that follow are the end, like zeros.
//
// A file is a header, [magic "NBJ1"][reserved uint32][epoch uint64], and records,
// [length uint32][crc32c of the rest uint32][epoch uint64][the event, encodeJournal].
//
// A failed append (a full disk, an I/O error) fails that put, so the platform retries its
// events, and is taken back: the next append goes where it went, padded with zeros over all it
// may have left (a torn record, or whole records of events never acknowledged), so replay
// stops after the last acknowledged record as before. A failed emptying (the header's new
// epoch, perhaps half written) keeps appends off that file until it is emptied again. Both
// are recorded in the store's write health (health.go) and cleared by the next success.
//
// With SyncEvents, a put's append is written at once and synced after (appendJournal,
// waitJournal): its events are pending, so a retry is a duplicate, from the write on, and the
// fdatasync is shared with every append written while the previous sync ran. A sync that
// fails is made good by a checkpoint (bbolt commits the events, synced) before the put is
// failed.
//
// Locks: putMu orders puts (the dedupe check and the append); mu guards the rest. A checkpoint
// takes mu inside bbolt's write transaction, so nothing holding mu may wait for that writer.
type journal struct {
	putMu sync.Mutex

	mu       sync.Mutex
	files    [2]*os.File
	paths    [2]string
	size     [2]int64              // where each file's next record goes (appends reserved included)
	dirty    [2]int64              // how far a failed append may have written (0: none since the last reset)
	stale    [2]bool               // emptying the file failed: its header is unknown, no appends until it is emptied
	epoch    [2]uint64             // each file's epoch: its records carry it
	inflight [2]int                // appends being written, not yet in pending
	count    [2]int                // pending events in each file
	cur      int                   // the file appends go to
	pending  map[string]*journaled // events in a file, not yet in bbolt, by id
	gen      uint64                // checkpoints started
	noSync   bool
	// syncEvents: a put waits for its append's fdatasync (Options.SyncEvents); else appends
	// reach the disk with the checkpoint that moves them to bbolt (or, when it fails,
	// syncWritten).
	syncEvents bool

	// Syncs (waitSynced): appends are written at once and synced in groups.
	written  [2]int64       // where each file's last completed append ends
	synced   [2]int64       // how far each file is known to be on the disk
	syncFail [2]syncFailure // the last sync of each file that failed
	syncing  bool           // a waiter is syncing
	syncDone *sync.Cond     // on mu: a sync ended

	// writeAt writes to a journal file: (*os.File).WriteAt, or a failing one in tests.
	writeAt func(f *os.File, b []byte, off int64) (int, error)
	// syncFile syncs a journal file's appends (waitSynced): syncData, or a counting or failing
	// one in tests.
	syncFile func(f *os.File) error

	kick chan struct{} // wakes the checkpointer early
	stop chan struct{}
	done chan struct{}
}

// syncFailure is a failed sync: appends of epoch up to upTo may not be on the disk.
type syncFailure struct {
	epoch uint64
	upTo  int64
	err   error
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
	// journalPrealloc is how much of each file is written with zeros at Open: at 1,000
	// events/s a checkpoint's file holds about 100 KB. Appends beyond it (a checkpoint that
	// cannot commit) grow the file.
	journalPrealloc = 1 << 20
	journalHeader   = 16
)

var journalMagic = []byte("NBJ1")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func journalPaths(path string) [2]string {
	return [2]string{path + ".inbox-0", path + ".inbox-1"}
}

// openJournal applies what the journal files hold to db, empties them and opens them for
// appending. Leases in them are kept: Open releases every lease next.
func openJournal(db *bbolt.DB, path string, noSync, syncEvents bool, log *slog.Logger) (*journal, error) {
	j := &journal{pending: map[string]*journaled{}, noSync: noSync, syncEvents: syncEvents, paths: journalPaths(path),
		writeAt: (*os.File).WriteAt, syncFile: syncData,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	j.syncDone = sync.NewCond(&j.mu)
	var recs []inboundRecord
	for i, p := range journalPaths(path) {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("open inbox journal: %w", err)
		}
		j.files[i] = f
		epoch, rs, torn, err := readJournal(f)
		if err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("read inbox journal %s: %w", p, err)
		}
		if torn {
			log.Warn("bolt: inbox journal ends in a torn record (a crash while it was written; that event was never acknowledged)",
				"path", p, "events_before", len(rs))
		}
		j.epoch[i] = epoch
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
	for k, f := range j.files {
		if err := preallocate(f, noSync); err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("prepare inbox journal: %w", err)
		}
		if err := j.reset(k); err != nil {
			j.closeFiles()
			return nil, fmt.Errorf("empty inbox journal: %w", err)
		}
	}
	return j, nil
}

// preallocate writes zeros to f up to journalPrealloc bytes.
func preallocate(f *os.File, noSync bool) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() >= journalPrealloc {
		return nil
	}
	zeros := make([]byte, 1<<20)
	for off := fi.Size(); off < journalPrealloc; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), journalPrealloc-off)], off); err != nil {
			return err
		}
	}
	if noSync {
		return nil
	}
	return syncData(f)
}

// reset empties file k: a new epoch in its header. j.mu held, or not yet shared. When it
// fails the header may hold either epoch: the file is stale, and takes no appends until a
// reset succeeds (its events are all in bbolt: only a file without any is reset).
func (j *journal) reset(k int) error {
	var h [journalHeader]byte
	copy(h[:], journalMagic)
	binary.LittleEndian.PutUint64(h[8:], j.epoch[k]+1)
	_, err := j.writeAt(j.files[k], h[:], 0)
	// Without SyncEvents the new header is not flushed on its own: it reaches the disk with
	// the file's later writes. A power cut before that leaves the old epoch there, and Open
	// applies again events that are in bbolt already (a checkpoint committed them before this
	// reset), which changes nothing. With SyncEvents it is flushed now, before any append.
	if err == nil && !j.noSync && j.syncEvents {
		err = syncData(j.files[k])
	}
	if err != nil {
		j.stale[k] = true
		return err
	}
	j.epoch[k]++
	j.size[k], j.written[k], j.synced[k] = journalHeader, journalHeader, journalHeader
	j.dirty[k], j.stale[k] = 0, false // what a failed append left has an older epoch now
	j.syncFail[k] = syncFailure{}
	j.syncDone.Broadcast() // waiters on the old epoch: their events are in bbolt
	return nil
}

func (j *journal) closeFiles() {
	for _, f := range j.files {
		if f != nil {
			f.Close()
		}
	}
}

// readJournal reads a file's epoch and records, up to zeros, a record of an older epoch (the
// end) or a torn one (a crash mid-append), which it reports. A file without a header (new) has
// epoch 0 and no records.
func readJournal(f *os.File) (uint64, []inboundRecord, bool, error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return 0, nil, false, err
	}
	if len(data) < journalHeader || !bytes.Equal(data[:4], journalMagic) {
		return 0, nil, false, nil
	}
	epoch := binary.LittleEndian.Uint64(data[8:])
	var out []inboundRecord
	for rest := data[journalHeader:]; len(rest) >= 8; {
		n := binary.LittleEndian.Uint32(rest)
		sum := binary.LittleEndian.Uint32(rest[4:])
		if n == 0 && sum == 0 {
			break // zeros: the end
		}
		if n < 8 || n > journalRecordMax || int(n) > len(rest)-8 {
			return epoch, out, true, nil
		}
		body := rest[8 : 8+n]
		if binary.LittleEndian.Uint64(body) != epoch {
			break // an older epoch's record: the end
		}
		if crc32.Checksum(body, crcTable) != sum {
			return epoch, out, true, nil
		}
		r, err := decodeJournal(body[8:])
		if err != nil {
			return epoch, out, true, nil
		}
		out = append(out, r)
		rest = rest[8+n:]
	}
	return epoch, out, false, nil
}

// encodeJournal appends r's record (header included) for a file of epoch to buf: the id, when
// it was received, its lease (owner, end, attempts) and the payload, lengths and times as
// fixed-size integers.
func encodeJournal(buf []byte, epoch uint64, r *inboundRecord) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, 8)...)
	buf = binary.LittleEndian.AppendUint64(buf, epoch)
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
// The append is written under putMu and, with SyncEvents, synced after it (waitJournal), so
// the appends made while a sync runs share the next one.
func (s *Store) putJournal(ctx context.Context, entries []store.InboundEntry, now time.Time) ([]bool, error) {
	fresh, k, epoch, end, ids, err := s.appendJournal(ctx, entries, now)
	if err != nil || ids == nil {
		return fresh, err
	}
	return fresh, s.waitJournal(k, epoch, end, ids)
}

// waitJournal waits until the append of ids to file k (epoch) that ends at end is on the disk.
// When its sync fails the events are made durable in bbolt instead, by a checkpoint: the
// platform is told they were received only if that commit succeeded.
func (s *Store) waitJournal(k int, epoch uint64, end int64, ids []string) error {
	j := s.journal
	err := j.waitSynced(k, epoch, end)
	if err == nil {
		return nil
	}
	err = s.health.failed(targetJournal, "inbox journal sync of", j.paths[k], err)
	if cerr := s.checkpoint(context.Background()); cerr != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		if _, ok := j.pending[id]; ok { // its checkpoint is still to come
			return err
		}
	}
	return nil
}

// appendJournal dedupes entries and appends the fresh ones to the journal, written (a crash
// of the process keeps them: they are in the kernel's page cache) but not yet synced. The
// events are pending from the append on: a retry finds them, and a checkpoint may move them to
// bbolt before their sync. ids are the appended events (nil: none).
func (s *Store) appendJournal(ctx context.Context, entries []store.InboundEntry, now time.Time) (fresh []bool, k int, epoch uint64, end int64, ids []string, err error) {
	j := s.journal
	j.putMu.Lock()
	defer j.putMu.Unlock()
	fresh = make([]bool, len(entries))
	if j.forgottenPending(entries, now) {
		// An event acked in the journal and forgotten by now (a clock far ahead, in tests):
		// let bbolt decide, as for any forgotten event.
		if err := s.checkpoint(ctx); err != nil {
			return nil, 0, 0, 0, nil, err
		}
	}
	// Pending first, then bbolt: an event leaves pending only after its checkpoint committed,
	// so one not pending now is in bbolt already or was never put (puts hold putMu).
	j.mu.Lock()
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
			return nil, 0, 0, 0, nil, err
		}
	}
	var recs []*journaled
	for i, e := range entries {
		if !fresh[i] {
			continue
		}
		r := inboundRecord{InboundEntry: store.InboundEntry{ID: e.ID, Payload: e.Payload, Received: now}}
		if e.LeaseOwner != "" && e.LeaseUntil.After(now) { // leased to the receiver on the way in
			r.LeaseOwner, r.LeaseUntil, r.Attempts = e.LeaseOwner, e.LeaseUntil, 1
		}
		recs = append(recs, &journaled{rec: r})
	}
	if len(recs) == 0 {
		return fresh, 0, 0, 0, nil, nil
	}
	// Encoded under mu: the records carry the epoch of the file they go to.
	j.mu.Lock()
	k = j.cur
	if j.stale[k] {
		// Its emptying failed (checkpoint): empty it now, before anything goes after an
		// epoch the header may not have. Nothing of it is pending, and puts hold putMu.
		if err := j.reset(k); err != nil {
			j.mu.Unlock()
			return nil, 0, 0, 0, nil, s.health.failed(targetJournal, "inbox journal reset of", j.paths[k], err)
		}
	}
	epoch = j.epoch[k]
	f, off := j.files[k], j.size[k]
	var buf []byte
	for _, r := range recs {
		buf = encodeJournal(buf, j.epoch[k], &r.rec)
	}
	n := int64(len(buf))
	if pad := j.dirty[k] - off - n; pad > 0 { // zeros over what a failed append left
		buf = append(buf, make([]byte, pad)...)
	}
	j.size[k] += n
	j.inflight[k]++
	j.mu.Unlock()
	_, err = j.writeAt(f, buf, off)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.inflight[k]--
	if err != nil {
		// Taken back: the next append goes here and covers whatever this one wrote. Puts
		// hold putMu, so no append went after it; a reset waits for inflight.
		j.size[k] = off
		j.dirty[k] = max(j.dirty[k], off+int64(len(buf)))
		return nil, 0, 0, 0, nil, s.health.failed(targetJournal, "inbox journal append to", j.paths[k], err)
	}
	if off+int64(len(buf)) >= j.dirty[k] {
		j.dirty[k] = 0
	}
	s.health.succeeded(targetJournal)
	ids = make([]string, len(recs))
	for i, r := range recs {
		r.file = k
		j.pending[r.rec.ID] = r
		ids[i] = r.rec.ID
	}
	j.count[k] += len(recs)
	end = off + n
	j.written[k] = end
	if len(j.pending) >= checkpointAt {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return fresh, k, epoch, end, ids, nil
}

// waitSynced waits until file k of epoch is on the disk up to end, syncing it itself when no
// one else is: group commit, so that the appends made while a sync runs share the next one.
//
// An emptied file (a new epoch) had all its events moved to bbolt, which synced them.
func (j *journal) waitSynced(k int, epoch uint64, end int64) error {
	if j.noSync || !j.syncEvents {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		switch f := j.syncFail[k]; {
		case j.epoch[k] != epoch:
			return nil
		case f.err != nil && f.epoch == epoch && end <= f.upTo:
			return f.err // a later sync that succeeds proves nothing for these (fsync on Linux)
		case j.synced[k] >= end:
			return nil
		case !j.syncing:
			j.syncing = true
			j.syncAll()
		default:
			j.syncDone.Wait()
		}
	}
}

// syncWritten flushes whatever the journal files hold that is not known to be on the disk
// (without SyncEvents, after a failed checkpoint). A sync already running is waited for first.
func (j *journal) syncWritten() error {
	if j.noSync || j.syncEvents {
		return nil // puts sync their own appends
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.syncing {
		j.syncDone.Wait()
	}
	if j.written[0] <= j.synced[0] && j.written[1] <= j.synced[1] {
		return nil
	}
	j.syncing = true
	j.syncAll()
	var errs []error
	for k := range j.files {
		if j.written[k] > j.synced[k] && j.syncFail[k].err != nil {
			errs = append(errs, j.syncFail[k].err)
		}
	}
	return errors.Join(errs...)
}

// syncAll is a syncer's turn: sync every file with appends not yet on the disk, record how
// far they are, and wake the waiters. j.mu held (released meanwhile).
func (j *journal) syncAll() {
	defer func() {
		j.syncing = false
		j.syncDone.Broadcast()
	}()
	type target struct {
		f     *os.File
		epoch uint64
		upTo  int64
	}
	var todo [2]target
	for k := range j.files {
		if j.written[k] > j.synced[k] {
			todo[k] = target{j.files[k], j.epoch[k], j.written[k]}
		}
	}
	sync := j.syncFile
	j.mu.Unlock()
	var errs [2]error
	for k, t := range todo {
		if t.f != nil {
			errs[k] = sync(t.f)
		}
	}
	j.mu.Lock()
	for k, t := range todo {
		switch {
		case t.f == nil || j.epoch[k] != t.epoch: // emptied meanwhile: nothing to record
		case errs[k] != nil:
			j.syncFail[k] = syncFailure{epoch: t.epoch, upTo: max(t.upTo, j.syncFail[k].upTo), err: errs[k]}
		default:
			j.synced[k] = max(j.synced[k], t.upTo)
		}
	}
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
	if o := 1 - j.cur; j.size[o] == journalHeader && j.inflight[o] == 0 {
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
			if err := afterSeal(); err != nil {
				return err
			}
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
	for k := range j.files {
		if j.count[k] == 0 && j.inflight[k] == 0 && (j.size[k] > journalHeader || j.stale[k]) {
			if terr := j.reset(k); terr != nil {
				return fmt.Errorf("bolt: empty inbox journal: %w", s.health.failed(targetJournal, "inbox journal reset of", j.paths[k], terr))
			}
		}
	}
	return nil
}

// probe tries the file appends go to (health.go): zeros written over what a failed append
// left there, or over the next record's place (where zeros are the end anyway), and synced.
func (j *journal) probe(s *Store) error {
	j.putMu.Lock()
	defer j.putMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	k := j.cur
	if j.stale[k] {
		if err := j.reset(k); err != nil {
			return s.health.failed(targetJournal, "inbox journal reset of", j.paths[k], err)
		}
		return nil
	}
	off := j.size[k]
	_, err := j.writeAt(j.files[k], make([]byte, max(8, j.dirty[k]-off)), off)
	if err == nil && !j.noSync {
		err = syncData(j.files[k])
	}
	if err != nil {
		return s.health.failed(targetJournal, "inbox journal probe of", j.paths[k], err)
	}
	j.dirty[k] = 0
	return nil
}

// afterSeal, if set, runs in a checkpoint after it wrote its events to the transaction and
// before the commit (tests).
var afterSeal func() error

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
		s.checkpointTick(log)
	}
}

// checkpointTick is one timed checkpoint. When it fails the events wait in the journal for
// one that works; without SyncEvents they are flushed here meanwhile, so the time an
// acknowledged event is only in the kernel's cache stays bounded.
func (s *Store) checkpointTick(log *slog.Logger) {
	err := s.checkpoint(context.Background())
	if err == nil {
		return
	}
	if !s.health.failing.Load() {
		// A failing write is logged by s.health (at most once a minute).
		log.Error("bolt: inbox checkpoint failed; events stay in the journal and are tried again", "err", err)
	}
	j := s.journal
	if serr := j.syncWritten(); serr != nil {
		s.health.failed(targetJournal, "inbox journal sync of", j.paths[j.cur], serr)
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
