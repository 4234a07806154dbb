package notices

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// ackText handles 收到 [N]. Which notice: the number if given; the card the message replies
// to; else the one notice sent to this group within AckWindow. With none, 收到 is chat.
func (n *Notices) ackText(ctx context.Context, r *bot.Request, cmd Command) (bool, error) {
	if r.Group.ID == "" {
		if cmd.ID > 0 {
			r.Reply("请在收到通知的群里回复“收到”。")
			return true, nil
		}
		return false, nil
	}
	id, via := cmd.ID, "text"
	if id == 0 {
		ref, card, err := n.replyRef(ctx, r)
		if err != nil {
			return true, err
		}
		if card && ref == 0 {
			return false, nil // 收到 to an item's card: not about a notice
		}
		if ref > 0 {
			id, via = ref, "reply"
		}
	}
	if id == 0 {
		ids, err := n.recent(ctx, KindNotice, r.Group.ID, r.Now)
		if err != nil {
			return true, err
		}
		switch len(ids) {
		case 0:
			return false, nil
		case 1:
			id = ids[0]
		default:
			strs := make([]string, len(ids))
			for i, x := range ids {
				nt, err := n.get(ctx, x)
				if err != nil {
					return true, err
				}
				strs[i] = "收到 " + strconv.FormatInt(nt.Number(), 10)
			}
			r.Replyf("最近有%d条通知，请回复对应通知卡片“收到”，或发送：%s", len(ids), strings.Join(strs, " / "))
			return true, nil
		}
	}
	nt, err := n.get(ctx, id)
	if err != nil {
		if cmd.ID == 0 && community.ErrorCode(err) == community.ENotFound {
			return false, nil
		}
		return true, err
	}
	return true, n.ack(ctx, r, nt, via, cmd.ID > 0)
}

// replyRef is the notice whose card r replies to, or 0; card reports whether r replies to
// any card (a notice's or another's). The Mux looked the card up (Command.ReplyKey).
func (n *Notices) replyRef(_ context.Context, r *bot.Request) (id int64, card bool, err error) {
	key := r.Command().ReplyKey
	if key == "" {
		return 0, false, nil
	}
	return IDFromCardKey(key), true, nil
}

// ack records r's sender's receipt of nt in r's group; the first one counts.
func (n *Notices) ack(ctx context.Context, r *bot.Request, nt *Notice, via string, explicit bool) error {
	gid, err := n.tapGroup(ctx, r, nt)
	if err != nil {
		return err
	}
	if gid == "" {
		r.Reply("请在收到通知的群里回复“收到”。")
		return nil
	}
	if nt.Status != StatusSending && nt.Status != StatusSent {
		return community.Errorf(community.EConflict, "%s 没有发出。", nt.Label())
	}
	ok, err := n.isTargetGroup(ctx, nt.ID, gid)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if !ok {
		switch {
		case r.Msg.Action != nil:
			r.Toast(fmt.Sprintf("本群不在 %s 的发送范围内。", nt.Label()))
		case explicit:
			r.Replyf("本群不在 %s 的发送范围内。", nt.Label())
		}
		return nil
	}
	rec := Receipt{Notice: nt.ID, Group: gid, Person: r.Sender.ID, Name: r.Sender.Name, At: r.Now, Via: via}
	first := false
	_, err = n.Store.UpdateDoc(ctx, collAcks, ackID(nt.ID, gid, r.Sender.ID), func(old []byte) ([]byte, error) {
		first = old == nil
		if old != nil {
			return old, nil
		}
		return json.Marshal(rec)
	})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if first {
		// The card counts people, as 回执 does: a receipt in a second group is not another.
		person := false
		_, err := n.Store.UpdateDoc(ctx, collAckers, ackerID(nt.ID, r.Sender.ID), func(old []byte) ([]byte, error) {
			person = old == nil
			return []byte("1"), nil
		})
		if err != nil {
			return store.ErrUnavailable(err)
		}
		if person {
			n.count(ctx, nt.ID, func(c *counts) { c.Acks++ })
		}
		n.touchCard(r, nt, gid)
	}
	switch {
	case r.Msg.Action != nil:
		r.Toast("已收到，谢谢")
	case explicit:
		r.Replyf("✅ 已记录您对 %s 的回执。", nt.Label())
	}
	return nil
}

