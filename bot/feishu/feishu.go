// Package feishu connects neighborbot to Feishu (Lark) groups through a self-built app, on
// github.com/larksuite/oapi-sdk-go/v3: events over HTTP (POST /feishu/events) or the long
// connection, messages and interactive cards (JSON 2.0) out through the Open API.
//
// Inbound, the adapter authenticates each request itself (signature compared in constant
// time, a ±5 minute replay window, a 1 MiB body limit, the verification token), decrypts it,
// turns it into a bot.Message and hands it to the pipeline, which records it durably and
// dedupes it; only then is Feishu answered. Outbound, it renders bot.Outbound as text or card
// JSON, sets Uuid for Feishu's own idempotency, and classifies failures so the outbox retries
// what can succeed later (429, 5xx, code 230020, timeouts) and gives up on the rest.
//
// Only the SDK's core, event, service/im/v1 and ws packages are imported, never its root
// package directly (the ws package pulls it in for FEISHU_MODE=ws).
package feishu

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/store"
)

// Name is the platform name and id prefix: "feishu:oc_x", "feishu:ou_x".
const Name = "feishu"

// Event delivery modes.
const (
	ModeHTTP = "http" // Feishu POSTs events to /feishu/events
	ModeWS   = "ws"   // we hold a long connection to Feishu
)

// Defaults.
const (
	DefaultBaseURL    = "https://open.feishu.cn"
	DefaultMaxSkew    = 5 * time.Minute
	DefaultMaxBody    = 1 << 20 // 1 MiB
	DefaultTimeout    = 10 * time.Second
	defaultPerChat    = 5
	defaultPerApp     = 50
	maxTextBytes      = 150 << 10 // Feishu's limit for a text message
	maxCardBytes      = 30 << 10  // and for a card
	cardPatchPerSec   = 5         // Patch: 5 QPS per message
	eventsPath        = "/feishu/events"
	defaultBotName    = "邻里帮"
	defaultGreetingEx = "3网格"
)

// Options configure the adapter. AppID and AppSecret are required; in http mode so are
// EncryptKey and VerificationToken.
type Options struct {
	AppID             string
	AppSecret         string
	VerificationToken string
	EncryptKey        string
	Mode              string // ModeHTTP (default) or ModeWS
	BaseURL           string // default https://open.feishu.cn; tests point it at feishutest

	// BotName is how the bot calls itself; it also recognises a mention of the bot while
	// the bot's open_id is not yet known.
	BotName string
	// BotOpenID is the bot's own open_id. When empty it is looked up (bot/v3/info) when Run
	// starts; until then a mention of type "bot" or named BotName counts.
	BotOpenID string
	// Greeting is posted when the bot is added to a group; the default tells the secretary
	// how to bind the group.
	Greeting string

	PerChat int // messages per second into one chat; default 5
	PerApp  int // messages per second for the app; default 50

	// Docs keeps the tenant access token (collection "tokens") so replicas share one.
	Docs store.Docs
	// Outbox takes the greeting when the bot joins a group: it is not a command for the
	// handlers, and going through the outbox makes it durable and sent once.
	Outbox store.Outbox
	// Wake, if set, tells the dispatcher that something was enqueued.
	Wake func()

	Now        func() time.Time
	Log        *slog.Logger
	HTTPClient *http.Client // for the Open API; default a client with a 10 s timeout
	// TokenFailed, if set, is called when fetching the tenant access token fails (metrics).
	TokenFailed func()
	MaxSkew     time.Duration // replay window; default 5 min
	MaxBody     int64         // largest event body; default 1 MiB
	// ToastWait is how long the answer to a card tap waits for the handler's toast
	// (bot.Request.Toast) before answering with a generic one; default 2 s (Feishu wants the
	// answer within 3 s). The handler's toast then arrives as a private message.
	ToastWait time.Duration
}

// Platform is the Feishu adapter: bot.Platform, bot.Router, bot.CardUpdater, bot.Limited.
type Platform struct {
	opt    Options
	log    *slog.Logger
	now    func() time.Time
	conf   *larkcore.Config
	im     *larkim.V1
	tokens *tokenSource
	block  cipher.Block // AES-256 with key sha256(EncryptKey)
	botID  atomic.Pointer[string]
}

var (
	_ bot.Platform    = (*Platform)(nil)
	_ bot.Router      = (*Platform)(nil)
	_ bot.CardUpdater = (*Platform)(nil)
	_ bot.Limited     = (*Platform)(nil)
)

