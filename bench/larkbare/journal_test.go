package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// readRecords reads the journal's records of parts strings each from the start of the file, up
// to the zeros.
func readRecords(t *testing.T, path string, parts int) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for {
		rec := make([]string, 0, parts)
		for range parts {
			if len(b) < 4 {
				return out
			}
			n := binary.LittleEndian.Uint32(b)
			if n == 0 || int(n) > len(b)-4 {
				return out
			}
			rec = append(rec, string(b[4:4+n]))
			b = b[4+n:]
		}
		out = append(out, rec)
	}
}

func TestJournalConcurrentAppendsAllLand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, err := openJournal(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const writers, each = 32, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := j.append(fmt.Sprintf("om_%d_%d", w, i), "oc_chat", "hello"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	recs := readRecords(t, path, 3)
	if len(recs) != writers*each {
		t.Fatalf("%d records in the file, want %d", len(recs), writers*each)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r[1] != "oc_chat" || r[2] != "hello" || seen[r[0]] {
			t.Fatalf("bad or repeated record %q", r)
		}
		seen[r[0]] = true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.durable != writers*each {
		t.Errorf("durable = %d, want %d", j.durable, writers*each)
	}
}

func TestJournalWriteErrorIsReturned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, err := openJournal(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	j.f.Close() // every later write fails
	if err := j.append("om_1"); err == nil {
		t.Fatal("append to a closed file reported success")
	}
	if err := j.append("om_2"); err == nil {
		t.Fatal("append after a failed write reported success")
	}
}
