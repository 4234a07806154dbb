package bot

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// RateLimiter decides when a message may go: it takes a token from every limit at once or
// says how long to wait. LocalLimiter serves one process; a shared one serves replicas.
type RateLimiter interface {
	Take(ctx context.Context, limits []Limit, now time.Time) (wait time.Duration, err error)
}

// A Reserver is a RateLimiter whose store takes the tokens of an event's reply in the same
// round trip as the event's write (store.InboundEntry.Reserve), when the event is addressed
// to the bot and leased to the replica that received it; Take then finds them taken and asks
// the store nothing. store/redis's Limiter is one: the limits are shared by the replicas, and
// the reply would otherwise pay a round trip of its own. The Pipeline fills Reserve only for
// a Direct dispatcher's Reserver.
type Reserver interface {
	RateLimiter
	// ReservesWithPut marks the limiter; it does nothing.
	ReservesWithPut()
}

// CardRefs remembers which platform message shows which card, so a card can be updated in
// place and a reply to it can be traced back to its item.
type CardRefs interface {
	PutDoc(ctx context.Context, coll, id string, value []byte) error
	GetDoc(ctx context.Context, coll, id string) ([]byte, error)
}

// Doc collections for card references.
const (
	CollCardRef = "cardref" // platform|chat|card key → platform message id
	CollMsgRef  = "msgref"  // platform|message id → card key
	// CollItemImages keeps, by item number, the pictures a resident sent for it (JSON list of
	// {pic_url, media_id}); the Service Account channel writes it, a claimer's contact card
	// lists them.
	CollItemImages = "oa_images"
)

// CardRefID is the id under which a card's message id is kept.
func CardRefID(platform, chat, key string) string { return platform + "|" + chat + "|" + key }

// MsgRefID is the id under which a message's card key is kept.
func MsgRefID(platform, messageID string) string { return platform + "|" + messageID }

// Dispatcher sends the outbox: it leases due entries, waits for rate limits, sends through the
// entry's platform, and records the result; failures are retried with exponential backoff and
// jitter until MaxAttempts. Several dispatchers (replicas) can share one outbox.
type Dispatcher struct {
	Outbox    store.Outbox
	Refs      CardRefs
	Platforms map[string]Platform
	Limiter   RateLimiter
	Owner     string
	Now       func() time.Time
	Log       *slog.Logger
	// Refresh, if set, re-renders a card from current state just before an update is sent, so
	// a burst of updates of one card all show its latest state.
	Refresh func(ctx context.Context, key string) (*Card, error)

	Workers     int           // concurrent sends; default 16
	Lease       time.Duration // default 2 min
	Poll        time.Duration // default 100 ms (new entries, retries and deferrals wake it when due; this catches the rest)
	MaxAttempts int           // default 12
	BaseBackoff time.Duration // default 250 ms, doubling, with jitter (the first retry after a quarter to a half of it); a platform's Retry-After wins
	MaxBackoff  time.Duration // default 10 min
	SendTimeout time.Duration // default 15 s
	// WakeDelay is how long a wake waits before leasing, default 2 ms (negative: none). Entries
	// enqueued within it are leased in one write: WeCom answering 1,000 events/s leased each
	// answer in a commit of its own, 816–830 µs of CPU an event; with 2 ms, 714–744 µs, for
	// 1–1.3 ms more to the first send.
	WakeDelay time.Duration
	// Metrics, if set, observes each send, retry and rate-limit wait.
	Metrics Metrics

	initOnce sync.Once
	wake     chan struct{}

	slotMu sync.Mutex
	slots  map[string]time.Time // limit key → the next free slot for an entry deferred by it

	wakeMu  sync.Mutex
	wakes   timeHeap    // when entries this dispatcher released come due again
	timer   *time.Timer // wakes Run at wakes' earliest
	timerAt time.Time
}

func (d *Dispatcher) init() {
	d.initOnce.Do(func() {
		if d.Workers <= 0 {
			d.Workers = 16
		}
		if d.Lease <= 0 {
			d.Lease = 2 * time.Minute
		}
		if d.Poll <= 0 {
			d.Poll = 100 * time.Millisecond
		}
		if d.WakeDelay == 0 {
			d.WakeDelay = 2 * time.Millisecond
		}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = 12
		}
		if d.BaseBackoff <= 0 {
			d.BaseBackoff = 250 * time.Millisecond
		}
		if d.MaxBackoff <= 0 {
			d.MaxBackoff = 10 * time.Minute
		}
		if d.SendTimeout <= 0 {
			d.SendTimeout = 15 * time.Second
		}
		d.wake = make(chan struct{}, 1)
	})
}

