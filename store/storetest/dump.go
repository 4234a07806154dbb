package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
)

// RunDump checks a backend's store.Dumper (export/import): a store filled with every kind of
// data, dumped and restored into a second store, dumps the same records and behaves the
// same. open is called twice, for two independent empty stores on one clock.
func RunDump(t *testing.T, open OpenFunc) {
	clock := NewClock(Epoch)
	src := &env{t: t, ctx: t.Context(), clock: clock}
	src.s = open(t, clock.Now)
	if _, ok := src.s.(store.Dumper); !ok {
		t.Fatalf("%T does not implement store.Dumper", src.s)
	}
	src.fill()

	recs := dumpAll(t, src)
	kinds := map[string]int{}
	for _, r := range recs {
		kinds[recordKind(t, r)]++
	}
	for _, k := range []string{"item_seq", "item", "number", "person", "group", "doc", "outbox", "inbound", "once"} {
		if kinds[k] == 0 {
			t.Fatalf("dump has no %s record: %v", k, kinds)
		}
	}
	t.Logf("dumped %d records: %v", len(recs), kinds)
	if kinds["item_seq"] != 1 || recordKind(t, recs[0]) != "item_seq" {
		t.Fatalf("dump must start with the one item counter: %v", kinds)
	}

	dst := &env{t: t, ctx: t.Context(), clock: clock}
	dst.s = open(t, clock.Now)
	for chunk := range slices.Chunk(recs, 7) {
		must(t, dst.s.(store.Dumper).Restore(dst.ctx, chunk), "Restore")
	}
	got := dumpAll(t, dst)
	if a, b := jsonLines(t, recs), jsonLines(t, got); a != b {
		t.Fatalf("dump after restore differs:\n got %s\nwant %s", b, a)
	}

	// The copy behaves like the original.
	dst.checkList(int64(kinds["item"]), append(slices.Clone(listFilters), dueFilters(Epoch)...))
	for _, b := range []string{"", "news", "none"} {
		want, err := src.s.OutboxStats(src.ctx, b)
		must(t, err, "OutboxStats")
		dst.wantStats(b, want)
	}
	later := clock.Now().Add(2 * time.Hour)
	for _, e := range []*env{src, dst} {
		e.wantOutboxLeased("after restore", e.leaseOutbox("o9", 100, later, time.Minute), "out-1", "out-4", "out-5", "out-0")
		e.wantLeased("after restore", e.leaseInbound("w9", 10, later, time.Minute), "ev-leased", "ev-new")
		e.putInbound("ev-done", later, false)
		e.once("fire:live", time.Hour, false)
		e.once("fire:gone", time.Hour, true)
		// The shared sequence goes on after the items and the other numbers.
		if it := e.post(groupA, "导入后的新事项", 1); it.No != int64(kinds["item"]+kinds["number"])+1 {
			t.Fatalf("first item after restore got number %d, want %d", it.No, kinds["item"]+kinds["number"]+1)
		}
	}
	// Restoring again leaves queues and Once keys alone (a second import does not duplicate).
	must(t, dst.s.(store.Dumper).Restore(dst.ctx, recs), "Restore again")
	dst.wantStats("", func() store.OutboxStats {
		st, err := src.s.OutboxStats(src.ctx, "")
		must(t, err, "OutboxStats")
		return st
	}())
}

// Fill puts every kind of data a store keeps into s, reading and advancing clock: a fixture
// for tests that move data between stores (store/transfer).
func Fill(t *testing.T, s store.Store, clock *Clock) {
	e := &env{t: t, ctx: t.Context(), s: s, clock: clock}
	e.fill()
}

