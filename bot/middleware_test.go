package bot_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
)

// An answered or failed message is logged at Info; chatter the bot had nothing to do with
// only at Debug, so an Info log is not one line per group message.
func TestLoggingLevelFollowsWhatTheBotDid(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler bot.HandlerFunc
		want    string // the level of the "handled" line
	}{
		{"answered", func(_ context.Context, r *bot.Request) error { r.Reply("好的"); return nil }, "INFO"},
		{"failed", func(context.Context, *bot.Request) error { return errors.New("boom") }, "INFO"},
		{"chatter", func(context.Context, *bot.Request) error { return nil }, "DEBUG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
				var buf bytes.Buffer
				log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
				h := bot.Chain(tc.handler, bot.Logging(log))
				h(context.Background(), &bot.Request{Msg: msg("e1", "hi")})
				line := buf.String()
				shown := tc.want == "INFO" || level == slog.LevelDebug
				if got := strings.Contains(line, "msg=handled"); got != shown {
					t.Fatalf("log at %v: handled line shown %v, want %v (%q)", level, got, shown, line)
				}
				if shown && !strings.Contains(line, "level="+tc.want) || shown && !strings.Contains(line, "event=local:e1") {
					t.Fatalf("log at %v: %q, want level=%s and the event", level, line, tc.want)
				}
			}
		})
	}
}
