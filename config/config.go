// Package config loads neighborbot's settings: a YAML file (the organisation tree, groups,
// members, schedules, policies) overlaid by environment variables (addresses, secrets), then
// validated as a whole so an operator sees every mistake at once, each naming its key.
//
// With no file at all, Load returns Demo(): a small community whose groups live in the local
// playground, so a first start without credentials already has something to talk to.
//
// The package imports nothing else of ours; its types are plain data.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Roles a member can have (Member.Role).
const (
	RoleResident   = "resident"   // 居民
	RoleMember     = "member"     // 党员
	RoleGridWorker = "gridworker" // 网格员
	RoleSecretary  = "secretary"  // 支部书记 / 社区书记
	RoleStreet     = "street"     // 街道 / 大党委第一书记
)

// Kinds of organisation node (OrgNode.Kind), from the top of the tree down.
const (
	KindStreet    = "street"    // 街道
	KindCommunity = "community" // 社区
	KindGrid      = "grid"      // 网格 / 小区
	KindBuilding  = "building"  // 楼栋
	KindUnit      = "unit"      // 单元
)

// Kinds of recurring schedule (Schedule.Kind).
const (
	ScheduleTheme         = "theme"          // 主题党日, monthly
	ScheduleMeeting       = "meeting"        // 联席会议, quarterly
	ScheduleJointActivity = "joint_activity" // 联合活动, quarterly
	ScheduleCongress      = "congress"       // 党员代表大会, yearly
	ScheduleStandup       = "standup"        // 早碰头, daily
	ScheduleCustom        = "custom"
)

// Platforms, the prefix of every group and member id ("feishu:oc_123").
const (
	PlatformLocal  = "local"
	PlatformFeishu = "feishu"
	PlatformWeCom  = "wecom"
)

// Listen addresses when addr (NEIGHBORBOT_ADDR) is unset.
const (
	// DefaultAddr serves the platforms' callbacks on every interface: Feishu and WeCom must
	// reach it (through the HTTPS proxy in front).
	DefaultAddr = ":8080"
	// DefaultPlaygroundAddr serves the playground on this machine alone: it lets whoever
	// reaches it act as anyone, so it is not offered to the network unless addr says so.
	DefaultPlaygroundAddr = "127.0.0.1:8080"
)

// The admin listener (metrics, pprof): on loopback unless admin_addr says otherwise, so it is
// never public by accident.
const (
	DefaultAdminAddr = "127.0.0.1:9091"
	// AdminOff as admin_addr turns the admin listener off, and the metrics with it.
	AdminOff = "off"
)

// Feishu event delivery modes (Feishu.Mode).
const (
	InboxSyncCheckpoint = "checkpoint" // see Config.InboxSync
	InboxSyncEvent      = "event"

	FeishuHTTP = "http" // Feishu POSTs events to our callback URL
	FeishuWS   = "ws"   // we hold a long connection to Feishu (self-built apps only)
)

