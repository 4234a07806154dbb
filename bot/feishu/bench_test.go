package feishu_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/larksuite/oapi-sdk-go/v3/core/httpserverext"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/internal/metrics"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

// BenchmarkAck measures one signed, encrypted im.message.receive_v1 from arrival to the 200:
// our handler (verify, decrypt, parse, durable group commit into a bbolt inbox with fsync,
// pipeline workers running) serially and with 16×GOMAXPROCS concurrent deliveries; the adapter
// alone with nothing recorded; and the SDK's bare dispatcher with a no-op handler (verify,
// decrypt, parse, nothing recorded) on the same kind of bodies. p50/p99 are per op.
//
//	go test -run '^$' -bench BenchmarkAck -benchtime 3s ./bot/feishu/
func BenchmarkAck(b *testing.B) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ev := &feishutest.Events{AppID: "cli_test", VerificationToken: testToken, EncryptKey: testKey, Now: func() time.Time { return now }}
	// Every op is a new message (the inbox would dedupe a repeated one).
	requests := func(n int) []*http.Request {
		out := make([]*http.Request, n)
		for i := range out {
			plain, _ := ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 3栋2单元楼道灯坏了",
				Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
			out[i] = ev.Request("http://bot.test/feishu/events", plain)
		}
		return out
	}

	b.Run("pipeline-bbolt", func(b *testing.B) {
		h := ackHandler(b, now, false)
		benchServe(b, h, requests(b.N), false)
	})
	// The same with the metrics on (internal/metrics: the pipeline's observer and the store's
	// timer), for the metrics' cost per event (docs/BENCHMARKS.md, "Metrics").
	b.Run("pipeline-bbolt-metrics", func(b *testing.B) {
		h := ackHandler(b, now, true)
		benchServe(b, h, requests(b.N), false)
	})
	b.Run("pipeline-bbolt-parallel", func(b *testing.B) {
		h := ackHandler(b, now, false)
		benchServe(b, h, requests(b.N), true)
	})
	// The adapter alone (verify, decrypt, parse, convert) with a receiver that keeps nothing:
	// the same work as the SDK's bare dispatcher, for a like-for-like comparison.
	b.Run("adapter-no-store", func(b *testing.B) {
		st := openStore(b, func() time.Time { return now })
		p, err := feishu.New(feishu.Options{AppID: "cli_test", AppSecret: "s", VerificationToken: testToken, EncryptKey: testKey,
			BotOpenID: botOpenID, Docs: st, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		benchServe(b, p.EventHandler(discard{}), requests(b.N), false)
	})
	b.Run("sdk-bare-dispatcher", func(b *testing.B) {
		d := dispatcher.NewEventDispatcher(testToken, testKey).
			OnP2MessageReceiveV1(func(ctx context.Context, event *larkim.P2MessageReceiveV1) error { return nil })
		h := http.HandlerFunc(httpserverext.NewEventHandlerFunc(d, larkevent.WithLogger(sdkQuiet{})))
		benchServe(b, h, requests(b.N), false)
	})
}

// ackHandler is the adapter's event handler over a real pipeline and bbolt store (fsync on),
// with the metrics on as the app wires them (internal/app) when withMetrics.
func ackHandler(b *testing.B, now time.Time, withMetrics bool) http.Handler {
	clock := func() time.Time { return now }
	bst, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	var st store.Store = bst
	log := slog.New(slog.DiscardHandler)
	pl := &bot.Pipeline{Inbox: st, Owner: "bench", Now: clock, Log: log, Engine: &bot.Engine{
		Handler: func(context.Context, *bot.Request) error { return nil }, Outbox: st, Now: clock, Log: log,
	}}
	if withMetrics {
		m := metrics.New(metrics.Options{})
		st = m.WrapStore(st)
		pl.Inbox, pl.Engine.Outbox, pl.Metrics = st, st, m
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); pl.Run(ctx) }()
	b.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	p, err := feishu.New(feishu.Options{AppID: "cli_test", AppSecret: "s", VerificationToken: testToken, EncryptKey: testKey,
		BotOpenID: botOpenID, Docs: st, Outbox: st, Now: clock, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	return p.EventHandler(pl)
}

func benchServe(b *testing.B, h http.Handler, reqs []*http.Request, parallel bool) {
	lat := make([]time.Duration, len(reqs))
	serve := func(i int) {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, reqs[i])
		lat[i] = time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	if parallel {
		var next atomic.Int64
		b.SetParallelism(16) // Feishu delivers concurrently; group commit shares the fsync
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				serve(int(next.Add(1) - 1))
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			serve(i)
		}
	}
	b.StopTimer()
	// CPU time of the whole process (every goroutine: the pipeline's too) per op: less
	// sensitive than ns/op to other processes sharing the cores.
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(len(reqs)), "cpu-ns/op")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type discard struct{}

func (discard) Receive(context.Context, bot.Message) error { return nil }

// sdkQuiet keeps the SDK's per-request logging out of the numbers.
type sdkQuiet struct{}

func (sdkQuiet) Debug(context.Context, ...any) {}
func (sdkQuiet) Info(context.Context, ...any)  {}
func (sdkQuiet) Warn(context.Context, ...any)  {}
func (sdkQuiet) Error(context.Context, ...any) {}
