package redis

// White-box only to bulk-load: 100,000 items through CreateItem would be 100,000 round trips
// of compare-and-set, through pipelined restoreItem scripts they are a hundred pipelines.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/storetest"
	goredis "github.com/redis/go-redis/v9"
)

// BenchmarkListOpen lists from 100,000 items of which about 8% are still open, the same data
// and filters as bolt's benchmark of the same name. It logs Redis's memory for the data.
func BenchmarkListOpen(b *testing.B) {
	s, err := Open(context.Background(), "redis://"+redistest.Start(b), Options{Prefix: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const n = 100_000
	start := time.Now()
	if err := loadItems(b.Context(), s, n); err != nil {
		b.Fatal(err)
	}
	mem, _ := s.rdb.Info(b.Context(), "memory").Result()
	b.Logf("loaded %d items in %v; %s", n, time.Since(start).Round(time.Millisecond), usedMemory(mem))

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
		// A street secretary's view: open items of 200 groups (the 20 that have items among them).
		{"groups200-open-limit20", store.ItemFilter{Groups: storetest.ManyGroups(200), Open: true, Limit: 20}},
		{"groups200-open", store.ItemFilter{Groups: storetest.ManyGroups(200), Open: true}},
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

func usedMemory(info string) string {
	var human string
	for _, line := range splitLines(info) {
		if len(line) > 18 && line[:18] == "used_memory_human:" {
			human = line[18:]
		}
	}
	return "used_memory " + human
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		line := s[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		out = append(out, line)
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// loadItems writes n items with pipelined restoreItem scripts, 1,000 per pipeline.
func loadItems(ctx context.Context, s *Store, n int) error {
	if err := restoreItem.Load(ctx, s.rdb).Err(); err != nil {
		return err
	}
	base := time.Date(2023, 1, 1, 9, 0, 0, 0, time.Local)
	for lo := 1; lo <= n; lo += 1000 {
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for no := lo; no < lo+1000 && no <= n; no++ {
				it := storetest.BenchItem(int64(no), base)
				data, err := json.Marshal(it)
				if err != nil {
					return err
				}
				keys := append([]string{s.k.itemSeq(), s.k.itemSource(), s.k.item(it.No), s.k.idxDue(), s.k.openStates()}, s.itemIndex(it)...)
				restoreItem.EvalSha(ctx, p, keys, it.No, data, it.Version, 0, it.Source, it.GroupID, string(it.State), dueScore(it), openState(it))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
