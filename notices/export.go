package notices

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// DefaultExportLinkTTL is how long an export link works unless Notices.ExportLinkTTL says.
const DefaultExportLinkTTL = 7 * 24 * time.Hour

// Routes serves the exports: GET /notices/{id}.csv and GET /polls/{id}.csv, each needing a
// link 导出 made (?expires=…&token=…, signed with the notice's secret), since they hold names.
func (n *Notices) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /notices/{file}", func(w http.ResponseWriter, r *http.Request) { n.serveCSV(w, r, false) })
	mux.HandleFunc("GET /polls/{file}", func(w http.ResponseWriter, r *http.Request) { n.serveCSV(w, r, true) })
}

// ExportLinks are the links "导出 N" answers with; they work for ExportLinkTTL from now.
func (n *Notices) ExportLinks(nt *Notice) (notice, poll string) {
	n.init()
	base := strings.TrimRight(n.PublicURL, "/")
	expires := n.Now().Add(n.ExportLinkTTL).Unix()
	notice = base + exportPath(nt, "notices", expires)
	if nt.Kind == KindPoll {
		poll = base + exportPath(nt, "polls", expires)
	}
	return notice, poll
}

// exportPath is the path and query of an export link that expires at expires (Unix seconds).
// Its token is an HMAC of both under the notice's secret, so the secret itself never leaves
// the store and a holder of the link cannot move its expiry.
func exportPath(nt *Notice, kind string, expires int64) string {
	return fmt.Sprintf("/%s/%d.csv?expires=%d&token=%s", kind, nt.ID, expires, exportSig(nt, kind, expires))
}

func exportSig(nt *Notice, kind string, expires int64) string {
	mac := hmac.New(sha256.New, []byte(nt.Token))
	fmt.Fprintf(mac, "%s/%d.csv?expires=%d", kind, nt.ID, expires)
	return hex.EncodeToString(mac.Sum(nil))
}

// linkState is what an export link's query says about it.
type linkState int

const (
	linkInvalid linkState = iota // not a link for this notice: answered like a missing one
	linkExpired
	linkValid
)

// checkLink reads ?expires and ?token of an export link. A link from before links expired
// (?token= the notice's secret, no expiry) counts as expired.
func (n *Notices) checkLink(req *http.Request, nt *Notice, kind string) linkState {
	q := req.URL.Query()
	tok := q.Get("token")
	if nt.Token == "" || tok == "" {
		return linkInvalid
	}
	if !q.Has("expires") {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(nt.Token)) == 1 {
			return linkExpired
		}
		return linkInvalid
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || !hmac.Equal([]byte(tok), []byte(exportSig(nt, kind, expires))) {
		return linkInvalid
	}
	if !n.Now().Before(time.Unix(expires, 0)) {
		return linkExpired
	}
	return linkValid
}

// expiredPage answers an expired export link: 410, and how to get a new one.
func (n *Notices) expiredPage(w http.ResponseWriter, nt *Notice) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusGone)
	days := int(n.ExportLinkTTL.Round(time.Hour).Hours()) / 24
	validity := fmt.Sprintf("%d天", days)
	if days == 0 {
		validity = n.ExportLinkTTL.String()
	}
	fmt.Fprintf(w, `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>导出链接已过期</title></head>
<body><h1>导出链接已过期</h1>
<p>这个导出链接的有效期（%s）已过。名单含人员姓名，链接过期后不能再打开。</p>
<p>需要明细请发起人或书记私聊机器人发送：<b>导出 %d</b>，获取新链接。</p>
<p lang="en">This export link has expired. Send “导出 %d” to the bot for a new one.</p>
</body></html>
`, validity, nt.ID, nt.ID)
}

