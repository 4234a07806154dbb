package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/neighborbot/neighborbot/store"
)

// numberRef is the key of kind and ref in numbers.ref.
func numberRef(kind, ref string) []byte { return cat(str(kind), []byte(ref)) }

// TakeNumber takes the items bucket's next sequence (the one CreateItem takes) and records
// the entry in the same write transaction.
func (s *Store) TakeNumber(ctx context.Context, kind, ref string) (int64, error) {
	if kind == "" || kind == store.KindItem {
		return 0, fmt.Errorf("bolt: take number: kind %q", kind)
	}
	var no int64
	err := s.update(ctx, "take number", func(tx *bbolt.Tx) error {
		refs := tx.Bucket(bNumberRefs)
		if ref != "" {
			if v := refs.Get(numberRef(kind, ref)); v != nil {
				no = int64(binary.BigEndian.Uint64(v))
				return nil
			}
		}
		seq, err := tx.Bucket(bItems).NextSequence()
		if err != nil {
			return err
		}
		no = int64(seq)
		return putNumber(tx, store.NumberEntry{No: no, Kind: kind, Ref: ref})
	})
	if err != nil {
		return 0, err
	}
	return no, nil
}

func putNumber(tx *bbolt.Tx, e store.NumberEntry) error {
	if e.No <= 0 || e.Kind == "" {
		return fmt.Errorf("number entry %d of kind %q", e.No, e.Kind)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode number %d: %w", e.No, err)
	}
	if err := tx.Bucket(bNumbers).Put(be64(uint64(e.No)), data); err != nil {
		return err
	}
	if e.Ref != "" {
		return tx.Bucket(bNumberRefs).Put(numberRef(e.Kind, e.Ref), be64(uint64(e.No)))
	}
	return nil
}

func numberNotFound(no int64) error { return store.ErrNotFound(fmt.Sprintf("编号 %d", no)) }

func (s *Store) LookupNumber(ctx context.Context, no int64) (store.NumberEntry, error) {
	var e store.NumberEntry
	err := s.view(ctx, "lookup number", func(tx *bbolt.Tx) error {
		if no <= 0 {
			return pass(numberNotFound(no))
		}
		v := tx.Bucket(bNumbers).Get(be64(uint64(no)))
		if v == nil {
			return pass(numberNotFound(no))
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode number %d: %w", no, err)
		}
		return nil
	})
	return e, err
}

func (s *Store) NumberOf(ctx context.Context, kind, ref string) (int64, error) {
	var no int64
	err := s.view(ctx, "number of", func(tx *bbolt.Tx) error {
		v := tx.Bucket(bNumberRefs).Get(numberRef(kind, ref))
		if ref == "" || v == nil {
			return pass(store.ErrNotFound(fmt.Sprintf("%s %s 的编号", kind, ref)))
		}
		no = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	return no, err
}

// forEachNumber calls fn with every number entry, by number.
func forEachNumber(tx *bbolt.Tx, fn func(store.NumberEntry) error) error {
	return tx.Bucket(bNumbers).ForEach(func(k, v []byte) error {
		var e store.NumberEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode number %x: %w", k, err)
		}
		return fn(e)
	})
}
