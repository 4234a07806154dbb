package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/config"
)

// env is a getenv over a map.
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// writeFile writes a config file into a temporary directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// minimal is the smallest valid file: a tree and nothing else.
const minimal = `
org:
  - id: xingfu
    name: 幸福社区
    kind: community
`

func TestLoadWithoutFileIsTheDemo(t *testing.T) {
	c, err := config.Load(env(nil), "")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(c, config.Demo()) {
		t.Errorf("Load with no file and no environment is not Demo():\n%+v", c)
	}
	if !c.LocalEnabled() || c.FeishuEnabled() || c.WeComEnabled() {
		t.Errorf("demo platforms: local=%v feishu=%v wecom=%v, want local only", c.LocalEnabled(), c.FeishuEnabled(), c.WeComEnabled())
	}
}

func TestLoadNilGetenv(t *testing.T) {
	if _, err := config.Load(nil, ""); err != nil {
		t.Fatalf("Load(nil, \"\"): %v", err)
	}
}

func TestDemo(t *testing.T) {
	c := config.Demo()
	if err := c.Validate(); err != nil {
		t.Fatalf("Demo() does not validate:\n%v", err)
	}

	groups := map[string]string{}
	for _, g := range c.Groups {
		groups[g.ID] = g.Node
	}
	if groups["local:xingfuli"] != "grid1" || groups["local:yangguang"] != "grid2" || groups["local:hexie"] != "grid3" {
		t.Errorf("demo groups bound to %v, want local:xingfuli→grid1, local:yangguang→grid2, local:hexie→grid3", groups)
	}

	roles := map[string]int{}
	for _, m := range c.Members {
		roles[m.Role]++
		if m.Role == config.RoleResident && (m.Phone == "" || m.Door == "") {
			t.Errorf("demo resident %s has no phone or door: the privacy masking has nothing to show", m.Name)
		}
		if m.Role == config.RoleMember && (len(m.Duties) == 0 || len(m.Teams) == 0) {
			t.Errorf("demo member %s has no duties or teams: routing has nothing to use", m.Name)
		}
	}
	want := map[string]int{"secretary": 2, "member": 4, "resident": 3, "gridworker": 1, "street": 1}
	if !reflect.DeepEqual(roles, want) {
		t.Errorf("demo roles = %v, want %v", roles, want)
	}

	rules := []string{}
	for _, s := range c.Schedules {
		rules = append(rules, s.Rule)
	}
	if !reflect.DeepEqual(rules, []string{"每月第一个周五 15:00", "每季度第一个月15日 9:30"}) {
		t.Errorf("demo schedule rules = %q", rules)
	}

	// Each call is a fresh copy: one caller's edit does not leak into the next demo.
	c.Members[0].Name = "changed"
	c.Org[0].Children[0].Name = "changed"
	if d := config.Demo(); d.Members[0].Name != "王书记" || d.Org[0].Children[0].Name != "幸福社区" {
		t.Error("Demo() shares data between calls")
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil), writeFile(t, minimal))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"bot_name", c.BotName, "邻里帮"},
		{"addr", c.Addr, "127.0.0.1:8080"}, // the playground: this machine only
		{"data_dir", c.DataDir, "./data"},
		{"redis_url", c.RedisURL, ""},
		{"log_level", c.LogLevel, "info"},
		{"level", c.Level(), slog.LevelInfo},
		{"deadlines.remind_before", c.Deadlines.RemindBefore.Duration(), 24 * time.Hour},
		{"deadlines.workday_start", c.Deadlines.WorkdayStart, "08:00"},
		{"deadlines.workday_end", c.Deadlines.WorkdayEnd, "20:00"},
		{"deadlines.escalate_community_days", c.Deadlines.EscalateCommunityDays, 2},
		{"deadlines.escalate_street_days", c.Deadlines.EscalateStreetDays, 5},
		{"deadlines.reannounce_after", c.Deadlines.ReannounceAfter.Duration(), 24 * time.Hour},
		{"deadlines.auto_close_after", c.Deadlines.AutoCloseAfter.Duration(), 72 * time.Hour},
		{"privacy.retention", c.Privacy.Retention.Duration(), 180 * 24 * time.Hour},
		{"limits.feishu_per_chat", c.Limits.FeishuPerChat, 5},
		{"limits.feishu_per_app", c.Limits.FeishuPerApp, 50},
		{"limits.wecom_robot_per_minute", c.Limits.WeComRobotPerMinute, 20},
		{"limits.outbox_max_attempts", c.Limits.OutboxMaxAttempts, 12},
		{"notices.export_link_ttl", c.Notices.ExportLinkTTL.Duration(), 7 * 24 * time.Hour},
		{"feishu.mode", c.Feishu.Mode, "http"},
		{"feishu.base_url", c.Feishu.BaseURL, "https://open.feishu.cn"},
		{"wecom.base_url", c.WeCom.BaseURL, "https://qyapi.weixin.qq.com"},
		{"local enabled", c.LocalEnabled(), true},
		{"groups", len(c.Groups), 0},
		{"members", len(c.Members), 0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestFileOverridesDefaultsOnlyWhereSet(t *testing.T) {
	c, err := config.Load(env(nil), writeFile(t, minimal+`
bot_name: 小邻
deadlines:
  remind_before: 90m
limits:
  outbox_max_attempts: 3
`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.BotName != "小邻" || c.Deadlines.RemindBefore.Duration() != 90*time.Minute || c.Limits.OutboxMaxAttempts != 3 {
		t.Errorf("file values not applied: bot_name=%q remind_before=%s outbox_max_attempts=%d",
			c.BotName, c.Deadlines.RemindBefore, c.Limits.OutboxMaxAttempts)
	}
	// Siblings in the same sections keep their defaults.
	if c.Deadlines.EscalateStreetDays != 5 || c.Limits.FeishuPerChat != 5 || c.Addr != config.DefaultPlaygroundAddr {
		t.Errorf("defaults lost next to file values: escalate_street_days=%d feishu_per_chat=%d addr=%q",
			c.Deadlines.EscalateStreetDays, c.Limits.FeishuPerChat, c.Addr)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeFile(t, minimal+`
addr: ":9000"
log_level: debug
data_dir: /var/lib/file
feishu:
  app_id: cli_from_file
  mode: ws
`)
	c, err := config.Load(env(map[string]string{
		"NEIGHBORBOT_ADDR":      ":7000",
		"NEIGHBORBOT_DATA":      "/srv/neighborbot",
		"NEIGHBORBOT_REDIS_URL": "redis://localhost:6379/0",
		"NEIGHBORBOT_HOLIDAYS":  "/etc/neighborbot/holidays.yaml",
		"NEIGHBORBOT_BOT_NAME":  "小邻",
		"FEISHU_APP_ID":         "cli_from_env",
		"FEISHU_APP_SECRET":     "s3cret\n", // pasted from a file, newline and all
		"FEISHU_BASE_URL":       "http://127.0.0.1:9999",
		"WECOM_CORP_ID":         "ww123",
		"WECOM_AGENT_ID":        "1000002",
		"WECOM_SECRET":          "wsecret",
		"WECOM_AIBOT_TOKEN":     "tok",
		"WECOM_AIBOT_AES_KEY":   aesKey(),
	}), path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"addr", c.Addr, ":7000"},
		{"log_level (file, no env)", c.LogLevel, "debug"},
		{"data_dir", c.DataDir, "/srv/neighborbot"},
		{"redis_url", c.RedisURL, "redis://localhost:6379/0"},
		{"holidays_file", c.HolidaysFile, "/etc/neighborbot/holidays.yaml"},
		{"bot_name", c.BotName, "小邻"},
		{"feishu.app_id", c.Feishu.AppID, "cli_from_env"},
		{"feishu.app_secret", c.Feishu.AppSecret, "s3cret"},
		{"feishu.mode (file, no env)", c.Feishu.Mode, "ws"},
		{"feishu.base_url", c.Feishu.BaseURL, "http://127.0.0.1:9999"},
		{"wecom.corp_id", c.WeCom.CorpID, "ww123"},
		{"wecom.agent_id", c.WeCom.AgentID, "1000002"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c.FeishuEnabled() || !c.WeComEnabled() || c.LocalEnabled() {
		t.Errorf("platforms: local=%v feishu=%v wecom=%v, want feishu and wecom", c.LocalEnabled(), c.FeishuEnabled(), c.WeComEnabled())
	}
}

func TestEnvOverridesDemo(t *testing.T) {
	c, err := config.Load(env(map[string]string{"NEIGHBORBOT_LOG_LEVEL": "warn", "NEIGHBORBOT_ADDR": "127.0.0.1:8081"}), "")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Level() != slog.LevelWarn || c.Addr != "127.0.0.1:8081" || len(c.Groups) != 3 {
		t.Errorf("demo + env: level=%v addr=%q groups=%d", c.Level(), c.Addr, len(c.Groups))
	}
}

func TestEnvIsValidatedAndNamed(t *testing.T) {
	_, err := config.Load(env(map[string]string{"FEISHU_APP_ID": "cli_x", "FEISHU_MODE": "grpc"}), "")
	if err == nil {
		t.Fatal("Load accepted FEISHU_APP_ID without a secret and FEISHU_MODE=grpc")
	}
	for _, want := range []string{
		"config (demo + environment)",
		`feishu.mode (FEISHU_MODE): unknown mode "grpc"`,
		"feishu.app_secret (FEISHU_APP_SECRET): missing",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestConfigPathFromEnv(t *testing.T) {
	path := writeFile(t, minimal+"bot_name: 从环境变量\n")
	c, err := config.Load(env(map[string]string{"NEIGHBORBOT_CONFIG": path}), "")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.BotName != "从环境变量" {
		t.Errorf("NEIGHBORBOT_CONFIG not read: bot_name = %q", c.BotName)
	}

	// An explicit path wins over the variable.
	other := writeFile(t, minimal+"bot_name: 参数\n")
	c, err = config.Load(env(map[string]string{"NEIGHBORBOT_CONFIG": path}), other)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.BotName != "参数" {
		t.Errorf("path argument did not win over NEIGHBORBOT_CONFIG: bot_name = %q", c.BotName)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error
	}{
		{
			name: "unknown top-level key",
			yaml: "bot_nme: 邻里帮\n" + minimal,
			want: []string{`line 1: unknown key "bot_nme" (in the top level)`},
		},
		{
			name: "unknown nested key",
			yaml: minimal + `
members:
  - id: local:a
    name: 阿
    role: resident
    node: xingfu
    mobile: "13800001234"
`,
			want: []string{`line 12: unknown key "mobile" (in a member)`},
		},
		{
			name: "unknown key in a section",
			yaml: minimal + "feishu:\n  appid: cli_x\n",
			want: []string{`line 7: unknown key "appid" (in feishu)`},
		},
		{
			name: "tab indentation",
			yaml: "bot_name: 邻里帮\naddr: \":8080\"\norg:\n\t- id: a\n",
			want: []string{"line 4: found character that cannot start any token"},
		},
		{
			name: "bad indentation",
			yaml: "bot_name: 邻里帮\nlog_level: info\n  data_dir: ./data\n",
			want: []string{"line 3: mapping values are not allowed"},
		},
		{
			name: "key given twice",
			yaml: minimal + "bot_name: a\nbot_name: b\n",
			want: []string{`line 7: mapping key "bot_name" already defined at line 6`},
		},
		{
			name: "bare number as duration",
			yaml: minimal + "deadlines:\n  remind_before: 24\n",
			want: []string{`line 7: "24" is not a duration`},
		},
		{
			name: "duration as a list",
			yaml: minimal + "deadlines:\n  auto_close_after: [1h]\n",
			want: []string{"line 7: want a duration"},
		},
		{
			name: "wrong type",
			yaml: minimal + "limits:\n  feishu_per_chat: fast\n",
			want: []string{"line 7", "fast"},
		},
		{
			name: "empty file: defaults without an org",
			yaml: "",
			want: []string{"org: empty"},
		},
		{
			name: "valid YAML, invalid config",
			yaml: minimal + "groups:\n  - id: local:g\n    name: 群\n    node: grid9\n",
			want: []string{`groups[0].node: unknown org node "grid9"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.yaml)
			_, err := config.Load(env(nil), path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file %s:\n%v", path, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := config.Load(env(nil), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load(missing file) = %v, want an error naming %s", err, path)
	}
}

func TestPersonas(t *testing.T) {
	c := config.Demo()
	p := c.Personas()
	var ids []string
	for _, m := range p {
		ids = append(ids, m.ID)
	}
	want := []string{"local:wang", "local:li", "local:zhang", "local:zhao", "local:chen", "local:liu", "local:sun", "local:zhou",
		"local:he", "local:qian", "local:wu"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("Personas() = %v, want config order %v", ids, want)
	}
	p[0].Name = "changed"
	if c.Members[0].Name != "王书记" {
		t.Error("Personas() returned the config's own slice")
	}
}

func TestFindNodeAndPath(t *testing.T) {
	c := config.Demo()
	n, ok := c.FindNode("grid1-b3")
	if !ok || n.Name != "3栋" || n.Kind != config.KindBuilding {
		t.Errorf("FindNode(grid1-b3) = %+v, %v", n, ok)
	}
	if _, ok := c.FindNode("grid9"); ok {
		t.Error("FindNode(grid9) found something")
	}
	var ids []string
	for _, n := range c.NodePath("grid1-b3-u2") {
		ids = append(ids, n.ID)
	}
	if want := []string{"street", "xingfu", "grid1", "grid1-b3", "grid1-b3-u2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("NodePath(grid1-b3-u2) = %v, want %v", ids, want)
	}
	if p := c.NodePath("grid9"); p != nil {
		t.Errorf("NodePath(grid9) = %v, want nil", p)
	}
}

func TestPlatform(t *testing.T) {
	for id, want := range map[string]string{"feishu:oc_1": "feishu", "local:wang": "local", "wecom:a:b": "wecom", "nocolon": ""} {
		if got := config.Platform(id); got != want {
			t.Errorf("Platform(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c := config.Demo()
	secrets := []string{"FS-APP-SECRET", "FS-VERIFY", "FS-ENCRYPT", "WC-SECRET", "WC-TOKEN", "WC-AIBOT-TOKEN", "ROBOT-KEY", "REDIS-PASS"}
	c.Feishu = config.Feishu{AppID: "cli_visible", AppSecret: secrets[0], VerificationToken: secrets[1], EncryptKey: secrets[2], Mode: "http", BaseURL: "https://open.feishu.cn"}
	c.WeCom = config.WeCom{CorpID: "ww_visible", AgentID: "1000002", Secret: secrets[3], Token: secrets[4], AESKey: aesKey(),
		AIBotToken: secrets[5], AIBotAESKey: aesKey(), BaseURL: "https://qyapi.weixin.qq.com"}
	c.Groups = append(c.Groups, config.Group{ID: "wecom:wr1", Name: "企微群", Node: "grid1", RobotKey: secrets[6]})
	c.RedisURL = "redis://:" + secrets[7] + "@localhost:6379/0"
	if err := c.Validate(); err != nil {
		t.Fatalf("setup does not validate: %v", err)
	}
	secrets = append(secrets, aesKey())
	var personal []string
	for _, m := range c.Members {
		if m.Phone != "" {
			personal = append(personal, m.Phone)
		}
	}

	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	log.Info("start", "config", c, "config_value", *c, "feishu", c.Feishu, "group", c.Groups[2], "member", c.Members[4])
	var jsonLogged bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLogged, nil)).Info("start", "config", c)

	outputs := map[string]string{
		"slog text": logged.String(),
		"slog json": jsonLogged.String(),
		"fmt":       fmt.Sprintf("%v %+v %#v %s", c, *c, c, c),
		"fmt parts": fmt.Sprintf("%v %+v %#v %v %+v %#v %v %#v", c.Feishu, c.Feishu, c.Feishu, c.WeCom, c.WeCom, c.WeCom, c.Groups[2], c.Groups),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output leaks secret %q:\n%s", name, s, out)
			}
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s output does not show that secrets are set:\n%s", name, out)
		}
	}
	for _, name := range []string{"slog text", "slog json"} {
		for _, p := range personal {
			if strings.Contains(outputs[name], p) {
				t.Errorf("%s output leaks a phone number:\n%s", name, outputs[name])
			}
		}
		for _, want := range []string{"cli_visible", "ww_visible", "localhost:6379", "邻里帮"} {
			if !strings.Contains(outputs[name], want) {
				t.Errorf("%s output lacks %q (not a secret, useful to see):\n%s", name, want, outputs[name])
			}
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:               "24h",
		90 * time.Minute:             "1h30m",
		30 * time.Minute:             "30m",
		0:                            "0s",
		90 * time.Second:             "1m30s",
		2*time.Hour + 30*time.Second: "2h0m30s",
	} {
		if got := config.Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", time.Duration(d), got, want)
		}
		if back, err := time.ParseDuration(want); err != nil || back != d {
			t.Errorf("%q does not parse back to %v", want, d)
		}
	}
}

// privacy.retention takes a Go duration or days, from the file or the environment; a value
// that does not parse or is under a day is refused, naming the key and the variable.
func TestPrivacyRetention(t *testing.T) {
	tests := []struct {
		file, env string
		want      time.Duration
		err       string
	}{
		{file: "privacy:\n  retention: 90d\n", want: 90 * 24 * time.Hour},
		{file: "privacy:\n  retention: 720h\n", want: 30 * 24 * time.Hour},
		{file: "privacy:\n  retention: 90d\n", env: "365d", want: 365 * 24 * time.Hour},
		{env: "2160h", want: 90 * 24 * time.Hour},
		{file: "privacy:\n  retention: 1h\n", err: "privacy.retention (NEIGHBORBOT_PRIVACY_RETENTION): must be at least a day"},
		{file: "privacy:\n  retention: 180\n", err: `"180" is not a duration`},
		{env: "half a year", err: `privacy.retention (NEIGHBORBOT_PRIVACY_RETENTION): "half a year" is not a duration`},
		{env: "-3d", err: `"-3d" is not a number of days`},
	}
	for _, tt := range tests {
		c, err := config.Load(env(map[string]string{"NEIGHBORBOT_PRIVACY_RETENTION": tt.env}), writeFile(t, minimal+tt.file))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("file %q env %q: err %v, want %q", tt.file, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("file %q env %q: %v", tt.file, tt.env, err)
			continue
		}
		if got := c.Privacy.Retention.Duration(); got != tt.want {
			t.Errorf("file %q env %q: retention %v, want %v", tt.file, tt.env, got, tt.want)
		}
	}
}

// backup.dir comes from the file or NEIGHBORBOT_BACKUP_DIR and must be absolute; keep is at
// least one and 14 by default.
func TestBackup(t *testing.T) {
	tests := []struct {
		file, env string
		dir       string
		keep      int
		err       string
	}{
		{keep: 14},
		{file: "backup:\n  dir: /srv/nb\n  keep: 30\n", dir: "/srv/nb", keep: 30},
		{file: "backup:\n  dir: /srv/nb\n", env: "/var/lib/neighborbot/backups", dir: "/var/lib/neighborbot/backups", keep: 14},
		{env: "backups", err: "backup.dir (NEIGHBORBOT_BACKUP_DIR): must be an absolute path"},
		{file: "backup:\n  keep: 0\n", err: "backup.keep: must be at least 1"},
	}
	for _, tt := range tests {
		c, err := config.Load(env(map[string]string{"NEIGHBORBOT_BACKUP_DIR": tt.env}), writeFile(t, minimal+tt.file))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("file %q env %q: err %v, want %q", tt.file, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("file %q env %q: %v", tt.file, tt.env, err)
			continue
		}
		if c.Backup.Dir != tt.dir || c.Backup.Keep != tt.keep {
			t.Errorf("file %q env %q: backup %+v, want dir %q keep %d", tt.file, tt.env, c.Backup, tt.dir, tt.keep)
		}
	}
}

// The playground lets whoever reaches it act as anyone: unless told otherwise it listens on
// this machine only; with a platform configured the callbacks must be reachable, on :8080.
func TestDefaultAddrDependsOnPlatforms(t *testing.T) {
	wecom := map[string]string{"WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s",
		"WECOM_TOKEN": "t", "WECOM_AES_KEY": strings.Repeat("a", 43)}
	tests := []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{"playground", nil, "", "127.0.0.1:8080"},
		{"playground, NEIGHBORBOT_ADDR", map[string]string{"NEIGHBORBOT_ADDR": ":9000"}, "", ":9000"},
		{"playground, addr in the file", nil, "addr: \"0.0.0.0:8080\"\n", "0.0.0.0:8080"},
		{"wecom", wecom, "", ":8080"},
		{"feishu", map[string]string{"FEISHU_APP_ID": "cli_1", "FEISHU_APP_SECRET": "s", "FEISHU_MODE": "ws"}, "", ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(tt.env), writeFile(t, minimal+tt.file))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Addr != tt.want {
				t.Errorf("addr = %q, want %q", c.Addr, tt.want)
			}
		})
	}
}

// The admin listener (metrics, pprof) is on loopback unless told otherwise, pprof is off,
// and both are set from the file or the environment; a bad value is refused naming the key
// and the variable.
func TestAdminListener(t *testing.T) {
	tests := []struct {
		file  string
		env   map[string]string
		addr  string
		pprof bool
		err   string
	}{
		{addr: "127.0.0.1:9091"},
		{file: "admin_addr: 10.0.0.5:9100\npprof: true\n", addr: "10.0.0.5:9100", pprof: true},
		{file: "admin_addr: 10.0.0.5:9100\n", env: map[string]string{"NEIGHBORBOT_ADMIN_ADDR": ":9200", "NEIGHBORBOT_PPROF": "1"}, addr: ":9200", pprof: true},
		{file: "pprof: true\n", env: map[string]string{"NEIGHBORBOT_PPROF": "0"}, addr: "127.0.0.1:9091"},
		{env: map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "off"}, addr: "off"},
		{env: map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "9091"}, err: `admin_addr (NEIGHBORBOT_ADMIN_ADDR): "9091" is not host:port`},
		{env: map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "127.0.0.1:99999"}, err: `admin_addr (NEIGHBORBOT_ADMIN_ADDR): port "99999"`},
		{env: map[string]string{"NEIGHBORBOT_ADMIN_ADDR": ":8080", "NEIGHBORBOT_ADDR": ":8080"}, err: `":8080" is also addr`},
		{env: map[string]string{"NEIGHBORBOT_PPROF": "yes please"}, err: `pprof (NEIGHBORBOT_PPROF): "yes please" is not 1 or 0`},
		{env: map[string]string{"NEIGHBORBOT_ADMIN_ADDR": "off", "NEIGHBORBOT_PPROF": "1"}, err: "pprof (NEIGHBORBOT_PPROF): pprof is served on the admin listener"},
	}
	for _, tt := range tests {
		c, err := config.Load(env(tt.env), writeFile(t, minimal+tt.file))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("file %q env %v: err %v, want %q", tt.file, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("file %q env %v: %v", tt.file, tt.env, err)
			continue
		}
		if c.AdminAddr != tt.addr || c.Pprof != tt.pprof || c.AdminEnabled() != (tt.addr != "off") {
			t.Errorf("file %q env %v: admin_addr %q pprof %v enabled %v, want %q %v", tt.file, tt.env, c.AdminAddr, c.Pprof, c.AdminEnabled(), tt.addr, tt.pprof)
		}
	}
}
