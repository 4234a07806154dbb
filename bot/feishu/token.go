package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// CollTokens is the Docs collection holding access tokens shared by replicas.
const CollTokens = "tokens"

// TokenCache implements the SDK's cache interface (larkcore.Cache) over the store's Docs, with
// expiry, so every replica uses one tenant access token instead of each fetching its own.
type TokenCache struct {
	Docs store.Docs
	Now  func() time.Time
}

var _ larkcore.Cache = (*TokenCache)(nil)

type cachedToken struct {
	Value   string    `json:"value"`
	Expires time.Time `json:"expires"`
}

// Set stores value under key until ttl from now.
func (c *TokenCache) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	raw, err := json.Marshal(cachedToken{Value: value, Expires: c.Now().Add(ttl)})
	if err != nil {
		return err
	}
	return c.Docs.PutDoc(ctx, CollTokens, key, raw)
}

// Get returns the value under key, or "" when absent or expired.
func (c *TokenCache) Get(ctx context.Context, key string) (string, error) {
	t, err := c.get(ctx, key)
	return t.Value, err
}

// get is Get with the token's expiry (zero when absent or expired).
func (c *TokenCache) get(ctx context.Context, key string) (cachedToken, error) {
	raw, err := c.Docs.GetDoc(ctx, CollTokens, key)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return cachedToken{}, nil
		}
		return cachedToken{}, err
	}
	var t cachedToken
	if err := json.Unmarshal(raw, &t); err != nil || !c.Now().Before(t.Expires) {
		return cachedToken{}, nil
	}
	return t, nil
}

// Forget drops key (a token Feishu said is no longer valid).
func (c *TokenCache) Forget(ctx context.Context, key string) error {
	return c.Docs.DeleteDoc(ctx, CollTokens, key)
}

// tokenEarly is how long before its expiry a token is replaced (the SDK uses 3 minutes too).
const tokenEarly = 3 * time.Minute

// tokenSource hands out the tenant access token: from memory, else from the shared cache
// (another replica may have fetched it), else fetched from
// /open-apis/auth/v3/tenant_access_token/internal and cached. One fetch at a time per process.
// The copy in memory saves a store read (and its decoding) per call; it is kept until the
// expiry the shared cache gives it and dropped with it by forget.
type tokenSource struct {
	conf   *larkcore.Config
	cache  *TokenCache
	failed func() // told of a failed fetch; may be nil
	mu     sync.Mutex

	memoMu sync.Mutex
	memo   cachedToken
}

func (ts *tokenSource) key() string { return "feishu:tenant:" + ts.conf.AppId }

func (ts *tokenSource) token(ctx context.Context) (string, error) {
	t, err := ts.fetch(ctx)
	if err != nil && ts.failed != nil {
		ts.failed()
	}
	return t, err
}

// remembered is the token in memory, if it has not expired.
func (ts *tokenSource) remembered() string {
	ts.memoMu.Lock()
	defer ts.memoMu.Unlock()
	if ts.memo.Value != "" && ts.cache.Now().Before(ts.memo.Expires) {
		return ts.memo.Value
	}
	return ""
}

func (ts *tokenSource) remember(t cachedToken) {
	ts.memoMu.Lock()
	ts.memo = t
	ts.memoMu.Unlock()
}

// shared is the token in the shared cache, remembered.
func (ts *tokenSource) shared(ctx context.Context) string {
	t, err := ts.cache.get(ctx, ts.key())
	if err != nil || t.Value == "" {
		return ""
	}
	ts.remember(t)
	return t.Value
}

func (ts *tokenSource) fetch(ctx context.Context) (string, error) {
	if t := ts.remembered(); t != "" {
		return t, nil
	}
	if t := ts.shared(ctx); t != "" {
		return t, nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	// A store error is not fatal: fetch a token (Feishu hands the same one out until it nears
	// expiry, so replicas do not invalidate each other).
	if t := ts.shared(ctx); t != "" {
		return t, nil
	}
	resp, err := larkcore.Request(ctx, &larkcore.ApiReq{
		HttpMethod:                http.MethodPost,
		ApiPath:                   larkcore.TenantAccessTokenInternalUrlPath,
		Body:                      &larkcore.SelfBuiltTenantAccessTokenReq{AppID: ts.conf.AppId, AppSecret: ts.conf.AppSecret},
		SupportedAccessTokenTypes: []larkcore.AccessTokenType{larkcore.AccessTokenTypeNone},
	}, ts.conf)
	if err != nil {
		return "", fmt.Errorf("tenant access token: %w", err)
	}
	var tr larkcore.TenantAccessTokenResp
	if err := json.Unmarshal(resp.RawBody, &tr); err != nil {
		return "", fmt.Errorf("tenant access token: decode: %w", err)
	}
	if tr.Code != 0 || tr.TenantAccessToken == "" {
		return "", fmt.Errorf("tenant access token: %w", &codeError{code: tr.Code, msg: tr.Msg})
	}
	ttl := time.Duration(tr.Expire)*time.Second - tokenEarly
	if ttl > 0 {
		ts.remember(cachedToken{Value: tr.TenantAccessToken, Expires: ts.cache.Now().Add(ttl)})
		if err := ts.cache.Set(ctx, ts.key(), tr.TenantAccessToken, ttl); err != nil {
			ts.conf.Logger.Warn(ctx, fmt.Sprintf("tenant access token not shared through the store: %v", err))
		}
	}
	return tr.TenantAccessToken, nil
}

// forget drops the cached token after Feishu rejected it.
func (ts *tokenSource) forget(ctx context.Context) {
	ts.remember(cachedToken{})
	if err := ts.cache.Forget(ctx, ts.key()); err != nil && community.ErrorCode(err) != community.ENotFound {
		ts.conf.Logger.Warn(ctx, fmt.Sprintf("stale tenant access token not dropped: %v", err))
	}
}

// codeError is a Feishu business error: a non-zero code in the JSON answer.
type codeError struct {
	code int
	msg  string
}

func (e *codeError) Error() string { return fmt.Sprintf("feishu code %d: %s", e.code, e.msg) }

func errCode(err error) int {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return 0
}
