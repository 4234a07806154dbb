package app

import (
	"context"
	"time"

	"github.com/neighborbot/neighborbot/bot/wecom"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
)

// addWeCom wires the WeCom adapter (bot/wecom): the app callback at /wecom/callback, the AI
// bot at /wecom/aibot when configured, group robots from groups[].robot_key.
func (a *App) addWeCom(ctx context.Context, owner string) error {
	w := a.Cfg.WeCom
	robots := map[string]string{}
	for _, g := range a.Cfg.Groups {
		if plat, chat := community.SplitID(g.ID); plat == config.PlatformWeCom && g.RobotKey != "" {
			robots[chat] = g.RobotKey
		}
	}
	p, err := wecom.New(wecom.Options{
		CorpID: w.CorpID, AgentID: w.AgentID, Secret: w.Secret,
		Token: w.Token, AESKey: w.AESKey,
		AIBotToken: w.AIBotToken, AIBotAESKey: w.AIBotAESKey,
		BaseURL: w.BaseURL, OAuthURL: w.OAuthURL, SSOURL: w.SSOURL, BotName: a.Cfg.BotName,
		Robots: robots, RobotPerMinute: a.Cfg.Limits.WeComRobotPerMinute,
		Directory: a.Store, Docs: a.Store, Within: a.Tree.Within,
		Now: a.Now, Log: a.Log.With("part", "wecom"), HTTPClient: platformClient(10 * time.Second),
		TokenFailed: a.tokenMetric(wecom.Name),
	})
	if err != nil {
		return err
	}
	a.AddPlatform(p)
	return nil
}
