// Package ratelimit counts events per key (an IP, an email, a site) in a
// sliding window and says when a key has had too many.
//
// Memory is bounded: keys idle for a whole window are forgotten, and past
// MaxKeys a new key pushes out the key seen least recently, which starts
// afresh if it comes back. A limiter never refuses a key for being new:
// the keys are the visitors' networks, and one that refused new keys once
// full let anyone holding enough addresses (an IPv6 /48 from a free tunnel
// broker is 65,536 networks) fill it and then have every real visitor's
// lead, captcha, callback and chat message refused. Pushing keys out
// gives such a flood nothing it does not already have: to push out a key
// it must bring MaxKeys newer ones within the window, each of which has a
// whole limit of its own anyway; the per-site limits bound what all of
// them together get through. A limiter whose keys must never be forgotten
// (the failures of the accounts that exist) has no bound: its keys come
// from a set the caller bounds.
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
	maxKeys int // <= 0: no bound
	mu      sync.Mutex
	keys    recent[[]time.Time] // each key's events in the window, oldest first
	evicted uint64              // keys pushed out at maxKeys; under mu
}

// New returns a limiter of limit events per window, tracking at most
// maxKeys keys at once (past it the key seen least recently is
// forgotten). A maxKeys of 0 or less sets no bound, for keys the caller
// bounds (the addresses of the accounts that exist): never use it for
// keys a client chooses.
func New(limit int, window time.Duration, maxKeys int) *Limiter {
	return &Limiter{limit: limit, window: window, maxKeys: maxKeys, keys: newRecent[[]time.Time]()}
}

// Allow records an event for key at now and reports whether it is within
// the limit. A refused event is not recorded, but counts as the key seen.
func (l *Limiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	e := l.keys.get(key)
	if e == nil {
		if l.limit < 1 {
			return false
		}
		for l.maxKeys > 0 && l.keys.len() >= l.maxKeys {
			l.keys.remove(l.keys.oldest())
			l.evicted++
		}
		l.keys.add(key, []time.Time{now})
		return true
	}
	l.keys.seen(e)
	e.val = l.live(e.val, now)
	if len(e.val) >= l.limit {
		return false
	}
	e.val = append(e.val, now)
	return true
}

// Evicted is how many keys l has pushed out since it was made because it
// held maxKeys and a new key came, each forgetting its events while still
// in the window; the keys a window forgets idle are not counted.
func (l *Limiter) Evicted() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.evicted
}

// live is ts without the events that have left the window ending at now.
func (l *Limiter) live(ts []time.Time, now time.Time) []time.Time {
	cut := 0
	for cut < len(ts) && now.Sub(ts[cut]) >= l.window {
		cut++
	}
	return ts[cut:]
}

// Count returns the events of key within the window ending at now.
func (l *Limiter) Count(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.keys.get(key); e != nil {
		return len(l.live(e.val, now))
	}
	return 0
}

// Wait returns how long after now key must wait for its next event to be
// allowed: until its oldest event in the window leaves it; 0 when it may
// go now.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.keys.get(key)
	if e == nil {
		return 0
	}
	if ts := l.live(e.val, now); len(ts) >= l.limit {
		return ts[len(ts)-l.limit].Add(l.window).Sub(now)
	}
	return 0
}

// sweep forgets, from the key seen least recently on, the keys with no
// event in the window ending at now. A key is seen when it has an event,
// so those behind one with an event in the window mostly have theirs too:
// the sweep stops there, and costs no more than what it forgets.
func (l *Limiter) sweep(now time.Time) {
	for e := l.keys.oldest(); e != nil; e = l.keys.oldest() {
		if n := len(e.val); n > 0 && now.Sub(e.val[n-1]) < l.window {
			return
		}
		l.keys.remove(e)
	}
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
