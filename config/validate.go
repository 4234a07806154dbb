package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Validate reports every problem at once, joined, one per line, each starting with the key
// it is about ("members[2].role: ...") and, where an environment variable sets it, that
// variable too. Secrets never appear in the messages.
func (c *Config) Validate() error {
	v := &validator{env: map[string]string{}}
	for _, s := range c.envSettings() {
		v.env[s.key] = s.env
	}
	for _, s := range c.envDurations() {
		v.env[s.key] = s.env
	}
	v.env["pprof"] = envPprof
	for _, e := range c.envErrs {
		v.fail(e.key, "%v", e.err)
	}
	v.top(c)
	nodes := v.org(c.Org)
	v.groups(c.Groups, nodes)
	v.members(c.Members, nodes)
	v.schedules(c.Schedules, nodes)
	v.deadlines(c.Deadlines)
	v.privacy(c.Privacy)
	v.backup(c.Backup)
	v.ledger(c.Ledger, nodes)
	v.limits(c.Limits)
	v.positive("notices.export_link_ttl", c.Notices.ExportLinkTTL)
	if c.Console.BaseURL != "" {
		v.baseURL("console.base_url", c.Console.BaseURL)
	}
	v.feishu(c.Feishu)
	v.wecom(c.WeCom)
	v.wechatOA(c.WeChatOA)
	return errors.Join(v.errs...)
}

type validator struct {
	env  map[string]string // yaml key → environment variable
	errs []error
}

// fail records a problem with key.
func (v *validator) fail(key, format string, args ...any) {
	if env := v.env[key]; env != "" {
		key += " (" + env + ")"
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// kindLevel is a node kind's depth in the org tree: a child sits strictly below its parent.
func kindLevel(kind string) (int, bool) {
	switch kind {
	case KindStreet:
		return 0, true
	case KindCommunity:
		return 1, true
	case KindGrid:
		return 2, true
	case KindBuilding:
		return 3, true
	case KindUnit:
		return 4, true
	}
	return 0, false
}

func (v *validator) top(c *Config) {
	if strings.TrimSpace(c.BotName) == "" {
		v.fail("bot_name", "missing: the name the bot answers to, e.g. 邻里帮")
	}
	if c.Addr == "" {
		// Unset: Load picks DefaultAddr or DefaultPlaygroundAddr.
	} else if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		v.fail("addr", `%q is not host:port (e.g. ":8080", "127.0.0.1:8080")`, c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.fail("addr", "port %q is not a number from 0 to 65535", port)
	}
	switch {
	case c.AdminAddr == AdminOff:
	case c.AdminAddr == "":
		v.fail("admin_addr", `missing: host:port for /metrics (default %q), or %q`, DefaultAdminAddr, AdminOff)
	default:
		if _, port, err := net.SplitHostPort(c.AdminAddr); err != nil {
			v.fail("admin_addr", `%q is not host:port (e.g. %q) nor %q`, c.AdminAddr, DefaultAdminAddr, AdminOff)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			v.fail("admin_addr", "port %q is not a number from 0 to 65535", port)
		} else if c.AdminAddr == c.Addr && n != 0 {
			v.fail("admin_addr", "%q is also addr: the admin listener needs an address of its own", c.AdminAddr)
		}
	}
	if c.Pprof && c.AdminAddr == AdminOff {
		v.fail("pprof", "pprof is served on the admin listener, which admin_addr %q turns off", AdminOff)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		v.fail("data_dir", `missing: the directory for the embedded store, e.g. "./data"`)
	}
	v.redis(c.RedisURL)
	switch c.InboxSync {
	case InboxSyncCheckpoint, InboxSyncEvent:
	default:
		v.fail("inbox_sync", "unknown mode %q (want %q: flushed to the disk within 100 ms, or %q: flushed before each ack)", c.InboxSync, InboxSyncCheckpoint, InboxSyncEvent)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.fail("log_level", "unknown level %q (want debug, info, warn, error)", c.LogLevel)
	}
}

// redis accepts redis://, rediss:// or a comma-separated list of Cluster host:port nodes.
// The URL may carry a password, so it is never echoed.
func (v *validator) redis(raw string) {
	if raw == "" {
		return
	}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			v.fail("redis_url", "not a valid URL")
		case u.Scheme != "redis" && u.Scheme != "rediss":
			v.fail("redis_url", "scheme %q: want redis:// or rediss:// (or host:port,host:port for a Cluster)", u.Scheme)
		case u.Host == "":
			v.fail("redis_url", "no host: want e.g. redis://localhost:6379/0")
		}
		return
	}
	for i, addr := range strings.Split(raw, ",") {
		addr = strings.TrimSpace(addr)
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			if strings.Contains(addr, "@") { // user:password@host: keep the password out
				addr = redacted
			}
			v.fail("redis_url", "cluster node %d %q is not host:port (want redis://..., rediss://... or host:port,host:port)", i+1, addr)
		}
	}
}

