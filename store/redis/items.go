package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

func itemNotFound(no int64) error { return store.ErrNotFound(fmt.Sprintf("事项#%d", no)) }

// CreateItem reads the counter n, builds item n+1 and saves it only if the counter still
// holds n (createItem); otherwise another replica took n+1 first, and it starts again with
// the new counter. A failed build saves nothing, so numbers have no gaps. An item whose
// Source event created an item before is not saved: that item comes back instead.
func (s *Store) CreateItem(ctx context.Context, build func(no int64) (*community.Item, error)) (*community.Item, error) {
	defer s.lock(s.k.itemSeq())()
	for attempt := 0; ; attempt++ {
		if err := contended(ctx, attempt); err != nil {
			return nil, err
		}
		cur, err := s.rdb.Get(ctx, s.k.itemSeq()).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, s.fail(ctx, "create item", err)
		}
		no := cur + 1
		it, err := build(no)
		if err != nil {
			return nil, err
		}
		if it == nil {
			return nil, errors.New("redis: create item: build returned no item")
		}
		if it.No != no {
			return nil, fmt.Errorf("redis: create item: build returned item %d for number %d", it.No, no)
		}
		it.Version = 1
		data, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("redis: encode item %d: %w", no, err)
		}
		keys := append([]string{s.k.itemSeq(), s.k.item(no), s.k.itemSource(), s.k.idxDue(), s.k.openStates()}, s.itemIndex(it)...)
		ok, err := s.runInt(ctx, "create item", createItem, keys, cur, no, data, it.Version, it.Source, it.GroupID, string(it.State), dueScore(it), openState(it))
		if err != nil {
			return nil, err
		}
		switch {
		case ok == 1:
			return it, nil
		case ok < 0: // created before by the same event: hand that item back
			return s.GetItem(ctx, -ok)
		}
	}
}

func (s *Store) GetItem(ctx context.Context, no int64) (*community.Item, error) {
	it, _, err := s.getItem(ctx, no)
	return it, err
}

// getItem returns the item and its version as stored.
func (s *Store) getItem(ctx context.Context, no int64) (*community.Item, int64, error) {
	data, version, err := s.getItemData(ctx, no)
	if err != nil {
		return nil, 0, err
	}
	it, err := decodeItem(no, data)
	return it, version, err
}

// getItemData returns the item's JSON and its version as stored.
func (s *Store) getItemData(ctx context.Context, no int64) ([]byte, int64, error) {
	if no <= 0 {
		return nil, 0, itemNotFound(no)
	}
	v, err := s.rdb.HMGet(ctx, s.k.item(no), "j", "v").Result()
	if err != nil {
		return nil, 0, s.fail(ctx, "get item", err)
	}
	data, _ := v[0].(string)
	vs, _ := v[1].(string)
	if data == "" {
		return nil, 0, itemNotFound(no)
	}
	version, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("redis: item %d has version %q", no, vs)
	}
	return []byte(data), version, nil
}

func decodeItem(no int64, data []byte) (*community.Item, error) {
	it := new(community.Item)
	if err := json.Unmarshal(data, it); err != nil {
		return nil, fmt.Errorf("redis: decode item %d: %w", no, err)
	}
	return it, nil
}

