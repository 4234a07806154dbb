package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisServer is a redis-server the harness started on 127.0.0.1, without persistence (the
// numbers are about neighborbot, not about Redis's disk).
type redisServer struct {
	Addr string
	proc *Proc
}

// URL is the server's redis:// URL.
func (r *redisServer) URL() string { return "redis://" + r.Addr + "/0" }

func startRedis(ctx context.Context, e *Env, name string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not installed (apt-get install redis-server): %w", err)
	}
	dir := filepath.Join(e.Work, "redis-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		p, err := start(bin, []string{"--port", port, "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""}, nil, filepath.Join(dir, "redis.log"))
		if err != nil {
			return nil, err
		}
		r := &redisServer{Addr: addr, proc: p}
		if lastErr = r.wait(ctx); lastErr == nil {
			return r, nil
		}
		p.Stop(time.Second)
	}
	return nil, lastErr
}

func (r *redisServer) wait(ctx context.Context) error {
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c.Ping(ctx).Err() == nil {
			return nil
		}
		if r.proc.Exited() {
			return fmt.Errorf("redis-server exited:\n%s", r.proc.Tail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s not ready", r.Addr)
}

// usedMemory is Redis's own account of its memory (INFO memory used_memory), in kB.
func (r *redisServer) usedMemory(ctx context.Context) int64 {
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr})
	defer c.Close()
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n / 1024
		}
	}
	return 0
}

func (r *redisServer) Stop() { r.proc.Stop(5 * time.Second) }
