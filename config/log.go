package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// What logs and fmt print of a config: enough to see what started, never a secret, never a
// resident's phone or door. Value receivers so a Config and a *Config both print this way.

const redacted = "[redacted]"

// redact shows whether a secret is set, not what it is.
func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// redactURL hides the password of a redis://user:pass@host URL.
func redactURL(raw string) string {
	if raw == "" || !strings.Contains(raw, "@") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return redacted
	}
	return u.Redacted()
}

// LogValue summarises the configuration with every secret redacted.
func (c Config) LogValue() slog.Value {
	var platforms []string
	if c.LocalEnabled() {
		platforms = append(platforms, PlatformLocal)
	}
	if c.FeishuEnabled() {
		platforms = append(platforms, PlatformFeishu)
	}
	if c.WeComEnabled() {
		platforms = append(platforms, PlatformWeCom)
	}
	if c.WeChatOAEnabled() {
		platforms = append(platforms, "oa")
	}
	nodes := 0
	var count func([]OrgNode)
	count = func(ns []OrgNode) {
		for _, n := range ns {
			nodes++
			count(n.Children)
		}
	}
	count(c.Org)
	return slog.GroupValue(
		slog.String("bot_name", c.BotName),
		slog.String("addr", c.Addr),
		slog.String("data_dir", c.DataDir),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.String("inbox_sync", c.InboxSync),
		slog.String("log_level", c.LogLevel),
		slog.String("admin_addr", c.AdminAddr),
		slog.Bool("pprof", c.Pprof),
		slog.String("holidays_file", c.HolidaysFile),
		slog.String("platforms", strings.Join(platforms, ",")),
		slog.Int("org_nodes", nodes),
		slog.Int("groups", len(c.Groups)),
		slog.Int("members", len(c.Members)),
		slog.Int("schedules", len(c.Schedules)),
		slog.Attr{Key: "feishu", Value: c.Feishu.LogValue()},
		slog.Attr{Key: "wecom", Value: c.WeCom.LogValue()},
		slog.Attr{Key: "wechat_oa", Value: c.WeChatOA.LogValue()},
	)
}

// String is LogValue as text, so fmt.Print(cfg) cannot leak a secret either.
func (c Config) String() string { return "config" + c.LogValue().String() }

// GoString keeps %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// LogValue shows the Feishu settings with secrets redacted.
func (f Feishu) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", f.AppID),
		slog.String("app_secret", redact(f.AppSecret)),
		slog.String("verification_token", redact(f.VerificationToken)),
		slog.String("encrypt_key", redact(f.EncryptKey)),
		slog.String("mode", f.Mode),
		slog.String("base_url", f.BaseURL),
	)
}

func (f Feishu) String() string   { return "feishu" + f.LogValue().String() }
func (f Feishu) GoString() string { return f.String() }

// LogValue shows the WeCom settings with secrets redacted.
func (w WeCom) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("corp_id", w.CorpID),
		slog.String("agent_id", w.AgentID),
		slog.String("secret", redact(w.Secret)),
		slog.String("token", redact(w.Token)),
		slog.String("aes_key", redact(w.AESKey)),
		slog.String("aibot_token", redact(w.AIBotToken)),
		slog.String("aibot_aes_key", redact(w.AIBotAESKey)),
		slog.String("base_url", w.BaseURL),
	)
}

func (w WeCom) String() string   { return "wecom" + w.LogValue().String() }
func (w WeCom) GoString() string { return w.String() }

// LogValue leaves out the robot webhook key: whoever has it can post into the group.
func (g Group) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", g.ID),
		slog.String("name", g.Name),
		slog.String("node", g.Node),
		slog.String("robot_key", redact(g.RobotKey)),
	)
}

func (g Group) String() string {
	return fmt.Sprintf("group{id=%s name=%s node=%s robot_key=%s}", g.ID, g.Name, g.Node, redact(g.RobotKey))
}
func (g Group) GoString() string { return g.String() }

// LogValue leaves out the phone and door: personal data stays out of logs.
func (m Member) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", m.ID),
		slog.String("name", m.Name),
		slog.String("role", m.Role),
		slog.String("node", m.Node),
	)
}

// LogValue shows the Service Account settings with secrets redacted.
func (w WeChatOA) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", w.AppID),
		slog.String("app_secret", redact(w.AppSecret)),
		slog.String("token", redact(w.Token)),
		slog.String("aes_key", redact(w.AESKey)),
		slog.String("base_url", w.BaseURL),
		slog.String("status_template", w.StatusTemplate.ID),
	)
}

func (w WeChatOA) String() string   { return "wechat_oa" + w.LogValue().String() }
func (w WeChatOA) GoString() string { return w.String() }
