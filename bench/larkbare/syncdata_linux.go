package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData flushes f's data (and its size) to the disk, not the rest of its metadata.
func syncData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
