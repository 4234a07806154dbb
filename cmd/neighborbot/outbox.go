package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/config"
)

// outboxCommand shows where a notice's messages stand (-notice N: one line per target group
// with its outbox entry's state, attempts, last error and message id) or one outbox entry
// (ID, as a log line's outbox=...). It asks the running instance through its admin listener
// (admin_addr), which works whatever the store: the embedded one is locked by the running
// process.
func outboxCommand(ctx context.Context, cfg *config.Config, notice string, args []string, stdout io.Writer) error {
	q := url.Values{}
	switch {
	case notice != "" && len(args) == 0:
		q.Set("notice", notice)
	case notice == "" && len(args) == 1:
		q.Set("id", args[0])
	default:
		return fmt.Errorf("outbox: want -notice N (a notice's or a poll's number) or one outbox id: neighborbot outbox [-config FILE] -notice N | ID")
	}
	if !cfg.AdminEnabled() {
		return fmt.Errorf("outbox: asks the running bot through its admin listener, which admin_addr %q turns off", cfg.AdminAddr)
	}
	host, port, err := net.SplitHostPort(cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("outbox: admin_addr %q: %w", cfg.AdminAddr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := "http://" + net.JoinHostPort(host, port) + "/outbox?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("outbox: is neighborbot running? (admin listener %s): %w", cfg.AdminAddr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("outbox: %s", strings.TrimSpace(string(body)))
	}
	_, err = stdout.Write(body)
	return err
}
