package feishu_test

import (
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

const personal = "住3栋2单元502，电话+86 139 1234 5678，身份证11010519491231002X"

// leaks lists the personal data a message body shows.
func leaks(body string) []string {
	var out []string
	for _, s := range []string{"1234 5678", "12345678", "3栋2单元502", "19491231"} {
		if strings.Contains(body, s) {
			out = append(out, s)
		}
	}
	return out
}

// A group never receives an ID number, a phone or a room, in text, cards or card updates;
// a private message keeps them for the person it is for.
func TestGroupSeesPersonalDataMasked(t *testing.T) {
	f := newFixture(t)
	ctx := ctxTimeout(t)
	text, err := f.p.Send(ctx, bot.Outbound{ID: "g/0", ChatID: groupChat, Text: personal})
	if err != nil {
		t.Fatal(err)
	}
	card := &bot.Card{Key: "item:1", Title: "#1 " + personal, Text: personal, Footer: personal,
		Fields:  []bot.Field{{Label: "提出", Value: personal}},
		Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 1}}}
	sent, err := f.p.Send(ctx, bot.Outbound{ID: "g/1", ChatID: groupChat, Card: card})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{text.MessageID, sent.MessageID} {
		m, _ := f.fake.Message(id)
		if l := leaks(m.Content); len(l) > 0 || !strings.Contains(m.Content, "139****5678") || !strings.Contains(m.Content, "3栋2单元***") {
			t.Errorf("the group received %s, showing %q", m.Content, l)
		}
	}
	if card.Text != personal || card.Fields[0].Value != personal {
		t.Errorf("Send changed the caller's card: %+v", card)
	}

	card.Title = "#1 已认领"
	if err := f.p.UpdateCard(ctx, sent.MessageID, bot.Outbound{ID: "g/2", ChatID: groupChat, Card: card, Update: true}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.fake.Message(sent.MessageID); !strings.Contains(m.Content, "已认领") || len(leaks(m.Content)) > 0 {
		t.Errorf("the group's card was patched to %s", m.Content)
	}

	if _, err := f.p.Send(ctx, bot.Outbound{ID: "p/0", UserID: "feishu:ou_sec", Text: personal}); err != nil {
		t.Fatal(err)
	}
	c, _ := f.fake.Wait(ctx, feishutest.SentToUser("ou_sec"))
	if got := textOf(t, c.Content); got != personal {
		t.Errorf("the secretary received %q, want %q", got, personal)
	}
}
