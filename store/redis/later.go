package redis

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// laterDelay is how long an ack or a record of sent replies (bot.LaterAcker) waits for an
// inbound put to ride on before it is written on its own. Under load the next event's put
// comes sooner and carries it: no round trip of its own. It is far shorter than any lease, so
// an acked event is never taken over for this wait; a crash within it has the event handled
// again after its lease, its replies under the same ids.
const laterDelay = 50 * time.Millisecond

// laterRetry is the wait before acks and records Redis did not take are tried again (unless
// a put carries them first): an outage is not retried, and logged, 20 times a second.
const laterRetry = time.Second

// later holds the acks and records that wait for the next write (bot.LaterAcker).
type later struct {
	mu      sync.Mutex
	acks    []laterAck
	records []store.OutboxEntry
	timer   *time.Timer // set to fire while something waits (armed)
	armed   bool
	writing sync.WaitGroup
	closed  bool          // the store closed: nothing waits any more
	wait    time.Duration // laterDelay; tests change it
}

type laterAck struct {
	id  string
	now time.Time
}

// AckInboundLater acks ids with the next inbound put, or within laterDelay.
func (s *Store) AckInboundLater(ids []string, now time.Time) {
	s.later.mu.Lock()
	for _, id := range ids {
		s.later.acks = append(s.later.acks, laterAck{id, now})
	}
	s.armLaterLocked(laterDelay)
	s.later.mu.Unlock()
}

// RecordOutboxLater records directly sent replies (RecordOutbox) with the next inbound put,
// or within laterDelay.
func (s *Store) RecordOutboxLater(entries ...store.OutboxEntry) {
	if len(entries) == 0 {
		return
	}
	s.later.mu.Lock()
	s.later.records = append(s.later.records, entries...)
	s.armLaterLocked(laterDelay)
	s.later.mu.Unlock()
}

// FlushLater writes what waits now (the pipeline stops, the store closes).
func (s *Store) FlushLater() { s.flushLater(false) }

// flushLater writes what waits; closing, it also stops what comes after from waiting (it is
// written at once, and not retried).
func (s *Store) flushLater(closing bool) {
	s.later.mu.Lock()
	s.stopLaterLocked()
	s.later.closed = s.later.closed || closing
	acks, records := s.takeLaterLocked()
	s.later.mu.Unlock()
	s.writeLater(acks, records)
	s.later.writing.Wait()
}

// armLaterLocked has what waits written in d, unless a put carries it first. A timer set
// already is left as it is: acks that keep coming without a put must not push the write back
// for ever (a worker draining the inbox after a restart acks without any put).
func (s *Store) armLaterLocked(d time.Duration) {
	if s.later.closed || s.later.armed {
		return
	}
	s.later.armed = true
	if d == laterDelay && s.later.wait > 0 {
		d = s.later.wait
	}
	if s.later.timer == nil {
		s.later.timer = time.AfterFunc(d, s.laterDue)
		return
	}
	s.later.timer.Reset(d)
}

// stopLaterLocked stops the timer: what waits is being written (or is to wait longer).
func (s *Store) stopLaterLocked() {
	if s.later.timer != nil {
		s.later.timer.Stop()
	}
	s.later.armed = false
}

// laterDue writes what waited laterDelay without a put to carry it.
func (s *Store) laterDue() {
	s.later.mu.Lock()
	s.later.armed = false
	acks, records := s.takeLaterLocked()
	if len(acks)+len(records) > 0 {
		s.later.writing.Add(1)
		defer s.later.writing.Done()
	}
	s.later.mu.Unlock()
	s.writeLater(acks, records)
}

// takeLaterLocked hands over what waits.
func (s *Store) takeLaterLocked() ([]laterAck, []store.OutboxEntry) {
	acks, records := s.later.acks, s.later.records
	s.later.acks, s.later.records = nil, nil
	return acks, records
}

// requeueLater puts back what a write could not deliver (Redis unreachable), to go with the
// next write.
func (s *Store) requeueLater(acks []laterAck, records []store.OutboxEntry) {
	if len(acks)+len(records) == 0 {
		return
	}
	s.later.mu.Lock()
	s.later.acks = append(acks, s.later.acks...)
	s.later.records = append(records, s.later.records...)
	s.stopLaterLocked() // not sooner than laterRetry: an outage is not hammered
	s.armLaterLocked(laterRetry)
	s.later.mu.Unlock()
}

// writeLater writes acks and records in one round trip.
func (s *Store) writeLater(acks []laterAck, records []store.OutboxEntry) {
	if len(acks)+len(records) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ac, rc []*redis.Cmd
	// A failed command's error is in its Cmd: finishLater sorts them out.
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ac, rc = s.queueLater(ctx, p, acks, records)
		return nil
	})
	s.finishLater(ctx, acks, records, ac, rc)
}

// queueLater adds the ack and record scripts to p.
func (s *Store) queueLater(ctx context.Context, p redis.Pipeliner, acks []laterAck, records []store.OutboxEntry) (ac, rc []*redis.Cmd) {
	ac = make([]*redis.Cmd, len(acks))
	for i, a := range acks {
		ac[i] = s.queueAck(ctx, p, a.id, a.now)
	}
	rc = make([]*redis.Cmd, len(records))
	for i, e := range records {
		rc[i] = s.queueRecord(ctx, p, e)
	}
	return ac, rc
}

// finishLater checks the acks and records written with ac and rc: those the server did not
// know the script of are written again (the scripts are loaded then); those Redis could not
// take wait for the next write; an id acked that the inbox does not hold is logged.
func (s *Store) finishLater(ctx context.Context, acks []laterAck, records []store.OutboxEntry, ac, rc []*redis.Cmd) {
	var againAcks, keepAcks []laterAck
	var againRecs, keepRecs []store.OutboxEntry
	for i, c := range ac {
		n, err := c.Int64()
		switch {
		case noScript(err):
			againAcks = append(againAcks, acks[i])
		case err != nil:
			keepAcks = append(keepAcks, acks[i])
		case n == -1:
			s.health.log.Warn("inbox ack: no such event", "event", acks[i].id)
		}
	}
	for i, c := range rc {
		switch err := c.Err(); {
		case noScript(err):
			againRecs = append(againRecs, records[i])
		case err != nil:
			keepRecs = append(keepRecs, records[i])
		}
	}
	for _, a := range againAcks { // rare: once after Redis lost its scripts (AckInbound loads it)
		if err := s.AckInbound(ctx, a.id, a.now); err != nil && community.ErrorCode(err) != community.ENotFound {
			keepAcks = append(keepAcks, a)
		}
	}
	if len(againRecs) > 0 {
		if err := s.RecordOutbox(ctx, againRecs...); err != nil {
			keepRecs = append(keepRecs, againRecs...)
		}
	}
	if len(keepAcks)+len(keepRecs) > 0 {
		s.health.log.Warn("redis: acks and records not written, kept for the next write",
			"acks", len(keepAcks), "records", len(keepRecs), "retry_in", laterRetry)
		s.requeueLater(keepAcks, keepRecs)
	}
}

// queueAck adds the ack of event id at now to p (the ackInbound script; it answers -1 for an id
// not in the inbox).
func (s *Store) queueAck(ctx context.Context, p redis.Pipeliner, id string, now time.Time) *redis.Cmd {
	keys, args := s.ackArgs(id, now)
	return ackInbound.EvalSha(ctx, p, keys, args...)
}
