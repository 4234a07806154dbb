package redis

import "time"

// SetLaterWait changes how long acks and records wait for a put to carry them (laterDelay).
func (s *Store) SetLaterWait(d time.Duration) {
	s.later.mu.Lock()
	s.later.wait = d
	s.later.mu.Unlock()
}
