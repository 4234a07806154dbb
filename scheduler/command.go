package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot/zh"
	"github.com/neighborbot/neighborbot/config"
)

// Card button actions of an occurrence's announcement (bot.Button.Action; Ref is the
// occurrence id).
const (
	ActionSignup = "signup" // 报名
	ActionLeave  = "leave"  // 请假
	ActionSignin = "signin" // 签到
)

// ChatVerb names what a chat message asks of the scheduler.
type ChatVerb string

const (
	ChatNone       ChatVerb = ""           // not ours: the core handlers answer
	ChatCreate     ChatVerb = "create"     // 活动 / 会议 <规则> <名称> [地点 …] [范围 …] [提醒 …]
	ChatModify     ChatVerb = "modify"     // 修改活动 <编号> [规则] [名称] [地点 …] [范围 …] [提醒 …]
	ChatCancel     ChatVerb = "cancel"     // 取消活动 <编号>
	ChatList       ChatVerb = "list"       // 活动列表 / 日程
	ChatHelp       ChatVerb = "help"       // 活动帮助
	ChatSignup     ChatVerb = "signup"     // 报名 [活动]
	ChatLeave      ChatVerb = "leave"      // 请假 [活动] [原因]
	ChatSignin     ChatVerb = "signin"     // 签到 [活动]
	ChatAttendance ChatVerb = "attendance" // 出席 [活动] / 报名情况 [活动]
	ChatAgenda     ChatVerb = "agenda"     // 议题 [会议] 内容
)

// ChatCommand is a parsed scheduler command.
type ChatCommand struct {
	Verb ChatVerb
	Kind string // create: a config.Schedule* kind

	Rule    Rule // create, modify: when
	HasRule bool
	Title   string
	Place   string
	Scope   string   // 范围: an org node name, or 全部
	Remind  []string // 提醒: Go durations ("72h")

	Ref  string // modify, cancel: the schedule; signup, signin, attendance: what was written after the verb
	Text string // leave: reason (possibly led by a reference); agenda: the item

	// Err is set when the verb was recognised but its arguments are wrong: a Chinese hint
	// shown as is.
	Err string
}

// Syntax examples, shown in hints and the help text.
const (
	exampleCreate  = "活动 每月第一个周五 15:00 主题党日 地点 社区活动室"
	exampleMeeting = "会议 每季度第一个月15日 9:30 联席会议 地点 党群服务中心"
	exampleOnce    = "活动 11月30日 14:00 消防演练 地点 小区广场"
)

// HelpText lists the scheduler's commands.
const HelpText = `📅 活动与会议
书记：
  ` + exampleCreate + `
  ` + exampleMeeting + `
  ` + exampleOnce + `
  可加：范围 1网格（默认本辖区）、提醒 3天 1天 2小时
  修改活动 3 地点 新地点 / 修改活动 3 每月第二个周五 15:00
  取消活动 3
  出席 3 / 报名情况：看谁报名、请假、签到
大家：
  活动列表：近期活动
  报名 / 请假 原因 / 签到（活动开始前30分钟起）
  议题 内容：为联席会议提交议题
规则写法：每天 8:00、工作日 8:00、每周一 8:30、每月15日 9:00、每月第一个周五 15:00、每月最后一个周三 9:00、每季度第一个月15日 9:30、每年3月第一个周一 9:00、2027年1月5日 9:00。遇法定节假日顺延到下一个工作日。`

type verbSpec struct {
	words []string
	verb  ChatVerb
}

// Longer words first where one begins another (报名情况 before 报名).
var chatVerbs = []verbSpec{
	{[]string{"活动帮助", "会议帮助", "活动说明"}, ChatHelp},
	{[]string{"活动列表", "近期活动", "活动安排", "会议安排", "查看活动", "日程"}, ChatList},
	{[]string{"修改活动", "修改会议", "更改活动", "更改会议", "调整活动", "调整会议"}, ChatModify},
	{[]string{"取消活动", "取消会议", "停止活动", "停止会议", "删除活动", "删除会议"}, ChatCancel},
	{[]string{"报名情况", "出席情况", "签到情况", "出席", "出勤", "考勤"}, ChatAttendance},
	{[]string{"报名"}, ChatSignup},
	{[]string{"请假"}, ChatLeave},
	{[]string{"签到"}, ChatSignin},
	{[]string{"提交议题", "议题"}, ChatAgenda},
	{[]string{"新建活动", "创建活动", "发布活动", "新建会议", "创建会议", "发布会议", "活动", "会议"}, ChatCreate},
}

// ParseChat reads a scheduler command. It is pure. Messages that are not scheduler commands
// give ChatNone, so ordinary chat ("活动室的灯坏了", "我明天请假") is left to others.
func ParseChat(text string) ChatCommand {
	s := zh.Fold(text)
	s = strings.TrimLeft(s, "/")
	for _, vs := range chatVerbs {
		for _, w := range vs.words {
			rest, ok := strings.CutPrefix(s, w)
			if !ok {
				continue
			}
			if vs.verb == ChatCreate {
				return parseCreate(w, strings.TrimLeft(rest, " :"))
			}
			if rest != "" && rest[0] != ' ' && rest[0] != ':' {
				return ChatCommand{} // 报名表在哪: not a command
			}
			return parseArgs(vs.verb, strings.TrimSpace(strings.TrimLeft(rest, " :")))
		}
	}
	return ChatCommand{}
}

