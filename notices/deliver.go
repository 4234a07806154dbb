package notices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Pump enqueues the outbox entries of every confirmed notice that is not fully enqueued: the
// one just confirmed, or one whose enqueuing a crash interrupted.
func (n *Notices) Pump(ctx context.Context) error {
	n.init()
	open, err := n.Store.ListDocs(ctx, collOpen, "")
	if err != nil {
		return store.ErrUnavailable(err)
	}
	var errs []error
	for _, d := range open {
		id, _ := strconv.ParseInt(d.ID, 10, 64)
		nt, err := n.get(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if nt.Status == StatusSending {
			if err := n.enqueue(ctx, nt); err != nil {
				errs = append(errs, fmt.Errorf("enqueue %s: %w", nt.Label(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// enqueue puts one outbox entry per target group, in chunks, recording after each chunk how
// far it got. Entry ids are deterministic and Enqueue ignores ids already present, so
// resuming from the recorded count, or from an earlier one, adds nothing twice.
func (n *Notices) enqueue(ctx context.Context, nt *Notice) error {
	gs, err := n.targetGroups(ctx, nt.ID)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	byID := map[string]community.Group{}
	if nt.Enqueued < len(gs) {
		all, err := n.Store.ListGroups(ctx)
		if err != nil {
			return store.ErrUnavailable(err)
		}
		for _, g := range all {
			byID[g.ID] = g
		}
	}
	now := n.Now()
	card := NoticeCard(nt, now, counts{})
	outs := make([]bot.Outbound, 0, len(gs)-min(nt.Enqueued, len(gs)))
	for _, gid := range gs[min(nt.Enqueued, len(gs)):] {
		outs = append(outs, toGroup(byID, gid, bot.Outbound{ID: EntryID(nt.ID, gid), Card: &card, Batch: BatchID(nt.ID)}))
	}
	due := n.schedule(outs, now)
	for i := nt.Enqueued; i < len(gs); i += n.Chunk {
		end := min(i+n.Chunk, len(gs))
		entries := make([]store.OutboxEntry, 0, end-i)
		for j := i; j < end; j++ {
			k := j - nt.Enqueued
			e, err := bot.Entry(outs[k], now)
			if err != nil {
				return err
			}
			e.NotBefore = due[k]
			entries = append(entries, e)
		}
		if err := n.Store.Enqueue(ctx, entries...); err != nil {
			return store.ErrUnavailable(err)
		}
		if _, err := n.update(ctx, nt.ID, func(x *Notice) error {
			x.Enqueued = max(x.Enqueued, end)
			return nil
		}); err != nil {
			return err
		}
		if n.Wake != nil {
			n.Wake()
		}
	}
	nt, err = n.update(ctx, nt.ID, func(x *Notice) error {
		if x.Status == StatusSending {
			x.Status, x.SentAt = StatusSent, now
		}
		return nil
	})
	if err != nil {
		return err
	}
	n.Log.Info("notice enqueued", "notice", nt.ID, "groups", len(gs))
	return n.putRecent(ctx, nt)
}

// toGroup addresses o to group gid. A group gone from the directory since the draft is still
// tried by its id.
func toGroup(byID map[string]community.Group, gid string, o bot.Outbound) bot.Outbound {
	g, ok := byID[gid]
	if !ok {
		g.Platform, g.Chat = community.SplitID(gid)
	}
	if g.Platform == "" {
		g.Platform, _ = community.SplitID(gid)
	}
	o.Platform, o.ChatID = g.Platform, g.Chat
	return o
}

// schedule says when each of a broadcast's messages should be due. Each platform's messages
// are paced by its limits (pace), then spread evenly over the time the slowest platform
// needs: otherwise the faster platform's thousands of messages are all due at once and, with
// a few of them hanging until the send timeout, hold every dispatcher worker while the
// slower platform's messages, each due in its turn, wait. Spreading delays nothing past the
// broadcast's end.
func (n *Notices) schedule(outs []bot.Outbound, now time.Time) []time.Time {
	at := make([]time.Time, len(outs))
	byPlatform := map[string][]int{}
	end := now
	for i, o := range outs {
		at[i] = n.pace(o, now)
		byPlatform[o.Platform] = append(byPlatform[o.Platform], i)
		if at[i].After(end) {
			end = at[i]
		}
	}
	// The other platforms finish a third of the span early: their last messages' failures
	// and timeouts are then retried while the slowest platform is still sending, not after.
	span := end.Sub(now) * 2 / 3
	for _, idx := range byPlatform {
		for j, i := range idx {
			if even := now.Add(span * time.Duration(j) / time.Duration(len(idx))); even.After(at[i]) {
				at[i] = even
			}
		}
	}
	return at
}

// pace returns when o should be sent so that a broadcast keeps to its platform's limits:
// GCRA over every limit of o, with the state kept across broadcasts of this process. The
// dispatcher's limiter still decides; pacing only spares it deferring thousands of due
// entries again and again (each deferral a store write).
func (n *Notices) pace(o bot.Outbound, now time.Time) time.Time {
	if n.Limits == nil {
		return now
	}
	lims := n.Limits(o)
	for i := range lims {
		lims[i].Every = time.Duration(float64(lims[i].Every) / (1 - n.Headroom))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.plan) > 50_000 {
		for k, tat := range n.plan {
			if tat.Before(now) {
				delete(n.plan, k)
			}
		}
	}
	at := now
	for _, l := range lims {
		if l.Every <= 0 || l.Burst <= 0 {
			continue
		}
		tat := n.plan[l.Key]
		if tat.Before(now) {
			tat = now
		}
		if t := tat.Add(-time.Duration(l.Burst-1) * l.Every); t.After(at) {
			at = t
		}
	}
	for _, l := range lims {
		if l.Every <= 0 || l.Burst <= 0 {
			continue
		}
		tat := n.plan[l.Key]
		if tat.Before(at) {
			tat = at
		}
		n.plan[l.Key] = tat.Add(l.Every)
	}
	return at
}

// recentEntry marks a notice as something a bare 收到 (or, for a poll, a bare option) in one
// of its groups may refer to.
type recentEntry struct {
	Kind     Kind      `json:"kind"`
	At       time.Time `json:"at"`
	Deadline time.Time `json:"deadline,omitempty"`
}

func (n *Notices) putRecent(ctx context.Context, nt *Notice) error {
	raw, err := json.Marshal(recentEntry{Kind: nt.Kind, At: nt.ConfirmedAt, Deadline: nt.Deadline})
	if err != nil {
		return err
	}
	if err := n.Store.PutDoc(ctx, collRecent, paddedID(nt.ID), raw); err != nil {
		return store.ErrUnavailable(err)
	}
	return nil
}

// recent returns the notices of kind sent to group that a bare reply there may mean: notices
// confirmed within AckWindow, polls still open.
func (n *Notices) recent(ctx context.Context, kind Kind, group string, now time.Time) ([]int64, error) {
	docs, err := n.Store.ListDocs(ctx, collRecent, "")
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	var out []int64
	for _, d := range docs {
		var e recentEntry
		if json.Unmarshal(d.Value, &e) != nil || e.Kind != kind {
			continue
		}
		if kind == KindPoll && !now.Before(e.Deadline) || kind == KindNotice && now.Sub(e.At) > n.AckWindow {
			continue
		}
		id, _ := strconv.ParseInt(d.ID, 10, 64)
		ok, err := n.isTargetGroup(ctx, id, group)
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// pruneRecent forgets what no bare reply can mean any more.
func (n *Notices) pruneRecent(ctx context.Context, now time.Time) error {
	docs, err := n.Store.ListDocs(ctx, collRecent, "")
	if err != nil {
		return store.ErrUnavailable(err)
	}
	for _, d := range docs {
		var e recentEntry
		if json.Unmarshal(d.Value, &e) == nil && (now.Sub(e.At) <= n.AckWindow || now.Before(e.Deadline)) {
			continue
		}
		if err := n.Store.DeleteDoc(ctx, collRecent, d.ID); err != nil {
			return store.ErrUnavailable(err)
		}
	}
	return nil
}

// progress answers 通知进度 N: "已送达 812/1000，失败 0，排队 188" (a bare 进度 N reaches
// Numbered through the core). Only secretaries follow delivery.
func (n *Notices) progress(ctx context.Context, r *bot.Request, cmd Command) (bool, error) {
	if !r.Sender.Role.AtLeast(community.RoleSecretary) {
		return false, nil
	}
	nt, err := n.get(ctx, cmd.ID)
	if err != nil {
		return true, err
	}
	text, err := n.progressText(ctx, nt)
	if err != nil {
		return true, err
	}
	r.Reply(text)
	return true, nil
}

func (n *Notices) progressText(ctx context.Context, nt *Notice) (string, error) {
	switch nt.Status {
	case StatusDraft:
		return fmt.Sprintf("%s 还没有确认发送（发送“确认发送”）。", nt.Label()), nil
	case StatusCancelled:
		return fmt.Sprintf("%s 已取消，没有发送。", nt.Label()), nil
	}
	st, err := n.Store.OutboxStats(ctx, BatchID(nt.ID))
	if err != nil {
		return "", store.ErrUnavailable(err)
	}
	queued := max(nt.Groups-st.Sent-st.Failed, 0)
	s := fmt.Sprintf("📨 %s（%s）已送达 %d/%d，失败 %d，排队 %d", nt.Label(), nt.Subject(), st.Sent, nt.Groups, st.Failed, queued)
	if nt.Status == StatusSending {
		s += fmt.Sprintf("\n正在入队 %d/%d", nt.Enqueued, nt.Groups)
	}
	if st.Failed > 0 {
		s += fmt.Sprintf("\n失败的群可发送“导出 %d”查看原因。", nt.Number())
	}
	return s, nil
}