// org checks the tree and returns its nodes by id, for the references that follow.
func (v *validator) org(roots []OrgNode) map[string]OrgNode {
	nodes := map[string]OrgNode{}
	where := map[string]string{}
	if len(roots) == 0 {
		v.fail("org", "empty: at least one street or community node is needed, with its grids")
		return nodes
	}
	var walk func(key string, ns []OrgNode, parent *OrgNode)
	walk = func(key string, ns []OrgNode, parent *OrgNode) {
		for i, n := range ns {
			k := fmt.Sprintf("%s[%d]", key, i)
			v.shortID(k+".id", n.ID)
			if n.ID != "" {
				// Registered even with a malformed id, so references to it do not
				// cascade into a second error.
				if prev, dup := where[n.ID]; dup {
					v.fail(k+".id", "duplicate id %q (also at %s)", n.ID, prev)
				} else {
					where[n.ID] = k
					nodes[n.ID] = n
				}
			}
			if strings.TrimSpace(n.Name) == "" {
				v.fail(k+".name", "missing: the name people use, e.g. 1网格")
			}
			const kinds = "want street, community, grid, building, unit"
			level, known := kindLevel(n.Kind)
			switch {
			case n.Kind == "":
				v.fail(k+".kind", "missing (%s)", kinds)
			case !known:
				v.fail(k+".kind", "unknown kind %q (%s)", n.Kind, kinds)
			case parent != nil:
				if pl, ok := kindLevel(parent.Kind); ok && pl >= level {
					v.fail(k+".kind", "a %s cannot sit under %s %q: each level is smaller (street > community > grid > building > unit)",
						n.Kind, parent.Kind, parent.ID)
				}
			}
			if n.Compound != "" && n.Kind != KindGrid {
				v.fail(k+".compound", "only a grid names its compound (小区); this node is a %s", n.Kind)
			}
			walk(k+".children", n.Children, &n)
		}
	}
	walk("org", roots, nil)
	return nodes
}

func (v *validator) groups(groups []Group, nodes map[string]OrgNode) {
	seen := map[string]int{}
	for i, g := range groups {
		k := fmt.Sprintf("groups[%d]", i)
		if v.chatID(k+".id", g.ID) {
			if prev, dup := seen[g.ID]; dup {
				v.fail(k+".id", "duplicate id %q (also groups[%d])", g.ID, prev)
			} else {
				seen[g.ID] = i
			}
		}
		if strings.TrimSpace(g.Name) == "" {
			v.fail(k+".name", "missing: the group's name, e.g. 幸福里小区群")
		}
		v.nodeRef(k+".node", g.Node, nodes)
		if g.RobotKey != "" && Platform(g.ID) != PlatformWeCom {
			v.fail(k+".robot_key", "only wecom groups have a group robot; this group is %q", Platform(g.ID))
		}
	}
}

