package redis

import "time"

// SetLaterWait changes how long acks and records wait for a put to carry them (laterDelay).
func (s *Store) SetLaterWait(d time.Duration) {
	s.later.mu.Lock()
	s.later.wait = d
	s.later.mu.Unlock()
}

// SetAheadTTL changes how long an entry read ahead stays usable (aheadTTL).
func (s *Store) SetAheadTTL(d time.Duration) {
	s.ahead.mu.Lock()
	s.ahead.ttl = d
	s.ahead.mu.Unlock()
}