// Wake makes the dispatcher look for due entries now.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// wakeAt makes Run look for due entries at t, when an entry this dispatcher released comes
// due again: a retry after a failure waits its backoff, a deferred entry its slot, not that
// and the rest of a poll. One timer serves, armed for the earliest time still ahead; past
// maxWakes times waiting (a backlog of thousands), the later ones are left to the poll.
func (d *Dispatcher) wakeAt(t time.Time) {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	if len(d.wakes) < maxWakes {
		heap.Push(&d.wakes, t)
	}
	d.arm()
}

// deferWakeGrain is the grid wakes for deferred entries are rounded up to.
const deferWakeGrain = 50 * time.Millisecond

// maxWakes bounds wakeAt's memory.
const maxWakes = 4096

// arm wakes Run for the times that have come (by now, or by the time the timer that fired
// was set for: a clock that does not move with the timer, a test's, must not re-arm it
// forever) and sets the timer for the next. wakeMu held.
func (d *Dispatcher) arm(fired ...time.Time) {
	now := d.Now()
	for _, t := range fired {
		if t.After(now) {
			now = t
		}
	}
	woke := false
	for len(d.wakes) > 0 && !d.wakes[0].After(now) {
		heap.Pop(&d.wakes)
		woke = true
	}
	if woke {
		d.Wake()
	}
	if len(d.wakes) == 0 || d.timer != nil && d.timerAt.Equal(d.wakes[0]) {
		return
	}
	if d.timer != nil {
		d.timer.Stop()
	}
	at := d.wakes[0]
	d.timerAt = at
	d.timer = time.AfterFunc(at.Sub(now), func() {
		d.wakeMu.Lock()
		defer d.wakeMu.Unlock()
		if d.timerAt.Equal(at) { // not replaced meanwhile by a timer for an earlier time
			d.timer = nil
		}
		d.arm(at)
	})
}

// timeHeap is a min-heap of times (container/heap).
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// Run sends until ctx ends, then finishes the sends in flight and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	work := make(chan store.OutboxEntry)
	var wg sync.WaitGroup
	for i := 0; i < d.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				d.deliver(e)
			}
		}()
	}
	ticker := time.NewTicker(d.Poll)
	defer ticker.Stop()
	batch := d.Workers * 4
	for ctx.Err() == nil {
		entries, err := d.Outbox.LeaseOutbox(ctx, d.Owner, batch, d.Now(), d.Lease)
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("outbox lease failed", "err", err)
		}
		for _, e := range entries {
			work <- e
		}
		if len(entries) == batch {
			continue
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
			if d.WakeDelay > 0 {
				time.Sleep(d.WakeDelay) // let the rest of a burst of enqueues come: one lease for them
			}
		case <-ticker.C:
		}
	}
	close(work)
	wg.Wait()
	return nil
}

// Flush sends every entry due now and returns when none is left or ctx ends. Tests and the
// playground's synchronous mode use it instead of Run.
func (d *Dispatcher) Flush(ctx context.Context) error {
	d.init()
	for {
		entries, err := d.Outbox.LeaseOutbox(ctx, d.Owner, 64, d.Now(), d.Lease)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		var wg sync.WaitGroup
		for _, e := range entries {
			wg.Add(1)
			go func() { defer wg.Done(); d.deliver(e) }()
		}
		wg.Wait()
	}
}