func (v *validator) members(members []Member, nodes map[string]OrgNode) {
	seen := map[string]int{}
	for i, m := range members {
		k := fmt.Sprintf("members[%d]", i)
		if v.chatID(k+".id", m.ID) {
			if prev, dup := seen[m.ID]; dup {
				v.fail(k+".id", "duplicate id %q (also members[%d])", m.ID, prev)
			} else {
				seen[m.ID] = i
			}
		}
		if strings.TrimSpace(m.Name) == "" {
			v.fail(k+".name", "missing: the person's name")
		}
		const roles = "resident, member, gridworker, secretary, street"
		switch m.Role {
		case RoleResident, RoleMember, RoleGridWorker, RoleSecretary, RoleStreet:
		case "":
			v.fail(k+".role", "missing (want %s)", roles)
		default:
			v.fail(k+".role", "unknown role %q (want %s)", m.Role, roles)
		}
		if n, ok := v.nodeRef(k+".node", m.Node, nodes); ok && m.Role == RoleStreet && n.Kind != KindStreet {
			v.fail(k+".node", "role street belongs on a street node; %q is a %s", n.ID, n.Kind)
		}
		if m.Phone != "" && !phoneLike(m.Phone) {
			// The number itself is personal data: not echoed.
			v.fail(k+".phone", "not a phone number (digits, optionally +, -, spaces; 5 to 20 characters)")
		}
		v.labels(k+".duties", m.Duties)
		v.labels(k+".teams", m.Teams)
		if n := len([]rune(strings.TrimSpace(m.Unit))); n > 40 {
			v.fail(k+".unit", "too long (%d characters; at most 40)", n)
		}
	}
}

func (v *validator) ledger(l Ledger, nodes map[string]OrgNode) {
	check := func(k string, r PointsRule) {
		for _, f := range []struct {
			name string
			p    *int
		}{{"complete", r.Complete}, {"on_time", r.OnTime}, {"star", r.Star}, {"reopened", r.Reopened}} {
			name, p := f.name, f.p
			if p != nil && (*p < -1000 || *p > 1000) {
				v.fail(k+"."+name, "%d is out of range (-1000 to 1000)", *p)
			}
		}
	}
	check("ledger.points", l.Points)
	for _, id := range slices.Sorted(maps.Keys(l.Communities)) {
		r := l.Communities[id]
		k := "ledger.communities." + id
		if n, ok := nodes[id]; !ok {
			v.fail(k, "unknown org node %q", id)
		} else if n.Kind != KindCommunity {
			v.fail(k, "%q is a %s, not a community", id, n.Kind)
		}
		check(k, r)
	}
}

func phoneLike(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == '-', r == ' ':
		default:
			return false
		}
	}
	return digits >= 5 && len(s) <= 20
}

// labels checks duty or team labels: no blanks, no repeats.
func (v *validator) labels(key string, labels []string) {
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			v.fail(fmt.Sprintf("%s[%d]", key, i), "empty")
		} else if j := slices.Index(labels, l); j < i {
			v.fail(fmt.Sprintf("%s[%d]", key, i), "%q repeats %s[%d]", l, key, j)
		}
	}
}

func (v *validator) schedules(schedules []Schedule, nodes map[string]OrgNode) {
	seen := map[string]int{}
	for i, s := range schedules {
		k := fmt.Sprintf("schedules[%d]", i)
		if v.shortID(k+".id", s.ID) {
			if prev, dup := seen[s.ID]; dup {
				v.fail(k+".id", "duplicate id %q (also schedules[%d])", s.ID, prev)
			} else {
				seen[s.ID] = i
			}
		}
		const kinds = "theme, meeting, joint_activity, congress, standup, custom"
		switch s.Kind {
		case ScheduleTheme, ScheduleMeeting, ScheduleJointActivity, ScheduleCongress, ScheduleStandup, ScheduleCustom:
		case "":
			v.fail(k+".kind", "missing (want %s)", kinds)
		default:
			v.fail(k+".kind", "unknown kind %q (want %s)", s.Kind, kinds)
		}
		if strings.TrimSpace(s.Rule) == "" {
			v.fail(k+".rule", `missing: when it recurs, e.g. "每月第一个周五 15:00"`)
		}
		if strings.TrimSpace(s.Title) == "" {
			v.fail(k+".title", "missing: what it is called, e.g. 主题党日")
		}
		for j, n := range s.Nodes {
			v.nodeRef(fmt.Sprintf("%s.nodes[%d]", k, j), n, nodes)
		}
		for j, r := range s.Remind {
			rk := fmt.Sprintf("%s.remind[%d]", k, j)
			d, err := time.ParseDuration(r)
			switch {
			case err != nil:
				v.fail(rk, `%q is not a duration (want e.g. "72h", "24h", "30m")`, r)
			case d <= 0:
				v.fail(rk, "%q: must be positive (how long before it starts)", r)
			case slices.Index(s.Remind, r) < j:
				v.fail(rk, "%q is listed twice", r)
			}
		}
	}
}

