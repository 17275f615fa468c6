// Package ratelimit counts events per key (an IP, an email, a site) in a
// sliding window and says when a key has had too many. Memory is bounded:
// keys idle for a whole window are swept, and past MaxKeys the limiter
// refuses new keys rather than grow.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter allows at most Limit events per key within Window.
type Limiter struct {
	limit   int
	window  time.Duration
	maxKeys int
	mu      sync.Mutex
	keys    map[string][]time.Time
	swept   time.Time
}

// New returns a limiter of limit events per window, tracking at most
// maxKeys keys at once.
func New(limit int, window time.Duration, maxKeys int) *Limiter {
	return &Limiter{limit: limit, window: window, maxKeys: maxKeys, keys: map[string][]time.Time{}}
}

// Allow records an event for key at now and reports whether it is within
// the limit. A refused event is not recorded.
func (l *Limiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.window {
		l.sweep(now)
	}
	ts := l.keys[key]
	cut := 0
	for cut < len(ts) && now.Sub(ts[cut]) >= l.window {
		cut++
	}
	ts = ts[cut:]
	if len(ts) >= l.limit {
		l.keys[key] = ts
		return false
	}
	if ts == nil && len(l.keys) >= l.maxKeys {
		return false
	}
	l.keys[key] = append(ts, now)
	return true
}

// Count returns the events of key within the window ending at now.
func (l *Limiter) Count(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.keys[key] {
		if now.Sub(t) < l.window {
			n++
		}
	}
	return n
}

// Wait returns how long after now key must wait for its next event to be
// allowed: until its oldest event in the window leaves it (the whole
// window when the limiter is full of other keys); 0 when it may go now.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.keys[key]
	cut := 0
	for cut < len(ts) && now.Sub(ts[cut]) >= l.window {
		cut++
	}
	ts = ts[cut:]
	switch {
	case len(ts) >= l.limit:
		return ts[len(ts)-l.limit].Add(l.window).Sub(now)
	case len(ts) == 0 && len(l.keys) >= l.maxKeys:
		return l.window
	}
	return 0
}

func (l *Limiter) sweep(now time.Time) {
	for k, ts := range l.keys {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.window {
			delete(l.keys, k)
		}
	}
	l.swept = now
}

// Network is the key a client address is limited under: an IPv4 address
// itself, an IPv6 address its /64, the least one host is given (a VPS
// gets a whole /64 and can send from each of its 2^64 addresses, so
// counted one by one they would hold it to nothing). Text that is no
// address is returned as it is.
func Network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Unmap().Is4() {
		return ip
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
