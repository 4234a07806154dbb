package logbuf

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer the test reads while the Writer's timer writes to it.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	fail   error
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	if l.fail != nil {
		return 0, l.fail
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

// Info lines wait for the interval and go out together; a Warn line goes out at once with
// everything before it.
func TestBufferedLines(t *testing.T) {
	out := &lockedBuffer{}
	w := NewWriter(out, 200*time.Millisecond)
	log := slog.New(Handler(slog.NewTextHandler(w, nil), w))
	for i := range 50 {
		log.Info("handled", "n", i)
	}
	if got := out.count(); got != 0 {
		t.Fatalf("%d writes right after 50 Info lines, want none yet", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Info lines were never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, lines := out.count(), strings.Count(out.String(), "msg=handled"); got != 1 || lines != 50 {
		t.Fatalf("%d writes holding %d lines, want 1 write of 50", got, lines)
	}

	log.Info("before the warning")
	log.With("part", "inbox").Warn("inbox write failed")
	if s := out.String(); !strings.Contains(s, "before the warning") || !strings.Contains(s, `msg="inbox write failed" part=inbox`) {
		t.Fatalf("after a Warn the log holds:\n%s\nwant the Info line before it and the warning", s)
	}
}

// A burst bigger than the buffer is written without waiting; Flush writes the rest and
// reports the underlying writer's failure.
func TestBurstAndFlush(t *testing.T) {
	out := &lockedBuffer{}
	w := NewWriter(out, time.Hour)
	line := strings.Repeat("x", 1000) + "\n"
	for range 100 { // 100 KB: more than maxBuffered
		w.Write([]byte(line))
	}
	if out.count() == 0 {
		t.Fatal("100 KB buffered without a write")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := len(out.String()); got != 100*len(line) {
		t.Fatalf("%d bytes written, want %d", got, 100*len(line))
	}
	out.mu.Lock()
	out.fail = errors.New("disk full")
	out.mu.Unlock()
	w.Write([]byte(line))
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the failed write")
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("a second Flush with nothing to write: %v", err)
	}
}