func (d *Dispatcher) deliver(e store.OutboxEntry) {
	// The store's bookkeeping gets its own deadline: a send that used up its whole timeout
	// must still be released for retry, not left to wait out its lease.
	ctx, cancel := context.WithTimeout(context.Background(), d.SendTimeout+storeTimeout)
	defer cancel()
	log := d.entryLog(e, e.Attempts+1)
	var o Outbound
	if err := json.Unmarshal(e.Payload, &o); err != nil {
		log().Error("undecodable outbox entry", "err", err)
		_ = d.Outbox.FailOutbox(ctx, e.ID, d.Owner, "undecodable: "+err.Error(), d.Now())
		return
	}
	p, ok := d.Platforms[e.Platform]
	if !ok {
		// Another replica may serve this platform; try again later rather than drop it.
		_ = d.Outbox.ReleaseOutbox(ctx, e.ID, d.Owner, d.Now().Add(time.Minute), "no sender for platform "+e.Platform, false)
		return
	}
	if at, held := d.limited(ctx, p, o, e.Platform, log); held {
		if err := d.Outbox.ReleaseOutbox(ctx, e.ID, d.Owner, at, "", false); err == nil {
			// Deferred entries come due one limit interval apart (deferSlot): woken for
			// on a coarser grid, a lease takes several at once instead of one each.
			d.wakeAt(at.Add(deferWakeGrain - 1).Truncate(deferWakeGrain))
		}
		return
	}
	sent, err := d.timedSend(ctx, p, o, e.Platform)
	now := d.Now()
	if err == nil {
		if cerr := d.Outbox.CompleteOutbox(ctx, e.ID, d.Owner, sent.MessageID, now); cerr != nil {
			log().Warn("outbox complete failed; the lease will expire and the platform's idempotency key stops a resend", "err", cerr)
		}
		d.remember(ctx, o, sent, log)
		return
	}
	retry, after := retryable(err)
	if !retry || e.Attempts+1 >= d.MaxAttempts {
		log().Error("giving up on message", "err", err)
		_ = d.Outbox.FailOutbox(ctx, e.ID, d.Owner, err.Error(), now)
		return
	}
	delay := d.backoff(e.Attempts)
	if after > delay {
		delay = after
	}
	log().Warn("send failed, will retry", "in", delay.Round(time.Millisecond), "err", err)
	if d.Metrics != nil {
		d.Metrics.Retry(e.Platform)
	}
	if err := d.Outbox.ReleaseOutbox(ctx, e.ID, d.Owner, now.Add(delay), err.Error(), true); err == nil {
		d.wakeAt(now.Add(delay))
	}
}

// lazyLog is an outbox entry's logger, made the first time it is needed: most sends log
// nothing, and a TextHandler formats a logger's attributes when it is made.
type lazyLog func() *slog.Logger

func (d *Dispatcher) entryLog(e store.OutboxEntry, attempt int) lazyLog {
	var l *slog.Logger
	id, platform, chat := e.ID, e.Platform, e.Chat
	return func() *slog.Logger {
		if l == nil {
			l = d.Log.With("outbox", id, "platform", platform, "chat", chat, "attempt", attempt)
		}
		return l
	}
}

// limited asks the rate limiter whether o may go to p now; held: not yet, at is its slot
// (deferSlot), and the wait is counted.
func (d *Dispatcher) limited(ctx context.Context, p Platform, o Outbound, platform string, log lazyLog) (at time.Time, held bool) {
	lp, ok := p.(Limited)
	if !ok || d.Limiter == nil {
		return time.Time{}, false
	}
	lims := lp.Limits(o)
	wait, err := d.Limiter.Take(ctx, lims, d.Now())
	if err != nil {
		log().Warn("rate limiter unavailable", "err", err)
		wait = time.Second
	}
	if wait <= 0 {
		return time.Time{}, false
	}
	if d.Metrics != nil {
		d.Metrics.RateLimited(platform)
	}
	return d.deferSlot(lims, d.Now(), wait), true
}

// timedSend sends o through p within SendTimeout, and tells Metrics how it went.
func (d *Dispatcher) timedSend(ctx context.Context, p Platform, o Outbound, platform string) (Sent, error) {
	var start time.Time
	if d.Metrics != nil {
		start = time.Now()
	}
	sendCtx, cancel := context.WithTimeout(ctx, d.SendTimeout)
	sent, err := d.send(sendCtx, p, o)
	cancel()
	if d.Metrics != nil {
		d.Metrics.Sent(platform, sendCode(err), time.Since(start))
	}
	return sent, err
}

