package scheduler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/scheduler"
)

const retention = 180 * 24 * time.Hour

// cancelledNeed files a need of chen's with her phone and door at the clock's time and
// cancels it (by chen) a minute later; open leaves it open.
func (w *world) need(text string, open bool) *community.Item {
	w.t.Helper()
	ctx := context.Background()
	chen, err := w.st.GetPerson(ctx, "local:chen")
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := w.st.GetGroup(ctx, "local:xingfuli")
	if err != nil {
		w.t.Fatal(err)
	}
	now := w.clock.Now()
	me := community.ActorOf(chen)
	it, err := w.st.CreateItem(ctx, func(no int64) (*community.Item, error) {
		return community.NewNeed(no, g, me, me, text, now)
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if open {
		return it
	}
	it, err = w.st.UpdateItem(ctx, it.No, func(it *community.Item) error {
		return it.Apply(community.Change{Action: community.ActCancel, Actor: me, At: now.Add(time.Minute), Note: "电话13812345678联系过了"})
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return it
}

func purges(it *community.Item) int {
	n := 0
	for _, e := range it.History {
		if e.Action == community.ActPurge {
			n++
		}
	}
	return n
}

// Items closed 181 days before the 03:30 purge lose their personal fields; those closed 179
// days before keep them until their own day comes. Two scheduler instances tick together, and
// a second pass the same day changes nothing.
func TestRetentionPurge(t *testing.T) {
	purgeAt := at(2026, 12, 7, 3, 30)
	w := newWorld(t, testConfig(), purgeAt.Add(-181*24*time.Hour-time.Minute), 0)
	w.retention = retention
	w.add(nil)
	w.add(nil)
	old := w.need("3栋2单元502室漏水，电话13812345678，身份证110101199003071234", false) // #1
	stillOpen := w.need("楼道灯坏了 13812345678", true)                          // #2
	w.clock.Set(purgeAt.Add(-179*24*time.Hour - time.Minute))
	recent := w.need("门口502室有积水 13812345678", false) // #3
	w.clock.Set(purgeAt.Add(-10 * time.Minute))
	fresh := w.need("今天的需求 13812345678", false) // #4

	next, err := w.tick()
	if err != nil {
		t.Fatal(err)
	}
	if !next.Equal(purgeAt) {
		t.Errorf("next wake-up %v, want the purge at %v", next, purgeAt)
	}
	if it := w.item(old.No); !it.Purged.IsZero() {
		t.Fatal("purged before 03:30")
	}

	w.clock.Set(purgeAt)
	if _, err := w.tick(); err != nil {
		t.Fatal(err)
	}
	it := w.item(old.No)
	if it.Purged.IsZero() || purges(it) != 1 || it.Phone != "" || it.RequesterName != community.PurgedName {
		t.Fatalf("#1 after the purge: %+v", it)
	}
	for _, s := range append([]string{it.Title, it.Reason}, it.History[len(it.History)-2].Note) {
		for _, bad := range []string{"13812345678", "502", "110101199003071234"} {
			if strings.Contains(s, bad) {
				t.Errorf("#1 still holds %q in %q", bad, s)
			}
		}
	}
	if len(it.History) != len(old.History)+1 || it.History[0].Action != community.ActFile || it.State != community.StateCancelled || it.RequesterID != "local:chen" {
		t.Errorf("#1 lost its history or state: %+v", it)
	}
	for _, no := range []int64{stillOpen.No, recent.No, fresh.No} {
		if it := w.item(no); !it.Purged.IsZero() || it.Phone == "" {
			t.Errorf("#%d purged too early: %+v", no, it)
		}
	}

	// Again the same day, on both instances: nothing more.
	version := w.item(old.No).Version
	w.clock.Set(purgeAt.Add(2 * time.Hour))
	next, err = w.tick()
	if err != nil {
		t.Fatal(err)
	}
	if it := w.item(old.No); it.Version != version || purges(it) != 1 {
		t.Errorf("second pass changed #1: version %d → %d, %d purges", version, it.Version, purges(it))
	}
	if !next.Equal(purgeAt.AddDate(0, 0, 1)) {
		t.Errorf("next wake-up %v, want tomorrow's purge", next)
	}

	// Two days on, #3 (closed 181 days before) goes too; the open need never does.
	w.clock.Set(purgeAt.AddDate(0, 0, 2))
	if _, err := w.tick(); err != nil {
		t.Fatal(err)
	}
	if it := w.item(recent.No); it.Purged.IsZero() || purges(it) != 1 {
		t.Errorf("#3 not purged on its day: %+v", it)
	}
	if it := w.item(stillOpen.No); !it.Purged.IsZero() {
		t.Errorf("open need purged: %+v", it)
	}
	if it := w.item(old.No); purges(it) != 1 {
		t.Errorf("#1 purged again: %d", purges(it))
	}
	// The pass keeps a watermark: the open old need is held, the fresh one not yet reached.
	raw, err := w.st.GetDoc(context.Background(), scheduler.CollMeta, "purge")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Next int64   `json:"next"`
		Held []int64 `json:"held"`
		Done bool    `json:"done"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if !st.Done || st.Next != fresh.No || len(st.Held) != 1 || st.Held[0] != stillOpen.No {
		t.Errorf("purge state %+v, want next #%d and #%d held", st, fresh.No, stillOpen.No)
	}
	if n := strings.Count(w.logs.String(), "retention purge done"); n != 2 {
		t.Errorf("%d passes logged, want 2 (one a day, by one instance):\n%s", n, w.logs.String())
	}
}

// A replica that claimed the day's pass and died is taken over after the claim's lease.
func TestRetentionPurgeTakenOver(t *testing.T) {
	purgeAt := at(2026, 12, 7, 3, 30)
	w := newWorld(t, testConfig(), purgeAt.Add(-200*24*time.Hour), 0)
	w.retention = retention
	w.add(nil)
	old := w.need("电话13812345678", false)
	// Another replica claimed today's pass a moment ago and never finished it.
	stale, _ := json.Marshal(map[string]any{"day": "2026-12-07", "owner": "dead", "claimed_at": purgeAt})
	if err := w.st.PutDoc(context.Background(), scheduler.CollMeta, "purge", stale); err != nil {
		t.Fatal(err)
	}
	w.clock.Set(purgeAt.Add(time.Minute))
	next, err := w.tick()
	if err != nil {
		t.Fatal(err)
	}
	if it := w.item(old.No); !it.Purged.IsZero() {
		t.Fatal("purged while another replica's claim was live")
	}
	if next.After(purgeAt.Add(5 * time.Minute)) {
		t.Errorf("next wake-up %v: the claim is not looked at again", next)
	}
	w.clock.Set(next)
	if _, err := w.tick(); err != nil {
		t.Fatal(err)
	}
	if it := w.item(old.No); it.Purged.IsZero() {
		t.Fatal("the dead replica's pass was not taken over")
	}
}