// UpdateItem reads the item, runs fn on a copy and saves the result only if the stored
// version is still the one read (updateItem), moving its index entries in the same script.
// On a conflict it reads again and calls fn again.
//
// The first read and call take no lock, so requests fn refuses (the late claims of a rush)
// answer after one round trip, in parallel. A change to save then takes this process's lock
// for the item, so local writers queue instead of colliding in Redis. One that queued starts
// again from what the writers ahead of it saved, when that is newer than what it read: that
// state held after its own read, so deciding on it is as good as reading it, without the
// round trip. (Versions only grow, so a version above the one it read was saved after its
// read began.) Another replica's writes are caught by the compare-and-set, and what is read
// after one is shared with the queue the same way.
func (s *Store) UpdateItem(ctx context.Context, no int64, fn func(*community.Item) error) (*community.Item, error) {
	key := s.k.item(no)
	var st *stripe
	defer func() {
		if st != nil {
			st.Unlock()
		}
	}()
	data, version, err := s.getItemData(ctx, no)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		old, err := decodeItem(no, data)
		if err != nil {
			return nil, err
		}
		it, err := decodeItem(no, data) // fn's own copy, sharing nothing with old
		if err != nil {
			return nil, err
		}
		if err := fn(it); err != nil {
			return nil, err
		}
		if st == nil {
			st = s.stripe(key)
			if !st.TryLock() {
				st.Lock()
				if st.key == key && st.version > version {
					data, version = st.data, st.version
					continue
				}
			}
		}
		it.No = no
		it.Version = old.Version + 1
		enc, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("redis: encode item %d: %w", no, err)
		}
		leave, join := diff(s.itemIndex(old), s.itemIndex(it))
		keys := append(append([]string{key, s.k.idxDue(), s.k.openStates()}, leave...), join...)
		ok, err := s.runInt(ctx, "update item", updateItem, keys, version, it.Version, enc, no, len(leave), it.GroupID, string(it.State), dueScore(it), openState(it))
		if err != nil {
			return nil, err
		}
		switch ok {
		case 1:
			st.key, st.version, st.data = key, it.Version, enc
			return it, nil
		case -1:
			return nil, itemNotFound(no)
		}
		// Another replica saved first. What is read now is newer than anything the writers
		// queued behind this one have: they start from it too.
		if err := contended(ctx, attempt); err != nil {
			return nil, err
		}
		if data, version, err = s.getItemData(ctx, no); err != nil {
			return nil, err
		}
		st.key, st.version, st.data = key, version, data
	}
}

