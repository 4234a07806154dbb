// Command wecombare is the naive WeCom app bot a user would write with
// github.com/silenceper/wechat/v2 instead of neighborbot: the callback checked with the SDK's
// util.Signature and decrypted with util.DecryptMsg (its work/ package has no callback server
// for app messages), a seen-map for redelivered messages, and a message asking 帮助 answered
// by work/message's SendText from a goroutine of its own, with no durability and no retries.
// bench/harness's answered scenario runs it next to neighborbot as the baseline.
//
//	wecombare -addr 127.0.0.1:9002 -token TOKEN -aes-key KEY -corp CORP_ID -secret SECRET -agent 1000002 -base URL
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/config"
	wcontext "github.com/silenceper/wechat/v2/work/context"
	"github.com/silenceper/wechat/v2/work/message"
)

// helpText is about as long as neighborbot's answer to 帮助.
const helpText = `邻里帮可以帮您：
需要帮助的事 —— 直接说，例如：3栋2单元楼道灯坏了
待办 —— 看还没人接的事
接单 编号 —— 接下一件事
完成 编号 —— 办完了说一声
我的任务 —— 看自己接的事
发送“帮助”可以再看这份说明。`

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	token := flag.String("token", "", "callback token")
	aesKey := flag.String("aes-key", "", "EncodingAESKey")
	corp := flag.String("corp", "", "corp id")
	secret := flag.String("secret", "", "app secret")
	agent := flag.String("agent", "", "agent id")
	base := flag.String("base", "https://qyapi.weixin.qq.com", "the API's base URL")
	flag.Parse()

	// The SDK's URLs name qyapi.weixin.qq.com; its URI modifier points them elsewhere.
	util.SetURIModifier(func(uri string) string {
		return strings.Replace(uri, "https://qyapi.weixin.qq.com", *base, 1)
	})
	cfg := &config.Config{CorpID: *corp, CorpSecret: *secret, AgentID: *agent, Cache: cache.NewMemory()}
	msg := message.NewClient(&wcontext.Context{Config: cfg,
		AccessTokenHandle: credential.NewWorkAccessToken(cfg.CorpID, cfg.CorpSecret, cfg.AgentID, credential.CacheKeyWorkPrefix, cfg.Cache)})

	var mu sync.Mutex
	seen := map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wecom/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if xml.Unmarshal(body, &env) != nil || util.Signature(*token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) != q.Get("msg_signature") {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		_, plain, err := util.DecryptMsg(*corp, env.Encrypt, *aesKey)
		if err != nil {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		var m struct {
			FromUserName string `xml:"FromUserName"`
			MsgType      string `xml:"MsgType"`
			Content      string `xml:"Content"`
			MsgID        string `xml:"MsgId"`
		}
		if xml.Unmarshal(plain, &m) != nil {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		mu.Lock()
		dup := seen[m.MsgID]
		seen[m.MsgID] = true
		mu.Unlock()
		if !dup && m.MsgType == "text" && strings.Contains(m.Content, "帮助") {
			go func() {
				_, err := msg.SendText(message.SendTextRequest{
					SendRequestCommon: &message.SendRequestCommon{ToUser: m.FromUserName, AgentID: *agent},
					Text:              message.TextField{Content: helpText},
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "wecombare: send:", err)
				}
			}()
		}
		w.Write([]byte("success"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ready\n")) })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "wecombare:", err)
		os.Exit(1)
	}
}
