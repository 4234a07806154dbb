package community_test

import (
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// authTree: 城关街道 → 幸福社区 (1网格 → 3栋, 2网格) and 安乐社区 (3网格).
func authTree(t *testing.T) *community.Tree {
	t.Helper()
	tree, err := community.NewTree([]community.Node{
		{ID: "street", Name: "城关街道", Kind: community.KindStreet},
		{ID: "xingfu", Name: "幸福社区", Kind: community.KindCommunity, Parent: "street"},
		{ID: "grid1", Name: "1网格", Kind: community.KindGrid, Parent: "xingfu"},
		{ID: "grid1-b3", Name: "3栋", Kind: community.KindBuilding, Parent: "grid1"},
		{ID: "grid2", Name: "2网格", Kind: community.KindGrid, Parent: "xingfu"},
		{ID: "anle", Name: "安乐社区", Kind: community.KindCommunity, Parent: "street"},
		{ID: "grid3", Name: "3网格", Kind: community.KindGrid, Parent: "anle"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// The people of the table, as their directory entries say.
var authPeople = map[string]community.Person{
	"chen":    {ID: "local:chen", Name: "陈阿姨", Role: community.RoleResident, Node: "grid1-b3"},
	"liu":     {ID: "local:liu", Name: "刘大爷", Role: community.RoleResident, Node: "grid2"},
	"ma":      {ID: "local:ma", Name: "马奶奶", Role: community.RoleResident, Node: "grid3"},
	"li":      {ID: "local:li", Name: "李建国", Role: community.RoleMember, Node: "grid1"},
	"bmem":    {ID: "local:bmem", Name: "楼栋党员", Role: community.RoleMember, Node: "grid1-b3"},
	"zhao":    {ID: "local:zhao", Name: "赵志强", Role: community.RoleMember, Node: "grid2"},
	"qian":    {ID: "local:qian", Name: "钱党员", Role: community.RoleMember, Node: "grid3"},
	"nomem":   {ID: "local:nomem", Name: "无网格党员", Role: community.RoleMember},
	"sun":     {ID: "local:sun", Name: "孙网格员", Role: community.RoleGridWorker, Node: "grid1"},
	"wang":    {ID: "local:wang", Name: "王书记", Role: community.RoleSecretary, Node: "xingfu"},
	"gsec":    {ID: "local:gsec", Name: "网格书记", Role: community.RoleSecretary, Node: "grid1"},
	"asec":    {ID: "local:asec", Name: "安乐书记", Role: community.RoleSecretary, Node: "anle"},
	"whole":   {ID: "local:whole", Name: "未挂节点书记", Role: community.RoleSecretary},
	"zhou":    {ID: "local:zhou", Name: "周书记", Role: community.RoleStreet, Node: "street"},
	"pending": {ID: "local:pend", Name: "报到中", Role: community.RoleMember, Node: "grid1", Pending: true},
}

// Places: a resident's need in 1网格's group, a secretary's post in the community-wide group,
// and a resident's need in 安乐社区's 3网格. Each has a claimer for the states that need one.
type authPlace struct {
	group, node, requester, claimer string
	origin                          community.Origin
}

var authPlaces = []authPlace{
	{"local:g1", "grid1", "chen", "li", community.OriginResident},
	{"local:xf", "xingfu", "wang", "li", community.OriginDirect},
	{"local:g3", "grid3", "ma", "qian", community.OriginResident},
}

// Action codes of the table, and the state each is tried in (the state the loop allows it in,
// so only place and relation decide).
var authActions = []struct {
	code  byte
	act   community.Action
	state community.State
}{
	{'D', community.ActDispatch, community.StateNeed},
	{'C', community.ActClaim, community.StateOpen},
	{'R', community.ActRelease, community.StateClaimed},
	{'F', community.ActComplete, community.StateClaimed},
	{'K', community.ActConfirm, community.StateDone},
	{'U', community.ActUnsatisfied, community.StateDone},
	{'O', community.ActReopen, community.StateFollowUp},
	{'X', community.ActCloseOut, community.StateFollowUp},
	{'N', community.ActCancel, community.StateNeed},
	{'S', community.ActReschedule, community.StateOpen},
	{'V', community.ActSupervise, community.StateOpen},
	{'Y', community.ActOverdue, community.StateOpen},
}

// TestAuthorityTable lists, for every role and place, what each person may do and see: the
// actions above, v (sees the item, masked) and c (sees the requester's contact, privately).
func TestAuthorityTable(t *testing.T) {
	au := community.NewAuthority(authTree(t))
	want := map[string][3]string{
		"chen":    {"KUNvc", "", ""},
		"liu":     {"", "", ""},
		"ma":      {"", "", "KUNvc"},
		"li":      {"CRFvc", "CRFvc", ""},
		"bmem":    {"Cv", "Cv", ""},
		"zhao":    {"", "Cv", ""},
		"qian":    {"", "", "CRFvc"},
		"nomem":   {"", "", ""},
		"sun":     {"Cvc", "Cv", ""},
		"wang":    {"DCFOXNSVvc", "DCFKUOXNSVvc", ""},
		"gsec":    {"DCFOXNSVvc", "Cv", ""},
		"asec":    {"", "", "DCFOXNSVvc"},
		"whole":   {"DCFOXNSVvc", "DCFKUOXNSVvc", "DCFOXNSVvc"},
		"zhou":    {"DCFOXNSVvc", "DCFKUOXNSVvc", "DCFOXNSVvc"},
		"pending": {"", "", ""},
		"system":  {"Y", "Y", "Y"},
	}
	if len(want) != len(authPeople)+1 {
		t.Fatalf("the table lists %d actors, the directory %d (+system)", len(want), len(authPeople))
	}
	for who, places := range want {
		actor := community.SystemActor
		if who != "system" {
			actor = community.ActorOf(authPeople[who])
		}
		for pi, pl := range authPlaces {
			var got strings.Builder
			for _, a := range authActions {
				if actor.System != (a.code == 'Y') {
					continue // the system takes only its own steps; people never do
				}
				it := authItem(pl, a.state)
				err := au.CheckItem(actor, a.act, it)
				if err == nil {
					err = it.Apply(community.Change{Action: a.act, Actor: actor, At: authNow, Stars: 5,
						Deadline: authNow.Add(48 * time.Hour), Step: "deadline:overdue"})
				}
				if err == nil {
					got.WriteByte(a.code)
				} else if code := community.ErrorCode(err); code != community.EForbidden {
					t.Errorf("%s %s at %s: refused with %s, want forbidden: %v", who, a.act, pl.node, code, err)
				} else {
					authNamesNobody(t, err, who)
				}
			}
			if !actor.System {
				it := authItem(pl, community.StateClaimed)
				switch au.SightOf(actor, it, "") {
				case community.SightFull:
					got.WriteString("vc")
				case community.SightMasked:
					got.WriteString("v")
				}
			}
			if got.String() != places[pi] {
				t.Errorf("%s (%s) at %s: may %q, want %q", who, actor.Role.Chinese(), pl.node, got.String(), places[pi])
			}
		}
	}
}

// A refusal names nobody: neither the requester nor the claimer (the person refused may be
// anyone in a group).
func authNamesNobody(t *testing.T, err error, who string) {
	t.Helper()
	msg := community.ErrorMessage(err)
	for _, p := range authPeople {
		if p.ID != "local:"+who && strings.Contains(msg, p.Name) && p.Role == community.RoleResident {
			t.Errorf("refusal to %s names %s: %q", who, p.Name, msg)
		}
	}
}

var authNow = time.Date(2026, 12, 7, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

func authItem(pl authPlace, st community.State) *community.Item {
	req := authPeople[pl.requester]
	it := &community.Item{No: 7, GroupID: pl.group, Node: pl.node, Origin: pl.origin, Title: "楼道灯坏了",
		RequesterID: req.ID, RequesterName: req.Name, CreatedByID: req.ID, State: st, Slots: 1,
		CreatedAt: authNow.Add(-time.Hour)}
	if st == community.StateClaimed || st == community.StateDone || st == community.StateFollowUp {
		c := authPeople[pl.claimer]
		it.Claims = []community.Claim{{UserID: c.ID, Name: c.Name, At: authNow.Add(-time.Hour)}}
	}
	return it
}

// In a group, its members see (masked) what the group shows, whoever they are; privately,
// only those the rule places there do.
func TestAuthoritySightInGroup(t *testing.T) {
	au := community.NewAuthority(authTree(t))
	it := authItem(authPlaces[0], community.StateOpen)
	liu := community.ActorOf(authPeople["liu"])
	if got := au.SightOf(liu, it, "local:g1"); got != community.SightMasked {
		t.Errorf("刘大爷 asking in the item's group: sight %d, want masked", got)
	}
	if got := au.SightOf(liu, it, "local:g2"); got != community.SightNone {
		t.Errorf("刘大爷 asking in another group: sight %d, want none", got)
	}
	zhao := community.ActorOf(authPeople["zhao"])
	if got := au.SightOf(zhao, it, ""); got != community.SightNone {
		t.Errorf("2网格's member privately: sight %d, want none", got)
	}
}

// CheckPlace: creations (posts, notices, bindings, approvals) within one's jurisdiction only.
func TestAuthorityPlaces(t *testing.T) {
	au := community.NewAuthority(authTree(t))
	tests := []struct {
		who, node string
		ok        bool
	}{
		{"wang", "grid1", true}, {"wang", "xingfu", true}, {"wang", "grid3", false}, {"wang", "street", false},
		{"gsec", "grid1", true}, {"gsec", "grid1-b3", true}, {"gsec", "grid2", false}, {"gsec", "xingfu", false},
		{"asec", "grid3", true}, {"asec", "grid1", false},
		{"zhou", "grid3", true}, {"zhou", "street", true},
		{"whole", "grid3", true},
		{"sun", "grid1", true}, {"sun", "grid2", false},
		{"li", "grid1", false}, {"chen", "grid1", false}, {"pending", "grid1", false},
	}
	for _, tt := range tests {
		err := au.CheckPlace(community.ActorOf(authPeople[tt.who]), tt.node)
		if (err == nil) != tt.ok {
			t.Errorf("%s at %s: err %v, want ok=%v", tt.who, tt.node, err, tt.ok)
		}
		if err != nil && community.ErrorCode(err) != community.EForbidden {
			t.Errorf("%s at %s: code %s", tt.who, tt.node, community.ErrorCode(err))
		}
	}
	if err := au.CheckPlace(community.SystemActor, "grid3"); err != nil {
		t.Errorf("system: %v", err)
	}
}
