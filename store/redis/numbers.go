package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/store"
)

// takeNumber takes the next number of the item counter for a thing that is not an item and
// records it in the index, unless kind and ref have a number already (ref not empty).
// INCR moves the counter under a CreateItem that read it before: that one's compare-and-set
// fails and it starts again with the new counter, so neither repeats a number.
//
//	KEYS[1]  {P:items}:seq
//	KEYS[2]  {P:items}:num     no → NumberEntry JSON
//	KEYS[3]  {P:items}:numref  "<kind>|<ref>" → no
//	ARGV[1]  "<kind>|<ref>" ("" for ref "": no index by ref)
//	ARGV[2]  kind, ARGV[3] ref
//
// Result: the number.
var takeNumber = redis.NewScript(`
if ARGV[1] ~= '' then
  local no = redis.call('HGET', KEYS[3], ARGV[1])
  if no then return tonumber(no) end
end
local no = redis.call('INCR', KEYS[1])
local e = {no = no, kind = ARGV[2]}
if ARGV[3] ~= '' then e.ref = ARGV[3] end
redis.call('HSET', KEYS[2], no, cjson.encode(e))
if ARGV[1] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], no) end
return no
`)

// restoreNumber saves an entry as it is and raises the counter to cover it (import).
//
//	KEYS[1..3] as takeNumber
//	ARGV[1]  no, ARGV[2] its JSON, ARGV[3] "<kind>|<ref>" ("" for none)
var restoreNumber = redis.NewScript(`
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], ARGV[1]) end
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`)

func numberRefKey(kind, ref string) string {
	if ref == "" {
		return ""
	}
	return kind + "|" + ref
}

func (s *Store) numberKeys() []string {
	return []string{s.k.itemSeq(), s.k.numbers(), s.k.numberRefs()}
}

func (s *Store) TakeNumber(ctx context.Context, kind, ref string) (int64, error) {
	if kind == "" || kind == store.KindItem {
		return 0, fmt.Errorf("redis: take number: kind %q", kind)
	}
	return s.runInt(ctx, "take number", takeNumber, s.numberKeys(), numberRefKey(kind, ref), kind, ref)
}

func numberNotFound(no int64) error { return store.ErrNotFound(fmt.Sprintf("编号 %d", no)) }

func (s *Store) LookupNumber(ctx context.Context, no int64) (store.NumberEntry, error) {
	var e store.NumberEntry
	if no <= 0 {
		return e, numberNotFound(no)
	}
	v, err := s.rdb.HGet(ctx, s.k.numbers(), strconv.FormatInt(no, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return e, numberNotFound(no)
	}
	if err != nil {
		return e, s.fail(ctx, "lookup number", err)
	}
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return e, fmt.Errorf("redis: decode number %d: %w", no, err)
	}
	return e, nil
}

func (s *Store) NumberOf(ctx context.Context, kind, ref string) (int64, error) {
	notFound := store.ErrNotFound(fmt.Sprintf("%s %s 的编号", kind, ref))
	if ref == "" {
		return 0, notFound
	}
	no, err := s.rdb.HGet(ctx, s.k.numberRefs(), numberRefKey(kind, ref)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, notFound
	}
	if err != nil {
		return 0, s.fail(ctx, "number of", err)
	}
	return no, nil
}

func (s *Store) restoreNumber(ctx context.Context, e store.NumberEntry) error {
	if e.No <= 0 || e.Kind == "" {
		return fmt.Errorf("redis: restore number entry %d of kind %q", e.No, e.Kind)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redis: encode number %d: %w", e.No, err)
	}
	_, err = s.runInt(ctx, "restore number", restoreNumber, s.numberKeys(), e.No, data, numberRefKey(e.Kind, e.Ref))
	return err
}

// numberEntries returns the whole index, by number (export).
func (s *Store) numberEntries(ctx context.Context) ([]store.NumberEntry, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.numbers()).Result()
	if err != nil {
		return nil, s.fail(ctx, "dump numbers", err)
	}
	out := make([]store.NumberEntry, 0, len(m))
	for k, v := range m {
		var e store.NumberEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("redis: decode number %s: %w", k, err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b store.NumberEntry) int { return cmp.Compare(a.No, b.No) })
	return out, nil
}
