package community

// The one authority rule: who may see and do what, from the actor's role and their place in
// the organisation tree. Chat commands, card buttons, private contact cards, 查看, receipts,
// exports, the scheduler and web pages all ask it; none decides on its own.
//
//   - street (街道): acts across the subtree of their street node;
//   - secretary (书记) and grid worker (网格员): across the subtree of their own node;
//   - member (党员): on items of the groups of their own grid (the grid that holds their
//     building or unit), and of the groups above it that they belong to (a community-wide
//     group holds the members of all its grids);
//   - resident (居民): on their own needs, and sees (masked) what their group shows;
//   - a pending registration (报到 not yet approved) acts as a resident;
//   - the system actor (scheduler) acts everywhere.
//
// A person with no node is placed nowhere: a secretary or street user without a node keeps
// the whole tree (a one-community install configured before nodes existed), anyone else
// reaches only items that are themselves not placed (a group not yet bound).

// Sight is how much of an item someone may see.
type Sight int

const (
	SightNone   Sight = iota // not at all: the item is outside their reach
	SightMasked              // the item, with personal data masked (what a group shows)
	SightFull                // everything, personal data included (privately only)
)

// Authority applies the rule over one org tree. The zero value (no tree) knows no places:
// every node counts as reachable, as in a deployment without an org tree.
type Authority struct {
	Tree *Tree
}

// NewAuthority returns the rule over t.
func NewAuthority(t *Tree) Authority { return Authority{Tree: t} }

// Manages reports whether a's role is one that governs a place (grid worker and up).
func Manages(a Actor) bool { return a.System || a.Role.AtLeast(RoleGridWorker) }

// Covers reports whether node lies within a's jurisdiction: the subtree a grid worker,
// secretary or street user governs. Members and residents govern nothing.
func (au Authority) Covers(a Actor, node string) bool {
	if a.System {
		return true
	}
	if !a.Role.AtLeast(RoleGridWorker) {
		return false
	}
	return au.within(node, a.Node, a.Role.AtLeast(RoleSecretary))
}

// Serves reports whether a member may act on items placed at node: node is in the member's
// grid, or is an ancestor of it (a community-wide group). Those who govern a place serve it too.
func (au Authority) Serves(a Actor, node string) bool {
	if au.Covers(a, node) {
		return true
	}
	if !a.Role.AtLeast(RoleMember) {
		return false
	}
	if a.Node == "" || node == "" || au.Tree == nil {
		return node == "" || au.Tree == nil
	}
	home := au.home(a.Node)
	return au.Tree.Within(node, home) || au.Tree.Within(home, node)
}

// Scope is the node whose subtree a governs, and whether that is the whole tree.
func (au Authority) Scope(a Actor) (node string, all bool) {
	if a.System || (a.Role.AtLeast(RoleSecretary) && a.Node == "") {
		return "", true
	}
	if !a.Role.AtLeast(RoleGridWorker) {
		return "", false
	}
	return a.Node, false
}

// home is the grid holding node, or node itself when it is above grids.
func (au Authority) home(node string) string {
	if g, ok := au.Tree.AncestorOfKind(node, KindGrid); ok {
		return g.ID
	}
	return node
}

// within: node lies in root's subtree. An empty root is everywhere for those whose rank allows
// it (wholeIfEmpty), nowhere otherwise; an unplaced node is reachable by anyone who governs.
func (au Authority) within(node, root string, wholeIfEmpty bool) bool {
	if root == "" {
		return wholeIfEmpty
	}
	if node == "" || au.Tree == nil {
		return true
	}
	if _, ok := au.Tree.Node(node); !ok {
		return false
	}
	return au.Tree.Within(node, root)
}

// SightOf says how much of it a may see. where is the group the question is asked in
// ("" privately): a group's members see, masked, what that group shows.
func (au Authority) SightOf(a Actor, it *Item, where string) Sight {
	switch {
	case a.System, a.ID == it.RequesterID, a.ID == it.CreatedByID:
		return SightFull
	case au.Covers(a, it.Node):
		return SightFull
	case it.ClaimedBy(a.ID):
		return SightFull
	case au.Serves(a, it.Node):
		return SightMasked
	case where != "" && where == it.GroupID:
		return SightMasked
	}
	return SightNone
}

// CheckItem decides whether a may perform act on it, as far as places and relations go; the
// item's state and the role rules of the loop are Apply's. A refusal names nobody.
func (au Authority) CheckItem(a Actor, act Action, it *Item) error {
	if a.System {
		return nil
	}
	no := it.No
	switch act {
	case ActClaim:
		if a.Role.AtLeast(RoleMember) && !au.Serves(a, it.Node) {
			return Errorf(EForbidden, "#%d 不在您所在网格的服务范围内，请由本网格的党员认领。", no)
		}
	case ActRelease, ActComplete:
		if it.ClaimedBy(a.ID) {
			return nil
		}
		if a.Role.AtLeast(RoleSecretary) && !au.Covers(a, it.Node) {
			return Errorf(EForbidden, "#%d 不在您的辖区内。", no)
		}
	case ActConfirm, ActUnsatisfied:
		if a.ID == it.RequesterID {
			return nil
		}
		if it.Origin == OriginDirect && a.Role.AtLeast(RoleSecretary) && !au.Covers(a, it.Node) {
			return Errorf(EForbidden, "#%d 不在您的辖区内。", no)
		}
	case ActCancel:
		if a.ID == it.RequesterID {
			return nil
		}
		if a.Role.AtLeast(RoleSecretary) && !au.Covers(a, it.Node) {
			return Errorf(EForbidden, "#%d 不在您的辖区内，只有所属辖区的书记可以取消。", no)
		}
	case ActDispatch, ActReopen, ActCloseOut, ActReschedule, ActSupervise:
		if a.Role.AtLeast(RoleSecretary) && !au.Covers(a, it.Node) {
			return Errorf(EForbidden, "#%d 不在您的辖区内，请由所属辖区的书记%s。", no, act.Chinese())
		}
	case ActPost, ActFile:
		return nil // creations are checked by CheckPlace on the group
	default:
		if act.system() {
			return Errorf(EForbidden, "该操作只能由系统执行。")
		}
	}
	return nil
}

// CheckPlace decides whether a may create something (post an item, send a notice, bind a
// group, approve a registration) at node.
func (au Authority) CheckPlace(a Actor, node string) error {
	if a.System || au.Covers(a, node) {
		return nil
	}
	if au.Tree != nil {
		if n, ok := au.Tree.Node(node); ok {
			return Errorf(EForbidden, "%s 不在您的辖区内。", n.Name)
		}
	}
	return Errorf(EForbidden, "这里不在您的辖区内。")
}
