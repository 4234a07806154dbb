package redis

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// aheadTTL is how long a directory entry read ahead with an event's put (InboundEntry.Sender)
// may stand in for a read of its own. The event's worker reads it within milliseconds; it is
// then used once and dropped. A change another replica makes is so seen a moment later at
// most, well within what the directory cache above allows (internal/app.DirectoryTTL); this
// replica's own changes drop what was read ahead of them.
const aheadTTL = time.Second

// aheadMax bounds the entries read ahead and not used (events handled elsewhere after all).
const aheadMax = 4096

// ahead holds directory entries read ahead of the events' handling.
type ahead struct {
	mu      sync.Mutex
	gen     uint64 // bumped by every write to the directory here: a read in flight is stale
	persons map[string]aheadPerson
	ttl     time.Duration // aheadTTL; tests change it
}

type aheadPerson struct {
	data  []byte // the stored JSON; nil: no such person
	until time.Time
}

// readAhead queues the reads of ids' directory entries on p.
func (s *Store) readAhead(ctx context.Context, p redis.Pipeliner, ids []string) (cmds []*redis.StringCmd, gen uint64) {
	s.ahead.mu.Lock()
	gen = s.ahead.gen
	s.ahead.mu.Unlock()
	cmds = make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = p.HGet(ctx, s.k.persons(), id)
	}
	return cmds, gen
}

// keepAhead keeps what readAhead read, unless the directory changed here meanwhile.
func (s *Store) keepAhead(ids []string, cmds []*redis.StringCmd, gen uint64) {
	s.ahead.mu.Lock()
	defer s.ahead.mu.Unlock()
	until := time.Now().Add(cmp.Or(s.ahead.ttl, aheadTTL))
	if s.ahead.gen != gen {
		return
	}
	if s.ahead.persons == nil || len(s.ahead.persons) >= aheadMax {
		s.ahead.persons = map[string]aheadPerson{}
	}
	for i, c := range cmds {
		data, err := c.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			s.ahead.persons[ids[i]] = aheadPerson{until: until}
		case err == nil:
			s.ahead.persons[ids[i]] = aheadPerson{data: data, until: until}
		}
	}
}

// takeAhead hands over, once, what was read ahead for id, if it is still fresh.
func (s *Store) takeAhead(id string) (data []byte, found, ok bool) {
	s.ahead.mu.Lock()
	defer s.ahead.mu.Unlock()
	a, ok := s.ahead.persons[id]
	if !ok {
		return nil, false, false
	}
	delete(s.ahead.persons, id)
	if time.Now().After(a.until) {
		return nil, false, false
	}
	return a.data, a.data != nil, true
}

// forgetAhead drops everything read ahead: the directory is written here.
func (s *Store) forgetAhead() {
	s.ahead.mu.Lock()
	s.ahead.gen++
	clear(s.ahead.persons)
	s.ahead.mu.Unlock()
}