func (n *Notices) export(ctx context.Context, r *bot.Request, id int64) error {
	nt, err := n.get(ctx, id)
	if err != nil {
		return err
	}
	if err := n.requireFull(ctx, r.Sender, nt, "导出完整名单"); err != nil {
		return err
	}
	notice, poll := n.ExportLinks(nt)
	msg := fmt.Sprintf("📎 %s 的明细（送达、回执%s），用 Excel 打开：\n%s", nt.Label(), map[bool]string{true: "、投票"}[poll != ""], notice)
	if poll != "" {
		msg += "\n只看投票：\n" + poll
	}
	msg += fmt.Sprintf("\n链接含人员姓名，请勿转发到群里；%s前有效。", n.Now().Add(n.ExportLinkTTL).Format("1月2日15:04"))
	if !r.Msg.Private {
		// The link opens names to whoever holds it: it goes to the secretary alone.
		plat, _ := community.SplitID(r.Sender.ID)
		if plat == "" {
			plat = r.Msg.Platform
		}
		r.Send(bot.Outbound{Platform: plat, UserID: r.Sender.ID, Text: msg})
		r.Reply("导出链接已私信发给您。")
		return nil
	}
	r.Reply(msg)
	return nil
}

func (n *Notices) serveCSV(w http.ResponseWriter, req *http.Request, poll bool) {
	n.init()
	num, ok := strings.CutSuffix(req.PathValue("file"), ".csv")
	id, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id <= 0 {
		http.NotFound(w, req)
		return
	}
	nt, err := n.get(req.Context(), id)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			http.NotFound(w, req)
			return
		}
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	kind := "notices"
	if poll {
		kind = "polls"
	}
	// A wrong token looks like a missing notice: no hint that the number exists.
	switch state := n.checkLink(req, nt, kind); {
	case state == linkInvalid || poll && nt.Kind != KindPoll:
		http.NotFound(w, req)
		return
	case state == linkExpired:
		n.expiredPage(w, nt)
		return
	}
	var buf bytes.Buffer
	if poll {
		err = n.WritePollCSV(req.Context(), &buf, nt)
	} else {
		err = n.WriteNoticeCSV(req.Context(), &buf, nt)
	}
	if err != nil {
		n.Log.Error("export failed", "notice", id, "err", err)
		http.Error(w, "export failed", http.StatusInternalServerError)
		return
	}
	// The file is named by the number people know it by (the link carries its id).
	name := fmt.Sprintf("notice-%d.csv", nt.Number())
	if poll {
		name = fmt.Sprintf("poll-%d.csv", nt.Number())
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

// csvWriter writes UTF-8 with a BOM (so Excel reads Chinese right) and defuses cells that
// Excel would run as formulas.
type csvWriter struct {
	w   *csv.Writer
	loc *time.Location
}

func newCSV(w io.Writer, loc *time.Location) (*csvWriter, error) {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return nil, err
	}
	return &csvWriter{w: csv.NewWriter(w), loc: loc}, nil
}

func (c *csvWriter) row(cells ...string) {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	_ = c.w.Write(cells)
}

func (c *csvWriter) time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if c.loc != nil {
		t = t.In(c.loc)
	}
	return t.Format("2006-01-02 15:04:05")
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

var statusNames = map[Status]string{StatusDraft: "草稿", StatusSending: "发送中", StatusSent: "已发出", StatusCancelled: "已取消"}

