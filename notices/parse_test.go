package notices_test

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/notices"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// parseNow is a Monday morning.
var parseNow = time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai)

func isNode(s string) bool {
	switch s {
	case "3网格", "5网格", "幸福社区", "1网格":
		return true
	}
	return false
}

func TestParse(t *testing.T) {
	sunday := time.Date(2026, 11, 29, 18, 0, 0, 0, shanghai)
	long := strings.Repeat("停", notices.MaxTextRunes+1)
	tests := []struct {
		in   string
		want notices.Command
	}{
		// Notices.
		{"通知 全体 今晚8点停水", notices.Command{Verb: notices.VerbNotice, All: true, Text: "今晚8点停水"}},
		{"通知 全部 今晚8点停水", notices.Command{Verb: notices.VerbNotice, All: true, Text: "今晚8点停水"}},
		{"通知全体：今晚8点停水", notices.Command{Verb: notices.VerbNotice, All: true, Text: "今晚8点停水"}},
		{"通知 3社区 周六体检", notices.Command{Verb: notices.VerbNotice, Targets: []string{"3社区"}, Text: "周六体检"}},
		{"通知 3网格,5网格 内容", notices.Command{Verb: notices.VerbNotice, Targets: []string{"3网格", "5网格"}, Text: "内容"}},
		{"通知 3网格、5网格，3网格 内容", notices.Command{Verb: notices.VerbNotice, Targets: []string{"3网格", "5网格"}, Text: "内容"}},
		{"通知：幸福社区：明天上午\n第一行\n第二行", notices.Command{Verb: notices.VerbNotice, Targets: []string{"幸福社区"}, Text: "明天上午\n第一行\n第二行"}},
		{"  /通知　全体　关于加装电梯的说明 https://example.org/a.pdf 请查看。", notices.Command{Verb: notices.VerbNotice, All: true,
			Text: "关于加装电梯的说明 https://example.org/a.pdf 请查看。", Links: []string{"https://example.org/a.pdf"}}},
		{"通知 全体 图片：http://img.example.org/x.png，文件：https://f.example.org/d?id=1&k=2", notices.Command{Verb: notices.VerbNotice, All: true,
			Text: "图片：http://img.example.org/x.png，文件：https://f.example.org/d?id=1&k=2", Links: []string{"http://img.example.org/x.png", "https://f.example.org/d?id=1&k=2"}}},
		{"通知", notices.Command{Verb: notices.VerbUsage}},
		{"通知 全体", notices.Command{Verb: notices.VerbNotice, All: true, Err: "请写上通知内容，例如：通知 全体 今晚8点停水"}},
		{"通知 全体 " + long, notices.Command{Verb: notices.VerbNotice, All: true, Text: long, Err: "通知内容最多5000字，这条有5001字，请精简或分成几条。"}},
		{"通知大家明天停水", notices.Command{}},
		{"通知书已经收到", notices.Command{}},

		// Confirmation.
		{"确认发送", notices.Command{Verb: notices.VerbConfirm}},
		{"确认发送 12", notices.Command{Verb: notices.VerbConfirm, ID: 12}},
		{"确定发送！", notices.Command{Verb: notices.VerbConfirm}},
		{"取消发送", notices.Command{Verb: notices.VerbCancel}},
		{"取消发送 #3", notices.Command{Verb: notices.VerbCancel, ID: 3}},
		{"确认发送了吗", notices.Command{}},

		// Follow-up.
		{"进度 12", notices.Command{}}, // the core's: it looks the number up (items, notices, activities)
		{"进度12", notices.Command{}},
		{"通知进度 １２", notices.Command{Verb: notices.VerbProgress, ID: 12}},
		{"进度 12 怎么样了", notices.Command{}},
		{"进度", notices.Command{}},
		{"回执 7", notices.Command{Verb: notices.VerbReceipts, ID: 7}},
		{"回执情况 #7", notices.Command{Verb: notices.VerbReceipts, ID: 7}},
		{"回执", notices.Command{Verb: notices.VerbReceipts, Err: "请告诉我编号，例如：回执 12"}},
		{"回执单已经交了", notices.Command{}},
		{"回执 0", notices.Command{Verb: notices.VerbReceipts, Err: "请告诉我编号，例如：回执 12"}},
		{"催办回执 7", notices.Command{Verb: notices.VerbRemind, ID: 7}},
		{"催回执7", notices.Command{Verb: notices.VerbRemind, ID: 7}},
		{"投票结果 9", notices.Command{Verb: notices.VerbResults, ID: 9}},
		{"导出 9", notices.Command{Verb: notices.VerbExport, ID: 9}},
		{"导出第9号", notices.Command{}},
		{"导出 第9号", notices.Command{Verb: notices.VerbExport, ID: 9}},

		// Receipts.
		{"收到", notices.Command{Verb: notices.VerbAck}},
		{"收到！", notices.Command{Verb: notices.VerbAck}},
		{"已收到。", notices.Command{Verb: notices.VerbAck}},
		{"好的，收到", notices.Command{Verb: notices.VerbAck}},
		{"收到了，谢谢", notices.Command{Verb: notices.VerbAck}},
		{"收到 12", notices.Command{Verb: notices.VerbAck, ID: 12}},
		{"收到12", notices.Command{Verb: notices.VerbAck, ID: 12}},
		{"收到快递了吗", notices.Command{}},
		{"收到的东西放哪", notices.Command{}},

		// Polls.
		{"投票 是否同意加装电梯 同意/反对/弃权 截止 周日", notices.Command{Verb: notices.VerbPoll, Title: "是否同意加装电梯",
			Options: []string{"同意", "反对", "弃权"}, Deadline: sunday}},
		{"投票 全体 是否同意加装电梯 同意／反对 截止周日", notices.Command{Verb: notices.VerbPoll, All: true, Title: "是否同意加装电梯",
			Options: []string{"同意", "反对"}, Deadline: sunday}},
		{"投票 3网格,5网格 是否同意 A/B方案 赞成|反对 截止 11月30日", notices.Command{Verb: notices.VerbPoll, Targets: []string{"3网格", "5网格"},
			Title: "是否同意 A/B方案", Options: []string{"赞成", "反对"}, Deadline: time.Date(2026, 11, 30, 18, 0, 0, 0, shanghai)}},
		{"投票 截止 周日 是否同意加装电梯 同意/反对", notices.Command{Verb: notices.VerbPoll, Title: "是否同意加装电梯",
			Options: []string{"同意", "反对"}, Deadline: sunday}},
		{"投票 是否同意加装电梯", notices.Command{Verb: notices.VerbPoll, Title: "是否同意加装电梯"}},
		{"投票 3网格加装电梯 同意/反对", notices.Command{Verb: notices.VerbPoll, Title: "3网格加装电梯", Options: []string{"同意", "反对"}}},
		{"投票 是否同意 同意/反对 截止 今天9点", notices.Command{Verb: notices.VerbPoll, Title: "是否同意",
			Options: []string{"同意", "反对"}, Deadline: time.Date(2026, 11, 23, 9, 0, 0, 0, shanghai), Err: "截止时间已经过了，请换一个以后的时间。"}},
		{"投票 是否同意 同意/反对 截止 随便", notices.Command{Verb: notices.VerbPoll, Title: "是否同意",
			Options: []string{"同意", "反对"}, Err: "没看懂截止时间，例如：截止 周日 / 截止 11月30日18点 / 截止 3天内"}},
		{"投票 是否同意 同意/同意", notices.Command{Verb: notices.VerbPoll, Title: "是否同意", Err: "选项重复了：同意"}},
		{"投票 是否同意 同意/", notices.Command{Verb: notices.VerbPoll, Title: "是否同意", Err: "请至少给两个选项，用 / 分开，例如：同意/反对/弃权"}},
		{"投票 同意/反对", notices.Command{Verb: notices.VerbPoll, Options: []string{"同意", "反对"}, Err: "请写上投票的事项，例如：投票 是否同意加装电梯 同意/反对/弃权 截止 周日"}},
		{"投票", notices.Command{Verb: notices.VerbUsage}},

		// Votes.
		{"投票 12 同意", notices.Command{Verb: notices.VerbVote, ID: 12, Option: "同意"}},
		{"投票 #12 2", notices.Command{Verb: notices.VerbVote, ID: 12, Option: "2"}},
		{"投票 12", notices.Command{Verb: notices.VerbVote, ID: 12, Err: "请写上编号和选项，例如：投票 12 同意"}},

		// Not ours.
		{"", notices.Command{}},
		{"接单 12", notices.Command{}},
		{"3栋2单元楼道灯坏了", notices.Command{}},
	}
	for _, tt := range tests {
		got := notices.Parse(tt.in, notices.ParseContext{Now: parseNow, IsTarget: isNode})
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestMatchOption(t *testing.T) {
	opts := []string{"同意", "反对", "弃权", "OK"}
	for _, tt := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"同意", "同意", true}, {" 反对！", "反对", true}, {"3", "弃权", true}, {"３", "弃权", true},
		{"ok", "OK", true}, {"5", "", false}, {"0", "", false}, {"#1", "", false}, {"同意吗", "", false}, {"", "", false},
	} {
		got, ok := notices.MatchOption(opts, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MatchOption(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"通知 全体 今晚8点停水", "通知 3网格,5网格 内容 https://x.org/a.png", "投票 是否同意加装电梯 同意/反对/弃权 截止 周日",
		"投票 全体 a b/c 截止 明天下午3点", "收到 12", "进度 1", "回执 ９", "确认发送", "投票 1 同意", "通知：：：", "投票 截止",
		"投票 /////", "收到收到", "通知 、、 x", "导出 99999999999", "\xff通知 全体 x",
	} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, text string, shift int64) {
		now := parseNow.Add(time.Duration(shift%(3*365*24*3600)) * time.Second)
		c := notices.Parse(text, notices.ParseContext{Now: now, IsTarget: isNode})
		if c.Verb == notices.VerbNone && (c.Err != "" || c.ID != 0 || c.Text != "") {
			t.Fatalf("Parse(%q): no verb but %+v", text, c)
		}
		if c.ID < 0 {
			t.Fatalf("Parse(%q): negative id %d", text, c.ID)
		}
		if c.Verb == notices.VerbNotice && c.Err == "" {
			if c.Text == "" || utf8.RuneCountInString(c.Text) > notices.MaxTextRunes || !c.All && len(c.Targets) == 0 {
				t.Fatalf("Parse(%q): accepted notice %+v", text, c)
			}
			for _, l := range c.Links {
				if !strings.Contains(c.Text, l) {
					t.Fatalf("Parse(%q): link %q not in text", text, l)
				}
			}
		}
		if c.Verb == notices.VerbPoll && c.Err == "" {
			if c.Title == "" || c.Options != nil && (len(c.Options) < 2 || len(c.Options) > notices.MaxOptions) {
				t.Fatalf("Parse(%q): accepted poll %+v", text, c)
			}
			if !c.Deadline.IsZero() && !c.Deadline.After(now) {
				t.Fatalf("Parse(%q): deadline %v not after %v", text, c.Deadline, now)
			}
		}
		for _, o := range c.Options {
			if o == "" || strings.ContainsAny(o, "/／|｜") {
				t.Fatalf("Parse(%q): bad option %q", text, o)
			}
		}
	})
}
