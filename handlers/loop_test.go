package handlers_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/store"
)

const (
	g1        = "local:xingfuli"
	g2        = "local:yangguang"
	chen      = "local:chen" // resident, grid1, phone in the demo
	liu       = "local:liu"  // resident, grid2
	li        = "local:li"   // member
	zhang     = "local:zhang"
	zhao      = "local:zhao"
	wang      = "local:wang" // secretary
	sun       = "local:sun"  // grid worker
	needText  = "@邻里帮 3栋2单元楼道灯坏了，电话13812345678"
	fullPhone = "13812345678"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./handlers -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./handlers -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func texts(sent []bottest.Sent) string { return bottest.Transcript(sent) }

// inGroups is what the groups saw of sent; privately is what went to user privately.
func inGroups(sent []bottest.Sent) string {
	var g []bottest.Sent
	for _, s := range sent {
		if s.UserID == "" {
			g = append(g, s)
		}
	}
	return texts(g)
}

func privately(sent []bottest.Sent, user string) string {
	var p []bottest.Sent
	for _, s := range sent {
		if s.UserID == user {
			p = append(p, s)
		}
	}
	return texts(p)
}

func mustContain(t *testing.T, sent []bottest.Sent, subs ...string) {
	t.Helper()
	all := texts(sent)
	for _, s := range subs {
		if !strings.Contains(all, s) {
			t.Errorf("missing %q in:\n%s", s, all)
		}
	}
}

// TestServiceLoop plays the whole 四单 loop and keeps its transcript as a golden file.
func TestServiceLoop(t *testing.T) {
	h := newBot(t)
	var log []string
	step := func(who string, sent []bottest.Sent) []bottest.Sent {
		log = append(log, "> "+who, texts(sent))
		return sent
	}

	// 点单
	sent := step("陈阿姨: "+needText, h.Say(g1, chen, needText))
	mustContain(t, sent, "#1", "138****5678", "[私信 local:wang]", fullPhone)
	for _, s := range sent {
		if s.UserID == "" && strings.Contains(s.Text, fullPhone) {
			t.Errorf("full phone shown in the group: %s", s)
		}
	}
	if it := h.Item(1); it.State != community.StateNeed || it.RequesterID != chen {
		t.Fatalf("need: %+v", it)
	}

	// 下单
	sent = step("王书记: 派单 1 截止 明天 需要1人", h.Say(g1, wang, "派单 1 截止 明天 需要1人"))
	mustContain(t, sent, "卡片{#1 服务事项 · 待认领", "[接单]")
	cardID, _ := h.Platform.Card("item:1")

	// 接单: a reply to the card, then a late second claimer.
	sent = step("李建国 (回复卡片): 我来", h.ReplyTo(g1, li, cardID, "我来"))
	mustContain(t, sent, "李建国 认领了 #1", "更新卡片{#1 服务事项 · 办理中", "[私信 local:li]", fullPhone, "3栋2单元502")
	sent = step("张红梅: 接单 1", h.Say(g1, zhang, "接单 1"))
	mustContain(t, sent, "已由 李建国 认领")

	// 完成
	sent = step("李建国: 完成 1 已换灯泡", h.Say(g1, li, "完成 1 已换灯泡"))
	mustContain(t, sent, "#1 已完成", "@陈阿姨", "确认 1 5星")

	// 回单
	sent = step("陈阿姨: 确认 1 5星 很及时", h.Say(g1, chen, "确认 1 5星 很及时"))
	mustContain(t, sent, "已办结", "★★★★★")
	it := h.Item(1)
	if it.State != community.StateClosed || it.Stars != 5 || it.Comment != "很及时" {
		t.Fatalf("closed item: %+v", it)
	}
	p, _ := h.Store.GetPerson(context.Background(), li)
	if p.Points != community.PointsFor(community.ActClaim)+community.PointsFor(community.ActComplete) {
		t.Errorf("points = %d", p.Points)
	}
	golden(t, "loop.golden", strings.Join(log, "\n")+"\n")
}

// 我的任务 shows the points the ledger (台账) works out from the items' histories, this month
// and this year, not the points stored on the person.
func TestMyTasksShowsLedgerPoints(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1 截止 明天")
	h.Say(g1, li, "接单 1")
	mustContain(t, h.Say(g1, li, "我的任务"), "（积分：本月 0，本年 0）", "#1")
	h.Say(g1, li, "完成 1 已换灯泡")
	h.Say(g1, chen, "确认 1 5星")
	// 10 for completing, 5 on time, 2 a star.
	mustContain(t, h.Say(g1, li, "我的任务"), "（积分：本月 25，本年 25）")
	mustContain(t, h.Private(li, "我的信息"), "积分：本月 25，本年 25")
	if p := person(t, h, li); p.Points == 25 {
		t.Fatalf("stored points happen to equal the ledger's; the test proves nothing: %+v", p)
	}
	// A new month starts at 0; the year keeps them.
	h.Clock.Advance(10 * 24 * time.Hour) // 3 December
	mustContain(t, h.Say(g1, li, "我的任务"), "（积分：本月 0，本年 25）")
}

func TestFollowUpAndReopen(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1")
	h.Say(g1, li, "接单 1")
	h.Say(g1, li, "完成 1")
	sent := h.Say(g1, chen, "评价 1 ★★ 灯还是闪")
	mustContain(t, sent, "书记会尽快回访", "[私信 local:wang] ☎️ 回访：#1 评价 ★★☆☆☆")
	if st := h.Item(1).State; st != community.StateFollowUp {
		t.Fatalf("state %s", st)
	}
	sent = h.Say(g1, wang, "重办 1")
	mustContain(t, sent, "重新办理", "[私信 local:li] 🔁 #1 需要重办")
	if st := h.Item(1).State; st != community.StateClaimed {
		t.Fatalf("after reopen %s", st)
	}
	h.Say(g1, li, "完成 1 换了新灯")
	sent = h.Say(g1, chen, "不满意 1 还是不亮")
	mustContain(t, sent, "已转书记回访")
	sent = h.Say(g1, wang, "办结 1 已电话回访，物业换线路")
	mustContain(t, sent, "已办结销号")
	if st := h.Item(1).State; st != community.StateClosed {
		t.Fatalf("after closeout %s", st)
	}
}

func TestRefusalsAndHints(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	tests := []struct {
		user, text, want string
	}{
		{chen, "派单 1", "只有书记可以派单"},
		{li, "派单 1", "只有书记可以派单"},
		{li, "接单 1", "还在等书记派单"},
		{chen, "发布 清理楼道", "只有书记可以发布"},
		{li, "接单 99", "没有找到 #99"},
		{li, "接单", "单号"},
		{chen, "@邻里帮 ？？", "帮助"},
		{chen, "确认 1 9星", "星"},
		{wang, "同意 不存在的人", "没有找到待确认的报到"},
		{wang, "同意 7", "没有找到待审核的报到申请 #7"},
		{chen, "同意 1", "只有书记可以审核"},
		{chen, "绑定 1网格", "只有书记可以绑定"},
	}
	for _, tt := range tests {
		sent := h.Say(g1, tt.user, tt.text)
		if len(sent) == 0 {
			t.Errorf("%s %q: silence", tt.user, tt.text)
			continue
		}
		mustContain(t, sent, tt.want)
		if s := texts(sent); strings.Contains(s, "panic") || strings.Contains(s, "goroutine") {
			t.Errorf("internal details leaked: %s", s)
		}
	}
	// Neighbours chatting without the bot are left alone.
	if sent := h.Say(g1, chen, "今天天气不错"); len(sent) != 0 {
		t.Errorf("bot answered ordinary chat: %s", texts(sent))
	}
	// A resident may not claim even a dispatched item.
	h.Say(g1, wang, "派单 1")
	mustContain(t, h.Say(g1, chen, "接单 1"), "接单需要党员身份")
}

func TestHelpByRole(t *testing.T) {
	h := newBot(t)
	var all []string
	for _, u := range []string{chen, li, wang} {
		sent := h.Say(g1, u, "帮助")
		all = append(all, texts(sent))
	}
	if strings.Contains(all[0], "派单") || strings.Contains(all[0], "接单 12") {
		t.Errorf("resident sees member/secretary commands:\n%s", all[0])
	}
	if !strings.Contains(all[1], "接单") || strings.Contains(all[1], "派单 12") {
		t.Errorf("member help:\n%s", all[1])
	}
	if !strings.Contains(all[2], "派单") {
		t.Errorf("secretary help:\n%s", all[2])
	}
	for _, text := range all {
		if strings.Contains(text, "%!") {
			t.Errorf("help shows a formatting error:\n%s", text)
		}
	}
	golden(t, "help.golden", strings.Join(all, "\n---\n")+"\n")
}

func TestCardButtons(t *testing.T) {
	h := newBot(t)
	h.Say(g1, wang, "发布 周六上午清理楼道 需要2人 截止 周六12点")
	it := h.Item(1)
	if it.Slots != 2 || it.State != community.StateOpen || it.Deadline.Weekday() != time.Saturday {
		t.Fatalf("posted: %+v", it)
	}
	mustContain(t, h.Tap(g1, li, "item:1", "claim", ""), "李建国 认领了 #1，还差1人")
	mustContain(t, h.Tap(g1, zhang, "item:1", "claim", ""), "张红梅 认领了 #1")
	_, card := h.Platform.Card("item:1")
	if !strings.Contains(card.Title, "办理中") || card.Fields[1].Value != "2/2" {
		t.Fatalf("card not updated in place: %+v", card)
	}
	mustContain(t, h.Tap(g1, zhao, "item:1", "complete", ""), "只有认领人")
	h.Tap(g1, zhang, "item:1", "complete", "")
	// The poster (the secretary) is the recipient of a directly posted item.
	mustContain(t, h.Tap(g1, wang, "item:1", "rate", "4"), "已办结", "★★★★☆")
	_, card = h.Platform.Card("item:1")
	if !strings.Contains(card.Title, "已办结") || len(card.Buttons) != 0 {
		t.Errorf("closed card: %+v", card)
	}
	golden(t, "card_closed.golden", fmt.Sprintf("%+v\n", *card))
}

func TestRestartKeepsEverything(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1")
	h.Say(g1, li, "接单 1")
	h.Say(g1, li, "完成 1")
	h.Say(g1, chen, "确认 1 4星 不错")
	h.Say(g2, liu, "@邻里帮 2栋门口路灯不亮")
	h.Restart()
	it := h.Item(1)
	if it.State != community.StateClosed || it.Stars != 4 || it.ClaimerNames() != "李建国" || len(it.History) != 5 {
		t.Fatalf("after restart: %+v", it)
	}
	if it := h.Item(2); it.State != community.StateNeed {
		t.Fatalf("need 2 after restart: %+v", it)
	}
	// Numbering continues without a gap.
	mustContain(t, h.Say(g2, liu, "@邻里帮 垃圾桶满了"), "#3")
	mustContain(t, h.Say(g1, chen, "我的"), "#1", "已办结")
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	h := newBot(t)
	h.Say(g1, wang, "发布 送药上门")
	ctx := context.Background()
	// 100 members, registered directly in the store.
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("local:m%03d", i)
		if err := h.Store.PutPerson(ctx, community.Person{ID: id, Name: fmt.Sprintf("党员%03d", i), Role: community.RoleMember, Node: "grid1", Approved: true}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	outs := make([][]bot.Outbound, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := bot.Message{EventID: fmt.Sprintf("c%d", i), Platform: "local", ChatID: "xingfuli", GroupID: g1,
				UserID: fmt.Sprintf("local:m%03d", i), Text: "接单 1", At: h.Clock.Now()}
			o, err := h.Engine.Handle(ctx, m)
			if err != nil {
				t.Error(err)
			}
			outs[i] = o
		}()
	}
	wg.Wait()
	it := h.Item(1)
	if len(it.Claims) != 1 || it.State != community.StateClaimed {
		t.Fatalf("claims = %v", it.Claims)
	}
	winner := it.Claims[0].Name
	wins := 0
	for _, o := range outs {
		all := ""
		for _, x := range o {
			all += x.Text + "\n"
		}
		switch {
		case strings.Contains(all, "认领了 #1"):
			wins++
		case !strings.Contains(all, "已由 "+winner+" 认领"):
			t.Errorf("loser not told who has it: %q", all)
		}
	}
	if wins != 1 {
		t.Fatalf("%d winners", wins)
	}
}

func TestRegisterApproveBind(t *testing.T) {
	h := newBot(t)
	newbie := "local:newbie"
	mustContain(t, h.Say(g1, newbie, "报到 钱多多 5栋1单元"), "报到申请 #1 已提交", "[私信 local:wang] 🙋 报到申请 #1：未登记姓名（自称：钱多多，5栋1单元）", "同意 1")
	// Not yet approved: still a resident.
	h.Say(g1, wang, "发布 帮忙搬桌子")
	mustContain(t, h.Say(g1, newbie, "接单 1"), "接单需要党员身份")
	mustContain(t, h.Say(g1, wang, "同意 钱多多"), "已同意报到申请 #1（钱多多）", "[私信 local:newbie]")
	mustContain(t, h.Say(g1, newbie, "接单 1"), "钱多多 认领了 #1")

	mustContain(t, h.Say(g2, wang, "绑定 2网格"), "已绑定到 2网格")
	g, err := h.Store.GetGroup(context.Background(), g2)
	if err != nil || g.Node != "grid2" {
		t.Fatalf("group %+v %v", g, err)
	}
	mustContain(t, h.Say(g2, wang, "绑定 火星网格"), "没有找到")
}

func TestTodoAndLists(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1 截止 明天")
	h.Say(g2, liu, "@邻里帮 2栋门口路灯不亮")
	h.Say(g2, wang, "派单 2 截止 后天")
	h.Say(g1, li, "接单 1")
	h.Clock.Advance(33 * time.Hour) // Tuesday 19:00: item 1 (due Tuesday 18:00) is overdue
	sent := h.Say(g1, wang, "待办")
	mustContain(t, sent, "您辖区共 2 项未办结，其中超期 1 项、待派单 0 项、待认领 1 项", "#1", "#2", "⚠已超期")
	// The jurisdiction's list goes to the secretary privately; the group hears only that.
	if g := inGroups(sent); strings.Contains(g, "#1") || !strings.Contains(g, "已私信您") {
		t.Errorf("secretary's 待办 in the group:\n%s", g)
	}
	if p := privately(sent, wang); !strings.Contains(p, "您辖区共 2 项") {
		t.Errorf("secretary's 待办 not sent privately:\n%s", texts(sent))
	}
	if p := texts(h.Private(wang, "待办")); !strings.Contains(p, "您辖区共 2 项") || strings.Contains(p, "已私信") {
		t.Errorf("secretary's 待办 in the private chat:\n%s", p)
	}
	if s := texts(sent); strings.Index(s, "#1") > strings.Index(s, "#2") {
		t.Errorf("overdue item not first:\n%s", s)
	}
	mustContain(t, h.Say(g1, li, "我的任务"), "#1", "积分")
	mustContain(t, h.Say(g2, zhao, "待办"), "#2")
	if s := texts(h.Say(g1, zhao, "待办")); strings.Contains(s, "#2") {
		t.Errorf("other group's item in a member's 待办: %s", s)
	}
	mustContain(t, h.Say(g1, chen, "查看 1"), "办理记录", "派单")
}

// TestTodoMany: with more than fits, a secretary's 待办 gives the totals, then the overdue
// items by deadline, then the newest of the rest, 20 lines in all.
func TestTodoMany(t *testing.T) {
	h := newBot(t)
	ctx := context.Background()
	g, err := h.Store.GetGroup(ctx, g1)
	if err != nil {
		t.Fatal(err)
	}
	sec := community.Actor{ID: wang, Name: "王书记", Role: community.RoleSecretary}
	now := h.Clock.Now()
	add := func(build func(no int64) (*community.Item, error)) {
		t.Helper()
		if _, err := h.Store.CreateItem(ctx, build); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		deadline := now.Add(48 * time.Hour)
		if i < 5 { // #1..#5 due in 5h..1h: #5 is the most overdue
			deadline = now.Add(time.Duration(5-i) * time.Hour)
		}
		add(func(no int64) (*community.Item, error) {
			return community.NewPost(no, g, sec, fmt.Sprintf("活动%d", no), 1, deadline, now)
		})
	}
	for range 2 {
		add(func(no int64) (*community.Item, error) {
			return community.NewNeed(no, g, community.Actor{ID: chen, Name: "陈"}, community.Actor{ID: chen, Name: "陈"}, fmt.Sprintf("需求%d", no), now)
		})
	}
	h.Clock.Advance(10 * time.Hour)
	sent := texts(h.Say(g1, wang, "待办"))
	if !strings.Contains(sent, "您辖区共 27 项未办结，其中超期 5 项、待派单 2 项、待认领 25 项") || !strings.Contains(sent, "……另有7项") {
		t.Fatalf("totals missing:\n%s", sent)
	}
	var order []string
	for _, line := range strings.Split(sent, "\n") {
		if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(line, "项未办结") {
			order = append(order, strings.Fields(line[i:])[0])
		}
	}
	want := []string{"#5", "#4", "#3", "#2", "#1", "#27", "#26", "#25", "#24", "#23", "#22", "#21", "#20", "#19", "#18", "#17", "#16", "#15", "#14", "#13"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("order %v, want %v\n%s", order, want, sent)
	}
	if n := strings.Count(sent, "⚠已超期"); n != 5 {
		t.Errorf("%d overdue marks, want 5:\n%s", n, sent)
	}
}

func TestCancelResched(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1 截止 明天")
	mustContain(t, h.Say(g1, wang, "改期 1 截止 11月30日"), "截止时间改为 11月30日 18:00")
	mustContain(t, h.Say(g1, wang, "督办 1 抓紧"), "已督办（第1次）")
	h.Say(g1, li, "接单 1")
	mustContain(t, h.Say(g1, chen, "取消 1"), "联系书记")
	mustContain(t, h.Say(g1, wang, "取消 1 重复提交"), "#1 已取消，原因：重复提交", "[私信 local:li]")
	mustContain(t, h.Say(g1, li, "完成 1"), "已取消")
}

// TestStoreDownAnswersClearly: when the store fails, people are told to try later.
func TestStoreDown(t *testing.T) {
	h := newBot(t)
	h.Store.Close()
	_, err := h.Engine.Handle(context.Background(), h.Message(g1, chen, needText))
	var ue *store.UnavailableError
	if err == nil || !asUnavailable(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	if bot.UserMessage(err) != "服务暂时不可用，请稍后再试。" {
		t.Errorf("message %q", bot.UserMessage(err))
	}
	h.Restart() // reopen so cleanup can close it
}

func asUnavailable(err error, target **store.UnavailableError) bool {
	for e := err; e != nil; {
		if u, ok := e.(*store.UnavailableError); ok {
			*target = u
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// TestEventHandledTwiceFilesOnce: the pipeline may hand an event out again after a crash
// mid-handling; the need is filed once and the replies are the same messages (same ids).
func TestEventHandledTwiceFilesOnce(t *testing.T) {
	h := newBot(t)
	m := h.Message(g1, chen, needText)
	first := h.Handle(m)
	again := h.Handle(m)
	if len(again) != 0 {
		t.Errorf("re-handling sent more: %s", texts(again))
	}
	mustContain(t, first, "#1")
	if _, err := h.Store.GetItem(context.Background(), 2); community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("a second item exists: %v", err)
	}
	mustContain(t, h.Say(g1, chen, "@邻里帮 另一件事"), "#2")
}

// TestPrivateNeed: a resident writing to the bot privately (a WeCom app chat) files the need
// for their home compound's group.
func TestPrivateNeed(t *testing.T) {
	h := newBot(t)
	sent := h.Private(chen, "家里水管漏水了，电话13812345678")
	mustContain(t, sent, "#1", "已登记到幸福里小区群", "[私信 local:wang]")
	if it := h.Item(1); it.GroupID != g1 || it.RequesterID != chen {
		t.Fatalf("private need: %+v", it)
	}
	// A stranger with no home compound is asked to write in the group.
	mustContain(t, h.Private("local:stranger", "家里水管漏水了"), "没听懂")
}

// When the ledger cannot be read, 我的任务 still lists the tasks, without points.
func TestMyTasksWithoutLedger(t *testing.T) {
	failing := func(env bottest.Env) (bottest.Bot, error) {
		h := &handlers.Handlers{Store: env.Store, Tree: env.Tree, BotName: env.Config.BotName, Log: env.Log,
			Points: func(context.Context, string) (int, int, error) { return 0, 0, errors.New("store down") }}
		m := bot.NewMux(env.Config.BotName)
		m.Pending, m.Refs = env.Store, env.Store
		if err := h.Register(m); err != nil {
			return bottest.Bot{}, err
		}
		return bottest.Bot{Handler: m.ServeBot, Refresh: h.RefreshCard(env.Now)}, nil
	}
	h := bottest.New(t, failing)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1")
	h.Say(g1, li, "接单 1")
	sent := h.Say(g1, li, "我的任务")
	mustContain(t, sent, "您认领的任务：", "#1")
	mustNotContain(t, sent, "积分")
}
