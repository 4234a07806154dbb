package notices

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The web console (package console) composes and sends notices through the same path as the
// chat: Compose is "通知 …" / "投票 …" and Send is 确认发送, each run as if the person had
// written it in their private chat with the bot, with the authority rule and the outbox of
// the chat; only the confirmation card meant for the chat is not sent (the page shows the
// draft instead).

// replies are the texts a handler answered the sender with.
func replies(r *bot.Request) []string {
	var out []string
	for _, o := range r.Outs() {
		if o.UserID == r.Msg.UserID && o.Card == nil && o.Text != "" {
			out = append(out, o.Text)
		}
	}
	return out
}

// Compose drafts a notice (poll false: cmd.Text) or a poll (cmd.Title, cmd.Options,
// cmd.Deadline) for by, to cmd.All or cmd.Targets (org node ids or names). The draft is
// what 确认发送 sends: its reach is frozen now.
func (n *Notices) Compose(ctx context.Context, by community.Person, cmd Command, poll bool, now time.Time) (*Notice, error) {
	n.init()
	if !by.Role.AtLeast(community.RoleSecretary) || !community.ActorOf(by).Role.AtLeast(community.RoleSecretary) {
		return nil, community.Errorf(community.EForbidden, "只有书记可以发通知和发起投票。")
	}
	cmd.Verb = VerbNotice
	if poll {
		cmd.Verb = VerbPoll
		if cmd.Title == "" {
			return nil, community.Errorf(community.EInvalid, "请写上投票的问题。")
		}
		if cmd.Options != nil && len(cmd.Options) < 2 {
			return nil, community.Errorf(community.EInvalid, "投票至少需要两个选项。")
		}
	} else if cmd.Text == "" {
		return nil, community.Errorf(community.EInvalid, "请写上通知内容。")
	}
	if !cmd.All && len(cmd.Targets) == 0 {
		return nil, community.Errorf(community.EInvalid, "请选择发送范围。")
	}
	r := bot.PrivateRequest(by, now)
	if err := n.draft(ctx, r, cmd); err != nil {
		return nil, err
	}
	raw, err := n.Store.GetDoc(ctx, collDraft, by.ID)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	id, _ := strconv.ParseInt(string(raw), 10, 64)
	return n.get(ctx, id)
}

// Send confirms by's draft id, exactly as 确认发送: it takes the notice's number and the
// runner enqueues one message per target group. It returns what the chat would answer.
func (n *Notices) Send(ctx context.Context, by community.Person, id int64, now time.Time) (string, error) {
	n.init()
	if id <= 0 {
		return "", community.Errorf(community.ENotFound, "没有这条通知。")
	}
	r := bot.PrivateRequest(by, now)
	if err := n.confirm(ctx, r, id); err != nil {
		return "", err
	}
	rs := replies(r)
	if len(rs) == 0 {
		return "", nil
	}
	return rs[len(rs)-1], nil
}

// GroupDelivery is one target group of a notice as the console shows it.
type GroupDelivery struct {
	Group    string // name
	Status   string // 已送达, 排队, 失败, 未入队
	Acks     int    // receipts in this group
	Known    int    // registered persons under the group's node
	KnownAck int
}

// Delivery is a notice's delivery and receipts for one reader.
type Delivery struct {
	Notice               *Notice
	Sent, Failed, Queued int
	Acks, Voters         int
	Groups               []GroupDelivery // the groups the reader may see, fewest receipts first
	Partial              bool            // some target groups are outside the reader's jurisdiction
	Totals               map[string]int  // a poll's votes so far, by option
}

// Delivery reads notice id's delivery and receipts as by may see them: a reader whose
// jurisdiction holds only some of its groups sees those; one who holds none, not found.
func (n *Notices) Delivery(ctx context.Context, by community.Person, id int64) (*Delivery, error) {
	n.init()
	nt, err := n.get(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := n.accessOf(ctx, by, nt)
	if err != nil {
		return nil, err
	}
	if !a.full && len(a.groups) == 0 {
		return nil, community.Errorf(community.ENotFound, "没有这条通知。")
	}
	if nt.Status == StatusDraft && nt.Author != by.ID {
		return nil, community.Errorf(community.ENotFound, "没有这条通知。")
	}
	d := &Delivery{Notice: nt, Partial: !a.full}
	if nt.Status == StatusSending || nt.Status == StatusSent {
		st, err := n.Store.OutboxStats(ctx, BatchID(nt.ID))
		if err != nil {
			return nil, store.ErrUnavailable(err)
		}
		d.Sent, d.Failed = st.Sent, st.Failed
		d.Queued = max(nt.Groups-st.Sent-st.Failed, 0)
		rep, err := n.report(ctx, nt)
		if err != nil {
			return nil, err
		}
		for _, g := range fewestFirst(rep) {
			if !a.sees(g.Group.ID) {
				continue
			}
			d.Groups = append(d.Groups, GroupDelivery{Group: groupName(g.Group), Status: g.status(),
				Acks: len(g.Acks), Known: len(g.Known), KnownAck: g.KnownAck})
			d.Acks += len(g.Acks)
		}
		if nt.Kind == KindPoll {
			votes, err := n.votes(ctx, nt)
			if err != nil {
				return nil, err
			}
			d.Totals = map[string]int{}
			for _, v := range votes {
				if a.sees(v.Group) {
					d.Totals[v.Option]++
					d.Voters++
				}
			}
		}
	}
	return d, nil
}

// Recent lists the notices and polls by may see, newest first, at most limit: their own
// drafts and the sent ones whose groups reach into their jurisdiction.
func (n *Notices) Recent(ctx context.Context, by community.Person, limit int) ([]*Notice, error) {
	n.init()
	docs, err := n.Store.ListDocs(ctx, collNotices, "")
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	var all []*Notice
	for _, d := range docs {
		var nt Notice
		if json.Unmarshal(d.Value, &nt) == nil {
			all = append(all, &nt)
		}
	}
	slices.SortFunc(all, func(a, b *Notice) int { return int(b.ID - a.ID) })
	var out []*Notice
	for _, nt := range all {
		if len(out) >= limit {
			break
		}
		if nt.Status == StatusCancelled || nt.Status == StatusDraft && nt.Author != by.ID {
			continue
		}
		a, err := n.accessOf(ctx, by, nt)
		if err != nil {
			return nil, err
		}
		if a.full || len(a.groups) > 0 {
			out = append(out, nt)
		}
	}
	return out, nil
}
