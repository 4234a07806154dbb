package app

import (
	"fmt"
	"log/slog"
	"time"

	oa "github.com/neighborbot/neighborbot/bot/officialaccount"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
)

// addWeChatOA wires the Service Account adapter (bot/officialaccount): its callback at
// /wechat/oa, and its QR scans, menu clicks and 二维码 on the command mux.
func (a *App) addWeChatOA() error {
	p, err := WeChatOA(a.Cfg, a.Store, a.Tree, a.Now, a.Log.With("part", "oa"))
	if err != nil {
		return err
	}
	p.SetItems(a.Store)
	if err := p.Register(a.Commands); err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	a.AddPlatform(p)
	return nil
}

// WeChatOA builds the Service Account adapter from the config (for the app, and for the
// command line's qr and oa menu).
func WeChatOA(cfg *config.Config, st oa.Store, tree *community.Tree, now func() time.Time, log *slog.Logger) (*oa.Platform, error) {
	w := cfg.WeChatOA
	if w.AppID == "" {
		return nil, fmt.Errorf("no WeChat Service Account configured (WECHAT_OA_APP_ID)")
	}
	return oa.New(oa.Options{
		AppID: w.AppID, Secret: w.AppSecret, Token: w.Token, AESKey: w.AESKey, BaseURL: w.BaseURL,
		Status: oa.Template{ID: w.StatusTemplate.ID, ItemField: w.StatusTemplate.ItemField,
			StatusField: w.StatusTemplate.StatusField, TimeField: w.StatusTemplate.TimeField},
		BotName: cfg.BotName, Store: st, Node: tree.Node, Find: tree.Find, Within: tree.Within,
		Now: now, Log: log,
	})
}
