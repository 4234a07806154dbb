package notices

import (
	"fmt"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// NoticeCard is what each target group sees: the notice with a 收到 button, or the poll
// with a button per option. c are the counters shown once there are any.
func NoticeCard(nt *Notice, now time.Time, c counts) bot.Card {
	ref := nt.Ref()
	card := bot.Card{Key: CardKey(nt.ID)}
	if nt.Kind == KindPoll {
		card.Title = "🗳 " + nt.Label() + " · 居民议事"
		card.Color = "orange"
		card.Text = nt.Title
		card.Fields = append(card.Fields,
			bot.Field{Label: "截止", Value: community.FormatDate(nt.Deadline, now), Short: true},
			bot.Field{Label: "发起", Value: nt.AuthorName, Short: true})
		if c.Voters > 0 {
			card.Fields = append(card.Fields, bot.Field{Label: "已投票", Value: fmt.Sprintf("%d 人", c.Voters), Short: true})
		}
		if nt.Result != nil {
			card.Color = "grey"
			card.Footer = "投票已截止，结果见公示。"
			return card
		}
		for i, o := range nt.Options {
			b := bot.Button{Label: o, Action: ActVote, Ref: ref, Value: o}
			if i == 0 {
				b.Style = "primary"
			}
			card.Buttons = append(card.Buttons, b)
		}
		card.Footer = "点选项投票，或回复本卡片写选项；截止前可以改，以最后一次为准。"
		return card
	}
	card.Title = "📢 " + nt.Label()
	card.Color = "blue"
	card.Text = nt.Text
	for _, l := range nt.Links {
		card.Fields = append(card.Fields, bot.Field{Label: "附件", Value: l})
	}
	card.Fields = append(card.Fields, bot.Field{Label: "发布", Value: nt.AuthorName, Short: true})
	if c.Acks > 0 {
		card.Fields = append(card.Fields, bot.Field{Label: "已收到", Value: fmt.Sprintf("%d 人", c.Acks), Short: true})
	}
	card.Buttons = []bot.Button{{Label: "收到", Action: ActAck, Ref: ref, Style: "primary"}}
	card.Footer = fmt.Sprintf("看过请点“收到”，或回复本消息“收到”（也可发送：收到 %d）。", nt.Number())
	return card
}

// confirmCard asks the author to confirm a draft, showing its reach; after the answer it
// shows the outcome without buttons.
func confirmCard(nt *Notice, now time.Time, ttl time.Duration) bot.Card {
	ref := nt.Ref()
	c := bot.Card{Key: draftCardKey(nt.ID)}
	switch nt.Status {
	case StatusDraft:
		c.Title, c.Color = "请确认发送："+nt.Label(), "orange"
	case StatusCancelled:
		c.Title, c.Color = "已取消："+nt.Label(), "grey"
	default:
		c.Title, c.Color = "已确认发送："+nt.Label(), "green"
	}
	if nt.Kind == KindPoll {
		c.Text = nt.Title
	} else {
		c.Text = preview(nt.Text, 300)
	}
	people := "未知"
	if nt.People >= 0 {
		people = fmt.Sprintf("已登记 %d 人（群里实际人数以平台为准）", nt.People)
	}
	c.Fields = append(c.Fields,
		bot.Field{Label: "发送范围", Value: nt.TargetNames, Short: true},
		bot.Field{Label: "群数", Value: fmt.Sprintf("%d 个群", nt.Groups), Short: true},
		bot.Field{Label: "覆盖人员", Value: people})
	for _, l := range nt.Links {
		c.Fields = append(c.Fields, bot.Field{Label: "附件", Value: l})
	}
	if nt.Kind == KindPoll {
		c.Fields = append(c.Fields,
			bot.Field{Label: "选项", Value: strings.Join(nt.Options, " / "), Short: true},
			bot.Field{Label: "截止", Value: community.FormatDate(nt.Deadline, now), Short: true})
	} else if n := len([]rune(nt.Text)); n > 300 {
		c.Fields = append(c.Fields, bot.Field{Label: "字数", Value: fmt.Sprintf("%d 字（上面只显示开头）", n), Short: true})
	}
	if nt.Status == StatusDraft {
		c.Buttons = []bot.Button{
			{Label: "确认发送", Action: ActConfirm, Ref: ref, Style: "primary"},
			{Label: "取消发送", Action: ActCancel, Ref: ref, Style: "danger"},
		}
		c.Footer = fmt.Sprintf("也可以回复“确认发送”或“取消发送”。草稿%s内有效。", ttlText(ttl))
	}
	return c
}

func preview(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "……"
}

func ttlText(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d小时", int(d/time.Hour))
	}
	return fmt.Sprintf("%d分钟", int(d/time.Minute))
}
