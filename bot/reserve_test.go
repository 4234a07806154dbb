package bot_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
)

// replyLimited is a platform that knows its replies' limits on arrival: one bucket per target.
type replyLimited struct{ flaky }

func (p *replyLimited) Limits(o bot.Outbound) []bot.Limit {
	return []bot.Limit{{Key: "to:" + o.Target(), Every: time.Second, Burst: 5}, {Key: "app", Every: time.Millisecond, Burst: 100}}
}
func (p *replyLimited) ReplyLimits(o bot.Outbound) []bot.Limit { return p.Limits(o) }

// reserver is a bot.Reserver that records what it was asked to take.
type reserver struct {
	bot.LocalLimiter
	mu    sync.Mutex
	takes [][]bot.Limit
}

func (r *reserver) ReservesWithPut() {}
func (r *reserver) Take(ctx context.Context, limits []bot.Limit, now time.Time) (time.Duration, error) {
	r.mu.Lock()
	r.takes = append(r.takes, slices.Clone(limits))
	r.mu.Unlock()
	return r.LocalLimiter.Take(ctx, limits, now)
}

// A message addressed to the bot (private, or @-mentioning it in a group) asks the inbox to
// take its reply's tokens with its put, and they are exactly the limits the reply is then
// sent under: a Reserver finds the tokens it holds by them. Messages that get no answer where
// they came from (a group message not addressed to the bot, a card tap) reserve nothing, and
// nothing is reserved for a limiter that is not a Reserver or a platform that does not know
// its replies' limits on arrival.
func TestPipelineReservesTheReply(t *testing.T) {
	cases := []struct {
		name    string
		m       func(bot.Message) bot.Message
		plain   bool // the platform is only Limited
		limiter bool // the limiter is a LocalLimiter
		want    bool
	}{
		{name: "private", m: func(m bot.Message) bot.Message { m.Private, m.ChatID, m.GroupID = true, "p2p", ""; return m }, want: true},
		{name: "mention in a group", m: func(m bot.Message) bot.Message { m.Mentioned = true; return m }, want: true},
		{name: "group chatter", m: func(m bot.Message) bot.Message { return m }},
		{name: "card tap", m: func(m bot.Message) bot.Message {
			m.Mentioned, m.Action = true, &bot.Action{Name: "claim", Item: 1}
			return m
		}},
		{name: "platform without ReplyLimits", plain: true, m: func(m bot.Message) bot.Message { m.Mentioned = true; return m }},
		{name: "limiter not a Reserver", limiter: true, m: func(m bot.Message) bot.Message { m.Mentioned = true; return m }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &bottest.Clock{}
			clock.Set(bottest.Start)
			st, _ := openStore(t, clock)
			var pf bot.Platform = &replyLimited{}
			if c.plain {
				pf = &flaky{}
			}
			res := &reserver{}
			var lim bot.RateLimiter = res
			if c.limiter {
				lim = &res.LocalLimiter
			}
			d := &bot.Dispatcher{Outbox: st, Platforms: map[string]bot.Platform{"local": pf}, Limiter: lim,
				Owner: "a", Now: clock.Now, Log: discard}
			inbox := &entriesInbox{Inbox: st}
			var handled sync.Map
			var calls atomic.Int64
			p := &bot.Pipeline{Inbox: inbox, Engine: countingEngine(st, clock, &handled, &calls), Owner: "a",
				Now: clock.Now, Log: discard, Direct: d}
			ctx, stop := runPipeline(p)
			defer stop()
			if err := p.Receive(ctx, c.m(msg("e1", "hi"))); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the event handled", 10*time.Second, func() bool { return calls.Load() == 1 })
			got := inbox.entry("local:e1").Reserve
			if !c.want {
				if got != nil {
					t.Fatalf("reserved %v, want nothing", got)
				}
				return
			}
			waitFor(t, "the reply's take", 10*time.Second, func() bool {
				res.mu.Lock()
				defer res.mu.Unlock()
				return len(res.takes) > 0
			})
			res.mu.Lock()
			defer res.mu.Unlock()
			if len(got) == 0 || !slices.Equal(got, res.takes[0]) {
				t.Fatalf("reserved %v; the reply took %v", got, res.takes[0])
			}
		})
	}
}
