package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/console"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store/bolt"
	redisstore "github.com/neighborbot/neighborbot/store/redis"
)

// backends opens each store backend the console keeps its links and sessions in.
func backends(t *testing.T, now func() time.Time) map[string]console.Store {
	t.Helper()
	b, err := bolt.Open(filepath.Join(t.TempDir(), "bot.db"), bolt.Options{Now: now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r, err := redisstore.Open(context.Background(), "redis://"+redistest.Start(t), redisstore.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return map[string]console.Store{"bolt": b, "redis": r}
}

// replica is one bot process serving the console over a shared store.
func replica(t *testing.T, st console.Store, now func() time.Time) (*console.Console, http.Handler) {
	t.Helper()
	c, err := console.New(console.Options{Store: st, Now: now, BaseURL: "https://bot.example.org",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Routes(mux)
	return c, mux
}

func TestLinksAndSessionsAcrossReplicas(t *testing.T) {
	clock := &bottest.Clock{}
	clock.Set(bottest.Start)
	for name, st := range backends(t, clock.Now) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := st.PutPerson(ctx, community.Person{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary}); err != nil {
				t.Fatal(err)
			}
			a, muxA := replica(t, st, clock.Now)
			b, muxB := replica(t, st, clock.Now)

			link, err := a.NewLink(ctx, "local:wang")
			if err != nil || !strings.HasPrefix(link, "https://bot.example.org/console/login?t=") {
				t.Fatalf("link %q: %v", link, err)
			}
			u, _ := url.Parse(link)
			tok := u.Query().Get("t")
			// Both replicas race to use it, many times over: one use in all.
			var wg sync.WaitGroup
			var mu sync.Mutex
			uses := 0
			for i := range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := a
					if i%2 == 1 {
						c = b
					}
					_, ok, err := c.TakeLink(ctx, tok)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						uses++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if uses != 1 {
				t.Fatalf("link used %d times", uses)
			}

			// A session started on replica A is known to replica B.
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "https://bot.example.org/console/login", nil)
			if err := a.StartSession(ctx, rec, req, "local:wang", "chat"); err != nil {
				t.Fatal(err)
			}
			cookie := rec.Result().Cookies()[0]
			if !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
				t.Fatalf("session cookie off localhost: %+v", cookie)
			}
			get := func(h http.Handler) *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", "https://bot.example.org/console/", nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			if rec := get(muxB); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "王书记") {
				t.Fatalf("replica B does not know A's session: %d %s", rec.Code, rec.Header().Get("Location"))
			}
			// Idle for 12 hours: gone on both.
			clock.Advance(console.IdleTTL)
			if rec := get(muxA); rec.Code != http.StatusSeeOther {
				t.Fatalf("session alive after 12 idle hours: %d", rec.Code)
			}
			// 退出控制台 ends the sessions every replica knows.
			rec = httptest.NewRecorder()
			if err := b.StartSession(ctx, rec, req, "local:wang", "chat"); err != nil {
				t.Fatal(err)
			}
			cookie = rec.Result().Cookies()[0]
			if n, err := a.EndSessions(ctx, "local:wang"); err != nil || n != 1 {
				t.Fatalf("EndSessions = %d, %v", n, err)
			}
			if rec := get(muxB); rec.Code != http.StatusSeeOther {
				t.Fatalf("session alive after 退出控制台: %d", rec.Code)
			}
			// The sweep forgets old links.
			clock.Advance(48 * time.Hour)
			if err := a.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if docs, err := st.ListDocs(ctx, console.CollLinks, ""); err != nil || len(docs) != 0 {
				t.Fatalf("links after the sweep: %d %v", len(docs), err)
			}
		})
	}
}
