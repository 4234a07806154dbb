package notices

import (
	"context"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// OutboxDelivery is where a notice's (or a poll's) message to one target group stands: its outbox
// entry (state, attempts, last error, the platform's message id), or Found false while it is
// not enqueued yet (a draft, or a broadcast still being enqueued).
type OutboxDelivery struct {
	Group string // platform-qualified group id
	Entry store.OutboxEntry
	Found bool
}

// Deliveries finds the notice or poll people call no (its number, or an old one it had before
// numbers were shared) and its deliveries, one per target group, in the order it was sent
// (for operators: the admin listener's /outbox?notice=N, `neighborbot outbox -notice N`).
func (n *Notices) Deliveries(ctx context.Context, no int64) (*Notice, []OutboxDelivery, error) {
	n.init()
	nt, err := n.byNumber(ctx, nil, no)
	if err != nil {
		return nil, nil, err
	}
	gs, err := n.targetGroups(ctx, nt.ID)
	if err != nil && community.ErrorCode(err) != community.ENotFound {
		return nil, nil, err
	}
	out := make([]OutboxDelivery, 0, len(gs))
	for _, g := range gs {
		e, err := n.Store.GetOutbox(ctx, EntryID(nt.ID, g))
		switch {
		case err == nil:
			out = append(out, OutboxDelivery{Group: g, Entry: e, Found: true})
		case community.ErrorCode(err) == community.ENotFound:
			out = append(out, OutboxDelivery{Group: g})
		default:
			return nil, nil, err
		}
	}
	return nt, out, nil
}
