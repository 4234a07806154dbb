package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/storetest"
)

// TestRebuildOpen opens a data file written before items.due (no such bucket, items.open
// without values) and finds deadlines and counts as if it had always had them.
func TestRebuildOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "neighborbot.db")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	s, err := Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	storetest.RebuildFixture(t, s, now)
	want := storetest.ViewIndexes(t, s, now)
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bItemsDue); err != nil {
			return err
		}
		b := tx.Bucket(bItemsOpen)
		var keys [][]byte
		if err := b.ForEach(func(k, _ []byte) error { keys = append(keys, slices.Clone(k)); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Put(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want.Check(t, storetest.ViewIndexes(t, s, now), now)
}

// writeSchema1 writes a data file the way a build of schema 1 did, with raw bbolt calls:
// every item's body in items, the indexes as they still are.
func writeSchema1(t *testing.T, path string, items []*community.Item) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names := []string{
		"meta", "items", "items.group", "items.requester", "items.claimer", "items.state", "items.open", "items.due", "items.source",
		"persons", "groups", "once", "once.exp", "inbox", "inbox.due", "inbox.exp",
		"outbox", "outbox.wait", "outbox.ready", "outbox.stats", "docs",
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucket([]byte(n)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1")); err != nil {
			return err
		}
		b := tx.Bucket([]byte("items"))
		for _, it := range items {
			v, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := b.Put(be64(uint64(it.No)), v); err != nil {
				return err
			}
			for _, e := range itemIndex(it) {
				if bytes.Equal(e.bucket, bItemsMonth) {
					continue // schema 1 had no month index: Open builds it
				}
				if err := tx.Bucket(e.bucket).Put(e.key, e.val); err != nil {
					return err
				}
			}
		}
		return b.SetSequence(uint64(len(items)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bucketKeys lists the item numbers bucket holds bodies for.
func bucketKeys(t *testing.T, s *Store, bucket []byte) []int64 {
	t.Helper()
	var nos []int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			nos = append(nos, int64(binary.BigEndian.Uint64(k)))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return nos
}

// TestSplitItems opens a file of schema 1 and finds the open items' bodies moved to
// items.live, in one logged migration that a second open does not repeat, with every read
// (get, list, count, dump) seeing the same items as before, and items moving between the
// buckets as they close.
func TestSplitItems(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "neighborbot.db")
	base := time.Date(2025, 1, 1, 9, 0, 0, 0, time.Local)
	const n = 400
	var items []*community.Item
	var open, finished []int64
	for no := int64(1); no <= n; no++ {
		it := storetest.BenchItem(no, base)
		items = append(items, it)
		if it.State.Terminal() {
			finished = append(finished, no)
		} else {
			open = append(open, no)
		}
	}
	if len(open) < 10 || len(finished) < 10 {
		t.Fatalf("fixture has %d open and %d finished items, want some of each", len(open), len(finished))
	}
	writeSchema1(t, path, items)

	var logs bytes.Buffer
	openLogged := func() *Store {
		logs.Reset()
		s, err := Open(path, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := openLogged()
	// The month index, which the old file lacked, was built: every item is active in its month.
	active, err := s.ListItems(ctx, store.ItemFilter{ActiveFrom: base.AddDate(-1, 0, 0), ActiveTo: base.AddDate(1, 0, 0)})
	if err != nil || len(active) != n {
		t.Errorf("items active around %s after the migration: %d (%v), want %d", base.Format(time.DateOnly), len(active), err, n)
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("moved=%d ", len(open))) {
		t.Errorf("migration log %q, want moved=%d", logs.String(), len(open))
	}
	if got := bucketKeys(t, s, bItemsLive); !slices.Equal(got, open) {
		t.Errorf("items.live holds %v, want the open items %v", got, open)
	}
	if got := bucketKeys(t, s, bItems); !slices.Equal(got, finished) {
		t.Errorf("items holds %d bodies, want the %d finished items", len(got), len(finished))
	}
	// check reads every item back through each read the store has.
	check := func(s *Store) {
		t.Helper()
		var want, wantOpen []int64 // newest first, as ListItems lists
		for i := len(items) - 1; i >= 0; i-- {
			want = append(want, items[i].No)
			if !items[i].State.Terminal() {
				wantOpen = append(wantOpen, items[i].No)
			}
		}
		for _, it := range items {
			got, err := s.GetItem(ctx, it.No)
			if err != nil {
				t.Fatalf("GetItem(%d): %v", it.No, err)
			}
			if g, w := mustJSON(t, got), mustJSON(t, it); g != w {
				t.Fatalf("GetItem(%d) = %s, want %s", it.No, g, w)
			}
		}
		for _, c := range []struct {
			f    store.ItemFilter
			want []int64
		}{{store.ItemFilter{}, want}, {store.ItemFilter{Open: true}, wantOpen}} {
			got, err := s.ListItems(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if nos := numbers(got); !slices.Equal(nos, c.want) {
				t.Errorf("ListItems(%+v) lists %d items %v…, want %d %v…", c.f, len(nos), firstNos(nos), len(c.want), firstNos(c.want))
			}
		}
		counts, err := s.CountItems(ctx, store.ItemFilter{})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		if total != len(items) {
			t.Errorf("CountItems counts %v, want %d in all", counts, len(items))
		}
		var dumped []int64
		if err := s.Dump(ctx, func(r store.Record) error {
			if r.Item != nil {
				dumped = append(dumped, r.Item.No)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if slices.Reverse(want); !slices.Equal(dumped, want) {
			t.Errorf("Dump gives items %v…, want %d from #1 up", firstNos(dumped), len(want))
		}
	}
	check(s)

	// Closing an item moves its body to items; a new one lands in items.live.
	closing := open[0]
	it, err := s.UpdateItem(ctx, closing, func(it *community.Item) error {
		return it.Apply(community.Change{Action: community.ActCancel, Actor: benchSecretary, At: base})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !it.State.Terminal() {
		t.Fatalf("item %d is %s after cancelling", closing, it.State)
	}
	items[closing-1] = it
	created, err := s.CreateItem(ctx, func(no int64) (*community.Item, error) {
		return community.NewPost(no, benchGroup, benchSecretary, "帮忙搬家具", 1, time.Time{}, base)
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.No != n+1 {
		t.Errorf("created item #%d, want #%d after the migrated sequence", created.No, n+1)
	}
	if err := s.db.View(func(tx *bbolt.Tx) error {
		live, done := tx.Bucket(bItemsLive), tx.Bucket(bItems)
		if live.Get(be64(uint64(closing))) != nil || done.Get(be64(uint64(closing))) == nil {
			t.Errorf("cancelled item %d: in items.live %v, in items %v; want items only",
				closing, live.Get(be64(uint64(closing))) != nil, done.Get(be64(uint64(closing))) != nil)
		}
		if live.Get(be64(n+1)) == nil || done.Get(be64(n+1)) != nil {
			t.Errorf("new item %d is not in items.live alone", n+1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A second open migrates nothing and reads the same; so does splitItems run again.
	s = openLogged()
	defer s.Close()
	if logs.Len() != 0 {
		t.Errorf("second open logged %q, want nothing", logs.String())
	}
	items = append(items, created)
	check(s)
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		moved, err := splitItems(tx)
		if moved != 0 {
			t.Errorf("splitItems again moved %d", moved)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func numbers(items []*community.Item) []int64 {
	nos := make([]int64, len(items))
	for i, it := range items {
		nos[i] = it.No
	}
	return nos
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstNos(s []int64) []int64 { return s[:min(len(s), 8)] }
