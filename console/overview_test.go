package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/console"
)

func TestOverviewCountsAndTrend(t *testing.T) {
	e := newEnv(t)
	// Three weeks ago: a need filed, dispatched with a deadline, claimed, never done.
	e.Clock.Advance(-21 * 24 * time.Hour)
	e.Say("local:xingfuli", "local:chen", "@邻里帮 3栋2单元楼道灯坏了") // #1
	e.Say("local:xingfuli", "local:wang", "派单 1 截止 明天18点")
	e.Say("local:xingfuli", "local:li", "接单 1")
	e.Clock.Advance(14 * 24 * time.Hour)                  // last week: one filed and closed
	e.Say("local:yangguang", "local:liu", "@邻里帮 2栋电梯不动了") // #2
	e.Say("local:yangguang", "local:wang", "派单 2")
	e.Say("local:yangguang", "local:zhao", "接单 2")
	e.Say("local:yangguang", "local:zhao", "完成 2")
	e.Say("local:yangguang", "local:liu", "确认 2 5星")
	e.Clock.Advance(7 * 24 * time.Hour)                     // this week (Monday 11-23): one done, awaiting confirmation
	e.Say("local:xingfuli", "local:chen", "@邻里帮 5栋门口垃圾没清运") // #3
	e.Say("local:xingfuli", "local:wang", "派单 3")
	e.Say("local:xingfuli", "local:li", "接单 3")
	e.Say("local:xingfuli", "local:li", "完成 3")
	e.Say("local:hexie", "local:wu", "@邻里帮 1栋门口水管漏水了") // #4, 和谐社区's

	ov := overview(t, e, "local:wang")
	if ov.Totals.Open != 2 || ov.Totals.Overdue != 1 || ov.Totals.Done != 1 || ov.Totals.ClosedMonth != 1 {
		t.Errorf("王书记's totals: %+v", ov.Totals)
	}
	var names []string
	for _, p := range ov.Places {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "幸福社区,1网格,2网格" {
		t.Errorf("王书记's places: %v", names)
	}
	if g1 := ov.Places[1]; g1.Open != 2 || g1.Overdue != 1 || g1.Done != 1 {
		t.Errorf("1网格: %+v", g1)
	}
	if len(ov.Weeks) != console.TrendWeeks {
		t.Fatalf("%d weeks", len(ov.Weeks))
	}
	last := ov.Weeks[len(ov.Weeks)-4:]
	filed := []int{last[0].Filed, last[1].Filed, last[2].Filed, last[3].Filed}
	closed := []int{last[0].Closed, last[1].Closed, last[2].Closed, last[3].Closed}
	if filed[0] != 1 || filed[1] != 0 || filed[2] != 1 || filed[3] != 1 { // #4 is 和谐社区's
		t.Errorf("filed by week: %v", filed)
	}
	if closed[2] != 1 || closed[0]+closed[1]+closed[3] != 0 {
		t.Errorf("closed by week: %v", closed)
	}
	if !last[3].Start.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, last[3].Start.Location())) {
		t.Errorf("this week starts %v", last[3].Start)
	}
	if len(ov.Overdue) != 1 || ov.Overdue[0].No != 1 {
		t.Errorf("most overdue: %v", ov.Overdue)
	}
	// 和谐社区's secretary: only their own community.
	he := overview(t, e, "local:he")
	if he.Totals.Open != 1 || len(he.Places) != 2 || he.Places[0].Name != "和谐社区" {
		t.Errorf("何书记's overview: %+v %+v", he.Totals, he.Places)
	}
	// The street: both communities.
	zhou := overview(t, e, "local:zhou")
	if zhou.Totals.Open != 3 || len(zhou.Places) != 5 {
		t.Errorf("周书记's overview: %+v %d places", zhou.Totals, len(zhou.Places))
	}
	// The page renders it, the chart as inline SVG.
	b := e.signIn(t, "local:wang")
	p := b.get("/console/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "<svg class=\"chart\"") || !strings.Contains(p.Body, `href="/console/items/1"`) {
		t.Fatalf("overview page:\n%s", p.Body)
	}
}

// overview computes 总览 as user sees it.
func overview(t *testing.T, e *env, user string) *console.Overview {
	t.Helper()
	ctx := context.Background()
	p, err := e.Store.GetPerson(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	ov, err := e.C.Overview(ctx, console.ViewerOf(p))
	if err != nil {
		t.Fatal(err)
	}
	return ov
}
