package scheduler_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseChat(t *testing.T) {
	tests := []struct {
		in   string
		want scheduler.ChatCommand
	}{
		{"活动 每月第一个周五 15:00 主题党日 地点 社区活动室", scheduler.ChatCommand{Verb: scheduler.ChatCreate, Kind: config.ScheduleTheme,
			Rule: mustRule(t, "每月第一个周五 15:00"), HasRule: true, Title: "主题党日", Place: "社区活动室"}},
		{"会议 每季度第一个月15日 9:30 联席会议 地点：党群服务中心 范围 幸福社区 提醒 3天 1天", scheduler.ChatCommand{Verb: scheduler.ChatCreate, Kind: config.ScheduleMeeting,
			Rule: mustRule(t, "每季度第一个月15日 9:30"), HasRule: true, Title: "联席会议", Place: "党群服务中心", Scope: "幸福社区", Remind: []string{"72h", "24h"}}},
		{"活动 11月30日 14:00 消防演练", scheduler.ChatCommand{Verb: scheduler.ChatCreate, Kind: config.ScheduleCustom,
			Rule: mustRule(t, "11月30日 14:00"), HasRule: true, Title: "消防演练"}},
		{"新建活动：每天 8:00 网格早碰头", scheduler.ChatCommand{Verb: scheduler.ChatCreate, Kind: config.ScheduleStandup,
			Rule: mustRule(t, "每天 8:00"), HasRule: true, Title: "网格早碰头"}},
		{"活动 每月第一个周五 15:00", scheduler.ChatCommand{Verb: scheduler.ChatCreate, Rule: mustRule(t, "每月第一个周五 15:00"), HasRule: true,
			Err: "请写上名称，例如：活动 每月第一个周五 15:00 主题党日 地点 社区活动室"}},
		{"修改活动 3 地点 三楼会议室", scheduler.ChatCommand{Verb: scheduler.ChatModify, Ref: "3", Place: "三楼会议室"}},
		{"修改活动 3 每月第二个周五 15:00", scheduler.ChatCommand{Verb: scheduler.ChatModify, Ref: "3", Rule: mustRule(t, "每月第二个周五 15:00"), HasRule: true}},
		{"取消活动 3", scheduler.ChatCommand{Verb: scheduler.ChatCancel, Ref: "3"}},
		{"报名", scheduler.ChatCommand{Verb: scheduler.ChatSignup}},
		{"报名 主题党日", scheduler.ChatCommand{Verb: scheduler.ChatSignup, Ref: "主题党日"}},
		{"请假 出差", scheduler.ChatCommand{Verb: scheduler.ChatLeave, Text: "出差"}},
		{"签到", scheduler.ChatCommand{Verb: scheduler.ChatSignin}},
		{"出席 3", scheduler.ChatCommand{Verb: scheduler.ChatAttendance, Ref: "3"}},
		{"报名情况", scheduler.ChatCommand{Verb: scheduler.ChatAttendance}},
		{"议题 3栋楼道堆物清理", scheduler.ChatCommand{Verb: scheduler.ChatAgenda, Text: "3栋楼道堆物清理"}},
		{"活动列表", scheduler.ChatCommand{Verb: scheduler.ChatList}},
		{"活动帮助", scheduler.ChatCommand{Verb: scheduler.ChatHelp}},
		// Ordinary chat and the core's commands are not ours.
		{"活动室的灯坏了", scheduler.ChatCommand{}},
		{"会议纪要发群里了", scheduler.ChatCommand{}},
		{"报名表在哪", scheduler.ChatCommand{}},
		{"我明天请假", scheduler.ChatCommand{}},
		{"活动列表在哪看", scheduler.ChatCommand{}},
		{"取消 12 重复提交", scheduler.ChatCommand{}},
		{"报到 张三 3栋2单元", scheduler.ChatCommand{}},
		{"派单 12 截止 周五18点", scheduler.ChatCommand{}},
	}
	for _, tt := range tests {
		got := scheduler.ParseChat(tt.in)
		if !chatEqual(got, tt.want) {
			t.Errorf("ParseChat(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{"活动 每月第一个周八 15:00 读书会", "取消活动", "议题", "修改活动 3", "活动 每天 8:00 早碰头 提醒 很久"} {
		if c := scheduler.ParseChat(in); c.Verb == scheduler.ChatNone || c.Err == "" {
			t.Errorf("ParseChat(%q) = %+v, want a hint", in, c)
		}
	}
}

func chatEqual(a, b scheduler.ChatCommand) bool {
	return a.Verb == b.Verb && a.Kind == b.Kind && a.Rule == b.Rule && a.HasRule == b.HasRule &&
		a.Title == b.Title && a.Place == b.Place && a.Scope == b.Scope && slices.Equal(a.Remind, b.Remind) &&
		a.Ref == b.Ref && a.Text == b.Text && a.Err == b.Err
}

func FuzzParseChat(f *testing.F) {
	for _, s := range []string{
		"活动 每月第一个周五 15:00 主题党日 地点 社区活动室", "会议 每季度第一个月15日 9:30 联席会议 地点 …", "活动 11月30日 14:00 消防演练",
		"修改活动 3 地点 x 范围 全部 提醒 3天", "取消活动 3", "报名 主题党日", "请假 主题党日 出差", "签到", "出席", "议题 停车难",
		"活动室", "活动 每 地点", "活动 1月", "提醒 地点 范围", "活动 2027年",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := scheduler.ParseChat(s)
		if c.Verb == scheduler.ChatNone && (c.Err != "" || c.HasRule) {
			t.Fatalf("%q: not a command but %+v", s, c)
		}
		if c.Verb == scheduler.ChatCreate && c.Err == "" && (c.Title == "" || !c.HasRule) {
			t.Fatalf("%q: create without title or rule: %+v", s, c)
		}
	})
}

// chat drives the scheduler's commands through the real handlers (bottest) and ticks it
// with the harness's clock; what the bot says is compared with testdata/chat.golden.
type chat struct {
	t   *testing.T
	h   *bottest.Harness
	s   *scheduler.Scheduler
	out []string
}

func newChat(t *testing.T) *chat {
	var s *scheduler.Scheduler
	h := bottest.New(t, func(env bottest.Env) (bottest.Bot, error) {
		var err error
		s, err = scheduler.New(scheduler.Options{
			Store: env.Store, Tree: env.Tree, Schedules: env.Config.Schedules, Deadlines: env.Config.Deadlines,
			Calendar: scheduler.NewHolidays(nil), Now: env.Now, Loc: bottest.Shanghai, Owner: "test",
		})
		if err != nil {
			return bottest.Bot{}, err
		}
		if err := s.Sync(context.Background()); err != nil {
			return bottest.Bot{}, err
		}
		items := &handlers.Handlers{Store: env.Store, Tree: env.Tree, BotName: env.Config.BotName, Log: env.Log}
		items.AddNumbered(s.Numbered, store.KindActivity)
		m := bot.NewMux(env.Config.BotName)
		m.Pending, m.Refs = env.Store, env.Store
		if err := errors.Join(items.Register(m), s.Register(m)); err != nil {
			return bottest.Bot{}, err
		}
		return bottest.Bot{Handler: m.ServeBot, Refresh: items.RefreshCard(env.Now)}, nil
	})
	return &chat{t: t, h: h, s: s}
}

var names = map[string]string{
	"local:wang": "王书记", "local:li": "李建国", "local:zhang": "张红梅", "local:zhao": "赵志强",
	"local:chen": "陈阿姨", "local:liu": "刘大爷",
}

func (c *chat) say(group, user, text string) []bottest.Sent {
	c.t.Helper()
	c.out = append(c.out, "> "+names[user]+"@"+strings.TrimPrefix(group, "local:")+": "+text)
	sent := c.h.Say(group, user, text)
	c.record(sent)
	return sent
}

func (c *chat) tap(group, user, key, action string) {
	c.t.Helper()
	c.out = append(c.out, "> "+names[user]+"@"+strings.TrimPrefix(group, "local:")+" 点 "+action)
	c.record(c.h.Tap(group, user, key, action, ""))
}

func (c *chat) record(sent []bottest.Sent) {
	for _, s := range sent {
		c.out = append(c.out, "  "+s.String())
	}
}

// until ticks from wake-up to wake-up until end, delivering what each tick enqueues.
func (c *chat) until(end time.Time) {
	c.t.Helper()
	ctx := context.Background()
	for {
		before := c.h.Platform.Len()
		next, err := c.s.Tick(ctx, c.h.Clock.Now())
		if err != nil {
			c.t.Fatal(err)
		}
		if err := c.h.Dispatcher.Flush(ctx); err != nil {
			c.t.Fatal(err)
		}
		sent := c.h.Platform.Since(before)
		if len(sent) > 0 {
			slices.SortFunc(sent, func(a, b bottest.Sent) int { return strings.Compare(a.ID, b.ID) })
			c.out = append(c.out, "== "+c.h.Clock.Now().Format("01-02 15:04"))
			c.record(sent)
		}
		if next.IsZero() || next.After(end) {
			c.h.Clock.Set(end)
			return
		}
		c.h.Clock.Set(next)
	}
}

func (c *chat) at(t time.Time) {
	c.h.Clock.Set(t)
	c.out = append(c.out, "== "+t.Format("01-02 15:04"))
}

func TestChatActivityAndMeeting(t *testing.T) {
	c := newChat(t) // Monday 23 November 2026, 10:00
	const xf, yg = "local:xingfuli", "local:yangguang"

	c.say(xf, "local:li", "活动 每月第一个周五 15:00 读书会")
	c.say(xf, "local:wang", "活动 11月30日 14:00 消防演练 地点 小区广场")
	c.say(yg, "local:liu", "活动列表")
	c.until(at(2026, 11, 23, 14, 0)) // announced a week ahead
	c.tap(xf, "local:li", scheduler.CardKey("1@202611301400"), scheduler.ActionSignup)
	c.tap(xf, "local:li", scheduler.CardKey("1@202611301400"), scheduler.ActionSignup)
	c.say(yg, "local:zhang", "报名")
	c.say(xf, "local:chen", "请假 家里有事")
	c.say(xf, "local:li", "签到")
	c.say(xf, "local:liu", "活动室的灯坏了")
	// The drill moves an hour later; sign-ups go with it and the new date is announced.
	c.say(xf, "local:wang", "修改活动 1 11月30日 15:00")
	c.until(at(2026, 11, 30, 14, 40))
	c.say(xf, "local:li", "签到")
	c.say(xf, "local:li", "签到")
	c.say(xf, "local:wang", "出席")
	c.at(at(2026, 11, 30, 16, 0))
	c.say(xf, "local:wang", "出席 1")
	c.say(xf, "local:chen", "出席 1")

	c.say(xf, "local:wang", "会议 12月10日 9:30 联席会议 地点 二楼会议室")
	c.say(yg, "local:zhao", "议题 阳光花园停车难")
	c.say(yg, "local:zhao", "议题 2 阳光花园停车难")
	c.say(xf, "local:wang", "修改活动 2 地点 三楼会议室")
	c.say(xf, "local:wang", "取消活动 theme-day")
	c.until(at(2026, 12, 9, 10, 0))
	c.say(xf, "local:wang", "取消活动 2")
	c.say(xf, "local:wang", "活动列表")

	if li, err := c.h.Store.GetPerson(context.Background(), "local:li"); err != nil || li.Points != 2 {
		t.Errorf("李建国's points after signing in: %d (%v)", li.Points, err)
	}
	golden(t, "chat.golden", strings.Join(c.out, "\n")+"\n")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scheduler -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs; got:\n%s", name, got)
	}
}

