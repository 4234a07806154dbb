package notices_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/notices"
)

// get fetches path from the export routes and returns the status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// rows parses a CSV export after checking its BOM.
func rows(t *testing.T, body string) [][]string {
	t.Helper()
	rest, ok := strings.CutPrefix(body, "\uFEFF")
	if !ok {
		t.Fatalf("no BOM: %q", body[:min(len(body), 20)])
	}
	r := csv.NewReader(strings.NewReader(rest))
	r.FieldsPerRecord = -1
	out, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hasRow(rs [][]string, cells ...string) bool {
	for _, r := range rs {
		if len(r) >= len(cells) {
			match := true
			for i, c := range cells {
				if c != "*" && r[i] != c {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}

func TestExportCSV(t *testing.T) {
	e := smallEnv(t)
	seed(t, e.st, []community.Person{{ID: "feishu:x", Name: "=HYPERLINK(\"http://evil\")", Node: "grid2"}}, nil)
	id := e.send(sec, "通知 全体 周六上午9点社区体检")
	e.tap(pa, g1, notices.ActAck, "1", "")
	e.say(pd, g2, "收到")

	// 导出 in a group: the link goes privately.
	outs := e.say(sec, g1, "导出 1")
	mustContain(t, texts(outs), "导出链接已私信发给您", "https://bot.example.org/notices/1.csv?expires=", "&token=", "11月30日09:00前有效")
	for _, o := range outs {
		if strings.Contains(o.Text, "token=") && o.UserID != sec {
			t.Errorf("the link went to %+v", o)
		}
	}

	mux := http.NewServeMux()
	e.n.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	nt, err := e.n.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	link, _ := e.n.ExportLinks(nt)
	path := strings.TrimPrefix(link, "https://bot.example.org")

	for _, bad := range []string{"/notices/1.csv", "/notices/1.csv?token=x", "/notices/9.csv?token=" + nt.Token, "/polls/1.csv?token=" + nt.Token, "/notices/1?token=" + nt.Token} {
		if code, _, _ := get(t, srv, bad); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", bad, code)
		}
	}
	code, h, body := get(t, srv, path)
	if code != http.StatusOK || h.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(h.Get("Content-Disposition"), "notice-1.csv") {
		t.Fatalf("GET %s = %d %v", path, code, h)
	}
	rs := rows(t, body)
	for _, want := range [][]string{
		{"1", "通知", "已发出", "王书记"},
		{"幸福里小区群", g1, "1网格", "feishu", "已送达", "*", "*", "", "3", "1", "1"},
		{"阳光花园群", g2, "2网格", "feishu", "已送达", "*", "*", "", "2", "1", "1"},
		{"幸福里小区群", g1, "张三", pa, "*", "点按钮"},
		{"阳光花园群", g2, "赵六", pd, "*", "发送收到"},
		{"幸福里小区群", g1, "王五", pc, "党员"},
		{"阳光花园群", g2, "'=HYPERLINK(\"http://evil\")", "feishu:x", "居民"},
	} {
		if !hasRow(rs, want...) {
			t.Errorf("no row %q in\n%s", want, body)
		}
	}
}

func TestExportPollCSV(t *testing.T) {
	e := smallEnv(t)
	e.send(sec, "投票 全体 是否同意加装电梯 同意/反对 截止 周日")
	e.tap(pa, g1, notices.ActVote, "1", "同意")
	e.tap(pb, g1, notices.ActVote, "1", "反对")
	e.tap(pd, g2, notices.ActVote, "1", "同意")

	mux := http.NewServeMux()
	e.n.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	nt, _ := e.n.Get(e.ctx, 1)
	notice, poll := e.n.ExportLinks(nt)
	code, h, body := get(t, srv, strings.TrimPrefix(poll, "https://bot.example.org"))
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Disposition"), "poll-1.csv") {
		t.Fatalf("poll export = %d %v", code, h)
	}
	rs := rows(t, body)
	for _, want := range [][]string{
		{"群名", "群ID", "同意", "反对", "合计"},
		{"幸福里小区群", g1, "1", "1", "2"},
		{"阳光花园群", g2, "1", "0", "1"},
		{"合计", "", "2", "1", "3"},
		{"幸福里小区群", g1, "李四", pb, "反对", "*", "是"},
	} {
		if !hasRow(rs, want...) {
			t.Errorf("no row %q in\n%s", want, body)
		}
	}
	// The notice export of a poll has its votes too.
	_, _, body = get(t, srv, strings.TrimPrefix(notice, "https://bot.example.org"))
	if rs := rows(t, body); !hasRow(rs, "合计", "", "2", "1", "3") || !hasRow(rs, "1", "投票", "已发出") {
		t.Errorf("notice export of a poll:\n%s", body)
	}
}

// An export link names people, so it works for a week (ExportLinkTTL) after 导出 made it, then
// answers 410 with a page that says how to get a new one; its expiry cannot be moved.
func TestExportLinkExpires(t *testing.T) {
	e := smallEnv(t)
	id := e.send(sec, "通知 全体 周六上午9点社区体检")
	mux := http.NewServeMux()
	e.n.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	nt, err := e.n.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	link, _ := e.n.ExportLinks(nt)
	path := strings.TrimPrefix(link, "https://bot.example.org")

	e.clock.Advance(notices.DefaultExportLinkTTL - time.Minute)
	if code, _, body := get(t, srv, path); code != http.StatusOK {
		t.Fatalf("a minute before it expires: GET %s = %d %s", path, code, body)
	}
	e.clock.Advance(time.Minute)
	code, h, body := get(t, srv, path)
	if code != http.StatusGone || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "导出链接已过期") || !strings.Contains(body, "导出 1") || !strings.Contains(body, "7天") {
		t.Fatalf("when it expires: GET %s = %d %v\n%s\nwant 410 with a Chinese page saying how to get a new link", path, code, h, body)
	}
	if strings.Contains(body, "王书记") || strings.Contains(body, "体检") {
		t.Errorf("the expired page shows the export's content:\n%s", body)
	}

	// A later expiry written into the link does not open it.
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("expires", strconv.FormatInt(e.clock.Now().Add(time.Hour).Unix(), 10))
	u.RawQuery = q.Encode()
	if code, _, _ := get(t, srv, u.String()); code != http.StatusNotFound {
		t.Errorf("GET with a moved expiry %s = %d, want 404", u, code)
	}
	// A link made now works again, for another week.
	fresh, _ := e.n.ExportLinks(nt)
	if code, _, _ := get(t, srv, strings.TrimPrefix(fresh, "https://bot.example.org")); code != http.StatusOK {
		t.Errorf("a fresh link = %d, want 200", code)
	}
	// A link from before links expired (the notice's own token) is expired, not served.
	if code, _, _ := get(t, srv, fmt.Sprintf("/notices/%d.csv?token=%s", id, nt.Token)); code != http.StatusGone {
		t.Errorf("an old-style link = %d, want 410", code)
	}
}
