package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The seeded community of the utterance tests (all dispatched by 王书记):
//
//	#1 幸福里 陈阿姨's 楼道灯, done by 李建国: waits for 陈阿姨's rating
//	#2 幸福里 陈阿姨's 水管, open for claiming
//	#3 幸福里 陈阿姨's 门禁, claimed by 张红梅
//	#4 阳光花园 刘大爷's 路灯, done by 赵志强: waits for 刘大爷's rating
//	#5 阳光花园 刘大爷's 垃圾, done by 赵志强: waits for 刘大爷's rating
//	#6 阳光花园 刘大爷's 助餐, open for claiming
//	#7 幸福里 陈阿姨's 乱停车, a need not dispatched yet
func seeded(t testing.TB) *bottest.Harness {
	t.Helper()
	h := newBot(t)
	for _, m := range []struct{ g, u, text string }{
		{g1, chen, "@邻里帮 3栋2单元楼道灯坏了"}, {g1, wang, "派单 1"}, {g1, li, "接单 1"}, {g1, li, "完成 1 换了灯泡"},
		{g1, chen, "@邻里帮 5栋门口水管漏水"}, {g1, wang, "派单 2"},
		{g1, chen, "@邻里帮 单元门禁刷不开"}, {g1, wang, "派单 3"}, {g1, zhang, "接单 3"},
		{g2, liu, "@邻里帮 1栋路灯不亮"}, {g2, wang, "派单 4"}, {g2, zhao, "接单 4"}, {g2, zhao, "完成 4"},
		{g2, liu, "@邻里帮 2栋垃圾没人收"}, {g2, wang, "派单 5"}, {g2, zhao, "接单 5"}, {g2, zhao, "完成 5"},
		{g2, liu, "@邻里帮 想申请助餐服务"}, {g2, wang, "派单 6"},
		{g1, chen, "@邻里帮 楼下有人乱停车"},
	} {
		h.Say(m.g, m.u, m.text)
	}
	want := map[int64]community.State{1: community.StateDone, 2: community.StateOpen, 3: community.StateClaimed,
		4: community.StateDone, 5: community.StateDone, 6: community.StateOpen, 7: community.StateNeed}
	for no, st := range want {
		if got := h.Item(no).State; got != st {
			t.Fatalf("seed: #%d is %s, want %s", no, got, st)
		}
	}
	return h
}

// utterance is one message as people really write it, and what it must do.
type utterance struct {
	who, where, text string // where: g1, g2, "p" (private), or "reply:<card key>@<group>"
	want             string // claim N, complete N, release N, rate N S, unsat N, state N S, show N, need, new, ask, silent,
	// reply <text> (nothing changes), acted <text> (an item may change)
}

