package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
	ledgerchat "github.com/neighborbot/neighborbot/ledger/chat"
)

// addLedger plugs in the 台账 (package ledger/chat): its chat commands (导出 台账 is a longer
// word than the notices' 导出, so the mux gives it to the ledger), the signed links to the workbook and
// the chart, and a runner that sends the monthly report on the 1st at 9:00. The charts' CJK
// font is NEIGHBORBOT_CJK_FONT, else the first of chart.FontPaths found.
func (a *App) addLedger(owner string) error {
	l := &ledgerchat.Ledger{
		Store: a.Store, Tree: a.Tree, Rules: ledger.RulesFrom(a.Cfg.Ledger), Now: a.Now,
		Log:       a.Log.With("part", "ledger"),
		PublicURL: a.PublicURL(),
		Font:      chart.LoadFont(os.Getenv("NEIGHBORBOT_CJK_FONT"), a.Log.With("part", "ledger")),
		Owner:     owner,
		Wake:      a.Dispatcher.Wake,
	}
	if err := l.Register(a.Commands); err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	l.Routes(a.Mux)
	a.Ledger = l
	a.Handlers.Points = l.Points // 我的任务 and 我的信息 show the ledger's points
	a.AddRunner(func(ctx context.Context) error { return l.Run(ctx, time.Minute) })
	return nil
}
