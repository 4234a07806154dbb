package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// An operator asks where a notice's messages stand: `neighborbot outbox -notice N` asks the
// running bot's admin listener and prints one line per target group with the outbox entry's
// state, attempts, last error and message id; `neighborbot outbox ID` prints one entry.
func TestOutboxCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the admin listener
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	env := map[string]string{"NEIGHBORBOT_DATA": t.TempDir(), "NEIGHBORBOT_ADMIN_ADDR": admin}
	s := startServer(t, env)
	private := func(text string) string {
		t.Helper()
		r, code := s.post("/local/messages?wait=5s", map[string]string{"user": "local:wang", "text": text})
		if code >= 300 {
			t.Fatalf("say %q: %d %+v", text, code, r)
		}
		return joinReplies(r.Replies)
	}
	cmd := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs)
		return out.String(), err
	}

	if _, err := cmd("outbox", "-notice", "1"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("outbox -notice 1 before any notice: %v, want not found", err)
	}
	wantIn(t, private("通知 全体 周六上午9点社区体检"), "请确认发送")
	wantIn(t, private("确认发送"), "开始发送")
	var out string
	for range 500 { // the broadcast is paced: wait until both groups have it
		if out, err = cmd("outbox", "-notice", "1"); err != nil {
			t.Fatal(err)
		}
		if strings.Count(out, "state=sent") == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling an observable state, bounded
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "notice=1 ") || !strings.Contains(lines[0], "groups=2 sent=2 pending=0 failed=0") {
		t.Fatalf("outbox -notice 1:\n%s", out)
	}
	for _, want := range []string{
		`group=local:xingfuli group_name="幸福里小区群" node="1网格" outbox=notice:1:local:xingfuli platform=local chat=xingfuli state=sent attempts=0`,
		`group=local:yangguang group_name="阳光花园小区群" node="2网格" outbox=notice:1:local:yangguang`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("outbox -notice 1 lacks %q:\n%s", want, out)
		}
	}
	one, err := cmd("outbox", "notice:1:local:yangguang")
	if err != nil || !strings.HasPrefix(one, "outbox=notice:1:local:yangguang platform=local") || !strings.Contains(one, "state=sent") {
		t.Errorf("outbox ID: %v\n%s", err, one)
	}
	if _, err := cmd("outbox"); err == nil || !strings.Contains(err.Error(), "-notice N") {
		t.Errorf("outbox with nothing to look up: %v", err)
	}
}

// The admin listener's address already taken: serve stops at start-up and says which setting
// to change.
func TestAdminAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"NEIGHBORBOT_DATA": t.TempDir(), "NEIGHBORBOT_ADDR": "127.0.0.1:0", "NEIGHBORBOT_ADMIN_ADDR": ln.Addr().String()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	err = run(ctx, nil, func(k string) string { return env[k] }, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "admin listener (admin_addr, NEIGHBORBOT_ADMIN_ADDR)") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("serve with the admin address taken: %v", err)
	}
	if strings.Contains(out.String(), "playground at") {
		t.Errorf("it started anyway: %s", out.String())
	}
}
