package community

import (
	"fmt"
	"strings"
)

// Role is what a person may do. Roles are ordered: a higher role may do what a lower one may
// (a secretary can also claim an item, as a member).
type Role int

const (
	RoleResident   Role = iota // 居民
	RoleMember                 // 党员
	RoleGridWorker             // 网格员
	RoleSecretary              // 支部书记 / 社区书记
	RoleStreet                 // 街道 / 大党委第一书记
)

var roleNames = []struct{ key, zh string }{
	{"resident", "居民"},
	{"member", "党员"},
	{"gridworker", "网格员"},
	{"secretary", "书记"},
	{"street", "街道书记"},
}

// ParseRole reads a role's config key (resident, member, gridworker, secretary, street).
func ParseRole(s string) (Role, error) {
	for i, r := range roleNames {
		if r.key == s {
			return Role(i), nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want resident, member, gridworker, secretary, street)", s)
}

// Key is the role's config key.
func (r Role) Key() string {
	if r < 0 || int(r) >= len(roleNames) {
		return "unknown"
	}
	return roleNames[r].key
}

// Chinese is the role's name as shown to people.
func (r Role) Chinese() string {
	if r < 0 || int(r) >= len(roleNames) {
		return "未知"
	}
	return roleNames[r].zh
}

func (r Role) String() string { return r.Key() }

// AtLeast reports whether r is o or higher.
func (r Role) AtLeast(o Role) bool { return r >= o }

// Person is someone on a platform: the key is platform-qualified ("feishu:ou_x", "local:wang"),
// so the same human on two platforms is two persons unless an operator links them.
type Person struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Role     Role     `json:"role"`
	Node     string   `json:"node,omitempty"` // home org node (compound, grid, community...)
	Phone    string   `json:"phone,omitempty"`
	Door     string   `json:"door,omitempty"`
	Duties   []string `json:"duties,omitempty"` // 调查员, 宣传员, 调解员, 监督员
	Teams    []string `json:"teams,omitempty"`  // 党员先锋队: 应急救援, 纠纷调解, ...
	Approved bool     `json:"approved"`         // a registration (报到) approved by a secretary
	Points   int      `json:"points,omitempty"` // 积分 for claims, completions and attendance
	// Pending is the role asked for in a registration not yet approved.
	Pending bool `json:"pending,omitempty"`
	// Unit is the 共建单位 (a co-building organisation, e.g. 区税务局) a party member reports
	// from (双报到), from the config or 报到 … 单位 X.
	Unit string `json:"unit,omitempty"`
}

// SetUnit records the 共建单位 p reports from; an empty unit clears it. The name is kept as
// written, trimmed, and limited to 40 characters.
func (p *Person) SetUnit(unit string) error {
	unit = strings.TrimSpace(unit)
	if n := len([]rune(unit)); n > 40 {
		return Errorf(EInvalid, "单位名称太长了（%d字），请控制在40字以内。", n)
	}
	p.Unit = unit
	return nil
}

// Actor is who performs an action: a person in a role, or the system (scheduler).
type Actor struct {
	ID     string
	Name   string
	Role   Role
	Node   string // the person's home org node: where their authority applies
	System bool
}

// SystemActor is the scheduler acting on its own.
var SystemActor = Actor{ID: "system", Name: "系统", Role: RoleStreet, System: true}

// ActorOf returns p as an actor. An unapproved registration acts as a resident.
func ActorOf(p Person) Actor {
	role := p.Role
	if p.Pending && !p.Approved {
		role = RoleResident
	}
	return Actor{ID: p.ID, Name: p.Name, Role: role, Node: p.Node}
}
