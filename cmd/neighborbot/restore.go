package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/backup"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/transfer"
)

// restore loads a backup (an export file) into the configured store. The bots must be
// stopped. A store that holds anything is refused unless force; with force, what it holds is
// first saved beside the backup (neighborbot-before-restore-<time>.jsonl), then the store is
// emptied and the backup loaded.
func restore(ctx context.Context, files []string, force bool, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	if len(files) != 1 {
		return errors.New("restore needs one file: neighborbot restore [-config FILE] [-force] BACKUP")
	}
	file := files[0]
	if err := checkHeader(file); err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, time.Now, log)
	if err != nil {
		return err
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	held, err := countRecords(ctx, st)
	if err != nil {
		return err
	}
	if held.Records > 0 {
		if !force {
			return fmt.Errorf("restore: the store is not empty (%v); stop every neighborbot, then run again with -force "+
				"to save what it holds beside the backup, empty it and load %s", held, file)
		}
		saved := filepath.Join(filepath.Dir(file), "neighborbot-before-restore-"+time.Now().Format("20060102-150405")+".jsonl")
		if _, err := backup.WriteFile(saved, func(f *os.File) (transfer.Stats, error) { return transfer.Export(ctx, st, f) }); err != nil {
			return fmt.Errorf("restore: save what the store holds to %s (nothing was changed): %w", saved, err)
		}
		fmt.Fprintf(stdout, "neighborbot: saved what the store held (%v) to %s\n", held, saved)
		err := empty(ctx, st, cfg)
		st = nil
		if err != nil {
			return fmt.Errorf("restore: empty the store (what it held is in %s): %w", saved, err)
		}
		if st, err = app.OpenStore(ctx, cfg, time.Now, log); err != nil {
			return fmt.Errorf("restore: the store was emptied (what it held is in %s) but does not open: %w", saved, err)
		}
		fmt.Fprintln(stdout, "neighborbot: emptied the store")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	stats, err := transfer.Import(ctx, st, f)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "neighborbot: restored %v from %s into %s\n", stats, file, storeName(cfg))
	return nil
}

// checkHeader refuses a file that is not an export before anything is changed.
func checkHeader(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	var h transfer.Header
	if err := json.NewDecoder(f).Decode(&h); err != nil || h.Format != transfer.Format {
		return fmt.Errorf("restore: %s is not a neighborbot backup (its first line is not an export header)", file)
	}
	if h.Version != transfer.Version {
		return fmt.Errorf("restore: %s is export version %d; this neighborbot reads version %d", file, h.Version, transfer.Version)
	}
	return nil
}

// countRecords counts what the store holds; a new store holds only its item counter at 0.
func countRecords(ctx context.Context, st store.Store) (transfer.Stats, error) {
	d, ok := st.(store.Dumper)
	if !ok {
		return transfer.Stats{}, fmt.Errorf("restore: %T cannot restore data", st)
	}
	n := transfer.Stats{Kinds: map[string]int{}}
	err := d.Dump(ctx, func(r store.Record) error {
		if r.ItemSeq != nil && *r.ItemSeq == 0 {
			return nil
		}
		n.Records++
		n.Kinds[transfer.Kind(r)]++
		return nil
	})
	return n, err
}

// empty deletes everything the store holds, and closes it.
func empty(ctx context.Context, st store.Store, cfg *config.Config) error {
	if w, ok := st.(interface{ Wipe(context.Context) error }); ok { // Redis
		err := w.Wipe(ctx)
		return errors.Join(err, st.Close())
	}
	if err := st.Close(); err != nil {
		return err
	}
	return bolt.Remove(app.BoltPath(cfg))
}

func storeName(cfg *config.Config) string {
	if cfg.RedisURL != "" {
		return "Redis"
	}
	return app.BoltPath(cfg)
}