func (v *validator) deadlines(d DeadlinePolicy) {
	v.positive("deadlines.remind_before", d.RemindBefore)
	v.positive("deadlines.reannounce_after", d.ReannounceAfter)
	v.positive("deadlines.auto_close_after", d.AutoCloseAfter)
	start, okStart := v.clock("deadlines.workday_start", d.WorkdayStart)
	end, okEnd := v.clock("deadlines.workday_end", d.WorkdayEnd)
	if okStart && okEnd && !start.Before(end) {
		v.fail("deadlines.workday_end", "%s is not after workday_start %s", d.WorkdayEnd, d.WorkdayStart)
	}
	if d.EscalateCommunityDays <= 0 {
		v.fail("deadlines.escalate_community_days", "must be positive, got %d", d.EscalateCommunityDays)
	}
	if d.EscalateStreetDays <= 0 {
		v.fail("deadlines.escalate_street_days", "must be positive, got %d", d.EscalateStreetDays)
	} else if d.EscalateCommunityDays > 0 && d.EscalateStreetDays < d.EscalateCommunityDays {
		v.fail("deadlines.escalate_street_days", "%d comes before escalate_community_days %d: an overdue item goes to the community first, then the street",
			d.EscalateStreetDays, d.EscalateCommunityDays)
	}
}

func (v *validator) privacy(p Privacy) {
	if p.Retention < Duration(24*time.Hour) {
		v.fail("privacy.retention", "must be at least a day (24h or 1d), got %s", p.Retention)
	}
}

func (v *validator) backup(b Backup) {
	if b.Keep < 1 {
		v.fail("backup.keep", "must be at least 1 (the number of daily files kept), got %d", b.Keep)
	}
	if b.Dir != "" && !filepath.IsAbs(b.Dir) {
		v.fail("backup.dir", "must be an absolute path (a service's working directory is not yours), got %q", b.Dir)
	}
}

func (v *validator) positive(key string, d Duration) {
	if d <= 0 {
		v.fail(key, "must be positive, got %s", d)
	}
}

func (v *validator) clock(key, hhmm string) (time.Time, bool) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		v.fail(key, `%q is not a time of day like "08:00"`, hhmm)
		return t, false
	}
	return t, true
}

func (v *validator) limits(l Limits) {
	for _, f := range []struct {
		key string
		n   int
	}{
		{"limits.feishu_per_chat", l.FeishuPerChat},
		{"limits.feishu_per_app", l.FeishuPerApp},
		{"limits.wecom_robot_per_minute", l.WeComRobotPerMinute},
		{"limits.outbox_max_attempts", l.OutboxMaxAttempts},
	} {
		if f.n <= 0 {
			v.fail(f.key, "must be positive, got %d", f.n)
		}
	}
}

