package feishu_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/feishu"
)

func TestCardJSONGolden(t *testing.T) {
	cards := map[string]bot.Card{
		"card_open": {
			Key: "item:12", Title: "#12 服务事项 · 待认领", Color: "blue", Text: "3栋2单元楼道灯坏了\n晚上很黑",
			Fields: []bot.Field{
				{Label: "提出", Value: "陈阿姨", Short: true}, {Label: "名额", Value: "1/2", Short: true},
				{Label: "认领", Value: "李建国", Short: true}, {Label: "截止", Value: "11月25日 18:00", Short: true},
				{Label: "办理情况", Value: "已联系物业"},
			},
			Buttons: []bot.Button{
				{Label: "接单", Action: "claim", Item: 12, Style: "primary"},
				{Label: "放弃", Action: "release", Item: 12},
				{Label: "完成", Action: "complete", Item: 12},
				{Label: "取消", Action: "cancel", Item: 12, Style: "danger"},
			},
			Footer: "党员认领：点“接单”，或回复“我来”，或发送“接单 12”",
		},
		"card_done": {
			Key: "item:7", Title: "#7 服务事项 · 待确认", Color: "green", Text: "清理楼道杂物",
			Fields: []bot.Field{{Label: "提出", Value: "刘大爷", Short: true}},
			Buttons: []bot.Button{
				{Label: "5★", Action: "rate", Item: 7, Value: "5", Style: "primary"},
				{Label: "4★", Action: "rate", Item: 7, Value: "4"},
				{Label: "不满意", Action: "unsatisfied", Item: 7, Style: "danger"},
			},
			Footer: "请 刘大爷 确认：确认 7 5星 评语",
		},
		// Text people wrote must not turn into tags or formatting.
		"card_escaped": {
			Key: "notice:3", Title: "通知 <b>", Color: "red",
			Text:     `<at id=all></at> **全体** [点这里](http://evil.example) ~删~ a_b #1 \ $x`,
			Mentions: []bot.Mention{{UserID: "feishu:ou_res", Name: "陈阿姨"}, {UserID: "local:x", Name: "*本地*"}},
			Fields:   []bot.Field{{Label: "评价", Value: "★★★★☆ 很<及时>"}},
			Buttons:  []bot.Button{{Label: "收到", Action: "ack", Ref: "notice:3"}},
		},
	}
	for name, c := range cards {
		t.Run(name, func(t *testing.T) {
			b, err := feishu.CardJSON(c)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if v["schema"] != "2.0" {
				t.Errorf("schema %v", v["schema"])
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			golden(t, name, pretty.Bytes())
		})
	}
}

func TestCardButtonsCarryTheirValue(t *testing.T) {
	b, _ := feishu.CardJSON(bot.Card{Title: "t", Buttons: []bot.Button{{Label: "3★", Action: "rate", Item: 9, Value: "3", Ref: "r"}}})
	var card struct {
		Body struct {
			Elements []struct {
				Columns []struct {
					Elements []struct {
						Behaviors []struct {
							Type  string
							Value feishu.ButtonValue
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &card); err != nil {
		t.Fatal(err)
	}
	got := card.Body.Elements[len(card.Body.Elements)-1].Columns[0].Elements[0].Behaviors[0]
	if got.Type != "callback" || got.Value != (feishu.ButtonValue{Action: "rate", Item: 9, Value: "3", Ref: "r"}) {
		t.Errorf("behavior %+v", got)
	}
}

func TestTextContent(t *testing.T) {
	b, err := feishu.TextContent("回复 \"引号\" 和 <at user_id=\"all\">所有人</at>\n换行", []bot.Mention{
		{UserID: "feishu:ou_a", Name: "王书记"}, {UserID: "wecom:zhang", Name: "张三"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Text string }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	if !strings.HasPrefix(c.Text, `<at user_id="ou_a">王书记</at> @张三 回复 "引号"`) {
		t.Errorf("text %q", c.Text)
	}
	if strings.Contains(c.Text, `<at user_id="all">`) {
		t.Errorf("text from people kept a live <at> tag: %q", c.Text)
	}
	golden(t, "text_mentions", b)
}
