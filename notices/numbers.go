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

// Numbers. A notice or poll takes its number from the deployment's one number space
// (store.Numbers) when it is confirmed, recorded under its kind and id, so confirming twice
// (a platform's retry, another replica) finds the number already taken. Commands name a
// notice by that number; card buttons carry its id.
//
// Notices sent before numbers were shared were numbered 1, 2, 3 … apart from items, and were
// given new numbers by MigrateNumbers; their old numbers, which people saw on cards and may
// still type, are kept as aliases (collAlias) that commands about notices still accept.

// numberKind is the store kind a notice's number is recorded under.
func numberKind(k Kind) string {
	if k == KindPoll {
		return store.KindPoll
	}
	return store.KindNotice
}

// takeNumber takes nt's number (the one it has when it was taken before).
func (n *Notices) takeNumber(ctx context.Context, nt *Notice) (int64, error) {
	no, err := n.Store.TakeNumber(ctx, numberKind(nt.Kind), docID(nt.ID))
	if err != nil {
		return 0, store.ErrUnavailable(err)
	}
	return no, nil
}

// byNumber finds the notice people call #no: the notice or poll the number names, or one
// whose number was no before the renumbering (then the answer says its new number, once
// per person).
func (n *Notices) byNumber(ctx context.Context, r *bot.Request, no int64) (*Notice, error) {
	notFound := community.Errorf(community.ENotFound, "没有找到 #%d 号通知或投票。", no)
	e, err := n.Store.LookupNumber(ctx, no)
	switch {
	case err == nil && (e.Kind == store.KindNotice || e.Kind == store.KindPoll):
		id, perr := strconv.ParseInt(e.ID(), 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("number %d names notice %q: %w", no, e.ID(), perr)
		}
		return n.get(ctx, id)
	case err != nil && community.ErrorCode(err) != community.ENotFound:
		return nil, store.ErrUnavailable(err)
	}
	raw, err := n.Store.GetDoc(ctx, collAlias, docID(no))
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return nil, notFound
		}
		return nil, store.ErrUnavailable(err)
	}
	id, _ := strconv.ParseInt(string(raw), 10, 64)
	nt, err := n.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if nt.Number() != no && r != nil && r.Sender.ID != "" {
		first, err := n.Store.Once(ctx, "numbers:told:"+r.Sender.ID+":notice:"+docID(no), aliasToldFor)
		if err == nil && first {
			r.Replyf("ℹ️ 原%s #%d 现在的编号是 #%d（服务事项、通知、投票和活动已统一编号）。", nt.Kind.Chinese(), no, nt.Number())
		}
	}
	return nt, nil
}

// aliasToldFor is how long a person who used an old number is not told its new one again.
const aliasToldFor = 365 * 24 * time.Hour

// resolveCommand turns the number a command names into the notice's id (0 stays 0).
func (n *Notices) resolveCommand(ctx context.Context, r *bot.Request, no int64) (int64, error) {
	if no <= 0 {
		return no, nil
	}
	nt, err := n.byNumber(ctx, r, no)
	if err != nil {
		return 0, err
	}
	return nt.ID, nil
}

// Numbered answers 查看 N and 进度 N for a number that names a notice or poll (a
// handlers.Handlers.Numbered hook): a secretary gets its delivery progress, as 通知进度 N;
// anyone else within its reach a summary of what was sent.
func (n *Notices) Numbered(ctx context.Context, r *bot.Request, e store.NumberEntry) error {
	n.init()
	id, err := strconv.ParseInt(e.ID(), 10, 64)
	if err != nil {
		return fmt.Errorf("number %d names notice %q: %w", e.No, e.ID(), err)
	}
	nt, err := n.get(ctx, id)
	if err != nil {
		return err
	}
	if r.Sender.Role.AtLeast(community.RoleSecretary) {
		text, err := n.progressText(ctx, nt)
		if err != nil {
			return err
		}
		r.Reply(text)
		return nil
	}
	ok, err := n.readable(ctx, r, nt)
	if err != nil {
		return err
	}
	if !ok {
		// As for an item out of sight: not even confirmed to exist.
		return community.Errorf(community.ENotFound, "没有找到 #%d，或它不在您可查看的范围内。", e.No)
	}
	r.Reply(n.summary(nt, r.Now))
	return nil
}

