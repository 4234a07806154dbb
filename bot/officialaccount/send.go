package oa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// API paths.
const (
	pathToken      = "/cgi-bin/token"
	pathCustomSend = "/cgi-bin/message/custom/send"
	pathTemplate   = "/cgi-bin/message/template/send"
	pathQRCreate   = "/cgi-bin/qrcode/create"
	pathMenuCreate = "/cgi-bin/menu/create"
)

// Error codes with a meaning here.
const (
	codeBusy        = -1
	codeBadToken    = 40001
	codeInvalidTok  = 40014
	codeExpiredTok  = 42001
	codeNotFollow   = 43004
	codeRefused     = 43101
	codeFreqLimit   = 45009
	codeWindow      = 45015 // past the 48-hour customer-service window
	codeFreqLimit2  = 45047 // too many customer-service messages to one user
	customWindow    = 48 * time.Hour
	maxResponseSize = 1 << 20
)

// APIError is a non-zero errcode.
type APIError struct {
	API  string
	Code int64
	Msg  string
}

func (e *APIError) Error() string { return fmt.Sprintf("oa %s: errcode %d: %s", e.API, e.Code, e.Msg) }

type common struct {
	ErrCode int64  `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (c common) err(api string) error {
	if c.ErrCode == 0 {
		return nil
	}
	return &APIError{API: api, Code: c.ErrCode, Msg: c.ErrMsg}
}

func code(err error) int64 {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// classify turns an API error into a bot.SendError.
func classify(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err // transport errors are already classified
	}
	c := strconv.FormatInt(ae.Code, 10)
	switch ae.Code {
	case codeFreqLimit, codeFreqLimit2:
		return bot.Temporary(c, time.Minute, err)
	case codeBusy, codeBadToken, codeInvalidTok, codeExpiredTok:
		return bot.Temporary(c, 0, err)
	}
	return bot.Permanent(c, err)
}

type client struct {
	base   string
	hc     *http.Client
	tokens interface {
		Get(ctx context.Context) (string, error)
		Invalidate(ctx context.Context, token string)
	}
}

// do sends one request and decodes the JSON answer into out; the errcode is the caller's.
func (c *client) do(ctx context.Context, method, rawURL string, body, out any) error {
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return bot.Permanent("encode", err)
		}
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return bot.Permanent("request", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return bot.Temporary("net", 0, redact(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize))
	if err != nil {
		return bot.Temporary("net", 0, redact(err))
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return bot.Temporary("http_"+strconv.Itoa(resp.StatusCode), 0, fmt.Errorf("oa %s: HTTP %d", req.URL.Path, resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return bot.Permanent("http_"+strconv.Itoa(resp.StatusCode), fmt.Errorf("oa %s: HTTP %d", req.URL.Path, resp.StatusCode))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return bot.Temporary("decode", 0, fmt.Errorf("oa %s: undecodable answer: %w", req.URL.Path, err))
	}
	return nil
}

// redact keeps access tokens and the secret, which ride in query strings, out of errors.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// call POSTs body to an API taking the access token, once more with a fresh token if the one
// used was refused, and decodes the answer into out (if not nil). A non-zero errcode comes back
// as *APIError.
func (c *client) call(ctx context.Context, api string, body any, out any) error {
	for attempt := 0; ; attempt++ {
		token, err := c.tokens.Get(ctx)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := c.do(ctx, http.MethodPost, c.base+api+"?access_token="+url.QueryEscape(token), body, &raw); err != nil {
			return err
		}
		var cm common
		if err := json.Unmarshal(raw, &cm); err != nil {
			return bot.Temporary("decode", 0, fmt.Errorf("oa %s: undecodable answer: %w", api, err))
		}
		if cm.ErrCode == codeBadToken || cm.ErrCode == codeInvalidTok || cm.ErrCode == codeExpiredTok {
			c.tokens.Invalidate(ctx, token)
			if attempt == 0 {
				continue
			}
		}
		if err := cm.err(api); err != nil {
			return err
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return bot.Temporary("decode", 0, fmt.Errorf("oa %s: undecodable answer: %w", api, err))
			}
		}
		return nil
	}
}

// getToken calls cgi-bin/token.
func (c *client) getToken(appID, secret string) func(ctx context.Context) (string, time.Duration, error) {
	return func(ctx context.Context) (string, time.Duration, error) {
		u := c.base + pathToken + "?grant_type=client_credential&appid=" + url.QueryEscape(appID) + "&secret=" + url.QueryEscape(secret)
		var res struct {
			common
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		if err := c.do(ctx, http.MethodGet, u, nil, &res); err != nil {
			return "", 0, err
		}
		if err := res.err(pathToken); err != nil {
			return "", 0, classify(err)
		}
		if res.AccessToken == "" {
			return "", 0, bot.Temporary("no_token", 0, errors.New("oa token: empty access_token"))
		}
		ttl := time.Duration(res.ExpiresIn) * time.Second
		if ttl <= 0 {
			ttl = 2 * time.Hour
		}
		return res.AccessToken, ttl, nil
	}
}

func urlQuery(s string) string { return url.QueryEscape(s) }

// get fetches a binary answer (showqrcode's image).
func (c *client) get(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, redact(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, redact(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oa %s: HTTP %d", req.URL.Path, resp.StatusCode)
	}
	return data, nil
}