func (v *validator) feishu(f Feishu) {
	switch f.Mode {
	case FeishuHTTP, FeishuWS:
	default:
		v.fail("feishu.mode", "unknown mode %q (want http: Feishu calls our URL, or ws: long connection)", f.Mode)
	}
	v.baseURL("feishu.base_url", f.BaseURL)
	if f.AppID == "" {
		for _, set := range []struct{ key, val string }{
			{"feishu.app_secret", f.AppSecret},
			{"feishu.verification_token", f.VerificationToken},
			{"feishu.encrypt_key", f.EncryptKey},
		} {
			if set.val != "" {
				v.fail(set.key, "set, but feishu.app_id (FEISHU_APP_ID) is empty: set the app id too, or unset this")
			}
		}
		return
	}
	if f.AppSecret == "" {
		v.fail("feishu.app_secret", "missing: required when feishu.app_id (FEISHU_APP_ID) is set")
	}
	if f.Mode == FeishuHTTP && f.EncryptKey == "" {
		v.fail("feishu.encrypt_key", "missing: in http mode, without an encrypt key Feishu events cannot be authenticated "+
			"(the SDK would accept forged events); set the Encrypt Key from the app's event subscription page, or use mode ws")
	}
}

func (v *validator) wecom(w WeCom) {
	v.baseURL("wecom.base_url", w.BaseURL)
	// The sign-in pages' hosts: empty takes WeCom's (the adapter's defaults).
	if w.OAuthURL != "" {
		v.baseURL("wecom.oauth_url", w.OAuthURL)
	}
	if w.SSOURL != "" {
		v.baseURL("wecom.sso_url", w.SSOURL)
	}
	v.aesKey("wecom.aes_key", w.AESKey)
	v.aesKey("wecom.aibot_aes_key", w.AIBotAESKey)
	if w.CorpID == "" {
		for _, set := range []struct{ key, val string }{
			{"wecom.agent_id", w.AgentID},
			{"wecom.secret", w.Secret},
			{"wecom.token", w.Token},
			{"wecom.aes_key", w.AESKey},
			{"wecom.aibot_token", w.AIBotToken},
			{"wecom.aibot_aes_key", w.AIBotAESKey},
		} {
			if set.val != "" {
				v.fail(set.key, "set, but wecom.corp_id (WECOM_CORP_ID) is empty: set the corp id too, or unset this")
			}
		}
		return
	}
	if w.AgentID == "" {
		v.fail("wecom.agent_id", "missing: required when wecom.corp_id (WECOM_CORP_ID) is set")
	} else if _, err := strconv.ParseUint(w.AgentID, 10, 64); err != nil {
		v.fail("wecom.agent_id", "%q is not a number (the app's AgentId, e.g. 1000002)", w.AgentID)
	}
	if w.Secret == "" {
		v.fail("wecom.secret", "missing: required when wecom.corp_id (WECOM_CORP_ID) is set")
	}
	pair := func(tokenKey, token, aesKey, aes string) {
		if token != "" && aes == "" {
			v.fail(aesKey, "missing: required when %s (%s) is set", tokenKey, v.env[tokenKey])
		}
		if token == "" && aes != "" {
			v.fail(tokenKey, "missing: required when %s (%s) is set", aesKey, v.env[aesKey])
		}
	}
	pair("wecom.token", w.Token, "wecom.aes_key", w.AESKey)
	pair("wecom.aibot_token", w.AIBotToken, "wecom.aibot_aes_key", w.AIBotAESKey)
	if w.Token == "" && w.AESKey == "" && w.AIBotToken == "" && w.AIBotAESKey == "" {
		v.fail("wecom", "no way to receive messages: set wecom.token and wecom.aes_key (WECOM_TOKEN, WECOM_AES_KEY: app callback) "+
			"or wecom.aibot_token and wecom.aibot_aes_key (WECOM_AIBOT_TOKEN, WECOM_AIBOT_AES_KEY: AI bot)")
	}
}

