package scheduler_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/scheduler"
)

func getSchedule(t *testing.T, w *world, id string) scheduler.Schedule {
	t.Helper()
	raw, err := w.st.GetDoc(context.Background(), scheduler.CollSchedules, id)
	if err != nil {
		t.Fatal(err)
	}
	var sc scheduler.Schedule
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// The config is the truth for configured schedules: a one-off keeps the year it was first
// saved with, a change bumps the revision, a removed schedule stops.
func TestSyncFromConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = append(cfg.Schedules, config.Schedule{ID: "drill", Kind: config.ScheduleCustom, Rule: "11月30日 14:00", Title: "消防演练"})
	w := newWorld(t, cfg, at(2026, 11, 23, 10, 0), 1)
	if sc := getSchedule(t, w, "drill"); sc.Rule != "2026年11月30日 14:00" || sc.Written != "11月30日 14:00" || sc.Rev != 1 {
		t.Fatalf("one-off stored as %+v", sc)
	}
	// A restart after the date: still 2026, so it does not come back every year.
	w.clock.Set(at(2026, 12, 5, 9, 0))
	cfg.Schedules[0].Place = "新地点"
	w.add(nil)
	if sc := getSchedule(t, w, "drill"); sc.Rule != "2026年11月30日 14:00" {
		t.Errorf("one-off re-resolved: %q", sc.Rule)
	}
	if sc := getSchedule(t, w, "theme-day"); sc.Place != "新地点" || sc.Rev != 2 {
		t.Errorf("changed schedule: %+v", sc)
	}
	// theme-day leaves the config.
	cfg.Schedules = cfg.Schedules[1:]
	w.add(nil)
	if sc := getSchedule(t, w, "theme-day"); !sc.Cancelled {
		t.Errorf("removed schedule still live: %+v", sc)
	}
	if sc := getSchedule(t, w, "joint-meeting"); sc.Cancelled || sc.Rev != 1 {
		t.Errorf("unchanged schedule touched: %+v", sc)
	}
	w.inst = w.inst[2:]
	w.runUntil(at(2027, 1, 20, 0, 0))
	for _, id := range w.log.ids() {
		if len(withPrefix([]string{id}, "sched:theme-day@")) > 0 || len(withPrefix([]string{id}, "sched:drill@")) > 0 {
			t.Errorf("stopped schedule sent %s", id)
		}
	}
	if n := len(withPrefix(w.log.ids(), "sched:joint-meeting@202701150930/announce/")); n != 2 {
		t.Errorf("joint meeting announced in %d groups", n)
	}
}

// The daily stand-up of a grid: a card an hour before, on working days only (the 调休
// Saturday included), to that grid's group only.
func TestStandupOnWorkingDays(t *testing.T) {
	cfg := testConfig()
	cfg.Schedules = []config.Schedule{{ID: "standup", Kind: config.ScheduleStandup, Rule: "工作日 8:00", Title: "网格早碰头", Nodes: []string{"grid1"}}}
	w := newWorld(t, cfg, at(2026, 9, 29, 9, 0), 2)
	w.runUntil(at(2026, 10, 13, 9, 0))
	got := withPrefix(w.log.ids(), "sched:standup@")
	want := []string{
		"sched:standup@202609300800/announce/local:xingfuli",
		"sched:standup@202610080800/announce/local:xingfuli",
		"sched:standup@202610090800/announce/local:xingfuli",
		"sched:standup@202610100800/announce/local:xingfuli", // 调休 Saturday
		"sched:standup@202610120800/announce/local:xingfuli",
		"sched:standup@202610130800/announce/local:xingfuli",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	if e := w.log.outbound(t, want[0]); e.Card == nil || e.Card.Title != "☀️ 网格早碰头" {
		t.Errorf("stand-up card: %+v", e.Card)
	}
}