// Config is everything neighborbot needs to start.
type Config struct {
	BotName  string `yaml:"bot_name"`  // how the bot calls itself in messages; NEIGHBORBOT_BOT_NAME
	Addr     string `yaml:"addr"`      // HTTP listen address; NEIGHBORBOT_ADDR; unset: DefaultAddr or DefaultPlaygroundAddr
	DataDir  string `yaml:"data_dir"`  // embedded store directory; NEIGHBORBOT_DATA
	RedisURL string `yaml:"redis_url"` // redis://, rediss:// or "host:port,host:port" (Cluster); NEIGHBORBOT_REDIS_URL
	// InboxSync is when the embedded store flushes an arriving event to the disk;
	// NEIGHBORBOT_INBOX_SYNC. InboxSyncCheckpoint (default): written before its ack (a crash
	// or kill -9 of the process loses nothing acknowledged), flushed within 100 ms with the
	// next checkpoint (a power cut can lose that window). InboxSyncEvent: flushed before its
	// ack (a power cut loses nothing acknowledged either), at 12–30% more CPU per answered
	// event. Redis: Redis's own persistence settings decide (docs/OPERATIONS.md).
	InboxSync    string `yaml:"inbox_sync"`
	LogLevel     string `yaml:"log_level"`     // debug, info, warn or error; NEIGHBORBOT_LOG_LEVEL
	HolidaysFile string `yaml:"holidays_file"` // extra or corrected holiday data; NEIGHBORBOT_HOLIDAYS
	// AdminAddr is the admin listener's address: GET /metrics (Prometheus) and, with Pprof,
	// /debug/pprof/; NEIGHBORBOT_ADMIN_ADDR; default DefaultAdminAddr; AdminOff: no listener
	// and no metrics.
	AdminAddr string `yaml:"admin_addr"`
	Pprof     bool   `yaml:"pprof"` // serve /debug/pprof/ on the admin listener; NEIGHBORBOT_PPROF=1

	Org       []OrgNode  `yaml:"org"`
	Groups    []Group    `yaml:"groups"`
	Members   []Member   `yaml:"members"`
	Schedules []Schedule `yaml:"schedules"`

	Deadlines DeadlinePolicy `yaml:"deadlines"`
	Privacy   Privacy        `yaml:"privacy"`
	Backup    Backup         `yaml:"backup"`
	Ledger    Ledger         `yaml:"ledger"`
	Limits    Limits         `yaml:"limits"`
	Notices   NoticesPolicy  `yaml:"notices"`
	Console   Console        `yaml:"console"`
	Feishu    Feishu         `yaml:"feishu"`
	WeCom     WeCom          `yaml:"wecom"`
	WeChatOA  WeChatOA       `yaml:"wechat_oa"`

	envErrs []envError // environment values that did not parse, reported by Validate
}

// envError is an environment variable whose value could not be read.
type envError struct {
	key string // the YAML key it sets
	err error
}

// OrgNode is one node of the organisation tree: 街道 → 社区 → 网格 → 楼栋 → 单元.
type OrgNode struct {
	ID       string    `yaml:"id"`                 // short and stable: "grid1", "grid1-b3"
	Name     string    `yaml:"name"`               // as people say it: "1网格", "3栋"
	Kind     string    `yaml:"kind"`               // street, community, grid, building or unit
	Compound string    `yaml:"compound,omitempty"` // the 小区 a grid covers, for display
	Children []OrgNode `yaml:"children,omitempty"`
}

// Group is a chat group the bot sits in, bound to one org node.
type Group struct {
	ID       string `yaml:"id"`                  // "platform:chat id", e.g. "feishu:oc_5ad..."
	Name     string `yaml:"name"`                // 幸福里小区群
	Node     string `yaml:"node"`                // org node id
	RobotKey string `yaml:"robot_key,omitempty"` // wecom group robot webhook key; a secret
}

// Member is a person the bot knows in advance: residents, party members, grid workers,
// secretaries. Phone and Door are personal data (see LogValue).
type Member struct {
	ID     string   `yaml:"id"` // "platform:user id", e.g. "wecom:ZhangSan"
	Name   string   `yaml:"name"`
	Role   string   `yaml:"role"` // resident, member, gridworker, secretary or street
	Node   string   `yaml:"node"` // org node id the person belongs to
	Phone  string   `yaml:"phone,omitempty"`
	Door   string   `yaml:"door,omitempty"`   // 3栋2单元502
	Duties []string `yaml:"duties,omitempty"` // 调查员, 宣传员, 调解员, 监督员
	Teams  []string `yaml:"teams,omitempty"`  // 先锋队: 应急救援, 纠纷调解, ...
	Unit   string   `yaml:"unit,omitempty"`   // 共建单位 the member reports from (双报到): 区税务局
}

