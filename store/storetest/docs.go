package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/neighborbot/neighborbot/community"
)

func (e *env) wantDoc(coll, id, want string) {
	e.t.Helper()
	got, err := e.s.GetDoc(e.ctx, coll, id)
	must(e.t, err, "GetDoc("+coll+", "+id+")")
	if string(got) != want {
		e.t.Fatalf("GetDoc(%s, %s) = %q, want %q", coll, id, got, want)
	}
}

func (e *env) wantNoDoc(coll, id string) {
	e.t.Helper()
	_, err := e.s.GetDoc(e.ctx, coll, id)
	wantCode(e.t, err, community.ENotFound, "GetDoc("+coll+", "+id+")")
}

func (e *env) wantList(coll, prefix string, want ...string) {
	e.t.Helper()
	docs, err := e.s.ListDocs(e.ctx, coll, prefix)
	must(e.t, err, "ListDocs")
	var got []string
	for _, d := range docs {
		got = append(got, d.ID+"="+string(d.Value))
	}
	if !slices.Equal(got, want) {
		e.t.Fatalf("ListDocs(%s, %q) = %q, want %q", coll, prefix, got, want)
	}
}

func testDocs(t *testing.T, e *env) {
	e.wantNoDoc("schedules", "weekly")
	must(t, e.s.PutDoc(e.ctx, "schedules", "weekly", []byte("v1")), "PutDoc")
	e.wantDoc("schedules", "weekly", "v1")
	must(t, e.s.PutDoc(e.ctx, "schedules", "weekly", []byte("v2")), "PutDoc")
	e.wantDoc("schedules", "weekly", "v2")

	// Collections are separate.
	must(t, e.s.PutDoc(e.ctx, "notices", "weekly", []byte("n1")), "PutDoc")
	e.wantDoc("schedules", "weekly", "v2")
	e.wantDoc("notices", "weekly", "n1")

	// The store keeps its own copies: neither the caller's slice nor a returned one aliases it.
	buf := []byte("mine")
	must(t, e.s.PutDoc(e.ctx, "notices", "copy", buf), "PutDoc")
	buf[0] = 'X'
	got, err := e.s.GetDoc(e.ctx, "notices", "copy")
	must(t, err, "GetDoc")
	got[0] = 'Y'
	e.wantDoc("notices", "copy", "mine")

	// UpdateDoc: nil for an absent doc, the stored value otherwise; nil deletes.
	v, err := e.s.UpdateDoc(e.ctx, "schedules", "new", func(old []byte) ([]byte, error) {
		if old != nil {
			t.Errorf("UpdateDoc of an absent doc passed %q, want nil", old)
		}
		return []byte("created"), nil
	})
	must(t, err, "UpdateDoc")
	if string(v) != "created" {
		t.Fatalf("UpdateDoc returned %q", v)
	}
	e.wantDoc("schedules", "new", "created")
	v, err = e.s.UpdateDoc(e.ctx, "schedules", "weekly", func(old []byte) ([]byte, error) {
		return append(slices.Clone(old), '!'), nil
	})
	must(t, err, "UpdateDoc")
	if string(v) != "v2!" {
		t.Fatalf("UpdateDoc returned %q, want v2!", v)
	}
	e.wantDoc("schedules", "weekly", "v2!")

	boom := errors.New("boom")
	_, err = e.s.UpdateDoc(e.ctx, "schedules", "weekly", func([]byte) ([]byte, error) { return []byte("lost"), boom })
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateDoc with failing fn: %v, want %v", err, boom)
	}
	e.wantDoc("schedules", "weekly", "v2!")

	v, err = e.s.UpdateDoc(e.ctx, "schedules", "new", func([]byte) ([]byte, error) { return nil, nil })
	must(t, err, "UpdateDoc (delete)")
	if v != nil {
		t.Fatalf("UpdateDoc that deletes returned %q, want nil", v)
	}
	e.wantNoDoc("schedules", "new")
	_, err = e.s.UpdateDoc(e.ctx, "schedules", "never", func([]byte) ([]byte, error) { return nil, nil })
	must(t, err, "UpdateDoc (absent, stays absent)")
	e.wantNoDoc("schedules", "never")

	// An empty value is a doc, not an absence.
	must(t, e.s.PutDoc(e.ctx, "flags", "empty", []byte{}), "PutDoc")
	e.wantDoc("flags", "empty", "")
	_, err = e.s.UpdateDoc(e.ctx, "flags", "empty", func(old []byte) ([]byte, error) {
		if old == nil {
			t.Error("UpdateDoc of an empty doc passed nil, which means absent")
		}
		return old, nil
	})
	must(t, err, "UpdateDoc")

	// Deleting is idempotent.
	must(t, e.s.DeleteDoc(e.ctx, "notices", "weekly"), "DeleteDoc")
	e.wantNoDoc("notices", "weekly")
	must(t, e.s.DeleteDoc(e.ctx, "notices", "weekly"), "DeleteDoc of an absent doc")
	must(t, e.s.DeleteDoc(e.ctx, "nowhere", "weekly"), "DeleteDoc in an absent collection")

	for _, id := range []string{"b", "a", "ab", "a/1", "c", "群:2"} {
		must(t, e.s.PutDoc(e.ctx, "cards", id, []byte("v"+id)), "PutDoc")
	}
	e.wantList("cards", "a", "a=va", "a/1=va/1", "ab=vab")
	e.wantList("cards", "", "a=va", "a/1=va/1", "ab=vab", "b=vb", "c=vc", "群:2=v群:2")
	e.wantList("cards", "群", "群:2=v群:2")
	e.wantList("cards", "z")
	e.wantList("nowhere", "")
}

func testDocsConcurrent(t *testing.T, e *env) {
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := e.s.UpdateDoc(e.ctx, "receipts", "broadcast-1", func(old []byte) ([]byte, error) {
				return append(slices.Clone(old), byte(i)), nil
			})
			if err != nil {
				t.Errorf("UpdateDoc: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := e.s.GetDoc(e.ctx, "receipts", "broadcast-1")
	must(t, err, "GetDoc")
	slices.Sort(got)
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("after %d concurrent appends the doc holds %d bytes: %v", n, len(got), got)
	}
}

func testPing(t *testing.T, e *env) {
	must(t, e.s.Ping(e.ctx), "Ping")
}
