package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/cache"
)

// pingStore is a store whose Ping answers err.
type pingStore struct {
	store.Store
	err error
}

func (s *pingStore) Ping(context.Context) error { return s.err }

// /readyz is 503 with the store's reason while its writes fail (a full disk), through the
// directory cache the app wraps the store in, and 200 again once they work.
func TestReadyzReportsFailingWrites(t *testing.T) {
	st := &pingStore{err: errors.New("bolt: disk full, writes failing since 2026-12-06T21:30:00Z (3 failures, the last 1s ago): " +
		"bbolt commit to /data/neighborbot.db: write /data/neighborbot.db: no space left on device")}
	h := app.Readyz(cache.New(st, cache.Options{}))
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return w
	}
	w := get()
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "disk full") ||
		!strings.Contains(w.Body.String(), "no space left on device") {
		t.Fatalf("/readyz while writes fail: %d %q; want 503 with the reason", w.Code, w.Body.String())
	}
	st.err = nil
	if w := get(); w.Code != http.StatusOK || w.Body.String() != "ready\n" {
		t.Fatalf("/readyz once writes work: %d %q; want 200 ready", w.Code, w.Body.String())
	}
}