// fill puts every kind of data in the store, with the fields a restore must keep: versions,
// history, claims, leases, attempts, handled events, live and expired Once keys.
func (e *env) fill() {
	t0 := e.clock.Now()
	rng := rand.New(rand.NewPCG(5, 6))
	e.churn(rng, 12)
	e.spreadDeadlines(1, 12, t0)
	e.take(store.KindNotice, "3") // numbers 13 and 14, after the items
	e.take(store.KindActivity, "")

	must(e.t, e.s.PutPerson(e.ctx, wang), "PutPerson")
	must(e.t, e.s.PutPerson(e.ctx, li), "PutPerson")
	must(e.t, e.s.PutGroup(e.ctx, groupA), "PutGroup")
	must(e.t, e.s.PutGroup(e.ctx, groupB), "PutGroup")
	for _, d := range []struct{ coll, id, v string }{
		{"cardref", "local|a|item:1", "om_1"}, {"cardref", "群:2", "om_2"}, {"flags", "empty", ""}, {"schedules", "weekly", `{"at":"09:00"}`},
	} {
		must(e.t, e.s.PutDoc(e.ctx, d.coll, d.id, []byte(d.v)), "PutDoc")
	}

	// Outbox: out-0 sent, out-1 leased (its lease ends before "later"), out-2 failed, out-3
	// sent, out-4 released with a failed try, out-5 pending not yet due.
	var entries []store.OutboxEntry
	for i := range 6 {
		en := outEntry(fmt.Sprintf("out-%d", i), t0.Add(time.Duration(i)))
		if i%2 == 0 {
			en.Batch = "news"
		}
		entries = append(entries, en)
	}
	entries[5].NotBefore = t0.Add(time.Hour)
	entries[0].CreatedAt = t0.Add(time.Hour) // handed out last, by age, once pending again
	e.enqueue(entries...)
	e.leaseOutbox("o1", 5, t0, 10*time.Minute)
	must(e.t, e.s.CompleteOutbox(e.ctx, "out-3", "o1", "om_3", t0), "CompleteOutbox")
	must(e.t, e.s.FailOutbox(e.ctx, "out-2", "o1", "blocked", t0), "FailOutbox")
	must(e.t, e.s.ReleaseOutbox(e.ctx, "out-4", "o1", t0.Add(time.Minute), "timeout", true), "ReleaseOutbox")
	must(e.t, e.s.ReleaseOutbox(e.ctx, "out-0", "o1", t0.Add(time.Minute), "", false), "ReleaseOutbox")

	// Inbox: one handled, one leased, one new.
	for _, id := range []string{"ev-done", "ev-leased"} {
		e.putInbound(id, t0, true)
	}
	e.leaseInbound("w1", 10, t0, time.Minute)
	must(e.t, e.s.AckInbound(e.ctx, "ev-done", t0), "AckInbound")
	e.putInbound("ev-new", t0.Add(time.Second), true)

	e.once("fire:gone", time.Minute, true)
	e.once("fire:live", 24*time.Hour, true)
	e.clock.Advance(2 * time.Minute) // fire:gone has expired: it is not exported
}

func dumpAll(t *testing.T, e *env) []store.Record {
	t.Helper()
	var recs []store.Record
	must(t, e.s.(store.Dumper).Dump(e.ctx, func(r store.Record) error {
		recs = append(recs, r)
		return nil
	}), "Dump")
	return recs
}

func recordKind(t *testing.T, r store.Record) string {
	t.Helper()
	var kinds []string
	for k, set := range map[string]bool{
		"item_seq": r.ItemSeq != nil, "item": r.Item != nil, "number": r.Number != nil, "person": r.Person != nil, "group": r.Group != nil,
		"doc": r.Doc != nil, "outbox": r.Outbox != nil, "inbound": r.Inbound != nil, "once": r.Once != nil,
	} {
		if set {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		t.Fatalf("record with %d parts set: %v", len(kinds), kinds)
	}
	return kinds[0]
}

func jsonLines(t *testing.T, recs []store.Record) string {
	t.Helper()
	var b []byte
	for _, r := range recs {
		line, err := json.Marshal(r)
		must(t, err, "marshal record")
		b = append(append(b, line...), '\n')
	}
	return string(b)
}
