package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// systemd stops the service with SIGTERM: the process finishes what it holds, logs a clean
// stop and exits 0 (so systemd records a clean stop, not a failure to restart from).
func TestSIGTERMStopsCleanly(t *testing.T) {
	if os.Getenv("NEIGHBORBOT_TEST_MAIN") == "1" {
		os.Args = []string{"neighborbot"}
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGTERMStopsCleanly$")
	cmd.Env = append(os.Environ(), "NEIGHBORBOT_TEST_MAIN=1", "NEIGHBORBOT_DATA="+t.TempDir(),
		"NEIGHBORBOT_ADDR=127.0.0.1:0", "NEIGHBORBOT_LOG_LEVEL=info", "NEIGHBORBOT_CONFIG=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "playground at") {
				cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second): // a bound, not a speed goal: a hung stop fails here
		cmd.Process.Kill()
		t.Fatalf("neighborbot did not stop after SIGTERM:\n%s", stderr.String())
	}
	for _, want := range []string{`msg="shutting down"`, `msg="stopped cleanly"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, stderr.String())
		}
	}
}
