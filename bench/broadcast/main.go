// Command broadcast measures how long a notice to every group takes against the platforms'
// rate-limit floor, over HTTP on 127.0.0.1, against fake Feishu and WeCom servers that answer
// 429/5xx to some sends and let others time out; and checks that every group shows the
// notice exactly once, also when the sending process is killed with SIGKILL halfway.
//
//	go run ./bench/broadcast                                # 1,000 and 5,000 groups, then the SIGKILL run
//	go run ./bench/broadcast -groups 1000 -kill 0 -hist     # one quick run, attempts per second
//
// Each group is on one platform, alternately: Feishu (5/s per chat, 50/s per app) and a
// WeCom group robot (20/min per robot, one robot per group). The floor is the time the
// binding limit, Feishu's 50/s per app, needs for the Feishu half: (groups/2 − 50) / 50 s;
// every failed attempt costs a token too, so the floor counting them is (attempts − 50) / 50 s.
// The dispatcher runs with its defaults (as internal/app builds it) unless flags say
// otherwise, except its lease (-lease), which bounds how long a killed sender's messages
// wait where the store does not release them at open (bbolt does); the clients time out
// each request after -clienttimeout, as an adapter should. Its limiter is internal/app's,
// which assumes the platforms still count a second of sending before the bot started; the
// bot that takes the confirmation has been running for -uptime by then (default a minute,
// as a bot that did not just start: its buckets full again; 0: it started as the store was
// being seeded). The SIGKILL run's first sender carries on that bot, the restarted one starts
// its own. Every run is bounded by -max.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/handlers"
	"github.com/neighborbot/neighborbot/notices"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "broadcast:", err)
		os.Exit(1)
	}
}

