package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

var stateColor = map[community.State]string{
	community.StateNeed: "grey", community.StateOpen: "blue", community.StateClaimed: "orange",
	community.StateDone: "green", community.StateFollowUp: "red", community.StateClosed: "green",
	community.StateCancelled: "grey",
}

// ItemCard renders the item's living card: what the group sees and taps. Personal data is
// masked; buttons are offered for what the item's state allows (roles are checked on tap).
func ItemCard(it *community.Item, now time.Time) bot.Card {
	c := bot.Card{
		Key:   ItemKey(it.No),
		Title: fmt.Sprintf("#%d %s · %s", it.No, kindName(it), it.State.Chinese()),
		Color: stateColor[it.State],
		Text:  community.Mask(it.Title),
	}
	if it.Overdue || it.IsOverdue(now) {
		c.Color = "red"
		c.Title += " ⚠已超期"
	}
	c.Fields = append(c.Fields, bot.Field{Label: "提出", Value: it.RequesterName, Short: true})
	if it.Slots > 1 || len(it.Claims) > 0 {
		c.Fields = append(c.Fields, bot.Field{Label: "名额", Value: fmt.Sprintf("%d/%d", len(it.Claims), it.Slots), Short: true})
	}
	if len(it.Claims) > 0 {
		c.Fields = append(c.Fields, bot.Field{Label: "认领", Value: it.ClaimerNames(), Short: true})
	}
	if !it.Deadline.IsZero() {
		c.Fields = append(c.Fields, bot.Field{Label: "截止", Value: community.FormatDate(it.Deadline, now), Short: true})
	}
	if it.Supervised > 0 {
		c.Fields = append(c.Fields, bot.Field{Label: "督办", Value: fmt.Sprintf("%d次", it.Supervised), Short: true})
	}
	if it.DoneNote != "" {
		c.Fields = append(c.Fields, bot.Field{Label: "办理情况", Value: community.Mask(it.DoneNote)})
	}
	if it.Stars > 0 {
		v := stars(it.Stars)
		if it.Comment != "" {
			v += " " + community.Mask(it.Comment)
		}
		c.Fields = append(c.Fields, bot.Field{Label: "评价", Value: v})
	}
	if it.State == community.StateCancelled && it.Reason != "" {
		c.Fields = append(c.Fields, bot.Field{Label: "取消原因", Value: community.Mask(it.Reason)})
	}
	n := it.No
	switch it.State {
	case community.StateNeed:
		c.Buttons = []bot.Button{{Label: "派单", Action: "dispatch", Item: n, Style: "primary"}, {Label: "取消", Action: "cancel", Item: n, Style: "danger"}}
		c.Footer = fmt.Sprintf("书记派单：派单 %d 截止 明天 需要1人", n)
	case community.StateOpen:
		c.Buttons = []bot.Button{{Label: "接单", Action: "claim", Item: n, Style: "primary"}}
		if len(it.Claims) > 0 {
			c.Buttons = append(c.Buttons, bot.Button{Label: "放弃", Action: "release", Item: n}, bot.Button{Label: "完成", Action: "complete", Item: n})
		}
		c.Buttons = append(c.Buttons, bot.Button{Label: "取消", Action: "cancel", Item: n, Style: "danger"})
		c.Footer = fmt.Sprintf("党员认领：点“接单”，或回复“我来”，或发送“接单 %d”", n)
	case community.StateClaimed:
		c.Buttons = []bot.Button{{Label: "完成", Action: "complete", Item: n, Style: "primary"}, {Label: "放弃", Action: "release", Item: n}}
		c.Footer = fmt.Sprintf("办好后：完成 %d 办理情况", n)
	case community.StateDone:
		for s := 5; s >= 1; s-- {
			c.Buttons = append(c.Buttons, bot.Button{Label: strconv.Itoa(s) + "★", Action: "rate", Item: n, Value: strconv.Itoa(s), Style: map[bool]string{true: "primary"}[s == 5]})
		}
		c.Buttons = append(c.Buttons, bot.Button{Label: "不满意", Action: "unsatisfied", Item: n, Style: "danger"})
		c.Footer = fmt.Sprintf("请 %s 确认：确认 %d 5星 评语", it.RequesterName, n)
	case community.StateFollowUp:
		c.Footer = "书记回访中"
	}
	return c
}

func kindName(it *community.Item) string {
	if it.State == community.StateNeed {
		return "居民需求"
	}
	return "服务事项"
}

// cardMessage is the outbound that posts (update=false) or refreshes (update=true) the item's
// card in its group.
func (h *Handlers) cardMessage(it *community.Item, now time.Time, update bool) bot.Outbound {
	plat, chat := community.SplitID(it.GroupID)
	c := ItemCard(it, now)
	return bot.Outbound{Platform: plat, ChatID: chat, Card: &c, Update: update}
}

// RefreshCard renders the current card for a card key; the dispatcher calls it just before
// updating a card so the newest state is shown.
func (h *Handlers) RefreshCard(now func() time.Time) func(ctx context.Context, key string) (*bot.Card, error) {
	return func(ctx context.Context, key string) (*bot.Card, error) {
		no := ItemFromKey(key)
		if no == 0 {
			return nil, nil
		}
		it, err := h.Store.GetItem(ctx, no)
		if err != nil {
			return nil, err
		}
		c := ItemCard(it, now())
		return &c, nil
	}
}

// ItemDetail is the text of "查看 N": the card's content plus the history.
func ItemDetail(it *community.Item, now time.Time) string {
	c := ItemCard(it, now)
	var b strings.Builder
	b.WriteString(c.Title + "\n" + c.Text)
	for _, f := range c.Fields {
		fmt.Fprintf(&b, "\n%s：%s", f.Label, f.Value)
	}
	b.WriteString("\n—— 办理记录 ——")
	for _, e := range it.History {
		fmt.Fprintf(&b, "\n%s %s %s", e.At.In(now.Location()).Format("01-02 15:04"), e.Name, e.Action.Chinese())
		if e.Note != "" {
			b.WriteString("：" + community.Mask(e.Note))
		}
	}
	return b.String()
}

func stars(n int) string {
	if n < 0 || n > 5 {
		return ""
	}
	return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
}
