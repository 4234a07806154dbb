package app_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/tmpfstest"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/cache"
)

// /readyz on a real full disk (an 8 MiB tmpfs, filled): 503 saying the disk is full once a
// write has failed, 200 again by itself once the space is freed. store/bolt's TestFullDisk
// checks the data; this checks what the operator sees. Root on Linux only; under CI=true it
// fails rather than skip.
func TestReadyzOnAFullDisk(t *testing.T) {
	dir := tmpfstest.Mount(t, "8m")
	st, err := bolt.Open(filepath.Join(dir, "neighborbot.db"), bolt.Options{ProbeEvery: 10 * time.Millisecond,
		SpaceProbe: 256 << 10, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	readyz := app.Readyz(cache.New(st, cache.Options{}))
	get := func() (int, string) {
		w := httptest.NewRecorder()
		readyz(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return w.Code, w.Body.String()
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("/readyz before: %d %q", code, body)
	}

	filler := tmpfstest.Fill(t, dir)
	ctx := t.Context()
	big := bytes.Repeat([]byte("d"), 64<<10)
	var werr error
	for i := 0; i < 50 && werr == nil; i++ {
		werr = st.PutDoc(ctx, "big", fmt.Sprint(i), big)
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("writes on the full disk: %v; want no space", werr)
	}
	code, body := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "disk full") || !strings.Contains(body, "no space left on device") {
		t.Fatalf("/readyz on the full disk: %d %q; want 503 saying the disk is full", code, body)
	}
	t.Logf("/readyz on the full disk: %d %s", code, strings.TrimSpace(body))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if code, _ := get(); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			code, body := get()
			t.Fatalf("/readyz 10 s after the space was freed: %d %q", code, body)
		}
		time.Sleep(5 * time.Millisecond) // polling /readyz, bounded
	}
	if err := st.PutDoc(ctx, "big", "after", big); err != nil {
		t.Fatalf("a write after the space was freed: %v", err)
	}
}