// WriteNoticeCSV writes everything kept about nt: the notice and its reach, delivery and
// receipts per group, each receipt, the known members who have not acknowledged, and a
// poll's votes.
func (n *Notices) WriteNoticeCSV(ctx context.Context, w io.Writer, nt *Notice) error {
	c, err := newCSV(w, n.Now().Location())
	if err != nil {
		return err
	}
	c.row("编号", "类型", "状态", "发起人", "发起时间", "确认时间", "入队完成", "发送范围", "群数", "登记人数", "内容", "附件")
	body := nt.Text
	if nt.Kind == KindPoll {
		body = nt.Title + "（选项：" + strings.Join(nt.Options, "/") + "；截止：" + c.time(nt.Deadline) + "）"
	}
	c.row(numberText(nt), nt.Kind.Chinese(), statusNames[nt.Status], nt.AuthorName, c.time(nt.CreatedAt), c.time(nt.ConfirmedAt),
		c.time(nt.SentAt), nt.TargetNames, strconv.Itoa(nt.Groups), strconv.Itoa(nt.People), body, strings.Join(nt.Links, " "))
	if nt.Status == StatusDraft || nt.Status == StatusCancelled {
		return c.flush()
	}
	rs, err := n.report(ctx, nt)
	if err != nil {
		return err
	}
	c.row()
	c.row("送达与回执（按群）")
	c.row("群名", "群ID", "组织节点", "平台", "送达状态", "送达时间", "失败重试次数", "失败原因", "登记人数", "登记人员已回执", "回执人数")
	for _, g := range rs {
		reason := ""
		if g.Entry.Status != store.OutboxSent {
			reason = g.Entry.LastError
		}
		c.row(groupName(g.Group), g.Group.ID, n.nodeName(g.Group.Node), g.Group.Platform, g.status(), c.time(g.Entry.SentAt),
			strconv.Itoa(g.Entry.Attempts), reason, strconv.Itoa(len(g.Known)), strconv.Itoa(g.KnownAck), strconv.Itoa(len(g.Acks)))
	}
	c.row()
	c.row("回执明细")
	c.row("群名", "群ID", "姓名", "人员ID", "回执时间", "方式")
	for _, g := range rs {
		for _, a := range g.Acks {
			c.row(groupName(g.Group), g.Group.ID, a.Name, a.Person, c.time(a.At), viaNames[a.Via])
		}
	}
	c.row()
	c.row("未回执（登记在册）")
	c.row("群名", "群ID", "姓名", "人员ID", "角色")
	for _, g := range rs {
		for _, p := range g.Missing {
			c.row(groupName(g.Group), g.Group.ID, p.Name, p.ID, community.EffectiveRole(p).Chinese())
		}
	}
	if nt.Kind == KindPoll {
		if err := c.flush(); err != nil {
			return err
		}
		c.row()
		if err := n.writePoll(ctx, c, nt); err != nil {
			return err
		}
	}
	return c.flush()
}

var viaNames = map[string]string{"tap": "点按钮", "reply": "回复卡片", "text": "发送收到"}

// WritePollCSV writes a poll's result in total and per group, and every vote.
func (n *Notices) WritePollCSV(ctx context.Context, w io.Writer, nt *Notice) error {
	c, err := newCSV(w, n.Now().Location())
	if err != nil {
		return err
	}
	c.row("编号", "投票事项", "选项", "截止", "状态", "发起人")
	state := "进行中"
	if nt.Result != nil {
		state = "已截止公示"
	}
	c.row(numberText(nt), nt.Title, strings.Join(nt.Options, "/"), c.time(nt.Deadline), state, nt.AuthorName)
	c.row()
	if err := n.writePoll(ctx, c, nt); err != nil {
		return err
	}
	return c.flush()
}

func (n *Notices) writePoll(ctx context.Context, c *csvWriter, nt *Notice) error {
	res := nt.Result
	if res == nil {
		var err error
		if res, err = n.tally(ctx, nt, n.Now()); err != nil {
			return err
		}
	}
	names, err := n.groupNames(ctx)
	if err != nil {
		return err
	}
	gids, err := n.targetGroups(ctx, nt.ID)
	if err != nil {
		return store.ErrUnavailable(err)
	}
	head := append([]string{"群名", "群ID"}, nt.Options...)
	head = append(head, "合计")
	c.row("投票结果（按群）")
	c.row(head...)
	cells := func(name, id string, m map[string]int) []string {
		row := []string{name, id}
		for _, o := range nt.Options {
			row = append(row, strconv.Itoa(m[o]))
		}
		return append(row, strconv.Itoa(sum(m)))
	}
	for _, g := range gids {
		c.row(cells(nameOr(names, g), g, res.ByGroup[g])...)
	}
	c.row(cells("合计", "", res.Total)...)
	c.row()
	c.row("投票明细（每人以最后一次为准）")
	c.row("群名", "群ID", "姓名", "人员ID", "选项", "投票时间", "计入结果")
	vs, err := n.votes(ctx, nt)
	if err != nil {
		return err
	}
	for _, v := range vs {
		counted := "是"
		if nt.Result != nil && v.At.After(nt.Result.At) {
			counted = "否（截止后）"
		}
		c.row(nameOr(names, v.Group), v.Group, v.Name, v.Person, v.Option, c.time(v.At), counted)
	}
	return nil
}

// numberText is a notice's number in the CSV ("" for a draft, which has none).
func numberText(nt *Notice) string {
	if no := nt.Number(); no > 0 {
		return strconv.FormatInt(no, 10)
	}
	return ""
}
