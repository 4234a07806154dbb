package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// Pipeline is the durable inbound path: Receive records each event in the store's inbox
// (deduping retries and replicas) and returns, so adapters ack fast; workers handle recorded
// events through the Engine and ack them. A crash after the platform's ack loses nothing: the
// event's lease runs out and a worker on any replica leases it from the inbox and handles it.
//
// Receive batches concurrent calls into one durable write (group commit), so a burst of events
// costs one fsync, not one each. That write also leases the new events to this replica, which
// hands them straight to its workers: an event costs the put and the ack, not a lease between.
// Workers lease from the inbox only what is due there: events whose owner died, and events
// recorded unleased because the workers' queue was full.
type Pipeline struct {
	Inbox   store.Inbox
	Engine  *Engine
	Owner   string // this replica's name, for leases
	Now     func() time.Time
	Log     *slog.Logger
	Workers int           // handlers (with DirectWorkers more); default 8. Sizes Queue and the inbox leases
	Lease   time.Duration // how long a handler may take before another replica retries; default 1 min
	Poll    time.Duration // how often to look for events with expired leases; default 1 s
	// MaxBatch bounds one group commit; default 256.
	MaxBatch int
	// Queue bounds the events recorded leased to this replica and waiting for a worker; default
	// 16 per worker. Beyond it, events are recorded unleased and leased from the inbox as
	// workers free up, so none waits in memory long enough for its lease to run out.
	Queue int
	// Metrics, if set, observes each event's receipt and handling.
	Metrics Metrics
	// Direct, if set, sends the replies of events this replica received and handles at once,
	// without the outbox (Dispatcher.sendNow), and acks each event only once its replies were
	// sent or enqueued: until then its inbox record is what keeps them. Events leased from the
	// inbox (handled before, perhaps in part) go through the outbox as always.
	Direct *Dispatcher
	// DirectMax bounds the events whose replies are being sent directly or wait for it; beyond
	// it, replies go through the outbox. Default 256.
	DirectMax int
	// DirectWorkers are more workers, for the sends: a worker that handled an event received
	// here sends its replies itself, so a slow platform holds up to Workers+DirectWorkers
	// events at once; default 32. Long-lived goroutines, not one per event: a send's deep call
	// stack grows a new goroutine's stack (docs/BENCHMARKS.md, "Where the time goes").
	DirectWorkers int
	// Writers bounds the inbox writes in flight at once; default 1. With more, a second write
	// starts only while one has been in flight longer than SlowWrite (default 1 ms): a stall
	// of the inbox (a Redis server descheduled a moment) then no longer holds the events that
	// arrive meanwhile for a whole write more, while at any other time one write carries the
	// group, which costs the least. For an inbox whose writes can overlap (ConcurrentInbox).
	Writers   int
	SlowWrite time.Duration

	once    sync.Once
	wake    chan struct{}
	started chan struct{}
	local   chan job      // events leased to this replica as they were recorded
	direct  chan struct{} // a token per event whose replies are being sent directly

	// Group commit (see Receive): mu guards the rest.
	mu       sync.Mutex
	queue    []*receiveReq // waiting for the next write
	writing  int           // inbox writes in flight, each led by a Receive (at most Writers)
	slow     int           // of those, the ones in flight longer than SlowWrite
	reserved int           // room in local promised to the writes in flight
	closing  bool          // Run is ending: no more events are taken
	idle     chan struct{} // closed by the last leader once closing (nil until then)
}

// directJob is an event whose replies are sent without the outbox (handleDirect).
type directJob struct {
	id      string
	until   time.Time // the event's lease
	entries []store.OutboxEntry
	outs    []Outbound
}

type receiveReq struct {
	entry store.InboundEntry
	msg   Message
	done  chan error // the write's result, or errLead
	fresh bool       // set before done: the event was new (not a duplicate)
	write *write     // set before errLead: the group this Receive is to write
}

// write is a group of received events taken from the queue to be written at once, and the
// room in local promised to it.
type write struct {
	batch []*receiveReq
	room  int
}

// ConcurrentInbox is an optional power of an inbox whose writes may overlap, each in its own
// round trip (store/redis): InboundWriters is how many the pipeline may have in flight at
// once (Pipeline.Writers).
type ConcurrentInbox interface {
	InboundWriters() int
}

// errLead tells a waiting Receive to write the next group.
var errLead = errors.New("bot: lead the next inbox write")