// tapGroup is the group of r: the group it was said in, or for a tap that arrives privately
// (WeCom sends a group's card to each member) the target group on r's platform whose card
// was tapped; "" when none.
func (n *Notices) tapGroup(ctx context.Context, r *bot.Request, nt *Notice) (string, error) {
	a := r.Msg.Action
	if r.Group.ID != "" || a == nil || a.MessageID == "" {
		return r.Group.ID, nil
	}
	gids, err := n.targetGroups(ctx, nt.ID)
	if err != nil {
		return "", store.ErrUnavailable(err)
	}
	const maxLookups = 500
	looked := 0
	for _, gid := range gids {
		plat, chat := community.SplitID(gid)
		if plat != r.Msg.Platform {
			continue
		}
		if looked++; looked > maxLookups {
			break
		}
		raw, err := n.Store.GetDoc(ctx, bot.CollCardRef, bot.CardRefID(plat, chat, CardKey(nt.ID)))
		switch {
		case err == nil && string(raw) == a.MessageID:
			return gid, nil
		case err != nil && community.ErrorCode(err) != community.ENotFound:
			return "", store.ErrUnavailable(err)
		}
	}
	return "", nil
}

// counts are a notice's counters shown on its card.
type counts struct {
	Acks   int `json:"acks"`
	Voters int `json:"voters"`
}

func (n *Notices) count(ctx context.Context, id int64, fn func(c *counts)) {
	_, err := n.Store.UpdateDoc(ctx, collCounts, docID(id), func(old []byte) ([]byte, error) {
		var c counts
		if old != nil {
			_ = json.Unmarshal(old, &c)
		}
		fn(&c)
		return json.Marshal(c)
	})
	if err != nil {
		n.Log.Warn("notice counters not updated", "notice", id, "err", err)
	}
}

func (n *Notices) counts(ctx context.Context, id int64) counts {
	var c counts
	if raw, err := n.Store.GetDoc(ctx, collCounts, docID(id)); err == nil {
		_ = json.Unmarshal(raw, &c)
	}
	return c
}

// Card counters are refreshed in windows of cardWindow: the first receipt or vote of a window
// enqueues one update of the group's card (its outbox id names the window), due cardGrace
// after the window ends and rendered when sent (RefreshCard), so it shows every receipt of
// the window, and a burst costs one update per card every cardWindow: far below Feishu's 5
// updates a second per message. The grace covers a handler still writing its counter when
// the window ends. A receipt is on the card within cardWindow+cardGrace (3 s).
const (
	cardWindow = 2 * time.Second
	cardGrace  = time.Second
)

// touchCard refreshes the counters on nt's card in r's group, coalesced (see cardWindow).
// Only where cards update in place.
func (n *Notices) touchCard(r *bot.Request, nt *Notice, gid string) {
	plat, chat := community.SplitID(gid)
	if n.CanUpdate == nil || gid == "" || !n.CanUpdate(plat) {
		return
	}
	c := NoticeCard(nt, r.Now, counts{})
	window := r.Now.UnixNano() / int64(cardWindow)
	end := time.Unix(0, (window+1)*int64(cardWindow)).In(r.Now.Location())
	r.Send(bot.Outbound{
		ID: EntryID(nt.ID, gid) + ":card:" + strconv.FormatInt(window, 10), Platform: plat,
		ChatID: chat, Card: &c, Update: true, NotBefore: end.Add(cardGrace),
	})
}

// RefreshCard wraps the dispatcher's Refresh: notice cards are rendered here with their
// current counters, other cards by next.
func (n *Notices) RefreshCard(next func(ctx context.Context, key string) (*bot.Card, error)) func(ctx context.Context, key string) (*bot.Card, error) {
	return func(ctx context.Context, key string) (*bot.Card, error) {
		id := IDFromCardKey(key)
		if id == 0 {
			if next == nil {
				return nil, nil
			}
			return next(ctx, key)
		}
		n.init()
		nt, err := n.get(ctx, id)
		if err != nil {
			return nil, err
		}
		c := NoticeCard(nt, n.Now(), n.counts(ctx, id))
		return &c, nil
	}
}

