package backup_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/internal/backup"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/redis"
	"github.com/neighborbot/neighborbot/store/storetest"
	"github.com/neighborbot/neighborbot/store/transfer"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(day int, hh, mm int) time.Time {
	return time.Date(2026, 12, day, hh, mm, 0, 0, shanghai)
}

func openBolt(t *testing.T, clock *storetest.Clock) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "neighborbot.db"), bolt.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newBackups(t *testing.T, st store.Store, dir, owner string, log *slog.Logger) *backup.Backups {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := backup.New(backup.Options{Store: st, Dir: dir, Now: func() time.Time { return at(1, 0, 0) }, Loc: shanghai, Owner: owner, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tick(t *testing.T, b *backup.Backups, now time.Time) time.Time {
	t.Helper()
	next, err := b.Tick(context.Background(), now)
	if err != nil {
		t.Fatalf("tick at %s: %v", now, err)
	}
	return next
}

func withoutClaim(b []byte) string {
	var keep []string
	for line := range strings.Lines(string(b)) {
		if !strings.Contains(line, `"coll":"backup"`) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// The backup is written once a day at 03:00 Shanghai time: not before, not twice the same day,
// and again the next day; the file is what `neighborbot export` writes.
func TestDailyBackupAtThree(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	st := openBolt(t, clock)
	storetest.Fill(t, st, clock)
	dir := filepath.Join(t.TempDir(), "backups")
	b := newBackups(t, st, dir, "a", nil)

	if next := tick(t, b, at(6, 2, 59)); !next.Equal(at(6, 3, 0)) {
		t.Fatalf("at 02:59 next = %s, want 03:00", next)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("before 03:00 the directory holds %v", got)
	}
	if next := tick(t, b, at(6, 3, 0)); !next.Equal(at(7, 3, 0)) {
		t.Fatalf("after the backup next = %s, want tomorrow 03:00", next)
	}
	if got, want := files(t, dir), []string{"neighborbot-2026-12-06.jsonl"}; !slices.Equal(got, want) {
		t.Fatalf("after 03:00 the directory holds %v, want %v", got, want)
	}
	var want bytes.Buffer
	if _, err := transfer.Export(context.Background(), st, &want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "neighborbot-2026-12-06.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The export taken now also holds the claim, marked done; the backup holds it being done.
	if g, w := withoutClaim(got), withoutClaim(want.Bytes()); g != w || !strings.Contains(g, `"item"`) {
		t.Fatalf("the backup differs from an export:\n%s\nwant\n%s", g, w)
	}
	if info, _ := os.Stat(filepath.Join(dir, "neighborbot-2026-12-06.jsonl")); info.Mode().Perm() != 0o600 {
		t.Fatalf("the backup (it names people) has mode %v, want 0600", info.Mode().Perm())
	}
	first := b.Status().Written

	// Later the same day (a restart re-ticks at once): nothing new.
	if next := tick(t, b, at(6, 15, 0)); !next.Equal(at(7, 3, 0)) {
		t.Fatalf("a second tick the same day: next = %s", next)
	}
	if !b.Status().Written.Equal(first) {
		t.Fatal("the backup was written twice the same day")
	}
	// Just before midnight and just after: still the 6th's backup is the last.
	tick(t, b, at(7, 0, 1))
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("after midnight, before 03:00: %v", got)
	}
	tick(t, b, at(7, 3, 0))
	if got, want := files(t, dir), []string{"neighborbot-2026-12-06.jsonl", "neighborbot-2026-12-07.jsonl"}; !slices.Equal(got, want) {
		t.Fatalf("on the 7th the directory holds %v, want %v", got, want)
	}
}

// Only the newest 14 daily files are kept; other files in the directory are left alone.
func TestKeepsTheNewestFourteen(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	st := openBolt(t, clock)
	dir := t.TempDir()
	for _, name := range []string{"notes.txt", "neighborbot-before-restore.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := newBackups(t, st, dir, "a", nil)
	for day := 1; day <= 20; day++ {
		tick(t, b, at(day, 3, 0))
	}
	var want []string
	for day := 7; day <= 20; day++ {
		want = append(want, backup.FileName(at(day, 0, 0).Format("2006-01-02")))
	}
	want = append(want, "neighborbot-before-restore.jsonl", "notes.txt")
	slices.Sort(want)
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after 20 days the directory holds\n%v\nwant\n%v", got, want)
	}
}

// A directory that cannot be written does not stop the bot: the failure is logged and
// reported, the claim is given back, and the next try (once the directory is fixed) succeeds.
func TestUnwritableDirectoryIsReportedNotFatal(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	st := openBolt(t, clock)
	dir := filepath.Join(t.TempDir(), "backups")
	// Root writes anywhere, so "unwritable" is a file where the directory should be.
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	b := newBackups(t, st, dir, "a", slog.New(slog.NewTextHandler(&logs, nil)))
	next, err := b.Tick(context.Background(), at(6, 3, 0))
	if err == nil {
		t.Fatal("a backup into a file succeeded")
	}
	if !next.Equal(at(6, 3, 10)) {
		t.Fatalf("after a failure next = %s, want a retry at 03:10", next)
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"backup failed\"") || !strings.Contains(logs.String(), "day=2026-12-06") {
		t.Fatalf("the failure was not logged as an error:\n%s", logs.String())
	}
	if s := b.Status(); s.Err == nil || s.File != "" || !s.Failed.Equal(at(6, 3, 0)) {
		t.Fatalf("status after the failure = %+v", s)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if next := tick(t, b, at(6, 3, 10)); !next.Equal(at(7, 3, 0)) {
		t.Fatalf("the retry: next = %s", next)
	}
	if s := b.Status(); s.Err != nil || s.File != filepath.Join(dir, "neighborbot-2026-12-06.jsonl") {
		t.Fatalf("status after the retry = %+v", s)
	}
}

// Two replicas sharing one Redis: the day's backup is written by one of them only; when the
// one that claimed it cannot write, the other takes it over at its next tick.
func TestOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	clock := storetest.NewClock(storetest.Epoch)
	open := func() *redis.Store {
		s, err := redis.Open(ctx, "redis://"+addr+"/0", redis.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s1, s2 := open(), open()
	storetest.Fill(t, s1, clock)
	d1, d2 := t.TempDir(), t.TempDir()
	b1, b2 := newBackups(t, s1, d1, "one", nil), newBackups(t, s2, d2, "two", nil)

	tick(t, b1, at(6, 3, 0))
	if next := tick(t, b2, at(6, 3, 0)); !next.Equal(at(7, 3, 0)) {
		t.Fatalf("the second replica: next = %s, want tomorrow", next)
	}
	if n1, n2 := len(files(t, d1)), len(files(t, d2)); n1+n2 != 1 {
		t.Fatalf("replicas wrote %d and %d files, want one in all", n1, n2)
	}

	// The next day replica one's directory is broken: it fails and gives the claim back.
	if err := os.RemoveAll(d1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d1, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.Tick(ctx, at(7, 3, 0)); err == nil {
		t.Fatal("replica one wrote into a file")
	}
	tick(t, b2, at(7, 3, 1))
	if got := files(t, d2); !slices.Contains(got, "neighborbot-2026-12-07.jsonl") {
		t.Fatalf("replica two did not take the backup over: %v", got)
	}
	if next := tick(t, b1, at(7, 3, 10)); !next.Equal(at(8, 3, 0)) {
		t.Fatalf("replica one after the takeover: next = %s, want tomorrow", next)
	}
}