// job is an event for a worker: m is set when it came from Receive on this replica, so it
// needs no decoding.
type job struct {
	e store.InboundEntry
	m *Message
}

func (p *Pipeline) init() {
	p.once.Do(func() {
		if p.Workers <= 0 {
			p.Workers = 8
		}
		if p.Lease <= 0 {
			p.Lease = time.Minute
		}
		if p.Poll <= 0 {
			p.Poll = time.Second
		}
		if p.MaxBatch <= 0 {
			p.MaxBatch = 256
		}
		if p.Queue <= 0 {
			p.Queue = 16 * p.Workers
		}
		if p.DirectMax <= 0 {
			p.DirectMax = 256
		}
		if p.DirectWorkers <= 0 {
			p.DirectWorkers = 32
		}
		if p.Writers <= 0 {
			p.Writers = 1
		}
		if p.SlowWrite <= 0 {
			p.SlowWrite = time.Millisecond
		}
		p.direct = make(chan struct{}, p.DirectMax)
		p.wake = make(chan struct{}, 1)
		p.started = make(chan struct{})
		p.local = make(chan job, p.Queue)
	})
}

// Receive records m durably (or recognises it as a duplicate) and returns. Run must be running.
func (p *Pipeline) Receive(ctx context.Context, m Message) error {
	_, err := p.receive(ctx, m)
	return err
}

// receive is Receive, also reporting whether m was new.
func (p *Pipeline) receive(ctx context.Context, m Message) (fresh bool, err error) {
	p.init()
	if p.Metrics != nil {
		start := time.Now()
		defer func() { p.observeReceive(m.Platform, fresh, err, time.Since(start)) }()
	}
	if m.EventID == "" {
		return false, fmt.Errorf("message without event id from %s", m.Platform)
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("encode event %s: %w", m.Key(), err)
	}
	req := &receiveReq{entry: store.InboundEntry{ID: m.Key(), Payload: payload, Sender: m.UserID, Reserve: p.reserve(m)}, msg: m, done: make(chan error, 1)}
	// Group commit without a goroutine of its own: the first Receive to find no write running
	// writes every event waiting, then hands the lead, with the group that arrived meanwhile,
	// to the first of that group. A lone event is written by the goroutine that received it,
	// with no hand-offs; under load one hand-off serves a whole group. The wait is not cut
	// short by ctx: the write does not stop for it, and a designated leader must lead.
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return false, errShuttingDown
	}
	p.queue = append(p.queue, req)
	if p.writing == 0 || (p.writing < p.Writers && p.slow > 0) {
		p.writing++
		w := p.takeLocked()
		p.mu.Unlock()
		p.lead(w)
	} else {
		p.mu.Unlock()
		if err := <-req.done; err != errLead {
			return req.fresh, err
		}
		p.lead(req.write)
	}
	err = <-req.done
	return req.fresh, err
}

// takeLocked takes the next group (up to MaxBatch) from the queue, with the room in local
// free for it: only the writes in flight send to local, and workers only take from it
// meanwhile, so what is not promised to another write now is there after this one too.
func (p *Pipeline) takeLocked() *write {
	n := min(len(p.queue), p.MaxBatch)
	w := &write{batch: slices.Clone(p.queue[:n])}
	p.queue = slices.Delete(p.queue, 0, n)
	if p.Owner != "" {
		w.room = max(0, min(n, cap(p.local)-len(p.local)-p.reserved))
		p.reserved += w.room
	}
	return w
}

// handLocked hands the next group to the first of it, to write.
func (p *Pipeline) handLocked() {
	w := p.takeLocked()
	w.batch[0].write = w
	w.batch[0].done <- errLead // never blocks: done holds one, and nothing else was sent yet
}

var errShuttingDown = errors.New("shutting down")

// reserve is what the reply to m will be rate-limited by, for a Reserver to take with m's
// write: only for a message addressed to the bot (private, or @-mentioning it), which gets an
// answer there, when the Direct dispatcher's limiter is a Reserver and m's platform knows
// the limits on arrival (ReplyLimited). A reply that goes elsewhere, or a duplicate event,
// leaves its token taken and unused: the limits only ever hold back more, never less.
func (p *Pipeline) reserve(m Message) []Limit {
	if p.Direct == nil || m.Action != nil || !(m.Private || m.Mentioned) {
		return nil
	}
	if _, ok := p.Direct.Limiter.(Reserver); !ok {
		return nil
	}
	rl, ok := p.Direct.Platforms[m.Platform].(ReplyLimited)
	if !ok {
		return nil
	}
	return rl.ReplyLimits(replyTo(m))
}

