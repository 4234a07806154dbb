package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
)

// server is a neighborbot started through run(), as `go run ./cmd/neighborbot` would.
type server struct {
	t      *testing.T
	URL    string
	cancel context.CancelFunc
	done   chan error
	stderr *bottest.LogBuffer
}

func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	if env["NEIGHBORBOT_ADDR"] == "" {
		env["NEIGHBORBOT_ADDR"] = "127.0.0.1:0"
	}
	if env["NEIGHBORBOT_ADMIN_ADDR"] == "" { // tests run side by side: not the fixed default
		env["NEIGHBORBOT_ADMIN_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{t: t, cancel: cancel, done: make(chan error, 1), stderr: &bottest.LogBuffer{}}
	go func() {
		err := run(ctx, nil, func(k string) string { return env[k] }, pw, s.stderr)
		pw.CloseWithError(fmt.Errorf("run returned: %v", err))
		s.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v\n%s", err, s.stderr.String())
	}
	go io.Copy(io.Discard, pr)
	_, url, ok := strings.Cut(strings.TrimSpace(line), "playground at ")
	if !ok {
		t.Fatalf("unexpected first line %q", line)
	}
	s.URL = strings.TrimSuffix(url, "/")
	t.Cleanup(func() { s.stop() })
	return s
}

// stop shuts the server down as SIGTERM would and checks it stopped cleanly.
func (s *server) stop() {
	s.t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.t.Fatal("server did not shut down")
	}
	if !strings.Contains(s.stderr.String(), "stopped cleanly") {
		s.t.Errorf("no clean stop in the log:\n%s", s.stderr.String())
	}
}

type apiMessage struct {
	ID      json.Number     `json:"id"`
	From    string          `json:"from"`
	User    string          `json:"user"`
	Text    string          `json:"text"`
	Card    json.RawMessage `json:"card"`
	ReplyTo json.Number     `json:"reply_to"`
	To      string          `json:"to"`
	Group   string          `json:"group"`
}

type apiReply struct {
	ID      json.Number  `json:"id"`
	EventID string       `json:"event_id"`
	Replies []apiMessage `json:"replies"`
	Error   string       `json:"error"`
}

func (s *server) post(path string, body any) (apiReply, int) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r apiReply
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return r, resp.StatusCode
}

// say posts a message and returns the bot's replies.
func (s *server) say(group, user, text string) string {
	s.t.Helper()
	r, code := s.post("/local/messages?wait=5s", map[string]string{"group": group, "user": user, "text": text})
	if code != http.StatusAccepted && code != http.StatusOK {
		s.t.Fatalf("say %q: %d %+v", text, code, r)
	}
	return joinReplies(r.Replies)
}

func joinReplies(ms []apiMessage) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Text)
		if len(m.Card) > 0 && string(m.Card) != "null" {
			b.WriteString(" " + string(m.Card))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (s *server) transcript(group string) []apiMessage {
	s.t.Helper()
	resp, err := http.Get(s.URL + "/local/messages?group=" + group + "&after=0")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Messages []apiMessage }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	return out.Messages
}

// cardMessage finds the transcript message carrying the card of item no.
func (s *server) cardMessage(group string, no int) string {
	s.t.Helper()
	for _, m := range s.transcript(group) {
		if strings.Contains(string(m.Card), fmt.Sprintf(`"key":"item:%d"`, no)) {
			return m.ID.String()
		}
	}
	s.t.Fatalf("no card for item %d in %s", no, group)
	return ""
}

func wantIn(t *testing.T, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q in:\n%s", s, got)
		}
	}
}

