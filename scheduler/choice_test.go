package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/scheduler"
)

func said(c *chat, group, user, text string) string {
	c.t.Helper()
	return bottest.Transcript(c.say(group, user, text))
}

// Two activities may share a title: 报名 <title> takes the nearer one, or asks which with a
// numbered question when both are about as near, and a bare number answers it.
func TestChatSameTitleAsksWhichAndTakesTheNumber(t *testing.T) {
	c := newChat(t) // Monday 23 November 2026; the configured 主题党日 is on Friday 4 December 15:00
	const xf, yg = "local:xingfuli", "local:yangguang"
	ctx := context.Background()
	if s := said(c, yg, "local:wang", "活动 12月5日 9:00 主题党日 地点 阳光花园活动室 范围 2网格"); !strings.Contains(s, "已创建") {
		t.Fatalf("create: %s", s)
	}

	// In 阳光花园 both are visible and 18 hours apart: which one?
	q := said(c, yg, "local:liu", "报名 主题党日")
	if !strings.Contains(q, "您是指哪一个？回复 1) 主题党日 12月4日 2) 主题党日(2网格) 12月5日") {
		t.Fatalf("报名 主题党日 with two near 主题党日:\n%s", q)
	}
	if _, err := c.h.Store.GetDoc(ctx, scheduler.CollPending, "local:liu"); err != nil {
		t.Fatalf("the question is not in the store (another replica could not take the answer): %v", err)
	}
	// Someone else's "2" is not an answer to 刘大爷's question.
	if s := said(c, yg, "local:zhao", "2"); strings.Contains(s, "已报名") {
		t.Errorf("another member's 2 was taken as the answer:\n%s", s)
	}
	if s := said(c, yg, "local:liu", "2"); !strings.Contains(s, "刘大爷 已报名主题党日（12月5日(周六) 09:00，阳光花园活动室）") {
		t.Errorf("answer 2:\n%s", s)
	}
	if _, err := c.h.Store.GetDoc(ctx, scheduler.CollPending, "local:liu"); community.ErrorCode(err) != community.ENotFound {
		t.Errorf("the answered question is still pending: %v", err)
	}
	// A leave names its activity the same way, and keeps its reason through the question.
	if s := said(c, yg, "local:zhao", "请假 主题党日 出差"); !strings.Contains(s, "您是指哪一个") {
		t.Fatalf("请假 主题党日:\n%s", s)
	}
	if s := said(c, yg, "local:zhao", "１"); !strings.Contains(s, "赵志强 已请假：主题党日（12月4日(周五) 15:00），原因：出差") {
		t.Errorf("answer １ to the leave:\n%s", s)
	}

	// In 幸福里 only the community's 主题党日 is visible: no question.
	if s := said(c, xf, "local:zhang", "报名 主题党日"); !strings.Contains(s, "张红梅 已报名主题党日（12月4日(周五) 15:00") {
		t.Errorf("报名 主题党日 in 幸福里:\n%s", s)
	}

	// A question expires: ten minutes later a bare number is not taken for it.
	said(c, yg, "local:liu", "请假 主题党日")
	c.h.Clock.Set(c.h.Clock.Now().Add(11 * time.Minute))
	if s := said(c, yg, "local:liu", "1"); strings.Contains(s, "已请假") {
		t.Errorf("an expired question took the answer:\n%s", s)
	}

	// Once the 4 December one has passed, the 5 December one is the nearest by far.
	c.h.Clock.Set(at(2026, 12, 4, 18, 0))
	if s := said(c, yg, "local:zhao", "报名 主题党日"); !strings.Contains(s, "赵志强 已报名主题党日（12月5日(周六) 09:00") {
		t.Errorf("报名 主题党日 after the first has passed:\n%s", s)
	}
}

// 出席 shows only dates since the activity was created: none yet, then the latest begun.
func TestChatAttendanceSinceCreation(t *testing.T) {
	c := newChat(t) // Monday 23 November 2026, 10:00
	const xf = "local:xingfuli"
	if s := said(c, xf, "local:wang", "活动 每天 8:00 网格早碰头"); !strings.Contains(s, "编号 1") {
		t.Fatalf("create: %s", s)
	}
	if s := said(c, xf, "local:wang", "出席 1"); !strings.Contains(s, "网格早碰头（编号 1）还没有举行过，下次：11月24日(周二) 08:00") || strings.Contains(s, "11月23日") {
		t.Errorf("出席 before the first occurrence:\n%s", s)
	}
	c.h.Clock.Set(at(2026, 11, 25, 9, 0))
	s := said(c, xf, "local:wang", "出席 1")
	if !strings.Contains(s, "📋 网格早碰头 11月25日(周三) 08:00") {
		t.Errorf("出席 on the third day:\n%s", s)
	}
	// A weekly activity created after this week's date has none yet either.
	said(c, xf, "local:wang", "活动 每周一 9:00 读书会")
	if s := said(c, xf, "local:wang", "出席 2"); !strings.Contains(s, "还没有举行过") || strings.Contains(s, "11月23日") {
		t.Errorf("出席 of a weekly activity created after Monday:\n%s", s)
	}
}

// A number said in reply to an item's card is the core's (a claim), even while a question
// about activities waits for the same person.
func TestChatNumberReplyingToACardIsNotAnAnswer(t *testing.T) {
	c := newChat(t)
	const yg = "local:yangguang"
	said(c, yg, "local:wang", "活动 12月5日 9:00 主题党日 范围 2网格")
	said(c, yg, "local:liu", "@邻里帮 1栋楼道灯坏了") // #2: the activity took #1 of the shared numbers
	said(c, yg, "local:wang", "派单 2")
	card, _ := c.h.Platform.Card("item:2")
	if card == "" {
		t.Fatal("no item card")
	}
	if s := said(c, yg, "local:zhao", "请假 主题党日 出差"); !strings.Contains(s, "您是指哪一个") {
		t.Fatalf("请假 主题党日:\n%s", s)
	}
	if s := bottest.Transcript(c.h.ReplyTo(yg, "local:zhao", card, "1")); strings.Contains(s, "已请假") {
		t.Errorf("a 1 replying to the item card answered the question:\n%s", s)
	}
	if s := said(c, yg, "local:zhao", "1"); !strings.Contains(s, "赵志强 已请假：主题党日（12月4日(周五) 15:00），原因：出差") {
		t.Errorf("the plain 1 afterwards:\n%s", s)
	}
}
