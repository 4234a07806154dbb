package feishu_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/bot/feishu"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/store/bolt"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const (
	testToken = "vtoken-123"
	testKey   = "ekey-456"
	groupChat = "oc_group"
	botOpenID = "ou_bot"
)

// testNow is a fixed clock: signed requests are built and checked against it.
var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// receiver records what the adapter hands to the pipeline.
type receiver struct {
	mu   sync.Mutex
	msgs []bot.Message
	err  error
}

func (r *receiver) Receive(_ context.Context, m bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *receiver) got() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Message(nil), r.msgs...)
}

type fixture struct {
	t      *testing.T
	fake   *feishutest.Server
	store  *bolt.Store
	p      *feishu.Platform
	h      http.Handler
	in     *receiver
	ev     *feishutest.Events
	log    *bottest.LogBuffer
	now    time.Time
	wakes  int
	wakeMu sync.Mutex
}

func openStore(tb testing.TB, now func() time.Time) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "neighborbot.db"), bolt.Options{Now: now, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// newFixture builds an http-mode adapter against a fake Feishu, with a recording receiver.
func newFixture(t *testing.T, change ...func(*feishu.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, fake: feishutest.New(t), in: &receiver{}, log: &bottest.LogBuffer{}, now: testNow}
	now := func() time.Time { return f.now }
	f.store = openStore(t, now)
	o := feishu.Options{
		AppID: f.fake.AppID, AppSecret: f.fake.AppSecret, VerificationToken: testToken, EncryptKey: testKey,
		BaseURL: f.fake.URL, BotOpenID: botOpenID, Docs: f.store, Outbox: f.store, Now: now,
		Wake: func() { f.wakeMu.Lock(); f.wakes++; f.wakeMu.Unlock() },
		Log:  slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, c := range change {
		c(&o)
	}
	p, err := feishu.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	f.h = p.EventHandler(f.in)
	f.ev = &feishutest.Events{AppID: f.fake.AppID, VerificationToken: testToken, EncryptKey: testKey, Now: now, Server: f.fake}
	return f
}

// post serves req and returns the response.
func (f *fixture) post(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// deliver posts a plaintext event sealed and signed now.
func (f *fixture) deliver(plain []byte) *httptest.ResponseRecorder {
	return f.post(f.ev.Request("http://bot.test/feishu/events", plain))
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendErr(t *testing.T, err error) *bot.SendError {
	t.Helper()
	var se *bot.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *bot.SendError", err)
	}
	return se
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func mentionBot(key string) feishutest.Mention {
	return feishutest.Mention{Key: key, OpenID: botOpenID, Name: "邻里帮", Bot: true}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
