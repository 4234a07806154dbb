package bolt

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

func itemNotFound(no int64) error { return store.ErrNotFound(fmt.Sprintf("事项#%d", no)) }

// CreateItem takes the bucket's next sequence inside the same write transaction as the build
// and the save, so a failed build rolls the sequence back with everything else.
func (s *Store) CreateItem(ctx context.Context, build func(no int64) (*community.Item, error)) (*community.Item, error) {
	var out *community.Item
	err := s.update(ctx, "create item", func(tx *bbolt.Tx) error {
		seq, err := tx.Bucket(bItems).NextSequence()
		if err != nil {
			return err
		}
		no := int64(seq)
		it, err := build(no)
		if err != nil {
			return pass(err)
		}
		if it == nil {
			return errors.New("build returned no item")
		}
		if it.No != no {
			return fmt.Errorf("build returned item %d for number %d", it.No, no)
		}
		if it.Source != "" {
			if v := tx.Bucket(bItemsSource).Get([]byte(it.Source)); v != nil {
				// Created before by the same event: hand that item back and roll this
				// transaction (and so the number it took) back.
				if out, err = getItem(tx, int64(binary.BigEndian.Uint64(v))); err != nil {
					return err
				}
				return errExistingItem
			}
		}
		it.Version = 1
		if err := putItem(tx, nil, it); err != nil {
			return err
		}
		out = it
		return nil
	})
	if errors.Is(err, errExistingItem) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

var errExistingItem = errors.New("item already created by this source")

func (s *Store) GetItem(ctx context.Context, no int64) (*community.Item, error) {
	var it *community.Item
	err := s.view(ctx, "get item", func(tx *bbolt.Tx) error {
		var err error
		it, err = getItem(tx, no)
		return err
	})
	return it, err
}

func (s *Store) UpdateItem(ctx context.Context, no int64, fn func(*community.Item) error) (*community.Item, error) {
	var out *community.Item
	err := s.update(ctx, "update item", func(tx *bbolt.Tx) error {
		old, err := getItem(tx, no)
		if err != nil {
			return err
		}
		it, err := getItem(tx, no) // a second decode: fn gets a copy that shares nothing with old
		if err != nil {
			return err
		}
		if err := fn(it); err != nil {
			return pass(err)
		}
		it.No = no
		it.Version = old.Version + 1
		if err := putItem(tx, old, it); err != nil {
			return err
		}
		out = it
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// getItem decodes item no; a missing item is a passed not-found error.
func getItem(tx *bbolt.Tx, no int64) (*community.Item, error) {
	return newItemReader(tx).get(no)
}

// itemReader reads items from both buckets of bodies through cursors it keeps, so a list
// that reads many (mostly finished ones, missing in items.live first) allocates no cursor
// per item.
type itemReader struct{ live, done *bbolt.Cursor }

func newItemReader(tx *bbolt.Tx) itemReader {
	return itemReader{tx.Bucket(bItemsLive).Cursor(), tx.Bucket(bItems).Cursor()}
}

func (r itemReader) get(no int64) (*community.Item, error) {
	if no <= 0 {
		return nil, pass(itemNotFound(no))
	}
	key := be64(uint64(no))
	k, v := r.live.Seek(key) // the small bucket first: most reads are of open items
	if !bytes.Equal(k, key) {
		k, v = r.done.Seek(key)
	}
	if !bytes.Equal(k, key) || v == nil {
		return nil, pass(itemNotFound(no))
	}
	it := new(community.Item)
	if err := json.Unmarshal(v, it); err != nil {
		return nil, fmt.Errorf("decode item %d: %w", no, err)
	}
	return it, nil
}

// bodies is the bucket an item's body is kept in: items.live while it is open, else items.
func bodies(tx *bbolt.Tx, it *community.Item) *bbolt.Bucket {
	if it.State.Terminal() {
		return tx.Bucket(bItems)
	}
	return tx.Bucket(bItemsLive)
}

// putItem saves it, moving its body to the other bucket when it opened or closed, and moves
// its index entries from what old (the item as stored, nil if new) had to what it has.
func putItem(tx *bbolt.Tx, old, it *community.Item) error {
	v, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode item %d: %w", it.No, err)
	}
	k := be64(uint64(it.No))
	if err := bodies(tx, it).Put(k, v); err != nil {
		return err
	}
	if old != nil && old.State.Terminal() != it.State.Terminal() {
		if err := bodies(tx, old).Delete(k); err != nil {
			return err
		}
	}
	if it.Source != "" && (old == nil || old.Source != it.Source) {
		if err := tx.Bucket(bItemsSource).Put([]byte(it.Source), be64(uint64(it.No))); err != nil {
			return err
		}
	}
	var was []indexEntry
	if old != nil {
		was = itemIndex(old)
	}
	now := itemIndex(it)
	for _, e := range was {
		if !slices.ContainsFunc(now, e.equal) {
			if err := tx.Bucket(e.bucket).Delete(e.key); err != nil {
				return err
			}
		}
	}
	for _, e := range now {
		if !slices.ContainsFunc(was, e.equal) {
			if err := tx.Bucket(e.bucket).Put(e.key, e.val); err != nil {
				return err
			}
		}
	}
	return nil
}

type indexEntry struct{ bucket, key, val []byte }

func (e indexEntry) equal(o indexEntry) bool {
	return bytes.Equal(e.bucket, o.bucket) && bytes.Equal(e.key, o.key) && bytes.Equal(e.val, o.val)
}

// itemIndex lists the index entries an item has.
func itemIndex(it *community.Item) []indexEntry {
	out := []indexEntry{
		{bucket: bItemsGroup, key: idx(it.GroupID, it.No)},
		{bucket: bItemsRequester, key: idx(it.RequesterID, it.No)},
		{bucket: bItemsState, key: idx(string(it.State), it.No)},
	}
	for _, c := range it.Claims {
		e := indexEntry{bucket: bItemsClaimer, key: idx(c.UserID, it.No)}
		if !slices.ContainsFunc(out, e.equal) {
			out = append(out, e)
		}
	}
	for _, m := range store.ActiveMonths(it) {
		out = append(out, indexEntry{bucket: bItemsMonth, key: idx(m, it.No)})
	}
	if !it.State.Terminal() {
		gs := cat(str(it.GroupID), str(string(it.State)))
		out = append(out, indexEntry{bItemsOpen, be64(uint64(it.No)), gs})
		if !it.Deadline.IsZero() {
			out = append(out, indexEntry{bItemsDue, cat(tkey(it.Deadline), be64(uint64(it.No))), gs})
		}
	}
	return out
}

// rebuildOpen rewrites items.open and items.due from the open items: a data file written
// before items.due existed has neither it nor items.open's values.
func rebuildOpen(tx *bbolt.Tx) error {
	var nos []int64
	if err := tx.Bucket(bItemsOpen).ForEach(func(k, _ []byte) error {
		nos = append(nos, int64(binary.BigEndian.Uint64(k)))
		return nil
	}); err != nil {
		return err
	}
	for _, no := range nos {
		it, err := getItem(tx, no)
		if err != nil {
			return err
		}
		for _, e := range itemIndex(it) {
			if bytes.Equal(e.bucket, bItemsOpen) || bytes.Equal(e.bucket, bItemsDue) {
				if err := tx.Bucket(e.bucket).Put(e.key, e.val); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// splitItems moves the bodies of the items in items.open from items to items.live: a data
// file of schema 1 kept every body in items. It trusts items.open (written in the same
// transactions as the bodies) rather than decoding 100,000 bodies to find the open ones, and
// skips a body already moved, so running it again moves nothing. It returns how many it moved.
func splitItems(tx *bbolt.Tx) (int, error) {
	items, live := tx.Bucket(bItems), tx.Bucket(bItemsLive)
	moved := 0
	c := tx.Bucket(bItemsOpen).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		v := items.Get(k)
		if v == nil {
			continue // moved already, or an index entry without a body, which ListItems reports
		}
		if err := live.Put(k, v); err != nil { // v stays valid for the transaction's life
			return moved, err
		}
		if err := items.Delete(k); err != nil {
			return moved, err
		}
		moved++
	}
	return moved, nil
}

// forEachItem calls fn with every item's number and body, in number order, merging the two
// buckets of bodies.
func forEachItem(tx *bbolt.Tx, fn func(k, v []byte) error) error {
	a, b := tx.Bucket(bItemsLive).Cursor(), tx.Bucket(bItems).Cursor()
	ka, va := a.First()
	kb, vb := b.First()
	for ka != nil || kb != nil {
		var err error
		if kb == nil || ka != nil && bytes.Compare(ka, kb) < 0 {
			err = fn(ka, va)
			ka, va = a.Next()
		} else {
			err = fn(kb, vb)
			kb, vb = b.Next()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ListItems intersects the indexes the filter names, walking them from the newest number
// down and leapfrogging (each index seeks to the largest number not above the others'), so
// only matching items are decoded and a Limit stops the walk early. A filter that names
// nothing walks the items themselves.
func (s *Store) ListItems(ctx context.Context, f store.ItemFilter) ([]*community.Item, error) {
	if dueOnly(f) {
		return s.listDue(ctx, f)
	}
	var out []*community.Item
	err := s.view(ctx, "list items", func(tx *bbolt.Tx) error {
		var iters []noIter
		if len(f.Groups) > 0 {
			iters = append(iters, anyOf(tx.Bucket(bItemsGroup), f.Groups))
		}
		if len(f.States) > 0 {
			states := make([]string, len(f.States))
			for i, st := range f.States {
				states[i] = string(st)
			}
			iters = append(iters, anyOf(tx.Bucket(bItemsState), states))
		}
		if f.Requester != "" {
			iters = append(iters, newRange(tx.Bucket(bItemsRequester), str(f.Requester)))
		}
		if f.Claimer != "" {
			iters = append(iters, newRange(tx.Bucket(bItemsClaimer), str(f.Claimer)))
		}
		if f.Open {
			iters = append(iters, newRange(tx.Bucket(bItemsOpen), nil))
		}
		if store.ActiveFilter(f) {
			iters = append(iters, anyOfMonths(tx, f))
		}
		if len(iters) == 0 { // every item: both buckets of bodies, merged by number
			iters = append(iters, &unionIter{all: []*rangeIter{newRange(tx.Bucket(bItemsLive), nil), newRange(tx.Bucket(bItems), nil)}})
		}
		r := newItemReader(tx)
		return intersect(iters, func(no uint64) (bool, error) {
			it, err := r.get(int64(no))
			if err != nil {
				return false, err
			}
			if !matches(f, it) { // an index out of step with its item would be a bug; never show it
				return true, nil
			}
			out = append(out, it)
			return f.Limit <= 0 || len(out) < f.Limit, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func matches(f store.ItemFilter, it *community.Item) bool {
	return (len(f.Groups) == 0 || slices.Contains(f.Groups, it.GroupID)) &&
		(len(f.States) == 0 || slices.Contains(f.States, it.State)) &&
		(f.Requester == "" || it.RequesterID == f.Requester) &&
		(f.Claimer == "" || it.ClaimedBy(f.Claimer)) &&
		(!f.Open || !it.State.Terminal()) &&
		(!store.ActiveFilter(f) || store.ActiveIn(it, f.ActiveFrom, f.ActiveTo)) &&
		(!dueOnly(f) || !it.State.Terminal() && !it.Deadline.IsZero() &&
			(f.DueBefore.IsZero() || !it.Deadline.After(f.DueBefore)))
}

// dueOnly reports whether f selects only open items with a deadline: those are in items.due.
func dueOnly(f store.ItemFilter) bool { return f.ByDeadline || !f.DueBefore.IsZero() }

// walkDue calls fn, earliest deadline first, with the number and state of every item in
// items.due that meets f (up to f.DueBefore), checking the group and the state by the index
// entry's value and the requester and the claimer by their indexes, so no item is decoded.
func walkDue(tx *bbolt.Tx, f store.ItemFilter, fn func(no uint64, state community.State) (bool, error)) error {
	var end []byte // the last key that may match
	if !f.DueBefore.IsZero() {
		end = cat(tkey(f.DueBefore), be64(math.MaxUint64))
	}
	return walkOpen(tx, bItemsDue, end, f, fn)
}

// walkOpen is walkDue over bucket (items.due or items.open, whose values are the same) up
// to the key end (nil for all).
func walkOpen(tx *bbolt.Tx, bucket, end []byte, f store.ItemFilter, fn func(no uint64, state community.State) (bool, error)) error {
	var groups map[string]bool
	if len(f.Groups) > 0 {
		groups = make(map[string]bool, len(f.Groups))
		for _, g := range f.Groups {
			groups[g] = true
		}
	}
	var req, claim *bbolt.Bucket
	if f.Requester != "" {
		req = tx.Bucket(bItemsRequester)
	}
	if f.Claimer != "" {
		claim = tx.Bucket(bItemsClaimer)
	}
	c := tx.Bucket(bucket).Cursor()
	for k, v := c.First(); k != nil && (end == nil || bytes.Compare(k, end) <= 0); k, v = c.Next() {
		if len(k) < 8 {
			return fmt.Errorf("%s: bad key %x", bucket, k)
		}
		no := binary.BigEndian.Uint64(k[len(k)-8:])
		group, rest, ok := cutStr(v)
		state, _, ok2 := cutStr(rest)
		if !ok || !ok2 {
			return fmt.Errorf("%s: bad value for item %d", bucket, no)
		}
		st := community.State(state)
		if groups != nil && !groups[string(group)] ||
			len(f.States) > 0 && !slices.Contains(f.States, st) ||
			req != nil && req.Get(idx(f.Requester, int64(no))) == nil ||
			claim != nil && claim.Get(idx(f.Claimer, int64(no))) == nil {
			continue
		}
		more, err := fn(no, st)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// cutStr splits a str-encoded string off the front of b.
func cutStr(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint32(b))
	if len(b) < 4+n {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

// listDue lists from items.due: in its order for ByDeadline, else the numbers it yields
// newest first. Only the items listed are decoded.
func (s *Store) listDue(ctx context.Context, f store.ItemFilter) ([]*community.Item, error) {
	var out []*community.Item
	err := s.view(ctx, "list items", func(tx *bbolt.Tx) error {
		var nos []uint64
		r := newItemReader(tx)
		err := walkDue(tx, f, func(no uint64, _ community.State) (bool, error) {
			if !f.ByDeadline {
				nos = append(nos, no)
				return true, nil
			}
			it, err := r.get(int64(no))
			if err != nil {
				return false, err
			}
			if matches(f, it) {
				out = append(out, it)
			}
			return f.Limit <= 0 || len(out) < f.Limit, nil
		})
		if err != nil || f.ByDeadline {
			return err
		}
		slices.SortFunc(nos, func(a, b uint64) int { return cmp.Compare(b, a) })
		for _, no := range nos {
			it, err := r.get(int64(no))
			if err != nil {
				return err
			}
			if matches(f, it) {
				out = append(out, it)
				if f.Limit > 0 && len(out) >= f.Limit {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// allStates lists every state, for counting.
var allStates = []community.State{
	community.StateNeed, community.StateOpen, community.StateClaimed, community.StateDone,
	community.StateFollowUp, community.StateClosed, community.StateCancelled,
}

// CountItems walks index entries only: items.due for a deadline filter, items.open (whose
// values say group and state) for open items, else per state the intersection ListItems
// would walk, with that state's index.
func (s *Store) CountItems(ctx context.Context, f store.ItemFilter) (map[community.State]int, error) {
	out := map[community.State]int{}
	tally := func(_ uint64, st community.State) (bool, error) {
		out[st]++
		return true, nil
	}
	if store.ActiveFilter(f) {
		return s.countActive(ctx, f)
	}
	err := s.view(ctx, "count items", func(tx *bbolt.Tx) error {
		if dueOnly(f) {
			return walkDue(tx, f, tally)
		}
		if f.Open || len(f.States) > 0 && !slices.ContainsFunc(f.States, community.State.Terminal) {
			return walkOpen(tx, bItemsOpen, nil, f, tally)
		}
		states := allStates
		if len(f.States) > 0 {
			states = slices.Compact(slices.Sorted(slices.Values(f.States)))
		}
		for _, st := range states {
			if f.Open && st.Terminal() {
				continue
			}
			iters := []noIter{newRange(tx.Bucket(bItemsState), str(string(st)))}
			if len(f.Groups) > 0 {
				iters = append(iters, anyOf(tx.Bucket(bItemsGroup), f.Groups))
			}
			if f.Requester != "" {
				iters = append(iters, newRange(tx.Bucket(bItemsRequester), str(f.Requester)))
			}
			if f.Claimer != "" {
				iters = append(iters, newRange(tx.Bucket(bItemsClaimer), str(f.Claimer)))
			}
			n := 0
			if err := intersect(iters, func(uint64) (bool, error) { n++; return true, nil }); err != nil {
				return err
			}
			if n > 0 {
				out[st] = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// noIter walks item numbers in one index, downwards.
type noIter interface {
	// seekLE returns the largest number ≤ n, or false if there is none.
	seekLE(n uint64) (uint64, bool)
}

// intersect calls emit with every number all iters hold, highest first, until emit returns
// false.
func intersect(iters []noIter, emit func(no uint64) (bool, error)) error {
	n := uint64(math.MaxUint64)
	for n > 0 {
		m, ok := iters[0].seekLE(n)
		if !ok {
			return nil
		}
		agreed := true
		for _, it := range iters[1:] {
			k, ok := it.seekLE(m)
			if !ok {
				return nil
			}
			if k != m { // nothing in (k, m] is in this index: start again from k
				n, agreed = k, false
				break
			}
		}
		if !agreed {
			continue
		}
		more, err := emit(m)
		if err != nil || !more {
			return err
		}
		n = m - 1
	}
	return nil
}

// rangeIter walks the keys prefix be64(no) of one bucket.
type rangeIter struct {
	c      *bbolt.Cursor
	prefix []byte
	at     bool   // the cursor is on a key of the range
	cur    uint64 // that key's number
}

func newRange(b *bbolt.Bucket, prefix []byte) *rangeIter {
	return &rangeIter{c: b.Cursor(), prefix: prefix}
}

func (r *rangeIter) decode(k []byte) (uint64, bool) {
	if k == nil || len(k) != len(r.prefix)+8 || !bytes.HasPrefix(k, r.prefix) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(r.prefix):]), true
}

func (r *rangeIter) seekLE(n uint64) (uint64, bool) {
	if r.at && n == r.cur {
		return n, true
	}
	if r.at && n < r.cur {
		// Walking down one step at a time is the common case: try the previous key first.
		no, ok := r.decode(prev(r.c))
		r.at, r.cur = ok, no
		if !ok || no <= n {
			return no, ok
		}
	}
	key := binary.BigEndian.AppendUint64(slices.Clip(r.prefix), n)
	k, _ := r.c.Seek(key)
	switch {
	case k == nil:
		k, _ = r.c.Last()
	case !bytes.Equal(k, key):
		k, _ = r.c.Prev()
	}
	no, ok := r.decode(k)
	r.at, r.cur = ok, no
	return no, ok
}

func prev(c *bbolt.Cursor) []byte {
	k, _ := c.Prev()
	return k
}

// unionIter walks the union of several ranges: "any of these groups". intersect asks for
// ever smaller numbers, so the ranges sit in a max-heap by their current number and only the
// ones above the number asked for move (mostly one cursor step each): a secretary's 待办 over
// 200 groups costs a few steps per item instead of 200 seeks.
type unionIter struct {
	all     []*rangeIter
	heap    rangeHeap // the ranges not yet exhausted, highest current number first
	last    uint64    // the previous query
	started bool
}

func anyOf(b *bbolt.Bucket, vals []string) noIter {
	if len(vals) == 1 {
		return newRange(b, str(vals[0]))
	}
	u := &unionIter{all: make([]*rangeIter, 0, len(vals))}
	for _, v := range slices.Compact(slices.Sorted(slices.Values(vals))) {
		u.all = append(u.all, newRange(b, str(v)))
	}
	return u
}

func (u *unionIter) seekLE(n uint64) (uint64, bool) {
	if !u.started || n > u.last {
		// First call, or a query above the last one: position every range afresh.
		u.heap = u.heap[:0]
		for _, r := range u.all {
			if _, ok := r.seekLE(n); ok {
				u.heap = append(u.heap, r)
			}
		}
		heap.Init(&u.heap)
		u.started = true
	}
	u.last = n
	for len(u.heap) > 0 && u.heap[0].cur > n {
		if _, ok := u.heap[0].seekLE(n); ok {
			heap.Fix(&u.heap, 0)
		} else {
			heap.Pop(&u.heap)
		}
	}
	if len(u.heap) == 0 {
		return 0, false
	}
	return u.heap[0].cur, true
}

// rangeHeap is a max-heap of positioned ranges by their current number.
type rangeHeap []*rangeIter

func (h rangeHeap) Len() int           { return len(h) }
func (h rangeHeap) Less(i, j int) bool { return h[i].cur > h[j].cur }
func (h rangeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rangeHeap) Push(x any)        { *h = append(*h, x.(*rangeIter)) }
func (h *rangeHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
