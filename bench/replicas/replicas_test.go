// Package replicas holds the Redis backend's end-to-end bar: two neighborbot processes on one
// redis-server, driven through the playground API as a crowd of members would.
//
//	go test ./bench/replicas/                          # 1,000 concurrent claims, two replicas
//	NEIGHBORBOT_BAR_KILL=1 go test ./bench/replicas/   # and kill -9 one replica mid-load
//
// The kill run waits for the dead replica's leases to run out (the outbox lease is 2
// minutes), so it is not part of the default run.
package replicas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/internal/shipbuild"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/redis"
)

const (
	members = 100 // party members in the config
	claims  = 1000
	slots   = 3
)

func TestTwoReplicasContestedClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the neighborbot binary")
	}
	kill := os.Getenv("NEIGHBORBOT_BAR_KILL") == "1"
	bin := buildBinary(t)
	url := "redis://" + redistest.Start(t) + "/0"
	cfg := writeConfig(t)
	a := startBot(t, bin, cfg, url, "a")
	b := startBot(t, bin, cfg, url, "b")

	if _, err := a.post("local:sec", "@邻里帮 发布 周六清理楼道 需要3人", ""); err != nil {
		t.Fatalf("post the item: %v", err)
	}
	st, err := redis.Open(t.Context(), url, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	waitFor(t, 20*time.Second, "item #1 posted", func() bool {
		_, err := st.GetItem(t.Context(), 1)
		return err == nil
	})

	// 1,000 claims at once, 10 from each member, half through each replica. With kill set,
	// replica b dies (SIGKILL) once half the claims are in; what it refused afterwards goes
	// to a, as a load balancer would send it.
	var mu sync.Mutex
	var accepted []string // event keys the bots acknowledged
	var sentCount atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for i := range claims {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			user := fmt.Sprintf("local:m%03d", i%members)
			target, other := a, b
			if i%2 == 1 {
				target, other = b, a
			}
			if kill && sentCount.Add(1) == claims/2 {
				b.kill()
			}
			// Every event is delivered twice, once to each replica, as a platform retry
			// behind a load balancer would.
			event := fmt.Sprintf("claim-%04d", i)
			key, err := target.post(user, "接单 1", event)
			if err != nil && target == b && kill {
				key, err = a.post(user, "接单 1", event)
			}
			if err != nil {
				t.Errorf("claim by %s: %v", user, err)
				return
			}
			if again, err := other.post(user, "接单 1", event); err == nil && again != key {
				t.Errorf("the replay of %s was recorded as %s", key, again)
			} else if err != nil && !(kill && other == b) {
				t.Errorf("replay of %s: %v", key, err)
			}
			mu.Lock()
			accepted = append(accepted, key)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// Every acknowledged event is answered: its reply is in the outbox and sent.
	limit := 60 * time.Second
	if kill {
		limit = 4 * time.Minute // the dead replica's inbox (1 min) and outbox (2 min) leases
	}
	replies := map[string]string{} // event → the texts of its replies
	entries := map[string]int{}    // event → how many outbox entries it made
	waitFor(t, limit, "every claim answered", func() bool {
		for _, key := range accepted {
			if _, ok := replies[key]; ok {
				continue
			}
			var texts []string
			for i := 0; ; i++ {
				e, err := st.GetOutbox(t.Context(), fmt.Sprintf("%s/%d", key, i))
				if community.ErrorCode(err) == community.ENotFound && i > 0 {
					break
				}
				if err != nil || e.Status != store.OutboxSent {
					return false
				}
				var o bot.Outbound
				if err := json.Unmarshal(e.Payload, &o); err != nil {
					t.Fatalf("reply to %s: %v", key, err)
				}
				texts = append(texts, o.Text)
			}
			replies[key] = strings.Join(texts, "\n")
			entries[key] = len(texts)
		}
		return true
	})
	stats, err := st.OutboxStats(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Failed != 0 {
		t.Errorf("%d messages failed", stats.Failed)
	}
	// Each event's replies are in the outbox once: nothing else was enqueued (the post of
	// the item enqueued one card).
	total := 1
	for _, n := range entries {
		total += n
	}
	if got := stats.Pending + stats.Sent + stats.Failed; got != total {
		t.Errorf("outbox holds %d messages, the %d events account for %d", got, len(replies), total)
	}

	it, err := st.GetItem(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(it.Claims) != slots || it.State != community.StateClaimed || it.Version != 1+slots {
		t.Fatalf("item #1: %s v%d with claims %v; want %d claims", it.State, it.Version, it.Claims, slots)
	}
	var won []string
	for key, text := range replies {
		switch {
		case strings.Contains(text, "您已经认领了"):
		case strings.Contains(text, "认领了 #1"):
			won = append(won, key)
		case strings.Contains(text, "已由 "+it.ClaimerNames()+" 认领"):
		default:
			t.Errorf("reply to %s does not name who has #1 (%s): %q", key, it.ClaimerNames(), text)
		}
	}
	if len(won) != slots {
		t.Fatalf("%d claims were told they won, want %d", len(won), slots)
	}
	t.Logf("%d claims acknowledged and answered once each (outbox: %+v); winners %s; replica b killed: %v",
		len(accepted), stats, it.ClaimerNames(), kill)
}

// buildBinary builds cmd/neighborbot from this checkout, as deploy/pkg builds the binary that
// ships (shipbuild; scripts/test.sh's vet has then compiled most of it already).
func buildBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go tool not in PATH")
		}
		t.Skip("go tool not in PATH")
	}
	bin := filepath.Join(t.TempDir(), "neighborbot")
	cmd := shipbuild.Command(context.Background(), "", bin, "github.com/neighborbot/neighborbot/cmd/neighborbot", nil, nil)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeConfig writes a community with one group, a secretary and the members.
func writeConfig(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`bot_name: 邻里帮
log_level: warn
org:
  - id: street
    name: 城关街道
    kind: street
    children:
      - id: xingfu
        name: 幸福社区
        kind: community
        children:
          - id: grid1
            name: 1网格
            kind: grid
            compound: 幸福里小区
groups:
  - id: local:g1
    name: 幸福里小区群
    node: grid1
members:
  - id: local:sec
    name: 王书记
    role: secretary
    node: xingfu
`)
	for i := range members {
		fmt.Fprintf(&b, "  - id: local:m%03d\n    name: 党员%03d\n    role: member\n    node: grid1\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type botProc struct {
	t    *testing.T
	name string
	base string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	dead atomic.Bool
}

func startBot(t *testing.T, bin, cfg, url, name string) *botProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &botProc{t: t, name: name, base: "http://" + addr, log: new(bytes.Buffer), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "-config", cfg)
	p.cmd.Env = append(os.Environ(), "NEIGHBORBOT_REDIS_URL="+url, "NEIGHBORBOT_ADDR="+addr, "NEIGHBORBOT_ADMIN_ADDR=127.0.0.1:0",
		"NEIGHBORBOT_DATA="+t.TempDir(), "NEIGHBORBOT_CONFIG=")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("replica %s log:\n%s", name, p.log)
		}
	})
	waitFor(t, 20*time.Second, "replica "+name+" ready", func() bool {
		select {
		case <-p.done:
			t.Fatalf("replica %s exited:\n%s", name, p.log)
		default:
		}
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// post says text in the group as user and returns the event's key once the bot has
// recorded it. A 503 (the server's cap on requests in flight) is tried again after its
// Retry-After, as the platforms do.
func (p *botProc) post(user, text, event string) (string, error) {
	body, _ := json.Marshal(map[string]string{"group": "local:g1", "user": user, "text": text, "event_id": event})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var resp *http.Response
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/local/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var err error
		if resp, err = http.DefaultClient.Do(req); err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			break
		}
		resp.Body.Close()
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("replica %s: busy until the deadline", p.name)
		case <-time.After(time.Second):
		}
	}
	defer resp.Body.Close()
	var out struct {
		EventID string `json:"event_id"`
		Error   string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted || out.EventID == "" {
		return "", fmt.Errorf("replica %s: %s %s", p.name, resp.Status, out.Error)
	}
	return "local:" + out.EventID, nil
}

// kill kills the replica with SIGKILL: no shutdown, leases left held.
func (p *botProc) kill() {
	if p.dead.CompareAndSwap(false, true) {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitFor polls cond (another process's progress) until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
