package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/notices"
)

// notifyRoutes serves 通知: compose a notice or a poll for a part of the jurisdiction,
// preview its reach, send it, and watch its delivery and receipts live.
func (c *Console) notifyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/notices", c.handle(c.noticesPage))
	mux.Handle("POST /console/notices/preview", c.handle(c.noticePreview))
	mux.Handle("POST /console/notices/{id}/send", c.handle(c.noticeSend))
	mux.Handle("GET /console/notices/{id}", c.handle(c.noticeShow))
	mux.Handle("GET /console/notices/{id}/live", c.handle(c.noticeLive))
}

// NoticesPage is the compose form and the recent notices.
type NoticesPage struct {
	Targets []PlaceRow
	Recent  []*notices.Notice
	Form    NoticeForm
	Draft   *notices.Notice // a previewed draft, waiting for 确认发送
	CSRF    string
	Min     string
	Off     bool // no notices package wired
}

// NoticeForm is what was typed in the compose form.
type NoticeForm struct {
	Kind     string // notice or poll
	Target   string // "all" or an org node id
	Text     string
	Title    string
	Options  string
	Deadline string
}

func (c *Console) noticesData(r *http.Request, v *Viewer) (*NoticesPage, error) {
	ctx := r.Context()
	p := &NoticesPage{CSRF: v.Session.CSRF, Min: c.now().Format("2006-01-02T15:04"), Form: NoticeForm{Kind: "notice", Target: "all"}}
	if c.o.Notices == nil {
		p.Off = true
		return p, nil
	}
	s, err := c.ScopeOf(ctx, v)
	if err != nil {
		return nil, err
	}
	p.Targets = c.places(s)
	if p.Recent, err = c.o.Notices.Recent(ctx, v.Person, 20); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Console) noticesPage(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	p, err := c.noticesData(r, v)
	if err != nil {
		return err
	}
	c.render(w, r, v, http.StatusOK, "notify", "通知", p)
	return nil
}

// noticePreview drafts the notice (its reach frozen, as in the chat) and shows it with the
// button that sends it.
func (c *Console) noticePreview(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	if c.o.Notices == nil {
		return community.Errorf(community.EInvalid, "通知功能未启用。")
	}
	f := NoticeForm{
		Kind: r.PostFormValue("kind"), Target: r.PostFormValue("target"), Text: strings.TrimSpace(r.PostFormValue("text")),
		Title: strings.TrimSpace(r.PostFormValue("title")), Options: r.PostFormValue("options"), Deadline: r.PostFormValue("deadline"),
	}
	cmd := notices.Command{Text: f.Text, Title: f.Title}
	switch f.Target {
	case "all", "":
		cmd.All = true
	default:
		cmd.Targets = []string{f.Target}
	}
	poll := f.Kind == "poll"
	if poll {
		for _, o := range strings.FieldsFunc(f.Options, func(r rune) bool { return r == '\n' || r == ',' || r == '，' || r == '、' }) {
			if o = strings.TrimSpace(o); o != "" {
				cmd.Options = append(cmd.Options, o)
			}
		}
		if f.Deadline != "" {
			d, err := time.ParseInLocation("2006-01-02T15:04", f.Deadline, c.loc)
			if err != nil {
				return community.Errorf(community.EInvalid, "截止时间格式不对，请重新选择。")
			}
			if !d.After(c.now()) {
				return community.Errorf(community.EInvalid, "截止时间已经过去了，请换一个时间。")
			}
			cmd.Deadline = d
		}
	} else {
		for _, word := range strings.Fields(f.Text) {
			if strings.HasPrefix(word, "http://") || strings.HasPrefix(word, "https://") {
				cmd.Links = append(cmd.Links, word)
			}
		}
	}
	if n := len([]rune(f.Text)); n > 2000 {
		return community.Errorf(community.EInvalid, "内容太长了（%d字），请控制在2000字以内。", n)
	}
	nt, err := c.o.Notices.Compose(r.Context(), v.Person, cmd, poll, c.now())
	if err != nil {
		return err
	}
	p, err := c.noticesData(r, v)
	if err != nil {
		return err
	}
	p.Form, p.Draft = f, nt
	if isHX(r) {
		c.renderPart(w, http.StatusOK, "notify", "preview", p)
		return nil
	}
	c.render(w, r, v, http.StatusOK, "notify", "通知", p)
	return nil
}

func noticeID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, community.Errorf(community.ENotFound, "没有这条通知。")
	}
	return id, nil
}

// noticeSend is 确认发送.
func (c *Console) noticeSend(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	if c.o.Notices == nil {
		return community.Errorf(community.EInvalid, "通知功能未启用。")
	}
	id, err := noticeID(r)
	if err != nil {
		return err
	}
	if _, err := c.o.Notices.Send(r.Context(), v.Person, id, c.now()); err != nil {
		return err
	}
	c.log.Info("console notice sent", "person", v.Person.ID, "notice", id)
	to := "/console/notices/" + strconv.FormatInt(id, 10)
	if isHX(r) {
		w.Header().Set("HX-Location", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// NoticeView is a notice's page: its content and its live delivery.
type NoticeView struct {
	*notices.Delivery
	Options []OptionCount
	Live    bool // still delivering: the page keeps asking
}

// OptionCount is one option of a poll with its votes.
type OptionCount struct {
	Option string
	Votes  int
}

func (c *Console) noticeView(r *http.Request, v *Viewer) (*NoticeView, error) {
	if c.o.Notices == nil {
		return nil, community.Errorf(community.ENotFound, "没有这条通知。")
	}
	id, err := noticeID(r)
	if err != nil {
		return nil, err
	}
	d, err := c.o.Notices.Delivery(r.Context(), v.Person, id)
	if err != nil {
		return nil, err
	}
	nv := &NoticeView{Delivery: d}
	for _, o := range d.Notice.Options {
		nv.Options = append(nv.Options, OptionCount{o, d.Totals[o]})
	}
	// Delivery is live while messages are queued; receipts keep coming for days, so the page
	// keeps asking for a day after sending (every few seconds, a cheap read).
	nv.Live = d.Notice.Status == notices.StatusSending || d.Queued > 0 ||
		d.Notice.Status == notices.StatusSent && c.now().Sub(d.Notice.ConfirmedAt) < 24*time.Hour
	return nv, nil
}

func (c *Console) noticeShow(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	nv, err := c.noticeView(r, v)
	if err != nil {
		return err
	}
	c.render(w, r, v, http.StatusOK, "notify_show", nv.Notice.Label(), nv)
	return nil
}

// noticeLive is the delivery part alone, which the page asks for every few seconds.
func (c *Console) noticeLive(w http.ResponseWriter, r *http.Request, v *Viewer) error {
	nv, err := c.noticeView(r, v)
	if err != nil {
		return err
	}
	c.renderPart(w, http.StatusOK, "notify_show", "live", nv)
	return nil
}
