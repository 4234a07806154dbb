package notices

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// bareVote takes a message that is no command as a vote when it is an option and either
// replies to a poll's card or is said, word for word, in a group with exactly one open poll.
func (n *Notices) bareVote(ctx context.Context, r *bot.Request) (bool, error) {
	text := strings.TrimFunc(r.Command().Raw, isTrailing)
	if r.Group.ID == "" || text == "" || utf8.RuneCountInString(text) > MaxOptionRunes {
		return false, nil
	}
	id, card, err := n.replyRef(ctx, r)
	if err != nil {
		return true, err
	}
	if card && id == 0 {
		return false, nil // a reply to an item's card: "1" there is a claim
	}
	if id > 0 {
		nt, err := n.get(ctx, id)
		if err != nil || nt.Kind != KindPoll {
			return false, nil
		}
		opt, ok := MatchOption(nt.Options, text)
		if !ok {
			return false, nil
		}
		return true, n.vote(ctx, r, nt, opt, false)
	}
	ids, err := n.recent(ctx, KindPoll, r.Group.ID, r.Now)
	if err != nil || len(ids) != 1 {
		return false, err
	}
	nt, err := n.get(ctx, ids[0])
	if err != nil {
		return false, nil
	}
	// Only the option itself: "1" alone is the core's claim shorthand.
	if !slices.Contains(nt.Options, text) {
		return false, nil
	}
	return true, n.vote(ctx, r, nt, text, false)
}

// vote records r's sender's vote; a later one replaces it.
func (n *Notices) vote(ctx context.Context, r *bot.Request, nt *Notice, opt string, explicit bool) error {
	gid, err := n.tapGroup(ctx, r, nt)
	if err != nil {
		return err
	}
	if gid == "" {
		r.Reply("请在收到投票的群里投票。")
		return nil
	}
	if nt.Status != StatusSending && nt.Status != StatusSent {
		return community.Errorf(community.EConflict, "%s 没有发出。", nt.Label())
	}
	if !r.Now.Before(nt.Deadline) || nt.Result != nil {
		return community.Errorf(community.EConflict, "%s 已于%s截止，结果请看公示。", nt.Label(), community.FormatDate(nt.Deadline, r.Now))
	}
	ok, err := n.isTargetGroup(ctx, nt.ID, gid)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if !ok {
		switch {
		case r.Msg.Action != nil:
			r.Toast(fmt.Sprintf("本群不在 %s 的投票范围内。", nt.Label()))
		case explicit:
			r.Replyf("本群不在 %s 的投票范围内。", nt.Label())
		}
		return nil
	}
	v := Vote{Poll: nt.ID, Group: gid, Person: r.Sender.ID, Name: r.Sender.Name, Option: opt, At: r.Now}
	first := false
	_, err = n.Store.UpdateDoc(ctx, collVotes, voteID(nt.ID, r.Sender.ID), func(old []byte) ([]byte, error) {
		first = old == nil
		if old != nil {
			var prev Vote
			// Events can be handled out of order: the vote cast last counts.
			if json.Unmarshal(old, &prev) == nil && prev.At.After(v.At) {
				return old, nil
			}
		}
		return json.Marshal(v)
	})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if first {
		n.count(ctx, nt.ID, func(c *counts) { c.Voters++ })
		n.touchCard(r, nt, gid)
	}
	switch {
	case r.Msg.Action != nil:
		r.Toast("已投：" + opt)
	case explicit:
		r.Replyf("🗳 已记录您在%s的投票：%s（截止前可以改，以最后一次为准）。", nt.Label(), opt)
	}
	return nil
}

// tally counts the votes of nt now.
func (n *Notices) tally(ctx context.Context, nt *Notice, now time.Time) (*Result, error) {
	docs, err := n.Store.ListDocs(ctx, collVotes, votePrefix(nt.ID))
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	res := &Result{Total: map[string]int{}, ByGroup: map[string]map[string]int{}, At: now}
	for _, d := range docs {
		var v Vote
		if json.Unmarshal(d.Value, &v) != nil || !slices.Contains(nt.Options, v.Option) {
			continue
		}
		res.Total[v.Option]++
		if res.ByGroup[v.Group] == nil {
			res.ByGroup[v.Group] = map[string]int{}
		}
		res.ByGroup[v.Group][v.Option]++
		res.Voters++
	}
	return res, nil
}

// votes lists nt's votes, by group then time.
func (n *Notices) votes(ctx context.Context, nt *Notice) ([]Vote, error) {
	docs, err := n.Store.ListDocs(ctx, collVotes, votePrefix(nt.ID))
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	out := make([]Vote, 0, len(docs))
	for _, d := range docs {
		var v Vote
		if json.Unmarshal(d.Value, &v) == nil {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b Vote) int { return cmp.Or(strings.Compare(a.Group, b.Group), a.At.Compare(b.At)) })
	return out, nil
}

// line is "同意 12 · 反对 3 · 弃权 1".
func line(options []string, count map[string]int) string {
	parts := make([]string, len(options))
	for i, o := range options {
		parts[i] = fmt.Sprintf("%s %d", o, count[o])
	}
	return strings.Join(parts, " · ")
}

