package app

import (
	"context"
	"net/http"
	"time"

	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/config"
)

// addFeishu wires the Feishu adapter (bot/feishu): events over HTTP at /feishu/events or the
// long connection, sends through the outbox, the tenant token shared through the store.
func (a *App) addFeishu(ctx context.Context, owner string) error {
	f := a.Cfg.Feishu
	p, err := feishu.New(feishu.Options{
		AppID:             f.AppID,
		AppSecret:         f.AppSecret,
		VerificationToken: f.VerificationToken,
		EncryptKey:        f.EncryptKey,
		Mode:              f.Mode,
		BaseURL:           f.BaseURL,
		BotName:           a.Cfg.BotName,
		Greeting:          feishu.DefaultGreeting(a.Cfg.BotName, exampleGrid(a.Cfg.Org)),
		PerChat:           a.Cfg.Limits.FeishuPerChat,
		PerApp:            a.Cfg.Limits.FeishuPerApp,
		Docs:              a.Store,
		Outbox:            a.Store,
		Wake:              a.Dispatcher.Wake,
		Now:               a.Now,
		Log:               a.Log.With("part", "feishu"),
		HTTPClient:        platformClient(feishu.DefaultTimeout),
		TokenFailed:       a.tokenMetric(feishu.Name),
	})
	if err != nil {
		return err
	}
	a.AddPlatform(p)
	a.Log.Info("feishu enabled", "mode", p.Mode(), "app", f.AppID)
	return nil
}

// exampleGrid names a grid for the greeting's "绑定 …" example: the first in the tree.
func exampleGrid(nodes []config.OrgNode) string {
	if name := firstGrid(nodes); name != "" {
		return name
	}
	return "3网格"
}

func firstGrid(nodes []config.OrgNode) string {
	for _, n := range nodes {
		if n.Kind == config.KindGrid {
			return n.Name
		}
		if name := firstGrid(n.Children); name != "" {
			return name
		}
	}
	return ""
}

// platformClient calls a platform's API. Its transport keeps as many idle connections to a
// host as sends run at once (the pipeline's direct senders and the dispatcher's workers):
// with net/http's default of 2, most sends dialled a connection of their own and closed it
// after (against the real APIs, a TLS handshake each; docs/BENCHMARKS.md).
func platformClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: timeout, Transport: t}
}