type options struct {
	groups        []int
	kill          int
	fail          float64
	timeouts      float64
	sendTimeout   time.Duration
	lease         time.Duration
	max           time.Duration
	noSync        bool
	noPace        bool
	backoff       time.Duration
	clientTimeout time.Duration
	poll          time.Duration
	hist          bool
	headroom      float64
	uptime        time.Duration

	// child mode: one sending process on a prepared store.
	child     bool
	storePath string
	feishuURL string
	wecomURL  string
	n         int
	since     time.Time // the limiter's Since; zero: the process's start
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("broadcast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	groups := fs.String("groups", "1000,5000", "group counts to measure, comma-separated")
	fs.IntVar(&o.kill, "kill", 1000, "groups of the run whose sender is killed with SIGKILL halfway (0: skip)")
	fs.Float64Var(&o.fail, "fail", 0.10, "share of sends answered 429 or 5xx")
	fs.Float64Var(&o.timeouts, "timeouts", 0.02, "share of sends that time out")
	fs.DurationVar(&o.sendTimeout, "sendtimeout", 15*time.Second, "the dispatcher's SendTimeout (its default: 15s)")
	fs.DurationVar(&o.clientTimeout, "clienttimeout", 1500*time.Millisecond, "the platform clients' own request timeout (0: none, the dispatcher's SendTimeout ends a hung send)")
	fs.DurationVar(&o.lease, "lease", 20*time.Second, "the dispatcher's Lease (how soon a killed sender's messages are retried)")
	fs.DurationVar(&o.max, "max", 5*time.Minute, "give up on a run after this long")
	fs.BoolVar(&o.noSync, "nosync", false, "bbolt without fsync")
	fs.BoolVar(&o.noPace, "nopace", false, "enqueue every message due at once (no pacing by the limits)")
	fs.DurationVar(&o.backoff, "backoff", 0, "the dispatcher's BaseBackoff (0: its default, 250ms)")
	fs.DurationVar(&o.poll, "poll", 0, "the dispatcher's Poll (0: its default, 100ms)")
	fs.Float64Var(&o.headroom, "headroom", 0, "notices.Headroom (0: its default 0.1; negative: none)")
	fs.DurationVar(&o.uptime, "uptime", time.Minute, "how long the bot has been running when the notice is confirmed (its limiter's Since; 0: it starts as the store is seeded)")
	fs.BoolVar(&o.hist, "hist", false, "print each platform's attempts in each second of each run")
	fs.BoolVar(&o.child, "child", false, "internal: run one sender on -store")
	fs.StringVar(&o.storePath, "store", "", "internal: the store file")
	fs.StringVar(&o.feishuURL, "feishu", "", "internal: the fake Feishu server")
	fs.StringVar(&o.wecomURL, "wecom", "", "internal: the fake WeCom server")
	fs.IntVar(&o.n, "n", 0, "internal: groups")
	fs.Func("since", "internal: when the bot's sending began (RFC 3339), for its limiter; default: this process's start", func(v string) error {
		t, err := time.Parse(time.RFC3339Nano, v)
		o.since = t
		return err
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.child {
		return runChild(ctx, o)
	}
	for _, s := range strings.Split(*groups, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 || n > 20000 {
			return fmt.Errorf("-groups: %q is not a count between 2 and 20000", s)
		}
		o.groups = append(o.groups, n)
	}

	fmt.Fprintf(stdout, "| groups | mode | took | floor | ratio | floor incl. failed attempts | ratio | Feishu attempts / failed / timed out / over limit | WeCom attempts / failed / timed out / over limit | Feishu groups once / dup / lost | WeCom groups once / dup / lost |\n")
	fmt.Fprintf(stdout, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, n := range o.groups {
		r, err := measure(ctx, o, n, false)
		if err != nil {
			return fmt.Errorf("%d groups: %w", n, err)
		}
		fmt.Fprintln(stdout, r.row())
	}
	if o.kill > 0 {
		r, err := measure(ctx, o, o.kill, true)
		if err != nil {
			return fmt.Errorf("SIGKILL run: %w", err)
		}
		fmt.Fprintln(stdout, r.row())
	}
	return nil
}

// result is one run.
type result struct {
	groups         int
	mode           string
	took           time.Duration
	floor, afloor  time.Duration
	feishu, wecom  [4]int
	once, dup, los [2]int // Feishu, WeCom
}

func (r result) row() string {
	ratio := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(r.took)/float64(d)) }
	return fmt.Sprintf("| %d | %s | %.2fs | %.2fs | %s | %.2fs | %s | %d / %d / %d / %d | %d / %d / %d / %d | %d / %d / %d | %d / %d / %d |",
		r.groups, r.mode, r.took.Seconds(), r.floor.Seconds(), ratio(r.floor), r.afloor.Seconds(), ratio(r.afloor),
		r.feishu[0], r.feishu[1], r.feishu[2], r.feishu[3], r.wecom[0], r.wecom[1], r.wecom[2], r.wecom[3],
		r.once[0], r.dup[0], r.los[0], r.once[1], r.dup[1], r.los[1])
}

const boss = "feishu:boss"

// chatOf is group i's chat: even groups on Feishu, odd ones on a WeCom robot.
func chatOf(i int) (platform, chat string) {
	if i%2 == 0 {
		return "feishu", fmt.Sprintf("oc_%05d", i)
	}
	return "wecom", fmt.Sprintf("wr_%05d", i)
}

// cityTree is a street with 10 communities and one grid per group.
func cityTree(n int) (*community.Tree, []community.Group) {
	nodes := []community.Node{{ID: "street", Name: "街道", Kind: community.KindStreet}}
	for c := range 10 {
		nodes = append(nodes, community.Node{ID: fmt.Sprintf("c%d", c), Name: fmt.Sprintf("%d社区", c+1), Kind: community.KindCommunity, Parent: "street"})
	}
	var gs []community.Group
	for i := range n {
		grid := fmt.Sprintf("g%d", i)
		nodes = append(nodes, community.Node{ID: grid, Name: fmt.Sprintf("%d网格", i+1), Kind: community.KindGrid, Parent: fmt.Sprintf("c%d", i%10)})
		plat, chat := chatOf(i)
		gs = append(gs, community.Group{ID: plat + ":" + chat, Platform: plat, Chat: chat, Name: fmt.Sprintf("%d网格群", i+1), Node: grid})
	}
	tree, err := community.NewTree(nodes)
	if err != nil {
		panic(err) // built from constants
	}
	return tree, gs
}

// sender is the bot's sending side over one store file, assembled as internal/app does.
type sender struct {
	since time.Time // its limiter's Since
	st    *bolt.Store
	n     *notices.Notices
	eng   *bot.Engine
	d     *bot.Dispatcher
}

func assemble(o options, path, feishuURL, wecomURL string, groups int, owner string) (*sender, error) {
	st, err := bolt.Open(path, bolt.Options{NoSync: o.noSync})
	if err != nil {
		return nil, err
	}
	tree, _ := cityTree(groups)
	log := slog.New(slog.DiscardHandler)
	plats := map[string]bot.Platform{"feishu": newClient("feishu", feishuURL, o.clientTimeout), "wecom": newClient("wecom", wecomURL, o.clientTimeout)}
	h := &handlers.Handlers{Store: st, Tree: tree, BotName: "邻里帮", Log: log}
	// The limiter assumes the platforms still count a second of sending before the process
	// started, as internal/app's does (bot.LocalLimiter).
	d := &bot.Dispatcher{Outbox: st, Refs: st, Platforms: plats, Limiter: &bot.LocalLimiter{Since: cmp.Or(o.since, time.Now().Add(-o.uptime))}, Owner: owner,
		Now: time.Now, Log: log, Refresh: h.RefreshCard(time.Now), SendTimeout: o.sendTimeout, Lease: o.lease,
		BaseBackoff: o.backoff, Poll: o.poll}
	n := &notices.Notices{Store: st, Tree: tree, Now: time.Now, Log: log, Wake: d.Wake, Headroom: o.headroom}
	if !o.noPace {
		n.Limits = func(out bot.Outbound) []bot.Limit {
			if l, ok := plats[out.Platform].(bot.Limited); ok {
				return l.Limits(out)
			}
			return nil
		}
	}
	d.Refresh = n.RefreshCard(d.Refresh)
	m := bot.NewMux("邻里帮")
	m.Pending, m.Refs = st, st
	if err := errors.Join(h.Register(m), n.Register(m)); err != nil {
		return nil, err
	}
	h.AddNumbered(n.Numbered, store.KindNotice, store.KindPoll)
	eng := &bot.Engine{Handler: bot.Chain(m.ServeBot, bot.Identify(st)), Outbox: st, Now: time.Now, Log: log, Wake: d.Wake}
	return &sender{since: d.Limiter.(*bot.LocalLimiter).Since, st: st, n: n, eng: eng, d: d}, nil
}

// say runs one private message from the street's secretary through the engine.
func (s *sender) say(ctx context.Context, seq int, text string) ([]bot.Outbound, error) {
	return s.eng.Handle(ctx, bot.Message{EventID: "bench" + strconv.Itoa(seq), Platform: "feishu", ChatID: "p_boss",
		Private: true, UserID: boss, Text: text, At: time.Now()})
}

// prepare seeds a store with the groups and the secretary and drafts the notice; it returns
// the draft's number.
func prepare(ctx context.Context, s *sender, groups int) (int64, error) {
	_, gs := cityTree(groups)
	for _, g := range gs {
		if err := s.st.PutGroup(ctx, g); err != nil {
			return 0, err
		}
	}
	if err := s.st.PutPerson(ctx, community.Person{ID: boss, Name: "街道书记", Role: community.RoleStreet}); err != nil {
		return 0, err
	}
	text := "通知 全体 关于开展燃气安全入户检查的通知：" + strings.Repeat("请各户配合检查，", 40) + " 详见 https://example.org/gas.pdf"
	outs, err := s.say(ctx, 1, text)
	if err != nil {
		return 0, err
	}
	for _, o := range outs {
		if o.Card != nil && len(o.Card.Buttons) > 0 && o.Card.Buttons[0].Action == notices.ActConfirm {
			return strconv.ParseInt(o.Card.Buttons[0].Ref, 10, 64)
		}
	}
	return 0, fmt.Errorf("no confirmation card: %+v", outs)
}

// done reports whether every group's message is sent or given up on.
func done(ctx context.Context, s *sender, id int64, groups int) (bool, error) {
	nt, err := s.n.Get(ctx, id)
	if err != nil {
		return false, err
	}
	st, err := s.st.OutboxStats(ctx, notices.BatchID(id))
	if err != nil {
		return false, err
	}
	return nt.Status == notices.StatusSent && st.Sent+st.Failed == groups, nil
}

func measure(ctx context.Context, o options, groups int, kill bool) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.max)
	defer cancel()
	r := result{groups: groups, mode: "in-process"}
	if kill {
		r.mode = "SIGKILL halfway, restart"
	}
	if o.noPace {
		r.mode += ", no pacing"
	}
	if o.headroom != 0 {
		r.mode += fmt.Sprintf(", headroom %g", o.headroom)
	}
	if o.clientTimeout == 0 {
		r.mode += ", no client timeout"
	}
	if o.uptime != time.Minute {
		r.mode += fmt.Sprintf(", bot up %v", o.uptime)
	}
	if o.backoff > 0 || o.poll > 0 {
		r.mode += fmt.Sprintf(", backoff %v, poll %v", cmp.Or(o.backoff, 250*time.Millisecond), cmp.Or(o.poll, 100*time.Millisecond))
	}
	feishu, err := startFake("feishu", o.fail, o.timeouts, uint64(groups), feishuLimits)
	if err != nil {
		return r, err
	}
	defer feishu.Close()
	wecom, err := startFake("wecom", o.fail, o.timeouts, uint64(groups)+1, wecomLimits)
	if err != nil {
		return r, err
	}
	defer wecom.Close()
	dir, err := os.MkdirTemp("", "broadcast")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "neighborbot.db")

	s, err := assemble(o, path, feishu.url, wecom.url, groups, "bench")
	if err != nil {
		return r, err
	}
	id, err := prepare(ctx, s, groups)
	if err != nil {
		s.st.Close()
		return r, err
	}
	start := time.Now()
	if _, err := s.say(ctx, 2, "确认发送"); err != nil {
		s.st.Close()
		return r, err
	}
	if kill {
		s.st.Close()
		err = killHalfway(ctx, o, path, feishu, wecom, groups, s.since)
	} else {
		err = sendAll(ctx, s, id, groups)
		s.st.Close()
	}
	if err != nil {
		return r, err
	}
	r.took = time.Since(start)
	if o.hist {
		fmt.Fprintf(os.Stderr, "broadcast: %d groups, attempts in each second since the confirmation: Feishu %v, WeCom %v\n", groups, feishu.perSecond(start), wecom.perSecond(start))
	}

	var chats [2][]string
	for i := range groups {
		plat, chat := chatOf(i)
		if plat == "feishu" {
			chats[0] = append(chats[0], chat)
		} else {
			chats[1] = append(chats[1], chat)
		}
	}
	entry := func(plat string) func(string) string {
		return func(chat string) string { return notices.EntryID(id, plat+":"+chat) }
	}
	r.once[0], r.dup[0], r.los[0] = feishu.tally(chats[0], entry("feishu"))
	r.once[1], r.dup[1], r.los[1] = wecom.tally(chats[1], entry("wecom"))
	a, f, t, ol := feishu.counters()
	r.feishu = [4]int{a, f, t, ol}
	a2, f2, t2, ol2 := wecom.counters()
	r.wecom = [4]int{a2, f2, t2, ol2}
	r.floor = time.Duration(len(chats[0])-feishuApp.Burst) * feishuApp.Every
	r.afloor = time.Duration(a-feishuApp.Burst) * feishuApp.Every
	return r, nil
}

