package notices_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/notices"
)

func mustNotContain(t *testing.T, got string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(got, b) {
			t.Errorf("unexpected %q in:\n%s", b, got)
		}
	}
}

// A cancelled draft takes no number; the sent notice takes the next number of the space it
// shares with items; 查看 N and 进度 N find it; confirming twice keeps its one number.
func TestNumbersSharedWithItems(t *testing.T) {
	e := smallEnv(t)
	e.say(sec, g1, "发布 周六上午清理楼道 需要2人") // item #1
	outs := e.say(sec, "", "通知 全体 明天停水")
	mustNotContain(t, texts(outs), "#")
	mustContain(t, texts(e.say(sec, "", "取消发送")), "已取消 通知（未发送）")

	draft := lastID(t, e.say(sec, "", "通知 全体 周六体检"))
	sent := e.say(sec, "", "确认发送")
	mustContain(t, texts(sent), "✅ 通知 #2 开始发送", "“进度 2”", "“回执 2”")
	// The platform delivers the button tap too (or another replica handles it): same number.
	mustContain(t, texts(e.tap(sec, "", notices.ActConfirm, strconv.FormatInt(draft, 10), "")), "通知 #2 已在发送", "进度 2")
	if err := e.n.Pump(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.drain(100 * time.Millisecond)
	var card *bot.Card
	for _, m := range e.fakes["feishu"].chat("oc_1") {
		if m.Card != nil && strings.HasPrefix(m.Card.Title, "📢") {
			card = m.Card
		}
	}
	if card == nil || card.Title != "📢 通知 #2" || !strings.Contains(card.Footer, "收到 2") {
		t.Fatalf("the group's notice card = %+v", card)
	}

	mustContain(t, texts(e.say(sec, g1, "发布 周日下午义诊 需要1人")), "#3") // the next item
	mustContain(t, texts(e.say(sec, "", "进度 2")), "通知 #2（周六体检）已送达 2/2")
	mustContain(t, texts(e.say(sec, "", "查看 2")), "通知 #2", "已送达")
	mustContain(t, texts(e.say(pa, g1, "查看 2")), "📢 通知 #2", "周六体检", "收到 2")
	mustContain(t, texts(e.say(pa, g1, "进度 1")), "#1", "清理楼道")
	mustContain(t, texts(e.say(pb, "", "查看 2")), "📢 通知 #2", "周六体检") // privately, under its reach
	// Another community's resident is not told it exists.
	mustContain(t, texts(e.say(pe, "", "查看 2")), "没有找到 #2，或它不在您可查看的范围内")
	mustContain(t, texts(e.say(pe, g3, "查看 2")), "没有找到 #2，或它不在您可查看的范围内")
	mustContain(t, texts(e.say(pa, g1, "收到 2")), "已记录您对 通知 #2 的回执")
	mustContain(t, texts(e.say(sec, "", "回执 2")), "已回执 1 人")
	mustContain(t, texts(e.say(sec, "", "回执 1")), "没有找到 #1 号通知或投票")
	mustContain(t, texts(e.say(sec, "", "查看 9")), "没有找到 #9")
}