// groupReport is one target group's delivery and receipts.
type groupReport struct {
	Group    community.Group
	Entry    store.OutboxEntry // zero when not enqueued
	Queued   bool              // an outbox entry exists
	Known    []community.Person
	Acks     []Receipt
	Missing  []community.Person // known, not acknowledged in any group
	KnownAck int                // known and acknowledged (in any group)
}

// outsiders counts the receipts in this group from people not on its node's list.
func (g *groupReport) outsiders() int {
	n := 0
	for _, a := range g.Acks {
		if !slices.ContainsFunc(g.Known, func(p community.Person) bool { return p.ID == a.Person }) {
			n++
		}
	}
	return n
}

// rate is the share of known members who acknowledged; with none known, 1 when anyone did.
func (g *groupReport) rate() float64 {
	if len(g.Known) == 0 {
		if len(g.Acks) > 0 {
			return 1
		}
		return 0
	}
	return float64(g.KnownAck) / float64(len(g.Known))
}

func (g *groupReport) status() string {
	switch {
	case !g.Queued:
		return "未入队"
	case g.Entry.Status == store.OutboxSent:
		return "已送达"
	case g.Entry.Status == store.OutboxFailed:
		return "失败"
	}
	return "排队"
}

// report gathers, per target group in the frozen order, its delivery, its known members
// (registered persons whose node is under the group's node) and their receipts.
func (n *Notices) report(ctx context.Context, nt *Notice) ([]*groupReport, error) {
	gids, err := n.targetGroups(ctx, nt.ID)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	groups, err := n.Store.ListGroups(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	byID := map[string]community.Group{}
	for _, g := range groups {
		byID[g.ID] = g
	}
	persons, err := n.Store.ListPersons(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	byNode := map[string][]community.Person{}
	for _, p := range persons {
		if p.Node != "" {
			byNode[p.Node] = append(byNode[p.Node], p)
		}
	}
	acks, err := n.Store.ListDocs(ctx, collAcks, ackPrefix(nt.ID))
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	ackBy := map[string][]Receipt{}
	acked := map[string]bool{} // in any group: whoever has read the notice has read it
	for _, d := range acks {
		var rc Receipt
		if json.Unmarshal(d.Value, &rc) == nil {
			ackBy[rc.Group] = append(ackBy[rc.Group], rc)
			acked[rc.Person] = true
		}
	}
	out := make([]*groupReport, 0, len(gids))
	for i, gid := range gids {
		g, ok := byID[gid]
		if !ok {
			g.ID = gid
			g.Platform, g.Chat = community.SplitID(gid)
		}
		gr := &groupReport{Group: g, Acks: ackBy[gid]}
		if i < nt.Enqueued || nt.Status == StatusSent {
			e, err := n.Store.GetOutbox(ctx, EntryID(nt.ID, gid))
			switch {
			case err == nil:
				gr.Entry, gr.Queued = e, true
			case community.ErrorCode(err) != community.ENotFound:
				return nil, store.ErrUnavailable(err)
			}
		}
		if g.Node != "" {
			nodes := []string{g.Node}
			if n.Tree != nil {
				nodes = nodes[:0]
				for _, node := range n.Tree.Subtree(g.Node) {
					nodes = append(nodes, node.ID)
				}
			}
			for _, node := range nodes {
				gr.Known = append(gr.Known, byNode[node]...)
			}
		}
		for _, p := range gr.Known {
			if acked[p.ID] {
				gr.KnownAck++
			} else {
				gr.Missing = append(gr.Missing, p)
			}
		}
		slices.SortFunc(gr.Acks, func(a, b Receipt) int { return a.At.Compare(b.At) })
		out = append(out, gr)
	}
	return out, nil
}

// fewestFirst orders groups by receipt rate, then count, then id.
func fewestFirst(rs []*groupReport) []*groupReport {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b *groupReport) int {
		return cmp.Or(cmp.Compare(a.rate(), b.rate()), cmp.Compare(len(a.Acks), len(b.Acks)), strings.Compare(a.Group.ID, b.Group.ID))
	})
	return out
}

