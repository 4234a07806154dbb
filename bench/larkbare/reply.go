package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	lark "github.com/larksuite/oapi-sdk-go/v3"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

// helpText is about as long as neighborbot's answer to 帮助.
const helpText = `邻里帮可以帮您：
@邻里帮 需要帮助的事 —— 提需求，例如：@邻里帮 3栋2单元楼道灯坏了
待办 —— 看还没人接的事
接单 编号 —— 接下一件事
完成 编号 —— 办完了说一声
我的任务 —— 看自己接的事
发送“帮助”可以再看这份说明。`

// naiveBot is the handler a user would write with the SDK alone: dedupe by message id in
// memory, answer 帮助 from a goroutine, forget everything on a restart.
func naiveBot(appID, appSecret, base string) func(context.Context, *larkim.P2MessageReceiveV1) error {
	client := lark.NewClient(appID, appSecret, lark.WithOpenBaseUrl(base), lark.WithLogLevel(larkcore.LogLevelError))
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(ctx context.Context, e *larkim.P2MessageReceiveV1) error {
		if e.Event == nil || e.Event.Message == nil {
			return nil
		}
		m := e.Event.Message
		id := deref(m.MessageId)
		mu.Lock()
		dup := seen[id]
		seen[id] = true
		mu.Unlock()
		if dup || deref(m.MessageType) != "text" {
			return nil
		}
		var c struct {
			Text string `json:"text"`
		}
		if json.Unmarshal([]byte(deref(m.Content)), &c) != nil || !strings.Contains(c.Text, "帮助") {
			return nil
		}
		chat := deref(m.ChatId)
		go func() {
			content := larkim.NewTextMsgBuilder().Text(helpText).Build()
			resp, err := client.Im.Message.Create(context.Background(), larkim.NewCreateMessageReqBuilder().
				ReceiveIdType("chat_id").
				Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId(chat).MsgType(larkim.MsgTypeText).Content(content).Build()).
				Build())
			if err != nil {
				fmt.Fprintln(os.Stderr, "larkbare: send:", err)
			} else if !resp.Success() {
				fmt.Fprintln(os.Stderr, "larkbare: send:", resp.Code, resp.Msg)
			}
		}()
		return nil
	}
}