var utterances = []utterance{
	// A resident with one item waiting for her rating (#1).
	{chen, g1, "4星", "rate 1 4"},
	{chen, g1, "@邻里帮 4星", "rate 1 4"},
	{chen, g1, "4星哦", "rate 1 4"},
	{chen, g1, "４星", "rate 1 4"},
	{chen, g1, "五星好评", "rate 1 5"},
	{chen, g1, "五星好评！！", "rate 1 5"},
	{chen, g1, "五星好评👍👍", "rate 1 5"},
	{chen, g1, "非常满意", "rate 1 5"},
	{chen, g1, "非常满意～", "rate 1 5"},
	{chen, g1, "满意", "rate 1 5"},
	{chen, g1, "满意满意", "silent"},
	{chen, g1, "很满意，谢谢李师傅", "rate 1 5"},
	{chen, g1, "挺满意的", "silent"},
	{chen, g1, "★★★★", "rate 1 4"},
	{chen, g1, "⭐⭐⭐⭐⭐", "rate 1 5"},
	{chen, g1, "3星吧", "rate 1 3"},
	{chen, g1, "给5星", "rate 1 5"},
	{chen, g1, "给个5星吧", "silent"},
	{chen, g1, "5分 很及时", "rate 1 5"},
	{chen, g1, "确认 1 5星 很及时", "rate 1 5"},
	{chen, g1, "确认1", "rate 1 5"},
	{chen, g1, "确认", "rate 1 5"},
	{chen, g1, "好评", "rate 1 5"},
	{chen, g1, "好评 1", "rate 1 5"},
	{chen, g1, "1号好评", "rate 1 5"},
	{chen, g1, "1号 五星好评", "rate 1 5"},
	{chen, g1, "#1 4星", "rate 1 4"},
	{chen, g1, "1号4星", "rate 1 4"},
	{chen, g1, "评价 1 ★★★★★ 师傅很负责", "rate 1 5"},
	{chen, g1, "@邻里帮 1号单子 非常满意", "rate 1 5"},
	{chen, g1, "差评", "unsat 1"},
	{chen, g1, "不满意", "unsat 1"},
	{chen, g1, "不满意，灯还是不亮", "unsat 1"},
	{chen, g1, "@邻里帮 1号单子 不满意，灯还是不亮", "unsat 1"},
	{chen, g1, "@邻里帮 1号还是不亮啊", "unsat 1"},
	{chen, g1, "@邻里帮 我对1号不太满意", "unsat 1"},
	{chen, g1, "1号没修好", "unsat 1"},
	{chen, g1, "差评 1 根本没人来", "unsat 1"},
	{chen, g1, "不满意 1", "unsat 1"},
	{chen, g1, "@邻里帮 第1单 差评", "unsat 1"},
	{chen, g1, "1星", "rate 1 1"},
	{chen, "p", "4星", "rate 1 4"},
	{chen, "p", "满意", "rate 1 5"},
	{chen, g1, "@邻里帮 给师傅五星好评", "rate 1 5"},
	{chen, g1, "@邻里帮 灯还是不亮", "unsat 1"},
	{chen, g1, "5星好评，谢谢王师傅", "rate 1 5"},
	{chen, g1, "五颗星", "rate 1 5"},
	{chen, g1, "打五星", "rate 1 5"},
	{chen, g1, "非常满意！！师傅辛苦了", "rate 1 5"},
	{chen, g1, "@邻里帮 7号还没人接吗", "show 7"},
	{chen, g1, "@邻里帮 请问2号什么时候来修", "show 2"},
	{chen, g1, "@邻里帮 #2 师傅下午来过了", "show 2"},
	{chen, g1, "@邻里帮 第2单 麻烦再跟一下", "show 2"},
	{chen, g1, "@邻里帮 5号停水，楼里老人要帮忙打水", "need"},
	{chen, g1, "给1号打5星", "rate 1 5"},
	{chen, g1, "@邻里帮 李师傅修得很好，5星", "rate 1 5"},
	{chen, g1, "1号单五星", "rate 1 5"},
	{chen, g1, "四星", "rate 1 4"},
	{chen, g1, "４颗星", "rate 1 4"},
	{chen, g1, "@邻里帮 不太满意 灯有点闪", "unsat 1"},
	{chen, g1, "@邻里帮 2号还没人来啊", "show 2"},
	{chen, g1, "@邻里帮 2号啥时候能修好", "show 2"},
	{liu, g2, "@邻里帮 早", "reply 您好"},
	{liu, g2, "@邻里帮 麻烦了", "reply 不客气"},
	{li, g1, "二号交给我", "claim 2"},
	{zhao, g2, "6号我接了哈", "claim 6"},
	{zhao, g2, "六号交给我吧", "claim 6"},
	{li, "reply:item:2@" + g1, "我去吧", "claim 2"},
	{wang, g1, "7号派下去", "state 7 open"},
	{wang, g1, "#7 派单 需要2人", "state 7 open"},
	{chen, "reply:item:1@" + g1, "5", "rate 1 5"},
	{chen, "reply:item:1@" + g1, "4星", "rate 1 4"},
	{chen, "reply:item:1@" + g1, "满意", "rate 1 5"},
	{chen, "reply:item:1@" + g1, "不满意 灯还是闪", "unsat 1"},
	// Status questions.
	{chen, g1, "1号怎么样了", "show 1"},
	{chen, g1, "2号怎么样了？", "show 2"},
	{chen, g1, "@邻里帮 2号有人接了吗", "show 2"},
	{chen, g1, "#2 进度", "show 2"},
	{chen, g1, "查看 2", "show 2"},
	{chen, g1, "查看2号", "show 2"},
	{chen, g1, "进度 3", "show 3"},
	{chen, g1, "第三单怎么样了", "show 3"},
	{chen, g1, "三号怎么样了呢", "show 3"},
	{chen, g1, "2号单子进展如何", "show 2"},
	{chen, g1, "#2", "show 2"},
	{chen, g1, "2号", "show 2"},
	{chen, g1, "详情 3", "show 3"},
	{chen, g1, "@邻里帮 7号什么时候有人管", "show 7"},
	{chen, g1, "怎么样了", "ask"},
	{chen, g1, "@邻里帮 我的单子怎么样了", "reply 您的需求"},
	{chen, "p", "1号怎么样了", "show 1"},
	{liu, g2, "6号怎么样了啊", "show 6"},
	{liu, g2, "查看 ６", "show 6"},
	// Her own list, help, greetings and thanks.
	{chen, g1, "我的", "reply 您的需求"},
	{chen, g1, "我的需求", "reply 您的需求"},
	{chen, g1, "我的需求呢？", "reply 您的需求"},
	{chen, "p", "我的", "reply 您的需求"},
	{chen, g1, "帮助", "reply 可以这样用"},
	{chen, g1, "帮助～", "reply 可以这样用"},
	{chen, g1, "@邻里帮 ？", "reply 可以这样用"},
	{chen, g1, "@邻里帮 ？？", "reply 可以这样用"},
	{chen, g1, "@邻里帮", "reply 可以这样用"},
	{chen, g1, "菜单", "reply 可以这样用"},
	{chen, g1, "@邻里帮 怎么用", "reply 可以这样用"},
	{chen, g1, "help", "reply 可以这样用"},
	{chen, g1, "/help", "reply 可以这样用"},
	{chen, g1, "@邻里帮 你好", "reply 您好"},
	{chen, g1, "@邻里帮 你好呀", "reply 您好"},
	{chen, g1, "@邻里帮 您好！", "reply 您好"},
	{chen, g1, "@邻里帮 在吗", "reply 您好"},
	{chen, g1, "@邻里帮 在吗？？", "reply 您好"},
	{chen, g1, "@邻里帮 早上好☀️", "reply 您好"},
	{chen, g1, "邻里帮 你好", "reply 您好"},
	{chen, g1, "@邻里帮 hello", "reply 您好"},
	{chen, g1, "@邻里帮 谢谢", "reply 不客气"},
	{chen, g1, "@邻里帮 谢谢啦", "reply 不客气"},
	{chen, g1, "@邻里帮 辛苦了", "reply 不客气"},
	{chen, g1, "@邻里帮 感谢感谢", "reply 不客气"},
	{chen, g1, "@邻里帮 谢谢你哈", "reply 不客气"},
	{chen, g1, "@邻里帮 thank you", "reply 不客气"},
	{chen, g1, "@邻里帮 多谢多谢🙏", "reply 不客气"},
	{chen, g1, "邻里帮真好用", "reply 不客气"},
	{chen, "p", "你好", "reply 您好"},
	{chen, "p", "谢谢", "reply 不客气"},
	{liu, g2, "@邻里帮 大家好", "reply 您好"},
	// Needs: addressed (with @ or by name), and privately.
	{chen, g1, "@邻里帮 3栋2单元楼道灯又坏了", "need"},
	{chen, g1, "@邻里帮 家里老人腿脚不便，想请人帮忙买菜", "need"},
	{chen, g1, "邻里帮 帮我看看5栋门口的路灯，晚上黑乎乎的", "need"},
	{chen, g1, "邻里帮，楼下垃圾堆了三天没人清", "need"},
	{chen, g1, "@邻里帮 1栋电梯坏了，困人了！！", "need"},
	{chen, g1, "@邻里帮 我家水管爆了 快来人啊", "need"},
	{chen, g1, "@邻里帮 小区门口井盖松了，很危险", "need"},
	{chen, g1, "@邻里帮 帮忙找下物业电话", "need"},
	{chen, g1, "@邻里帮 请帮忙联系一下社区医生，老伴发烧了", "need"},
	{chen, g1, "@邻里帮 我要反映个问题：3号楼下水道堵了", "need"},
	{chen, g1, "@邻里帮 楼上漏水到我家了，2楼", "need"},
	{chen, g1, "@邻里帮　７号楼　电梯异响", "need"},
	{chen, g1, "@邻里帮 想申请一下助餐服务", "need"},
	{chen, g1, "@邻里帮 我来反映一下楼道灯坏了", "need"},
	{chen, g1, "@邻里帮 取消了的活动还办吗", "need"},
	{chen, g1, "@邻里帮 「3栋」的垃圾桶满了～", "need"},
	{chen, g1, "@邻里帮 帮忙看下5号楼的监控😭", "need"},
	{chen, g1, "@邻里帮 楼道里有人堆杂物 消防通道堵了", "need"},
	{chen, "p", "家里水管漏水了", "need"},
	{liu, g2, "@邻里帮 2栋楼梯扶手松了", "need"},
	{liu, g2, "邻里帮 帮我问问老年卡怎么办", "need"},
	// Neighbours chatting: none of the bot's business.
	{chen, g1, "今天天气不错", "silent"},
	{chen, g1, "明天几点停水啊", "silent"},
	{chen, g1, "接孩子去了", "silent"},
	{chen, g1, "我来了我来了", "silent"},
	{chen, g1, "大家好", "silent"},
	{chen, g1, "哈哈哈", "silent"},
	{chen, g1, "👍👍", "silent"},
	{chen, g1, "～～～", "silent"},
	{chen, g1, "收到", "silent"},
	{chen, g1, "好的", "silent"},
	{chen, g1, "同意", "silent"},
	{chen, g1, "1", "silent"},
	{chen, g1, "12", "silent"},
	{chen, g1, "谁来帮帮忙", "silent"},
	{chen, g1, "报名表在哪领", "silent"},
	{chen, g1, "通知大家明天停水", "silent"},
	{chen, g1, "活动室的灯坏了", "silent"},
	{chen, g1, "会议纪要发群里了", "silent"},
	{chen, g1, "完成作业了吗", "silent"},
	{chen, g1, "确认一下明天有没有水", "silent"},
	{chen, g1, "查看了一下，没问题", "silent"},
	{chen, g1, "我的天", "silent"},
	{chen, g1, "满意度调查什么时候做", "silent"},
	{chen, g1, "不满意的可以找物业", "silent"},
	{chen, g1, "搞定没", "silent"},
	{chen, g1, "怎么样了大家", "silent"},
	{chen, g1, "谢谢", "silent"},
	{chen, g1, "你好", "silent"},
	{chen, g1, "3栋我来看看", "silent"},
	{chen, g1, "活动延期到周五了", "silent"},
	{chen, g1, "延期到周五吧", "silent"},
	{li, g1, "催一下物业", "silent"},
	{chen, g1, "派出所电话多少", "silent"},
	{chen, g1, "接下来怎么办", "silent"},
	{chen, g1, "5号不行，我那天有事", "silent"},
	{li, g1, "1号不满意的话找书记", "silent"},
	{liu, g2, "4号还是不方便", "silent"},
	{li, g1, "谢谢大家", "silent"},
	{li, g1, "我来晚了", "silent"},
	{li, g1, "接单的人多吗", "silent"},
	{li, g1, "完成了吗", "silent"},
	{zhao, g2, "我来", "silent"},
	{liu, g2, "好的收到", "silent"},
	// Mistyped commands and noise addressed to the bot: "没听懂", never a need.
	{li, g1, "@邻里帮 接丹 2", "reply 没听懂"},
	{chen, g1, "@邻里帮 帮组", "reply 没听懂"},
	{chen, g1, "@邻里帮 我得需求", "reply 没听懂"},
	{li, g1, "@邻里帮 待半", "reply 没听懂"},
	{chen, g1, "@邻里帮 asdf", "reply 没听懂"},
	{chen, g1, "@邻里帮 ok", "reply 没听懂"},
	{chen, g1, "@邻里帮 👍", "reply 可以这样用"},
	// A member claiming the open item (#2).
	{li, g1, "接单 2", "claim 2"},
	{li, g1, "接单2", "claim 2"},
	{li, g1, "接 二", "claim 2"},
	{li, g1, "我接第二单", "claim 2"},
	{li, g1, "算我一个 2", "claim 2"},
	{li, g1, "#2 我来", "claim 2"},
	{li, g1, "二号我来", "claim 2"},
	{li, g1, "2号我来吧", "claim 2"},
	{li, g1, "认领2号", "claim 2"},
	{li, g1, "抢单 #2", "claim 2"},
	{li, g1, "@邻里帮 我来", "claim 2"},
	{li, g1, "邻里帮 我来", "claim 2"},
	{li, g1, "+1 2", "claim 2"},
	{li, g1, "接单 ２", "claim 2"},
	{li, g1, "接单「2」", "claim 2"},
	{li, g1, "我来 2号", "claim 2"},
	{li, g1, "我去 2号", "claim 2"},
	{li, g1, "2号我去", "claim 2"},
	{li, g1, "接单 第2单", "claim 2"},
	{li, g1, "2号 接单～", "claim 2"},
	{li, g1, "好的 2号我来", "claim 2"},
	{li, g1, "我来接 2号", "claim 2"},
	{li, g1, "2 我来吧😄", "claim 2"},
	{li, g1, "2号单我接了", "claim 2"},
	{li, g1, "我接了2号", "claim 2"},
	{li, g1, "2号交给我吧", "claim 2"},
	{li, g1, "2号我负责", "claim 2"},
	{li, g1, "接一下2号", "claim 2"},
	{li, "reply:item:2@" + g1, "我来", "claim 2"},
	{li, "reply:item:2@" + g1, "1", "claim 2"},
	{li, "reply:item:2@" + g1, "+1", "claim 2"},
	{li, "reply:item:2@" + g1, "我来吧～", "claim 2"},
	{li, "reply:item:2@" + g1, "收到，我来", "claim 2"},
	{li, "reply:item:2@" + g1, "好的，我来处理", "claim 2"},
	{li, g1, "收到 2号我来处理", "claim 2"},
	{li, g1, "收到，马上去", "silent"},
	{li, g1, "接单 99", "reply 没有找到 #99"},
	{li, g1, "接单", "reply 单号"},
	{li, g1, "1号怎么样了", "show 1"},
	{li, g1, "我的任务", "reply 您认领的任务"},
	{li, g1, "待办", "reply 本群待认领"},
	{li, g1, "待办事项", "reply 本群待认领"},
	{li, g1, "完成了", "reply 单号"},
	{zhao, g2, "@邻里帮 我来", "claim 6"},
	{zhao, g2, "接单 6", "claim 6"},
	{zhao, g2, "6号我来", "claim 6"},
	{zhao, g2, "六号 我来吧", "claim 6"},
	{zhao, g2, "6号我可以去", "claim 6"},
	{zhao, g2, "6号 我来帮忙吧", "claim 6"},
	{zhao, "reply:item:6@" + g2, "我来我来", "claim 6"},
	{chen, g1, "接单 2", "reply 党员"},
	// A member finishing her one claim (#3).
	{zhang, g1, "完成了", "complete 3"},
	{zhang, g1, "3号完成了", "complete 3"},
	{zhang, g1, "3号搞定了", "complete 3"},
	{zhang, g1, "3 搞定了", "complete 3"},
	{zhang, g1, "搞定了", "complete 3"},
	{zhang, g1, "三号搞定啦", "complete 3"},
	{zhang, g1, "完成 3 已经修好门禁了", "complete 3"},
	{zhang, g1, "完成3，换了电池", "complete 3"},
	{zhang, g1, "#3 已完成", "complete 3"},
	{zhang, g1, "第三单办好了", "complete 3"},
	{zhang, g1, "3号修好了", "complete 3"},
	{zhang, g1, "@邻里帮 完成了", "complete 3"},
	{zhang, g1, "已完成", "complete 3"},
	{zhang, g1, "办完了", "complete 3"},
	{zhang, g1, "完成啦😊", "complete 3"},
	{zhang, g1, "我这单搞定了", "complete 3"},
	{zhang, g1, "３号　完成了！", "complete 3"},
	{zhang, g1, "3号单子搞定了哈", "complete 3"},
	{zhang, g1, "3号我已经完成了", "complete 3"},
	{zhang, g1, "3号已经搞定", "complete 3"},
	{zhang, g1, "我这边完成了", "complete 3"},
	{zhang, g1, "刚完成3号", "complete 3"},
	{zhang, g1, "3号处理完了", "complete 3"},
	{zhang, g1, "3号的事情办好了", "complete 3"},
	{zhang, g1, "我已经完成3号了", "complete 3"},
	{zhang, g1, "搞定3号", "complete 3"},
	{zhang, "p", "完成了", "complete 3"},
	{zhang, "reply:item:3@" + g1, "完成了", "complete 3"},
	{zhang, "reply:item:3@" + g1, "搞定", "complete 3"},
	{zhang, g1, "放弃 3 临时有事", "release 3"},
	{zhang, g1, "3号放弃", "release 3"},
	{zhang, g1, "放弃", "release 3"},
	{zhang, g1, "退单 3", "release 3"},
	{zhang, g1, "我的任务", "reply 您认领的任务"},
	// A resident with two items waiting for a rating (#4, #5) is asked which.
	{liu, g2, "4星", "ask"},
	{liu, g2, "满意", "ask"},
	{liu, g2, "五星好评", "ask"},
	{liu, g2, "@邻里帮 4星", "ask"},
	{liu, g2, "差评", "ask"},
	{liu, g2, "确认", "ask"},
	{liu, g2, "★★★", "ask"},
	{liu, g2, "4号 5星", "rate 4 5"},
	{liu, g2, "5号不满意 垃圾还在", "unsat 5"},
	{liu, g2, "确认 4", "rate 4 5"},
	{liu, g2, "4号好评", "rate 4 5"},
	{liu, "reply:item:5@" + g2, "3星", "rate 5 3"},
	{liu, "reply:item:4@" + g2, "满意", "rate 4 5"},
	// The secretary.
	{wang, g1, "派单 7", "state 7 open"},
	{wang, g1, "派单 7 截止 周五18点 需要2人", "state 7 open"},
	{wang, g1, "派单7号", "state 7 open"},
	{wang, g1, "7号派单", "state 7 open"},
	{wang, g1, "下单 7", "state 7 open"},
	{wang, g1, "派一下7号", "state 7 open"},
	{wang, g1, "7号单子派了", "state 7 open"},
	{wang, g1, "7号作废", "state 7 cancelled"},
	{wang, g1, "催一下3号", "acted 已督办"},
	{wang, g1, "3号延期到周五", "acted 截止时间改为"},
	{wang, g1, "取消 7 重复提交", "state 7 cancelled"},
	{wang, g1, "督办 3", "acted 已督办"},
	{wang, g1, "督办3号 抓紧", "acted 已督办"},
	{wang, g1, "改期 3 截止 明天", "acted 截止时间改为"},
	{wang, g1, "待办", "reply 已私信"},
	{wang, g1, "查看 4", "show 4"},
	{wang, g1, "4号怎么样了", "show 4"},
	{wang, g1, "@邻里帮 帮助", "reply 派单"},
	{wang, g1, "发布 周六上午清理楼道 需要5人", "new"},
	{wang, g1, "通知 全体 今晚8点停水", "reply 确认发送"},
	{wang, g1, "通知全体：今晚8点停水", "reply 确认发送"},
	{wang, g1, "投票 是否加装电梯 同意/反对 截止 周日", "reply 确认发送"},
	{wang, g1, "活动列表", "reply 活动"},
	{wang, g1, "待审核", "reply 报到"},
	{wang, g1, "回执 1", "reply 没有找到"},
	{wang, g1, "@邻里帮 你好", "reply 您好"},
	{wang, g1, "@邻里帮 派丹 7", "reply 没听懂"},
	{wang, g1, "7号怎么样了", "show 7"},
	{wang, "p", "待办", "reply 未办结"},
}

