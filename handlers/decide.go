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
	return h.asPrivate(actor, now, func(r *bot.Request) error { return fn(ctx, r, cmd) })
}

// asPrivate runs fn as a request from actor's private chat and splits what it sent into the
// answers meant for the actor and the rest.
func (h *Handlers) asPrivate(actor community.Person, now time.Time, fn func(r *bot.Request) error) (replies []string, outs []bot.Outbound, err error) {
	plat, _ := community.SplitID(actor.ID)
	r := &bot.Request{
		Msg:    bot.Message{Platform: plat, UserID: actor.ID, UserName: actor.Name, Private: true, At: now},
		Sender: actor, Now: now,
	}
	if err := fn(r); err != nil {
		return nil, nil, err
	}
	for _, o := range r.Outs() {
		if o.UserID == actor.ID && o.ChatID == "" && o.Card == nil && len(o.Mentions) == 0 {
			replies = append(replies, o.Text)
			continue
		}
		outs = append(outs, o)
	}
	return replies, outs, nil
}
