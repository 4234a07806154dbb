package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/internal/numbering"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/store"
)

// addNotices plugs in notices and polls (package notices): their chat commands and card
// buttons, the in-place refresh of their cards' counters, the CSV export routes, and a
// runner that enqueues confirmed notices at once and calls Tick every minute.
func (a *App) addNotices(ctx context.Context) error {
	n := &notices.Notices{
		Store: a.Store, Tree: a.Tree, Now: a.Now, Log: a.Log.With("part", "notices"),
		Wake:          a.Dispatcher.Wake,
		PublicURL:     a.PublicURL(),
		ExportLinkTTL: a.Cfg.Notices.ExportLinkTTL.Duration(),
		// Platforms register after this (the playground) or before it (Feishu, WeCom); the
		// map is complete before anything is sent, so look it up per message.
		Limits: func(o bot.Outbound) []bot.Limit {
			if p, ok := a.Platforms[o.Platform].(bot.Limited); ok {
				return p.Limits(o)
			}
			return nil
		},
		CanUpdate: func(platform string) bool {
			_, ok := a.Platforms[platform].(bot.CardUpdater)
			return ok
		},
	}
	if err := n.Register(a.Commands); err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	a.Handlers.AddNumbered(n.Numbered, store.KindNotice, store.KindPoll)
	a.renumber = append(a.renumber, numbering.Part{Name: "notices", Renumber: n.MigrateNumbers})
	a.Dispatcher.Refresh = n.RefreshCard(a.Dispatcher.Refresh)
	n.Routes(a.Mux)
	a.Notices = n
	a.AddRunner(func(ctx context.Context) error { return n.Run(ctx, time.Minute, a.Now) })
	return nil
}

// publicURL is where people reach this bot's HTTP server, for export links:
// NEIGHBORBOT_PUBLIC_URL, else the listen address on localhost.
func publicURL(addr string, getenv func(string) string) string {
	if u := strings.TrimSpace(getenv("NEIGHBORBOT_PUBLIC_URL")); u != "" {
		return strings.TrimRight(u, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
