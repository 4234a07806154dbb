package wecom

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
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"

	"github.com/neighborbot/neighborbot/bot"
)

// client calls WeCom's HTTP API at a base URL (WECOM_BASE_URL) with its own http.Client. The
// SDK's HTTP helpers are not used: they go through a package-global client without a timeout
// and hard-coded hosts, and they drop the status code a retry decision needs.
type client struct {
	base   string
	hc     *http.Client
	tokens *Tokens
}

// maxResponse bounds what is read of an answer; WeCom's are a few hundred bytes.
const maxResponse = 1 << 20

// Error codes with a meaning for retries.
const (
	codeSystemBusy     = -1
	codeInvalidToken   = 40014
	codeExpiredToken   = 42001
	codeFreqLimit      = 45009 // API or robot rate limit (a robot: 20 per minute)
	codeFreqLimit2     = 45011
	codeConcurrentCall = 45033
)

// apiError is a non-zero errcode.
type apiError struct {
	API  string
	Code int64
	Msg  string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// classify turns an errcode into a bot.SendError: rate limits and busy servers are worth
// retrying, everything else (bad parameters, unknown users, revoked keys) is not.
func classify(api string, c util.CommonError) error {
	if c.ErrCode == 0 {
		return nil
	}
	err := &apiError{API: api, Code: c.ErrCode, Msg: c.ErrMsg}
	code := strconv.FormatInt(c.ErrCode, 10)
	switch c.ErrCode {
	case codeFreqLimit, codeFreqLimit2:
		return bot.Temporary(code, time.Minute, err)
	case codeSystemBusy, codeConcurrentCall, codeInvalidToken, codeExpiredToken:
		return bot.Temporary(code, 0, err)
	}
	return bot.Permanent(code, err)
}

func tokenRefused(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Code == codeInvalidToken || ae.Code == codeExpiredToken)
}

// do sends one request and decodes a JSON answer into out (which embeds util.CommonError),
// classifying transport and HTTP failures. The errcode is left to the caller.
func (c *client) do(ctx context.Context, method, rawURL string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // "<@userid>" and "&" stay readable in markdown
		if err := enc.Encode(body); err != nil {
			return bot.Permanent("encode", err)
		}
		rd = &buf
	}
	ctype := ""
	if body != nil {
		ctype = "application/json; charset=utf-8"
	}
	return c.send(ctx, method, rawURL, ctype, rd, out)
}

// send sends one request with a body of content type ctype (none when ""), and decodes a JSON
// answer into out like do.
func (c *client) send(ctx context.Context, method, rawURL, ctype string, rd io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return bot.Permanent("request", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return bot.Temporary("net", 0, redactURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return bot.Temporary("net", 0, redactURL(err))
	}
	path := req.URL.Path
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return bot.Temporary("http_429", retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("wecom %s: HTTP 429", path))
	case resp.StatusCode >= 500:
		return bot.Temporary("http_"+strconv.Itoa(resp.StatusCode), 0, fmt.Errorf("wecom %s: HTTP %d", path, resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return bot.Permanent("http_"+strconv.Itoa(resp.StatusCode), fmt.Errorf("wecom %s: HTTP %d", path, resp.StatusCode))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return bot.Temporary("decode", 0, fmt.Errorf("wecom %s: undecodable answer: %w", path, err))
	}
	return nil
}

// redactURL keeps access tokens and robot keys, which ride in query strings, out of errors
// (and so out of logs and the outbox's last_error).
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// commonErr is an API answer: its errcode and errmsg, plus whatever else the API returns.
type commonErr interface{ common() util.CommonError }

// plainAnswer is an answer with nothing but errcode and errmsg.
type plainAnswer struct {
	util.CommonError
}

func (a *plainAnswer) common() util.CommonError { return a.CommonError }

// call POSTs body to an API that takes the access token, once more with a fresh token if
// WeCom refused the one used.
func (c *client) call(ctx context.Context, api string, body any, out commonErr) error {
	return c.withToken(ctx, api, "", func(u string) error { return c.do(ctx, http.MethodPost, u, body, out) }, out)
}

// withToken calls api (with query, "" or "&k=v...") through send, with a token; a token
// refused is dropped and the call made once more with a fresh one.
func (c *client) withToken(ctx context.Context, api, query string, send func(u string) error, out commonErr) error {
	for attempt := 0; ; attempt++ {
		token, err := c.tokens.Get(ctx)
		if err != nil {
			return err
		}
		u := c.base + api + "?access_token=" + url.QueryEscape(token) + query
		if err := send(u); err != nil {
			return err
		}
		err = classify(api, out.common())
		if tokenRefused(err) {
			c.tokens.Invalidate(ctx, token)
			if attempt == 0 {
				continue
			}
		}
		return err
	}
}

// getToken calls gettoken.
func (c *client) getToken(corpID, secret string) func(ctx context.Context) (string, time.Duration, error) {
	return func(ctx context.Context) (string, time.Duration, error) {
		u := c.base + pathGetToken + "?corpid=" + url.QueryEscape(corpID) + "&corpsecret=" + url.QueryEscape(secret)
		var res credential.ResAccessToken
		if err := c.do(ctx, http.MethodGet, u, nil, &res); err != nil {
			return "", 0, err
		}
		if err := classify(pathGetToken, res.CommonError); err != nil {
			return "", 0, err
		}
		if res.AccessToken == "" {
			return "", 0, bot.Temporary("no_token", 0, errors.New("wecom gettoken: empty access_token"))
		}
		ttl := time.Duration(res.ExpiresIn) * time.Second
		if ttl <= 0 {
			ttl = 2 * time.Hour
		}
		return res.AccessToken, ttl, nil
	}
}