// sendNow sends the replies of an event this replica has just received and handled, in
// order, without the outbox (Pipeline.Direct): no enqueue, lease or result is written for
// them, so an answered event costs no commits of its own. The event's inbox record stands in
// for their outbox entries until it is acked, and a crash before that has the event handled
// again, its replies rebuilt under the same ids, so the platforms' idempotency keys stop a
// second delivery as they stop a retried send's.
//
// outs, when not nil, are the messages entries encode (not decoded again).
//
// It returns the entries that ended here (sent, or failed for good) for the record. An entry
// the rate limits hold back, or whose send failed but may be retried, is enqueued with the
// entries after it into the same chat (durably, before this returns) and sent from the outbox
// as any other; entries to other chats go on. err is set only when that enqueue failed: the
// event must then be handled again.
func (d *Dispatcher) sendNow(ctx context.Context, entries []store.OutboxEntry, outs []Outbound) (done []store.OutboxEntry, err error) {
	d.init()
	var rest []store.OutboxEntry
	held := map[string]time.Time{} // chat → when the reply held back there may go
	hold := func(e store.OutboxEntry, at time.Time) {
		if cur, ok := held[e.Chat]; !ok || at.After(cur) {
			held[e.Chat] = at
		}
		if e.NotBefore.Before(held[e.Chat]) {
			e.NotBefore = held[e.Chat]
		}
		rest = append(rest, e)
	}
	for i, e := range entries {
		if _, ok := held[e.Chat]; ok {
			hold(e, e.NotBefore) // behind a reply held back in its chat, in order
			continue
		}
		log := d.entryLog(e, 1)
		var o Outbound
		if i < len(outs) {
			o = outs[i]
		} else if err := json.Unmarshal(e.Payload, &o); err != nil {
			log().Error("undecodable outbox entry", "err", err)
			e.Status, e.LastError = store.OutboxFailed, "undecodable: "+err.Error()
			done = append(done, e)
			continue
		}
		p, ok := d.Platforms[e.Platform]
		if !ok || e.NotBefore.After(d.Now()) {
			hold(e, e.NotBefore) // another replica may serve it; or it is not due
			continue
		}
		if at, held := d.limited(ctx, p, o, e.Platform, log); held {
			hold(e, at)
			continue
		}
		sent, err := d.timedSend(ctx, p, o, e.Platform)
		now := d.Now()
		e.Attempts = 1
		if err == nil {
			e.Status, e.Result, e.SentAt = store.OutboxSent, sent.MessageID, now
			done = append(done, e)
			d.remember(ctx, o, sent, log)
			continue
		}
		if retry, after := retryable(err); retry {
			delay := max(d.backoff(0), after)
			log().Warn("send failed, will retry", "in", delay.Round(time.Millisecond), "err", err)
			if d.Metrics != nil {
				d.Metrics.Retry(e.Platform)
			}
			hold(e, now.Add(delay))
			continue
		}
		log().Error("giving up on message", "err", err)
		e.Status, e.LastError = store.OutboxFailed, err.Error()
		done = append(done, e)
	}
	if len(rest) == 0 {
		return done, nil
	}
	if err := d.Outbox.Enqueue(ctx, rest...); err != nil {
		return nil, err
	}
	for _, at := range held {
		d.wakeAt(at)
	}
	return done, nil
}

// deferSlot is when an entry the limiter refused (wait) comes due again. Entries deferred by
// one limit key get successive slots, one Every apart, rather than all now+wait: the outbox
// leases the oldest due entries first, so a backlog that all came due again at once would
// win every lease and starve other platforms' and chats' messages, and would be leased and
// deferred again and again. Spaced, a backlog comes due at its own rate and the lease reaches
// everything else in between.
//
// The slot is the latest of now+wait and each limit's next free slot; only the limits that
// set it (the binding ones) move on by their Every, so one chat's backlog does not push the
// app-wide limit it shares with other chats into the future. The slots are hints: the
// limiter decides again when the entry comes due, and a slot in the past starts afresh.
func (d *Dispatcher) deferSlot(limits []Limit, now time.Time, wait time.Duration) time.Time {
	t := now.Add(wait)
	d.slotMu.Lock()
	defer d.slotMu.Unlock()
	if d.slots == nil {
		d.slots = map[string]time.Time{}
	}
	for _, l := range limits {
		if s := d.slots[l.Key]; s.After(t) {
			t = s
		}
	}
	for _, l := range limits {
		if s, ok := d.slots[l.Key]; l.Every > 0 && (!ok || !s.After(now.Add(wait)) || s.Equal(t)) {
			d.slots[l.Key] = t.Add(l.Every)
		}
	}
	if len(d.slots) > maxSlotKeys {
		for k, s := range d.slots {
			if !s.After(now) {
				delete(d.slots, k)
			}
		}
	}
	return t
}

// maxSlotKeys bounds deferSlot's memory: past it, keys whose slot has passed are forgotten.
const maxSlotKeys = 1024

var errNoCardYet = errors.New("the card to update has not been sent yet")

// storeTimeout bounds the outbox bookkeeping around one send.
const storeTimeout = 5 * time.Second

