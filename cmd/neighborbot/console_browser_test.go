package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleInBrowser uses the 指挥中心 as a secretary would, in headless Chromium against
// the playground: 王书记 asks for the console in the group, opens the link from their private
// chat, filters the ledger, dispatches a need (and the group's card appears in the
// playground), composes and sends a notice and watches it delivered, and finds another
// community's item "not found". It saves screenshots of 总览 at 1280 and 390 px wide, of an
// item's page at 1280, and of the ledger, 人员, 活动 and 报表 at 390:
// NEIGHBORBOT_CONSOLE_SCREENSHOTS=$PWD/docs go test ./cmd/neighborbot -run ConsoleInBrowser
func TestConsoleInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	s := startServer(t, map[string]string{"NEIGHBORBOT_DATA": t.TempDir()})
	// Some history, through the playground's API: a need in each community, items in hand,
	// one done and awaiting confirmation, one closed.
	for _, m := range [][3]string{
		{"local:xingfuli", "local:chen", "@邻里帮 3栋2单元楼道灯坏了，电话13812345678"}, // #1, dispatched in the browser
		{"local:hexie", "local:wu", "@邻里帮 1栋门口水管漏水了"},                     // #2, 和谐社区's
		{"local:yangguang", "local:liu", "@邻里帮 2栋电梯不动了"},                  // #3
		{"local:yangguang", "local:wang", "派单 3 截止 明天18点"},
		{"local:yangguang", "local:zhao", "接单 3"},
		{"local:xingfuli", "local:chen", "@邻里帮 5栋门口的垃圾两天没清运了"}, // #4
		{"local:xingfuli", "local:wang", "派单 4 截止 后天12点"},
		{"local:xingfuli", "local:li", "接单 4"},
		{"local:xingfuli", "local:li", "完成 4 已联系物业清运"},
		{"local:yangguang", "local:liu", "@邻里帮 小区东门路灯不亮"}, // #5
		{"local:yangguang", "local:wang", "派单 5"},
		{"local:yangguang", "local:zhao", "接单 5"},
		{"local:yangguang", "local:zhao", "完成 5"},
		{"local:yangguang", "local:liu", "确认 5 5星 很及时"},
	} {
		s.say(m[0], m[1], m[2])
	}

	ctx := newBrowser(t, exe)
	until := waitFor
	bodyHas := func(text string) chromedp.Action {
		return until(`document.body && document.body.innerText.includes(` + jsString(text) + `)`)
	}
	setSelect := func(sel, value string) chromedp.Action {
		return chromedp.Evaluate(`(()=>{const s=document.querySelector(`+jsString(sel)+`); s.value=`+jsString(value)+`; s.dispatchEvent(new Event('change',{bubbles:true})); return true})()`, nil)
	}

	var link string
	var wide, narrow, item, ledger, people, activities, reports []byte
	err := chromedp.Run(ctx,
		// In the playground, the secretary asks for the console in the group.
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`.group[data-group="local:xingfuli"]`, chromedp.ByQuery),
		chromedp.Click(`.group[data-group="local:xingfuli"]`, chromedp.ByQuery),
		choosePersona("local:wang"),
		chromedp.SendKeys("#text", "控制台", chromedp.ByQuery),
		chromedp.Click("#send", chromedp.ByQuery),
		until(`[...document.querySelectorAll('.msg[data-from="bot"]')].some(m => m.textContent.includes("已私信您"))`),
		// The link is in their private chat.
		until(`/\/console\/login\?t=/.test(document.querySelector('#dms').textContent)`),
		chromedp.Evaluate(`document.querySelector('#dms').textContent.match(/https?:\/\/[^\s]+\/console\/login\?t=[A-Za-z0-9_%-]+/)[0]`, &link),
	)
	if err != nil {
		t.Fatalf("playground: %v\nserver log:\n%s", err, s.stderr.String())
	}
	if !strings.HasPrefix(link, s.URL+"/console/login?t=") {
		t.Fatalf("link %q is not under %s", link, s.URL)
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#enter", chromedp.ByQuery),
		chromedp.Click("#enter", chromedp.ByQuery),
		chromedp.WaitVisible("#st-open", chromedp.ByQuery),
		bodyHas("王书记"),
		chromedp.FullScreenshot(&wide, 100),

		// 台账: filter to needs awaiting dispatch (htmx swaps the rows and the URL).
		chromedp.Navigate(s.URL+"/console/items"),
		chromedp.WaitVisible("#filters", chromedp.ByQuery),
		setSelect(`select[name="state"]`, "need"),
		until(`location.search.includes("state=need") && document.querySelector('#rows').textContent.includes("#1") && !document.querySelector('#rows').textContent.includes("#3")`),

		// Dispatch #1 from its page.
		chromedp.Click(`#rows a[href="/console/items/1"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#do-dispatch", chromedp.ByQuery),
		chromedp.Click("#do-dispatch", chromedp.ByQuery),
		until(`document.querySelector('#item-state') && document.querySelector('#item-state').textContent.includes("待认领")`),
		bodyHas("已派单"),
		chromedp.FullScreenshot(&item, 100),

		// 通知: compose for 1网格, preview, send, and watch it delivered.
		chromedp.Navigate(s.URL+"/console/notices"),
		chromedp.WaitVisible("#compose", chromedp.ByQuery),
		setSelect(`select[name="target"]`, "grid1"),
		chromedp.SendKeys("#text", "周六上午9点小区集中消杀，请关好门窗。", chromedp.ByQuery),
		chromedp.Click("#preview-btn", chromedp.ByQuery),
		chromedp.WaitVisible("#send-btn", chromedp.ByQuery),
		bodyHas("1网格，共 1 个群"),
		chromedp.Click("#send-btn", chromedp.ByQuery),
		until(`document.querySelector('#sent') && document.querySelector('#sent').textContent.trim() === "1/1"`),

		// Another community's item: not found, as if it did not exist.
		chromedp.Navigate(s.URL+"/console/items/2"),
		bodyHas("页面不存在"),
		until(`!document.body.innerText.includes("水管")`),

		// The group sees the dispatched item's card, and the notice.
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`.group[data-group="local:xingfuli"]`, chromedp.ByQuery),
		chromedp.Click(`.group[data-group="local:xingfuli"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages .card-btn[data-action="claim"][data-item="1"]`, chromedp.ByQuery),
		until(`document.querySelector('#messages').textContent.includes("集中消杀")`),

		// 总览 on the secretary's phone.
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(s.URL+"/console/"),
		chromedp.WaitVisible("#st-open", chromedp.ByQuery),
		chromedp.FullScreenshot(&narrow, 100),
		chromedp.Navigate(s.URL+"/console/items?state=all"),
		chromedp.WaitVisible("#rows", chromedp.ByQuery),
		chromedp.FullScreenshot(&ledger, 100),
		// 人员, 活动 and 报表 on the phone too: each page shows its own sections.
		chromedp.Navigate(s.URL+"/console/people"),
		until(`document.querySelector('main').textContent.includes("党员与工作人员")`),
		chromedp.FullScreenshot(&people, 100),
		chromedp.Navigate(s.URL+"/console/activities"),
		until(`document.querySelector('main').textContent.includes("近期活动")`),
		chromedp.FullScreenshot(&activities, 100),
		chromedp.Navigate(s.URL+"/console/reports"),
		until(`document.querySelector('main').textContent.includes("台账月报")`),
		chromedp.FullScreenshot(&reports, 100),
	)
	if err != nil {
		t.Fatalf("console: %v\nserver log:\n%s", err, s.stderr.String())
	}
	dir := t.TempDir()
	if d := os.Getenv("NEIGHBORBOT_CONSOLE_SCREENSHOTS"); d != "" {
		dir = d
	}
	shots := map[string][]byte{"console-1280.png": wide, "console-390.png": narrow,
		"console-item-1280.png": item, "console-ledger-390.png": ledger,
		"console-people-390.png": people, "console-activities-390.png": activities, "console-reports-390.png": reports}
	for name, shot := range shots {
		if len(shot) < 10_000 {
			t.Fatalf("%s is %d bytes", name, len(shot))
		}
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