// sendAll runs the dispatcher and the notices runner in this process until the notice is out.
func sendAll(ctx context.Context, s *sender, id int64, groups int) error {
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.d.Run(runCtx) }()
	go func() { defer wg.Done(); s.n.Run(runCtx, time.Minute, time.Now) }()
	s.n.Kick()
	err := waitDone(ctx, s, id, groups)
	stop()
	wg.Wait()
	return err
}

// waitDone polls the batch's counters: the harness watching from outside, not a sync point.
func waitDone(ctx context.Context, s *sender, id int64, groups int) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := done(ctx, s, id, groups)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			st, _ := s.st.OutboxStats(context.Background(), notices.BatchID(id))
			return fmt.Errorf("not done in time: %+v", st)
		case <-t.C:
		}
	}
}

// killHalfway runs the sender as a child process, kills it with SIGKILL once half the groups
// show the notice, and runs a new one on the same file until the notice is out. The first
// child carries on the bot that took the confirmation (this process, which sent nothing), so
// its limiter starts as that bot's (since); the second is a restart and starts its own.
func killHalfway(ctx context.Context, o options, path string, feishu, wecom *fakeServer, groups int, since time.Time) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child := func(extra ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, exe, append([]string{"-child", "-store", path, "-feishu", feishu.url, "-wecom", wecom.url,
			"-n", strconv.Itoa(groups), "-sendtimeout", o.sendTimeout.String(), "-lease", o.lease.String(),
			"-nosync=" + strconv.FormatBool(o.noSync), "-nopace=" + strconv.FormatBool(o.noPace),
			"-headroom", strconv.FormatFloat(o.headroom, 'g', -1, 64), "-backoff", o.backoff.String(), "-poll", o.poll.String(), "-clienttimeout", o.clientTimeout.String(), "-uptime", "0"}, extra...)...)
		cmd.Stderr = os.Stderr
		return cmd
	}
	first := child("-since", since.Format(time.RFC3339Nano))
	if err := first.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	t := time.NewTicker(time.Millisecond)
	for feishu.shownCount()+wecom.shownCount() < groups/2 {
		select {
		case err := <-exited:
			t.Stop()
			return fmt.Errorf("the first sender ended before halfway: %v", err)
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	t.Stop()
	if err := first.Process.Kill(); err != nil { // SIGKILL
		return err
	}
	<-exited
	fmt.Fprintf(os.Stderr, "broadcast: killed the sender with %d of %d groups shown\n", feishu.shownCount()+wecom.shownCount(), groups)
	second := child()
	if err := second.Run(); err != nil {
		return fmt.Errorf("the second sender: %w", err)
	}
	return nil
}

// runChild is one sending process: it resumes whatever notice is being sent and exits once
// it is out.
func runChild(ctx context.Context, o options) error {
	s, err := assemble(o, o.storePath, o.feishuURL, o.wecomURL, o.n, "child-"+strconv.Itoa(os.Getpid()))
	if err != nil {
		return err
	}
	defer s.st.Close()
	ctx, cancel := context.WithTimeout(ctx, o.max)
	defer cancel()
	if err := s.n.Tick(ctx, time.Now()); err != nil {
		return err
	}
	docs, err := s.st.ListDocs(ctx, "notices", "")
	if err != nil || len(docs) == 0 {
		return errors.Join(errors.New("no notice in the store"), err)
	}
	id, _ := strconv.ParseInt(docs[len(docs)-1].ID, 10, 64)
	return sendAll(ctx, s, id, o.n)
}