// readable reports whether a person who is not a secretary may read nt's summary: asked in
// one of its groups, or privately by someone placed under its reach.
func (n *Notices) readable(ctx context.Context, r *bot.Request, nt *Notice) (bool, error) {
	if nt.All {
		return true, nil
	}
	if r.Group.ID != "" {
		ok, err := n.isTargetGroup(ctx, nt.ID, r.Group.ID)
		if err != nil {
			return false, store.ErrUnavailable(err)
		}
		return ok, nil
	}
	node := r.Sender.Node
	if node == "" {
		return false, nil
	}
	if len(nt.Targets) > 0 {
		return n.within(node, nt.Targets), nil
	}
	gids, err := n.targetGroups(ctx, nt.ID) // a poll of one group
	if err != nil {
		return false, store.ErrUnavailable(err)
	}
	for _, id := range gids {
		g, err := n.Store.GetGroup(ctx, id)
		if err != nil {
			continue
		}
		if g.Node != "" && n.within(node, []string{g.Node}) {
			return true, nil
		}
	}
	return false, nil
}

// summary is what anyone may read of a notice or poll: what was sent, by whom, when.
func (n *Notices) summary(nt *Notice, now time.Time) string {
	if nt.Status == StatusCancelled {
		return fmt.Sprintf("%s 已取消，没有发送。", nt.Label())
	}
	when := nt.ConfirmedAt
	if !nt.SentAt.IsZero() {
		when = nt.SentAt
	}
	if nt.Kind == KindPoll {
		s := fmt.Sprintf("🗳 %s：%s\n选项：%s\n截止：%s\n发起：%s", nt.Label(), nt.Title, strings.Join(nt.Options, " / "), community.FormatDate(nt.Deadline, now), nt.AuthorName)
		if nt.Result != nil {
			s += "\n已截止，结果请看群里的公示，或发送：投票结果 " + strconv.FormatInt(nt.Number(), 10)
		} else {
			s += fmt.Sprintf("\n投票请点群里的卡片，或发送：投票 %d 选项", nt.Number())
		}
		return s
	}
	return fmt.Sprintf("📢 %s（%s 发布于%s）\n%s\n看过请发送：收到 %d", nt.Label(), nt.AuthorName, community.FormatDate(when, now), preview(nt.Text, 300), nt.Number())
}

// MigrateNumbers gives every notice and poll sent before numbers were shared (No 0, not a
// draft, not cancelled) a number of the shared space, in the order of their ids, and keeps
// its old number (its id) as an alias, a pending draft's too (it takes a number when
// confirmed). It may run again, or on two replicas at once: a
// notice's number is recorded under its id, so it gets one, and what is done is not undone.
// It returns how many notices it renumbered.
func (n *Notices) MigrateNumbers(ctx context.Context) (int, error) {
	n.init()
	docs, err := n.Store.ListDocs(ctx, collNotices, "")
	if err != nil {
		return 0, store.ErrUnavailable(err)
	}
	var todo []*Notice
	for _, d := range docs {
		nt := new(Notice)
		if err := json.Unmarshal(d.Value, nt); err != nil {
			return 0, fmt.Errorf("decode notice %s: %w", d.ID, err)
		}
		if nt.No == 0 {
			todo = append(todo, nt)
		}
	}
	// Ids are numbers; the docs list in text order (10 before 9).
	slices.SortFunc(todo, func(a, b *Notice) int { return cmp.Compare(a.ID, b.ID) })
	renumbered := 0
	for _, nt := range todo {
		// Its old number still finds it, a draft's too (确认发送 5 from before).
		if err := n.Store.PutDoc(ctx, collAlias, docID(nt.ID), []byte(docID(nt.ID))); err != nil {
			return 0, store.ErrUnavailable(err)
		}
		if nt.Status == StatusDraft || nt.Status == StatusCancelled {
			continue // a number only once it is confirmed
		}
		no, err := n.takeNumber(ctx, nt)
		if err != nil {
			return 0, err
		}
		renumbered++
		if _, err := n.update(ctx, nt.ID, func(x *Notice) error {
			x.No = no
			return nil
		}); err != nil {
			return 0, err
		}
	}
	return renumbered, nil
}
