package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/console"
)

// twoNeeds files a need in each community: #1 in 幸福里 (王书记's), #2 in 和谐家园 (何书记's).
func twoNeeds(t *testing.T, e *env) {
	t.Helper()
	e.Say("local:xingfuli", "local:chen", "@邻里帮 3栋2单元楼道灯坏了，电话13800001234")
	e.Say("local:hexie", "local:wu", "@邻里帮 1栋门口水管漏水了")
	if e.Item(1).GroupID != "local:xingfuli" || e.Item(2).GroupID != "local:hexie" {
		t.Fatal("needs not filed where expected")
	}
}

func TestSecretarySeesOnlyTheirCommunity(t *testing.T) {
	e := newEnv(t)
	twoNeeds(t, e)
	wang := e.signIn(t, "local:wang")
	p := wang.get("/console/items")
	if !strings.Contains(p.Body, `href="/console/items/1"`) || strings.Contains(p.Body, `href="/console/items/2"`) {
		t.Fatalf("王书记's ledger:\n%s", p.Body)
	}
	if p := wang.get("/console/items/2"); p.Status != http.StatusNotFound || strings.Contains(p.Body, "水管") {
		t.Fatalf("another community's item: %d\n%s", p.Status, p.Body)
	}
	// Nor can it be acted on, nor does the answer differ from an item that does not exist.
	wang.get("/console/items/1")
	if p := wang.post("/console/items/2/dispatch", nil); p.Status != http.StatusNotFound {
		t.Fatalf("dispatching another community's item: %d", p.Status)
	}
	missing := wang.get("/console/items/99")
	other := wang.get("/console/items/2")
	if missing.Status != other.Status || missing.Body != other.Body {
		t.Errorf("another community's item answers unlike a missing one")
	}
	if e.Item(2).State != community.StateNeed {
		t.Fatal("another community's item was dispatched")
	}

	he := e.signIn(t, "local:he")
	p = he.get("/console/items")
	if strings.Contains(p.Body, `href="/console/items/1"`) || !strings.Contains(p.Body, `href="/console/items/2"`) {
		t.Fatalf("何书记's ledger:\n%s", p.Body)
	}
	// The street office sees both.
	zhou := e.signIn(t, "local:zhou")
	p = zhou.get("/console/items")
	if !strings.Contains(p.Body, `href="/console/items/1"`) || !strings.Contains(p.Body, `href="/console/items/2"`) {
		t.Fatalf("周书记's ledger:\n%s", p.Body)
	}
}

