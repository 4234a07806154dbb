package bot

import (
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
	Poll        time.Duration // default 200 ms (new entries wake it at once; this paces retries)
	MaxAttempts int           // default 12
	BaseBackoff time.Duration // default 250 ms, doubling, with jitter; a platform's Retry-After wins
	MaxBackoff  time.Duration // default 10 min
	SendTimeout time.Duration // default 15 s

	initOnce sync.Once
	wake     chan struct{}

	slotMu sync.Mutex
	slots  map[string]time.Time // limit key → the next free slot for an entry deferred by it
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
			d.Poll = 200 * time.Millisecond
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
	log := d.Log.With("outbox", e.ID, "platform", e.Platform, "chat", e.Chat, "attempt", e.Attempts+1)
	var o Outbound
	if err := json.Unmarshal(e.Payload, &o); err != nil {
		log.Error("undecodable outbox entry", "err", err)
		_ = d.Outbox.FailOutbox(ctx, e.ID, d.Owner, "undecodable: "+err.Error(), d.Now())
		return
	}
	p, ok := d.Platforms[e.Platform]
	if !ok {
		// Another replica may serve this platform; try again later rather than drop it.
		_ = d.Outbox.ReleaseOutbox(ctx, e.ID, d.Owner, d.Now().Add(time.Minute), "no sender for platform "+e.Platform, false)
		return
	}
	if lp, ok := p.(Limited); ok && d.Limiter != nil {
		lims := lp.Limits(o)
		wait, err := d.Limiter.Take(ctx, lims, d.Now())
		if err != nil {
			log.Warn("rate limiter unavailable", "err", err)
			wait = time.Second
		}
		if wait > 0 {
			_ = d.Outbox.ReleaseOutbox(ctx, e.ID, d.Owner, d.deferSlot(lims, d.Now(), wait), "", false)
			d.Wake()
			return
		}
	}
	sendCtx, cancelSend := context.WithTimeout(ctx, d.SendTimeout)
	sent, err := d.send(sendCtx, p, o)
	cancelSend()
	now := d.Now()
	if err == nil {
		if cerr := d.Outbox.CompleteOutbox(ctx, e.ID, d.Owner, sent.MessageID, now); cerr != nil {
			log.Warn("outbox complete failed; the lease will expire and the platform's idempotency key stops a resend", "err", cerr)
		}
		d.remember(ctx, o, sent, log)
		return
	}
	retry, after := retryable(err)
	if !retry || e.Attempts+1 >= d.MaxAttempts {
		log.Error("giving up on message", "err", err)
		_ = d.Outbox.FailOutbox(ctx, e.ID, d.Owner, err.Error(), now)
		return
	}
	delay := d.backoff(e.Attempts)
	if after > delay {
		delay = after
	}
	log.Warn("send failed, will retry", "in", delay.Round(time.Millisecond), "err", err)
	_ = d.Outbox.ReleaseOutbox(ctx, e.ID, d.Owner, now.Add(delay), err.Error(), true)
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

func (d *Dispatcher) remember(ctx context.Context, o Outbound, sent Sent, log *slog.Logger) {
	if o.Card == nil || o.Card.Key == "" || o.Update || sent.MessageID == "" || d.Refs == nil {
		return
	}
	if err := d.Refs.PutDoc(ctx, CollCardRef, CardRefID(o.Platform, o.Target(), o.Card.Key), []byte(sent.MessageID)); err != nil {
		log.Warn("card reference not saved", "err", err)
	}
	if err := d.Refs.PutDoc(ctx, CollMsgRef, MsgRefID(o.Platform, sent.MessageID), []byte(o.Card.Key)); err != nil {
		log.Warn("message reference not saved", "err", err)
	}
}

func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.BaseBackoff << min(attempts, 20)
	if b > d.MaxBackoff || b <= 0 {
		b = d.MaxBackoff
	}
	// Full jitter keeps replicas that failed together from retrying together.
	return b/2 + time.Duration(rand.Int64N(int64(b/2)+1))
}

// LocalLimiter is an in-process token-bucket limiter, exact for one replica.
type LocalLimiter struct {
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
		l.buckets[lim.Key] = b
	}
	if el := now.Sub(b.at); el > 0 && lim.Every > 0 {
		b.tokens = min(float64(lim.Burst), b.tokens+float64(el)/float64(lim.Every))
		b.at = now
	}
	return b
}
