package app

import (
	oa "github.com/neighborbot/neighborbot/bot/officialaccount"
)

// addWeChatOA wires the Service Account adapter (bot/officialaccount): its callback at
// /wechat/oa, and its handler for QR scans and the menu ahead of the others.
func (a *App) addWeChatOA() error {
	w := a.Cfg.WeChatOA
	p, err := oa.New(oa.Options{
		AppID: w.AppID, Secret: w.AppSecret, Token: w.Token, AESKey: w.AESKey, BaseURL: w.BaseURL,
		Status: oa.Template{ID: w.StatusTemplate.ID, ItemField: w.StatusTemplate.ItemField,
			StatusField: w.StatusTemplate.StatusField, TimeField: w.StatusTemplate.TimeField},
		BotName: a.Cfg.BotName, Store: a.Store, Node: a.Tree.Node,
		Now: a.Now, Log: a.Log.With("part", "oa"),
	})
	if err != nil {
		return err
	}
	a.Handlers.Extra = append(a.Handlers.Extra, p.Handle)
	a.AddPlatform(p)
	return nil
}
