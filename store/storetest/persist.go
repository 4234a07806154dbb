package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// sameJSON compares values by their JSON form, which is how a time read back from storage
// compares equal to the one written (monotonic reading and *Location aside).
func sameJSON(t *testing.T, got, want any, what string) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err, "marshal")
	w, err := json.Marshal(want)
	must(t, err, "marshal")
	if string(g) != string(w) {
		t.Fatalf("%s after restart:\n got %s\nwant %s", what, g, w)
	}
}

func testPersistItems(t *testing.T, e *env) {
	e.requirePersistent()
	e.need(groupA, resident(1), "楼道灯坏了")
	e.post(groupB, "周六义诊", 2)
	_, err := e.apply(2, community.Change{Action: community.ActClaim, Actor: member(1)})
	must(t, err, "claim")
	_, err = e.apply(1, community.Change{Action: community.ActCancel, Actor: secretary})
	must(t, err, "cancel")
	before := []*community.Item{e.getItem(1), e.getItem(2)}

	e.restart()
	for _, it := range before {
		sameJSON(t, e.getItem(it.No), it, "item")
	}
	e.checkList(2, listFilters)

	// Numbering continues, a failed build still uses no number, updates still count versions.
	_, err = e.s.CreateItem(e.ctx, func(int64) (*community.Item, error) { return nil, community.Errorf(community.EInvalid, "不行") })
	wantCode(t, err, community.EInvalid, "failing build")
	if it := e.post(groupA, "第三件", 1); it.No != 3 {
		t.Fatalf("first item after restart got number %d, want 3", it.No)
	}
	got, err := e.apply(2, community.Change{Action: community.ActClaim, Actor: member(2)})
	must(t, err, "claim")
	if got.Version != before[1].Version+1 || got.State != community.StateClaimed {
		t.Fatalf("after restart and claim: v%d %s, want v%d claimed", got.Version, got.State, before[1].Version+1)
	}
	e.checkList(3, listFilters)
}

func testPersistDirectory(t *testing.T, e *env) {
	e.requirePersistent()
	must(t, e.s.PutPerson(e.ctx, wang), "PutPerson")
	must(t, e.s.PutPerson(e.ctx, li), "PutPerson")
	must(t, e.s.PutGroup(e.ctx, groupA), "PutGroup")
	must(t, e.s.PutGroup(e.ctx, groupB), "PutGroup")
	e.restart()
	e.checkPersons(wang, li)
	e.checkGroups(groupA, groupB)
}

func testPersistOnce(t *testing.T, e *env) {
	e.requirePersistent()
	e.once("fire:patrol:2026-03-02", time.Hour, true)
	e.restart()
	e.once("fire:patrol:2026-03-02", time.Hour, false)
	e.clock.Advance(time.Hour + time.Second)
	e.once("fire:patrol:2026-03-02", time.Hour, true)
}

func testPersistInbox(t *testing.T, e *env) {
	e.requirePersistent()
	t0 := e.clock.Now()
	for _, id := range []string{"a", "b", "c"} {
		e.putInbound(id, t0, true)
	}
	leased := e.leaseInbound("w1", 2, t0, time.Minute)
	if len(leased) != 2 {
		t.Fatalf("leased %v", leased)
	}
	must(t, e.s.AckInbound(e.ctx, leased[0], t0), "AckInbound")
	var unleased string
	for _, id := range []string{"a", "b", "c"} {
		if id != leased[0] && id != leased[1] {
			unleased = id
		}
	}

	e.restart()
	for _, id := range []string{"a", "b", "c"} {
		e.putInbound(id, t0.Add(time.Second), false)
	}
	if e.leasesEnd {
		due := []string{leased[1], unleased}
		slices.Sort(due)
		e.wantLeased("lease released at reopen", e.leaseInbound("w2", 10, t0.Add(time.Second), time.Hour), due...)
		e.wantLeased("leased again", e.leaseInbound("w2", 10, t0.Add(2*time.Minute), time.Hour))
		return
	}
	e.wantLeased("unleased", e.leaseInbound("w2", 10, t0.Add(30*time.Second), time.Hour), unleased)
	e.wantLeased("lease ran out", e.leaseInbound("w2", 10, t0.Add(2*time.Minute), time.Hour), leased[1])
}

func testPersistOutbox(t *testing.T, e *env) {
	e.requirePersistent()
	t0 := e.clock.Now()
	p1 := outEntry("p1", t0)
	p1.Batch = "b"
	p3 := outEntry("p3", t0.Add(2))
	p3.NotBefore = t0.Add(time.Hour)
	p3.Batch = "b"
	e.enqueue(p1, outEntry("p2", t0.Add(1)), p3)
	e.wantOutboxLeased("first", e.leaseOutbox("o1", 1, t0, time.Minute), "p1")
	before := []store.OutboxEntry{e.getOutbox("p1"), e.getOutbox("p2"), e.getOutbox("p3")}

	e.restart()
	if e.leasesEnd {
		before[0].LeaseOwner, before[0].LeaseUntil = "", time.Time{}
	}
	for _, en := range before {
		sameJSON(t, e.getOutbox(en.ID), en, "outbox entry")
	}
	e.enqueue(outEntry("p2", t0.Add(time.Hour))) // still a duplicate
	if e.leasesEnd {
		e.wantOutboxLeased("p1 released at reopen", e.leaseOutbox("o2", 10, t0, 2*time.Hour), "p1", "p2")
		wantCode(t, e.s.CompleteOutbox(e.ctx, "p1", "o1", "om_1", t0), community.EConflict, "CompleteOutbox by the owner from before the restart")
		must(t, e.s.CompleteOutbox(e.ctx, "p1", "o2", "om_1", t0), "CompleteOutbox by the new owner")
		e.wantStats("b", store.OutboxStats{Pending: 1, Sent: 1})
		e.wantOutboxLeased("p3 due", e.leaseOutbox("o2", 10, t0.Add(time.Hour), time.Minute), "p3")
		return
	}
	e.wantOutboxLeased("p1 still leased", e.leaseOutbox("o2", 10, t0, 2*time.Hour), "p2")
	must(t, e.s.CompleteOutbox(e.ctx, "p1", "o1", "om_1", t0), "CompleteOutbox by the owner from before the restart")
	e.wantStats("b", store.OutboxStats{Pending: 1, Sent: 1})
	e.wantStats("", store.OutboxStats{Pending: 2, Sent: 1})
	e.wantOutboxLeased("p3 due", e.leaseOutbox("o2", 10, t0.Add(time.Hour), time.Minute), "p3")
}

func testPersistDocs(t *testing.T, e *env) {
	e.requirePersistent()
	must(t, e.s.PutDoc(e.ctx, "cards", "12", []byte("om_card_12")), "PutDoc")
	must(t, e.s.PutDoc(e.ctx, "cards", "13", []byte("om_card_13")), "PutDoc")
	must(t, e.s.PutDoc(e.ctx, "tokens", "feishu", []byte("t-123")), "PutDoc")
	e.restart()
	e.wantList("cards", "", "12=om_card_12", "13=om_card_13")
	e.wantDoc("tokens", "feishu", "t-123")
}