func (v *validator) wechatOA(w WeChatOA) {
	v.baseURL("wechat_oa.base_url", w.BaseURL)
	v.aesKey("wechat_oa.aes_key", w.AESKey)
	if len(w.Menu) > 3 {
		v.fail("wechat_oa.menu", "%d buttons: WeChat's menu takes at most 3", len(w.Menu))
	}
	for i, b := range w.Menu {
		k := fmt.Sprintf("wechat_oa.menu[%d]", i)
		if b.Name == "" || len(b.Name) > 16 {
			v.fail(k+".name", "%q: a button name is 1 to 16 bytes (5 Chinese characters)", b.Name)
		}
		if len(b.Text) > 100 {
			v.fail(k+".text", "over 100 bytes: a click key is at most 128")
		}
	}
	if w.AppID == "" {
		for _, set := range []struct{ key, val string }{
			{"wechat_oa.app_secret", w.AppSecret},
			{"wechat_oa.token", w.Token},
			{"wechat_oa.aes_key", w.AESKey},
			{"wechat_oa.status_template.id", w.StatusTemplate.ID},
		} {
			if set.val != "" {
				v.fail(set.key, "set, but wechat_oa.app_id (WECHAT_OA_APP_ID) is empty: set the app id too, or unset this")
			}
		}
		return
	}
	for _, req := range []struct{ key, val string }{
		{"wechat_oa.app_secret", w.AppSecret},
		{"wechat_oa.token", w.Token},
		{"wechat_oa.aes_key", w.AESKey},
	} {
		if req.val == "" {
			v.fail(req.key, "missing: required when wechat_oa.app_id (WECHAT_OA_APP_ID) is set (safe mode only)")
		}
	}
	if t := w.StatusTemplate; t.ID != "" && t.ItemField == "" && t.StatusField == "" && t.TimeField == "" {
		v.fail("wechat_oa.status_template", "a template id without field names: set item_field, status_field and time_field")
	}
}

// aesKey checks an EncodingAESKey: 43 base64 characters that decode to a 32-byte AES key.
func (v *validator) aesKey(key, val string) {
	if val == "" {
		return
	}
	if len(val) != 43 {
		v.fail(key, "must be 43 characters (the EncodingAESKey from the callback settings), got %d", len(val))
		return
	}
	if b, err := base64.StdEncoding.DecodeString(val + "="); err != nil || len(b) != 32 {
		v.fail(key, "not an EncodingAESKey: 43 characters of letters and digits that decode to 32 bytes")
	}
}

func (v *validator) baseURL(key, raw string) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.fail(key, "%q is not an http(s) URL", raw)
	}
}

// shortID checks an org node or schedule id: letters, digits, "-", "_", "."; no ":" so it
// cannot be mistaken for a chat id.
func (v *validator) shortID(key, id string) bool {
	if id == "" {
		v.fail(key, "missing")
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			v.fail(key, "%q: use ASCII letters, digits, '-', '_' or '.' (e.g. grid1, grid1-b3)", id)
			return false
		}
	}
	return true
}

// chatID checks a group or member id: "platform:id".
func (v *validator) chatID(key, id string) bool {
	if id == "" {
		v.fail(key, `missing: want "platform:id" (platform local, feishu or wecom)`)
		return false
	}
	platform, rest, ok := strings.Cut(id, ":")
	if !ok {
		v.fail(key, `%q is not "platform:id" (platform local, feishu or wecom), e.g. "feishu:oc_5ad8..."`, id)
		return false
	}
	switch platform {
	case PlatformLocal, PlatformFeishu, PlatformWeCom:
	default:
		v.fail(key, "%q: unknown platform %q (want local, feishu or wecom)", id, platform)
		return false
	}
	if rest == "" || strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		v.fail(key, "%q: the part after %q must be non-empty, without spaces", id, platform+":")
		return false
	}
	return true
}

// nodeRef checks a reference to an org node.
func (v *validator) nodeRef(key, id string, nodes map[string]OrgNode) (OrgNode, bool) {
	if id == "" {
		v.fail(key, "missing: the org node id it belongs to, e.g. grid1")
		return OrgNode{}, false
	}
	n, ok := nodes[id]
	if !ok && len(nodes) > 0 { // with no tree at all, "org: empty" says it once
		v.fail(key, "unknown org node %q", id)
	}
	return n, ok
}
