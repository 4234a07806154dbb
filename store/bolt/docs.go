package bolt

import (
	"bytes"
	"context"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Each collection is a bucket inside docs, created on its first write.

func checkDoc(coll, id string) error {
	if coll == "" || id == "" {
		return community.Errorf(community.EInvalid, "doc needs a collection and an id (got %q, %q)", coll, id)
	}
	return nil
}

func docNotFound() error { return store.ErrNotFound("记录") }

// getDoc returns a copy of the doc's value, non-nil even when empty, or nil when absent. A
// zero-length value cannot be told from an absent one by Get, so this looks with a cursor.
func getDoc(b *bbolt.Bucket, id string) []byte {
	if b == nil {
		return nil
	}
	k, v := b.Cursor().Seek([]byte(id))
	if k == nil || string(k) != id {
		return nil
	}
	return append([]byte{}, v...)
}

func (s *Store) GetDoc(ctx context.Context, coll, id string) ([]byte, error) {
	if err := checkDoc(coll, id); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(ctx, "get doc", func(tx *bbolt.Tx) error {
		out = getDoc(tx.Bucket(bDocs).Bucket([]byte(coll)), id)
		if out == nil {
			return pass(docNotFound())
		}
		return nil
	})
	return out, err
}

func (s *Store) PutDoc(ctx context.Context, coll, id string, value []byte) error {
	if err := checkDoc(coll, id); err != nil {
		return err
	}
	return s.update(ctx, "put doc", func(tx *bbolt.Tx) error {
		b, err := tx.Bucket(bDocs).CreateBucketIfNotExists([]byte(coll))
		if err != nil {
			return err
		}
		return b.Put([]byte(id), bytes.Clone(value))
	})
}

func (s *Store) UpdateDoc(ctx context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	if err := checkDoc(coll, id); err != nil {
		return nil, err
	}
	var out []byte
	err := s.update(ctx, "update doc", func(tx *bbolt.Tx) error {
		docs := tx.Bucket(bDocs)
		v, err := fn(getDoc(docs.Bucket([]byte(coll)), id))
		if err != nil {
			return pass(err)
		}
		if v == nil {
			if b := docs.Bucket([]byte(coll)); b != nil {
				return b.Delete([]byte(id))
			}
			return nil
		}
		b, err := docs.CreateBucketIfNotExists([]byte(coll))
		if err != nil {
			return err
		}
		out = bytes.Clone(v)
		if out == nil {
			out = []byte{}
		}
		return b.Put([]byte(id), bytes.Clone(out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeleteDoc(ctx context.Context, coll, id string) error {
	if err := checkDoc(coll, id); err != nil {
		return err
	}
	return s.update(ctx, "delete doc", func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bDocs).Bucket([]byte(coll)); b != nil {
			return b.Delete([]byte(id))
		}
		return nil
	})
}

func (s *Store) ListDocs(ctx context.Context, coll, prefix string) ([]store.Doc, error) {
	if coll == "" {
		return nil, community.Errorf(community.EInvalid, "ListDocs needs a collection")
	}
	var out []store.Doc
	err := s.view(ctx, "list docs", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bDocs).Bucket([]byte(coll))
		if b == nil {
			return nil
		}
		p := []byte(prefix)
		c := b.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out = append(out, store.Doc{ID: string(k), Value: append([]byte{}, v...)})
		}
		return nil
	})
	return out, err
}
