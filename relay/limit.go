package relay

import (
	"maps"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter holds one token bucket per user and one per session.
//
// A bucket that has refilled to its burst is indistinguishable from a new
// one, so sweep drops exactly those: eviction never grants a client more
// than the limit, and memory follows the users active within the last
// burst/rate seconds (plus one sweep interval), not every user ever seen.
type limiter struct {
	user, session bucketSet

	mu sync.Mutex // guards both maps and every reservation
}

type bucketSet struct {
	limit   rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
	// peak is the most buckets held since the map was last rebuilt: Go maps
	// never give back memory on delete, so sweep rebuilds a map that has
	// shrunk to a quarter of its peak.
	peak int
}

func newLimiter(c Config) *limiter {
	return &limiter{
		user:    bucketSet{limit: c.UserRate, burst: c.UserBurst, buckets: map[string]*rate.Limiter{}},
		session: bucketSet{limit: c.SessionRate, burst: c.SessionBurst, buckets: map[string]*rate.Limiter{}},
	}
}

func (s *bucketSet) reserve(key string, now time.Time) *rate.Reservation {
	if s.limit == rate.Inf {
		return nil
	}
	b := s.buckets[key]
	if b == nil {
		b = rate.NewLimiter(s.limit, s.burst)
		s.buckets[key] = b
		s.peak = max(s.peak, len(s.buckets))
	}
	return b.ReserveN(now, 1)
}

// allow takes one token from the user's and the session's bucket, or none
// of them: it returns false and how long to wait when either is empty.
func (l *limiter) allow(user, session string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ru := l.user.reserve(user, now)
	if wait := delay(ru, now); wait > 0 {
		ru.CancelAt(now)
		return false, wait
	}
	rs := l.session.reserve(session, now)
	if wait := delay(rs, now); wait > 0 {
		rs.CancelAt(now)
		if ru != nil {
			ru.CancelAt(now)
		}
		return false, wait
	}
	return true, 0
}

func delay(r *rate.Reservation, now time.Time) time.Duration {
	if r == nil {
		return 0
	}
	if !r.OK() {
		return time.Second
	}
	return r.DelayFrom(now)
}

// sweep drops full buckets and reports how many buckets remain.
func (l *limiter) sweep(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range []*bucketSet{&l.user, &l.session} {
		for k, b := range s.buckets {
			if b.TokensAt(now) >= float64(s.burst) {
				delete(s.buckets, k)
			}
		}
		if s.peak > 1024 && len(s.buckets) < s.peak/4 {
			// A fresh map sized to what is left; maps.Clone may keep the
			// old capacity.
			fresh := make(map[string]*rate.Limiter, len(s.buckets))
			maps.Copy(fresh, s.buckets)
			s.buckets = fresh
			s.peak = len(s.buckets)
		}
		n += len(s.buckets)
	}
	return n
}

func (l *limiter) size() (users, sessions int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.user.buckets), len(l.session.buckets)
}
