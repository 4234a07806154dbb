package notices_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/notices"
)

func smallTree(t *testing.T) *community.Tree {
	t.Helper()
	tree, err := community.NewTree([]community.Node{
		{ID: "street", Name: "城关街道", Kind: community.KindStreet},
		{ID: "xingfu", Name: "幸福社区", Kind: community.KindCommunity, Parent: "street"},
		{ID: "grid1", Name: "1网格", Kind: community.KindGrid, Parent: "xingfu"},
		{ID: "grid1-b3", Name: "3栋", Kind: community.KindBuilding, Parent: "grid1"},
		{ID: "grid2", Name: "2网格", Kind: community.KindGrid, Parent: "xingfu"},
		{ID: "hongqi", Name: "红旗社区", Kind: community.KindCommunity, Parent: "street"},
		{ID: "grid3", Name: "3网格", Kind: community.KindGrid, Parent: "hongqi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

const (
	g1  = "feishu:oc_1"
	g2  = "feishu:oc_2"
	g3  = "wecom:wr_3"
	sec = "feishu:sec"
	st  = "feishu:street"
	pa  = "feishu:a"
	pb  = "feishu:b"
	pc  = "feishu:c"
	pd  = "feishu:d"
	pe  = "wecom:e"
)

// smallEnv is a street with two communities, three groups and a few people.
func smallEnv(t *testing.T) *env {
	t.Helper()
	fs := newFake("feishu", nil, 1)
	fs.update = true
	e := newEnv(t, smallTree(t), fs, newFake("wecom", nil, 2))
	seed(t, e.st, []community.Person{
		{ID: sec, Name: "王书记", Role: community.RoleSecretary, Node: "xingfu"},
		{ID: st, Name: "街道刘书记", Role: community.RoleStreet, Node: "street"},
		{ID: pa, Name: "张三", Role: community.RoleResident, Node: "grid1"},
		{ID: pb, Name: "李四", Role: community.RoleResident, Node: "grid1-b3"},
		{ID: pc, Name: "王五", Role: community.RoleMember, Node: "grid1"},
		{ID: pd, Name: "赵六", Role: community.RoleResident, Node: "grid2"},
		{ID: pe, Name: "钱七", Role: community.RoleResident, Node: "grid3"},
	}, []community.Group{
		{ID: g1, Platform: "feishu", Chat: "oc_1", Name: "幸福里小区群", Node: "grid1"},
		{ID: g2, Platform: "feishu", Chat: "oc_2", Name: "阳光花园群", Node: "grid2"},
		{ID: g3, Platform: "wecom", Chat: "wr_3", Name: "红旗群", Node: "grid3"},
	})
	return e
}

// send drafts text as who, confirms it and delivers it; it returns the notice's number.
func (e *env) send(who, text string) int64 {
	e.t.Helper()
	lastID(e.t, e.say(who, "", text))
	id := sentNumber(e.t, e.say(who, "", "确认发送"))
	if err := e.n.Pump(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.drain(100 * time.Millisecond)
	return id
}

func TestOnlySecretariesSend(t *testing.T) {
	e := smallEnv(t)
	mustContain(t, texts(e.say(pa, g1, "通知 全体 明天停水")), "只有书记")
	mustContain(t, texts(e.say(pa, "", "通知 1网格 明天停水")), "只有书记")
	if outs := e.say(pa, g1, "通知：明天上午停水，请大家储水"); len(outs) != 0 {
		t.Errorf("a resident pasting a notice got %q", texts(outs))
	}
	if outs := e.say(pa, g1, "通知大家明天停水"); len(outs) != 0 {
		t.Errorf("chat got %q", texts(outs))
	}
	mustContain(t, texts(e.say(sec, "", "通知 3网格 明天停水")), "只能向幸福社区范围内的群发送")
	mustContain(t, texts(e.say(sec, "", "通知 9网格 明天停水")), "没有找到“9网格”", "1网格")
	mustContain(t, texts(e.say(sec, "", "通知 全体")), "请写上通知内容")
	mustContain(t, texts(e.say(sec, "", "确认发送")), "没有待确认的通知")
}

func TestNoticeConfirmCancelAndReach(t *testing.T) {
	e := smallEnv(t)
	outs := e.say(sec, "", "通知 全体 关于二次供水改造的说明\n详见 https://x.example.org/a.pdf")
	// A draft has no number yet: it takes one when it is sent.
	mustContain(t, texts(outs), "请确认发送：通知（待确认）", "全体（幸福社区）", "2 个群", "已登记 5 人（群里实际人数以平台为准）", "https://x.example.org/a.pdf")
	if outs[0].UserID != sec || outs[0].Card == nil || len(outs[0].Card.Buttons) != 2 {
		t.Fatalf("confirmation = %+v", outs[0])
	}
	// Someone else cannot confirm it; the author cancels; a cancelled draft cannot be sent.
	mustContain(t, texts(e.tap(st, "", notices.ActConfirm, "1", "")), "请由本人确认发送")
	mustContain(t, texts(e.say(sec, "", "取消发送")), "已取消 通知（未发送）")
	mustContain(t, texts(e.tap(sec, "", notices.ActConfirm, "1", "")), "已取消")
	if err := e.n.Pump(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.drain(100 * time.Millisecond)
	if got := e.fakes["feishu"].chat("oc_1"); len(got) != 0 {
		t.Fatalf("a cancelled notice was sent: %+v", got)
	}

	// The street's secretary reaches everything; a draft expires.
	outs = e.say(st, "", "通知 全体 明天停电")
	mustContain(t, texts(outs), "请确认发送：通知（待确认）", "发送范围: 全体", "3 个群", "已登记 7 人")
	e.clock.Advance(25 * time.Hour)
	mustContain(t, texts(e.say(st, "", "确认发送")), "草稿已过期")
}

func TestNoticeDeliveryAndReceipts(t *testing.T) {
	e := smallEnv(t)
	id := e.send(sec, "通知 1网格,2网格 周六上午9点社区体检，请带身份证。")
	ref := strconv.FormatInt(id, 10)
	for _, chat := range []string{"oc_1", "oc_2"} {
		got := e.fakes["feishu"].chat(chat)
		if len(got) != 1 || got[0].Card == nil || got[0].Card.Key != notices.CardKey(id) || got[0].Card.Buttons[0].Action != notices.ActAck {
			t.Fatalf("%s received %+v", chat, got)
		}
	}
	if got := e.fakes["wecom"].chat("wr_3"); len(got) != 0 {
		t.Fatalf("a group outside the target got %+v", got)
	}
	mustContain(t, texts(e.say(sec, "", "通知进度 "+ref)), "已送达 2/2，失败 0，排队 0")

	// Three ways to acknowledge, each counted once.
	if outs := e.tap(pa, g1, notices.ActAck, ref, ""); len(outs) != 2 || !outs[0].Update || !outs[1].Toast || outs[1].UserID != pa || outs[1].Text != "已收到，谢谢" {
		t.Fatalf("tap answered %+v, want a card update and a toast to the tapper", outs)
	}
	if outs := e.replyTo(pb, g1, notices.CardKey(id), "收到！"); len(outs) != 0 && !outs[0].Update {
		t.Fatalf("reply answered %q", texts(outs))
	}
	e.say(pd, g2, "收到")
	if outs := e.say(pa, g1, "收到"); len(outs) != 0 {
		t.Fatalf("a second 收到 answered %q", texts(outs))
	}
	mustContain(t, texts(e.say(pe, g3, "收到 "+ref)), "不在 通知 #1 的发送范围内")
	// A resident outside the groups saying 收到 where no notice went is just chat.
	if outs := e.say(pe, g3, "收到"); len(outs) != 0 {
		t.Fatalf("收到 without a notice answered %q", texts(outs))
	}

	rep := texts(e.say(sec, "", "回执 "+ref))
	mustContain(t, rep, "已回执 3 人；登记在册 4 人中 3 人已回执（75%）", "送达 2/2 个群，失败 0",
		"1. 幸福里小区群：2/3（66%）已送达", "未回执：王五", "2. 阳光花园群：1/1（100%）")
	// Asked in a group, the receipts (they name who has not acknowledged) go privately.
	for _, o := range e.say(sec, g1, "回执 "+ref) {
		switch {
		case o.UserID == sec:
			mustContain(t, o.Text, "未回执：王五")
		case o.ChatID != "" && o.Text != bot.PrivatelyNote:
			t.Errorf("the group got %q", o.Text)
		}
	}

	// The card's counter is refreshed in place.
	e.drain(100 * time.Millisecond)
	ups := e.fakes["feishu"].updates
	if len(ups) == 0 || !strings.Contains(texts(ups[len(ups)-1:]), "已收到: 3 人") {
		t.Errorf("card updates = %s", texts(ups))
	}

	// A reminder goes to the group with the fewest receipts, mentioning who has not.
	mustContain(t, texts(e.say(sec, "", "催办回执 "+ref)), "已提醒回执最少的群：幸福里小区群")
	e.drain(100 * time.Millisecond)
	got := e.fakes["feishu"].chat("oc_1")
	last := got[len(got)-1]
	// The group is reminded naming nobody; 王五, who has not acknowledged, is told privately.
	if !strings.Contains(last.Text, "请大家查看通知 #1") || len(last.Mentions) != 0 || strings.Contains(last.Text, "王五") {
		t.Errorf("reminder = %+v", last)
	}
	if p := e.fakes["feishu"].chat("user:" + pc); len(p) == 0 || !strings.Contains(p[len(p)-1].Text, "还没有收到您的回执") {
		t.Errorf("王五's private reminder = %+v", p)
	}
	if n := len(e.fakes["feishu"].chat("oc_2")); n != 1 {
		t.Errorf("the group with every receipt got %d messages", n)
	}

	// With two recent notices, a bare 收到 asks which.
	id2 := e.send(sec, "通知 1网格 第二条通知")
	mustContain(t, texts(e.say(pc, g1, "收到")), "最近有2条通知", "收到 1 / 收到 "+strconv.FormatInt(id2, 10))
	mustContain(t, texts(e.say(pc, g1, "收到 "+ref)), "已记录您对 通知 #1 的回执")
	// After the window a bare 收到 is chat again.
	e.clock.Advance(4 * 24 * time.Hour)
	if err := e.n.Tick(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if outs := e.say(pc, g1, "收到"); len(outs) != 0 {
		t.Errorf("an old notice still takes 收到: %q", texts(outs))
	}
}

func TestAutomaticReminderOnce(t *testing.T) {
	e := smallEnv(t)
	id := e.send(sec, "通知 全体 燃气安全检查")
	e.tap(pd, g2, notices.ActAck, strconv.FormatInt(id, 10), "")
	other := e.notices(e.st) // a second replica
	for range 3 {
		e.clock.Advance(12 * time.Hour)
		for _, n := range []*notices.Notices{e.n, other} {
			if err := n.Tick(e.ctx, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.drain(100 * time.Millisecond)
	var reminders int
	for _, o := range e.fakes["feishu"].chat("oc_1") {
		if strings.Contains(o.Text, "⏰") {
			reminders++
		}
	}
	if reminders != 1 {
		t.Errorf("oc_1 got %d automatic reminders, want 1", reminders)
	}
	if nt, _ := e.n.Get(e.ctx, id); !nt.AutoReminded {
		t.Error("not marked reminded")
	}
	st, _ := e.st.OutboxStats(e.ctx, "")
	if st.Failed != 0 || st.Pending != 0 {
		t.Errorf("outbox %+v", st)
	}
}

func TestPermanentFailureShowsInProgress(t *testing.T) {
	e := smallEnv(t)
	e.fakes["feishu"].permanent["oc_2"] = true
	id := e.send(sec, "通知 全体 测试")
	mustContain(t, texts(e.say(sec, "", "通知进度 "+strconv.FormatInt(id, 10))), "已送达 1/2，失败 1，排队 0", "导出 1")
}

func TestProgressOfAnItemIsNotOurs(t *testing.T) {
	e := smallEnv(t)
	// No notice 5: "进度 5" is the core's item progress.
	mustContain(t, texts(e.say(sec, "", "进度 5")), "没有找到 #5")
	// Residents asking 进度 get the core's answer too.
	e.send(sec, "通知 全体 测试")
	if strings.Contains(texts(e.say(pa, g1, "进度 1")), "已送达") {
		t.Error("a resident saw a notice's delivery")
	}
}

func TestPollVotesResultsAndPublishOnce(t *testing.T) {
	e := smallEnv(t)
	outs := e.say(sec, "", "投票 是否同意加装电梯 同意/反对/弃权 截止 周日")
	mustContain(t, texts(outs), "请确认发送：投票（待确认）", "是否同意加装电梯", "选项: 同意 / 反对 / 弃权", "截止: 11月29日(周日) 18:00", "2 个群")
	mustContain(t, texts(e.tap(sec, "", notices.ActConfirm, "1", "")), "截止后自动公布结果")
	if err := e.n.Pump(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.drain(100 * time.Millisecond)
	card := e.fakes["feishu"].chat("oc_1")[0].Card
	if card == nil || len(card.Buttons) != 3 || card.Buttons[1].Action != notices.ActVote || card.Buttons[1].Value != "反对" {
		t.Fatalf("poll card = %+v", card)
	}

	e.tap(pa, g1, notices.ActVote, "1", "同意")
	e.clock.Advance(time.Minute)
	e.tap(pa, g1, notices.ActVote, "1", "反对") // the last vote counts
	e.replyTo(pb, g1, notices.CardKey(1), "弃权")
	e.say(pd, g2, "同意")                                                // the one open poll in the group
	mustContain(t, texts(e.say(pc, g1, "投票 1 1")), "已记录您在投票 #1的投票：同意") // by number
	mustContain(t, texts(e.say(pe, g3, "投票 1 同意")), "不在 投票 #1 的投票范围内")
	mustContain(t, texts(e.say(pc, g1, "投票 1 随便")), "没有“随便”这个选项")
	if outs := e.say(pa, g1, "1"); strings.Contains(texts(outs), "投票") {
		t.Errorf("a bare 1 was taken as a vote: %q", texts(outs))
	}

	res := texts(e.say(sec, "", "投票结果 1"))
	mustContain(t, res, "合计：同意 2 · 反对 1 · 弃权 1，共 4 人投票，2 个群", "幸福里小区群：同意 1 · 反对 1 · 弃权 1", "阳光花园群：同意 1 · 反对 0 · 弃权 0")

	// At the deadline two replicas tick, twice each: the result is published once.
	other := e.notices(e.st)
	e.clock.Advance(7 * 24 * time.Hour)
	for range 2 {
		for _, n := range []*notices.Notices{e.n, other} {
			if err := n.Tick(e.ctx, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.drain(100 * time.Millisecond)
	for _, chat := range []string{"oc_1", "oc_2"} {
		var got []string
		for _, o := range e.fakes["feishu"].chat(chat) {
			if strings.Contains(o.Text, "结果公示") {
				got = append(got, o.Text)
			}
		}
		if len(got) != 1 {
			t.Fatalf("%s got %d results: %q", chat, len(got), got)
		}
		mustContain(t, got[0], "合计（2 个群）：同意 2 · 反对 1 · 弃权 1，共 4 人投票")
	}
	mustContain(t, texts(e.fakes["feishu"].chat("user:"+sec)), "投票 #1 已截止并公示")
	mustContain(t, texts(e.tap(pd, g2, notices.ActVote, "1", "反对")), "已于11月29日(周日) 18:00截止")
	mustContain(t, texts(e.say(sec, "", "投票结果 1")), "已截止，结果已公示")
}

func TestPublishTakenOverAfterACrash(t *testing.T) {
	e := smallEnv(t)
	id := e.send(sec, "投票 全体 是否同意 同意/反对 截止 明天")
	e.tap(pa, g1, notices.ActVote, "1", "同意")
	e.clock.Advance(48 * time.Hour)
	// A replica took the publication and died before doing it.
	if ok, err := e.st.Once(e.ctx, "notice:1:publish", 10*time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := e.n.Tick(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if nt, _ := e.n.Get(e.ctx, id); !nt.PublishedAt.IsZero() {
		t.Fatal("published while another replica held the lease")
	}
	e.clock.Advance(11 * time.Minute)
	if err := e.n.Tick(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.drain(100 * time.Millisecond)
	if nt, _ := e.n.Get(e.ctx, id); nt.PublishedAt.IsZero() || nt.Result.Total["同意"] != 1 {
		t.Fatalf("not published after the lease: %+v", nt)
	}
	got := slices.DeleteFunc(e.fakes["feishu"].chat("oc_1"), func(o bot.Outbound) bool { return !strings.Contains(o.Text, "结果公示") })
	if len(got) != 1 {
		t.Fatalf("oc_1 got %d results", len(got))
	}
}

func TestPollInAGroupGoesToThatGroup(t *testing.T) {
	e := smallEnv(t)
	outs := e.say(sec, g2, "投票 楼下停车位划线方案 甲/乙")
	mustContain(t, texts(outs), "本群（阳光花园群）", "1 个群", "已登记 1 人")
	// The draft card goes to the secretary privately; the group hears only where it went.
	if outs[0].UserID != sec || outs[0].Card == nil || outs[0].ChatID != "" {
		t.Fatalf("confirmation went to %+v", outs[0])
	}
	if len(outs) != 2 || outs[1].ChatID != "oc_2" || outs[1].Text != bot.PrivatelyNote {
		t.Fatalf("the group was told %+v", outs[1:])
	}
	mustContain(t, texts(e.say(sec, g2, "确认发送")), "开始发送到 1 个群")
}

func TestReplyToAnItemCardIsNotAReceipt(t *testing.T) {
	e := smallEnv(t)
	e.send(sec, "通知 1网格 周六停水")         // #1
	e.say(sec, g1, "发布 周六上午清理楼道 需要2人") // #2: numbers are shared
	e.drain(100 * time.Millisecond)
	e.replyTo(pa, g1, "item:2", "收到")
	mustContain(t, texts(e.say(sec, "", "回执 1")), "已回执 0 人")
	e.say(pa, g1, "收到")
	mustContain(t, texts(e.say(sec, "", "回执 1")), "已回执 1 人")
}

func TestReceiptInAnotherGroupCounts(t *testing.T) {
	e := smallEnv(t)
	e.send(sec, "通知 全体 测试")
	e.say(pa, g2, "收到") // 张三 is registered under 1网格 but answered in 阳光花园群
	rep := texts(e.say(sec, "", "回执 1"))
	mustContain(t, rep, "已回执 1 人；登记在册 4 人中 1 人已回执（25%）", "阳光花园群：0/1（0%）已送达，另有 1 位不在本群网格登记名单上的人在本群回执",
		"幸福里小区群：1/3（33%）已送达\n   未回执：王五、李四")
}

func TestLongNoticeWarnsAboutWeComRobots(t *testing.T) {
	e := smallEnv(t)
	long := strings.Repeat("请大家注意安全。", 200)
	mustContain(t, texts(e.say(st, "", "通知 全体 "+long)), "企业微信群（1 个）的机器人消息最长 4096 字节")
	if strings.Contains(texts(e.say(sec, "", "通知 全体 "+long)), "企业微信") {
		t.Error("warned about WeCom for Feishu groups only")
	}
}

// Receipts name people: a secretary sees those of their own jurisdiction's groups only, and
// only the author or a secretary over every target group exports the full list or reminds.
func TestReceiptsStayWithinJurisdiction(t *testing.T) {
	e := smallEnv(t)
	const hq = "wecom:hq"
	seed(t, e.st, []community.Person{{ID: hq, Name: "红旗孙书记", Role: community.RoleSecretary, Node: "hongqi"}}, nil)
	id := e.send(st, "通知 全体 周日全街道大扫除")
	ref := strconv.FormatInt(id, 10)
	e.say(pa, g1, "收到")
	e.say(pe, g3, "收到")

	full := texts(e.say(st, "", "回执 "+ref))
	mustContain(t, full, "送达 3/3 个群", "幸福里小区群", "阳光花园群", "红旗群")

	mine := texts(e.say(sec, "", "回执 "+ref))
	mustContain(t, mine, "送达 2/2 个群", "只含您辖区幸福社区内的 2 个群", "幸福里小区群", "阳光花园群", "未回执：王五")
	if strings.Contains(mine, "红旗群") || strings.Contains(mine, "钱七") {
		t.Errorf("幸福社区's secretary sees 红旗社区's receipts:\n%s", mine)
	}
	theirs := texts(e.say(hq, "", "回执 "+ref))
	mustContain(t, theirs, "送达 1/1 个群", "红旗群")
	if strings.Contains(theirs, "幸福里小区群") || strings.Contains(theirs, "王五") {
		t.Errorf("红旗社区's secretary sees 幸福社区's receipts:\n%s", theirs)
	}

	for _, cmd := range []string{"导出 " + ref, "催办回执 " + ref} {
		got := texts(e.say(sec, "", cmd))
		mustContain(t, got, "范围超出您的辖区（幸福社区）", "回执 "+ref)
		if strings.Contains(got, "token=") || strings.Contains(got, "已提醒") {
			t.Errorf("%s by a secretary of part of the reach: %s", cmd, got)
		}
	}
	mustContain(t, texts(e.say(st, "", "导出 "+ref)), "token=")

	// A notice to 幸福社区 alone: 红旗's secretary sees nothing of it; 王书记, whose
	// jurisdiction holds all of it, exports it though he did not write it.
	id2 := e.send(st, "通知 幸福社区 周六体检")
	ref2 := strconv.FormatInt(id2, 10)
	mustContain(t, texts(e.say(hq, "", "回执 "+ref2)), "没有发到您辖区（红旗社区）的群")
	mustContain(t, texts(e.say(sec, "", "导出 "+ref2)), "token=")
}

// sentNumber is N of the "✅ 通知 #N 开始发送" a confirmation answers.
func sentNumber(t *testing.T, outs []bot.Outbound) int64 {
	t.Helper()
	m := regexp.MustCompile(`✅ (?:通知|投票) #(\d+) 开始发送`).FindStringSubmatch(texts(outs))
	if m == nil {
		t.Fatalf("not sent:\n%s", texts(outs))
	}
	no, _ := strconv.ParseInt(m[1], 10, 64)
	return no
}

// After a receipt the card's counter is updated within 5 s and says what 回执 says; a burst
// of receipts costs one update per card, and a person acknowledging in two groups counts once.
func TestCardCounterFollowsReceiptsWithinSeconds(t *testing.T) {
	e := smallEnv(t)
	id := e.send(sec, "通知 1网格,2网格 周六上午9点社区体检")
	ref := strconv.FormatInt(id, 10)
	e.clock.Advance(30 * time.Second)
	ackAt := e.clock.Now()
	var updates []string
	for _, a := range []struct{ who, group string }{{pa, g1}, {pb, g1}, {pc, g1}, {pd, g2}, {pa, g2}} {
		for _, o := range e.tap(a.who, a.group, notices.ActAck, ref, "") {
			if o.Update {
				updates = append(updates, o.ID)
			}
		}
	}
	latest := ackAt
	seen := map[string]bool{}
	for _, uid := range updates {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		ent, err := e.st.GetOutbox(e.ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if wait := ent.NotBefore.Sub(ackAt); wait <= 0 || wait > 5*time.Second {
			t.Errorf("card update %s due %s after the receipt, want within 5 s", uid, wait)
		}
		if ent.NotBefore.After(latest) {
			latest = ent.NotBefore
		}
	}
	if len(seen) != 2 {
		t.Errorf("five receipts in two groups enqueued %d distinct card updates, want one per group: %v", len(seen), updates)
	}
	e.clock.Set(latest)
	before := len(e.fakes["feishu"].updatesSoFar())
	if err := e.d.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	ups := e.fakes["feishu"].updatesSoFar()[before:]
	if len(ups) != 2 {
		t.Fatalf("%d card updates sent at %s, want 2 (one per group)", len(ups), e.clock.Now().Format(time.TimeOnly))
	}
	mustContain(t, texts(e.say(sec, "", "回执 "+ref)), "已回执 4 人")
	for _, u := range ups {
		mustContain(t, texts([]bot.Outbound{u}), "已收到: 4 人")
	}
}
