// Package tmpfstest gives tests a real small disk: a tmpfs they can fill, to see what a full
// disk does. It depends on nothing of ours.
package tmpfstest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (mount's syntax: "8m") on a new directory, unmounted when the
// test ends. Without Linux or root it skips, unless CI is "true": there it fails.
func Mount(t testing.TB, size string) string {
	t.Helper()
	skip := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, where this test must run (as root, on Linux)", why)
		}
		t.Skip(why)
	}
	if runtime.GOOS != "linux" {
		skip("mounting a small tmpfs needs Linux")
	}
	if os.Geteuid() != 0 {
		skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		skip(fmt.Sprintf("mount -t tmpfs: %v: %s", err, bytes.TrimSpace(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, bytes.TrimSpace(out))
		}
	})
	return dir
}

// Fill writes a file in dir until the disk is full, and returns its path: remove it to give
// the space back.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := 0; ; i++ {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return p
		}
		if i > 1<<20 {
			t.Fatal("the disk does not fill up")
		}
	}
}