// ReceiveTap is Receive for a card tap whose platform shows the tapper an answer in the
// response to the tap (Feishu's toast): it records m, then waits until ctx ends for this
// replica's worker to handle it, and returns what the handler said to the tapper through
// Request.Toast (joined by line breaks; "" when nothing). answered is false when the wait ran
// out first (the tap is still handled, and its toast sent as a private message) or m was a
// duplicate; the adapter then answers with a generic line.
func (p *Pipeline) ReceiveTap(ctx context.Context, m Message) (toast string, answered bool, err error) {
	p.init()
	key := m.Key()
	ch := p.Engine.taps.wait(key)
	fresh, err := p.receive(ctx, m)
	if err != nil || !fresh {
		p.Engine.taps.stop(key, ch)
		return "", false, err
	}
	select {
	case text := <-ch:
		return text, true, nil
	case <-ctx.Done():
		p.Engine.taps.stop(key, ch)
		select {
		case text := <-ch: // answered just as the wait ran out
			return text, true, nil
		default:
			return "", false, nil
		}
	}
}

// lead writes w, then hands the lead on to the events that arrived meanwhile, if any.
func (p *Pipeline) lead(w *write) {
	var st *stall
	if p.Writers > 1 {
		st = &stall{}
		st.timer = time.AfterFunc(p.SlowWrite, func() { p.stalled(st) })
	}
	p.commit(w.batch, w.room)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reserved -= w.room
	if st != nil {
		st.timer.Stop()
		st.over = true
		if st.slow {
			p.slow--
		}
	}
	// With another write in flight, the next group waits for that one unless it is slow:
	// the writes go back to one as soon as the inbox keeps up again.
	if len(p.queue) > 0 && (p.writing == 1 || p.slow > 0) {
		p.handLocked()
		return
	}
	p.writing--
	if p.writing == 0 && p.closing && p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
}

// stall follows one write against SlowWrite.
type stall struct {
	timer *time.Timer
	slow  bool // in flight longer than SlowWrite
	over  bool // done
}

// stalled marks a write in flight for SlowWrite as slow, and starts another (Writers allowing)
// for the events waiting behind it; those arriving later, while it stays slow, start one
// themselves (Receive).
func (p *Pipeline) stalled(st *stall) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.over {
		return
	}
	st.slow = true
	p.slow++
	if len(p.queue) > 0 && p.writing < p.Writers {
		p.writing++
		p.handLocked()
	}
}

// Run commits received events and handles them until ctx ends; then it finishes the events in
// hand (those this replica leased) and returns.
func (p *Pipeline) Run(ctx context.Context) error {
	p.init()
	if la, ok := p.Inbox.(LaterAcker); ok {
		defer la.FlushLater()
	}
	var wg sync.WaitGroup
	go func() { // once ctx ends: no new events, and p.local closes after the last write
		<-ctx.Done()
		p.mu.Lock()
		p.closing = true
		var idle chan struct{}
		if p.writing > 0 {
			idle = make(chan struct{})
			p.idle = idle
		}
		p.mu.Unlock()
		if idle != nil {
			<-idle
		}
		close(p.local)
	}()
	recovered := make(chan job)
	for i := 0; i < p.Workers+p.DirectWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local, rec := p.local, recovered
			for local != nil || rec != nil {
				select {
				case j, ok := <-local:
					if !ok {
						local = nil
						continue
					}
					p.handle(j)
				case j, ok := <-rec:
					if !ok {
						rec = nil
						continue
					}
					p.handle(j)
				}
			}
		}()
	}
	close(p.started)
	ticker := time.NewTicker(p.Poll)
	defer ticker.Stop()
	for ctx.Err() == nil {
		entries, err := p.Inbox.LeaseInbound(ctx, p.Owner, p.Workers*4, p.Now(), p.Lease)
		if err != nil && ctx.Err() == nil {
			p.Log.Warn("inbox lease failed", "err", err)
		}
		for _, e := range entries {
			recovered <- job{e: e}
		}
		if len(entries) == p.Workers*4 {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-ticker.C:
		}
	}
	close(recovered)
	wg.Wait()
	return nil
}

// put is the inbox write, a panic in it turned into its error: the lead must go on.
func (p *Pipeline) put(entries []store.InboundEntry, now time.Time) (fresh []bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in the inbox write: %v", r)
		}
	}()
	return p.Inbox.PutInboundBatch(context.Background(), entries, now)
}