// receipts answers 回执 N: the totals, then the groups with the fewest receipts, each with
// who of its known members has not acknowledged yet.
func (n *Notices) receipts(ctx context.Context, r *bot.Request, id int64) error {
	nt, err := n.get(ctx, id)
	if err != nil {
		return err
	}
	if nt.Status == StatusDraft || nt.Status == StatusCancelled {
		return community.Errorf(community.EConflict, "%s 没有发出，还没有回执。", nt.Label())
	}
	acc, err := n.accessOf(ctx, r.Sender, nt)
	if err != nil {
		return err
	}
	if !acc.full && len(acc.groups) == 0 {
		return community.Errorf(community.EForbidden, "%s 是 %s 发的，没有发到您辖区（%s）的群，您看不到它的回执。", nt.Label(), nt.AuthorName, n.nodeName(acc.scope))
	}
	rs, err := n.report(ctx, nt)
	if err != nil {
		return err
	}
	if !acc.full {
		rs = slices.DeleteFunc(rs, func(g *groupReport) bool { return !acc.sees(g.Group.ID) })
	}
	// Totals count people, once however many of the groups they are in.
	ackers, known, knownAcked := map[string]bool{}, map[string]bool{}, map[string]bool{}
	sent, failed := 0, 0
	for _, g := range rs {
		for _, a := range g.Acks {
			ackers[a.Person] = true
		}
		for _, p := range g.Known {
			known[p.ID] = true
		}
	}
	for id := range known {
		if ackers[id] {
			knownAcked[id] = true
		}
	}
	for _, g := range rs {
		switch g.status() {
		case "已送达":
			sent++
		case "失败":
			failed++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "📋 %s（%s）回执\n已回执 %d 人；登记在册 %d 人中 %d 人已回执（%s）\n送达 %d/%d 个群，失败 %d",
		nt.Label(), nt.Subject(), len(ackers), len(known), len(knownAcked), percent(len(knownAcked), len(known)), sent, len(rs), failed)
	if !acc.full {
		fmt.Fprintf(&b, "\n（只含您辖区%s内的 %d 个群）", n.nodeName(acc.scope), len(rs))
	}
	const maxGroups, maxNames = 20, 10
	b.WriteString("\n回执最少的群：")
	for i, g := range fewestFirst(rs) {
		if i == maxGroups {
			fmt.Fprintf(&b, "\n……另有 %d 个群", len(rs)-maxGroups)
			break
		}
		fmt.Fprintf(&b, "\n%d. %s：%d/%d（%s）%s", i+1, groupName(g.Group), g.KnownAck, len(g.Known), percent(g.KnownAck, len(g.Known)), g.status())
		if extra := g.outsiders(); extra > 0 {
			fmt.Fprintf(&b, "，另有 %d 位不在本群网格登记名单上的人在本群回执", extra)
		}
		if len(g.Missing) > 0 {
			names := make([]string, 0, maxNames)
			for _, p := range g.Missing[:min(len(g.Missing), maxNames)] {
				names = append(names, p.Name)
			}
			more := ""
			if len(g.Missing) > maxNames {
				more = fmt.Sprintf("等%d人", len(g.Missing))
			}
			fmt.Fprintf(&b, "\n   未回执：%s%s", strings.Join(names, "、"), more)
		}
	}
	fmt.Fprintf(&b, "\n（“登记在册”指群所属网格下登记过的人员，群里实际人数以平台为准。提醒回执最少的群：催办回执 %d；完整名单：导出 %d）", nt.Number(), nt.Number())
	// It names people who have not acknowledged: for the secretary's eyes only.
	r.ReplyPrivately(b.String())
	return nil
}

func percent(a, b int) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%d%%", a*100/b)
}