// New builds the adapter. It refuses to build an http-mode adapter without an encrypt key:
// the SDK would then accept unauthenticated, forged events.
func New(o Options) (*Platform, error) {
	if o.Mode == "" {
		o.Mode = ModeHTTP
	}
	var errs []error
	if o.AppID == "" {
		errs = append(errs, errors.New("app id missing (FEISHU_APP_ID)"))
	}
	if o.AppSecret == "" {
		errs = append(errs, errors.New("app secret missing (FEISHU_APP_SECRET)"))
	}
	switch o.Mode {
	case ModeHTTP:
		if o.EncryptKey == "" {
			errs = append(errs, errors.New("encrypt key missing (FEISHU_ENCRYPT_KEY): in http mode events could not be "+
				"authenticated and anyone could forge them; set the Encrypt Key from the app's event subscription page, or use FEISHU_MODE=ws"))
		}
		if o.VerificationToken == "" {
			errs = append(errs, errors.New("verification token missing (FEISHU_VERIFICATION_TOKEN): required in http mode, "+
				"from the app's event subscription page"))
		}
	case ModeWS:
	default:
		errs = append(errs, fmt.Errorf("unknown mode %q (want http or ws)", o.Mode))
	}
	if o.Docs == nil {
		errs = append(errs, errors.New("no store for the shared tenant token"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.BotName == "" {
		o.BotName = defaultBotName
	}
	if o.Greeting == "" {
		o.Greeting = DefaultGreeting(o.BotName, defaultGreetingEx)
	}
	if o.PerChat <= 0 {
		o.PerChat = defaultPerChat
	}
	if o.PerApp <= 0 {
		o.PerApp = defaultPerApp
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ToastWait <= 0 {
		o.ToastWait = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	} else if o.HTTPClient.Timeout <= 0 {
		c := *o.HTTPClient
		c.Timeout = DefaultTimeout
		o.HTTPClient = &c
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	p := &Platform{opt: o, log: o.Log.With("platform", Name), now: o.Now}
	if o.EncryptKey != "" {
		key := sha256.Sum256([]byte(o.EncryptKey))
		block, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, fmt.Errorf("feishu: encrypt key: %w", err)
		}
		p.block = block
	}
	if o.BotOpenID != "" {
		id := o.BotOpenID
		p.botID.Store(&id)
	}
	// The SDK's token cache is a process-wide global (larkcore.NewCache replaces it for every
	// client); the adapter keeps its own token source over the store and hands the SDK the
	// token on each call, so EnableTokenCache stays off.
	p.conf = &larkcore.Config{
		BaseUrl:      o.BaseURL,
		AppId:        o.AppID,
		AppSecret:    o.AppSecret,
		AppType:      larkcore.AppTypeSelfBuilt,
		ReqTimeout:   o.HTTPClient.Timeout,
		HttpClient:   statusClient{o.HTTPClient},
		Logger:       sdkLogger{p.log.With("via", "sdk")},
		Serializable: &larkcore.DefaultSerialization{},
	}
	p.im = larkim.New(p.conf)
	p.tokens = &tokenSource{conf: p.conf, cache: &TokenCache{Docs: o.Docs, Now: o.Now}, failed: o.TokenFailed}
	return p, nil
}

// DefaultGreeting is what the bot says when added to a group: who it is, and how the
// secretary binds the group to its grid or compound.
func DefaultGreeting(botName, exampleNode string) string {
	return fmt.Sprintf("👋 大家好，我是%[1]s，社区的服务助手。\n"+
		"请书记在本群发送“@%[1]s 绑定 %[2]s”，把本群绑定到所属网格/小区；绑定后通知和事项按此归属。\n"+
		"居民有需要帮助的事，直接 @%[1]s 说明情况；党员请发送“@%[1]s 报到 姓名 楼栋”。发送“@%[1]s 帮助”查看全部命令。",
		botName, exampleNode)
}

// Name implements bot.Platform.
func (p *Platform) Name() string { return Name }

// Mode is the event delivery mode.
func (p *Platform) Mode() string { return p.opt.Mode }

// Run implements bot.Platform: it learns the bot's open_id, then in ws mode holds the long
// connection until ctx ends; in http mode events arrive through Routes and Run just waits.
func (p *Platform) Run(ctx context.Context, in bot.Receiver) error {
	if p.botID.Load() == nil {
		go p.learnBotID(ctx)
	}
	if p.opt.Mode == ModeWS {
		return p.runWS(ctx, in)
	}
	<-ctx.Done()
	return nil
}

// Routes implements bot.Router: POST /feishu/events in http mode (events, card actions, URL
// verification); nothing in ws mode.
func (p *Platform) Routes(mux *http.ServeMux, in bot.Receiver) {
	if p.opt.Mode != ModeHTTP {
		return
	}
	mux.Handle("POST "+eventsPath, p.EventHandler(in))
}

// Limits implements bot.Limited: 5/s per chat, 50/s per app (Feishu's own limits; the chat
// limit is shared by all bots in the chat), and 5/s per card for in-place updates.
func (p *Platform) Limits(o bot.Outbound) []bot.Limit {
	ls := []bot.Limit{
		{Key: "feishu:chat:" + o.Target(), Every: time.Second / time.Duration(p.opt.PerChat), Burst: p.opt.PerChat},
		{Key: "feishu:app", Every: time.Second / time.Duration(p.opt.PerApp), Burst: p.opt.PerApp},
	}
	if o.Update && o.Card != nil && o.Card.Key != "" {
		ls = append(ls, bot.Limit{Key: "feishu:card:" + o.Target() + "|" + o.Card.Key, Every: time.Second / cardPatchPerSec, Burst: cardPatchPerSec})
	}
	return ls
}

// ReplyLimits implements bot.ReplyLimited: Limits needs no lookup.
func (p *Platform) ReplyLimits(reply bot.Outbound) []bot.Limit { return p.Limits(reply) }

func (p *Platform) botOpenID() string {
	if id := p.botID.Load(); id != nil {
		return *id
	}
	return ""
}
