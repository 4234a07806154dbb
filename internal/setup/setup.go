// Package setup turns the config into domain values: the org tree and the seeded directory.
package setup

import (
	"context"
	"fmt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/store"
)

// Tree builds the organisation tree from the config's nested nodes.
func Tree(cfg *config.Config) (*community.Tree, error) {
	var nodes []community.Node
	var walk func(parent string, ns []config.OrgNode)
	walk = func(parent string, ns []config.OrgNode) {
		for _, n := range ns {
			name := n.Name
			nodes = append(nodes, community.Node{ID: n.ID, Name: name, Kind: community.NodeKind(n.Kind), Parent: parent})
			walk(n.ID, n.Children)
		}
	}
	walk("", cfg.Org)
	return community.NewTree(nodes)
}

// Seed writes the config's people and groups into the store. The config is the source of truth
// for names and roles; what happened since (points, a binding made in chat) is kept.
func Seed(ctx context.Context, st store.Directory, cfg *config.Config) error {
	for i, m := range cfg.Members {
		role, err := community.ParseRole(m.Role)
		if err != nil {
			return fmt.Errorf("members[%d].role: %w", i, err)
		}
		_, err = st.UpdatePerson(ctx, m.ID, func(p *community.Person) error {
			p.ID, p.Name, p.Role, p.Node = m.ID, m.Name, role, m.Node
			p.Phone, p.Door = m.Phone, m.Door
			p.Duties, p.Teams = m.Duties, m.Teams
			if m.Unit != "" {
				if err := p.SetUnit(m.Unit); err != nil {
					return err
				}
			}
			p.Approved, p.Pending = true, false
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed member %s: %w", m.ID, err)
		}
	}
	for _, g := range cfg.Groups {
		plat, chat := community.SplitID(g.ID)
		cg := community.Group{ID: g.ID, Platform: plat, Chat: chat, Name: g.Name, Node: g.Node, RobotKey: g.RobotKey}
		if old, err := st.GetGroup(ctx, g.ID); err == nil && cg.Node == "" {
			cg.Node = old.Node
		}
		if err := st.PutGroup(ctx, cg); err != nil {
			return fmt.Errorf("seed group %s: %w", g.ID, err)
		}
	}
	return nil
}