func (d *Dispatcher) send(ctx context.Context, p Platform, o Outbound) (Sent, error) {
	if o.Update && o.Card != nil {
		if d.Refresh != nil {
			c, err := d.Refresh(ctx, o.Card.Key)
			if err != nil && community.ErrorCode(err) != community.ENotFound {
				return Sent{}, err
			}
			if c != nil {
				o.Card = c
			}
		}
		if cu, ok := p.(CardUpdater); ok && d.Refs != nil {
			raw, err := d.Refs.GetDoc(ctx, CollCardRef, CardRefID(o.Platform, o.Target(), o.Card.Key))
			if err != nil {
				if community.ErrorCode(err) == community.ENotFound {
					return Sent{}, Temporary("no_card", 0, errNoCardYet)
				}
				return Sent{}, err
			}
			return Sent{MessageID: string(raw)}, cu.UpdateCard(ctx, string(raw), o)
		}
		o.Update = false // no in-place update on this platform: send the new state
	}
	return p.Send(ctx, o)
}

func (d *Dispatcher) remember(ctx context.Context, o Outbound, sent Sent, log lazyLog) {
	if o.Card == nil || o.Card.Key == "" || o.Update || sent.MessageID == "" || d.Refs == nil {
		return
	}
	if err := d.Refs.PutDoc(ctx, CollCardRef, CardRefID(o.Platform, o.Target(), o.Card.Key), []byte(sent.MessageID)); err != nil {
		log().Warn("card reference not saved", "err", err)
	}
	if err := d.Refs.PutDoc(ctx, CollMsgRef, MsgRefID(o.Platform, sent.MessageID), []byte(o.Card.Key)); err != nil {
		log().Warn("message reference not saved", "err", err)
	}
}

// backoff is the wait before the retry that follows attempts+1 failed attempts: BaseBackoff
// doubling, each drawn from its upper half. The first retry comes sooner, after a quarter to
// a half of BaseBackoff: most failures are one-off (a 5xx, a dropped connection), and in a
// broadcast a message's retry is what keeps the last messages from trailing the rest; a
// platform that asks for a pause says so with Retry-After, which wins.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.BaseBackoff << min(attempts, 20)
	if attempts == 0 {
		b = d.BaseBackoff / 2
	}
	if b > d.MaxBackoff || b <= 0 {
		b = d.MaxBackoff
	}
	// Full jitter keeps replicas that failed together from retrying together.
	return b/2 + time.Duration(rand.Int64N(int64(b/2)+1))
}

// LocalLimiter is an in-process token-bucket limiter, exact for one replica.
//
// A sending process cannot know what a process before it sent: one killed a moment ago may
// have been sending at a limit's full rate, which the platform still counts. Since says so:
// when it is set (to the process's start), each limit's bucket starts at Since as if the
// last Recent before it had been spent sending at the limit's rate (Recent/Every tokens
// gone, at most the whole burst), and holds, when first asked for, what it has earned since.
// Recent defaults to a second: a broadcast keeps an app-wide limit such as Feishu's 50/s
// (and a chat's 5/s) busy to the end, which a restart must not exceed; a WeCom robot's
// 20/min, one message per robot in a broadcast, keeps nearly all its burst. The zero Since
// starts every bucket full: for a limiter that knows nothing was sent before it (a
// platform's own, a test's).
type LocalLimiter struct {
	Since  time.Time
	Recent time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Take implements RateLimiter: all limits' tokens are taken together or none.
func (l *LocalLimiter) Take(_ context.Context, limits []Limit, now time.Time) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	var wait time.Duration
	for _, lim := range limits {
		b := l.refill(lim, now)
		if b.tokens < 1 {
			w := time.Duration((1 - b.tokens) * float64(lim.Every))
			if w > wait {
				wait = w
			}
		}
	}
	if wait > 0 {
		return wait, nil
	}
	for _, lim := range limits {
		l.buckets[lim.Key].tokens--
	}
	return 0, nil
}

func (l *LocalLimiter) refill(lim Limit, now time.Time) *bucket {
	b, ok := l.buckets[lim.Key]
	if !ok {
		b = &bucket{tokens: float64(lim.Burst), at: now}
		if !l.Since.IsZero() && lim.Every > 0 {
			recent := cmp.Or(l.Recent, time.Second) // spent sending before Since (see LocalLimiter)
			b.tokens, b.at = max(0, float64(lim.Burst)-float64(recent)/float64(lim.Every)), l.Since
		}
		l.buckets[lim.Key] = b
	}
	if el := now.Sub(b.at); el > 0 && lim.Every > 0 {
		b.tokens = min(float64(lim.Burst), b.tokens+float64(el)/float64(lim.Every))
		b.at = now
	}
	return b
}