// Schedule is a recurring activity or meeting the scheduler announces and reminds.
type Schedule struct {
	ID     string   `yaml:"id"`
	Kind   string   `yaml:"kind"`  // theme, meeting, joint_activity, congress, standup or custom
	Rule   string   `yaml:"rule"`  // Chinese recurrence, e.g. "每月第一个周五 15:00"; parsed by the scheduler
	Title  string   `yaml:"title"` // 主题党日
	Place  string   `yaml:"place,omitempty"`
	Nodes  []string `yaml:"nodes,omitempty"`  // org node ids whose groups are told; empty = all
	Remind []string `yaml:"remind,omitempty"` // how long before to remind: "72h", "24h", "2h"
}

// DeadlinePolicy drives the deadline ladder of service items (限时办结, 督办, 销号).
type DeadlinePolicy struct {
	RemindBefore          Duration `yaml:"remind_before"`           // remind the claimer this long before the deadline
	WorkdayStart          string   `yaml:"workday_start"`           // "08:00": no reminders before
	WorkdayEnd            string   `yaml:"workday_end"`             // "20:00": no reminders after
	EscalateCommunityDays int      `yaml:"escalate_community_days"` // overdue days before the community is told
	EscalateStreetDays    int      `yaml:"escalate_street_days"`    // overdue days before the street is told
	ReannounceAfter       Duration `yaml:"reannounce_after"`        // re-post an unclaimed item after this long
	AutoCloseAfter        Duration `yaml:"auto_close_after"`        // a done item nobody confirms closes after this long
}

// Privacy is how long personal information is kept (个人信息保护法).
type Privacy struct {
	// Retention: closed and cancelled items keep phones, ID and door numbers and the
	// requester's name this long, then the scheduler clears them; NEIGHBORBOT_PRIVACY_RETENTION.
	// A Go duration or a number of days: "4320h", "180d".
	Retention Duration `yaml:"retention"`
}

// Backup is the daily backup: at 03:00 (Asia/Shanghai) one replica exports the whole store
// into Dir (the file `neighborbot restore` loads), keeping the newest Keep files.
type Backup struct {
	Dir  string `yaml:"dir"`  // NEIGHBORBOT_BACKUP_DIR; empty: no backups
	Keep int    `yaml:"keep"` // daily files kept; default 14
}

// Ledger is the 台账: how service earns points (积分). Zero fields take the defaults (claim
// and complete 10, on time +5, each star +2, reopened after a follow-up -5); a community may
// override any of them. Points are recomputed from the items' histories, so a change applies
// to the past too.
type Ledger struct {
	Points      PointsRule            `yaml:"points"`
	Communities map[string]PointsRule `yaml:"communities,omitempty"` // community node id → its own rule
}

// PointsRule is what each step of an item earns its claimers. A nil field takes the default
// (or, in a community's rule, the street-wide value), so 0 can switch a bonus off.
type PointsRule struct {
	Complete *int `yaml:"complete,omitempty"` // claimed and completed: 10
	OnTime   *int `yaml:"on_time,omitempty"`  // completed by the deadline: +5
	Star     *int `yaml:"star,omitempty"`     // each star of the resident's rating: +2
	Reopened *int `yaml:"reopened,omitempty"` // reopened (重办) after a follow-up: -5
}

// Limits are outbound rates, kept under the platforms' own limits (docs/FEISHU.md, docs/WECOM.md).
type Limits struct {
	FeishuPerChat       int `yaml:"feishu_per_chat"`        // messages per second into one chat
	FeishuPerApp        int `yaml:"feishu_per_app"`         // messages per second for the whole app
	WeComRobotPerMinute int `yaml:"wecom_robot_per_minute"` // messages per minute per group robot
	OutboxMaxAttempts   int `yaml:"outbox_max_attempts"`    // sends tried before a message is given up
}

// NoticesPolicy are settings of notices and polls (通知, 投票).
type NoticesPolicy struct {
	// ExportLinkTTL is how long a CSV export link (导出 N) works; the CSV names people, so a
	// link forwarded or found in a chat history later opens nothing. Default 7 days.
	ExportLinkTTL Duration `yaml:"export_link_ttl"`
}

