package bot

import (
	"errors"
	"time"
)

// Metrics observes the inbound pipeline and the outbox dispatcher at a few points;
// internal/metrics implements it over Prometheus. Pipeline.Metrics and Dispatcher.Metrics
// nil observe nothing and cost nothing (not even a clock reading). Implementations must be
// cheap and must not block: they are called once or twice per event and per send.
type Metrics interface {
	// Received: Receive (or ReceiveTap) recorded an event (outcome OutcomeAccepted), found it
	// a duplicate, or refused it (OutcomeRefused, with a Refused* reason); d is how long the
	// durable write took, which is what the platform waits for its ack.
	Received(platform string, outcome Outcome, reason string, d time.Duration)
	// Handled: a worker finished an event (OutcomeHandled) or its handler failed and it is
	// left for a retry (OutcomeFailed); d is the time in the Engine.
	Handled(platform string, outcome Outcome, d time.Duration)
	// InboxTakeover: a worker leased an event from the inbox that an earlier lease had held
	// (its owner died, or its handler failed) and handles it again.
	InboxTakeover(platform string)
	// Sent: one send (or card update) ended: code is CodeOK, or the SendError's Code, or
	// CodeError when the error carried none; d is the call to the platform.
	Sent(platform, code string, d time.Duration)
	// Retry: a failed send was put back to be tried again after a backoff.
	Retry(platform string)
	// RateLimited: a send waited for a rate limit (its entry was deferred).
	RateLimited(platform string)
}

// Outcome is what became of an inbound event (Metrics).
type Outcome string

// Inbound outcomes.
const (
	OutcomeAccepted  Outcome = "accepted"  // recorded in the inbox; handled later
	OutcomeDuplicate Outcome = "duplicate" // seen before (a platform's retry, another replica)
	OutcomeRefused   Outcome = "refused"   // not recorded: the platform is told to retry
	OutcomeHandled   Outcome = "handled"   // handled and acknowledged
	OutcomeFailed    Outcome = "failed"    // its handler failed; tried again after its lease
)

// Reasons an event is refused (Metrics.Received with OutcomeRefused).
const (
	RefusedStoreUnavailable = "store_unavailable" // the inbox write failed (a full disk, Redis refusing writes)
	RefusedShuttingDown     = "shutting_down"     // the pipeline is stopping
	RefusedInvalid          = "invalid"           // no event id, or not encodable
	RefusedBusy             = "busy"              // the HTTP server's cap on requests in flight (internal/app)
)

// Send result codes besides the platforms' own (Metrics.Sent).
const (
	CodeOK    = "ok"
	CodeError = "error" // an error without a platform code: network, timeout
)

// sendCode is the result code of a send's err.
func sendCode(err error) string {
	if err == nil {
		return CodeOK
	}
	var se *SendError
	if errors.As(err, &se) && se.Code != "" {
		return se.Code
	}
	return CodeError
}
