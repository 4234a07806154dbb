// Command larkbare is the Feishu SDK's own event endpoint and nothing else: the bare
// dispatcher (dispatcher.NewEventDispatcher with httpserverext.NewEventHandlerFunc) with a
// handler that does nothing. bench/harness sends it the same signed, encrypted events as
// neighborbot, so the cost of neighborbot's own work per event (authentication, a durable
// record before the ack, handling) can be read against the SDK's floor.
//
// With -journal FILE the handler first records the message (id, chat, content) in a
// group-committed, preallocated file with fdatasync (journal.go) and returns once it is on
// the disk: the SDK plus the cheapest durable record, so the harness can show what "every
// event durably recorded before its ack" costs before any handling.
//
// With -reply the handler is the naive bot a user would write with the SDK instead of
// neighborbot (reply.go): a seen-map drops redelivered messages, and a message asking 帮助
// gets the help text from client.Im.Message.Create in a goroutine of its own, with no
// durability and no retries: the baseline of the harness's answered scenario.
//
//	larkbare -addr 127.0.0.1:9001 -token VERIFICATION_TOKEN -key ENCRYPT_KEY [-journal FILE]
//	larkbare -addr 127.0.0.1:9001 -token VERIFICATION_TOKEN -key ENCRYPT_KEY -reply -app-id ID -app-secret SECRET -base URL
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	"github.com/larksuite/oapi-sdk-go/v3/core/httpserverext"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	token := flag.String("token", "", "verification token")
	key := flag.String("key", "", "encrypt key")
	journalPath := flag.String("journal", "", "record every message durably in this file before the ack")
	reply := flag.Bool("reply", false, "answer 帮助 as a naive SDK bot does (Im.Message.Create in a goroutine)")
	appID := flag.String("app-id", "", "-reply: the app's id")
	appSecret := flag.String("app-secret", "", "-reply: the app's secret")
	base := flag.String("base", "https://open.feishu.cn", "-reply: the Open API's base URL")
	flag.Parse()

	handle := func(ctx context.Context, e *larkim.P2MessageReceiveV1) error { return nil }
	if *journalPath != "" {
		j, err := openJournal(*journalPath, 64<<20)
		if err != nil {
			fmt.Fprintln(os.Stderr, "larkbare:", err)
			os.Exit(1)
		}
		defer j.Close()
		handle = func(ctx context.Context, e *larkim.P2MessageReceiveV1) error {
			if e.Event == nil || e.Event.Message == nil {
				return nil
			}
			m := e.Event.Message
			return j.append(deref(m.MessageId), deref(m.ChatId), deref(m.Content))
		}
	}
	if *reply {
		handle = naiveBot(*appID, *appSecret, *base)
	}
	d := dispatcher.NewEventDispatcher(*token, *key).OnP2MessageReceiveV1(handle)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /feishu/events", httpserverext.NewEventHandlerFunc(d, larkevent.WithLogLevel(larkcore.LogLevelError)))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ready\n")) })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "larkbare:", err)
		os.Exit(1)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