func parseArgs(v ChatVerb, rest string) ChatCommand {
	c := ChatCommand{Verb: v}
	switch v {
	case ChatList, ChatHelp:
		if rest != "" {
			return ChatCommand{}
		}
	case ChatSignup, ChatSignin, ChatAttendance:
		c.Ref = rest
	case ChatLeave:
		c.Text = rest
	case ChatAgenda:
		c.Text = rest
		if rest == "" {
			c.Err = "请写上议题内容，例如：议题 3栋楼道堆物清理"
		}
	case ChatCancel:
		c.Ref, _, _ = strings.Cut(rest, " ")
		if c.Ref == "" {
			c.Err = "请写上活动编号，例如：取消活动 3（发送“活动列表”查看编号）"
		}
	case ChatModify:
		ref, tail, _ := strings.Cut(rest, " ")
		c.Ref = ref
		if ref == "" {
			c.Err = "请写上活动编号和要改的内容，例如：修改活动 3 地点 社区活动室"
			return c
		}
		if err := c.parseSpec(strings.TrimSpace(tail)); err != "" {
			c.Err = err
			return c
		}
		if !c.HasRule && c.Title == "" && c.Place == "" && c.Scope == "" && c.Remind == nil {
			c.Err = "请写上要改的内容，例如：修改活动 " + ref + " 每月第二个周五 15:00 / 修改活动 " + ref + " 地点 社区活动室"
		}
	}
	return c
}

func parseCreate(word, rest string) ChatCommand {
	if rest == "" || !LooksLikeRule(rest) {
		return ChatCommand{} // 活动室的灯坏了, 会议纪要…: not a command
	}
	c := ChatCommand{Verb: ChatCreate}
	if err := c.parseSpec(rest); err != "" {
		c.Err = err
		return c
	}
	if c.Title == "" {
		ex := exampleCreate
		if strings.Contains(word, "会议") {
			ex = exampleMeeting
		}
		c.Err = "请写上名称，例如：" + ex
		return c
	}
	c.Kind = kindOf(word, c.Title)
	return c
}

// parseSpec reads "[规则] [名称] [地点 …] [范围 …] [提醒 …]".
func (c *ChatCommand) parseSpec(s string) string {
	if LooksLikeRule(s) {
		r, rest, err := ParseRulePrefix(s)
		if err != nil {
			return err.Error()
		}
		c.Rule, c.HasRule, s = r, true, rest
	}
	title, fields := splitFields(s)
	c.Title = strings.Trim(title, " ，,。")
	c.Place = fields["地点"]
	c.Scope = fields["范围"]
	if v, ok := fields["提醒"]; ok {
		ds, err := parseReminders(v)
		if err != "" {
			return err
		}
		c.Remind = ds
	}
	if n := len([]rune(c.Title)); n > 60 {
		return fmt.Sprintf("名称太长了（%d字），请控制在60字以内。", n)
	}
	return ""
}

var fieldWords = map[string]string{"地点": "地点", "地址": "地点", "范围": "范围", "通知范围": "范围", "提醒": "提醒"}

// splitFields cuts "主题党日 地点 社区活动室 范围 1网格" into the title and keyed fields.
func splitFields(s string) (string, map[string]string) {
	fields := map[string]string{}
	type hit struct {
		at, end int
		key     string
	}
	var hits []hit
	for i := 0; i < len(s); {
		matched := false
		for w, key := range fieldWords {
			// A keyword starts a field only after a space: "防诈骗提醒" stays a title.
			if (i == 0 || s[i-1] == ' ') && strings.HasPrefix(s[i:], w) {
				hits = append(hits, hit{i, i + len(w), key})
				i += len(w)
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	if len(hits) == 0 {
		return s, fields
	}
	for j, h := range hits {
		end := len(s)
		if j+1 < len(hits) {
			end = hits[j+1].at
		}
		v := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(s[h.end:end]), ":"))
		fields[h.key] = strings.Trim(v, " ，,。")
	}
	return s[:hits[0].at], fields
}

// parseReminders reads "3天 1天 2小时" or "72h 24h" into Go durations.
func parseReminders(s string) ([]string, string) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '、' || r == ',' || r == '，' }) {
		if d, err := time.ParseDuration(f); err == nil && d > 0 {
			out = append(out, durationName(d))
			continue
		}
		rs := []rune(f)
		v, n := zh.NumberRunes(rs)
		if n == 0 || v <= 0 || v > 60 {
			return nil, fmt.Sprintf("没看懂提醒时间“%s”，例如：提醒 3天 1天 2小时", f)
		}
		var unit time.Duration
		switch string(rs[n:]) {
		case "天":
			unit = 24 * time.Hour
		case "小时", "个小时", "h":
			unit = time.Hour
		case "分钟", "分":
			unit = time.Minute
		default:
			return nil, fmt.Sprintf("没看懂提醒时间“%s”，例如：提醒 3天 1天 2小时", f)
		}
		out = append(out, durationName(time.Duration(v)*unit))
	}
	if len(out) == 0 {
		return nil, "请写上提前多久提醒，例如：提醒 3天 1天 2小时"
	}
	return out, ""
}

// kindOf guesses a chat-created schedule's kind from its verb and title.
func kindOf(word, title string) string {
	switch {
	case strings.Contains(word, "会议"):
		return config.ScheduleMeeting
	case strings.Contains(title, "主题党日"):
		return config.ScheduleTheme
	case strings.Contains(title, "代表大会"):
		return config.ScheduleCongress
	case strings.Contains(title, "碰头"):
		return config.ScheduleStandup
	case strings.Contains(title, "联合"):
		return config.ScheduleJointActivity
	case strings.Contains(title, "联席"):
		return config.ScheduleMeeting
	}
	return config.ScheduleCustom
}
