// Package wecom is neighborbot's WeCom (企业微信) adapter: a self-built app (callback at
// /wecom/callback, app messages, template cards with buttons updated in place after a tap),
// an optional AI bot (智能机器人, callback at /wecom/aibot, @-mentionable in groups, replies through
// its one-shot response_url), and group robots (webhook keys bound to groups in the config)
// for what goes into a group.
//
// From github.com/silenceper/wechat/v2 it uses the work/message and work/robot wire types, the
// util error type and the credential token interface (Tokens implements it). Its HTTP helpers
// are not used (a global client without timeout, hard-coded hosts), nor its root package, whose
// init() turns logrus to Debug and logs decrypted messages: nothing here links logrus at all.
// The callback crypto, the AI bot and template cards, which the SDK lacks, are written here.
//
// Where a message goes:
//   - Outbound.ResponseURL set (a reply to the AI bot): POSTed there, once.
//   - Outbound.UserID: an app message to that member (text, markdown, or a button card).
//   - Outbound.ChatID: the group's robot when it has a webhook key (text with real mentions, or
//     a card as markdown: robots cannot take taps); otherwise an app message to the group's
//     party members (its node's members, gridworkers and secretaries) and anyone mentioned,
//     so cards with buttons reach the people who tap them.
package wecom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// Name is the platform's name, the prefix of its ids.
const Name = "wecom"

// DefaultBaseURL is WeCom's API.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// Directory is what the adapter reads of people and groups: a group's robot key and node, the
// party members a group's cards go to. PutGroup records customer groups WeCom tells about.
type Directory interface {
	GetGroup(ctx context.Context, id string) (community.Group, error)
	PutGroup(ctx context.Context, g community.Group) error
	ListPersons(ctx context.Context) ([]community.Person, error)
}

// Options configure the adapter.
type Options struct {
	CorpID  string // WECOM_CORP_ID
	AgentID string // WECOM_AGENT_ID, a number
	Secret  string // WECOM_SECRET
	// Token and AESKey are the app's callback settings; empty: no /wecom/callback.
	Token, AESKey string
	// AIBotToken and AIBotAESKey are the AI bot's callback settings; empty: no /wecom/aibot.
	AIBotToken, AIBotAESKey string
	BaseURL                 string // default DefaultBaseURL
	// OAuthURL and SSOURL serve the web login pages (网页授权, 扫码登录); default
	// DefaultOAuthURL and DefaultSSOURL. Tests point them at wecomtest.
	OAuthURL, SSOURL string
	BotName          string // stripped from @-mentions, shown on cards

	// Robots maps a chat id to its group robot's webhook key (config groups[].robot_key);
	// groups in Directory with a RobotKey count too.
	Robots map[string]string
	// RobotPerMinute is each robot's limit; default 20 (WeCom's).
	RobotPerMinute int

	Directory Directory
	Docs      Docs
	// Within reports whether org node id lies within root (community.Tree.Within); nil
	// compares ids.
	Within func(id, root string) bool

	Now func() time.Time
	Log *slog.Logger
	// HTTPClient calls WeCom; default one with a 10 s timeout.
	HTTPClient *http.Client
	// MaxSkew is how far a callback's timestamp may be from Now; default 5 min.
	MaxSkew time.Duration
	// TokenFailed, if set, is called when fetching the access token fails (metrics).
	TokenFailed func()
}

// Platform is the WeCom adapter: bot.Platform, bot.Router, bot.CardUpdater and bot.Limited.
type Platform struct {
	o       Options
	agentID int64
	app     *Crypto // nil without app callback settings
	aibot   *Crypto // nil without AI bot settings
	api     *client
	log     *slog.Logger

	audMu     sync.Mutex
	audiences map[string]audience
}

var (
	_ bot.Platform    = (*Platform)(nil)
	_ bot.Router      = (*Platform)(nil)
	_ bot.CardUpdater = (*Platform)(nil)
	_ bot.Limited     = (*Platform)(nil)
)

