package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A start-up line that reaches the log file after the check began (the bot buffers INFO lines
// for up to 100 ms) is still found; one never written is not.
func TestLogMentionsWaitsForBufferedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.log")
	if err := os.WriteFile(path, []byte("level=INFO msg=\"neighborbot starting\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("level=INFO msg=\"store opened\" backend=redis\n")
			f.Close()
		}
	}()
	if !logMentions(path, "backend=redis") {
		t.Error("a line written 300 ms after the check began was not found")
	}
	if logMentions(path, "backend=bbolt") {
		t.Error("found a line never written")
	}
}