// Feishu is the Feishu (Lark) self-built app. Set when AppID is set.
type Feishu struct {
	AppID             string `yaml:"app_id"`             // FEISHU_APP_ID
	AppSecret         string `yaml:"app_secret"`         // FEISHU_APP_SECRET
	VerificationToken string `yaml:"verification_token"` // FEISHU_VERIFICATION_TOKEN
	EncryptKey        string `yaml:"encrypt_key"`        // FEISHU_ENCRYPT_KEY; required in http mode
	Mode              string `yaml:"mode"`               // http or ws; FEISHU_MODE
	BaseURL           string `yaml:"base_url"`           // FEISHU_BASE_URL
}

// WeCom is the WeCom (企业微信) self-built app, and optionally its AI bot (智能机器人).
// Set when CorpID is set.
type WeCom struct {
	CorpID      string `yaml:"corp_id"`       // WECOM_CORP_ID
	AgentID     string `yaml:"agent_id"`      // WECOM_AGENT_ID
	Secret      string `yaml:"secret"`        // WECOM_SECRET
	Token       string `yaml:"token"`         // WECOM_TOKEN, app callback
	AESKey      string `yaml:"aes_key"`       // WECOM_AES_KEY, app callback EncodingAESKey, 43 characters
	AIBotToken  string `yaml:"aibot_token"`   // WECOM_AIBOT_TOKEN
	AIBotAESKey string `yaml:"aibot_aes_key"` // WECOM_AIBOT_AES_KEY, 43 characters
	BaseURL     string `yaml:"base_url"`      // WECOM_BASE_URL
	// OAuthURL and SSOURL serve the console's sign-in pages: 网页授权 inside WeCom and
	// 扫码登录 in any browser. Changed only for a test server.
	OAuthURL string `yaml:"oauth_url"` // WECOM_OAUTH_URL
	SSOURL   string `yaml:"sso_url"`   // WECOM_SSO_URL
}

// WeChatOA is a WeChat Service Account (认证服务号) for residents on personal WeChat
// (docs/OFFICIALACCOUNT.md). Set when AppID is set; it runs next to Feishu, WeCom or the
// playground, whose groups the residents' needs go to.
type WeChatOA struct {
	AppID     string `yaml:"app_id"`     // WECHAT_OA_APP_ID
	AppSecret string `yaml:"app_secret"` // WECHAT_OA_APP_SECRET
	Token     string `yaml:"token"`      // WECHAT_OA_TOKEN, the server configuration's Token
	AESKey    string `yaml:"aes_key"`    // WECHAT_OA_AES_KEY, EncodingAESKey (安全模式), 43 characters
	BaseURL   string `yaml:"base_url"`   // WECHAT_OA_BASE_URL
	// StatusTemplate is the template message for status updates outside the 48-hour window.
	StatusTemplate OATemplate `yaml:"status_template"`
	// Menu is what neighborbot oa menu installs; default 我要点单, 我的需求 (我的), 帮助.
	Menu []OAMenuButton `yaml:"menu"`
}

// OAMenuButton is one button of the Service Account's menu.
type OAMenuButton struct {
	Name string `yaml:"name"` // shown, at most 16 bytes (5 Chinese characters)
	Text string `yaml:"text"` // what a tap stands for, as if sent; empty: how to file a need
}

// OATemplate is an approved template message and the names of its fields.
type OATemplate struct {
	ID          string `yaml:"id"`           // WECHAT_OA_STATUS_TEMPLATE_ID
	ItemField   string `yaml:"item_field"`   // the item number, e.g. character_string1
	StatusField string `yaml:"status_field"` // what happened, e.g. thing2
	TimeField   string `yaml:"time_field"`   // when, e.g. time3
}

