// Package transfer moves all of a store's data to another store through a file: `neighborbot
// export FILE` on one backend, `neighborbot import FILE` on the other (bbolt ↔ Redis).
//
// The file is JSON lines: a header line, then one store.Record per line in the order
// store.Dumper.Dump gives them. Items keep their numbers, versions and history; outbox
// entries their status, attempts and leases; inbound events their handling, so dedupe holds
// across the move. Stop every bot before exporting and keep them stopped until the import is
// done: neither side is locked against writers meanwhile.
package transfer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Format names the file format in its header line.
const Format = "neighborbot-export"

// Version is the format's version; Import refuses others.
const Version = 1

// Header is the file's first line.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// batch is how many records Import restores per call (one transaction on bbolt).
const batch = 500

// Stats counts what was moved.
type Stats struct {
	Records int
	Kinds   map[string]int
}

// Export writes every record of from to w.
func Export(ctx context.Context, from store.Store, w io.Writer) (Stats, error) {
	d, ok := store.Find[store.Dumper](from) // through the cache, the metrics' timer
	if !ok {
		return Stats{}, fmt.Errorf("export: %T cannot dump its data", from)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Header{Format: Format, Version: Version}); err != nil {
		return Stats{}, fmt.Errorf("export: %w", err)
	}
	st := Stats{Kinds: map[string]int{}}
	err := d.Dump(ctx, func(r store.Record) error {
		st.Records++
		st.Kinds[Kind(r)]++
		return enc.Encode(r)
	})
	if err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	return st, nil
}

// Import restores every record of r into to. It refuses a store that already holds items:
// their numbers would collide with the imported ones.
func Import(ctx context.Context, to store.Store, r io.Reader) (Stats, error) {
	d, ok := store.Find[store.Dumper](to)
	if !ok {
		return Stats{}, fmt.Errorf("import: %T cannot restore data", to)
	}
	switch _, err := to.GetItem(ctx, 1); community.ErrorCode(err) {
	case community.ENotFound:
	case "":
		if err == nil {
			return Stats{}, errors.New("import: the store already holds items; import into an empty store")
		}
		return Stats{}, fmt.Errorf("import: %w", err)
	default:
		return Stats{}, fmt.Errorf("import: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReader(r))
	var h Header
	if err := dec.Decode(&h); err != nil {
		return Stats{}, fmt.Errorf("import: read header: %w", err)
	}
	if h.Format != Format || h.Version != Version {
		return Stats{}, fmt.Errorf("import: file is %q version %d, want %q version %d", h.Format, h.Version, Format, Version)
	}
	st := Stats{Kinds: map[string]int{}}
	recs := make([]store.Record, 0, batch)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		if err := d.Restore(ctx, recs); err != nil {
			return fmt.Errorf("import: after %d records: %w", st.Records-len(recs), err)
		}
		recs = recs[:0]
		return nil
	}
	for line := 2; ; line++ {
		var rec store.Record
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("import: record %d: %w", line, err)
		}
		k := Kind(rec)
		if k == "" {
			return st, fmt.Errorf("import: record %d has no data or more than one kind", line)
		}
		st.Records++
		st.Kinds[k]++
		if recs = append(recs, rec); len(recs) == batch {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	return st, flush()
}

// Kind names what a record holds ("item", "outbox", ...), or "" unless exactly one part is set.
func Kind(r store.Record) string {
	kind, n := "", 0
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"item_seq", r.ItemSeq != nil}, {"item", r.Item != nil}, {"number", r.Number != nil}, {"person", r.Person != nil},
		{"group", r.Group != nil}, {"doc", r.Doc != nil}, {"outbox", r.Outbox != nil},
		{"inbound", r.Inbound != nil}, {"once", r.Once != nil},
	} {
		if p.set {
			kind, n = p.name, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return kind
}

// String summarizes the counts: "1203 records: 1 item_seq, 800 item, ...".
func (s Stats) String() string {
	out := fmt.Sprintf("%d records", s.Records)
	sep := ": "
	for _, k := range []string{"item_seq", "item", "number", "person", "group", "doc", "outbox", "inbound", "once"} {
		if n := s.Kinds[k]; n > 0 {
			out += fmt.Sprintf("%s%d %s", sep, n, k)
			sep = ", "
		}
	}
	return out
}
