package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

// metricsConfig is a community whose group lives in Feishu; one message a second into a chat,
// so a burst of replies into the group waits for the rate limit.
const metricsConfig = `
bot_name: 邻里帮
admin_addr: 127.0.0.1:0
limits:
  feishu_per_chat: 1
org:
  - id: street
    name: 城关街道
    kind: street
    children:
      - id: xingfu
        name: 幸福社区
        kind: community
        children:
          - id: grid3
            name: 3网格
            kind: grid
groups:
  - id: feishu:oc_group
    name: 幸福里小区群
    node: grid3
members:
  - id: feishu:ou_sec
    name: 王书记
    role: secretary
    node: xingfu
  - id: feishu:ou_mem
    name: 李建国
    role: member
    node: grid3
  - id: feishu:ou_res
    name: 陈阿姨
    role: resident
    node: grid3
`

const (
	metricsToken = "vtoken-metrics"
	metricsKey   = "ekey-metrics"
)

// TestMetricsAfterScriptedRun is the bar of the metrics: the whole app against a fake Feishu
// that fails the first token fetch and answers one send with 429; a need, its dispatch, a
// claim by card tap, a notice, a replayed event; then GET /metrics on the admin listener has
// every family with the counts the run implies, and the public listener answers 404 there.
func TestMetricsAfterScriptedRun(t *testing.T) {
	fake := feishutest.New(t)
	fake.Fail(feishutest.RouteToken, feishutest.Fault{Status: http.StatusInternalServerError})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "neighborbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(metricsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"FEISHU_APP_ID": fake.AppID, "FEISHU_APP_SECRET": fake.AppSecret,
		"FEISHU_VERIFICATION_TOKEN": metricsToken, "FEISHU_ENCRYPT_KEY": metricsKey,
		"FEISHU_BASE_URL": fake.URL, "NEIGHBORBOT_DATA": filepath.Join(dir, "data"),
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bottest.LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.New(ctx, app.Options{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	adminAddr, err := a.ListenAdmin(cfg.AdminAddr)
	if err != nil {
		t.Fatal(err)
	}
	// The admin address in use: a clear start-up error naming the setting.
	if _, err := a.ListenAdmin(adminAddr.String()); err == nil || !strings.Contains(err.Error(), "admin_addr, NEIGHBORBOT_ADMIN_ADDR") ||
		!strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second listener on %s: %v, want an error naming admin_addr and the address in use", adminAddr, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, ln) }()
	stopped := false
	shutdown := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	}
	t.Cleanup(shutdown)

	url := "http://" + ln.Addr().String() + "/feishu/events"
	client := &http.Client{Timeout: 10 * time.Second}
	ev := &feishutest.Events{AppID: fake.AppID, VerificationToken: metricsToken, EncryptKey: metricsKey, Server: fake}
	events := 0
	post := func(plain []byte) string {
		t.Helper()
		req := ev.Request(url, plain)
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("event: status %d: %s", resp.StatusCode, b)
		}
		return string(b)
	}
	wait := func(what string, match func(feishutest.Call) bool) feishutest.Call {
		t.Helper()
		c, err := fake.Wait(ctx, match)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return c
	}
	mention := []feishutest.Mention{{Key: "@_user_1", OpenID: fake.BotOpenID, Name: "邻里帮", Bot: true}}

	// A need, its dispatch, a claim by card tap.
	needPlain, need := ev.Message(feishutest.Msg{ChatID: "oc_group", Sender: "ou_res", Text: "@_user_1 3栋楼道灯坏了", Mentions: mention})
	post(needPlain)
	events++
	wait("the reply to the need", func(c feishutest.Call) bool { return c.Sent() && c.Parent == need.MessageID })
	dispatch, _ := ev.Message(feishutest.Msg{ChatID: "oc_group", Sender: "ou_sec", Text: "@_user_1 派单 1", Mentions: mention})
	post(dispatch)
	events++
	card := wait("the item's card", func(c feishutest.Call) bool { return c.Sent() && c.ChatID == "oc_group" && c.MsgType == "interactive" })
	post(ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: "oc_group", MessageID: card.MessageID, Value: map[string]any{"action": "claim", "item": 1}}))
	events++
	wait("the claim announced", func(c feishutest.Call) bool { return c.Sent() && strings.Contains(c.Content, "认领了 #1") })
	// Feishu delivers the need again: a duplicate.
	post(needPlain)

	// A notice; the first message created after this is answered 429 and sent again.
	fake.Fail(feishutest.RouteCreate, feishutest.Fault{Status: http.StatusTooManyRequests})
	say := func(text string) {
		plain, _ := ev.Message(feishutest.Msg{ChatID: "oc_p2p_sec", ChatType: "p2p", Sender: "ou_sec", Text: text})
		post(plain)
		events++
	}
	say("通知 全体 周六上午9点社区体检")
	wait("the notice's confirmation", func(c feishutest.Call) bool { return c.Sent() && strings.Contains(c.Content, "请确认发送") })
	say("确认发送")
	wait("the notice's card", func(c feishutest.Call) bool {
		return c.Sent() && c.ChatID == "oc_group" && strings.Contains(c.Content, `"action":"notice_ack"`)
	})

	// The public listener has no /metrics.
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public listener: %d, want 404", resp.StatusCode)
	}

	// The scrape settles once the last event is counted handled and the outbox is empty.
	metricsURL := "http://" + adminAddr.String() + "/metrics"
	var s scrape
	for {
		s = scrapeMetrics(t, metricsURL)
		if s.get("neighborbot_inbound_events_total", "platform", "feishu", "outcome", "handled", "reason", "") == float64(events) &&
			s.get("neighborbot_outbox_pending") == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the scrape never showed %d events handled and the outbox empty:\n%s", events, s.text)
		case <-time.After(20 * time.Millisecond):
		}
	}
	okSends := fake.Count(func(c feishutest.Call) bool {
		return c.Status == http.StatusOK && c.Code == 0 && c.Route != feishutest.RouteToken && c.Route != feishutest.RouteBotInfo
	})
	nonOK := 0.0
	for _, m := range s.families["neighborbot_sends_total"].GetMetric() {
		if label(m, "platform") == "feishu" && label(m, "code") != "ok" {
			nonOK += m.GetCounter().GetValue()
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"neighborbot_inbound_events_total", []string{"platform", "feishu", "outcome", "accepted", "reason", ""}, float64(events)},
		{"neighborbot_inbound_events_total", []string{"platform", "feishu", "outcome", "duplicate", "reason", ""}, 1},
		{"neighborbot_inbound_events_total", []string{"platform", "feishu", "outcome", "failed", "reason", ""}, 0},
		{"neighborbot_inbound_events_total", []string{"platform", "feishu", "outcome", "refused", "reason", "store_unavailable"}, 0},
		{"neighborbot_ack_seconds_count", []string{"platform", "feishu"}, float64(events + 1)},
		{"neighborbot_handle_seconds_count", []string{"platform", "feishu"}, float64(events)},
		{"neighborbot_sends_total", []string{"platform", "feishu", "code", "ok"}, float64(okSends)},
		{"neighborbot_sends_total", []string{"platform", "feishu", "code", "http_429"}, 1},
		{"neighborbot_send_seconds_count", []string{"platform", "feishu"}, float64(okSends) + nonOK},
		{"neighborbot_send_retries_total", []string{"platform", "feishu"}, nonOK},
		{"neighborbot_token_refresh_failures_total", []string{"platform", "feishu"}, 1},
		{"neighborbot_token_refresh_failures_total", []string{"platform", "wecom"}, 0},
		{"neighborbot_inbox_lease_takeovers_total", []string{"platform", "feishu"}, 0},
		{"neighborbot_inbox_pending", nil, 0},
		{"neighborbot_inbox_oldest_seconds", nil, 0},
		{"neighborbot_outbox_oldest_due_seconds", nil, 0},
		{"neighborbot_items", []string{"state", "claimed"}, 1},
		{"neighborbot_items", []string{"state", "need"}, 0},
		{"neighborbot_ready", nil, 1},
		{"neighborbot_scheduler_steps_total", []string{"kind", "item", "outcome", "fired"}, 0},
		{"neighborbot_store_scrape_errors_total", nil, 0},
	} {
		if got := s.get(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"neighborbot_rate_limit_waits_total", []string{"platform", "feishu"}}, // the claim's card update and announcement, at 1/s
		{"neighborbot_store_op_seconds_count", []string{"op", "put_inbound"}},
		{"neighborbot_store_op_seconds_count", []string{"op", "enqueue"}},
		{"neighborbot_store_op_seconds_count", []string{"op", "lease_outbox"}},
		{"neighborbot_store_op_seconds_count", []string{"op", "update_item"}},
		{"neighborbot_build_info", nil},
		{"go_goroutines", nil},
	} {
		if got := s.get(c.name, c.labels...); got < 1 {
			t.Errorf("%s%v = %v, want at least 1", c.name, c.labels, got)
		}
	}
	if nonOK < 1 {
		t.Errorf("no failed send counted: %v", nonOK)
	}
	for name := range s.families {
		for _, m := range s.families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); strings.HasPrefix(v, "ou_") || strings.HasPrefix(v, "oc_") || strings.Contains(v, "feishu:") {
					t.Errorf("%s has a person's or a group's id as a label: %s=%s", name, l.GetName(), v)
				}
			}
		}
	}

	// The admin listener goes with the app.
	shutdown()
	if _, err := (&http.Client{Timeout: 2 * time.Second}).Get(metricsURL); err == nil {
		t.Errorf("the admin listener still answers after shutdown")
	} else if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "refused") {
		t.Logf("after shutdown: %v", err)
	}
}