// itemIndex lists the index zsets an item belongs to.
func (s *Store) itemIndex(it *community.Item) []string {
	out := []string{
		s.k.idxAll(),
		s.k.idxGroup(it.GroupID),
		s.k.idxRequester(it.RequesterID),
		s.k.idxState(string(it.State)),
	}
	for _, c := range it.Claims {
		if k := s.k.idxClaimer(c.UserID); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if !it.State.Terminal() {
		out = append(out, s.k.idxOpen())
	}
	for _, m := range store.ActiveMonths(it) {
		out = append(out, s.k.idxMonth(m))
	}
	return out
}

// dueScore is the item's score in {P:items}:due, its deadline in Unix milliseconds, or ""
// when it does not belong there (closed, cancelled or without a deadline).
func dueScore(it *community.Item) string {
	if it.State.Terminal() || it.Deadline.IsZero() {
		return ""
	}
	return strconv.FormatInt(it.Deadline.UnixMilli(), 10)
}

// openState is the item's value in {P:items}:os, "<state>|<group>", or "" when it is closed
// or cancelled.
func openState(it *community.Item) string {
	if it.State.Terminal() {
		return ""
	}
	return string(it.State) + "|" + it.GroupID
}

// diff returns what is in was but not in now, and what is in now but not in was.
func diff(was, now []string) (leave, join []string) {
	for _, k := range was {
		if !slices.Contains(now, k) {
			leave = append(leave, k)
		}
	}
	for _, k := range now {
		if !slices.Contains(was, k) {
			join = append(join, k)
		}
	}
	return leave, join
}

// ListItems runs listItems over the indexes the filter names, which walks the most
// selective one (or, for ByDeadline, {P:items}:due in deadline order) and returns the items
// in one snapshot.
func (s *Store) ListItems(ctx context.Context, f store.ItemFilter) ([]*community.Item, error) {
	if store.ActiveFilter(f) {
		return s.listActive(ctx, f)
	}
	v, err := s.runList(ctx, "list items", f, max(f.Limit, 0))
	if err != nil {
		return nil, err
	}
	var out []*community.Item
	for _, data := range strs(v) {
		it := new(community.Item)
		if err := json.Unmarshal([]byte(data), it); err != nil {
			return nil, fmt.Errorf("redis: decode item: %w", err)
		}
		out = append(out, it)
	}
	return out, nil
}

// CountItems never reads an item's JSON. Open items (and those with a deadline) of some
// groups and states are counted from {P:items}:os by countOpen; any other filter by
// listItems, counting: it walks the same indexes as a list and reads each match's state.
func (s *Store) CountItems(ctx context.Context, f store.ItemFilter) (map[community.State]int, error) {
	if store.ActiveFilter(f) {
		return s.countActive(ctx, f)
	}
	var v any
	var err error
	if f.Requester == "" && f.Claimer == "" &&
		(f.Open || dueOnly(f) || len(f.States) > 0 && !slices.ContainsFunc(f.States, community.State.Terminal)) {
		bound := ""
		if dueOnly(f) {
			bound = "+inf"
			if !f.DueBefore.IsZero() {
				bound = strconv.FormatInt(f.DueBefore.UnixMilli(), 10)
			}
		}
		args := []any{bound, len(f.Groups)}
		for _, g := range f.Groups {
			args = append(args, g)
		}
		args = append(args, len(f.States))
		for _, st := range f.States {
			args = append(args, string(st))
		}
		v, err = s.run(ctx, "count items", countOpen, []string{s.k.openStates(), s.k.idxDue()}, args...)
	} else {
		v, err = s.runList(ctx, "count items", f, -1)
	}
	if err != nil {
		return nil, err
	}
	vs, _ := v.([]any)
	out := make(map[community.State]int, len(vs)/2)
	for i := 0; i+1 < len(vs); i += 2 {
		st, _ := vs[i].(string)
		n, ok := vs[i+1].(int64)
		if !ok {
			return nil, fmt.Errorf("redis: count items: bad count %v", vs[i+1])
		}
		out[community.State(st)] += int(n)
	}
	return out, nil
}

// dueOnly reports whether f selects only open items with a deadline: those in :due.
func dueOnly(f store.ItemFilter) bool { return f.ByDeadline || !f.DueBefore.IsZero() }

// runList runs listItems for f with limit (-1 to count).
func (s *Store) runList(ctx context.Context, op string, f store.ItemFilter, limit int) (any, error) {
	var keys []string
	bydl := "0"
	if f.ByDeadline && limit >= 0 {
		bydl = "1"
	}
	args := []any{limit, s.k.itemPrefix(), bydl}
	// cond adds a condition: any of the zsets; field and values say which item field the
	// zsets stand for, so it can be checked on the item instead.
	cond := func(field string, values []string, zsets ...string) {
		keys = append(keys, zsets...)
		args = append(args, len(zsets), field)
		for _, v := range values {
			args = append(args, v)
		}
	}
	if len(f.Groups) > 0 {
		groups := slices.Compact(slices.Sorted(slices.Values(f.Groups)))
		var zs []string
		for _, g := range groups {
			zs = append(zs, s.k.idxGroup(g))
		}
		cond("g", groups, zs...)
	}
	if len(f.States) > 0 {
		var states, zs []string
		for _, st := range f.States {
			states = append(states, string(st))
		}
		states = slices.Compact(slices.Sorted(slices.Values(states)))
		for _, st := range states {
			zs = append(zs, s.k.idxState(st))
		}
		cond("s", states, zs...)
	}
	if f.Requester != "" {
		cond("-", nil, s.k.idxRequester(f.Requester))
	}
	if f.Claimer != "" {
		cond("-", nil, s.k.idxClaimer(f.Claimer))
	}
	if dueOnly(f) {
		// Open items with a deadline, up to DueBefore (to the millisecond).
		bound := "+inf"
		if !f.DueBefore.IsZero() {
			bound = strconv.FormatInt(f.DueBefore.UnixMilli(), 10)
		}
		cond("d", []string{bound}, s.k.idxDue())
	} else if f.Open {
		cond("-", nil, s.k.idxOpen())
	}
	if store.ActiveFilter(f) {
		var zs []string
		for _, m := range store.MonthsBetween(f.ActiveFrom, f.ActiveTo) {
			zs = append(zs, s.k.idxMonth(m))
		}
		if len(zs) == 0 {
			zs = []string{s.k.idxMonth("none")}
		}
		cond("-", nil, zs...)
	}
	if len(keys) == 0 {
		cond("-", nil, s.k.idxAll())
	}
	v, err := s.run(ctx, op, listItems, keys, args...)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// buildDue fills {P:items}:due and :os from the open items when data written before it existed is
// opened (:duev marks it done). Writers meanwhile keep it in step themselves.
func (s *Store) buildDue(ctx context.Context) error {
	return s.buildIndex(ctx, "build due index", s.k.idxDueBuilt(), s.k.idxOpen(), func(no string, it *community.Item) error {
		if err := s.rdb.HSet(ctx, s.k.openStates(), no, openState(it)).Err(); err != nil {
			return err
		}
		if sc := dueScore(it); sc != "" {
			return s.rdb.ZAdd(ctx, s.k.idxDue(), redis.Z{Score: float64(it.Deadline.UnixMilli()), Member: no}).Err()
		}
		return nil
	})
}

// buildIndex runs add on every item listed in the index from, once: the marker key built is
// set when it is done, and a store that has it skips the work. add's errors are Redis errors
// (recorded as failed writes); adding an item twice must be harmless.
func (s *Store) buildIndex(ctx context.Context, op, built, from string, add func(no string, it *community.Item) error) error {
	n, err := s.rdb.Exists(ctx, built).Result()
	if err != nil {
		return s.fail(ctx, op, err)
	}
	if n > 0 {
		return nil
	}
	err = s.pages(ctx, op, from, func(nos []string) error {
		for _, no := range nos {
			n, err := strconv.ParseInt(no, 10, 64)
			if err != nil {
				return fmt.Errorf("redis: index %s holds %q", from, no)
			}
			it, _, err := s.getItem(ctx, n)
			if community.ErrorCode(err) == community.ENotFound {
				continue
			}
			if err != nil {
				return err
			}
			if err := add(no, it); err != nil {
				return s.fail(ctx, op, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, built, "1", 0).Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// restoreItem saves it as it is, replacing any item of its number (import).
func (s *Store) restoreItem(ctx context.Context, it *community.Item) error {
	if it.No <= 0 {
		return fmt.Errorf("redis: restore item with number %d", it.No)
	}
	old, _, err := s.getItem(ctx, it.No)
	if err != nil && community.ErrorCode(err) != community.ENotFound {
		return err
	}
	var was []string
	if old != nil {
		was = s.itemIndex(old)
	}
	data, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("redis: encode item %d: %w", it.No, err)
	}
	leave, join := diff(was, s.itemIndex(it))
	keys := append(append([]string{s.k.itemSeq(), s.k.itemSource(), s.k.item(it.No), s.k.idxDue(), s.k.openStates()}, leave...), join...)
	// A restored version may be lower than one this process saved: forget that one.
	st := s.stripe(s.k.item(it.No))
	st.Lock()
	defer st.Unlock()
	st.key, st.data = "", nil
	_, err = s.runInt(ctx, "restore item", restoreItem, keys, it.No, data, it.Version, len(leave), it.Source, it.GroupID, string(it.State), dueScore(it), openState(it))
	return err
}

// itemSeq is the last number handed out.
func (s *Store) itemSeq(ctx context.Context) (int64, error) {
	n, err := s.rdb.Get(ctx, s.k.itemSeq()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "item counter", err)
	}
	return n, nil
}
