package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/scheduler"
)

// served runs the bot's own service loop on #1 in 幸福里: 李建国 takes it, does it on time,
// and 陈阿姨 gives five stars — points for 李建国 in November.
func served(t *testing.T, e *env) {
	t.Helper()
	e.Say("local:xingfuli", "local:chen", "@邻里帮 3栋2单元楼道灯坏了，电话13800001234")
	e.Say("local:xingfuli", "local:wang", "派单 1 截止 明天18点")
	e.Say("local:xingfuli", "local:li", "接单 1")
	e.Say("local:xingfuli", "local:li", "完成 1 已换灯泡")
	e.Say("local:xingfuli", "local:chen", "确认 1 5星")
	if it := e.Item(1); it.State != community.StateClosed {
		t.Fatalf("#1 not closed: %s", it.State)
	}
}

func TestPeopleRegistrationsThroughTheChatPath(t *testing.T) {
	e := newEnv(t)
	e.Say("local:xingfuli", "local:chen", "报到 陈秀英 3栋2单元")
	e.Say("local:hexie", "local:wu", "报到 吴秀兰 1栋")
	e.Say("local:yangguang", "local:liu", "报到 刘长山 2栋")

	wang := e.signIn(t, "local:wang")
	p := wang.get("/console/people")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="reg-1"`) || !strings.Contains(p.Body, "陈秀英") ||
		strings.Contains(p.Body, `id="reg-2"`) || strings.Contains(p.Body, "吴秀兰") {
		t.Fatalf("王书记's 人员:\n%s", p.Body)
	}
	// Members of the jurisdiction, not another community's.
	if !strings.Contains(p.Body, "李建国") || !strings.Contains(p.Body, "赵志强") || strings.Contains(p.Body, "钱志华") {
		t.Fatalf("王书记's members:\n%s", p.Body)
	}
	he := e.signIn(t, "local:he")
	if p := he.get("/console/people"); !strings.Contains(p.Body, `id="reg-2"`) || strings.Contains(p.Body, `id="reg-1"`) || strings.Contains(p.Body, "李建国") {
		t.Fatalf("何书记's 人员:\n%s", p.Body)
	}

	// Another community's request is not found, and stays pending.
	wang.get("/console/people")
	if p := wang.post("/console/people/registrations/2/approve", nil); p.Status != http.StatusNotFound {
		t.Fatalf("approving another community's request: %d", p.Status)
	}
	if p, _ := e.Store.GetPerson(context.Background(), "local:wu"); p.Role != community.RoleResident {
		t.Fatalf("吴奶奶 approved from another community: %+v", p)
	}
	// Without the CSRF token nothing happens.
	if p := wang.post("/console/people/registrations/1/approve", url.Values{"csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Fatalf("POST without the CSRF token: %d", p.Status)
	}
	if p, _ := e.Store.GetPerson(context.Background(), "local:chen"); p.Role != community.RoleResident {
		t.Fatalf("approved without a CSRF token: %+v", p)
	}

	// 同意: the person becomes a member and is told exactly as from the chat.
	before := e.Platform.Len()
	p = wang.post("/console/people/registrations/1/approve", nil)
	if p.Status != http.StatusOK || p.URL.Path != "/console/people" || !strings.Contains(p.Body, "已同意报到申请") || strings.Contains(p.Body, `id="reg-1"`) {
		t.Fatalf("approve: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	told := false
	for _, s := range e.flush(t, before) {
		told = told || s.UserID == "local:chen" && strings.Contains(s.Text, "您的报到申请 #1 已通过，现在可以认领群里的服务事项了")
	}
	if !told {
		t.Fatalf("陈阿姨 was not told: %v", e.Platform.Since(before))
	}
	if p, _ := e.Store.GetPerson(context.Background(), "local:chen"); p.Role != community.RoleMember || !p.Approved {
		t.Fatalf("after 同意: %+v", p)
	}

	// 拒绝 with a reason, through htmx: the list is redrawn with the chat's answer.
	before = e.Platform.Len()
	p = wang.hx("/console/people/registrations/3/refuse", url.Values{"reason": {"不是本小区党员"}})
	if p.Status != http.StatusOK || strings.Contains(p.Body, "<html") || !strings.Contains(p.Body, "已拒绝报到申请 #3（刘大爷），原因：不是本小区党员") {
		t.Fatalf("refuse: %d\n%s", p.Status, p.Body)
	}
	told = false
	for _, s := range e.flush(t, before) {
		told = told || s.UserID == "local:liu" && strings.Contains(s.Text, "您的报到申请 #3 未通过，原因：不是本小区党员")
	}
	if !told {
		t.Fatalf("刘大爷 was not told: %v", e.Platform.Since(before))
	}
	// Decided once: a second decision finds nothing.
	wang.get("/console/people")
	if p := wang.post("/console/people/registrations/3/approve", nil); p.Status != http.StatusNotFound {
		t.Fatalf("deciding twice: %d", p.Status)
	}
}

func TestPeopleMembersPointsAndGrids(t *testing.T) {
	e := newEnv(t)
	served(t, e)
	ctx := context.Background()
	if _, err := e.Store.UpdatePerson(ctx, "local:zhang", func(p *community.Person) error { p.Unit = "区税务局"; p.Phone = "13600007777"; return nil }); err != nil {
		t.Fatal(err)
	}
	wang := e.signIn(t, "local:wang")
	p := wang.get("/console/people")
	// 李建国's points as 我的积分 gives them.
	mine := e.Private("local:li", "我的积分")
	if len(mine) == 0 || !strings.Contains(mine[0].Text, "本月") {
		t.Fatalf("我的积分: %v", mine)
	}
	m := regexp.MustCompile(`本月\(11月\)：(\d+)分[^\n]*\n今年\(2026年\)：(\d+)分`).FindStringSubmatch(mine[0].Text)
	if m == nil || m[1] == "0" {
		t.Fatalf("我的积分: %s", mine[0].Text)
	}
	row := rowOf(p.Body, "李建国")
	if row == "" || !strings.Contains(row, `<td class="num">`+m[1]+`</td><td class="num">`+m[2]+`</td>`) || !strings.Contains(row, "5.0星（1次）") {
		t.Fatalf("李建国's row is not 我的积分's (%s, %s):\n%s", m[1], m[2], row)
	}
	// 共建单位 with its member and their contact.
	if !strings.Contains(p.Body, "区税务局") || !strings.Contains(p.Body, "张红梅（13600007777）") {
		t.Fatalf("units:\n%s", p.Body)
	}
	// The grid filter.
	p = wang.get("/console/people?grid=grid2")
	if !strings.Contains(p.Body, "赵志强") || rowOf(p.Body, "李建国") != "" {
		t.Fatalf("grid2:\n%s", p.Body)
	}
	// Another community's grid is not found.
	if p := wang.get("/console/people?grid=grid3"); p.Status != http.StatusNotFound || strings.Contains(p.Body, "钱志华") {
		t.Fatalf("another community's grid: %d", p.Status)
	}
}

// rowOf is the table row naming name ("" if none).
func rowOf(body, name string) string {
	i := strings.Index(body, "<td>"+name+"</td>")
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(body[:i], "<tr>")
	end := strings.Index(body[i:], "</tr>")
	return body[start : i+end]
}

func TestActivitiesCreateChangeAndJurisdiction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	wang := e.signIn(t, "local:wang")
	p := wang.get("/console/activities")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "主题党日") || !strings.Contains(p.Body, "社区联席会议") ||
		!strings.Contains(p.Body, "2026-12-04 15:00") {
		t.Fatalf("王书记's 活动:\n%s", p.Body)
	}

	// Bad input: the error in Chinese, everything typed kept.
	bad := url.Values{"kind": {"activity"}, "title": {"消防演练"}, "rule": {"每月第五十个周五 15:00"}, "place": {"小区广场"}, "scope": {"grid1"}, "remind": {"1天"}}
	p = wang.post("/console/activities", bad)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="form-error"`) || !strings.Contains(p.Body, "没看懂时间") ||
		!strings.Contains(p.Body, `value="消防演练"`) || !strings.Contains(p.Body, `value="每月第五十个周五 15:00"`) ||
		!strings.Contains(p.Body, `value="小区广场"`) || !strings.Contains(p.Body, `value="1天"`) || !strings.Contains(p.Body, `value="grid1" selected`) {
		t.Fatalf("bad rule: %d\n%s", p.Status, p.Body)
	}
	// A scope outside the jurisdiction is refused by the scheduler's own rule.
	outside := url.Values{"title": {"消防演练"}, "rule": {"每月15日 9:00"}, "scope": {"grid3"}}
	if p := wang.post("/console/activities", outside); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="form-error"`) {
		t.Fatalf("scope outside: %d\n%s", p.Status, p.Body)
	}

	good := url.Values{"kind": {"activity"}, "title": {"消防演练"}, "rule": {"每月15日 9:00"}, "place": {"小区广场"}, "scope": {"grid1"}}
	p = wang.post("/console/activities", good)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "已创建") || !strings.Contains(p.Body, "消防演练") || !strings.Contains(p.Body, "2026-12-15 09:00") {
		t.Fatalf("create: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	id := strings.TrimPrefix(p.URL.Path, "/console/activities/")
	sc := schedule(t, e, id)
	if sc.Title != "消防演练" || sc.Place != "小区广场" || len(sc.Nodes) != 1 || sc.Nodes[0] != "grid1" || sc.Source != scheduler.SourceChat || sc.CreatedBy != "local:wang" {
		t.Fatalf("created: %+v", sc)
	}
	// The chat lists it as any other.
	if l := e.Private("local:wang", "活动列表"); len(l) == 0 || !strings.Contains(l[0].Text, "消防演练（编号 "+sc.Number()+"）") {
		t.Fatalf("活动列表: %v", l)
	}

	// Change: a new place and time; a bad time shows the error with the form kept.
	p = wang.post("/console/activities/"+id, url.Values{"title": {"消防演练"}, "rule": {"每月三十二日 9:00"}, "place": {"社区活动室"}, "scope": {"grid1"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="form-error"`) || !strings.Contains(p.Body, `value="社区活动室"`) {
		t.Fatalf("bad change: %d\n%s", p.Status, p.Body)
	}
	p = wang.post("/console/activities/"+id, url.Values{"title": {"消防演练"}, "rule": {"每月20日 14:30"}, "place": {"社区活动室"}, "scope": {"grid1"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "已修改") || !strings.Contains(p.Body, "2026-12-20 14:30") {
		t.Fatalf("change: %d\n%s", p.Status, p.Body)
	}
	if sc := schedule(t, e, id); sc.Place != "社区活动室" || sc.Rev != 2 || !strings.Contains(sc.Rule, "20") {
		t.Fatalf("changed: %+v", sc)
	}
	// The form as shown, sent back unchanged, changes nothing and says so.
	p = wang.get("/console/activities/" + id)
	if !strings.Contains(p.Body, `id="change"`) || !strings.Contains(p.Body, `value="每月20日 14:30"`) {
		t.Fatalf("the change form:\n%s", p.Body)
	}
	p = wang.post("/console/activities/"+id, url.Values{"title": {"消防演练"}, "rule": {"每月20日 14:30"}, "place": {"社区活动室"}, "scope": {"grid1"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "没有要修改的内容") || schedule(t, e, id).Rev != 2 {
		t.Fatalf("an unchanged form: %d\n%s", p.Status, p.Body)
	}
	// A configured schedule is not offered for change, and the scheduler refuses it.
	if p := wang.get("/console/activities/theme-day"); p.Status != http.StatusOK || strings.Contains(p.Body, `id="change"`) || !strings.Contains(p.Body, "配置文件") {
		t.Fatalf("a configured schedule: %d\n%s", p.Status, p.Body)
	}
	if p := wang.post("/console/activities/theme-day", url.Values{"title": {"主题党日"}, "place": {"别处"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "配置文件") {
		t.Fatalf("changing a configured schedule: %d\n%s", p.Status, p.Body)
	}

	// 何书记 sees neither 幸福社区's meeting nor its new activity: not found, and not changeable.
	he := e.signIn(t, "local:he")
	p = he.get("/console/activities")
	if !strings.Contains(p.Body, "主题党日") || strings.Contains(p.Body, "联席会议") || strings.Contains(p.Body, "消防演练") {
		t.Fatalf("何书记's 活动:\n%s", p.Body)
	}
	for _, path := range []string{"/console/activities/joint-meeting", "/console/activities/" + id, "/console/activities/" + id + "/" + id + "@202612201430"} {
		if p := he.get(path); p.Status != http.StatusNotFound {
			t.Fatalf("%s for 何书记: %d", path, p.Status)
		}
	}
	if p := he.post("/console/activities/"+id, url.Values{"title": {"改掉"}, "rule": {"每月20日 14:30"}}); p.Status != http.StatusNotFound {
		t.Fatalf("何书记 changing 幸福社区's activity: %d", p.Status)
	}
	if sc := schedule(t, e, id); sc.Title != "消防演练" {
		t.Fatalf("changed by another community: %+v", sc)
	}
	_ = ctx
}

func schedule(t *testing.T, e *env, id string) scheduler.Schedule {
	t.Helper()
	raw, err := e.Store.GetDoc(context.Background(), scheduler.CollSchedules, id)
	if err != nil {
		t.Fatalf("schedule %s: %v", id, err)
	}
	var sc scheduler.Schedule
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestActivitySignupsAndAttendance(t *testing.T) {
	e := newEnv(t)
	e.Say("local:xingfuli", "local:li", "报名 主题党日")
	e.Say("local:xingfuli", "local:zhang", "请假 主题党日 家里有事")
	e.Say("local:hexie", "local:qian", "报名 主题党日")
	wang := e.signIn(t, "local:wang")
	occ := "/console/activities/theme-day/theme-day@202612041500"
	p := wang.get("/console/activities")
	if !strings.Contains(p.Body, `href="`+occ+`"`) {
		t.Fatalf("the coming 主题党日:\n%s", p.Body)
	}
	p = wang.get(occ)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "李建国") || !strings.Contains(p.Body, "张红梅") || !strings.Contains(p.Body, "家里有事") ||
		strings.Contains(p.Body, "钱志华") || !strings.Contains(p.Body, "另有其他辖区 1 人") {
		t.Fatalf("王书记's sign-ups: %d\n%s", p.Status, p.Body)
	}
	he := e.signIn(t, "local:he")
	if p := he.get(occ); !strings.Contains(p.Body, "钱志华") || strings.Contains(p.Body, "李建国") {
		t.Fatalf("何书记's sign-ups:\n%s", p.Body)
	}
	if p := wang.get("/console/activities/theme-day/theme-day@202612051500"); p.Status != http.StatusNotFound {
		t.Fatalf("a date that is not one: %d", p.Status)
	}
}

func TestReportsMonthlyRankingChartAndWorkbook(t *testing.T) {
	e := newEnv(t)
	served(t, e)
	e.Say("local:hexie", "local:wu", "@邻里帮 1栋门口水管漏水了")
	wang := e.signIn(t, "local:wang")
	p := wang.get("/console/reports?month=2026-11")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "2026年11月 台账月报") || !strings.Contains(p.Body, "范围：幸福社区") ||
		rowOf(p.Body, "李建国") == "" || !strings.Contains(p.Body, `src="/console/reports/chart-2026-11.png"`) {
		t.Fatalf("王书记's 报表:\n%s", p.Body)
	}
	// The same text as the chat's 月报.
	var card string
	for _, s := range e.Private("local:wang", "月报 11月") {
		if s.Card != nil {
			card = s.Card.Text
		}
	}
	if card == "" || !strings.Contains(p.Body, strings.SplitN(card, "\n", 3)[1]) {
		t.Fatalf("月报 card %q not on the page", card)
	}
	he := e.signIn(t, "local:he")
	if p := he.get("/console/reports"); !strings.Contains(p.Body, "范围：和谐社区") || strings.Contains(p.Body, "李建国") {
		t.Fatalf("何书记's 报表:\n%s", p.Body)
	}
	if p := wang.get("/console/reports?month=2027-01"); p.Status != http.StatusBadRequest {
		t.Fatalf("a month to come: %d", p.Status)
	}

	// The chart is served by the console, a PNG.
	c := wang.get("/console/reports/chart-2026-11.png")
	if c.Status != http.StatusOK || c.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(c.Body, "\x89PNG") {
		t.Fatalf("chart: %d %s", c.Status, c.Header.Get("Content-Type"))
	}
	// The workbook: a UTF-8 file name, a valid workbook holding the jurisdiction only.
	x := wang.get("/console/reports/ledger-2026-11.xlsx")
	if x.Status != http.StatusOK || x.Header.Get("Content-Disposition") != "attachment; filename*=UTF-8''"+url.PathEscape("台账-幸福社区-2026-11.xlsx") {
		t.Fatalf("workbook: %d %q", x.Status, x.Header.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(x.Body)))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	var all strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			all.WriteString(strings.Join(r, "|") + "\n")
		}
	}
	if !strings.Contains(all.String(), "李建国") || !strings.Contains(all.String(), "楼道灯") || strings.Contains(all.String(), "水管") {
		t.Fatalf("workbook content:\n%s", all.String())
	}
	if x := wang.get("/console/reports/ledger-2026.xlsx"); x.Status != http.StatusOK || !strings.Contains(x.Header.Get("Content-Disposition"), url.PathEscape("台账-幸福社区-2026.xlsx")) {
		t.Fatalf("the year's workbook: %d %q", x.Status, x.Header.Get("Content-Disposition"))
	}
	for _, bad := range []string{"ledger-2027-01.xlsx", "ledger-x.xlsx", "chart-2026.png", "secret.txt"} {
		if x := wang.get("/console/reports/" + bad); x.Status != http.StatusNotFound {
			t.Fatalf("%s: %d", bad, x.Status)
		}
	}
}

func TestPagesRefuseWhoMayNotUseTheConsole(t *testing.T) {
	e := newEnv(t)
	e.Say("local:xingfuli", "local:chen", "报到 陈秀英 3栋2单元")
	wang := e.signIn(t, "local:wang")
	wang.get("/console/people")
	// Demoted to member after signing in: refused, and the session ends.
	if _, err := e.Store.UpdatePerson(context.Background(), "local:wang", func(p *community.Person) error { p.Role = community.RoleMember; return nil }); err != nil {
		t.Fatal(err)
	}
	if p := wang.get("/console/people"); p.Status != http.StatusForbidden || strings.Contains(p.Body, "陈秀英") {
		t.Fatalf("人员 for a member: %d", p.Status)
	}
	for _, path := range []string{"/console/activities", "/console/reports", "/console/reports/ledger-2026-11.xlsx", "/console/activities/theme-day"} {
		if p := wang.get(path); p.URL.Path != "/console/login" || strings.Contains(p.Body, "主题党日") {
			t.Fatalf("%s for a member: %d at %s", path, p.Status, p.URL)
		}
	}
	// A member who signs in again is refused the console.
	for _, s := range e.Private("local:wang", "控制台") {
		if linkRE.MatchString(s.Text) {
			t.Fatalf("a member got a sign-in link: %s", s.Text)
		}
	}
	// A browser without a session is sent to sign in.
	anon := e.browser(t)
	for _, path := range []string{"/console/people", "/console/activities", "/console/reports"} {
		if p := anon.get(path); p.URL.Path != "/console/login" {
			t.Fatalf("%s without a session: %s", path, p.URL)
		}
	}
	if p := anon.post("/console/people/registrations/1/approve", url.Values{"csrf": {"x"}}); p.Status != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d", p.Status)
	}
}
