package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Missing: skip, or fail under CI (scripts/test.sh
// installs it).
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/test.sh installs it with apt-get)")
	}
	t.Skip("chromium is not installed; run scripts/test.sh to install it")
	return ""
}

// TestPlaygroundInBrowser plays need → dispatch → claim → done → rate by clicking and typing
// in the playground page, in headless Chromium, and saves a screenshot to docs/.
func TestPlaygroundInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	s := startServer(t, map[string]string{"NEIGHBORBOT_DATA": t.TempDir()})
	ctx := newBrowser(t, exe)
	say := func(text string) chromedp.Action {
		return chromedp.Tasks{
			chromedp.SendKeys("#text", text, chromedp.ByQuery),
			chromedp.Click("#send", chromedp.ByQuery),
		}
	}
	// botSaid waits until a bot message in the chat contains text.
	botSaid := func(text string) chromedp.Action {
		return chromedp.Poll(`[...document.querySelectorAll('.msg[data-from="bot"]')].some(m => m.textContent.includes(`+jsString(text)+`))`, nil, chromedp.WithPollingInterval(50*time.Millisecond))
	}
	click := func(sel string) chromedp.Action {
		return chromedp.Tasks{chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Click(sel, chromedp.ByQuery)}
	}

	rate5 := `#messages .card-btn[data-action="rate"][data-item="1"]` // the first rating button is 5★
	var shot []byte
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`.group[data-group="local:xingfuli"]`, chromedp.ByQuery),
		chromedp.Click(`.group[data-group="local:xingfuli"]`, chromedp.ByQuery),

		choosePersona("local:chen"), // resident: 点单
		say("3栋2单元楼道灯坏了，电话13812345678"),
		botSaid("已收到您的需求 #1"),
		botSaid("138****5678"),

		choosePersona("local:wang"), // secretary: 派单
		say("派单 1 截止 明天"),

		choosePersona("local:li"), // member: 接单 by tapping the card
		click(`#messages .card-btn[data-action="claim"][data-item="1"]`),
		botSaid("李建国 认领了 #1"),
		say("完成 1 已换灯泡"),
		botSaid("#1 已完成"),

		choosePersona("local:chen"), // resident: 回单, 5★ on the card
		click(rate5),
		botSaid("已办结"),
		chromedp.FullScreenshot(&shot, 100), // 100 = PNG,
	)
	if err != nil {
		t.Fatalf("browser: %v\nserver log:\n%s", err, s.stderr.String())
	}
	if len(shot) < 10_000 {
		t.Fatalf("screenshot is %d bytes", len(shot))
	}
	path := filepath.Join(t.TempDir(), "playground.png")
	if p := os.Getenv("NEIGHBORBOT_SCREENSHOT"); p != "" {
		path = p // NEIGHBORBOT_SCREENSHOT=$PWD/docs/playground.png go test ./cmd/neighborbot -run Browser
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsString(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		switch r {
		case '"', '\\':
			b = append(b, '\\', byte(r))
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}

// newBrowser starts headless Chromium (exe) with a fresh profile and the flags this machine's
// closed network needs, 1280×860, for at most 90 s; it stops when the test ends.
func newBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	// Chromium's helper processes may still write to the profile after the browser is
	// closed, so it is not a t.TempDir (whose cleanup fails on that); removed best-effort.
	profile, err := os.MkdirTemp("", "neighborbot-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 860),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	// Cleanups run last-in first-out: the deadline, the tab, the browser, then the profile.
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelCtx)
	t.Cleanup(cancel)
	return ctx
}

// choosePersona picks the playground's persona id.
func choosePersona(id string) chromedp.Action {
	return chromedp.Evaluate(`(()=>{const s=document.querySelector('#persona'); s.value=`+jsString(id)+`; s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`, nil)
}

// waitFor waits until the JavaScript expression js is true in the page. Unlike chromedp.Poll,
// it outlives a navigation under way when it starts (a form posted, a redirect followed): the
// check then runs again in the next page instead of failing with "Inspected target navigated
// or closed". An exception (an element not there yet) counts as false; it is reported if the
// deadline passes.
func waitFor(js string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var last error
		for {
			var ok bool
			err := chromedp.Evaluate(js, &ok).Do(ctx)
			if err == nil && ok {
				return nil
			}
			var cerr *cdproto.Error
			if err != nil && errors.As(err, &cerr) && cerr.Code != -32000 { // -32000: the page went away
				return err
			}
			if err != nil {
				last = err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w (last: %v)", js, ctx.Err(), last)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
