package chat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/ledger"
	"github.com/neighborbot/neighborbot/ledger/chart"
)

// Links are private, signed and expiring: /ledger/{kind}?u=<reader>&p=<2026-11>&e=<unix>&s=<hmac>.
// The signature (HMAC-SHA256 with a key kept in the store, shared by every replica) covers
// the kind, the reader, the period and the expiry. Who may see what is decided again when
// the link is opened, by the authority rule over the reader as they are then: a secretary
// moved elsewhere no longer gets their old jurisdiction's workbook.

// secret is the signing key, created once (atomically across replicas) on first use.
func (l *Ledger) secret(ctx context.Context) ([]byte, error) {
	v, err := l.Store.UpdateDoc(ctx, CollMeta, "secret", func(old []byte) ([]byte, error) {
		if len(old) > 0 {
			return old, nil
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return []byte(hex.EncodeToString(b)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger secret: %w", err)
	}
	return hex.DecodeString(string(v))
}

func sign(key []byte, kind, user, period string, exp int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s|%s|%s|%d", kind, user, period, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// link is the URL of kind ("xlsx" or "chart") of p for user, valid until exp. Without a key
// (the store failed) it is empty and the failure is logged.
func (l *Ledger) link(kind, user string, p ledger.Period, exp time.Time) string {
	key, err := l.secret(context.Background())
	if err != nil {
		l.log().Error("ledger link", "err", err)
		return "（暂不可用）"
	}
	e := exp.Unix()
	q := url.Values{"u": {user}, "p": {p.Slug()}, "e": {strconv.FormatInt(e, 10)}, "s": {sign(key, kind, user, p.Slug(), e)}}
	file := "ledger-" + p.Slug() + ".xlsx"
	if kind == "chart" {
		file = "chart-" + p.Slug() + ".png"
	}
	return strings.TrimRight(l.PublicURL, "/") + "/ledger/" + file + "?" + q.Encode()
}

// Routes serves the links: GET /ledger/ledger-<period>.xlsx and /ledger/chart-<period>.png.
func (l *Ledger) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ledger/{file}", l.serve)
}

func (l *Ledger) serve(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	var kind, slug string
	switch {
	case strings.HasPrefix(file, "ledger-") && strings.HasSuffix(file, ".xlsx"):
		kind, slug = "xlsx", strings.TrimSuffix(strings.TrimPrefix(file, "ledger-"), ".xlsx")
	case strings.HasPrefix(file, "chart-") && strings.HasSuffix(file, ".png"):
		kind, slug = "chart", strings.TrimSuffix(strings.TrimPrefix(file, "chart-"), ".png")
	default:
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	user, exp := q.Get("u"), q.Get("e")
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || q.Get("p") != slug {
		http.NotFound(w, r)
		return
	}
	key, err := l.secret(r.Context())
	if err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	// A wrong signature looks like nothing there; an expired one says so.
	if !hmac.Equal([]byte(q.Get("s")), []byte(sign(key, kind, user, slug, e))) {
		http.NotFound(w, r)
		return
	}
	now := l.Now()
	if now.Unix() > e {
		http.Error(w, "链接已过期，请在聊天中重新发送命令获取。", http.StatusGone)
		return
	}
	p, ok := parseSlug(slug, now.Location())
	if !ok || (kind == "chart" && p.Month == 0) {
		http.NotFound(w, r)
		return
	}
	reader, err := l.Store.GetPerson(r.Context(), user)
	if err != nil || !reader.Role.AtLeast(community.RoleSecretary) {
		http.Error(w, "无权查看。", http.StatusForbidden)
		return
	}
	t0 := time.Now()
	var buf bytes.Buffer
	var lg *ledger.Ledger
	ctype := "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	if kind == "chart" {
		ctype = "image/png"
		lg, err = l.Build(r.Context(), reader, p)
		if err == nil {
			var png []byte
			if png, err = chart.Monthly(lg, l.Font); err == nil {
				buf.Write(png)
			}
		}
	} else {
		lg, err = l.WriteWorkbook(r.Context(), &buf, reader, p)
	}
	if err != nil {
		l.log().Error("ledger export failed", "kind", kind, "period", slug, "err", err)
		http.Error(w, "export failed", http.StatusInternalServerError)
		return
	}
	name := fmt.Sprintf("台账-%s-%s.xlsx", lg.Scope.Name, slug)
	if kind == "chart" {
		name = fmt.Sprintf("月报-%s-%s.png", lg.Scope.Name, slug)
	}
	l.log().Info("ledger export", "kind", kind, "period", slug, "needs", lg.Summary.Received, "members", len(lg.Members), "bytes", buf.Len(), "took", time.Since(t0).Round(time.Millisecond))
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

// parseSlug reads "2026-11" or "2026".
func parseSlug(s string, loc *time.Location) (ledger.Period, bool) {
	y, m, hasMonth := strings.Cut(s, "-")
	year, err := strconv.Atoi(y)
	if err != nil || year < 2000 || year > 2200 {
		return ledger.Period{}, false
	}
	if !hasMonth {
		return ledger.YearOf(year, loc), true
	}
	mo, err := strconv.Atoi(m)
	if err != nil || mo < 1 || mo > 12 {
		return ledger.Period{}, false
	}
	return ledger.MonthOf(year, time.Month(mo), loc), true
}
