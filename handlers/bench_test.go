package handlers_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// BenchmarkParseAndRoute measures what every message costs before its handler touches the
// store: Mux.Parse over the whole bot's registrations (items, scheduler, notices), the lookup
// of the verb's handler and the owner's reading of the arguments (the items' parser), over
// the utterances of TestUtterances. It reports ns/op and
// the 99th percentile of single messages (p99-ns); the bar is 50 µs.
//
//	go test ./handlers -run '^$' -bench ParseAndRoute -benchtime 200000x
func BenchmarkParseAndRoute(b *testing.B) {
	cfg := config.Demo()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "bot.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tree, err := setup.Tree(cfg)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s, err := scheduler.New(scheduler.Options{Store: st, Tree: tree, Calendar: scheduler.NewHolidays(nil),
		Now: time.Now, Loc: bottest.Shanghai, Owner: "bench", Log: log})
	if err != nil {
		b.Fatal(err)
	}
	m := bot.NewMux(cfg.BotName)
	h := &handlers.Handlers{Store: st, Tree: tree, BotName: cfg.BotName, Log: log}
	n := &notices.Notices{Store: st, Tree: tree, Log: log}
	if err := errors.Join(h.Register(m), s.Register(m), n.Register(m)); err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 0, len(utterances))
	for _, u := range utterances {
		texts = append(texts, u.text)
	}
	now := bottest.Start
	durs := make([]time.Duration, b.N)
	routed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		text := texts[i%len(texts)]
		c := m.Parse(text, bot.ParseContext{Mentioned: i%2 == 0})
		if v, ok := m.Verb(c.Verb); ok && v.Handler != nil {
			routed++
		}
		// The owner reads its arguments (the items' parser: deadlines, stars, slots) too.
		handlers.Parse(text, handlers.ParseContext{Now: now, Mentioned: i%2 == 0})
		durs[i] = time.Since(start)
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(routed)/float64(b.N), "routed/op")
}