// A secretary schedules within their jurisdiction: 全部 is all of it, a node outside it is
// refused, and another secretary's wider activity is not theirs to change.
func TestChatScopeWithinJurisdiction(t *testing.T) {
	c := newChat(t)
	const xf = "local:xingfuli"
	const gsec = "local:gsec"
	if err := c.h.Store.PutPerson(context.Background(), community.Person{ID: gsec, Name: "网格书记", Role: community.RoleSecretary, Node: "grid1", Approved: true}); err != nil {
		t.Fatal(err)
	}
	if s := bottest.Transcript(c.say(xf, gsec, "活动 12月20日 14:00 读书会 范围 2网格")); !strings.Contains(s, "2网格 不在您的辖区内") {
		t.Errorf("another grid's scope:\n%s", s)
	}
	if s := bottest.Transcript(c.say(xf, gsec, "活动 12月20日 14:00 读书会 范围 全部")); !strings.Contains(s, "通知：1网格") {
		t.Errorf("全部 for a grid's secretary:\n%s", s)
	}
	if s := bottest.Transcript(c.say(xf, "local:wang", "活动 12月21日 14:00 消防演练")); !strings.Contains(s, "通知：幸福社区") {
		t.Errorf("community secretary's default scope:\n%s", s)
	}
	if s := bottest.Transcript(c.say(xf, gsec, "修改活动 2 地点 广场")); !strings.Contains(s, "不在您的辖区内") {
		t.Errorf("a grid's secretary changed the community's activity:\n%s", s)
	}
	if s := bottest.Transcript(c.say(xf, "local:wang", "修改活动 1 地点 广场")); !strings.Contains(s, "已修改") {
		t.Errorf("the community's secretary could not change a grid's activity:\n%s", s)
	}
}
