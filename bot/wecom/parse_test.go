package wecom

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

var shanghai = time.FixedZone("CST", 8*3600)

func TestAppMessage(t *testing.T) {
	at := time.Date(2026, 5, 6, 9, 30, 0, 0, shanghai)
	cases := []struct {
		name string
		in   appXML
		want bot.Message
		err  error
	}{
		{
			name: "text",
			in:   appXML{FromUserName: "zhangsan", CreateTime: at.Unix(), MsgType: "text", Content: " 我的 ", MsgID: "123"},
			want: bot.Message{EventID: "123", Platform: "wecom", ChatID: "zhangsan", Private: true, UserID: "wecom:zhangsan", MessageID: "123", Text: "我的", At: at},
		},
		{
			name: "text without MsgId",
			in:   appXML{FromUserName: "zhangsan", CreateTime: at.Unix(), MsgType: "text", Content: "帮助"},
			want: bot.Message{EventID: "msg:zhangsan:" + itoa(at.Unix()), Platform: "wecom", ChatID: "zhangsan", Private: true, UserID: "wecom:zhangsan", Text: "帮助", At: at},
		},
		{
			name: "card tap",
			in: appXML{FromUserName: "lisi", CreateTime: at.Unix(), MsgType: "event", Event: "template_card_event",
				EventKey: "rate:12:5", TaskID: "nbtask", ResponseCode: "rc"},
			want: bot.Message{EventID: "evt:lisi:" + itoa(at.Unix()) + ":template_card_event:nbtask:rate:12:5", Platform: "wecom", ChatID: "lisi",
				Private: true, UserID: "wecom:lisi", MessageID: "nbtask", At: at,
				Action: &bot.Action{Name: "rate", Item: 12, Value: "5", MessageID: "nbtask"}},
		},
		{
			name: "enter_agent greets once a day",
			in:   appXML{FromUserName: "lisi", CreateTime: at.Unix(), MsgType: "event", Event: "enter_agent"},
			want: bot.Message{EventID: "enter_agent:lisi:2026-05-06", Platform: "wecom", ChatID: "lisi", Private: true, UserID: "wecom:lisi", Text: "帮助", At: at},
		},
		{name: "image", in: appXML{FromUserName: "lisi", MsgType: "image"}, err: errIgnored},
		{name: "unknown button", in: appXML{FromUserName: "lisi", MsgType: "event", Event: "template_card_event", EventKey: "x"}, err: errIgnored},
		{name: "no sender", in: appXML{MsgType: "text", Content: "hi"}, err: errIgnored},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := appMessage(tc.in, shanghai)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAIBotMessage(t *testing.T) {
	now := time.Date(2026, 5, 6, 9, 30, 0, 0, shanghai)
	var group aibotMsg
	group.MsgID, group.ChatID, group.ChatType, group.ResponseURL, group.MsgType = "m1", "wrchat", "group", "https://x/resp", "text"
	group.From.UserID = "chen"
	group.Text.Content = "@邻里帮 3栋2单元楼道灯坏了"
	got, err := aibotMessage(group, "邻里帮", now)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Message{EventID: "aibot:m1", Platform: "wecom", ChatID: "wrchat", GroupID: "wecom:wrchat", UserID: "wecom:chen",
		MessageID: "m1", Text: "3栋2单元楼道灯坏了", Mentioned: true, At: now, ResponseURL: "https://x/resp"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	single := group
	single.ChatType, single.ChatID = "single", ""
	single.Text.Content = "我的"
	got, err = aibotMessage(single, "邻里帮", now)
	if err != nil || !got.Private || got.ChatID != "chen" || got.GroupID != "" || got.Text != "我的" {
		t.Fatalf("single chat: %+v, %v", got, err)
	}

	ev := group
	ev.MsgType = "event"
	if _, err := aibotMessage(ev, "邻里帮", now); !errors.Is(err, errIgnored) {
		t.Fatalf("event: %v", err)
	}
}

func TestStripMention(t *testing.T) {
	for in, want := range map[string]string{
		"@邻里帮 楼道灯坏了":      "楼道灯坏了",
		"楼道灯坏了 @邻里帮":      "楼道灯坏了",
		"@小帮手 接单 12":      "接单 12",
		"@小帮手\u2005接单 12": "接单 12",
		"@小帮手":            "",
		"接单 12":           "接单 12",
	} {
		if got := stripMention(in, "邻里帮"); got != want {
			t.Errorf("stripMention(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestButtonKeyRoundTrip(t *testing.T) {
	for _, b := range []bot.Button{
		{Action: "claim", Item: 12},
		{Action: "rate", Item: 3, Value: "5"},
		{Action: "signup", Ref: "event:7/周六 a:b"},
		{Action: "ack", Item: 0, Value: "", Ref: "notice:3"},
	} {
		key := buttonKey(b)
		a, ok := parseButtonKey(key)
		if !ok || a.Name != b.Action || a.Item != b.Item || a.Value != b.Value || a.Ref != b.Ref {
			t.Errorf("button %+v → %q → %+v %v", b, key, a, ok)
		}
		if strings.Count(key, ":") > 3 {
			t.Errorf("key %q has colons in its escaped parts", key)
		}
	}
	for _, bad := range []string{"", "claim", ":12", "claim:x", "claim:-1", "rate:1:%zz"} {
		if _, ok := parseButtonKey(bad); ok {
			t.Errorf("parseButtonKey(%q) accepted", bad)
		}
	}
}

func FuzzParseCallback(f *testing.F) {
	f.Add([]byte(`<xml><FromUserName>a</FromUserName><MsgType>event</MsgType><Event>template_card_event</Event><EventKey>rate:1:5</EventKey></xml>`))
	f.Add([]byte(`{"msgid":"1","chattype":"group","chatid":"c","from":{"userid":"u"},"msgtype":"text","text":{"content":"@x hi"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseAppXML(b); err == nil {
			_, _ = appMessage(m, shanghai)
		}
		if m, err := parseAIBot(b); err == nil {
			_, _ = aibotMessage(m, "邻里帮", time.Unix(0, 0))
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
