package transfer_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/redis"
	"github.com/neighborbot/neighborbot/store/storetest"
	"github.com/neighborbot/neighborbot/store/transfer"
)

// An operator moves a community from the embedded store to Redis and back: every export on
// the way is the same file, byte for byte, and the data behaves the same at the end.
func TestRoundTripBoltRedisBolt(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Epoch)
	openBolt := func() *bolt.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "neighborbot.db"), bolt.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	src := openBolt()
	storetest.Fill(t, src, clock)

	export := func(s store.Store) []byte {
		t.Helper()
		var b bytes.Buffer
		if _, err := transfer.Export(ctx, s, &b); err != nil {
			t.Fatalf("Export: %v", err)
		}
		return b.Bytes()
	}
	imp := func(s store.Store, data []byte) transfer.Stats {
		t.Helper()
		st, err := transfer.Import(ctx, s, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Import: %v", err)
		}
		return st
	}

	first := export(src)
	rs, err := redis.Open(ctx, "redis://"+redistest.Start(t), redis.Options{Now: clock.Now, Prefix: "moved"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	st := imp(rs, first)
	t.Logf("moved %v", st)
	if st.Kinds["item"] == 0 || st.Kinds["number"] == 0 || st.Kinds["outbox"] == 0 || st.Kinds["inbound"] == 0 || st.Kinds["once"] == 0 {
		t.Fatalf("the fixture moved too little: %v", st)
	}
	second := export(rs)
	if !bytes.Equal(first, second) {
		t.Fatalf("bbolt → Redis changed the data:\nbbolt export:\n%s\nRedis export:\n%s", first, second)
	}
	back := openBolt()
	imp(back, second)
	if third := export(back); !bytes.Equal(first, third) {
		t.Fatalf("Redis → bbolt changed the data:\nfirst:\n%s\nafter the round trip:\n%s", first, third)
	}

	if _, err := transfer.Import(ctx, back, bytes.NewReader(first)); err == nil {
		t.Fatal("a second import into a store holding items succeeded")
	}

	for _, s := range []store.Store{src, rs, back} {
		items, err := s.ListItems(ctx, store.ItemFilter{Open: true})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := src.ListItems(ctx, store.ItemFilter{Open: true})
		if len(items) != len(want) {
			t.Fatalf("%T lists %d open items, the original %d", s, len(items), len(want))
		}
	}
}

func TestImportRefusesOtherFiles(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "x.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, in := range []string{
		"",
		`{"format":"something-else","version":1}`,
		`{"format":"neighborbot-export","version":2}`,
		"{\"format\":\"neighborbot-export\",\"version\":1}\n{}\n",
		"{\"format\":\"neighborbot-export\",\"version\":1}\n{\"item_seq\":1,\"once\":{\"key\":\"k\"}}\n",
	} {
		if _, err := transfer.Import(context.Background(), s, strings.NewReader(in)); err == nil {
			t.Errorf("Import(%q) succeeded", in)
		}
	}
}
