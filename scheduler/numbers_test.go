package scheduler_test

import (
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot/bottest"
)

func wantSaid(t *testing.T, sent []bottest.Sent, want ...string) {
	t.Helper()
	got := bottest.Transcript(sent)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

// An activity created in chat takes the next number of the space items share, so 查看 N
// names exactly one thing, and the activity commands take that number.
func TestActivityNumbersSharedWithItems(t *testing.T) {
	c := newChat(t)
	const xf = "local:xingfuli"
	wantSaid(t, c.say(xf, "local:wang", "发布 周六上午清理楼道 需要2人"), "#1")
	wantSaid(t, c.say(xf, "local:wang", "活动 11月30日 14:00 消防演练 地点 小区广场 范围 1网格"), "编号 2", "修改活动 2", "通知：1网格")
	wantSaid(t, c.say(xf, "local:wang", "发布 周日下午义诊 需要1人"), "#3")
	wantSaid(t, c.say(xf, "local:liu", "查看 2"), "活动（编号 2）：消防演练", "地点：小区广场")
	wantSaid(t, c.say(xf, "local:wang", "进度 2"), "消防演练")
	wantSaid(t, c.say(xf, "local:liu", "查看 1"), "清理楼道")
	// An activity of 1网格 is not shown to 2网格's group (阳光花园).
	wantSaid(t, c.say("local:yangguang", "local:liu", "查看 2"), "没有找到 #2，或它不在您可查看的范围内")
	wantSaid(t, c.say(xf, "local:wang", "修改活动 2 地点 社区活动室"), "社区活动室")
	wantSaid(t, c.say(xf, "local:wang", "取消活动 2"), "已取消消防演练（编号 2）")
	wantSaid(t, c.say(xf, "local:liu", "查看 2"), "消防演练（编号 2）已经取消了")
	wantSaid(t, c.say(xf, "local:liu", "查看 4"), "没有找到 #4")
}