// Load reads the YAML file at path (or $NEIGHBORBOT_CONFIG when path is empty; with neither,
// the Demo), applies the environment over it, and validates the result.
func Load(getenv func(string) string, path string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if path == "" {
		path = strings.TrimSpace(getenv("NEIGHBORBOT_CONFIG"))
	}
	var c *Config
	if path == "" {
		c = Demo()
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		c, err = Parse(data)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	c.applyEnv(getenv)
	c.defaultAddr()
	if err := c.Validate(); err != nil {
		if path == "" {
			return nil, fmt.Errorf("config (demo + environment): %w", err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML over the defaults, without environment and without validation.
// Unknown keys are an error.
func Parse(data []byte) (*Config, error) {
	c := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) { // an empty file: all defaults
			return c, nil
		}
		return nil, readableYAMLError(err)
	}
	return c, nil
}

// readableYAMLError turns yaml.v3's "field x not found in type config.Member" into words an
// operator knows; everything else (syntax errors with their line) passes through.
func readableYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		// "line 4: field bot_nme not found in type config.Config"
		if line, rest, ok := strings.Cut(m, ": field "); ok {
			if key, typ, ok := strings.Cut(rest, " not found in type config."); ok {
				m = fmt.Sprintf("%s: unknown key %q (in %s)", line, key, sectionName(typ))
			}
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "\n"))
}

func sectionName(goType string) string {
	switch goType {
	case "Config":
		return "the top level"
	case "OrgNode":
		return "an org node"
	case "Group":
		return "a group"
	case "Member":
		return "a member"
	case "Schedule":
		return "a schedule"
	case "DeadlinePolicy":
		return "deadlines"
	case "Privacy":
		return "privacy"
	case "Backup":
		return "backup"
	case "Limits":
		return "limits"
	case "NoticesPolicy":
		return "notices"
	case "Feishu":
		return "feishu"
	case "WeCom":
		return "wecom"
	}
	return goType
}

// defaults is a Config with every default and no organisation.
func defaults() *Config {
	return &Config{
		BotName:   "邻里帮",
		DataDir:   "./data", // Addr is set by Load: see defaultAddr
		LogLevel:  "info",
		InboxSync: InboxSyncCheckpoint,
		AdminAddr: DefaultAdminAddr,
		Deadlines: DeadlinePolicy{
			RemindBefore:          Duration(24 * time.Hour),
			WorkdayStart:          "08:00",
			WorkdayEnd:            "20:00",
			EscalateCommunityDays: 2,
			EscalateStreetDays:    5,
			ReannounceAfter:       Duration(24 * time.Hour),
			AutoCloseAfter:        Duration(72 * time.Hour),
		},
		Privacy: Privacy{Retention: Duration(180 * 24 * time.Hour)},
		Backup:  Backup{Keep: 14},
		Limits: Limits{
			FeishuPerChat:       5,
			FeishuPerApp:        50,
			WeComRobotPerMinute: 20,
			OutboxMaxAttempts:   12,
		},
		Notices: NoticesPolicy{ExportLinkTTL: Duration(7 * 24 * time.Hour)},
		Feishu:  Feishu{Mode: FeishuHTTP, BaseURL: "https://open.feishu.cn"},
		WeCom: WeCom{BaseURL: "https://qyapi.weixin.qq.com", OAuthURL: "https://open.weixin.qq.com",
			SSOURL: "https://login.work.weixin.qq.com"},
		WeChatOA: WeChatOA{BaseURL: "https://api.weixin.qq.com", StatusTemplate: OATemplate{
			ItemField: "character_string1", StatusField: "thing2", TimeField: "time3"},
			Menu: []OAMenuButton{{Name: "我要点单"}, {Name: "我的需求", Text: "我的"}, {Name: "帮助", Text: "帮助"}}},
	}
}

// Console configures the 指挥中心 (web console under /console/).
type Console struct {
	// BaseURL is where people reach this server from their phones ("https://bot.example.org"):
	// the sign-in links the bot sends in the chat, the web logins' callbacks and export links
	// are built on it. Unset: the listen address on localhost (the playground).
	// NEIGHBORBOT_PUBLIC_URL.
	BaseURL string `yaml:"base_url"`
}

// envSetting ties an environment variable to the YAML key it overrides.
type envSetting struct {
	env, key string
	field    *string
}

func (c *Config) envSettings() []envSetting {
	return []envSetting{
		{"NEIGHBORBOT_BOT_NAME", "bot_name", &c.BotName},
		{"NEIGHBORBOT_ADDR", "addr", &c.Addr},
		{"NEIGHBORBOT_DATA", "data_dir", &c.DataDir},
		{"NEIGHBORBOT_REDIS_URL", "redis_url", &c.RedisURL},
		{"NEIGHBORBOT_LOG_LEVEL", "log_level", &c.LogLevel},
		{"NEIGHBORBOT_INBOX_SYNC", "inbox_sync", &c.InboxSync},
		{"NEIGHBORBOT_HOLIDAYS", "holidays_file", &c.HolidaysFile},
		{"NEIGHBORBOT_ADMIN_ADDR", "admin_addr", &c.AdminAddr},
		{"NEIGHBORBOT_BACKUP_DIR", "backup.dir", &c.Backup.Dir},
		{"NEIGHBORBOT_PUBLIC_URL", "console.base_url", &c.Console.BaseURL},
		{"FEISHU_APP_ID", "feishu.app_id", &c.Feishu.AppID},
		{"FEISHU_APP_SECRET", "feishu.app_secret", &c.Feishu.AppSecret},
		{"FEISHU_VERIFICATION_TOKEN", "feishu.verification_token", &c.Feishu.VerificationToken},
		{"FEISHU_ENCRYPT_KEY", "feishu.encrypt_key", &c.Feishu.EncryptKey},
		{"FEISHU_MODE", "feishu.mode", &c.Feishu.Mode},
		{"FEISHU_BASE_URL", "feishu.base_url", &c.Feishu.BaseURL},
		{"WECOM_CORP_ID", "wecom.corp_id", &c.WeCom.CorpID},
		{"WECOM_AGENT_ID", "wecom.agent_id", &c.WeCom.AgentID},
		{"WECOM_SECRET", "wecom.secret", &c.WeCom.Secret},
		{"WECOM_TOKEN", "wecom.token", &c.WeCom.Token},
		{"WECOM_AES_KEY", "wecom.aes_key", &c.WeCom.AESKey},
		{"WECOM_AIBOT_TOKEN", "wecom.aibot_token", &c.WeCom.AIBotToken},
		{"WECOM_AIBOT_AES_KEY", "wecom.aibot_aes_key", &c.WeCom.AIBotAESKey},
		{"WECOM_BASE_URL", "wecom.base_url", &c.WeCom.BaseURL},
		{"WECOM_OAUTH_URL", "wecom.oauth_url", &c.WeCom.OAuthURL},
		{"WECOM_SSO_URL", "wecom.sso_url", &c.WeCom.SSOURL},
		{"WECHAT_OA_APP_ID", "wechat_oa.app_id", &c.WeChatOA.AppID},
		{"WECHAT_OA_APP_SECRET", "wechat_oa.app_secret", &c.WeChatOA.AppSecret},
		{"WECHAT_OA_TOKEN", "wechat_oa.token", &c.WeChatOA.Token},
		{"WECHAT_OA_AES_KEY", "wechat_oa.aes_key", &c.WeChatOA.AESKey},
		{"WECHAT_OA_BASE_URL", "wechat_oa.base_url", &c.WeChatOA.BaseURL},
		{"WECHAT_OA_STATUS_TEMPLATE_ID", "wechat_oa.status_template.id", &c.WeChatOA.StatusTemplate.ID},
	}
}

// envDuration ties an environment variable to a duration setting.
type envDuration struct {
	env, key string
	field    *Duration
}

func (c *Config) envDurations() []envDuration {
	return []envDuration{
		{"NEIGHBORBOT_PRIVACY_RETENTION", "privacy.retention", &c.Privacy.Retention},
	}
}

// applyEnv overrides the file with every non-empty variable. Values are trimmed: secrets
// pasted from files often carry a trailing newline.
func (c *Config) applyEnv(getenv func(string) string) {
	for _, s := range c.envSettings() {
		if v := strings.TrimSpace(getenv(s.env)); v != "" {
			*s.field = v
		}
	}
	if v := strings.TrimSpace(getenv(envPprof)); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			c.envErrs = append(c.envErrs, envError{key: "pprof", err: fmt.Errorf("%q is not 1 or 0 (true or false)", v)})
		} else {
			c.Pprof = on
		}
	}
	for _, s := range c.envDurations() {
		if v := strings.TrimSpace(getenv(s.env)); v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				c.envErrs = append(c.envErrs, envError{key: s.key, err: err})
				continue
			}
			*s.field = d
		}
	}
}