// commit writes a group of received events, tells each Receive the result, and hands the new
// events to this replica's workers: up to room of them (promised by takeLocked); events
// beyond it are recorded unleased. Only a leader runs it.
func (p *Pipeline) commit(batch []*receiveReq, room int) {
	now := p.Now()
	until := now.Add(p.Lease)
	entries := make([]store.InboundEntry, len(batch))
	for i, r := range batch {
		entries[i] = r.entry
		if i < room {
			entries[i].LeaseOwner, entries[i].LeaseUntil = p.Owner, until
		}
	}
	// The write must finish even while shutting down: the callers are waiting to ack.
	fresh, err := p.put(entries, now)
	if err != nil {
		// Every Receive of the group answers it, so the platform retries those events: none
		// was acknowledged, and the inbox recorded none of them (its write is all or nothing).
		if ue := (*store.UnavailableError)(nil); !errors.As(err, &ue) {
			err = store.ErrUnavailable(err)
		}
		p.Log.Error("inbox write failed", "events", len(batch), "err", err)
	}
	if err == nil {
		unleased := false
		for i, e := range entries {
			switch {
			case !fresh[i]: // a duplicate: handled, or in hand, elsewhere
			case e.LeaseOwner == "":
				unleased = true
			default:
				e.Received, e.Attempts = now, 1
				p.local <- job{e: e, m: &batch[i].msg} // never blocks: see room
			}
		}
		if unleased {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
	for i, r := range batch {
		r.fresh = err == nil && fresh[i]
		r.done <- err
	}
}

func (p *Pipeline) handle(j job) {
	e := j.e
	if j.m != nil && !p.Now().Before(e.LeaseUntil) {
		// It waited for a worker past its lease: it is due in the inbox again, and whoever
		// leases it there (this replica included) handles it.
		p.Log.Warn("event's lease ran out before a worker was free", "event", e.ID)
		return
	}
	// Handling is not cut short by shutdown: Run waits for it, within the lease.
	ctx, cancel := context.WithTimeout(context.Background(), p.Lease)
	defer cancel()
	var m Message
	if j.m != nil {
		m = *j.m
		if p.Direct != nil && e.Attempts == 1 && p.handleDirect(ctx, e, m) {
			return
		}
	} else if err := json.Unmarshal(e.Payload, &m); err != nil {
		p.Log.Error("dropping undecodable event", "event", e.ID, "err", err)
		p.ack(ctx, e.ID)
		return
	}
	var start time.Time
	if p.Metrics != nil {
		start = time.Now()
		if j.m == nil && e.Attempts > 1 {
			p.Metrics.InboxTakeover(m.Platform)
		}
	}
	_, err := p.Engine.Handle(ctx, m)
	if p.Metrics != nil {
		outcome := OutcomeHandled
		if err != nil {
			outcome = OutcomeFailed
		}
		p.Metrics.Handled(m.Platform, outcome, time.Since(start))
	}
	if err != nil {
		// Left leased: it is tried again when the lease runs out.
		p.Log.Warn("event not handled, will retry", "event", e.ID, "attempt", e.Attempts, "err", err)
		return
	}
	p.ack(ctx, e.ID)
}

// observeReceive tells Metrics what became of a received event.
func (p *Pipeline) observeReceive(platform string, fresh bool, err error, d time.Duration) {
	outcome, reason := OutcomeAccepted, ""
	var ue *store.UnavailableError
	switch {
	case err == nil && !fresh:
		outcome = OutcomeDuplicate
	case err == nil:
	case errors.Is(err, errShuttingDown):
		outcome, reason = OutcomeRefused, RefusedShuttingDown
	case errors.As(err, &ue):
		outcome, reason = OutcomeRefused, RefusedStoreUnavailable
	default:
		outcome, reason = OutcomeRefused, RefusedInvalid
	}
	p.Metrics.Received(platform, outcome, reason, d)
}

// handleDirect handles an event this replica received and sends its replies without the
// outbox (see Direct), then acks the event once they were sent or enqueued. false: too many
// are being sent, handle it as usual.
func (p *Pipeline) handleDirect(ctx context.Context, e store.InboundEntry, m Message) bool {
	select {
	case p.direct <- struct{}{}:
	default:
		return false
	}
	j := directJob{id: e.ID, until: e.LeaseUntil}
	var start time.Time
	if p.Metrics != nil {
		start = time.Now()
	}
	_, err := p.Engine.handle(ctx, m, func(_ context.Context, _ Message, entries []store.OutboxEntry, outs []Outbound) error {
		j.entries, j.outs = append(j.entries, entries...), append(j.outs, outs...)
		return nil
	})
	if p.Metrics != nil {
		outcome := OutcomeHandled
		if err != nil {
			outcome = OutcomeFailed
		}
		p.Metrics.Handled(m.Platform, outcome, time.Since(start))
	}
	if err != nil || len(j.entries) == 0 {
		<-p.direct
		if err != nil {
			p.Log.Warn("event not handled, will retry", "event", e.ID, "attempt", e.Attempts, "err", err)
		} else {
			p.ack(ctx, e.ID)
		}
		return true
	}
	p.sendDirect(j)
	return true
}

// sendDirect sends an event's replies and acks the event.
func (p *Pipeline) sendDirect(j directJob) {
	defer func() { <-p.direct }()
	ctx, cancel := context.WithTimeout(context.Background(), p.Lease)
	defer cancel()
	var done []store.OutboxEntry
	var err error
	if p.Now().Before(j.until) {
		done, err = p.Direct.sendNow(ctx, j.entries, j.outs)
	} else {
		// It waited past its lease (a slow platform, a long queue): the event may be handled
		// again meanwhile, so the replies go through the outbox, which takes each id once.
		if err = p.Engine.Outbox.Enqueue(ctx, j.entries...); err == nil {
			p.Direct.Wake()
		}
	}
	if err != nil {
		// Left leased: it is handled again when the lease runs out, its replies under the
		// same ids (the platforms drop what was sent already).
		p.Log.Warn("replies neither sent nor queued, will retry", "event", j.id, "err", err)
	}
	p.ackWith(ctx, j.id, done)
}

// OutboxRecorder is an optional power of an outbox: keeping entries that were sent without it
// (Pipeline.Direct) as they ended, for the record (GetOutbox, OutboxStats), an id already
// there left alone. Nothing depends on them being durable before the event's ack.
type OutboxRecorder interface {
	RecordOutbox(ctx context.Context, entries ...store.OutboxEntry) error
}

// ack acks a handled event: later when the inbox can (LaterAcker), else at once.
func (p *Pipeline) ack(ctx context.Context, id string) { p.ackWith(ctx, id, nil) }

// ackWith acks a handled event and records the replies sent directly for it. The ack comes
// first: on bbolt an event acked while still in the journal is written handled by its
// checkpoint, once; acked after it, it is written twice (docs/BENCHMARKS.md, "Answered").
func (p *Pipeline) ackWith(ctx context.Context, id string, done []store.OutboxEntry) {
	if la, ok := p.Inbox.(LaterAcker); ok {
		la.AckInboundLater([]string{id}, p.Now())
		if len(done) > 0 {
			la.RecordOutboxLater(done...)
		}
		return
	}
	if err := p.Inbox.AckInbound(ctx, id, p.Now()); err != nil {
		p.Log.Warn("inbox ack failed; the event may be handled again", "event", id, "err", err)
	}
	p.record(ctx, done)
}

// record keeps directly sent replies in the outbox, when it can.
func (p *Pipeline) record(ctx context.Context, done []store.OutboxEntry) {
	if len(done) == 0 {
		return
	}
	r, ok := store.Find[OutboxRecorder](p.Inbox) // the backend, which Engine.Outbox may wrap
	if !ok {
		if r, ok = store.Find[OutboxRecorder](p.Engine.Outbox); !ok {
			return
		}
	}
	if err := r.RecordOutbox(ctx, done...); err != nil {
		p.Log.Warn("sent replies not recorded", "entries", len(done), "err", err)
	}
}

// LaterAcker is an optional power of an inbox whose acks cost no round trip: store/bolt acks
// an event still in its journal in memory, and writes the other acks and the records of the
// replies sent with its next commit, without the caller waiting; store/redis sends them with
// the next put, or in one round trip of their own within 50 ms. The worker that handled an
// event acks it at once: no batch, no timer, no goroutine waiting for a commit (at low rates
// each of those was a thread woken per event). A lost ack has the event handled again after a
// restart, which the pipeline allows.
type LaterAcker interface {
	AckInboundLater(ids []string, now time.Time)
	RecordOutboxLater(entries ...store.OutboxEntry)
	// FlushLater commits the acks and records still waiting (when the pipeline stops).
	FlushLater()
}
