// Package numbering moves a deployment to one number space, once. Before, items, notices
// (and polls) and activities created in chat were each numbered 1, 2, 3 … on their own, so
// 查看 1 or 进度 1 had to guess; now they share the items' sequence (store.Numbers). A store
// written before keeps its items' numbers (they are on cards, in histories and in people's
// memories); every notice, poll and chat activity gets a fresh number above them, and its
// old number stays an alias its feature still accepts (see notices.MigrateNumbers and
// scheduler.MigrateNumbers, the parts this package runs).
package numbering

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Doc collection and ids of the migration's own records.
const (
	Coll    = "numbering"
	DoneID  = "migrated"          // → Done, once every part has run
	LeaseID = "numbering:migrate" // the Once key one replica holds while it migrates
)

// Lease is how long a replica may take to migrate before another may start over.
const Lease = 10 * time.Minute

// Store is what the migration needs of a backend.
type Store interface {
	store.Docs
	store.Once
}

// Part renumbers one kind of thing; it reports how many it renumbered. Parts must be
// idempotent (a replica that died halfway is followed by another that runs them all again).
type Part struct {
	Name     string // for the log: "notices", "activities"
	Renumber func(ctx context.Context) (int, error)
}

// Done is what the migration recorded when it finished.
type Done struct {
	At     time.Time      `json:"at"`
	Counts map[string]int `json:"counts"`
}

// Migrate runs the parts, once per deployment: a store that records Done is left alone, and
// of replicas starting together only the one that takes the lease runs them (bbolt's file
// lock admits one process anyway). It reports whether this call migrated. A replica that
// finds the lease taken starts without waiting: the numbers it serves meanwhile are the old
// ones, and the holder finishes within seconds.
func Migrate(ctx context.Context, st Store, now time.Time, log *slog.Logger, parts ...Part) (bool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := st.GetDoc(ctx, Coll, DoneID); err == nil {
		return false, nil
	} else if community.ErrorCode(err) != community.ENotFound {
		return false, fmt.Errorf("numbering: read %s: %w", DoneID, err)
	}
	mine, err := st.Once(ctx, LeaseID, Lease)
	if err != nil {
		return false, fmt.Errorf("numbering: take lease: %w", err)
	}
	if !mine {
		log.Info("numbers: another replica is moving this store to one number space")
		return false, nil
	}
	start := time.Now()
	done := Done{At: now, Counts: map[string]int{}}
	args := []any{}
	for _, p := range parts {
		n, err := p.Renumber(ctx)
		if err != nil {
			return false, fmt.Errorf("numbering: renumber %s: %w", p.Name, err)
		}
		done.Counts[p.Name] = n
		args = append(args, p.Name, n)
	}
	raw, err := json.Marshal(done)
	if err != nil {
		return false, err
	}
	if err := st.PutDoc(ctx, Coll, DoneID, raw); err != nil {
		return false, fmt.Errorf("numbering: record %s: %w", DoneID, err)
	}
	args = append(args, "took", time.Since(start).Round(time.Millisecond))
	log.Info("numbers: items, notices, polls and activities now share one number space; older notices and activities renumbered above the items, their old numbers kept as aliases", args...)
	return true, nil
}
