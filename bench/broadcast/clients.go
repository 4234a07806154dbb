package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// The platforms' limits as the adapters declare them (bot.Limited): Feishu 5/s per chat and
// 50/s per app, a WeCom group robot 20/min.
var (
	feishuChat = bot.Limit{Every: 200 * time.Millisecond, Burst: 5}
	feishuApp  = bot.Limit{Every: 20 * time.Millisecond, Burst: 50}
	wecomRobot = bot.Limit{Every: 3 * time.Second, Burst: 20}
)

func feishuLimits(chat string) []bot.Limit {
	c, a := feishuChat, feishuApp
	c.Key, a.Key = "feishu:chat:"+chat, "feishu:app"
	return []bot.Limit{c, a}
}

func wecomLimits(robot string) []bot.Limit {
	l := wecomRobot
	l.Key = "wecom:robot:" + robot
	return []bot.Limit{l}
}

// client is a minimal HTTP sender for the fake servers: what an adapter's Send does, with
// the platform's error codes mapped to retryable or not.
type client struct {
	name    string
	base    string
	http    *http.Client
	timeout time.Duration // per request; 0: only the dispatcher's SendTimeout
}

func newClient(name, base string, timeout time.Duration) *client {
	return &client{name: name, base: base, timeout: timeout, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (c *client) Name() string { return c.name }

func (c *client) Run(ctx context.Context, _ bot.Receiver) error {
	<-ctx.Done()
	return nil
}

func (c *client) Limits(o bot.Outbound) []bot.Limit {
	if c.name == "feishu" {
		return feishuLimits(o.Target())
	}
	return wecomLimits(o.Target())
}

func (c *client) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	content, err := json.Marshal(o.Card)
	if err != nil {
		return bot.Sent{}, bot.Permanent("encode", err)
	}
	var url string
	var body any
	if c.name == "feishu" {
		url = c.base + "/open-apis/im/v1/messages?receive_id_type=chat_id"
		body = map[string]string{"receive_id": o.ChatID, "msg_type": "interactive", "content": string(content), "uuid": o.ID}
	} else {
		url = c.base + "/cgi-bin/webhook/send?key=" + o.ChatID
		body = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": string(content)}}
	}
	if c.timeout > 0 {
		// Time out before the dispatcher's SendTimeout: its context, once expired, also fails
		// the store call that should release the message for a retry, which then waits for
		// the lease to run out.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return bot.Sent{}, bot.Permanent("encode", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return bot.Sent{}, bot.Permanent("request", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bench-ID", o.ID) // for the bench's count only
	resp, err := c.http.Do(req)
	if err != nil {
		return bot.Sent{}, err // timeouts and network errors: retryable
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var res struct {
		Code    *int   `json:"code"`
		ErrCode *int   `json:"errcode"`
		Msg     string `json:"msg"`
		Data    struct {
			MessageID string `json:"message_id"`
		} `json:"data"`
	}
	_ = json.Unmarshal(data, &res)
	code := 0
	switch {
	case res.Code != nil:
		code = *res.Code
	case res.ErrCode != nil:
		code = *res.ErrCode
	}
	after := time.Duration(0)
	if s, err := strconv.Atoi(resp.Header.Get("x-ogw-ratelimit-reset")); err == nil {
		after = time.Duration(s) * time.Second
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || code == 230020 || code == 99991400:
		return bot.Sent{}, bot.Temporary(strconv.Itoa(code), after, errors.New("rate limited"))
	case code == 45009: // the robot's 20/min
		return bot.Sent{}, bot.Temporary("45009", 3*time.Second, errors.New("robot rate limited"))
	case resp.StatusCode >= 500 || code == -1:
		return bot.Sent{}, bot.Temporary(strconv.Itoa(resp.StatusCode), 0, fmt.Errorf("server error %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK || code != 0:
		return bot.Sent{}, bot.Permanent(strconv.Itoa(code), fmt.Errorf("refused: %d %s", resp.StatusCode, res.Msg))
	}
	return bot.Sent{MessageID: res.Data.MessageID}, nil
}