func sum(m map[string]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}

// results answers 投票结果 N: the total and the groups with most votes. A secretary may ask
// at any time; others once it is published.
func (n *Notices) results(ctx context.Context, r *bot.Request, id int64) error {
	nt, err := n.get(ctx, id)
	if err != nil {
		return err
	}
	if nt.Kind != KindPoll {
		return community.Errorf(community.EInvalid, "%s 是通知，不是投票。查看回执请发送：回执 %d", nt.Label(), nt.Number())
	}
	res := nt.Result
	if res == nil {
		if res, err = n.tally(ctx, nt, r.Now); err != nil {
			return err
		}
	}
	names, err := n.groupNames(ctx)
	if err != nil {
		return err
	}
	gids, err := n.targetGroups(ctx, id)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	state := "进行中，" + community.FormatDate(nt.Deadline, r.Now) + "截止"
	if nt.Result != nil {
		state = "已截止，结果已公示"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "📊 %s：%s（%s）\n合计：%s，共 %d 人投票，%d 个群", nt.Label(), nt.Title, state, line(nt.Options, res.Total), res.Voters, len(gids))
	slices.SortStableFunc(gids, func(a, c string) int { return cmp.Compare(sum(res.ByGroup[c]), sum(res.ByGroup[a])) })
	const maxGroups = 20
	for i, g := range gids {
		if i == maxGroups {
			fmt.Fprintf(&b, "\n……另有 %d 个群（完整结果：导出 %d）", len(gids)-maxGroups, id)
			break
		}
		fmt.Fprintf(&b, "\n%s：%s", nameOr(names, g), line(nt.Options, res.ByGroup[g]))
	}
	r.Reply(b.String())
	return nil
}

func nameOr(names map[string]string, id string) string {
	if s := names[id]; s != "" {
		return s
	}
	return id
}

func (n *Notices) groupNames(ctx context.Context) (map[string]string, error) {
	gs, err := n.Store.ListGroups(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	m := make(map[string]string, len(gs))
	for _, g := range gs {
		m[g.ID] = groupName(g)
	}
	return m, nil
}

// publish posts a poll's result to each of its groups and to its author: the last of
// 四步议事法 (公开决议). A replica takes it with a Once key that works as a lease: another
// replica, or the next tick after a crash, takes over once the lease runs out. The result is
// frozen in the notice by the first to tally, and the outbox ids are deterministic, so
// whoever finishes the job sends what the first would have sent, once.
func (n *Notices) publish(ctx context.Context, nt *Notice, now time.Time) error {
	ok, err := n.Store.Once(ctx, publishKey(nt.ID), n.PublishLease)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if !ok {
		return nil
	}
	res, err := n.tally(ctx, nt, now)
	if err != nil {
		return err
	}
	nt, err = n.update(ctx, nt.ID, func(x *Notice) error {
		if x.Result == nil {
			x.Result = res
		}
		return nil
	})
	if err != nil {
		return err
	}
	res = nt.Result
	gids, err := n.targetGroups(ctx, nt.ID)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	groups, err := n.Store.ListGroups(ctx)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	byID := map[string]community.Group{}
	for _, g := range groups {
		byID[g.ID] = g
	}
	total := fmt.Sprintf("合计（%d 个群）：%s，共 %d 人投票", len(gids), line(nt.Options, res.Total), res.Voters)
	var entries []store.OutboxEntry
	for _, gid := range gids {
		text := fmt.Sprintf("📊 %s 结果公示：%s\n本群：%s\n%s\n（截止 %s，每人一票，以最后一次为准）",
			nt.Label(), nt.Title, line(nt.Options, res.ByGroup[gid]), total, community.FormatDate(nt.Deadline, now))
		o := toGroup(byID, gid, bot.Outbound{ID: resultID(nt.ID, gid), Text: text, Batch: resultBatch(nt.ID)})
		e, err := bot.Entry(o, now)
		if err != nil {
			return err
		}
		e.NotBefore = n.pace(o, now)
		entries = append(entries, e)
	}
	if nt.Author != "" {
		o := bot.Outbound{ID: BatchID(nt.ID) + ":result:author", Platform: nt.AuthorPlatform, UserID: nt.Author,
			Text: fmt.Sprintf("📊 %s 已截止并公示：%s\n%s\n各群明细：投票结果 %d / 导出 %d", nt.Label(), nt.Title, total, nt.Number(), nt.Number())}
		e, err := bot.Entry(o, now)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	for i := 0; i < len(entries); i += n.Chunk {
		if err := n.Store.Enqueue(ctx, entries[i:min(i+n.Chunk, len(entries))]...); err != nil {
			return store.ErrUnavailable(err)
		}
	}
	if _, err := n.update(ctx, nt.ID, func(x *Notice) error {
		if x.PublishedAt.IsZero() {
			x.PublishedAt = now
		}
		return nil
	}); err != nil {
		return err
	}
	if n.Wake != nil {
		n.Wake()
	}
	n.Log.Info("poll published", "poll", nt.ID, "groups", len(gids), "voters", res.Voters)
	return nil
}