// remindCmd answers 催办回执 N.
func (n *Notices) remindCmd(ctx context.Context, r *bot.Request, id int64) error {
	nt, err := n.get(ctx, id)
	if err != nil {
		return err
	}
	if nt.Kind != KindNotice || nt.Status != StatusSent {
		return community.Errorf(community.EConflict, "%s 还不能催办回执（只有已发出的通知可以）。", nt.Label())
	}
	if err := n.requireFull(ctx, r.Sender, nt, "催办回执"); err != nil {
		return err
	}
	// The tag is the event's, so handling this message twice reminds once.
	groups, err := n.remind(ctx, nt, r.Msg.Key(), r.Now)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		r.Replyf("%s 的群都已回执齐了，无需提醒。", nt.Label())
		return nil
	}
	names := make([]string, 0, 10)
	for _, g := range groups[:min(len(groups), 10)] {
		names = append(names, groupName(g.Group))
	}
	more := ""
	if len(groups) > 10 {
		more = fmt.Sprintf("等%d个群", len(groups))
	}
	r.Replyf("⏰ 已提醒回执最少的群：%s%s。", strings.Join(names, "、"), more)
	return nil
}

// maxNudges bounds the private reminders one group's reminder sends.
const maxNudges = 20

// remind sends a reminder to the quarter of delivered groups with the fewest receipts (at
// least one group), skipping groups where every known member has acknowledged, and a private
// one to each of up to maxNudges known members of the group who have not, on the group's
// platform. tag makes the outbox ids: the same tag never reminds twice.
func (n *Notices) remind(ctx context.Context, nt *Notice, tag string, now time.Time) ([]*groupReport, error) {
	rs, err := n.report(ctx, nt)
	if err != nil {
		return nil, err
	}
	var cand []*groupReport
	for _, g := range fewestFirst(rs) {
		if g.status() == "已送达" && (g.rate() < 1 || len(g.Known) == 0 && len(g.Acks) == 0) {
			cand = append(cand, g)
		}
	}
	if len(cand) == 0 {
		return nil, nil
	}
	cand = cand[:min(len(cand), max(1, (len(rs)+3)/4))]
	entries := make([]store.OutboxEntry, 0, len(cand))
	add := func(o bot.Outbound) error {
		e, err := bot.Entry(o, now)
		if err != nil {
			return err
		}
		e.NotBefore = n.pace(o, now)
		entries = append(entries, e)
		return nil
	}
	for _, g := range cand {
		// The group is reminded without naming anyone: who has not acknowledged is told
		// privately, never in front of the neighbours.
		text := fmt.Sprintf("⏰ 请大家查看%s：%s\n看过请点通知卡片上的“收到”，或回复“收到 %d”。本群已回执 %d 人。",
			nt.Label(), nt.Subject(), nt.Number(), len(g.Acks))
		if err := add(bot.Outbound{ID: remindID(nt.ID, g.Group.ID, tag), Platform: g.Group.Platform, ChatID: g.Group.Chat,
			Text: text, Batch: remindBatch(nt.ID)}); err != nil {
			return nil, err
		}
		nudged := 0
		for _, p := range g.Missing {
			plat, _ := community.SplitID(p.ID)
			if plat != g.Group.Platform || nudged == maxNudges {
				continue
			}
			nudged++
			if err := add(bot.Outbound{ID: remindID(nt.ID, g.Group.ID+"/"+p.ID, tag), Platform: plat, UserID: p.ID,
				Text: fmt.Sprintf("⏰ %s 还没有收到您的回执：%s\n看过请在%s点通知卡片上的“收到”，或回复“收到 %d”。",
					nt.Label(), nt.Subject(), groupName(g.Group), nt.Number()),
				Batch: remindBatch(nt.ID)}); err != nil {
				return nil, err
			}
		}
	}
	if err := n.Store.Enqueue(ctx, entries...); err != nil {
		return nil, store.ErrUnavailable(err)
	}
	if _, err := n.update(ctx, nt.ID, func(x *Notice) error { x.Reminders++; return nil }); err != nil {
		return nil, err
	}
	if n.Wake != nil {
		n.Wake()
	}
	return cand, nil
}
