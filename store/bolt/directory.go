package bolt

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

func (s *Store) GetPerson(ctx context.Context, id string) (community.Person, error) {
	var p community.Person
	err := s.view(ctx, "get person", func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bPersons), id, &p)
		if err == nil && !found {
			err = pass(store.ErrNotFound("成员"))
		}
		return err
	})
	return p, err
}

func (s *Store) PutPerson(ctx context.Context, p community.Person) error {
	if p.ID == "" {
		return community.Errorf(community.EInvalid, "person without an id")
	}
	return s.update(ctx, "put person", func(tx *bbolt.Tx) error {
		return putJSON(tx.Bucket(bPersons), p.ID, p)
	})
}

func (s *Store) UpdatePerson(ctx context.Context, id string, fn func(p *community.Person) error) (community.Person, error) {
	if id == "" {
		return community.Person{}, community.Errorf(community.EInvalid, "person without an id")
	}
	var p community.Person
	err := s.update(ctx, "update person", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bPersons)
		p = community.Person{}
		found, err := getJSON(b, id, &p)
		if err != nil {
			return err
		}
		if !found {
			p = community.Person{ID: id}
		}
		if err := fn(&p); err != nil {
			return pass(err)
		}
		p.ID = id
		return putJSON(b, id, p)
	})
	if err != nil {
		return community.Person{}, err
	}
	return p, nil
}

func (s *Store) ListPersons(ctx context.Context) ([]community.Person, error) {
	var out []community.Person
	err := s.view(ctx, "list persons", func(tx *bbolt.Tx) error {
		return tx.Bucket(bPersons).ForEach(func(k, v []byte) error {
			var p community.Person
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode person %q: %w", k, err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

func (s *Store) GetGroup(ctx context.Context, id string) (community.Group, error) {
	var g community.Group
	err := s.view(ctx, "get group", func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bGroups), id, &g)
		if err == nil && !found {
			err = pass(store.ErrNotFound("群"))
		}
		return err
	})
	return g, err
}

func (s *Store) PutGroup(ctx context.Context, g community.Group) error {
	if g.ID == "" {
		return community.Errorf(community.EInvalid, "group without an id")
	}
	return s.update(ctx, "put group", func(tx *bbolt.Tx) error {
		return putJSON(tx.Bucket(bGroups), g.ID, g)
	})
}

func (s *Store) ListGroups(ctx context.Context) ([]community.Group, error) {
	var out []community.Group
	err := s.view(ctx, "list groups", func(tx *bbolt.Tx) error {
		return tx.Bucket(bGroups).ForEach(func(k, v []byte) error {
			var g community.Group
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("decode group %q: %w", k, err)
			}
			out = append(out, g)
			return nil
		})
	})
	return out, err
}

// getJSON decodes the value under key into v and reports whether there was one.
func getJSON(b *bbolt.Bucket, key string, v any) (bool, error) {
	if key == "" {
		return false, nil
	}
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bbolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return b.Put([]byte(key), data)
}
