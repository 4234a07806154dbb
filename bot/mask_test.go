package bot_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
)

const (
	secretID    = "11010519491231002X"
	secretPhone = "+86 139 1234 5678"
	secretDoor  = "3栋2单元502"
)

func TestForGroupMasksWhatTheGroupReads(t *testing.T) {
	o := bot.Outbound{
		ID: "o1", ChatID: "local:g", Text: "身份证" + secretID + "，电话" + secretPhone,
		Card: &bot.Card{
			Key: "item:1", Title: "#1 " + secretDoor, Text: "住" + secretDoor + "，电话" + secretPhone, Footer: "卡号6222 0212 3456 7890",
			Fields:   []bot.Field{{Label: "电话" + secretPhone, Value: secretID}, {Label: "需要", Value: "需要5人"}},
			Buttons:  []bot.Button{{Label: "联系" + secretPhone, Action: "claim", Item: 1}},
			Mentions: []bot.Mention{{UserID: "local:chen", Name: "陈阿姨"}},
		},
	}
	orig := o
	origCard := *o.Card
	origCard.Fields = append([]bot.Field(nil), o.Card.Fields...)
	origCard.Buttons = append([]bot.Button(nil), o.Card.Buttons...)

	g := bot.ForGroup(o)
	shown := strings.Join([]string{g.Text, g.Card.Title, g.Card.Text, g.Card.Footer,
		g.Card.Fields[0].Label, g.Card.Fields[0].Value, g.Card.Fields[1].Value, g.Card.Buttons[0].Label}, "\n")
	for _, leak := range []string{secretID, "1234 5678", "502", "3456 7890"} {
		if strings.Contains(shown, leak) {
			t.Errorf("the group reads %q:\n%s", leak, shown)
		}
	}
	for _, want := range []string{"139****5678", "110***********002X", "3栋2单元***", "****7890", "需要5人"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the group does not read %q:\n%s", want, shown)
		}
	}
	if g.Card.Key != "item:1" || g.Card.Buttons[0].Action != "claim" || g.ID != "o1" || g.ChatID != "local:g" {
		t.Errorf("ForGroup changed what is not read: %+v %+v", g, g.Card)
	}
	if g.Card == o.Card || !reflect.DeepEqual(o, orig) || !reflect.DeepEqual(*o.Card, origCard) {
		t.Errorf("ForGroup changed its input: %+v %+v", o, o.Card)
	}
	if p := bot.ForGroup(bot.Outbound{Text: "你好"}); p.Text != "你好" || p.Card != nil {
		t.Errorf("ForGroup(text only) = %+v", p)
	}
}

func TestPrivate(t *testing.T) {
	for _, tt := range []struct {
		o    bot.Outbound
		want bool
	}{
		{bot.Outbound{UserID: "local:wang"}, true},
		{bot.Outbound{ChatID: "local:g"}, false},
		{bot.Outbound{ChatID: "local:g", UserID: "local:wang"}, false}, // sent to the chat
		{bot.Outbound{ReplyTo: "m1"}, false},                           // unknown: treated as a group
	} {
		if got := bot.Private(tt.o); got != tt.want {
			t.Errorf("Private(%+v) = %v", tt.o, got)
		}
	}
}
