package wecom_test

import (
	"context"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
)

const personal = "住3栋2单元502，电话+86 139 1234 5678，身份证11010519491231002X"

// leaks lists the personal data a request body shows.
func leaks(body string) []string {
	var out []string
	for _, s := range []string{"1234 5678", "12345678", "3栋2单元502", "19491231"} {
		if strings.Contains(body, s) {
			out = append(out, s)
		}
	}
	return out
}

func personalCard(key string) *bot.Card {
	return &bot.Card{Key: key, Title: "#1 " + personal, Text: personal, Footer: personal,
		Fields:  []bot.Field{{Label: "提出", Value: personal}},
		Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 1}}}
}

// Whatever way a message reaches a group (robot, app messages to its audience, the AI bot's
// response_url, a card update), it holds no ID number, phone or room; a private message
// keeps them for the person it is for.
func TestGroupSeesPersonalDataMasked(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	card := personalCard("item:1")
	group := []bot.Outbound{
		{ID: "a/0", ChatID: "wrchat", Text: personal},                              // app messages to the audience
		{ID: "a/1", ChatID: "wrchat", Card: card},                                  // a button card to the audience
		{ID: "a/2", ChatID: "wrchat", Card: &bot.Card{Key: "n:1", Text: personal}}, // a card as markdown
		{ID: "r/0", ChatID: "wrrobot", Text: personal},                             // the group's robot
		{ID: "r/1", ChatID: "wrconfig", Card: personalCard("item:2")},              // a card through a robot
		{ID: "x/0", ChatID: "wrchat", Text: personal, ResponseURL: e.fake.ResponseURL()},
	}
	var cardTask string
	for _, o := range group {
		sent, err := e.p.Send(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", o.ID, err)
		}
		if o.ID == "a/1" {
			cardTask = sent.MessageID
		}
	}
	if card.Text != personal || card.Fields[0].Value != personal {
		t.Errorf("Send changed the caller's card: %+v", card)
	}
	claimed := personalCard("item:1")
	claimed.Title = "#1 已认领"
	if err := e.p.UpdateCard(ctx, cardTask, bot.Outbound{ID: "u/0", ChatID: "wrchat", Card: claimed, Update: true}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{wecomtest.PathSend, wecomtest.PathWebhook, wecomtest.PathResponse, wecomtest.PathUpdateCard} {
		reqs := e.fake.Requests(path)
		if len(reqs) == 0 {
			t.Errorf("nothing went through %s", path)
		}
		for _, r := range reqs {
			// Markdown writes a masked * as ＊, so that it shows rather than makes bold.
			body := strings.ReplaceAll(wecomtest.Visible(string(r.Body)), "＊", "*")
			if l := leaks(body); len(l) > 0 || !strings.Contains(body, "3栋2单元***") {
				t.Errorf("%s carried %s, showing %q", path, body, l)
			}
		}
	}

	if _, err := e.p.Send(ctx, bot.Outbound{ID: "p/0", UserID: "wecom:sec", Text: personal}); err != nil {
		t.Fatal(err)
	}
	sends := e.fake.Requests(wecomtest.PathSend)
	last := sends[len(sends)-1].JSON()
	if text, _ := last["text"].(map[string]any); last["touser"] != "sec" || text == nil || wecomtest.Visible(text["content"].(string)) != personal {
		t.Errorf("the secretary received %v, want the full text", last)
	}
}
