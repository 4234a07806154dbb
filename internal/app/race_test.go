//go:build race

package app_test

// raceDetector: this test binary runs with the race detector, which keeps tens of KiB of
// state per goroutine on top of the program's own memory.
const raceDetector = true
