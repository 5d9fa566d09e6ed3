package auth

import (
	"sync"
	"time"
)

// limiter is a set of token buckets by key: each holds up to burst tokens
// and refills burst tokens per window. It keeps at most maxKeys buckets;
// when full of buckets still in use it refuses new keys (fails closed)
// rather than forget a bucket an attacker is draining.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	burst   float64
	perSec  float64
	maxKeys int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(burst int, window time.Duration, maxKeys int) *limiter {
	return &limiter{
		buckets: map[string]*bucket{},
		burst:   float64(burst),
		perSec:  float64(burst) / window.Seconds(),
		maxKeys: maxKeys,
	}
}

func (l *limiter) level(b *bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.perSec)
}

// allow takes a token from key's bucket, reporting whether there was one.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			// Full buckets carry no information: drop them.
			for k, v := range l.buckets {
				if l.level(v, now) >= l.burst {
					delete(l.buckets, k)
				}
			}
			if len(l.buckets) >= l.maxKeys {
				return false
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = l.level(b, now)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
