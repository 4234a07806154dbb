package notices_test

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/handlers"
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

// Two replicas confirm the same draft at once (the text and the button tap of one secretary,
// or a platform's retry): it is sent once and takes one number.
func TestConcurrentConfirmTakesOneNumber(t *testing.T) {
	e := smallEnv(t)
	draft := lastID(t, e.say(sec, "", "通知 全体 周六体检"))
	other := e.notices(e.st) // a second replica, with its own handlers and engine
	h := &handlers.Handlers{Store: e.st, Tree: e.tree, BotName: "邻里帮", Log: slog.New(slog.DiscardHandler)}
	m := bot.NewMux("邻里帮")
	m.Pending, m.Refs = e.st, e.st
	if err := errors.Join(h.Register(m), other.Register(m)); err != nil {
		t.Fatal(err)
	}
	eng := &bot.Engine{Handler: bot.Chain(m.ServeBot, bot.Identify(e.st)), Outbox: e.st, Now: e.clock.Now, Log: slog.New(slog.DiscardHandler)}

	text := e.msg(sec, "", "确认发送")
	tap := e.msg(sec, "", "")
	tap.Action = &bot.Action{Name: notices.ActConfirm, Ref: strconv.FormatInt(draft, 10)}
	var (
		wg   sync.WaitGroup
		outs [2][]bot.Outbound
		errs [2]error
	)
	wg.Go(func() { outs[0], errs[0] = e.eng.Handle(e.ctx, text) })
	wg.Go(func() { outs[1], errs[1] = eng.Handle(e.ctx, tap) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	both := texts(outs[0]) + texts(outs[1])
	if n := strings.Count(both, "开始发送"); n != 1 {
		t.Errorf("started %d times:\n%s", n, both)
	}
	mustContain(t, both, "✅ 通知 #1 开始发送")
	// The loser is told it is on its way, or, when the winner had already cleared the
	// author's draft before the text was read, that nothing is waiting.
	if !strings.Contains(both, "通知 #1 已在发送") && !strings.Contains(both, "您没有待确认的通知") {
		t.Errorf("the second confirm was not answered:\n%s", both)
	}
	mustNotContain(t, both, "#2")
	mustContain(t, texts(e.say(sec, g1, "发布 周日下午义诊 需要1人")), "#2")
}
