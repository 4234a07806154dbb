package bolt

// The benchmarks are white-box only to bulk-load: 100,000 items through CreateItem would be
// 100,000 transactions, through putItem it is ten.

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/storetest"
)

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "neighborbot.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var (
	benchSecretary = community.Actor{ID: "local:sec", Name: "王书记", Role: community.RoleSecretary}
	benchGroup     = community.Group{ID: "local:g0", Platform: "local", Chat: "g0", Name: "幸福里"}
)

// BenchmarkContestedClaim is one 接单 rush: a fresh one-slot item and 100 members claiming it
// at once. One claim wins, 99 get a conflict; ns/op is the whole rush, durable writes included.
func BenchmarkContestedClaim(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	const members = 100
	actors := make([]community.Actor, members)
	for i := range actors {
		actors[i] = community.Actor{ID: fmt.Sprintf("local:m%d", i), Name: fmt.Sprintf("党员%d", i), Role: community.RoleMember}
	}
	now := time.Now()
	for b.Loop() {
		it, err := s.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewPost(no, benchGroup, benchSecretary, "帮忙搬家具", 1, time.Time{}, now)
		})
		if err != nil {
			b.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, a := range actors {
			wg.Go(func() {
				_, err := s.UpdateItem(ctx, it.No, func(it *community.Item) error {
					return it.Apply(community.Change{Action: community.ActClaim, Actor: a, At: now})
				})
				switch community.ErrorCode(err) {
				case "":
					wins.Add(1)
				case community.EConflict:
				default:
					b.Error(err)
				}
			})
		}
		wg.Wait()
		if w := wins.Load(); w != 1 {
			b.Fatalf("%d winners for one slot", w)
		}
	}
}

// BenchmarkListOpen lists from 100,000 items of which about 8% are still open, the shape of a
// few years of a busy community: the pages the bot shows most (待认领 in a group, a
// member's 待办, a resident's 我的) and, for scale, every open item.
func BenchmarkListOpen(b *testing.B) {
	s := openBench(b)
	const n = 100_000
	start := time.Now()
	if err := loadItems(s, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d items in %v", n, time.Since(start).Round(time.Millisecond))

	for _, bc := range []struct {
		name string
		f    store.ItemFilter
	}{
		{"open-limit20", store.ItemFilter{Open: true, Limit: 20}},
		{"group-open-limit20", store.ItemFilter{Groups: []string{"local:g3"}, Open: true, Limit: 20}},
		{"todo", store.ItemFilter{Claimer: "local:m7", Open: true}},
		{"requester", store.ItemFilter{Requester: "local:r42"}},
		{"groups-states", store.ItemFilter{Groups: []string{"local:g1", "local:g2"}, States: []community.State{community.StateOpen, community.StateNeed}}},
		{"open-all", store.ItemFilter{Open: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var got int
			for b.Loop() {
				items, err := s.ListItems(b.Context(), bc.f)
				if err != nil {
					b.Fatal(err)
				}
				got = len(items)
			}
			b.ReportMetric(float64(got), "items")
		})
	}
	storetest.BenchTodo(b, s, n)
}

// loadItems writes n items, 10,000 per transaction: 20 groups, 1,000 residents, 200 members;
// most closed, the rest spread over the other states.
func loadItems(s *Store, n int) error {
	base := time.Date(2023, 1, 1, 9, 0, 0, 0, time.Local)
	for lo := 1; lo <= n; lo += 10_000 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for no := lo; no < lo+10_000 && no <= n; no++ {
				if err := putItem(tx, nil, storetest.BenchItem(int64(no), base)); err != nil {
					return err
				}
			}
			return tx.Bucket(bItems).SetSequence(uint64(min(lo+9_999, n)))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkInboxCycle is an event's whole life in the inbox, 32 at a time as the pipeline's
// group commit records them at 1,000 events/s: journaled (one append and fdatasync for the
// batch), acked while still in the journal, and written handled into bbolt by a checkpoint.
// ns/op is per event, wall time (mostly waiting for the disk); cpu-ns/op is the process's CPU
// time per event (getrusage), the cost that matters at a steady rate.
//
//	go test -run '^$' -bench BenchmarkInboxCycle -benchtime 20000x ./store/bolt/
func BenchmarkInboxCycle(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	payload := make([]byte, 900) // a Feishu message event's decrypted size
	const batch = 32
	entries := make([]store.InboundEntry, 0, batch)
	ids := make([]string, 0, batch)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i += batch {
		entries, ids = entries[:0], ids[:0]
		for j := i; j < min(i+batch, b.N); j++ {
			id := fmt.Sprintf("feishu:om_%08d", j)
			entries = append(entries, store.InboundEntry{ID: id, Payload: payload, LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)})
			ids = append(ids, id)
		}
		if _, err := s.PutInboundBatch(ctx, entries, now); err != nil {
			b.Fatal(err)
		}
		if err := s.AckInboundBatch(ctx, ids, now); err != nil {
			b.Fatal(err)
		}
		if err := s.checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
