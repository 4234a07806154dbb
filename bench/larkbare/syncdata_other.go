//go:build !linux

package main

import "os"

// syncData flushes f to the disk.
func syncData(f *os.File) error { return f.Sync() }