// scrape is one GET /metrics, parsed.
type scrape struct {
	text     string
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape does not parse: %v\n%s", err, body)
	}
	return scrape{text: string(body), families: fams}
}

// get is the value of the series of name with exactly these label pairs among its labels
// (histograms: name_count and name_sum); -1 when absent.
func (s scrape) get(name string, pairs ...string) float64 {
	fam, suffix := s.families[name], ""
	if fam == nil {
		for _, sfx := range []string{"_count", "_sum"} {
			if f := s.families[strings.TrimSuffix(name, sfx)]; f != nil && strings.HasSuffix(name, sfx) {
				fam, suffix = f, sfx
			}
		}
	}
	if fam == nil {
		return -1
	}
next:
	for _, m := range fam.GetMetric() {
		for i := 0; i+1 < len(pairs); i += 2 {
			if label(m, pairs[i]) != pairs[i+1] {
				continue next
			}
		}
		switch {
		case suffix == "_count":
			return float64(m.GetHistogram().GetSampleCount())
		case suffix == "_sum":
			return m.GetHistogram().GetSampleSum()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	return -1
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// admin_addr off: no metrics anywhere (the pipeline and the dispatcher observe nothing) and no
// admin listener; pprof is on the admin listener only when asked for.
func TestAdminOffAndPprof(t *testing.T) {
	newApp := func(env map[string]string) *app.App {
		t.Helper()
		env["NEIGHBORBOT_DATA"] = t.TempDir()
		cfg, err := config.Load(func(k string) string { return env[k] }, "")
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(context.Background(), app.Options{Config: cfg, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	off := newApp(map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "off"})
	if off.Metrics != nil || off.Pipeline.Metrics != nil || off.Dispatcher.Metrics != nil {
		t.Errorf("admin_addr off: metrics %v, pipeline's %v, dispatcher's %v; want none", off.Metrics, off.Pipeline.Metrics, off.Dispatcher.Metrics)
	}
	if _, err := off.ListenAdmin("127.0.0.1:0"); err == nil {
		t.Errorf("admin_addr off: ListenAdmin opened a listener")
	}
	get := func(a *app.App, path string) int {
		w := httptest.NewRecorder()
		a.AdminHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code
	}
	plain := newApp(map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "127.0.0.1:0"})
	withPprof := newApp(map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "127.0.0.1:0", "NEIGHBORBOT_PPROF": "1"})
	for _, c := range []struct {
		a    *app.App
		path string
		want int
	}{
		{plain, "/metrics", http.StatusOK},
		{plain, "/debug/pprof/", http.StatusNotFound},
		{withPprof, "/debug/pprof/", http.StatusOK},
		{withPprof, "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{plain, "/outbox?notice=1", http.StatusNotFound}, // no notice 1
		{plain, "/outbox", http.StatusBadRequest},
	} {
		if got := get(c.a, c.path); got != c.want {
			t.Errorf("GET %s (pprof %v): %d, want %d", c.path, c.a.Cfg.Pprof, got, c.want)
		}
	}
	w := httptest.NewRecorder()
	withPprof.Mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the public mux: %d, want 404", w.Code)
	}
}
