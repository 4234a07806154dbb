package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
)

func person(t *testing.T, h *bottest.Harness, id string) community.Person {
	t.Helper()
	p, err := h.Store.GetPerson(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustNotContain(t *testing.T, sent []bottest.Sent, subs ...string) {
	t.Helper()
	all := texts(sent)
	for _, s := range subs {
		if strings.Contains(all, s) {
			t.Errorf("unexpected %q in:\n%s", s, all)
		}
	}
}

// A resident's 报到 with someone else's name files a request: their name, role and door stay,
// the secretary sees the typed name only as 自称, and until approved they act as a resident.
func TestRegisterKeepsIdentity(t *testing.T) {
	h := newBot(t)
	sent := h.Say(g1, chen, "报到 王书记 3栋2单元")
	mustContain(t, sent, "报到申请 #1 已提交", "[私信 local:wang] 🙋 报到申请 #1：陈阿姨（自称：王书记，3栋2单元）", "同意请发送：同意 1，拒绝请发送：拒绝 1 原因")
	p := person(t, h, chen)
	if p.Name != "陈阿姨" || p.Role != community.RoleResident || p.Pending || p.Door != "3栋2单元502" {
		t.Fatalf("报到 changed the person: %+v", p)
	}
	// The secretary sees the need under the resident's own name.
	mustContain(t, h.Say(g1, chen, "@邻里帮 楼下有狗叫"), "[私信 local:wang] 📮 新需求 #1（幸福里小区群）\n陈阿姨：楼下有狗叫")
	h.Say(g1, wang, "派单 1")
	mustContain(t, h.Say(g1, chen, "接单 1"), "接单需要党员身份")
	mustNotContain(t, h.Say(g1, chen, "帮助"), "接单 12")
	// A second 报到 replaces the pending request instead of filing another.
	mustContain(t, h.Say(g1, chen, "报到 陈秀英 3栋2单元"), "报到申请 #1 已提交")
}

// People a previous release marked pending on their own record (Role member, Pending) act
// as residents until approved, and can still be approved by name.
func TestLegacyPendingPersonIsResident(t *testing.T) {
	h := newBot(t)
	ctx := context.Background()
	old := community.Person{ID: "local:old", Name: "老党员", Role: community.RoleMember, Node: "grid1", Pending: true}
	if err := h.Store.PutPerson(ctx, old); err != nil {
		t.Fatal(err)
	}
	h.Say(g1, wang, "发布 帮忙搬桌子")
	mustContain(t, h.Say(g1, old.ID, "接单 1"), "接单需要党员身份")
	mustContain(t, h.Say(g1, old.ID, "帮助"), "您的身份：居民")
	mustContain(t, h.Say(g1, wang, "待审核"), "旧版报到（无编号）：老党员，请发送：同意 老党员")
	mustContain(t, h.Say(g1, wang, "同意 老党员"), "已确认 老党员")
	mustContain(t, h.Say(g1, old.ID, "接单 1"), "老党员 认领了 #1")

	other := community.Person{ID: "local:other", Name: "冒名者", Role: community.RoleMember, Node: "grid1", Pending: true}
	if err := h.Store.PutPerson(ctx, other); err != nil {
		t.Fatal(err)
	}
	mustContain(t, h.Private(wang, "拒绝 冒名者 不是党员"), "已拒绝 冒名者 的报到，原因：不是党员", "[私信 local:other] 您的报到未通过")
	if p := person(t, h, other.ID); p.Role != community.RoleResident || p.Pending {
		t.Errorf("refused legacy person: %+v", p)
	}
}

// otherCommunity is the demo plus 和平社区 with its own secretary, 郑书记.
func otherCommunity() *config.Config {
	cfg := config.Demo()
	cfg.Org[0].Children = append(cfg.Org[0].Children, config.OrgNode{
		ID: "heping", Name: "和平社区", Kind: config.KindCommunity,
		Children: []config.OrgNode{{ID: "hp-grid1", Name: "和平1网格", Kind: config.KindGrid}},
	})
	cfg.Groups = append(cfg.Groups, config.Group{ID: "local:heping", Name: "和平小区群", Node: "hp-grid1"})
	cfg.Members = append(cfg.Members, config.Member{ID: "local:zheng", Name: "郑书记", Role: config.RoleSecretary, Node: "heping"})
	return cfg
}

func TestApproveOnlyWithinJurisdiction(t *testing.T) {
	h := newBot(t, bottest.WithConfig(otherCommunity()))
	zheng := "local:zheng"
	sent := h.Say(g1, "local:newbie", "报到 钱多多 5栋1单元")
	mustNotContain(t, sent, "[私信 local:zheng]")
	mustContain(t, h.Say("local:heping", zheng, "同意 1"), "不在您的辖区内")
	mustContain(t, h.Say("local:heping", zheng, "同意 钱多多"), "没有找到待确认的报到")
	mustContain(t, h.Private(zheng, "待审核"), "没有待审核的报到申请")
	if p, err := h.Store.GetPerson(context.Background(), "local:newbie"); err == nil && community.EffectiveRole(p) != community.RoleResident {
		t.Fatalf("approved from another community: %+v", p)
	}
	// The secretary of the area lists it privately and approves it by number.
	sent = h.Say(g1, wang, "待审核")
	mustContain(t, sent, "[xingfuli] @王书记 已私信您。", "[私信 local:wang] 🙋 待审核的报到申请（1份）：\n报到申请 #1：未登记姓名（自称：钱多多，5栋1单元） 来自 幸福里小区群")
	mustContain(t, h.Say(g1, wang, "同意 1"), "已同意报到申请 #1（钱多多）", "[私信 local:newbie] ✅ 您的报到申请 #1 已通过")
	p := person(t, h, "local:newbie")
	if !p.Approved || p.Pending || p.Role != community.RoleMember || p.Name != "钱多多" || p.Node != "grid1" {
		t.Fatalf("approved person: %+v", p)
	}
	mustContain(t, h.Say(g1, wang, "同意 1"), "没有找到待审核的报到申请 #1")
}

// 报到 … 单位 X names the member's 共建单位: the secretary sees it in the request, and the
// approval records it on the person (the ledger's 共建单位 sheet and 共建之星 count by it).
func TestRegisterWithUnit(t *testing.T) {
	h := newBot(t)
	sent := h.Say(g1, "local:sanzhang", "报到 张三 3栋 单位 区税务局")
	mustContain(t, sent, "报到申请 #1 已提交", "[私信 local:wang] 🙋 报到申请 #1：", "（自称：张三，3栋，单位：区税务局）")
	mustContain(t, h.Say(g1, wang, "待审核"), "单位：区税务局")
	if p, err := h.Store.GetPerson(context.Background(), "local:sanzhang"); err == nil && p.Unit != "" {
		t.Fatalf("unit recorded before approval: %+v", p)
	}
	mustContain(t, h.Say(g1, wang, "同意 1"), "已同意报到申请 #1")
	if p := person(t, h, "local:sanzhang"); p.Unit != "区税务局" || p.Role != community.RoleMember {
		t.Fatalf("approved person: %+v", p)
	}
	mustContain(t, h.Private("local:sanzhang", "我的信息"), "共建单位：区税务局")

	// A unit name over 40 characters is refused at once, not at approval.
	mustContain(t, h.Say(g1, "local:sili", "报到 李四 5栋 单位 "+strings.Repeat("很", 41)), "单位名称太长了（41字）")
	mustContain(t, h.Say(g1, wang, "待审核"), "没有待审核的报到申请")
}

func TestApproveByUniqueNameAndRefuse(t *testing.T) {
	h := newBot(t)
	h.Say(g1, "local:a", "报到 张三 5栋")
	h.Say(g2, "local:b", "报到 张三 1栋")
	h.Say(g1, "local:c", "报到 李四 3栋")
	mustContain(t, h.Say(g1, wang, "同意 张三"), "有2份叫 张三 的报到申请，请按编号发送：同意 1 / 同意 2")
	mustContain(t, h.Say(g1, wang, "同意 李四"), "已同意报到申请 #3（李四）")
	sent := h.Say(g1, wang, "拒绝 2 不是本小区党员")
	mustContain(t, sent, "已拒绝报到申请 #2", "[私信 local:b] 您的报到申请 #2 未通过，原因：不是本小区党员")
	if p, err := h.Store.GetPerson(context.Background(), "local:b"); err == nil && community.EffectiveRole(p) != community.RoleResident {
		t.Fatalf("refused person acts as %s", community.EffectiveRole(p))
	}
	mustContain(t, h.Say(g1, wang, "同意 张三"), "已同意报到申请 #1（张三）")
	mustContain(t, h.Say(g1, wang, "待审核"), "没有待审核的报到申请")
}

func TestMyInfoGoesPrivately(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, chen, "报到 陈秀英")
	sent := h.Say(g1, chen, "我的信息")
	var group, private string
	for _, s := range sent {
		if s.UserID == chen {
			private += s.Text
		} else {
			group += s.Text
		}
	}
	if group != "已私信您。" {
		t.Errorf("group heard %q", group)
	}
	for _, want := range []string{"姓名：陈阿姨", "身份：居民（报到申请 #1 待审核：自称陈秀英）", "所属：1网格", "电话：13800001234", "住址：3栋2单元502",
		"#1 3栋2单元楼道灯坏了，电话13812345678【待派单】", "办结或取消180天后", "删除我的信息"} {
		if !strings.Contains(private, want) {
			t.Errorf("missing %q in:\n%s", want, private)
		}
	}
	mustContain(t, h.Private(chen, "我的信息"), "[私信 local:chen] 🔒")
}

func TestEraseMyInfo(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1")
	h.Say(g1, li, "接单 1")
	h.Say(g1, chen, "@邻里帮 家住3栋2单元502，身份证110101199003071234，帮忙代办")
	h.Say(g1, wang, "取消 2 重复")
	events := len(h.Item(1).History)
	if _, card := h.Platform.Card("item:1"); card == nil || !strings.Contains(bottest.Sent{Outbound: bot.Outbound{Card: card}}.String(), "陈阿姨") {
		t.Fatalf("card before erasure does not name the requester: %+v", card)
	}

	mustContain(t, h.Say(g1, chen, "确认删除"), "没有待确认的删除请求")
	mustContain(t, h.Say(g1, chen, "删除我的信息"), "确认请在10分钟内发送：确认删除")
	h.Clock.Advance(11 * time.Minute)
	mustContain(t, h.Say(g1, chen, "确认删除"), "没有待确认的删除请求")
	if p := person(t, h, chen); p.Phone == "" {
		t.Fatal("erased without a timely confirmation")
	}

	h.Say(g1, chen, "删除我的信息")
	h.Clock.Advance(time.Minute)
	sent := h.Say(g1, chen, "确认删除")
	mustContain(t, sent, "已删除您的个人信息", "2条需求", "仍在办理的需求（#1）会继续为您办理")
	p := person(t, h, chen)
	if p.Phone != "" || p.Door != "" || p.Name != "陈阿姨" {
		t.Errorf("person after erasure: %+v", p)
	}
	for _, no := range []int64{1, 2} {
		it := h.Item(no)
		all := it.Title + it.Phone + it.RequesterName + it.Reason
		for _, e := range it.History {
			all += e.Name + e.Note
		}
		for _, bad := range []string{fullPhone, "502", "110101199003071234", "陈阿姨"} {
			if strings.Contains(all, bad) {
				t.Errorf("#%d still holds %q: %+v", no, bad, it)
			}
		}
		if it.RequesterName != community.ErasedName || it.History[len(it.History)-1].Action != community.ActErase {
			t.Errorf("#%d: %+v", no, it)
		}
	}
	if it := h.Item(1); len(it.History) != events+1 || it.State != community.StateClaimed || it.History[0].Action != community.ActFile {
		t.Errorf("history or state lost: %+v", it)
	}
	// The open need's card no longer names her.
	_, card := h.Platform.Card("item:1")
	if card == nil || strings.Contains(bottest.Sent{Outbound: bot.Outbound{Card: card}}.String(), "陈阿姨") {
		t.Errorf("card after erasure: %+v", card)
	}
	// The open need keeps working: done, then confirmed by the same resident.
	h.Say(g1, li, "完成 1")
	mustContain(t, h.Say(g1, chen, "确认 1 5星"), "已办结")
	// Confirming again erases nothing twice.
	mustContain(t, h.Say(g1, chen, "确认删除"), "没有待确认的删除请求")
}
