// Package failures limits failed attempts (authentications, sign-ins) per
// source: one token bucket a key, created at its first failure.
package failures

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter keeps the buckets. Its zero value is not usable; call New.
type Limiter struct {
	mu      sync.RWMutex
	rate    rate.Limit
	burst   int
	maxKeys int
	buckets map[string]*rate.Limiter
}

// New allows burst failures per key, refilled at perSecond; past maxKeys
// keys, every bucket is forgotten (a flood of sources does not grow memory
// without bound).
func New(perSecond float64, burst, maxKeys int) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, maxKeys: maxKeys, buckets: map[string]*rate.Limiter{}}
}

// Blocked reports whether key has used up its failures; a key that never
// failed costs one read lock.
func (l *Limiter) Blocked(key string, now time.Time) bool {
	l.mu.RLock()
	b := l.buckets[key]
	l.mu.RUnlock()
	return b != nil && b.TokensAt(now) < 1
}

// Fail counts a failure of key and reports whether key was still allowed
// one.
func (l *Limiter) Fail(key string, now time.Time) bool {
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > l.maxKeys {
			clear(l.buckets)
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	return b.AllowN(now, 1)
}
