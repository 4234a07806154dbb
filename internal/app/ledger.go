package app

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
	ledgerchat "github.com/neighborbot/neighborbot/ledger/chat"
)

// addLedger plugs in the 台账 (package ledger/chat): its chat commands (ahead of the
// notices', whose 导出 N would otherwise answer 导出 台账), the signed links to the workbook and
// the chart, and a runner that sends the monthly report on the 1st at 9:00. The charts' CJK
// font is NEIGHBORBOT_CJK_FONT, else the first of chart.FontPaths found.
func (a *App) addLedger(owner string) {
	l := &ledgerchat.Ledger{
		Store: a.Store, Tree: a.Tree, Rules: ledger.RulesFrom(a.Cfg.Ledger), Now: a.Now,
		Log:       a.Log.With("part", "ledger"),
		PublicURL: publicURL(a.Cfg.Addr, os.Getenv),
		Font:      chart.LoadFont(os.Getenv("NEIGHBORBOT_CJK_FONT"), a.Log.With("part", "ledger")),
		Owner:     owner,
		Wake:      a.Dispatcher.Wake,
	}
	a.Handlers.Extra = slices.Insert(a.Handlers.Extra, 0, func(ctx context.Context, r *bot.Request) (bool, error) {
		return l.Extra(ctx, r)
	})
	l.Routes(a.Mux)
	a.AddRunner(func(ctx context.Context) error { return l.Run(ctx, time.Minute) })
}
