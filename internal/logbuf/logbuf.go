// Package logbuf buffers the bot's log lines so that a busy bot writes them a batch at a time
// instead of making a write(2) for each line: at 1,000 answered events a second the line each
// handled event logs cost a system call each, about a twentieth of the bot's CPU
// (docs/BENCHMARKS.md, "Answered").
//
// A line waits at most the flush interval (100 ms in cmd/neighborbot), and lines at Warn and
// above are written at once, with every line before them: what an operator needs after a fault
// is there when the fault is. What a crash (kill -9, a runtime fatal error) loses is the Info
// and Debug lines of its last flush interval; a panic's own trace is written by the runtime,
// not through here.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxBuffered is how much a Writer holds before it writes without waiting for its timer.
const maxBuffered = 64 << 10

// Writer buffers what is written to it and writes it to the underlying writer within its
// interval, when it holds maxBuffered bytes, or on Flush. Safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	out   io.Writer
	every time.Duration
	buf   []byte
	timer *time.Timer // armed while buf holds bytes
	err   error       // the last write's error, reported by Flush
}

// NewWriter returns a Writer that writes to out at least every interval.
func NewWriter(out io.Writer, every time.Duration) *Writer {
	return &Writer{out: out, every: every}
}

// Write buffers p. It never fails: a failing underlying writer is reported by Flush (a log that
// cannot be written must not stop the bot, as with an unbuffered one whose errors slog drops).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= maxBuffered {
		w.flushLocked()
		return len(p), nil
	}
	if len(w.buf) == len(p) { // it was empty: write this within the interval
		if w.timer == nil {
			w.timer = time.AfterFunc(w.every, func() { w.Flush() })
		} else {
			w.timer.Reset(w.every)
		}
	}
	return len(p), nil
}

// Flush writes what is buffered now and returns the error of the last write that failed since
// the previous Flush.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	err := w.err
	w.err = nil
	return err
}

func (w *Writer) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	if _, err := w.out.Write(w.buf); err != nil {
		w.err = err
	}
	w.buf = w.buf[:0]
	if cap(w.buf) > 4*maxBuffered { // a burst grew it: let it go
		w.buf = nil
	}
	if w.timer != nil {
		w.timer.Stop()
	}
}

// Handler wraps h, which writes to w, so that a record at Warn or above is written at once.
func Handler(h slog.Handler, w *Writer) slog.Handler { return flushing{h, w} }

type flushing struct {
	slog.Handler
	w *Writer
}

func (h flushing) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.Flush()
	}
	return err
}

func (h flushing) WithAttrs(as []slog.Attr) slog.Handler {
	return flushing{h.Handler.WithAttrs(as), h.w}
}

func (h flushing) WithGroup(name string) slog.Handler {
	return flushing{h.Handler.WithGroup(name), h.w}
}