// The bar of issue 16: messages written the way residents, members and secretaries write in
// group chats, each against a freshly seeded community, with the effect a person would see.
func TestUtterances(t *testing.T) {
	if n := len(utterances); n < 200 {
		t.Fatalf("only %d utterances", n)
	}
	for i, u := range utterances {
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			t.Parallel()
			h := seeded(t)
			checkUtterance(t, h, u)
		})
	}
}

func allItems(t *testing.T, h *bottest.Harness) map[int64]community.Item {
	t.Helper()
	items, err := h.Store.ListItems(context.Background(), store.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]community.Item{}
	for _, it := range items {
		out[it.No] = *it
	}
	return out
}

func say(t *testing.T, h *bottest.Harness, who, where, text string) []bottest.Sent {
	t.Helper()
	switch {
	case where == "p":
		return h.Private(who, text)
	case strings.HasPrefix(where, "reply:"):
		key, group, _ := strings.Cut(strings.TrimPrefix(where, "reply:"), "@")
		id, card := h.Platform.Card(key)
		if card == nil {
			t.Fatalf("no card %s", key)
		}
		return h.ReplyTo(group, who, id, text)
	}
	return h.Say(where, who, text)
}

func checkUtterance(t *testing.T, h *bottest.Harness, u utterance) {
	t.Helper()
	before := allItems(t, h)
	sent := say(t, h, u.who, u.where, u.text)
	after := allItems(t, h)
	out := bottest.Transcript(sent)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s in %s: %q: %s\n%s", u.who, u.where, u.text, fmt.Sprintf(format, args...), out)
	}
	kind, rest, _ := strings.Cut(u.want, " ")
	var no int64
	var arg string
	if kind != "reply" && kind != "acted" {
		a, b, _ := strings.Cut(rest, " ")
		fmt.Sscan(a, &no)
		arg = b
	}
	switch kind {
	case "need", "new":
		if len(after) != len(before)+1 {
			fail("want a new item, have %d items (was %d)", len(after), len(before))
		}
		return
	}
	if len(after) != len(before) {
		fail("a bogus item was filed")
		return
	}
	unchanged := func() bool {
		for n, it := range after {
			if it.Version != before[n].Version {
				return false
			}
		}
		return true
	}
	it, was := after[no], before[no]
	switch kind {
	case "silent":
		if len(sent) != 0 || !unchanged() {
			fail("want silence")
		}
	case "reply":
		if !strings.Contains(out, rest) || !unchanged() {
			fail("want a reply with %q and nothing changed", rest)
		}
	case "acted":
		if !strings.Contains(out, rest) {
			fail("want a reply with %q", rest)
		}
	case "ask":
		if !strings.Contains(out, "您是指哪一单") || !unchanged() {
			fail("want a clarifying question")
		}
	case "show":
		if !strings.Contains(out, fmt.Sprintf("#%d", no)) || !unchanged() {
			fail("want #%d shown", no)
		}
	case "claim":
		if !it.ClaimedBy(u.who) || was.ClaimedBy(u.who) {
			fail("want #%d claimed by %s", no, u.who)
		}
	case "release":
		if it.ClaimedBy(u.who) || !was.ClaimedBy(u.who) {
			fail("want #%d released by %s", no, u.who)
		}
	case "complete":
		if it.State != community.StateDone || was.State == community.StateDone {
			fail("want #%d done, it is %s", no, it.State)
		}
	case "rate":
		var stars int
		fmt.Sscan(arg, &stars)
		if it.Stars != stars || was.Stars != 0 {
			fail("want #%d rated %d, it has %d", no, stars, it.Stars)
		}
	case "unsat":
		if it.State != community.StateFollowUp || was.State == community.StateFollowUp || it.Stars != 0 {
			fail("want #%d unsatisfied, it is %s", no, it.State)
		}
	case "state":
		if string(it.State) != arg || string(was.State) == arg {
			fail("want #%d %s, it is %s", no, arg, it.State)
		}
	default:
		t.Fatalf("bad want %q", u.want)
	}
}

