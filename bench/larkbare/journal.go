package main

import (
	"encoding/binary"
	"os"
	"sync"
)

// journal is the cheapest durable record of an event this machine offers, the floor of any
// "recorded before the ack" design: each event appended to a file written full of zeros
// beforehand (so a write changes no size or block map), one write and one fdatasync for all
// the events that arrive while the previous one runs (group commit), wrapping around at the
// end. It keeps nothing else (no index, no acks, no checkpoints): a measuring stick, not a store.
type journal struct {
	f    *os.File
	size int64

	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte // records waiting for the next write
	spare   []byte
	off     int64  // where the next write goes
	queued  uint64 // records appended to buf so far
	durable uint64 // records written and synced
	busy    bool   // a write is running
	err     error
}

func openJournal(path string, size int64) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros, off); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	j := &journal{f: f, size: size}
	j.cond = sync.NewCond(&j.mu)
	return j, nil
}

// append records the parts of one event, length-prefixed, and returns once they are on the
// disk. The first caller to find no write running writes everything queued; the others wait
// for a write that covers theirs.
func (j *journal) append(parts ...string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, p := range parts {
		j.buf = binary.LittleEndian.AppendUint32(j.buf, uint32(len(p)))
		j.buf = append(j.buf, p...)
	}
	j.queued++
	mine := j.queued
	for j.durable < mine && j.err == nil {
		if j.busy {
			j.cond.Wait()
			continue
		}
		j.busy = true
		data, upto := j.buf, j.queued
		j.buf = j.spare[:0]
		off := j.off
		if off+int64(len(data)) > j.size {
			off = 0
		}
		j.off = off + int64(len(data))
		j.mu.Unlock()
		_, err := j.f.WriteAt(data, off)
		if err == nil {
			err = syncData(j.f)
		}
		j.mu.Lock()
		j.spare = data
		j.busy = false
		if err != nil {
			j.err = err
		} else {
			j.durable = upto
		}
		j.cond.Broadcast()
	}
	return j.err
}

func (j *journal) Close() error { return j.f.Close() }
