// Package redistest starts real redis-server processes for tests: a single server on a free
// port, or a local 3-master Redis Cluster. Each lives in t.TempDir() and is killed when the
// test ends.
//
// A machine without redis-server (or redis-cli, for the cluster) skips the test, except under
// CI=true, where a missing tool fails it: CI must never pass by skipping.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 10 * time.Second

// Start starts a redis-server on a free port and returns its host:port.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t).Addr
}

// Server is one redis-server process. Stop and Restart let a test take it away and bring it
// back on the same port, as an operator's restart would.
type Server struct {
	Addr string
	Dir  string

	t    testing.TB
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// StartServer starts a redis-server on a free port, without persistence unless args turn it
// on (they are appended to the defaults, and later arguments win: "--appendonly", "yes").
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := need(t, "redis-server")
	s := &Server{t: t, Dir: t.TempDir(), args: args}
	var err error
	// A free port can be taken by someone else between finding and binding it: try again.
	for range 3 {
		if s.port, err = freePort(false); err != nil {
			continue
		}
		if err = s.start(bin); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(bin string) error {
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
	}
	cmd := exec.Command(bin, append(args, s.args...)...)
	log := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	if err := waitReady(addr, done); err != nil {
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("redis-server on %s: %w\n%s", addr, err, log)
	}
	s.mu.Lock()
	s.cmd, s.done, s.log = cmd, done, log
	s.mu.Unlock()
	return nil
}

// Stop shuts the server down (SIGTERM, so an AOF is flushed) and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-done
	}
}

// Restart starts a stopped server again on the same port and directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	bin := need(s.t, "redis-server")
	// The old process's socket may linger for a moment; start retries until it binds.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start(bin)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartCluster starts three redis-server processes in cluster mode, joins them into a
// cluster of 3 masters with redis-cli --cluster create, waits until every node reports the
// cluster ok, and returns the nodes' host:port addresses.
func StartCluster(t testing.TB) []string {
	t.Helper()
	bin := need(t, "redis-server")
	cli := need(t, "redis-cli")
	var addrs []string
	for i := range 3 {
		var s *Server
		var err error
		for range 3 {
			s = &Server{t: t, Dir: t.TempDir(), args: []string{
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000",
			}}
			// The cluster bus listens on port+10000: both must be free.
			if s.port, err = freePort(true); err != nil {
				continue
			}
			if err = s.start(bin); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("redistest: cluster node %d: %v", i+1, err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		t.Cleanup(s.Stop)
		addrs = append(addrs, s.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(startTimeout)
	for _, a := range addrs {
		for {
			info, err := command(a, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %s not ready: %v %s", a, err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return addrs
}

// need finds a tool, or skips the test (fails it under CI=true).
func need(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("redistest: %s not found in PATH (Debian/Ubuntu: apt-get install redis-server redis-tools)", tool)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so this fails instead of skipping")
	}
	t.Skip(msg)
	return ""
}

// freePort finds a port nobody listens on (and, for a cluster node, whose bus port
// port+10000 is free too).
func freePort(bus bool) (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if !bus {
			ln.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			ln.Close()
			continue
		}
		ln2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		ln.Close()
		if err != nil {
			continue
		}
		ln2.Close()
		return port, nil
	}
	return 0, errors.New("no free port pair for a cluster node")
}

// waitReady polls addr with PING until it answers PONG, the process exits, or startTimeout
// passes.
func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		reply, err := command(addr, "PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited during start")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// command sends one command in RESP and returns a simple or bulk string reply.
func command(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
