package config_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/config"
)

// aesKey is a well-formed 43-character EncodingAESKey.
func aesKey() string {
	return strings.TrimSuffix(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789ABCDEF")), "=")
}

// keyed is how every reported problem begins: the key, maybe its variable, then a colon.
var keyed = regexp.MustCompile(`^[a-z_]+(\[\d+\])*(\.[a-z_]+(\[\d+\])*)*( \([A-Z_]+\))?: `)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *config.Config)
		want   []string // every one must be reported; nil = valid
		secret string   // must not appear in the error
	}{
		{name: "demo is valid", edit: func(c *config.Config) {}},
		{
			name: "unknown role",
			edit: func(c *config.Config) { c.Members[2].Role = "boss" },
			want: []string{`members[2].role: unknown role "boss" (want resident, member, gridworker, secretary, street)`},
		},
		{
			name: "missing role",
			edit: func(c *config.Config) { c.Members[1].Role = "" },
			want: []string{`members[1].role: missing (want resident`},
		},
		{
			name: "group bound to an unknown node",
			edit: func(c *config.Config) { c.Groups[0].Node = "grid9" },
			want: []string{`groups[0].node: unknown org node "grid9"`},
		},
		{
			name: "group without a node",
			edit: func(c *config.Config) { c.Groups[1].Node = "" },
			want: []string{`groups[1].node: missing`},
		},
		{
			name: "member on an unknown node",
			edit: func(c *config.Config) { c.Members[4].Node = "grid9" },
			want: []string{`members[4].node: unknown org node "grid9"`},
		},
		{
			name: "duplicate member",
			edit: func(c *config.Config) { c.Members[1].ID = "local:wang" },
			want: []string{`members[1].id: duplicate id "local:wang" (also members[0])`},
		},
		{
			name: "duplicate group",
			edit: func(c *config.Config) { c.Groups[1].ID = c.Groups[0].ID },
			want: []string{`groups[1].id: duplicate id "local:xingfuli" (also groups[0])`},
		},
		{
			name: "duplicate org node",
			edit: func(c *config.Config) { c.Org[0].Children[0].Children[1].Children[1].ID = "grid1-b3" },
			want: []string{`org[0].children[0].children[1].children[1].id: duplicate id "grid1-b3" (also at org[0].children[0].children[0].children[0])`},
		},
		{
			name: "unknown node kind",
			edit: func(c *config.Config) { c.Org[0].Children[0].Kind = "village" },
			want: []string{`org[0].children[0].kind: unknown kind "village" (want street, community, grid, building, unit)`},
		},
		{
			name: "node kind out of order",
			edit: func(c *config.Config) {
				grid := &c.Org[0].Children[0].Children[0]
				grid.Children = append(grid.Children, config.OrgNode{ID: "x", Name: "X社区", Kind: config.KindCommunity})
			},
			want: []string{`org[0].children[0].children[0].children[2].kind: a community cannot sit under grid "grid1"`},
		},
		{
			name: "node without name or id",
			edit: func(c *config.Config) {
				b5 := &c.Org[0].Children[0].Children[0].Children[1]
				b5.Name, b5.ID = "", ""
			},
			want: []string{`org[0].children[0].children[0].children[1].name: missing`, `org[0].children[0].children[0].children[1].id: missing`},
		},
		{
			name: "org id with a colon",
			edit: func(c *config.Config) { c.Org[0].Children[0].Children[0].Children[1].ID = "grid1:b5" },
			want: []string{`org[0].children[0].children[0].children[1].id: "grid1:b5": use ASCII letters`},
		},
		{
			name: "compound on a building",
			edit: func(c *config.Config) { c.Org[0].Children[0].Children[0].Children[0].Compound = "幸福里" },
			want: []string{`org[0].children[0].children[0].children[0].compound: only a grid`},
		},
		{
			name: "empty org",
			edit: func(c *config.Config) { c.Org = nil },
			want: []string{"org: empty"},
		},
		{
			name: "group id without platform",
			edit: func(c *config.Config) { c.Groups[0].ID = "xingfuli" },
			want: []string{`groups[0].id: "xingfuli" is not "platform:id" (platform local, feishu or wecom)`},
		},
		{
			name: "member id on an unknown platform",
			edit: func(c *config.Config) { c.Members[0].ID = "qq:12345" },
			want: []string{`members[0].id: "qq:12345": unknown platform "qq" (want local, feishu or wecom)`},
		},
		{
			name: "member id with nothing after the platform",
			edit: func(c *config.Config) { c.Members[3].ID = "feishu:" },
			want: []string{`members[3].id: "feishu:": the part after "feishu:" must be non-empty`},
		},
		{
			name:   "robot key on a local group",
			edit:   func(c *config.Config) { c.Groups[0].RobotKey = "robot-secret-key" },
			want:   []string{`groups[0].robot_key: only wecom groups have a group robot`},
			secret: "robot-secret-key",
		},
		{
			name: "robot key on a wecom group",
			edit: func(c *config.Config) { c.Groups[0].ID = "wecom:wr123"; c.Groups[0].RobotKey = "693a91f6-7xxx" },
		},
		{
			name: "street role off a street node",
			edit: func(c *config.Config) { c.Members[7].Node = "xingfu" },
			want: []string{`members[7].node: role street belongs on a street node; "xingfu" is a community`},
		},
		{
			name:   "phone not a number",
			edit:   func(c *config.Config) { c.Members[4].Phone = "call 1380000abcd" },
			want:   []string{`members[4].phone: not a phone number`},
			secret: "1380000abcd",
		},
		{
			name: "repeated and empty labels",
			edit: func(c *config.Config) { c.Members[3].Duties = []string{"调查员", "", "调查员"} },
			want: []string{`members[3].duties[1]: empty`, `members[3].duties[2]: "调查员" repeats members[3].duties[0]`},
		},
		{
			name: "schedule problems",
			edit: func(c *config.Config) {
				c.Schedules[0].Remind = []string{"72h", "3d", "-1h", "72h"}
				c.Schedules[1].Kind = "party"
				c.Schedules[1].Nodes = []string{"grid9"}
				c.Schedules[1].ID = c.Schedules[0].ID
				c.Schedules[1].Rule = ""
			},
			want: []string{
				`schedules[0].remind[1]: "3d" is not a duration`,
				`schedules[0].remind[2]: "-1h": must be positive`,
				`schedules[0].remind[3]: "72h" is listed twice`,
				`schedules[1].kind: unknown kind "party" (want theme, meeting, joint_activity, congress, standup, custom)`,
				`schedules[1].nodes[0]: unknown org node "grid9"`,
				`schedules[1].id: duplicate id "theme-day" (also schedules[0])`,
				`schedules[1].rule: missing`,
			},
		},
		{
			name: "durations must be positive",
			edit: func(c *config.Config) {
				c.Deadlines.RemindBefore = 0
				c.Deadlines.ReannounceAfter = -1
				c.Deadlines.AutoCloseAfter = 0
			},
			want: []string{
				"deadlines.remind_before: must be positive, got 0s",
				"deadlines.reannounce_after: must be positive, got -1ns",
				"deadlines.auto_close_after: must be positive, got 0s",
			},
		},
		{
			name: "workday hours",
			edit: func(c *config.Config) { c.Deadlines.WorkdayStart = "8点" },
			want: []string{`deadlines.workday_start: "8点" is not a time of day like "08:00"`},
		},
		{
			name: "workday ends before it starts",
			edit: func(c *config.Config) { c.Deadlines.WorkdayStart, c.Deadlines.WorkdayEnd = "20:00", "8:00" },
			want: []string{`deadlines.workday_end: 8:00 is not after workday_start 20:00`},
		},
		{
			name: "escalation order",
			edit: func(c *config.Config) { c.Deadlines.EscalateCommunityDays, c.Deadlines.EscalateStreetDays = 3, 1 },
			want: []string{`deadlines.escalate_street_days: 1 comes before escalate_community_days 3`},
		},
		{
			name: "escalation days positive",
			edit: func(c *config.Config) { c.Deadlines.EscalateCommunityDays = 0 },
			want: []string{`deadlines.escalate_community_days: must be positive, got 0`},
		},
		{
			name: "rate limits must be positive",
			edit: func(c *config.Config) {
				c.Limits = config.Limits{FeishuPerChat: 0, FeishuPerApp: -1, WeComRobotPerMinute: 0, OutboxMaxAttempts: 0}
			},
			want: []string{
				"limits.feishu_per_chat: must be positive, got 0",
				"limits.feishu_per_app: must be positive, got -1",
				"limits.wecom_robot_per_minute: must be positive, got 0",
				"limits.outbox_max_attempts: must be positive, got 0",
			},
		},
		{
			name: "top-level settings",
			edit: func(c *config.Config) {
				c.BotName = " "
				c.Addr = "8080"
				c.DataDir = ""
				c.LogLevel = "verbose"
			},
			want: []string{
				"bot_name (NEIGHBORBOT_BOT_NAME): missing",
				`addr (NEIGHBORBOT_ADDR): "8080" is not host:port`,
				"data_dir (NEIGHBORBOT_DATA): missing",
				`log_level (NEIGHBORBOT_LOG_LEVEL): unknown level "verbose" (want debug, info, warn, error)`,
			},
		},
		{
			name: "export links that never work",
			edit: func(c *config.Config) { c.Notices.ExportLinkTTL = 0 },
			want: []string{"notices.export_link_ttl: must be positive, got 0s"},
		},
		{
			name: "addr port out of range",
			edit: func(c *config.Config) { c.Addr = ":99999" },
			want: []string{`addr (NEIGHBORBOT_ADDR): port "99999" is not a number from 0 to 65535`},
		},
		{
			name:   "redis URL without host does not echo the password",
			edit:   func(c *config.Config) { c.RedisURL = "redis://:hunter2@" },
			want:   []string{"redis_url (NEIGHBORBOT_REDIS_URL): no host"},
			secret: "hunter2",
		},
		{
			name: "redis URL scheme",
			edit: func(c *config.Config) { c.RedisURL = "http://localhost:6379" },
			want: []string{`redis_url (NEIGHBORBOT_REDIS_URL): scheme "http"`},
		},
		{
			name: "redis cluster node list",
			edit: func(c *config.Config) { c.RedisURL = "10.0.0.1:6379, 10.0.0.2" },
			want: []string{`redis_url (NEIGHBORBOT_REDIS_URL): cluster node 2 "10.0.0.2" is not host:port`},
		},
		{name: "redis cluster is valid", edit: func(c *config.Config) { c.RedisURL = "10.0.0.1:6379,10.0.0.2:6379" }},
		{name: "rediss URL is valid", edit: func(c *config.Config) { c.RedisURL = "rediss://user:pw@redis.example.com:6380/1" }},

		// Feishu
		{
			name: "feishu app id without secret",
			edit: func(c *config.Config) { c.Feishu.AppID = "cli_x"; c.Feishu.EncryptKey = "ek" },
			want: []string{"feishu.app_secret (FEISHU_APP_SECRET): missing: required when feishu.app_id (FEISHU_APP_ID) is set"},
		},
		{
			name:   "feishu secret without app id",
			edit:   func(c *config.Config) { c.Feishu.AppSecret = "fs-secret-value" },
			want:   []string{"feishu.app_secret (FEISHU_APP_SECRET): set, but feishu.app_id (FEISHU_APP_ID) is empty"},
			secret: "fs-secret-value",
		},
		{
			name: "feishu unknown mode",
			edit: func(c *config.Config) { c.Feishu.Mode = "grpc" },
			want: []string{`feishu.mode (FEISHU_MODE): unknown mode "grpc" (want http`},
		},
		{
			name: "feishu http mode needs an encrypt key",
			edit: func(c *config.Config) { c.Feishu.AppID, c.Feishu.AppSecret = "cli_x", "s" },
			want: []string{"feishu.encrypt_key (FEISHU_ENCRYPT_KEY): missing: in http mode, without an encrypt key Feishu events cannot be authenticated"},
		},
		{
			name: "feishu ws mode needs no encrypt key",
			edit: func(c *config.Config) { c.Feishu.AppID, c.Feishu.AppSecret, c.Feishu.Mode = "cli_x", "s", "ws" },
		},
		{
			name: "feishu http mode complete",
			edit: func(c *config.Config) {
				c.Feishu.AppID, c.Feishu.AppSecret, c.Feishu.EncryptKey, c.Feishu.VerificationToken = "cli_x", "s", "ek", "vt"
			},
		},
		{
			name: "feishu base URL",
			edit: func(c *config.Config) { c.Feishu.BaseURL = "open.feishu.cn" },
			want: []string{`feishu.base_url (FEISHU_BASE_URL): "open.feishu.cn" is not an http(s) URL`},
		},

		// WeCom
		{
			name: "wecom sign-in page hosts",
			edit: func(c *config.Config) {
				c.WeCom.OAuthURL, c.WeCom.SSOURL = "open.weixin.qq.com", "ftp://login.work.weixin.qq.com"
			},
			want: []string{
				`wecom.oauth_url (WECOM_OAUTH_URL): "open.weixin.qq.com" is not an http(s) URL`,
				`wecom.sso_url (WECOM_SSO_URL): "ftp://login.work.weixin.qq.com" is not an http(s) URL`,
			},
		},
		{
			name: "wecom corp id alone",
			edit: func(c *config.Config) { c.WeCom.CorpID = "ww1" },
			want: []string{
				"wecom.agent_id (WECOM_AGENT_ID): missing",
				"wecom.secret (WECOM_SECRET): missing",
				"wecom: no way to receive messages",
			},
		},
		{
			name: "wecom settings without corp id",
			edit: func(c *config.Config) { c.WeCom.Secret = "w"; c.WeCom.Token = "t" },
			want: []string{
				"wecom.secret (WECOM_SECRET): set, but wecom.corp_id (WECOM_CORP_ID) is empty",
				"wecom.token (WECOM_TOKEN): set, but wecom.corp_id (WECOM_CORP_ID) is empty",
			},
		},
		{
			name:   "wecom aes key length",
			edit:   func(c *config.Config) { wecom(c); c.WeCom.AESKey = "SECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }, // 42
			want:   []string{"wecom.aes_key (WECOM_AES_KEY): must be 43 characters (the EncodingAESKey from the callback settings), got 42"},
			secret: "SECRETxxx",
		},
		{
			name:   "wecom aes key not base64",
			edit:   func(c *config.Config) { wecom(c); c.WeCom.AIBotAESKey = strings.Repeat("!", 43) },
			want:   []string{"wecom.aibot_aes_key (WECOM_AIBOT_AES_KEY): not an EncodingAESKey"},
			secret: "!!!!",
		},
		{
			name: "wecom token without aes key",
			edit: func(c *config.Config) { wecom(c); c.WeCom.AESKey = "" },
			want: []string{"wecom.aes_key (WECOM_AES_KEY): missing: required when wecom.token (WECOM_TOKEN) is set"},
		},
		{
			name: "wecom aibot aes key without token",
			edit: func(c *config.Config) { wecom(c); c.WeCom.AIBotToken = "" },
			want: []string{"wecom.aibot_token (WECOM_AIBOT_TOKEN): missing: required when wecom.aibot_aes_key (WECOM_AIBOT_AES_KEY) is set"},
		},
		{
			name: "wecom agent id not a number",
			edit: func(c *config.Config) { wecom(c); c.WeCom.AgentID = "app" },
			want: []string{`wecom.agent_id (WECOM_AGENT_ID): "app" is not a number`},
		},
		{name: "wecom complete", edit: wecom},
		{
			name: "service account complete",
			edit: func(c *config.Config) {
				c.WeChatOA = config.WeChatOA{AppID: "wx1", AppSecret: "s", Token: "t", AESKey: aesKey(),
					BaseURL: "https://api.weixin.qq.com", StatusTemplate: config.OATemplate{ID: "tmpl", StatusField: "thing2"}}
			},
		},
		{
			name: "service account without token and key",
			edit: func(c *config.Config) {
				c.WeChatOA = config.WeChatOA{AppID: "wx1", AppSecret: "oa-secret-value", BaseURL: "https://api.weixin.qq.com", AESKey: "short"}
			},
			want: []string{
				"wechat_oa.token (WECHAT_OA_TOKEN): missing: required when wechat_oa.app_id (WECHAT_OA_APP_ID) is set",
				"wechat_oa.aes_key (WECHAT_OA_AES_KEY): must be 43 characters",
			},
			secret: "oa-secret-value",
		},
		{
			name: "service account settings without app id",
			edit: func(c *config.Config) { c.WeChatOA.AppSecret = "x" },
			want: []string{"wechat_oa.app_secret (WECHAT_OA_APP_SECRET): set, but wechat_oa.app_id (WECHAT_OA_APP_ID) is empty"},
		},
		{
			name: "service account menu of four",
			edit: func(c *config.Config) {
				c.WeChatOA.Menu = append(c.WeChatOA.Menu, config.OAMenuButton{Name: "一二三四五六七"})
			},
			want: []string{"wechat_oa.menu: 4 buttons: WeChat's menu takes at most 3", `wechat_oa.menu[3].name: "一二三四五六七"`},
		},
		{
			name: "wecom with the AI bot only",
			edit: func(c *config.Config) { wecom(c); c.WeCom.Token, c.WeCom.AESKey = "", "" },
		},
		{
			name: "problems in many places are all reported",
			edit: func(c *config.Config) {
				c.Members[2].Role = "boss"
				c.Groups[0].Node = "grid9"
				c.Limits.FeishuPerChat = 0
			},
			want: []string{
				`members[2].role: unknown role "boss"`,
				`groups[0].node: unknown org node "grid9"`,
				`limits.feishu_per_chat: must be positive`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Demo()
			tt.edit(c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted it, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q; got:\n%v", w, err)
				}
			}
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, l := range lines {
				if !keyed.MatchString(l) {
					t.Errorf("problem does not begin with its key: %q", l)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error echoes the secret %q:\n%v", tt.secret, err)
			}
		})
	}
}

// wecom sets a complete WeCom app with both callback and AI bot.
func wecom(c *config.Config) {
	c.WeCom.CorpID = "ww1234567890abcdef"
	c.WeCom.AgentID = "1000002"
	c.WeCom.Secret = "app-secret"
	c.WeCom.Token = "callbacktoken"
	c.WeCom.AESKey = aesKey()
	c.WeCom.AIBotToken = "aibottoken"
	c.WeCom.AIBotAESKey = aesKey()
}
