package redis

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// A collection is a hash of id → value plus a zset of its ids (all scored 0, so ZRANGEBYLEX
// lists them in byte order, like bbolt's keys), both under the collection's own hashtag.

func checkDoc(coll, id string) error {
	if coll == "" || id == "" {
		return community.Errorf(community.EInvalid, "doc needs a collection and an id (got %q, %q)", coll, id)
	}
	return nil
}

func docNotFound() error { return store.ErrNotFound("记录") }

func (s *Store) GetDoc(ctx context.Context, coll, id string) ([]byte, error) {
	if err := checkDoc(coll, id); err != nil {
		return nil, err
	}
	v, err := s.rdb.HGet(ctx, s.k.docVals(coll), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, docNotFound()
	}
	if err != nil {
		return nil, s.fail(ctx, "get doc", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (s *Store) PutDoc(ctx context.Context, coll, id string, value []byte) error {
	if err := checkDoc(coll, id); err != nil {
		return err
	}
	if err := s.noteColl(ctx, coll); err != nil {
		return err
	}
	_, err := s.runInt(ctx, "put doc", putDoc, []string{s.k.docVals(coll), s.k.docIDs(coll)}, id, "1", value)
	return err
}

// noteColl records a collection's name for export. It runs before the write it goes with
// (another slot, so not in the same script): a name without docs is harmless, a doc whose
// collection is unknown would be missed.
func (s *Store) noteColl(ctx context.Context, coll string) error {
	return s.fail(ctx, "put doc", s.rdb.SAdd(ctx, s.k.docColls(), coll).Err())
}

// UpdateDoc reads the doc, runs fn and writes the result only if the doc is still as read
// (casField), else starts again.
func (s *Store) UpdateDoc(ctx context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	if err := checkDoc(coll, id); err != nil {
		return nil, err
	}
	keys := []string{s.k.docVals(coll), s.k.docIDs(coll)}
	defer s.lock(keys[0] + id)()
	for attempt := 0; ; attempt++ {
		if err := contended(ctx, attempt); err != nil {
			return nil, err
		}
		old, err := s.rdb.HGet(ctx, keys[0], id).Bytes()
		present := err == nil
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, s.fail(ctx, "update doc", err)
		}
		if present && old == nil {
			old = []byte{}
		}
		v, err := fn(old)
		if err != nil {
			return nil, err
		}
		if v == nil && !present {
			return nil, nil
		}
		if v != nil {
			if err := s.noteColl(ctx, coll); err != nil {
				return nil, err
			}
		}
		ok, err := s.runInt(ctx, "update doc", casField, keys, id, flag(present), old, flag(v != nil), v)
		if err != nil {
			return nil, err
		}
		if ok == 1 {
			if v != nil {
				v = append([]byte{}, v...)
			}
			return v, nil
		}
	}
}

func (s *Store) DeleteDoc(ctx context.Context, coll, id string) error {
	if err := checkDoc(coll, id); err != nil {
		return err
	}
	_, err := s.runInt(ctx, "delete doc", putDoc, []string{s.k.docVals(coll), s.k.docIDs(coll)}, id, "0", "")
	return err
}

func (s *Store) ListDocs(ctx context.Context, coll, prefix string) ([]store.Doc, error) {
	if coll == "" {
		return nil, community.Errorf(community.EInvalid, "ListDocs needs a collection")
	}
	lo, hi := "-", "+"
	if prefix != "" {
		lo = "[" + prefix
		if next, ok := successor(prefix); ok {
			hi = "(" + next
		}
	}
	v, err := s.run(ctx, "list docs", listDocs, []string{s.k.docVals(coll), s.k.docIDs(coll)}, lo, hi)
	if err != nil {
		return nil, err
	}
	kv := strs(v)
	out := make([]store.Doc, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, store.Doc{ID: kv[i], Value: []byte(kv[i+1])})
	}
	return out, nil
}

// successor is the smallest string greater than every string starting with p, or false if
// there is none (p is all 0xff bytes).
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
