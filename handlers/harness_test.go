package handlers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/ledger"
	ledgerchat "github.com/neighborbot/neighborbot/ledger/chat"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/scheduler"
)

// wholeBot builds the bot of these tests as internal/app wires it: the service items, the
// scheduler and notices, each registering its verbs on one Mux.
func wholeBot(env bottest.Env) (bottest.Bot, error) {
	h := &handlers.Handlers{Store: env.Store, Tree: env.Tree, BotName: env.Config.BotName, Log: env.Log}
	l := &ledgerchat.Ledger{Store: env.Store, Tree: env.Tree, Rules: ledger.RulesFrom(env.Config.Ledger), Now: env.Now, Log: env.Log}
	h.Points = l.Points // as internal/app wires it
	s, err := scheduler.New(scheduler.Options{
		Store: env.Store, Tree: env.Tree, Schedules: env.Config.Schedules, Deadlines: env.Config.Deadlines,
		Calendar: scheduler.NewHolidays(nil), Now: env.Now, Loc: bottest.Shanghai, Owner: "test", Log: env.Log,
	})
	if err != nil {
		return bottest.Bot{}, err
	}
	if err := s.Sync(context.Background()); err != nil {
		return bottest.Bot{}, err
	}
	n := &notices.Notices{Store: env.Store, Tree: env.Tree, Now: env.Now, Log: env.Log}
	m := bot.NewMux(env.Config.BotName)
	m.Pending, m.Refs = env.Store, env.Store
	if err := errors.Join(h.Register(m), s.Register(m), n.Register(m)); err != nil {
		return bottest.Bot{}, err
	}
	return bottest.Bot{Handler: m.ServeBot, Refresh: n.RefreshCard(h.RefreshCard(env.Now))}, nil
}

// newBot starts a harness with the whole bot.
func newBot(t testing.TB, opts ...bottest.Option) *bottest.Harness {
	t.Helper()
	return bottest.New(t, wholeBot, opts...)
}
