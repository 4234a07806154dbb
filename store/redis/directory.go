package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

func (s *Store) GetPerson(ctx context.Context, id string) (community.Person, error) {
	var p community.Person
	var found bool
	var err error
	if data, ok, ahead := s.takeAhead(id); ahead { // read with the event's put
		if found = ok; found {
			err = decodeJSON("get person", id, data, &p)
		}
	} else {
		found, err = s.hgetJSON(ctx, "get person", s.k.persons(), id, &p)
	}
	if err == nil && !found {
		err = store.ErrNotFound("成员")
	}
	return p, err
}

func (s *Store) PutPerson(ctx context.Context, p community.Person) error {
	if p.ID == "" {
		return community.Errorf(community.EInvalid, "person without an id")
	}
	s.forgetAhead()
	defer s.forgetAhead() // a read ahead in flight meanwhile may have read the old entry
	return s.hsetJSON(ctx, "put person", s.k.persons(), p.ID, p)
}

// UpdatePerson reads the person, runs fn and saves the result only if the stored JSON is
// still the one read (casField), else starts again.
func (s *Store) UpdatePerson(ctx context.Context, id string, fn func(p *community.Person) error) (community.Person, error) {
	if id == "" {
		return community.Person{}, community.Errorf(community.EInvalid, "person without an id")
	}
	defer s.lock(s.k.persons() + id)()
	s.forgetAhead()
	defer s.forgetAhead() // a read ahead in flight meanwhile may have read the old entry
	for attempt := 0; ; attempt++ {
		if err := contended(ctx, attempt); err != nil {
			return community.Person{}, err
		}
		old, err := s.rdb.HGet(ctx, s.k.persons(), id).Result()
		present := err == nil
		if err != nil && !errors.Is(err, redis.Nil) {
			return community.Person{}, s.fail(ctx, "update person", err)
		}
		p := community.Person{ID: id}
		if present {
			if err := json.Unmarshal([]byte(old), &p); err != nil {
				return community.Person{}, fmt.Errorf("redis: decode person %q: %w", id, err)
			}
		}
		if err := fn(&p); err != nil {
			return community.Person{}, err
		}
		p.ID = id
		data, err := json.Marshal(p)
		if err != nil {
			return community.Person{}, fmt.Errorf("redis: encode person %q: %w", id, err)
		}
		ok, err := s.runInt(ctx, "update person", casField, []string{s.k.persons()}, id, flag(present), old, "1", data)
		if err != nil {
			return community.Person{}, err
		}
		if ok == 1 {
			return p, nil
		}
	}
}

func (s *Store) ListPersons(ctx context.Context) ([]community.Person, error) {
	return hgetAllJSON[community.Person](ctx, s, "list persons", s.k.persons(), func(a, b community.Person) int { return cmp.Compare(a.ID, b.ID) })
}

func (s *Store) GetGroup(ctx context.Context, id string) (community.Group, error) {
	var g community.Group
	found, err := s.hgetJSON(ctx, "get group", s.k.groups(), id, &g)
	if err == nil && !found {
		err = store.ErrNotFound("群")
	}
	return g, err
}

func (s *Store) PutGroup(ctx context.Context, g community.Group) error {
	if g.ID == "" {
		return community.Errorf(community.EInvalid, "group without an id")
	}
	return s.hsetJSON(ctx, "put group", s.k.groups(), g.ID, g)
}

func (s *Store) ListGroups(ctx context.Context) ([]community.Group, error) {
	return hgetAllJSON[community.Group](ctx, s, "list groups", s.k.groups(), func(a, b community.Group) int { return cmp.Compare(a.ID, b.ID) })
}

func (s *Store) hgetJSON(ctx context.Context, op, key, field string, v any) (bool, error) {
	if field == "" {
		return false, nil
	}
	data, err := s.rdb.HGet(ctx, key, field).Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, s.fail(ctx, op, err)
	}
	if err := decodeJSON(op, field, data, v); err != nil {
		return false, err
	}
	return true, nil
}

// decodeJSON decodes a hash field's value into v.
func decodeJSON(op, field string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("redis: %s: decode %q: %w", op, field, err)
	}
	return nil
}

func (s *Store) hsetJSON(ctx context.Context, op, key, field string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("redis: %s: encode %q: %w", op, field, err)
	}
	return s.fail(ctx, op, s.rdb.HSet(ctx, key, field, data).Err())
}

// hgetAllJSON decodes every value of a hash, sorted by cmp.
func hgetAllJSON[T any](ctx context.Context, s *Store, op, key string, order func(a, b T) int) ([]T, error) {
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	out := make([]T, 0, len(m))
	for field, data := range m {
		var v T
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return nil, fmt.Errorf("redis: %s: decode %q: %w", op, field, err)
		}
		out = append(out, v)
	}
	slices.SortFunc(out, order)
	return out, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
