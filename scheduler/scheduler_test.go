package scheduler_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/scheduler"
)

// The Bar: a fake clock moves through a year with two scheduler instances on one bbolt store.
// Every theme activity and joint meeting is announced, every reminder goes out exactly once
// (one outbox entry per group, enqueued by one instance), holiday occurrences move, and an
// overdue item climbs the tree on the right working days.
func TestYearWithTwoInstances(t *testing.T) {
	began := time.Now()
	w := newWorld(t, testConfig(), at(2025, 12, 20, 10, 0), 2)
	// Claimed by 李建国, due the evening before the National Day week.
	it := w.post("local:xingfuli", "3栋楼道堆物清理", at(2026, 9, 30, 18, 0), "local:li")
	ticks := w.runUntil(at(2026, 12, 24, 23, 59))

	ids := w.log.ids()
	for id, by := range w.log.by {
		if len(by) != 1 {
			t.Errorf("%s enqueued %d times (by %v)", id, len(by), by)
		}
	}
	perInstance := map[string]int{}
	for _, by := range w.log.by {
		perInstance[by[0]]++
	}
	t.Logf("%d ticks, %d messages (by instance %v), %v", ticks, len(ids), perInstance, time.Since(began).Round(time.Millisecond))

	// Which occurrences were announced, in how many groups.
	announced := map[string]int{}
	for _, id := range ids {
		if occ, _, ok := strings.Cut(strings.TrimPrefix(id, "sched:"), "/announce/"); ok {
			announced[occ]++
		}
	}
	wantTheme := []string{
		"theme-day@202601041500", // 1月2日 元旦 → 1月4日, a 调休 working Sunday
		"theme-day@202602061500", "theme-day@202603061500", "theme-day@202604031500",
		"theme-day@202605061500", // 5月1日 劳动节 → 5月6日
		"theme-day@202606051500", "theme-day@202607031500", "theme-day@202608071500",
		"theme-day@202609041500",
		"theme-day@202610081500", // 10月2日 国庆节 → 10月8日
		"theme-day@202611061500", "theme-day@202612041500",
	}
	wantMeeting := []string{
		"joint-meeting@202601150930", "joint-meeting@202604150930",
		"joint-meeting@202607150930", "joint-meeting@202610150930",
	}
	var gotOcc []string
	for occ := range announced {
		gotOcc = append(gotOcc, occ)
	}
	slices.Sort(gotOcc)
	if want := append(slices.Clone(wantMeeting), wantTheme...); !slices.Equal(gotOcc, want) {
		t.Fatalf("announced occurrences:\n%v\nwant\n%v", gotOcc, want)
	}

	// Each step of each occurrence: one message per group. The theme activity goes to all
	// three groups, the joint meeting of 幸福社区 to its two.
	check := func(occ string, stepNames []string, groups []string) {
		t.Helper()
		for _, st := range stepNames {
			got := withPrefix(ids, "sched:"+occ+"/"+st+"/")
			var want []string
			for _, g := range groups {
				want = append(want, "sched:"+occ+"/"+st+"/"+g)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %v, want %v", occ, st, got, want)
			}
		}
	}
	all := []string{"local:heping", "local:xingfuli", "local:yangguang"}
	xingfu := []string{"local:xingfuli", "local:yangguang"}
	for _, occ := range wantTheme {
		check(occ, []string{"announce", "remind-72h", "remind-24h", "remind-2h"}, all)
	}
	for _, occ := range wantMeeting {
		check(occ, []string{"announce", "remind-72h", "remind-24h", "agenda"}, xingfu)
	}

	// The card of a moved occurrence says so.
	o := w.log.outbound(t, "sched:theme-day@202610081500/announce/local:xingfuli")
	if o.Card == nil || !strings.Contains(o.Card.Fields[0].Value, "10月8日(周四) 15:00（原定10月2日，逢国庆节顺延）") {
		t.Errorf("moved card: %+v", o.Card)
	}
	o = w.log.outbound(t, "sched:theme-day@202601041500/announce/local:heping")
	if o.Card == nil || !strings.Contains(o.Card.Fields[0].Value, "1月4日(周日) 15:00（原定1月2日，逢元旦节顺延）") {
		t.Errorf("moved card: %+v", o.Card)
	}

	// The item: reminded the day before, flagged at the deadline, to the community after 2
	// working days (8 and 9 October: the holiday week does not count) and to the street after
	// 5 (the 调休 Saturday 10 October counts, the Sunday does not).
	got := steps(w.item(it.No))
	want := []string{
		"remind@2026-09-29 18:00", "overdue@2026-09-30 18:00",
		"escalate@2026-10-09 18:00", "escalate@2026-10-13 18:00",
	}
	if !slices.Equal(got, want) {
		t.Errorf("item steps %v, want %v", got, want)
	}
	final := w.item(it.No)
	if !final.Overdue || final.Escalation != 2 {
		t.Errorf("item overdue %v escalation %d", final.Overdue, final.Escalation)
	}
	itemIDs := withPrefix(ids, "sched:item:")
	dl := it.Deadline.Unix()
	wantItem := []string{
		fmt.Sprintf("sched:item:%d/deadline:escalate1/%d/group", it.No, dl),
		fmt.Sprintf("sched:item:%d/deadline:escalate1/%d/local:wang", it.No, dl), // 幸福社区's secretary
		fmt.Sprintf("sched:item:%d/deadline:escalate2/%d/group", it.No, dl),
		fmt.Sprintf("sched:item:%d/deadline:escalate2/%d/local:zhou", it.No, dl), // the street
		fmt.Sprintf("sched:item:%d/deadline:overdue/%d/card", it.No, dl),
		fmt.Sprintf("sched:item:%d/deadline:overdue/%d/group", it.No, dl),
		fmt.Sprintf("sched:item:%d/deadline:remind/%d/local:li", it.No, dl), // the claimer
	}
	if !slices.Equal(itemIDs, wantItem) {
		t.Errorf("item messages:\n%v\nwant\n%v", strings.Join(itemIDs, "\n"), strings.Join(wantItem, "\n"))
	}
	if card := w.log.outbound(t, wantItem[4]); !card.Update || card.Card == nil || card.Card.Key != fmt.Sprintf("item:%d", it.No) {
		t.Errorf("overdue card update: %+v", card)
	}

	// In December the next theme day lies in 2027, whose 调休 the library does not know: the
	// secretaries are told once, whichever instance ticks first.
	warned := withPrefix(ids, "sched:holidays-missing:")
	if len(warned) == 0 {
		t.Error("the secretaries were not told that 2027's holidays are missing")
	}
	for _, id := range warned {
		if !strings.HasPrefix(id, "sched:holidays-missing:2027/") {
			t.Errorf("holiday warning %s, want only for 2027", id)
		}
		if o := w.log.outbound(t, id); o.UserID == "" || !strings.Contains(o.Text, "2027年的放假调休安排还没有导入，已按法定节假日推算；国务院公布后请更新 holidays_file") {
			t.Errorf("holiday warning %+v", o)
		}
	}

	// Everything is in the outbox once.
	stats, err := w.st.OutboxStats(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if wantN := 12*4*3 + 4*4*2 + len(wantItem) + len(warned); stats.Pending != wantN || len(ids) != wantN {
		t.Errorf("outbox holds %d (enqueued %d), want %d", stats.Pending, len(ids), wantN)
	}
}

// A tick every 15 minutes (as cron would, only coarser) through the National Day weeks fires
// the same steps at the first tick after they fall due.
func TestFixedTicksThroughNationalDay(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = cfg.Schedules[:1] // theme-day
	w := newWorld(t, cfg, at(2026, 9, 27, 9, 5), 2)
	it := w.post("local:xingfuli", "楼道灯更换", at(2026, 9, 30, 18, 0), "local:li")
	for now := w.clock.Now(); now.Before(at(2026, 10, 14, 0, 0)); now = now.Add(15 * time.Minute) {
		w.clock.Set(now)
		if _, err := w.tick(); err != nil {
			t.Fatal(err)
		}
	}
	got := steps(w.item(it.No))
	want := []string{
		"remind@2026-09-29 18:05", "overdue@2026-09-30 18:05",
		"escalate@2026-10-09 18:05", "escalate@2026-10-13 18:05",
	}
	if !slices.Equal(got, want) {
		t.Errorf("item steps %v, want %v", got, want)
	}
	for id, by := range w.log.by {
		if len(by) != 1 {
			t.Errorf("%s enqueued by %v", id, by)
		}
	}
	ids := w.log.ids()
	for _, st := range []string{"announce", "remind-72h", "remind-24h", "remind-2h"} {
		if n := len(withPrefix(ids, "sched:theme-day@202610081500/"+st+"/")); n != 3 {
			t.Errorf("%s sent to %d groups, want 3", st, n)
		}
	}
}

// A replica that claims a step and dies before enqueueing its messages: another takes the
// step over once the claim's lease has run out, and the messages go out once.
func TestClaimedButNeverSentIsTakenOver(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = cfg.Schedules[:1]
	w := newWorld(t, cfg, at(2026, 10, 1, 14, 0), 0)
	dying := w.add(nil)
	w.recs[0].fail = func() error { return fmt.Errorf("killed") }
	it := w.post("local:xingfuli", "楼道灯更换", at(2026, 10, 1, 14, 59), "local:li")
	w.clock.Set(at(2026, 10, 1, 15, 0)) // the announcement of 10月8日 and the item's 挂牌 fall due

	ctx := context.Background()
	if _, err := dying.Tick(ctx, w.clock.Now()); err == nil {
		t.Fatal("the dying instance reported no error")
	}
	if got := w.log.ids(); len(got) != 0 {
		t.Fatalf("sent %v", got)
	}
	if !w.item(it.No).HasStep(scheduler.StepOverdue) {
		t.Fatal("the overdue step was not claimed")
	}
	healthy := w.add(nil)
	// Within the lease the claim is respected.
	w.clock.Set(w.clock.Now().Add(time.Minute))
	if _, err := healthy.Tick(ctx, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := w.log.ids(); len(got) != 0 {
		t.Fatalf("taken over within the lease: %v", got)
	}
	w.clock.Set(w.clock.Now().Add(2 * time.Minute))
	for i := 0; i < 3; i++ {
		if _, err := healthy.Tick(ctx, w.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ids := w.log.ids()
	if n := len(withPrefix(ids, "sched:theme-day@202610081500/announce/")); n != 3 {
		t.Errorf("announcement sent to %d groups after the takeover, want 3: %v", n, ids)
	}
	if n := len(withPrefix(ids, fmt.Sprintf("sched:item:%d/deadline:overdue/", it.No))); n != 2 {
		t.Errorf("overdue messages after the repair: %v", ids)
	}
	if !strings.Contains(w.logs.String(), "taking over a step claimed but never sent") ||
		!strings.Contains(w.logs.String(), "recorded but its messages never enqueued") {
		t.Errorf("takeovers not logged:\n%s", w.logs)
	}
	for id, by := range w.log.by {
		if len(by) != 1 {
			t.Errorf("%s enqueued by %v", id, by)
		}
	}
}

// After a downtime: a reminder for an event that has not started is caught up, reminders the
// announcement supersedes and events that already happened are skipped and logged.
func TestCatchUpAfterDowntime(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = cfg.Schedules[:1]
	w := newWorld(t, cfg, at(2026, 9, 20, 9, 0), 1)
	it := w.post("local:xingfuli", "楼道灯更换", at(2026, 10, 9, 18, 0), "local:li")
	if _, err := w.tick(); err != nil {
		t.Fatal(err)
	}
	// Down from 20 September to 6 October 16:00: the announcement of 8 October (due 1
	// October) and its 3-day reminder (due 5 October) both fell due.
	w.clock.Set(at(2026, 10, 6, 16, 0))
	if _, err := w.tick(); err != nil {
		t.Fatal(err)
	}
	ids := w.log.ids()
	if n := len(withPrefix(ids, "sched:theme-day@202610081500/announce/")); n != 3 {
		t.Errorf("announcement not caught up: %v", ids)
	}
	if n := len(withPrefix(ids, "sched:theme-day@202610081500/remind-72h/")); n != 0 {
		t.Errorf("superseded reminder sent: %v", ids)
	}
	if !strings.Contains(w.logs.String(), "occurrence step skipped") {
		t.Errorf("skip not logged:\n%s", w.logs)
	}
	// Down again from before the item's reminder (8 October 18:00) to after its deadline
	// and past the whole November occurrence.
	w.clock.Set(at(2026, 10, 7, 15, 0))
	if _, err := w.tick(); err != nil { // 24h reminder of the activity
		t.Fatal(err)
	}
	w.clock.Set(at(2026, 11, 10, 9, 0))
	if _, err := w.tick(); err != nil {
		t.Fatal(err)
	}
	ids = w.log.ids()
	if n := len(withPrefix(ids, "sched:theme-day@202610081500/remind-24h/")); n != 3 {
		t.Errorf("24h reminder: %v", ids)
	}
	if n := len(withPrefix(ids, "sched:theme-day@202610081500/remind-2h/")); n != 0 {
		t.Errorf("reminder for an event that happened while down: %v", ids)
	}
	if n := len(withPrefix(ids, "sched:theme-day@202611061500/")); n != 0 {
		t.Errorf("messages for the missed November occurrence: %v", ids)
	}
	if !strings.Contains(w.logs.String(), "occurrence passed while no scheduler ran; skipped") ||
		!strings.Contains(w.logs.String(), "theme-day@202611061500") {
		t.Errorf("missed occurrence not logged:\n%s", w.logs)
	}
	// The item's reminder is recorded as skipped, nothing sent; 挂牌 and the escalations are
	// caught up.
	item := w.item(it.No)
	if !item.HasStep(scheduler.StepDeadlineRemind) || len(withPrefix(ids, fmt.Sprintf("sched:item:%d/deadline:remind/", it.No))) != 0 {
		t.Errorf("late reminder: steps %v ids %v", item.Reminded, ids)
	}
	for _, e := range item.History {
		if e.Action == community.ActRemind && !strings.Contains(e.Note, "未发送") {
			t.Errorf("skipped reminder's history note: %q", e.Note)
		}
	}
	if item.Escalation != 2 || len(withPrefix(ids, fmt.Sprintf("sched:item:%d/deadline:overdue/", it.No))) != 2 {
		t.Errorf("overdue not caught up: escalation %d, ids %v", item.Escalation, ids)
	}
	// What the metrics count (Options.Step), step by step: the item's 挂牌 and two
	// escalations caught up, its reminder skipped; October's announcement caught up, its
	// 72h reminder skipped, its 24h reminder on time; November's occurrence skipped whole.
	want := map[string]int{"item/caught_up": 3, "item/skipped": 1, "occurrence/caught_up": 1, "occurrence/fired": 1, "occurrence/skipped": 2}
	if got := w.stepCounts(); !maps.Equal(got, want) {
		t.Errorf("steps reported %v, want %v", got, want)
	}
}

// The deadline ladder: reminders in working hours, re-announcement of unclaimed items,
// auto-close of unconfirmed ones, and 改期 re-arming the deadline steps.
func TestDeadlineLadder(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = nil
	w := newWorld(t, cfg, at(2026, 11, 23, 10, 0), 1)
	// Due Wednesday 7:00: the reminder 24 h before falls at 7:00, outside working hours, and
	// waits for 8:00.
	early := w.post("local:xingfuli", "早上送药", at(2026, 11, 25, 7, 0), "local:li")
	// Posted, nobody claims it: re-announced a day later.
	open := w.post("local:yangguang", "周末清理楼道", time.Time{}, "")
	// Done, never confirmed: closed three days after.
	done := w.post("local:xingfuli", "修理单车棚", time.Time{}, "local:zhang")
	ctx := context.Background()
	zhang, _ := w.st.GetPerson(ctx, "local:zhang")
	if _, err := w.st.UpdateItem(ctx, done.No, func(it *community.Item) error {
		return it.Apply(community.Change{Action: community.ActComplete, Actor: community.ActorOf(zhang), At: w.clock.Now(), Note: "已修好"})
	}); err != nil {
		t.Fatal(err)
	}

	w.runUntil(at(2026, 11, 24, 12, 0))
	if got, want := steps(w.item(early.No)), []string{"remind@2026-11-24 08:00"}; !slices.Equal(got, want) {
		t.Errorf("early item: %v, want %v", got, want)
	}
	if got, want := steps(w.item(open.No)), []string{"reannounce@2026-11-24 10:00"}; !slices.Equal(got, want) {
		t.Errorf("open item: %v, want %v", got, want)
	}
	reann := w.log.outbound(t, fmt.Sprintf("sched:item:%d/reannounce/card", open.No))
	if reann.Update || reann.Card == nil || reann.ChatID != "yangguang" {
		t.Errorf("re-announcement is not a new card in the item's group: %+v", reann)
	}

	// 改期 before the deadline: the deadline steps run again for the new deadline.
	wang, _ := w.st.GetPerson(ctx, "local:wang")
	newDL := at(2026, 11, 27, 18, 0)
	if _, err := w.st.UpdateItem(ctx, early.No, func(it *community.Item) error {
		return it.Apply(community.Change{Action: community.ActReschedule, Actor: community.ActorOf(wang), At: w.clock.Now(), Deadline: newDL})
	}); err != nil {
		t.Fatal(err)
	}
	w.runUntil(at(2026, 11, 27, 18, 30))
	if got, want := steps(w.item(early.No)), []string{"remind@2026-11-24 08:00", "remind@2026-11-26 18:00", "overdue@2026-11-27 18:00"}; !slices.Equal(got, want) {
		t.Errorf("rescheduled item: %v, want %v", got, want)
	}
	if got, want := steps(w.item(done.No)), []string{"autoclose@2026-11-26 10:00"}; !slices.Equal(got, want) {
		t.Errorf("done item: %v, want %v", got, want)
	}
	if d := w.item(done.No); d.State != community.StateClosed {
		t.Errorf("auto-closed item state %s", d.State)
	}
	ids := w.log.ids()
	if n := len(withPrefix(ids, fmt.Sprintf("sched:item:%d/deadline:remind/", early.No))); n != 2 {
		t.Errorf("two reminders (one per deadline) expected: %v", ids)
	}
	// The weekend holds escalations: 2 working days after Friday 18:00 is Tuesday 18:00.
	w.runUntil(at(2026, 12, 5, 0, 0))
	if got, want := steps(w.item(early.No))[3:], []string{"escalate@2026-12-01 18:00", "escalate@2026-12-04 18:00"}; !slices.Equal(got, want) {
		t.Errorf("escalations: %v, want %v", got, want)
	}
}

func TestNewRejectsBadRules(t *testing.T) {
	_, err := scheduler.New(scheduler.Options{
		Store:     nil,
		Schedules: []config.Schedule{{ID: "x", Rule: "每月第一个周五"}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	w := newWorld(t, testConfig(), at(2026, 11, 23, 10, 0), 0)
	_, err = scheduler.New(scheduler.Options{
		Store:     w.st,
		Schedules: []config.Schedule{{ID: "x", Rule: "每月第一个周五"}},
	})
	if err == nil || !strings.Contains(err.Error(), "schedules[0].rule (x)") {
		t.Fatalf("error does not name the schedule: %v", err)
	}
}

// A resident on the WeChat Service Account is in no group: told privately that her need is
// overdue, never mentioned in the group.
func TestOverdueToAServiceAccountRequester(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = nil
	w := newWorld(t, cfg, at(2026, 11, 23, 10, 0), 1)
	ctx := context.Background()
	chen := community.Person{ID: "oa:o_chen", Name: "居民", Node: "grid1"}
	if err := w.st.PutPerson(ctx, chen); err != nil {
		t.Fatal(err)
	}
	g, err := w.st.GetGroup(ctx, "local:xingfuli")
	if err != nil {
		t.Fatal(err)
	}
	me := community.ActorOf(chen)
	it, err := w.st.CreateItem(ctx, func(no int64) (*community.Item, error) {
		return community.NewNeed(no, g, me, me, "楼道灯坏了", w.clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	wang, _ := w.st.GetPerson(ctx, "local:wang")
	li, _ := w.st.GetPerson(ctx, "local:li")
	if _, err := w.st.UpdateItem(ctx, it.No, func(it *community.Item) error {
		if err := it.Apply(community.Change{Action: community.ActDispatch, Actor: community.ActorOf(wang), At: w.clock.Now(), Slots: 1, Deadline: at(2026, 11, 24, 18, 0)}); err != nil {
			return err
		}
		return it.Apply(community.Change{Action: community.ActClaim, Actor: community.ActorOf(li), At: w.clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	w.runUntil(at(2026, 11, 24, 18, 30))
	ids := withPrefix(w.log.ids(), fmt.Sprintf("sched:item:%d/deadline:overdue/", it.No))
	var told bool
	for _, id := range ids {
		o := w.log.outbound(t, id)
		for _, m := range o.Mentions {
			if m.UserID == chen.ID {
				t.Errorf("the group mentions the Service Account resident: %+v", o)
			}
		}
		if o.UserID == chen.ID && o.Platform == "oa" && strings.Contains(o.Text, fmt.Sprintf("#%d 已超过截止时间", it.No)) {
			told = true
		}
	}
	if !told {
		t.Fatalf("the resident was not told privately: %v", ids)
	}
}