func TestDispatchFromConsoleUpdatesTheGroup(t *testing.T) {
	e := newEnv(t)
	twoNeeds(t, e)
	wang := e.signIn(t, "local:wang")
	p := wang.get("/console/items/1")
	if !strings.Contains(p.Body, "13800001234") {
		t.Fatalf("the secretary of the item's community sees the phone in full:\n%s", p.Body)
	}
	before := e.Platform.Len()
	p = wang.post("/console/items/1/dispatch", url.Values{"deadline": {"2026-11-25T18:00"}, "slots": {"2"}})
	if p.Status != http.StatusOK || p.URL.Path != "/console/items/1" || !strings.Contains(p.Body, "已派单") {
		t.Fatalf("dispatch: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	it := e.Item(1)
	if it.State != community.StateOpen || it.Slots != 2 || it.Deadline.Format("01-02 15:04") != "11-25 18:00" {
		t.Fatalf("item after dispatch: %+v", it)
	}
	var card bool
	for _, s := range e.flush(t, before) {
		if s.ChatID == "xingfuli" && s.Card != nil && s.Card.Key == "item:1" {
			card = true
		}
	}
	if !card {
		t.Fatalf("the group got no card: %v", e.Platform.Since(before))
	}
	// Supervise through htmx: the group's card is updated in place and the group is told.
	e.Say("local:xingfuli", "local:li", "接单 1")
	before = e.Platform.Len()
	p = wang.hx("/console/items/1/supervise", url.Values{"note": {"请今天办好"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="item"`) || !strings.Contains(p.Body, "督办") {
		t.Fatalf("supervise: %d\n%s", p.Status, p.Body)
	}
	var updated, told bool
	for _, s := range e.flush(t, before) {
		updated = updated || s.Update && s.Card != nil && s.Card.Key == "item:1"
		told = told || s.ChatID == "xingfuli" && strings.Contains(s.Text, "已督办")
	}
	if !updated || !told {
		t.Fatalf("after 督办: card updated %v, group told %v: %v", updated, told, e.Platform.Since(before))
	}
}

func TestActionsRefusedByTheDomainShowItsMessage(t *testing.T) {
	e := newEnv(t)
	twoNeeds(t, e)
	wang := e.signIn(t, "local:wang")
	wang.get("/console/items/1")
	p := wang.post("/console/items/1/dispatch", url.Values{"deadline": {"2026-11-20T18:00"}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "已经过去了") {
		t.Fatalf("a deadline in the past: %d\n%s", p.Status, p.Body)
	}
	if p := wang.post("/console/items/1/reopen", nil); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "回访中") {
		t.Fatalf("reopen of a need: %d\n%s", p.Status, p.Body)
	}
}

func TestPersonalFieldsMaskedUnlessFullSight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A street-wide group: a community secretary sees its items, masked (they serve, not cover).
	if err := e.Store.PutGroup(ctx, community.Group{ID: "local:street", Platform: "local", Chat: "street", Name: "城关街道群", Node: "street"}); err != nil {
		t.Fatal(err)
	}
	e.Say("local:street", "local:chen", "@邻里帮 帮忙联系一下物业，电话13800001234")
	he := e.signIn(t, "local:he")
	p := he.get("/console/items/1")
	if p.Status != http.StatusOK || strings.Contains(p.Body, "13800001234") || !strings.Contains(p.Body, "138****1234") {
		t.Fatalf("masked sight: %d\n%s", p.Status, p.Body)
	}
	if strings.Contains(p.Body, `action="/console/items/1/dispatch"`) {
		t.Fatal("a secretary who does not cover the item is offered 派单")
	}
	zhou := e.signIn(t, "local:zhou")
	if p := zhou.get("/console/items/1"); !strings.Contains(p.Body, "13800001234") {
		t.Fatalf("the street office covers the item and sees it in full:\n%s", p.Body)
	}
}

func TestLedgerFilters(t *testing.T) {
	e := newEnv(t)
	twoNeeds(t, e)
	e.Say("local:yangguang", "local:liu", "@邻里帮 2栋电梯不动了")
	e.Say("local:xingfuli", "local:wang", "派单 1 截止 明天18点")
	e.Say("local:xingfuli", "local:li", "接单 1")
	wang := e.signIn(t, "local:wang")
	cases := []struct {
		query    string
		has, not []int
	}{
		{"", []int{1, 3}, []int{2}},
		{"?state=need", []int{3}, []int{1}},
		{"?place=grid2", []int{3}, []int{1}},
		{"?claimer=李建国", []int{1}, []int{3}},
		{"?q=电梯", []int{3}, []int{1}},
		{"?place=grid3", nil, []int{1, 2, 3}}, // another community's grid: nothing
	}
	for _, c := range cases {
		p := wang.get("/console/items" + c.query)
		for _, n := range c.has {
			if !strings.Contains(p.Body, `href="/console/items/`+itoa(n)+`"`) {
				t.Errorf("%s lacks #%d", c.query, n)
			}
		}
		for _, n := range c.not {
			if strings.Contains(p.Body, `href="/console/items/`+itoa(n)+`"`) {
				t.Errorf("%s shows #%d", c.query, n)
			}
		}
	}
	e.Clock.Advance(3 * 24 * time.Hour)
	wang = e.signIn(t, "local:wang") // the last session ended, idle
	p := wang.get("/console/items?overdue=1")
	if !strings.Contains(p.Body, `href="/console/items/1"`) || strings.Contains(p.Body, `href="/console/items/3"`) {
		t.Errorf("overdue filter:\n%s", p.Body)
	}
	// htmx asks for the rows alone.
	p = wang.hxGet("/console/items?state=need")
	if strings.Contains(p.Body, "<html") || !strings.Contains(p.Body, `href="/console/items/3"`) {
		t.Errorf("partial rows:\n%s", p.Body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLedgerOfABroadJurisdiction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// 40 groups in 幸福社区 (a broad filter), and 和谐社区's group, with items interleaved.
	var groups []community.Group
	for i := range 40 {
		g := community.Group{ID: "local:b" + strconv.Itoa(i), Platform: "local", Chat: "b" + strconv.Itoa(i), Name: "楼群" + strconv.Itoa(i), Node: "grid1"}
		if err := e.Store.PutGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	hexie, err := e.Store.GetGroup(ctx, "local:hexie")
	if err != nil {
		t.Fatal(err)
	}
	chen := community.Actor{ID: "local:chen", Name: "陈阿姨", Role: community.RoleResident}
	file := func(g community.Group) {
		if _, err := e.Store.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewNeed(no, g, chen, chen, "需要帮忙 "+strconv.FormatInt(no, 10), e.Clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Numbers 1..60 in 幸福社区, then 61..120 in 和谐社区: the newest page of everything is
	// none of 王书记's, so the broad read finds too few and the group filter is used.
	for i := range 60 {
		file(groups[i%len(groups)])
	}
	for range 60 {
		file(hexie)
	}
	wang, err := e.Store.GetPerson(ctx, "local:wang")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for page := 1; page <= 3; page++ {
		l, err := e.C.Ledger(ctx, console.ViewerOf(wang), console.LedgerQuery{State: "all", Page: page})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Rows) != console.PageSize {
			t.Fatalf("page %d has %d rows", page, len(l.Rows))
		}
		for i, r := range l.Rows {
			if r.GroupID == "local:hexie" || seen[r.No] || r.No != int64(60-(page-1)*console.PageSize-i) {
				t.Fatalf("page %d row %d: #%d in %s", page, i, r.No, r.GroupID)
			}
			seen[r.No] = true
		}
		if more := page < 3; l.More != more {
			t.Errorf("page %d: more = %v", page, l.More)
		}
	}
	// Now 王书记's are the newest: the broad read fills the page by itself.
	for i := range 30 {
		file(groups[i%len(groups)])
	}
	l, err := e.C.Ledger(ctx, console.ViewerOf(wang), console.LedgerQuery{State: "all", Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Rows) != console.PageSize || l.Rows[0].No != 150 || l.Rows[19].No != 131 || !l.More {
		t.Fatalf("newest page: %d rows from #%d to #%d", len(l.Rows), l.Rows[0].No, l.Rows[len(l.Rows)-1].No)
	}
}
