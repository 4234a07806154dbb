package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/credential"

	"github.com/neighborbot/neighborbot/community"
)

// Docs is the part of the store the adapter keeps its state in: access tokens, card response
// codes.
type Docs interface {
	GetDoc(ctx context.Context, coll, id string) ([]byte, error)
	PutDoc(ctx context.Context, coll, id string, value []byte) error
	UpdateDoc(ctx context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error)
}

// CollTokens is the doc collection of access tokens, shared by every replica.
const CollTokens = "tokens"

// tokenMargin is how long before its expiry a token is no longer handed out, so a call
// started with it does not arrive after it died.
const tokenMargin = 5 * time.Minute

type tokenDoc struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (d tokenDoc) usable(now time.Time) bool {
	return d.Token != "" && now.Add(tokenMargin).Before(d.ExpiresAt)
}

// Tokens hands out the app's access token: from memory, else from the store (another replica
// may have fetched it), else from gettoken, then shared through the store. WeCom returns the
// same token to every gettoken within its lifetime; sharing still saves the calls (gettoken is
// rate limited) and Invalidate only ever drops the exact token that failed, so no replica
// throws away a newer one another stored.
//
// Tokens also satisfies the SDK's credential.AccessTokenContextHandle, so SDK clients built on
// work/context can share it.
type Tokens struct {
	docs  Docs
	id    string
	now   func() time.Time
	fetch func(ctx context.Context) (token string, ttl time.Duration, err error)
	log   *slog.Logger
	// failed, if set, is told of a failed fetch (metrics).
	failed func()

	mu     sync.Mutex
	cached tokenDoc
}

var _ credential.AccessTokenContextHandle = (*Tokens)(nil)

// tokenDocID names a corp+secret's token without putting the secret in the store's keys.
func tokenDocID(corpID, secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "wecom:" + corpID + ":" + hex.EncodeToString(h[:6])
}

// Get returns a token valid for at least tokenMargin.
func (t *Tokens) Get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.cached.usable(now) {
		return t.cached.Token, nil
	}
	if raw, err := t.docs.GetDoc(ctx, CollTokens, t.id); err == nil {
		var d tokenDoc
		if json.Unmarshal(raw, &d) == nil && d.usable(now) {
			t.cached = d
			return d.Token, nil
		}
	} else if community.ErrorCode(err) != community.ENotFound {
		t.log.Warn("token store unreadable; fetching a token", "err", err)
	}
	token, ttl, err := t.fetch(ctx)
	if err != nil {
		if t.failed != nil {
			t.failed()
		}
		return "", err
	}
	fresh := tokenDoc{Token: token, ExpiresAt: now.Add(ttl)}
	kept := fresh
	_, err = t.docs.UpdateDoc(ctx, CollTokens, t.id, func(old []byte) ([]byte, error) {
		var d tokenDoc
		if old != nil && json.Unmarshal(old, &d) == nil && d.usable(now) && d.ExpiresAt.After(fresh.ExpiresAt) {
			kept = d // another replica stored a longer-lived one meanwhile
			return old, nil
		}
		kept = fresh
		return json.Marshal(fresh)
	})
	if err != nil {
		t.log.Warn("token not shared through the store", "err", err)
		kept = fresh
	}
	t.cached = kept
	return kept.Token, nil
}

// Invalidate forgets token after WeCom refused it (40014, 42001): in memory, and in the
// store only if the store still holds that same token.
func (t *Tokens) Invalidate(ctx context.Context, token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cached.Token == token {
		t.cached = tokenDoc{}
	}
	_, err := t.docs.UpdateDoc(ctx, CollTokens, t.id, func(old []byte) ([]byte, error) {
		var d tokenDoc
		if old != nil && json.Unmarshal(old, &d) == nil && d.Token == token {
			return nil, nil
		}
		return old, nil
	})
	if err != nil && community.ErrorCode(err) != community.ENotFound {
		t.log.Warn("token not invalidated in the store", "err", err)
	}
}

// GetAccessToken implements credential.AccessTokenHandle.
func (t *Tokens) GetAccessToken() (string, error) { return t.Get(context.Background()) }

// GetAccessTokenContext implements credential.AccessTokenContextHandle.
func (t *Tokens) GetAccessTokenContext(ctx context.Context) (string, error) { return t.Get(ctx) }

// NewTokens builds a shared token source for another WeChat API that hands out access tokens
// the same way (the Service Account adapter, bot/officialaccount): id names the token's doc in
// CollTokens (it must not contain a secret), fetch gets a fresh token and its lifetime.
func NewTokens(docs Docs, id string, now func() time.Time, log *slog.Logger,
	fetch func(ctx context.Context) (token string, ttl time.Duration, err error)) *Tokens {
	return &Tokens{docs: docs, id: id, now: now, log: log, fetch: fetch}
}
