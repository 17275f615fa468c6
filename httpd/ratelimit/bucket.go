package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// Buckets is a token-bucket limiter per key for hot paths: each key holds
// at most Burst tokens, refilled at Rate per second; an event takes one.
// A key costs one small struct whatever its traffic (Limiter keeps every
// event's time), and the keys are sharded so concurrent requests rarely
// share a lock. Memory is bounded as the package comment tells: past
// MaxKeys per shard a new key pushes out the one seen least recently
// (which, back, starts with a full bucket: what any new key gets).
type Buckets struct {
	rate    float64 // tokens per second
	burst   float64
	maxKeys int // per shard
	seed    maphash.Seed
	shards  [16]bucketShard
}

type bucketShard struct {
	mu      sync.Mutex
	keys    recent[bucket]
	evicted uint64 // keys pushed out at maxKeys; under mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewBuckets returns a limiter of rate events per second per key with bursts
// of up to burst events, tracking at most maxKeys keys.
func NewBuckets(rate float64, burst int, maxKeys int) *Buckets {
	b := &Buckets{rate: rate, burst: float64(burst), maxKeys: max(1, maxKeys/16), seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].keys = newRecent[bucket]()
	}
	return b
}

// Allow takes a token of key at now and reports whether there was one.
func (b *Buckets) Allow(key string, now time.Time) bool {
	sh := &b.shards[maphash.String(b.seed, key)%uint64(len(b.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.keys.get(key)
	if e == nil {
		for sh.keys.len() >= b.maxKeys {
			sh.keys.remove(sh.keys.oldest())
			sh.evicted++
		}
		e = sh.keys.add(key, bucket{tokens: b.burst, last: now})
	} else {
		sh.keys.seen(e)
	}
	k := &e.val
	if dt := now.Sub(k.last).Seconds(); dt > 0 {
		k.tokens = min(b.burst, k.tokens+dt*b.rate)
		k.last = now
	}
	if k.tokens < 1 {
		return false
	}
	k.tokens--
	return true
}

// Evicted is how many keys b has pushed out since it was made because a
// shard held its share of maxKeys and a new key came to it.
func (b *Buckets) Evicted() uint64 {
	var n uint64
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		n += sh.evicted
		sh.mu.Unlock()
	}
	return n
}
