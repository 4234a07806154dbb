package handlers

import (
	"context"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// NumberedFunc answers 查看 N or 进度 N for a number that names something other than an
// item (a notice, a poll, an activity): e is its entry in the store's number index.
type NumberedFunc func(ctx context.Context, r *bot.Request, e store.NumberEntry) error

// showNumbered answers 查看 N / 进度 N when no item has number no: numbers are shared
// (store.Numbers), so it may name a notice, a poll or an activity, each answered by the
// feature registered for its kind in Handlers.Numbered. The index is read only here, after
// the item lookup found nothing, so item commands cost no extra round trip.
func (h *Handlers) showNumbered(ctx context.Context, r *bot.Request, no int64) error {
	notFound := community.Errorf(community.ENotFound, "没有找到 #%d。", no)
	e, err := h.Store.LookupNumber(ctx, no)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return notFound
		}
		return store.ErrUnavailable(err)
	}
	fn := h.Numbered[e.Kind]
	if fn == nil {
		return notFound
	}
	return fn(ctx, r, e)
}

// AddNumbered makes fn answer 查看 N / 进度 N for numbers of the given kinds.
func (h *Handlers) AddNumbered(fn NumberedFunc, kinds ...string) {
	if h.Numbered == nil {
		h.Numbered = map[string]NumberedFunc{}
	}
	for _, k := range kinds {
		h.Numbered[k] = fn
	}
}