// defaultAddr sets the listen address when neither the file nor the environment did: the
// playground listens on loopback only, the platforms' callbacks on every interface.
func (c *Config) defaultAddr() {
	if c.Addr != "" {
		return
	}
	c.Addr = DefaultAddr
	if c.LocalEnabled() {
		c.Addr = DefaultPlaygroundAddr
	}
}

// envPprof switches pprof on the admin listener (Config.Pprof).
const envPprof = "NEIGHBORBOT_PPROF"

// AdminEnabled reports whether the admin listener (and the metrics) run.
func (c *Config) AdminEnabled() bool { return c.AdminAddr != AdminOff }

// FeishuEnabled reports whether a Feishu app is configured.
func (c *Config) FeishuEnabled() bool { return c.Feishu.AppID != "" }

// WeComEnabled reports whether a WeCom app is configured.
func (c *Config) WeComEnabled() bool { return c.WeCom.CorpID != "" }

// WeChatOAEnabled reports whether a WeChat Service Account is configured.
func (c *Config) WeChatOAEnabled() bool { return c.WeChatOA.AppID != "" }

// LocalEnabled reports whether the built-in playground is the platform: when no real one is.
func (c *Config) LocalEnabled() bool { return !c.FeishuEnabled() && !c.WeComEnabled() }

