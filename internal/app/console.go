package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/console"
)

// addConsole plugs in the 指挥中心 (package console), on whenever the bot runs, playground or
// platform: 控制台 and 退出控制台 in the chat, the pages under /console/, and an hourly sweep of
// idle sessions and old sign-in links. Its links are absolute, under the public URL.
//
// The configured platforms' web logins (WebLogins) are offered after the providers given.
func (a *App) addConsole(providers []console.Provider) error {
	for _, w := range a.WebLogins() {
		providers = append(providers, w)
	}
	c, err := console.New(console.Options{
		Store: a.Store, Tree: a.Tree, BaseURL: a.PublicURL(), Now: a.Now, Log: a.Log.With("part", "console"),
		Actions: a.Handlers, Notices: a.Notices, Wake: a.Dispatcher.Wake, Providers: providers, BotName: a.Cfg.BotName,
		Registrations: a.Handlers, Scheduler: a.Scheduler, Ledger: a.Ledger,
	})
	if err != nil {
		return err
	}
	if err := c.Register(a.Commands); err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	c.Routes(a.Mux)
	a.Console = c
	a.AddRunner(func(ctx context.Context) error { return c.RunSweeper(ctx, time.Hour) })
	return nil
}

// PublicURL is where people reach this bot's HTTP server: console.base_url
// (NEIGHBORBOT_PUBLIC_URL), else the listen address on localhost (the playground).
func (a *App) PublicURL() string {
	if a.Cfg.Console.BaseURL != "" {
		return strings.TrimRight(a.Cfg.Console.BaseURL, "/")
	}
	return publicURL(a.Cfg.Addr, os.Getenv)
}
