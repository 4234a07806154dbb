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
	"time"
)

// playground drives the built-in playground's JSON API of a running binary: it posts messages
// and times the bot's replies as they appear on the group's live stream (GET /local/stream),
// so a reply is timed when the bot sends it, not when ?wait= settles.
type playground struct {
	base   string
	client *http.Client

	mu      sync.Mutex
	waiting map[string]chan time.Time // "local:"+event id → first reply's arrival
	early   map[string]time.Time      // replies seen before their post returned
}

func newPlayground(base string) *playground {
	return &playground{base: base, client: &http.Client{Timeout: 30 * time.Second},
		waiting: map[string]chan time.Time{}, early: map[string]time.Time{}}
}

// follow reads the group's stream until ctx ends. It returns once the stream is open.
func (p *playground) follow(ctx context.Context, group string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/local/stream?group="+group, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("stream: %s", resp.Status)
	}
	go func() {
		defer resp.Body.Close()
		readSSE(resp.Body, func(data []byte) {
			at := time.Now()
			var rec struct {
				From  string `json:"from"`
				OutID string `json:"out_id"`
			}
			if json.Unmarshal(data, &rec) != nil || rec.From != "bot" || rec.OutID == "" {
				return
			}
			key, _, _ := strings.Cut(rec.OutID, "/")
			p.mu.Lock()
			if ch, ok := p.waiting[key]; ok {
				delete(p.waiting, key)
				ch <- at
			} else if _, seen := p.early[key]; !seen {
				p.early[key] = at
			}
			p.mu.Unlock()
		})
	}()
	return nil
}

// readSSE calls fn with the data of every event of a text/event-stream.
func readSSE(r io.Reader, fn func(data []byte)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if len(data) > 0 {
				fn(data)
				data = nil
			}
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, d...)
		}
	}
}

// ask posts text as user in group and returns the time until the bot's first reply appeared.
func (p *playground) ask(ctx context.Context, group, user, text string) (time.Duration, error) {
	body, _ := json.Marshal(map[string]string{"group": group, "user": user, "text": text})
	t0 := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/local/messages", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("post: %s %s", resp.Status, b)
	}
	var pr struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(b, &pr); err != nil || pr.EventID == "" {
		return 0, fmt.Errorf("post answer without event id: %s", b)
	}
	key := "local:" + pr.EventID
	ch := make(chan time.Time, 1)
	p.mu.Lock()
	if at, ok := p.early[key]; ok {
		delete(p.early, key)
		p.mu.Unlock()
		return at.Sub(t0), nil
	}
	p.waiting[key] = ch
	p.mu.Unlock()
	select {
	case at := <-ch:
		return at.Sub(t0), nil
	case <-time.After(20 * time.Second):
		return 0, fmt.Errorf("no reply to %q within 20 s", text)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
