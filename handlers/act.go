package handlers

import (
	"context"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// Act performs change c on item no for actor exactly as the chat command would, sent from the
// actor's private chat: the authority rule, the atomic transition, points, and every message
// the chat would send. It returns the answers meant for the actor (replies: the web console
// shows them on its page) and the other messages (the card updated in place in the item's
// group, the group told, people told privately), for the caller to enqueue.
func (h *Handlers) Act(ctx context.Context, actor community.Person, no int64, c community.Change, now time.Time) (replies []string, outs []bot.Outbound, err error) {
	return bot.AsPrivate(actor, now, func(r *bot.Request) error { return h.transition(ctx, r, no, c) })
}