func TestPlaygroundLoopSurvivesRestart(t *testing.T) {
	env := map[string]string{"NEIGHBORBOT_DATA": t.TempDir()}
	s := startServer(t, env)
	const g = "local:xingfuli"

	if resp, err := http.Get(s.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if resp, err := http.Get(s.URL + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	wantIn(t, s.say(g, "local:chen", "@邻里帮 3栋2单元楼道灯坏了，电话13812345678"), "#1", "138****5678")
	wantIn(t, s.say(g, "local:wang", "派单 1 截止 明天"), "待认领")
	card := s.cardMessage(g, 1)
	r, code := s.post("/local/actions?wait=5s", map[string]string{"group": g, "user": "local:li", "message": card, "action": "claim"})
	if code >= 300 {
		t.Fatalf("tap: %d %+v", code, r)
	}
	wantIn(t, joinReplies(r.Replies), "李建国 认领了 #1")
	wantIn(t, s.say(g, "local:li", "完成 1 已换灯泡"), "#1 已完成")
	wantIn(t, s.say(g, "local:chen", "确认 1 5星 很及时"), "已办结", "★★★★★")
	for _, m := range s.transcript(g) {
		if strings.Contains(m.Text, "13812345678") && m.From == "bot" {
			t.Errorf("full phone number in the group: %q", m.Text)
		}
	}
	// Bad input is refused with a Chinese message and nothing is lost.
	if r, code := s.post("/local/messages", map[string]string{"group": "local:nowhere", "user": "local:chen", "text": "hi"}); code != 400 || r.Error == "" {
		t.Errorf("unknown group: %d %+v", code, r)
	}

	s.stop()
	s = startServer(t, env)
	wantIn(t, s.say(g, "local:chen", "查看 1"), "已办结", "★★★★★", "李建国")
	wantIn(t, s.say(g, "local:chen", "@邻里帮 垃圾桶满了"), "#2")
	if n := len(s.transcript(g)); n < 10 {
		t.Errorf("transcript after restart has %d messages", n)
	}
}

func TestPlaygroundConcurrentClaims(t *testing.T) {
	s := startServer(t, map[string]string{"NEIGHBORBOT_DATA": t.TempDir()})
	const g = "local:xingfuli"
	s.say(g, "local:wang", "发布 帮忙搬桌子")
	// 赵志强 is a member of 2网格: the item is 1网格's, so he is refused whoever wins.
	members := []string{"local:li", "local:zhang", "local:zhao", "local:wang", "local:sun"}
	var wg sync.WaitGroup
	replies := make([]string, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := s.post("/local/messages?wait=10s", map[string]string{"group": g, "user": members[i%len(members)], "text": "接单 1"})
			replies[i] = joinReplies(r.Replies)
		}()
	}
	wg.Wait()
	wins := 0
	for i, r := range replies {
		switch {
		case strings.Contains(r, "✅"):
			if members[i%len(members)] == "local:zhao" {
				t.Errorf("a member of 2网格 claimed 1网格's item: %q", r)
			}
			wins++
		case strings.Contains(r, "已由 ") || strings.Contains(r, "您已经认领了 #1"):
			// lost, and told who has it; or the winner trying again
		case strings.Contains(r, "不在您所在网格的服务范围内"):
			if members[i%len(members)] != "local:zhao" {
				t.Errorf("a member of 1网格 refused as outside: %q", r)
			}
		default:
			t.Errorf("unexpected answer to a claim: %q", r)
		}
	}
	if wins != 1 {
		t.Fatalf("%d winners among 100 concurrent claims", wins)
	}
	wantIn(t, s.say(g, "local:chen", "查看 1"), "名额：1/1")
}

// In the playground a tap on a notice's 收到 or a poll's option answers the tapper in their
// private chat, not the group.
func TestPlaygroundTapAnswersTheTapper(t *testing.T) {
	s := startServer(t, map[string]string{"NEIGHBORBOT_DATA": t.TempDir()})
	const g = "local:xingfuli"
	private := func(user, text string) string {
		t.Helper()
		r, code := s.post("/local/messages?wait=5s", map[string]string{"user": user, "text": text})
		if code >= 300 {
			t.Fatalf("say %q: %d %+v", text, code, r)
		}
		return joinReplies(r.Replies)
	}
	card := func(key string) string {
		t.Helper()
		for range 500 { // the broadcast is paced: wait for the card to reach the group
			for _, m := range s.transcript(g) {
				if strings.Contains(string(m.Card), `"key":"`+key+`"`) {
					return m.ID.String()
				}
			}
			time.Sleep(10 * time.Millisecond) // polling an observable state, bounded
		}
		t.Fatalf("no card %s in %s", key, g)
		return ""
	}
	tap := func(message, action, value string) apiMessage {
		t.Helper()
		r, code := s.post("/local/actions?wait=5s", map[string]string{"group": g, "user": "local:chen", "message": message, "action": action, "value": value})
		if code >= 300 {
			t.Fatalf("tap: %d %+v", code, r)
		}
		for _, m := range r.Replies {
			if m.To == "local:chen" && m.Group == "" {
				return m
			}
		}
		t.Fatalf("the tap answered nobody privately: %+v", r.Replies)
		return apiMessage{}
	}
	wantIn(t, private("local:wang", "通知 全体 周六上午9点社区体检"), "请确认发送")
	wantIn(t, private("local:wang", "确认发送"), "开始发送")
	if m := tap(card("notice:1"), "notice_ack", ""); m.Text != "已收到，谢谢" {
		t.Errorf("收到 tap answered %q", m.Text)
	}
	wantIn(t, private("local:wang", "投票 是否同意加装电梯 同意/反对 截止 明天18点"), "请确认发送")
	wantIn(t, private("local:wang", "确认发送"), "开始发送")
	if m := tap(card("notice:2"), "vote", "同意"); m.Text != "已投：同意" {
		t.Errorf("vote tap answered %q", m.Text)
	}
}
