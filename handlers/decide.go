package handlers

import (
	"context"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// PendingRegistrations lists the pending registration requests (报到) in actor's
// jurisdiction, oldest first: what 待审核 lists in the chat, by number.
func (h *Handlers) PendingRegistrations(ctx context.Context, actor community.Actor) ([]community.Registration, error) {
	pending, err := h.pendingRegistrations(ctx)
	if err != nil {
		return nil, err
	}
	out := pending[:0]
	for _, reg := range pending {
		if h.Auth().CheckPlace(actor, reg.Node) == nil {
			out = append(out, reg)
		}
	}
	return out, nil
}

// Decide approves (同意 N) or refuses (拒绝 N 原因) registration request no for actor exactly
// as the chat command would, sent from the actor's private chat: the same checks, the same
// change, and the same message to the person. Like Act, it returns the answers meant for the
// actor and the other messages, for the caller to enqueue.
func (h *Handlers) Decide(ctx context.Context, actor community.Person, no int64, approve bool, reason string, now time.Time) (replies []string, outs []bot.Outbound, err error) {
	cmd := Command{Verb: VerbRefuse, Item: no, Text: reason}
	fn := h.refuse
	if approve {
		cmd.Verb, cmd.Text, fn = VerbApprove, "", h.approve
	}
	return bot.AsPrivate(actor, now, func(r *bot.Request) error { return fn(ctx, r, cmd) })
}
