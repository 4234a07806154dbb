package wecom

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Cards shaped as handlers.ItemCard makes them.
var (
	openCard = &bot.Card{
		Key: "item:12", Title: "#12 服务事项 · 待认领", Color: "blue", Text: "3栋2单元楼道灯坏了，请帮忙更换",
		Fields:  []bot.Field{{Label: "提出", Value: "陈阿姨", Short: true}, {Label: "名额", Value: "0/1", Short: true}, {Label: "截止", Value: "5月7日 18:00", Short: true}},
		Buttons: []bot.Button{{Label: "接单", Action: "claim", Item: 12, Style: "primary"}, {Label: "取消", Action: "cancel", Item: 12, Style: "danger"}},
		Footer:  "党员认领：点“接单”，或回复“我来”，或发送“接单 12”",
	}
	doneCard = &bot.Card{
		Key: "item:12", Title: "#12 服务事项 · 待评价", Color: "green", Text: "3栋2单元楼道灯坏了，请帮忙更换",
		Fields: []bot.Field{{Label: "提出", Value: "陈阿姨"}, {Label: "认领", Value: "王师傅"}, {Label: "办理情况", Value: "已换LED灯泡 *两个*"}},
		Buttons: []bot.Button{
			{Label: "5★", Action: "rate", Item: 12, Value: "5", Style: "primary"}, {Label: "4★", Action: "rate", Item: 12, Value: "4"},
			{Label: "3★", Action: "rate", Item: 12, Value: "3"}, {Label: "2★", Action: "rate", Item: 12, Value: "2"},
			{Label: "1★", Action: "rate", Item: 12, Value: "1"}, {Label: "不满意", Action: "unsatisfied", Item: 12, Style: "danger"},
		},
		Footer: "请 陈阿姨 确认：确认 12 5星 评语",
	}
	closedCard = &bot.Card{Key: "item:12", Title: "#12 服务事项 · 已办结", Color: "green", Text: "3栋2单元楼道灯坏了"}
	longCard   = &bot.Card{
		Key: "item:99", Title: "#99 " + strings.Repeat("很长的标题", 10), Text: strings.Repeat("正文", 80),
		Fields: []bot.Field{
			{Label: "一二三四五六七", Value: strings.Repeat("值", 40)}, {Label: "b", Value: "2"}, {Label: "c", Value: "3"},
			{Label: "d", Value: "4"}, {Label: "e", Value: "5"}, {Label: "f", Value: "6"}, {Label: "g", Value: "7"},
		},
		Buttons: []bot.Button{
			{Label: "一二三四五六七八九十十一", Action: "a", Item: 1}, {Label: "2", Action: "a", Item: 2}, {Label: "3", Action: "a", Item: 3},
			{Label: "4", Action: "a", Item: 4}, {Label: "5", Action: "a", Item: 5}, {Label: "6", Action: "a", Item: 6}, {Label: "7", Action: "a", Item: 7},
		},
	}
)

func goldenPlatform() *Platform {
	return &Platform{o: Options{BotName: "邻里帮"}, agentID: 1000002}
}

func TestCardGolden(t *testing.T) {
	p := goldenPlatform()
	send := func(users []string, o bot.Outbound) []byte {
		req, _ := p.appRequest(users, o)
		return encode(t, req)
	}
	golden(t, "send_open_card.golden", send([]string{"wang", "li"}, bot.Outbound{ID: "wecom:1/0", ChatID: "wrchat", Card: openCard}))
	golden(t, "send_done_card.golden", send([]string{"chen"}, bot.Outbound{ID: "wecom:2/0", UserID: "wecom:chen", Card: doneCard}))
	golden(t, "send_closed_card.golden", send([]string{"chen"}, bot.Outbound{ID: "wecom:3/0", UserID: "wecom:chen", Card: closedCard}))
	golden(t, "send_text_group.golden", send([]string{"wang", "chen"}, bot.Outbound{ID: "wecom:4/0", ChatID: "wrchat",
		Text: "#12 已办好，请确认", Mentions: []bot.Mention{{UserID: "wecom:chen", Name: "陈阿姨"}}}))
	golden(t, "update_done_card.golden", encode(t, p.updateRequest("nbtask", "rc-1", doneCard)))
	golden(t, "update_closed_card.golden", encode(t, p.updateRequest("nbtask", "rc-2", closedCard)))
	golden(t, "robot_card.golden", encode(t, robotBody(bot.Outbound{ChatID: "wrchat", Card: openCard,
		Mentions: []bot.Mention{{UserID: "wecom:chen", Name: "陈阿姨"}}})))
	golden(t, "robot_done_card.golden", encode(t, robotBody(bot.Outbound{ChatID: "wrchat", Card: doneCard})))
	golden(t, "robot_text.golden", encode(t, robotBody(bot.Outbound{ChatID: "wrchat", Text: "✅ 王师傅 认领了 #12。",
		Mentions: []bot.Mention{{UserID: "wecom:chen", Name: "陈阿姨"}}})))
}

func TestCardLimits(t *testing.T) {
	tc := buttonCard(longCard, "邻里帮", "t")
	if n := utf8.RuneCountInString(tc.MainTitle.Title); n > maxTitle {
		t.Errorf("title has %d characters", n)
	}
	if n := utf8.RuneCountInString(tc.SubTitleText); n > maxSubtitle {
		t.Errorf("subtitle has %d characters", n)
	}
	if len(tc.HorizontalContentList) != maxFields || len(tc.ButtonList) != maxButtons {
		t.Errorf("%d fields, %d buttons", len(tc.HorizontalContentList), len(tc.ButtonList))
	}
	for _, kv := range tc.HorizontalContentList {
		if utf8.RuneCountInString(kv.KeyName) > maxKeyName || utf8.RuneCountInString(kv.Value) > maxValue {
			t.Errorf("field %+v too long", kv)
		}
	}
	for _, b := range tc.ButtonList {
		if utf8.RuneCountInString(b.Text) > maxBtnText {
			t.Errorf("button %q too long", b.Text)
		}
	}
	long := strings.Repeat("邻", 3000)
	if s := bytesCut(long, maxText); len(s) > maxText || !utf8.ValidString(s) {
		t.Errorf("bytesCut: %d bytes, valid %v", len(s), utf8.ValidString(s))
	}
	if got := stateLabel(closedCard); got != "已办结" {
		t.Errorf("stateLabel = %q", got)
	}
	if got := stateLabel(&bot.Card{Title: "#3 服务事项 · 已超期 ⚠已超期"}); got != "已超期" {
		t.Errorf("stateLabel = %q", got)
	}
}
