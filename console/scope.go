package console

import (
	"context"
	"slices"
	"strconv"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Scope is the part of the organisation a viewer governs, as the authority rule says
// (community.Authority.Scope and Covers): every page's data is read through it.
type Scope struct {
	All    bool              // the whole tree (the street office, the system)
	Node   string            // the root of the viewer's subtree, when not All
	Groups []community.Group // the groups whose place the viewer covers, by name
	byID   map[string]community.Group
	auth   community.Authority
	actor  community.Actor
}

// ScopeOf reads the viewer's jurisdiction: its root and the groups in it.
func (c *Console) ScopeOf(ctx context.Context, v *Viewer) (*Scope, error) {
	node, all := c.auth.Scope(v.Actor)
	groups, err := c.o.Store.ListGroups(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	s := &Scope{All: all, Node: node, byID: map[string]community.Group{}, auth: c.auth, actor: v.Actor}
	for _, g := range groups {
		if all || c.auth.Covers(v.Actor, g.Node) {
			s.Groups = append(s.Groups, g)
			s.byID[g.ID] = g
		}
	}
	slices.SortFunc(s.Groups, func(a, b community.Group) int {
		if a.Name < b.Name {
			return -1
		} else if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return s, nil
}

// Covers reports whether node lies in the scope.
func (s *Scope) Covers(node string) bool { return s.All || s.auth.Covers(s.actor, node) }

// Group returns a group of the scope.
func (s *Scope) Group(id string) (community.Group, bool) {
	g, ok := s.byID[id]
	return g, ok
}

// GroupIDs are the scope's groups' ids.
func (s *Scope) GroupIDs() []string {
	ids := make([]string, len(s.Groups))
	for i, g := range s.Groups {
		ids[i] = g.ID
	}
	return ids
}

// Filter narrows f to the scope: its groups, unless the scope is everything. ok is false when
// the scope holds no group (nothing to list).
func (s *Scope) Filter(f store.ItemFilter) (_ store.ItemFilter, ok bool) {
	if s.All {
		return f, true
	}
	mine := s.GroupIDs()
	if len(f.Groups) == 0 {
		f.Groups = mine
	} else {
		f.Groups = slices.DeleteFunc(slices.Clone(f.Groups), func(id string) bool { _, in := s.byID[id]; return !in })
	}
	return f, len(f.Groups) > 0
}

// Items lists items of the scope matching f; each is checked against the rule again (an item
// filed before its group was moved elsewhere in the tree keeps its own place).
func (c *Console) Items(ctx context.Context, s *Scope, f store.ItemFilter) ([]*community.Item, error) {
	f, ok := s.Filter(f)
	if !ok {
		return nil, nil
	}
	if items, ok, err := c.itemsBroad(ctx, s, f); err != nil || ok {
		return items, err
	}
	items, err := c.o.Store.ListItems(ctx, f)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	return slices.DeleteFunc(items, func(it *community.Item) bool { return !s.Covers(it.Node) }), nil
}

// broadGroups is how many groups make a group filter broad: a page of a jurisdiction that
// holds most of the store's groups is cheaper read without it (see itemsBroad).
const broadGroups = 32

// itemsBroad serves a page (a small Limit) whose group filter is broad by reading, without
// the group filter, twice the page's worth of the newest matching items and keeping those in
// the groups. A backend walks a single index in order for that, where a filter of hundreds of
// groups makes it merge every group's index (Redis reads them whole). When the jurisdiction
// holds too small a share of the items for that to fill the page, ok is false and the caller
// reads with the group filter.
func (c *Console) itemsBroad(ctx context.Context, s *Scope, f store.ItemFilter) (items []*community.Item, ok bool, err error) {
	if len(f.Groups) <= broadGroups || f.Limit <= 0 || f.Limit > 10*PageSize || store.ActiveFilter(f) {
		return nil, false, nil
	}
	in := make(map[string]bool, len(f.Groups))
	for _, g := range f.Groups {
		in[g] = true
	}
	wide := f
	wide.Groups, wide.Limit = nil, 2*f.Limit
	all, err := c.o.Store.ListItems(ctx, wide)
	if err != nil {
		return nil, false, store.ErrUnavailable(err)
	}
	for _, it := range all {
		if in[it.GroupID] && s.Covers(it.Node) {
			items = append(items, it)
		}
	}
	if len(items) >= f.Limit || len(all) < wide.Limit { // enough, or every match was read
		return items[:min(len(items), f.Limit)], true, nil
	}
	return nil, false, nil
}

// Item returns item no if the viewer may see it, with how much; an item outside their reach
// is "not found", exactly like one that does not exist.
func (c *Console) Item(ctx context.Context, v *Viewer, no int64) (*community.Item, community.Sight, error) {
	it, err := c.o.Store.GetItem(ctx, no)
	if community.ErrorCode(err) == community.ENotFound {
		return nil, community.SightNone, community.Errorf(community.ENotFound, "没有找到 #%d。", no)
	} else if err != nil {
		return nil, community.SightNone, store.ErrUnavailable(err)
	}
	sight := c.auth.SightOf(v.Actor, it, "")
	if sight == community.SightNone {
		return nil, sight, community.Errorf(community.ENotFound, "没有找到 #%d。", no)
	}
	return it, sight, nil
}

// shown is an item as the viewer may see it: personal fields masked unless their sight is
// full (community.Mask, MaskPhone).
func shown(it *community.Item, sight community.Sight) *community.Item {
	if sight == community.SightFull {
		return it
	}
	cp := *it
	cp.Title = community.Mask(it.Title)
	cp.Phone = community.MaskPhone(it.Phone)
	cp.Comment = community.Mask(it.Comment)
	cp.DoneNote = community.Mask(it.DoneNote)
	cp.Reason = community.Mask(it.Reason)
	cp.History = make([]community.Event, len(it.History))
	for i, e := range it.History {
		e.Note = community.Mask(e.Note)
		cp.History[i] = e
	}
	return &cp
}

func itoa(n int) string { return strconv.Itoa(n) }
