package app

import (
	"context"
	"errors"
)

// addWeCom wires the WeCom adapter (bot/wecom). Being built under the WeCom issue.
func (a *App) addWeCom(ctx context.Context, owner string) error {
	return errors.New("WeCom support is not in this build yet; unset WECOM_CORP_ID to use the playground")
}
