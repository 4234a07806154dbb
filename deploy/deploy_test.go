// Package deploy_test checks the monitoring files under deploy/ against the binary: the
// Grafana dashboard (deploy/grafana/neighborbot.json) and the Prometheus alerts
// (deploy/prometheus/alerts.yml) may only query metrics a real scrape of neighborbot shows,
// and promtool must accept the rules and pass their unit tests.
package deploy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
)

// exported starts the demo community (the playground) with its admin listener and returns the
// series names one scrape of GET /metrics shows (histograms as _bucket, _sum and _count).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	env := map[string]string{"NEIGHBORBOT_DATA": t.TempDir(), "NEIGHBORBOT_ADDR": "127.0.0.1:0", "NEIGHBORBOT_ADMIN_ADDR": "127.0.0.1:0"}
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, app.Options{Config: cfg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.ListenAdmin(cfg.AdminAddr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, ln) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	}()
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	names := map[string]bool{}
	for name, f := range fams {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				names[name+sfx] = true
			}
			continue
		}
		names[name] = true
	}
	return names
}

// metricRef finds metric names in a PromQL expression: ours and the Go client's.
var metricRef = regexp.MustCompile(`\b(?:neighborbot|process|go)_[a-zA-Z0-9_]+\b`)

// checkExpr reports an expression that queries no metric or one the scrape lacks.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	refs := metricRef.FindAllString(expr, -1)
	if len(refs) == 0 {
		t.Errorf("%s: %q queries no neighborbot metric", where, expr)
	}
	for _, r := range refs {
		if !names[r] {
			t.Errorf("%s: %q queries %s, which neighborbot does not export", where, expr, r)
		}
	}
}

func TestMonitoringQueriesOnlyExportedMetrics(t *testing.T) {
	names := exported(t)
	for _, want := range []string{"neighborbot_inbound_events_total", "neighborbot_outbox_oldest_due_seconds", "neighborbot_ack_seconds_bucket", "process_cpu_seconds_total"} {
		if !names[want] {
			t.Fatalf("the scrape lacks %s; it has %v", want, slices.Sorted(func(yield func(string) bool) {
				for n := range names {
					if !yield(n) {
						return
					}
				}
			}))
		}
	}

	t.Run("dashboard", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join("grafana", "neighborbot.json"))
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Title  string `json:"title"`
			UID    string `json:"uid"`
			Panels []struct {
				ID         int             `json:"id"`
				Type       string          `json:"type"`
				Title      string          `json:"title"`
				Datasource json.RawMessage `json:"datasource"`
				GridPos    *struct{ H, W, X, Y int }
				Targets    []struct {
					RefID      string          `json:"refId"`
					Expr       string          `json:"expr"`
					Datasource json.RawMessage `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(&dash); err != nil {
			t.Fatalf("not valid JSON: %v", err)
		}
		if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
			t.Fatalf("no title, uid or panels")
		}
		ids := map[int]bool{}
		queries := 0
		for _, p := range dash.Panels {
			where := "panel " + p.Title
			if ids[p.ID] {
				t.Errorf("%s: id %d used twice", where, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: gridPos %+v", where, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			var ds struct{ Type, UID string }
			if err := json.Unmarshal(p.Datasource, &ds); err != nil || ds.Type != "prometheus" || ds.UID == "" {
				t.Errorf("%s: datasource %s, want a prometheus one", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no targets", where)
			}
			for _, tg := range p.Targets {
				if tg.RefID == "" || len(tg.Datasource) == 0 {
					t.Errorf("%s: a target without refId or datasource", where)
				}
				checkExpr(t, where, tg.Expr, names)
				queries++
			}
		}
		if queries < 15 {
			t.Errorf("%d queries: the dashboard lost panels", queries)
		}
	})

	t.Run("alerts", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join("prometheus", "alerts.yml"))
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
					Expr  string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &rules); err != nil {
			t.Fatal(err)
		}
		var alerts []string
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				alerts = append(alerts, r.Alert)
				checkExpr(t, "alert "+r.Alert, r.Expr, names)
			}
		}
		want := []string{"NeighborbotInboxBacklog", "NeighborbotNotReady", "NeighborbotOutboxStuck", "NeighborbotSendErrors", "NeighborbotTokenRefreshFailing"}
		if slices.Sort(alerts); !slices.Equal(alerts, want) {
			t.Errorf("alerts %v, want %v", alerts, want)
		}
	})
}

// promtool accepts the rules, and their unit tests (alerts_test.yml: each alert fires when it
// should and not before) pass. With CI=true a missing promtool fails (scripts/test.sh
// installs Debian's prometheus package, which ships it).
func TestAlertRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not installed (apt-get install prometheus)")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", filepath.Join("prometheus", "alerts.yml")},
		{"test", "rules", filepath.Join("prometheus", "alerts_test.yml")},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
