// Package scheduler runs the rhythm of a community (monthly theme days, quarterly joint meetings, daily stand-ups): recurring
// activities and meetings written as Chinese rules ("每月第一个周五 15:00"), announced to the
// bound groups with sign-up buttons and reminded before they start; and the deadline ladder
// of service items (reminder, 挂牌, 督办 up the tree, re-announcement, auto-close).
//
// The schedule logic is pure: ParseRule reads a rule, Next computes the next occurrence
// against a Calendar of statutory holidays and 调休 make-up working days. The Scheduler's
// Tick(ctx, now) evaluates everything due at now and returns when it next has work; Run drives
// Tick from robfig/cron every minute in Asia/Shanghai. Tests call Tick with a fake clock.
//
// Exactly once: every fire is claimed in the store before its messages are enqueued — an
// occurrence step by store.Once on "sched/<occurrence>/<step>", an item step by recording
// it on the item inside UpdateItem — and every message has a deterministic outbox id, so any
// number of replicas on one store send each message once. A replica that dies between the
// claim and the enqueue is covered by the others: a claimed step whose messages are not
// marked as enqueued a little later is enqueued again, which the deterministic ids make safe.
package scheduler
