package community

import (
	"fmt"
	"strings"
)

// NodeKind is a level of the organisation tree.
type NodeKind string

const (
	KindStreet    NodeKind = "street"    // 街道
	KindCommunity NodeKind = "community" // 社区
	KindGrid      NodeKind = "grid"      // 网格 / 小区
	KindBuilding  NodeKind = "building"  // 楼栋
	KindUnit      NodeKind = "unit"      // 单元
)

// Node is one node of the organisation tree.
type Node struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Kind   NodeKind `json:"kind"`
	Parent string   `json:"parent,omitempty"`
}

// Tree is the organisation tree: 街道 → 社区 → 网格/小区 → 楼栋 → 单元. It is built once
// from the config and read concurrently afterwards.
type Tree struct {
	nodes    map[string]Node
	children map[string][]string
	order    []string
}

// NewTree builds a tree from nodes whose Parent fields link them. Parents must exist.
func NewTree(nodes []Node) (*Tree, error) {
	t := &Tree{nodes: make(map[string]Node, len(nodes)), children: map[string][]string{}}
	for _, n := range nodes {
		if n.ID == "" {
			return nil, fmt.Errorf("org node with empty id")
		}
		if _, dup := t.nodes[n.ID]; dup {
			return nil, fmt.Errorf("duplicate org node %q", n.ID)
		}
		t.nodes[n.ID] = n
		t.order = append(t.order, n.ID)
	}
	for _, id := range t.order {
		n := t.nodes[id]
		if n.Parent == "" {
			continue
		}
		if _, ok := t.nodes[n.Parent]; !ok {
			return nil, fmt.Errorf("org node %q: unknown parent %q", n.ID, n.Parent)
		}
		t.children[n.Parent] = append(t.children[n.Parent], n.ID)
	}
	for _, id := range t.order { // a cycle would make Ancestors loop forever
		seen := map[string]bool{}
		for cur := id; cur != ""; cur = t.nodes[cur].Parent {
			if seen[cur] {
				return nil, fmt.Errorf("org node %q: cycle in parents", id)
			}
			seen[cur] = true
		}
	}
	return t, nil
}

// Node returns the node with id.
func (t *Tree) Node(id string) (Node, bool) {
	n, ok := t.nodes[id]
	return n, ok
}

// Nodes returns every node in config order.
func (t *Tree) Nodes() []Node {
	out := make([]Node, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, t.nodes[id])
	}
	return out
}

// Ancestors returns the path from id's parent up to the root, nearest first.
func (t *Tree) Ancestors(id string) []Node {
	var out []Node
	for cur := t.nodes[id].Parent; cur != ""; cur = t.nodes[cur].Parent {
		out = append(out, t.nodes[cur])
	}
	return out
}

// Within reports whether id is root or lies below it.
func (t *Tree) Within(id, root string) bool {
	if id == root {
		return true
	}
	for _, a := range t.Ancestors(id) {
		if a.ID == root {
			return true
		}
	}
	return false
}

// Subtree returns root and every node below it, depth first.
func (t *Tree) Subtree(root string) []Node {
	if _, ok := t.nodes[root]; !ok {
		return nil
	}
	var out []Node
	var walk func(string)
	walk = func(id string) {
		out = append(out, t.nodes[id])
		for _, c := range t.children[id] {
			walk(c)
		}
	}
	walk(root)
	return out
}

// AncestorOfKind returns the nearest node of kind at or above id.
func (t *Tree) AncestorOfKind(id string, kind NodeKind) (Node, bool) {
	if n, ok := t.nodes[id]; ok && n.Kind == kind {
		return n, true
	}
	for _, a := range t.Ancestors(id) {
		if a.Kind == kind {
			return a, true
		}
	}
	return Node{}, false
}

// Find looks a node up by id or by name as people write it: "3网格", "幸福社区", "幸福里小区".
// A name matches exactly first, then as a unique prefix.
func (t *Tree) Find(q string) (Node, bool) {
	q = strings.TrimSpace(q)
	if n, ok := t.nodes[q]; ok {
		return n, true
	}
	for _, id := range t.order {
		if t.nodes[id].Name == q {
			return t.nodes[id], true
		}
	}
	var hit []Node
	for _, id := range t.order {
		if n := t.nodes[id]; strings.HasPrefix(n.Name, q) || strings.HasPrefix(q, n.Name) {
			hit = append(hit, n)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	return Node{}, false
}

// Group is one chat group, bound to one org node.
type Group struct {
	ID       string `json:"id"`       // "platform:chat"
	Platform string `json:"platform"` // local, feishu, wecom
	Chat     string `json:"chat"`     // the platform's chat id
	Name     string `json:"name"`
	Node     string `json:"node,omitempty"`      // bound org node; empty until 绑定
	RobotKey string `json:"robot_key,omitempty"` // WeCom group robot webhook key
}

// SplitID splits a platform-qualified id "feishu:oc_1" into ("feishu", "oc_1").
func SplitID(id string) (platform, local string) {
	p, l, ok := strings.Cut(id, ":")
	if !ok {
		return "", id
	}
	return p, l
}

// JoinID builds a platform-qualified id.
func JoinID(platform, local string) string { return platform + ":" + local }
