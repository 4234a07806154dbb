package bot

import "context"

// A request with a body holds one of the HTTP server's in-flight slots (internal/app caps
// them) while it is read and its event handed over. A handler that then waits a long while
// for something else (the playground's ?wait=, for the bot's replies) gives its slot back
// with ReleaseSlot, so waiting requests do not crowd out platform callbacks.

type slotKey struct{}

// WithSlot returns ctx carrying release, which gives the request's slot back; it must be
// safe to call more than once.
func WithSlot(ctx context.Context, release func()) context.Context {
	return context.WithValue(ctx, slotKey{}, release)
}

// ReleaseSlot gives back the in-flight slot the request of ctx holds, if any.
func ReleaseSlot(ctx context.Context) {
	if release, ok := ctx.Value(slotKey{}).(func()); ok {
		release()
	}
}
