package notices

import (
	"context"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Receipts and exports name people, so a secretary sees a notice's receipts only for the
// groups in their own jurisdiction. The author, and secretaries whose jurisdiction holds
// every target group (street level and above hold everything), see the whole of it; only
// they may export its full list or remind its groups.

// access is what one person may see of one notice.
type access struct {
	full   bool
	scope  string          // the reader's jurisdiction ("" for everything)
	groups map[string]bool // target group ids within the scope (when not full)
}

func (a access) sees(group string) bool { return a.full || a.groups[group] }

// accessOf works out what p may see of nt.
func (n *Notices) accessOf(ctx context.Context, p community.Person, nt *Notice) (access, error) {
	scope, all := n.scope(p)
	if p.ID == nt.Author || all {
		return access{full: true}, nil
	}
	gids, err := n.targetGroups(ctx, nt.ID)
	if err != nil {
		return access{}, store.ErrUnavailable(err)
	}
	groups, err := n.Store.ListGroups(ctx)
	if err != nil {
		return access{}, store.ErrUnavailable(err)
	}
	node := make(map[string]string, len(groups))
	for _, g := range groups {
		node[g.ID] = g.Node
	}
	a := access{scope: scope, groups: map[string]bool{}}
	for _, id := range gids {
		if nd := node[id]; nd != "" && n.covers(p, nd) {
			a.groups[id] = true
		}
	}
	a.full = len(a.groups) == len(gids)
	return a, nil
}

// requireFull refuses a reader who may not see all of nt; what names the command for the
// message (导出完整名单, 催办回执).
func (n *Notices) requireFull(ctx context.Context, p community.Person, nt *Notice, what string) error {
	a, err := n.accessOf(ctx, p, nt)
	if err != nil || a.full {
		return err
	}
	return community.Errorf(community.EForbidden, "%s 是 %s 发的，范围超出您的辖区（%s），%s只限发起人和辖区覆盖全部范围的书记。本辖区的回执请发送：回执 %d",
		nt.Label(), nt.AuthorName, n.nodeName(a.scope), what, nt.Number())
}