// Personas returns the configured members in config order (the playground lets you speak as
// any of them). The slice is a copy.
func (c *Config) Personas() []Member {
	out := make([]Member, len(c.Members))
	copy(out, c.Members)
	return out
}

// FindNode finds an org node anywhere in the tree.
func (c *Config) FindNode(id string) (OrgNode, bool) {
	var find func([]OrgNode) (OrgNode, bool)
	find = func(ns []OrgNode) (OrgNode, bool) {
		for _, n := range ns {
			if n.ID == id {
				return n, true
			}
			if found, ok := find(n.Children); ok {
				return found, true
			}
		}
		return OrgNode{}, false
	}
	return find(c.Org)
}

// NodePath returns the nodes from the root down to id (inclusive): the escalation ladder read
// backwards. Nil when id is not in the tree.
func (c *Config) NodePath(id string) []OrgNode {
	var walk func([]OrgNode, []OrgNode) []OrgNode
	walk = func(ns []OrgNode, above []OrgNode) []OrgNode {
		for _, n := range ns {
			path := append(above[:len(above):len(above)], n)
			if n.ID == id {
				return path
			}
			if p := walk(n.Children, path); p != nil {
				return p
			}
		}
		return nil
	}
	return walk(c.Org, nil)
}

// Level is LogLevel as a slog level (info when unset or unknown; Validate rejects unknown).
func (c *Config) Level() slog.Level {
	switch strings.ToLower(c.LogLevel) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Platform is the platform prefix of a group or member id: "feishu" for "feishu:oc_1".
// Empty when the id has no prefix.
func Platform(id string) string {
	p, _, ok := strings.Cut(id, ":")
	if !ok {
		return ""
	}
	return p
}
