package bot_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// docs is an in-memory PendingStore.
type docs map[string][]byte

func (d docs) GetDoc(_ context.Context, coll, id string) ([]byte, error) {
	v, ok := d[coll+"/"+id]
	if !ok {
		return nil, community.Errorf(community.ENotFound, "no %s/%s", coll, id)
	}
	return v, nil
}
func (d docs) PutDoc(_ context.Context, coll, id string, v []byte) error {
	d[coll+"/"+id] = v
	return nil
}
func (d docs) DeleteDoc(_ context.Context, coll, id string) error { delete(d, coll+"/"+id); return nil }

// The Mux calls exactly one handler per message, gives it what it read, falls back from a verb
// whose owner finds chat to the guessers and then the other-handler, and keeps a question.
func TestMuxServe(t *testing.T) {
	var got []string
	record := func(name string) bot.HandlerFunc {
		return func(_ context.Context, r *bot.Request) error {
			c := r.Command()
			got = append(got, name+":"+c.Verb+":"+strings.TrimSpace(c.Args)+":"+strconv.FormatInt(c.Item, 10))
			return nil
		}
	}
	m := bot.NewMux("邻里帮")
	store := docs{}
	m.Pending, m.Refs = store, store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Handle(bot.Verb{Name: "claim", Owner: "items", Words: []string{"接单", "我来"}, Shape: bot.ShapeItem, Handler: record("items")}))
	must(m.Handle(bot.Verb{Name: "ack", Owner: "notices", Words: []string{"收到"}, Shape: bot.ShapeAny,
		Handler: func(_ context.Context, r *bot.Request) error {
			if r.Command().Args != "" {
				return bot.ErrNotCommand // 收到，… is chat to the notices
			}
			got = append(got, "notices:ack")
			return nil
		}}))
	must(m.Handle(bot.Verb{Name: "which", Owner: "items", Words: []string{"哪个"}, Shape: bot.ShapeNone,
		Handler: func(_ context.Context, r *bot.Request) error {
			r.Ask("您是指哪一单？", []bot.Choice{{Label: "#7 楼道灯", Command: "接单 7"}, {Label: "#9 水管", Command: "接单 9"}})
			return nil
		}}))
	must(m.HandleAction("claim", "items", record("tap")))
	must(m.HandleGuess("notices", func(_ context.Context, r *bot.Request) (bool, error) {
		if r.Command().Text == "同意" {
			got = append(got, "notices:vote")
			return true, nil
		}
		return false, nil
	}))
	must(m.HandleOther("items", record("other")))

	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	serve := func(user, text string, at time.Time) *bot.Request {
		t.Helper()
		r := &bot.Request{Msg: bot.Message{Platform: "local", GroupID: "local:g", UserID: user, Text: text}, Now: at}
		if err := m.ServeBot(context.Background(), r); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		return r
	}
	serve("u", "接单 12", now)
	serve("u", "收到", now)
	serve("u", "收到，我来 3", now)
	serve("u", "同意", now)
	serve("u", "今天天气不错", now)
	tap := &bot.Request{Msg: bot.Message{Action: &bot.Action{Name: "claim", Item: 4}}, Now: now}
	if err := m.ServeBot(context.Background(), tap); err != nil {
		t.Fatal(err)
	}
	if err := m.ServeBot(context.Background(), &bot.Request{Msg: bot.Message{Action: &bot.Action{Name: "gone"}}}); community.ErrorCode(err) != community.EInvalid {
		t.Fatalf("an unknown action: %v", err)
	}
	q := serve("u", "哪个", now)
	if len(q.Outs()) != 1 || q.Outs()[0].Text != "您是指哪一单？回复 1) #7 楼道灯 2) #9 水管" {
		t.Fatalf("question: %+v", q.Outs())
	}
	serve("v", "2", now)                     // not the one asked: other
	serve("u", "2", now.Add(time.Minute))    // the answer: 接单 9
	serve("u", "1", now.Add(2*time.Minute))  // answered already: other
	serve("u", "哪个", now)                    // asked again
	serve("u", "第一个", now)                   // 接单 7
	serve("u", "哪个", now)                    // asked again
	serve("u", "1", now.Add(bot.PendingTTL)) // too late: other
	want := []string{
		"items:claim::12", "notices:ack", "items:claim::3", "notices:vote", "other:::0", "tap:::0",
		"other:::0", "items:claim::9", "other:::0", "items:claim::7", "other:::0",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("handled\n%q\nwant\n%q", got, want)
	}
}