// New checks the options and builds the adapter.
func New(o Options) (*Platform, error) {
	if o.CorpID == "" || o.Secret == "" {
		return nil, errors.New("wecom: corp id and secret are required")
	}
	agent, err := strconv.ParseInt(o.AgentID, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("wecom: agent id %q is not a number", o.AgentID)
	}
	if o.Directory == nil || o.Docs == nil {
		return nil, errors.New("wecom: a directory and a doc store are required")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.OAuthURL == "" {
		o.OAuthURL = DefaultOAuthURL
	}
	if o.SSOURL == "" {
		o.SSOURL = DefaultSSOURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	o.OAuthURL = strings.TrimRight(o.OAuthURL, "/")
	o.SSOURL = strings.TrimRight(o.SSOURL, "/")
	if o.RobotPerMinute <= 0 {
		o.RobotPerMinute = 20
	}
	if o.Within == nil {
		o.Within = func(id, root string) bool { return id == root }
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
	p := &Platform{o: o, agentID: agent, log: o.Log, audiences: map[string]audience{}}
	if o.Token != "" || o.AESKey != "" {
		if p.app, err = NewCrypto(o.Token, o.AESKey, o.CorpID); err != nil {
			return nil, fmt.Errorf("app callback: %w", err)
		}
	}
	if o.AIBotToken != "" || o.AIBotAESKey != "" {
		if p.aibot, err = NewCrypto(o.AIBotToken, o.AIBotAESKey, ""); err != nil {
			return nil, fmt.Errorf("AI bot callback: %w", err)
		}
	}
	if p.app == nil && p.aibot == nil {
		return nil, errors.New("wecom: no callback configured (app token + AES key, or AI bot token + AES key)")
	}
	p.api = &client{base: o.BaseURL, hc: o.HTTPClient}
	p.api.tokens = &Tokens{
		docs: o.Docs, id: tokenDocID(o.CorpID, o.Secret), now: o.Now, log: o.Log,
		fetch: p.api.getToken(o.CorpID, o.Secret), failed: o.TokenFailed,
	}
	return p, nil
}

// Name implements bot.Platform.
func (p *Platform) Name() string { return Name }

// Run implements bot.Platform: events arrive over HTTP (Routes), so it only waits.
func (p *Platform) Run(ctx context.Context, _ bot.Receiver) error {
	<-ctx.Done()
	return nil
}

// Tokens is the shared access-token source, for SDK clients that want one.
func (p *Platform) Tokens() *Tokens { return p.api.tokens }

// Limits implements bot.Limited: a group robot takes RobotPerMinute messages a minute, shared
// by every replica through the dispatcher's limiter; an app message to one member stays under
// WeCom's 30 a minute per member.
func (p *Platform) Limits(o bot.Outbound) []bot.Limit {
	switch {
	case o.ResponseURL != "":
		return nil
	case o.Update && o.Card != nil:
		return nil // an in-place update: no robot message, no new app message
	case o.UserID != "":
		return []bot.Limit{windowLimit("wecom:user:"+localID(o.UserID), 30)}
	case o.ChatID != "":
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if key := p.robotKey(ctx, o.ChatID); key != "" {
			return []bot.Limit{windowLimit("wecom:robot:"+key, p.o.RobotPerMinute)}
		}
	}
	return nil
}

// ReplyLimits implements bot.ReplyLimited for a reply to a person written to the app (their
// window limit); a group's limit is its robot's, which may take a directory lookup.
func (p *Platform) ReplyLimits(reply bot.Outbound) []bot.Limit {
	if reply.UserID == "" || reply.ResponseURL != "" || reply.ChatID != "" {
		return nil
	}
	return p.Limits(reply)
}

// windowLimit is a token bucket that never lets more than n through in any minute, as WeCom
// counts: a burst of n/4 plus refills that bring the minute's total to n.
func windowLimit(key string, n int) bot.Limit {
	burst := max(n/4, 1)
	if n <= burst {
		return bot.Limit{Key: key, Every: time.Minute, Burst: 1}
	}
	return bot.Limit{Key: key, Every: time.Minute / time.Duration(n-burst), Burst: burst}
}