// With two items waiting for his rating, a bare 4星 asks which; the answer "2" rates the
// second, on any replica (the question is in the store), and only for the one asked.
func TestClarifyingQuestion(t *testing.T) {
	h := seeded(t)
	sent := h.Say(g2, liu, "4星")
	mustContain(t, sent, "您是指哪一单？回复 1) #4 1栋路灯不亮 2) #5 2栋垃圾没人收")
	if s := h.Say(g2, zhao, "2"); len(s) != 0 {
		t.Fatalf("someone else's 2 answered the question: %s", texts(s))
	}
	h.Restart() // another replica, or a restarted one, has the question too
	mustContain(t, h.Say(g2, liu, "2"), "#5 已办结，评价 ★★★★")
	if it := h.Item(5); it.Stars != 4 || h.Item(4).Stars != 0 {
		t.Fatalf("#5 has %d stars, #4 %d", it.Stars, h.Item(4).Stars)
	}
	if s := h.Say(g2, liu, "1"); len(s) != 0 {
		t.Fatalf("an answered question answered again: %s", texts(s))
	}

	// A question expires: after it, "1" is chat again.
	h = seeded(t)
	mustContain(t, h.Say(g2, liu, "@邻里帮 差评"), "您是指哪一单？回复 1) #4")
	h.Clock.Advance(11 * time.Minute)
	if s := h.Say(g2, liu, "1"); len(s) != 0 {
		t.Fatalf("an expired question was answered: %s", texts(s))
	}
	if h.Item(4).State != community.StateDone || h.Item(5).State != community.StateDone {
		t.Fatal("an item changed")
	}
}
