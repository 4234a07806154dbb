package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// take is TakeNumber that must succeed.
func (e *env) take(kind, ref string) int64 {
	e.t.Helper()
	no, err := e.s.TakeNumber(e.ctx, kind, ref)
	must(e.t, err, "TakeNumber")
	return no
}

// wantNumber checks what no names: an entry, or (zero want) nothing in the index.
func (e *env) wantNumber(no int64, want store.NumberEntry) {
	e.t.Helper()
	got, err := e.s.LookupNumber(e.ctx, no)
	if want == (store.NumberEntry{}) {
		wantCode(e.t, err, community.ENotFound, fmt.Sprintf("LookupNumber(%d) of an item's number", no))
		return
	}
	must(e.t, err, "LookupNumber")
	if got != want {
		e.t.Fatalf("LookupNumber(%d) = %+v, want %+v", no, got, want)
	}
}

// testNumbersShared: items and other things share one gapless sequence; a ref keeps its one
// number; the index tells what each number names.
func testNumbersShared(t *testing.T, e *env) {
	if no := e.post(groupA, "扫雪", 2).No; no != 1 {
		t.Fatalf("first item got %d, want 1", no)
	}
	if no := e.take(store.KindNotice, "n1"); no != 2 {
		t.Fatalf("notice after item 1 got %d, want 2", no)
	}
	if no := e.take(store.KindNotice, "n1"); no != 2 {
		t.Fatalf("the same notice confirmed again got %d, want its number 2", no)
	}
	if no := e.need(groupA, resident(1), "水管漏水").No; no != 3 {
		t.Fatalf("item after notice 2 got %d, want 3", no)
	}
	if no := e.take(store.KindActivity, ""); no != 4 {
		t.Fatalf("activity got %d, want 4", no)
	}
	if no := e.take(store.KindActivity, ""); no != 5 {
		t.Fatalf("second activity without ref got %d, want a new number 5", no)
	}
	if no := e.take(store.KindPoll, "n1"); no != 6 {
		t.Fatalf("a poll with a notice's ref got %d, want its own number 6 (refs are per kind)", no)
	}
	e.wantNumber(1, store.NumberEntry{})
	e.wantNumber(2, store.NumberEntry{No: 2, Kind: store.KindNotice, Ref: "n1"})
	e.wantNumber(3, store.NumberEntry{})
	e.wantNumber(4, store.NumberEntry{No: 4, Kind: store.KindActivity})
	e.wantNumber(6, store.NumberEntry{No: 6, Kind: store.KindPoll, Ref: "n1"})
	e.wantNumber(7, store.NumberEntry{})
	if id := (store.NumberEntry{No: 4, Kind: store.KindActivity}).ID(); id != "4" {
		t.Fatalf("ID of an entry without ref = %q, want the number", id)
	}
	no, err := e.s.NumberOf(e.ctx, store.KindNotice, "n1")
	must(t, err, "NumberOf")
	if no != 2 {
		t.Fatalf("NumberOf(notice n1) = %d, want 2", no)
	}
	_, err = e.s.NumberOf(e.ctx, store.KindNotice, "n9")
	wantCode(t, err, community.ENotFound, "NumberOf an unnumbered notice")
	_, err = e.s.TakeNumber(e.ctx, store.KindItem, "x")
	if err == nil {
		t.Fatal("TakeNumber for an item succeeded; items take theirs with CreateItem")
	}
	if it := e.post(groupB, "义诊", 1); it.No != 7 {
		t.Fatalf("item after 6 numbers got %d, want 7", it.No)
	}
}

// testNumbersConcurrent: items created and numbers taken at once, some for the same ref,
// share 1..n without a gap or a repeat, and one ref gets one number.
func testNumbersConcurrent(t *testing.T, e *env) {
	const workers, each = 6, 8
	var (
		mu   sync.Mutex
		nums []int64
		refs = map[string][]int64{}
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				switch {
				case w%2 == 0:
					it, err := e.s.CreateItem(e.ctx, func(no int64) (*community.Item, error) {
						return community.NewNeed(no, groupA, resident(w), resident(w), fmt.Sprintf("事%d-%d", w, i), e.clock.Now())
					})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					nums = append(nums, it.No)
					mu.Unlock()
				default:
					ref := fmt.Sprintf("n%d", i) // every odd worker confirms the same notices
					no, err := e.s.TakeNumber(e.ctx, store.KindNotice, ref)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					refs[ref] = append(refs[ref], no)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for ref, got := range refs {
		if slices.Min(got) != slices.Max(got) {
			t.Fatalf("notice %s got several numbers: %v", ref, got)
		}
		nums = append(nums, got[0])
	}
	slices.Sort(nums)
	for i, no := range nums {
		if no != int64(i+1) {
			t.Fatalf("numbers are not 1..%d without gaps or repeats: %v", len(nums), nums)
		}
	}
	if want := workers/2*each + each; len(nums) != want {
		t.Fatalf("%d numbers, want %d", len(nums), want)
	}
}

// testPersistNumbers: the index and the shared sequence survive a restart.
func testPersistNumbers(t *testing.T, e *env) {
	e.requirePersistent()
	e.post(groupA, "扫雪", 1)
	a := e.take(store.KindNotice, "7")
	e.restart()
	e.wantNumber(a, store.NumberEntry{No: a, Kind: store.KindNotice, Ref: "7"})
	if no := e.take(store.KindNotice, "7"); no != a {
		t.Fatalf("after restart notice 7 got %d, want %d", no, a)
	}
	if no := e.post(groupA, "义诊", 1).No; no != a+1 {
		t.Fatalf("item after restart got %d, want %d", no, a+1)
	}
}
