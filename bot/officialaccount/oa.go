// Package oa is neighborbot's WeChat Service Account (服务号) adapter: the channel for
// residents on personal WeChat, one to one. Residents follow the account by scanning their
// compound's parametric QR code (scene string = org node id) and are bound to that node; what
// they write is a private message to the bot ("oa:<openid>"), so a need is filed for their
// home group as in any private chat; status updates come back as customer-service messages
// within WeChat's 48-hour window, else as a template message.
//
// The server callback (GET/POST /wechat/oa) is written here over the WXBizMsgCrypt scheme
// shared with WeCom (wecom.Crypto, receive id = AppID); the API is called with our own HTTP
// client (10 s timeout) and access tokens shared through the store (wecom.Tokens). Nothing of
// github.com/silenceper/wechat/v2 that links logrus is imported (its root package and
// officialaccount/server log decrypted messages at Debug level), so no decrypted message can
// reach a log.
package oa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/wecom"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Name is the platform's name, the prefix of its ids: "oa:<openid>".
const Name = "oa"

// DefaultBaseURL is WeChat's API.
const DefaultBaseURL = "https://api.weixin.qq.com"

// DefaultShowQRURL is where a QR ticket is exchanged for its image.
const DefaultShowQRURL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"

// Path is the server URL's path, to enter in the account's 服务器配置.
const Path = "/wechat/oa"

// Store is what the adapter reads and writes: persons (binding), docs (tokens, last seen,
// unreachable marks, pending moves).
type Store interface {
	store.Docs
	GetPerson(ctx context.Context, id string) (community.Person, error)
	UpdatePerson(ctx context.Context, id string, fn func(p *community.Person) error) (community.Person, error)
}

// Items finds a resident's open needs, for the images they send (store.Items).
type Items interface {
	ListItems(ctx context.Context, f store.ItemFilter) ([]*community.Item, error)
	ListPersons(ctx context.Context) ([]community.Person, error)
}

// Template is an approved template message for status updates, and the names of its fields
// (the keyword names in the template's content, e.g. "character_string1" for {{character_string1.DATA}}).
type Template struct {
	ID          string // template_id
	ItemField   string // the item number, e.g. character_string1 ("#12")
	StatusField string // what happened, e.g. thing2 (20 characters at most)
	TimeField   string // when, e.g. time3
}

// Options configure the adapter.
type Options struct {
	AppID, Secret string // WECHAT_OA_APP_ID, WECHAT_OA_APP_SECRET
	Token, AESKey string // WECHAT_OA_TOKEN, WECHAT_OA_AES_KEY (安全模式 EncodingAESKey)
	BaseURL       string // WECHAT_OA_BASE_URL, default DefaultBaseURL
	// ShowQRURL is showqrcode's address; default DefaultShowQRURL, or BaseURL's
	// /cgi-bin/showqrcode when BaseURL is not the default (a fake in tests).
	ShowQRURL string
	Status    Template // status updates outside the 48-hour window; no ID: none sent then
	BotName   string

	Store Store
	// Items, when set, lets an image reach whoever handles the sender's latest open need: its
	// claimers, else the secretaries over its node. Nil: images are only acknowledged.
	Items Items
	// Node finds an org node by id (community.Tree.Node).
	Node func(id string) (community.Node, bool)
	// Find finds an org node by id or name (community.Tree.Find); nil: by id only.
	Find func(q string) (community.Node, bool)
	// Within reports whether node id lies within root (community.Tree.Within); nil compares ids.
	Within func(id, root string) bool

	Now        func() time.Time
	Log        *slog.Logger
	HTTPClient *http.Client  // default one with a 10 s timeout
	MaxSkew    time.Duration // a callback's timestamp window; default 5 min
}

// Platform is the adapter: bot.Platform, bot.Router and bot.Limited.
type Platform struct {
	o      Options
	crypto *wecom.Crypto
	api    *client
	log    *slog.Logger
}

var (
	_ bot.Platform = (*Platform)(nil)
	_ bot.Router   = (*Platform)(nil)
	_ bot.Limited  = (*Platform)(nil)
)

// Doc collections the adapter keeps, by openid.
const (
	CollSeen        = "oa_seen"        // the person's last message: the 48-hour window
	CollUnreachable = "oa_unreachable" // 43004 / 43101: not following, refused
	CollMove        = "oa_move"        // a scanned other compound, waiting for 确认 迁移
)

// New checks the options and builds the adapter.
func New(o Options) (*Platform, error) {
	if o.AppID == "" || o.Secret == "" {
		return nil, errors.New("oa: app id and secret are required")
	}
	if o.Store == nil || o.Node == nil {
		return nil, errors.New("oa: a store and the org tree are required")
	}
	if o.Find == nil {
		o.Find = o.Node
	}
	if o.Within == nil {
		o.Within = func(id, root string) bool { return id == root }
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.ShowQRURL == "" {
		o.ShowQRURL = DefaultShowQRURL
		if o.BaseURL != DefaultBaseURL {
			o.ShowQRURL = o.BaseURL + "/cgi-bin/showqrcode"
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	} else if o.HTTPClient.Timeout == 0 {
		hc := *o.HTTPClient
		hc.Timeout = 10 * time.Second
		o.HTTPClient = &hc
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 5 * time.Minute
	}
	cr, err := wecom.NewCrypto(o.Token, o.AESKey, o.AppID)
	if err != nil {
		return nil, fmt.Errorf("oa callback (token, EncodingAESKey): %w", err)
	}
	p := &Platform{o: o, crypto: cr, log: o.Log}
	p.api = &client{base: o.BaseURL, hc: o.HTTPClient}
	h := sha256.Sum256([]byte(o.Secret))
	p.api.tokens = wecom.NewTokens(o.Store, "oa:"+o.AppID+":"+hex.EncodeToString(h[:6]), o.Now, o.Log, p.api.getToken(o.AppID, o.Secret))
	return p, nil
}

// Name implements bot.Platform.
func (p *Platform) Name() string { return Name }

// Run implements bot.Platform: events arrive over HTTP (Routes), so it only waits.
func (p *Platform) Run(ctx context.Context, _ bot.Receiver) error {
	<-ctx.Done()
	return nil
}

// Limits implements bot.Limited. WeChat counts customer-service and template messages in
// daily quotas (45009 past them, retried later); these buckets keep a burst (a broadcast of
// status updates) from tripping its frequency checks: 100 a second for the account, one
// person at most 10 at once and one every 3 s after.
func (p *Platform) Limits(o bot.Outbound) []bot.Limit {
	return []bot.Limit{
		{Key: "oa:account", Every: 10 * time.Millisecond, Burst: 200},
		{Key: "oa:user:" + OpenID(o.UserID), Every: 3 * time.Second, Burst: 10},
	}
}

// UserID is the platform-qualified id of an openid.
func UserID(openID string) string { return Name + ":" + openID }

// OpenID is the openid in a platform-qualified user id.
func OpenID(userID string) string {
	_, id := community.SplitID(userID)
	return id
}
