package app

import (
	"context"
	"errors"
)

// addFeishu wires the Feishu adapter (bot/feishu). Being built under the Feishu issue.
func (a *App) addFeishu(ctx context.Context, owner string) error {
	return errors.New("Feishu support is not in this build yet; unset FEISHU_APP_ID to use the playground")
}
