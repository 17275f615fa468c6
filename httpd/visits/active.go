package visits

import (
	"sync"

	"appliance/store"
)

// The tracker's memory of active visitors: their record and their latest
// session, so that most hits decide what to write without reading the
// store, in the handler's goroutine, in parallel on every core; the store's
// writer only appends the prepared writes. The store stays the source of
// truth: a visitor not remembered (evicted, or the server restarted) is
// read from it.
//
// Every write of a visitor's record or sessions holds the visitor's lock
// (lockVisitor) from the read that decides it until it is durable, and
// then remembers what it wrote or forgets the visitor: so what is
// remembered is what the store holds, and two hits of one visitor at once
// are decided one after the other (the second continues the session the
// first opened; they never open two).
const (
	// activeVisitors bounds the visitors remembered, about 0.6 KB each.
	activeVisitors = 1 << 14
	activeShards   = 64
	visitorLocks   = 4096
)

// active remembers visitors in shards of two generations: a visitor found
// in the old one moves to the new one; when the new one is full it
// becomes the old one and the old one is dropped. A visitor seen within
// the last activeVisitors/2 visitors of its shard is always remembered.
type active struct {
	locks  [visitorLocks]sync.Mutex
	shards [activeShards]activeShard
}

type activeShard struct {
	mu       sync.Mutex
	cur, old map[uint64]activeVisitor
}

// activeVisitor is what is remembered of a visitor: its record and the
// session it was last seen in (its latest, unless that was an older tab's),
// as the store holds them.
type activeVisitor struct {
	site       uint32
	visitor    store.Visitor
	hasVisitor bool
	session    store.Session // a session of the visitor (ID 0: none)
	latest     bool          // session is the visitor's latest
	touch      store.Touch   // the Counter's touch of the visitor, as it wrote it (hasTouch)
	hasTouch   bool
}

// lockVisitor locks the visitor's writes and returns the lock to unlock.
func (a *active) lockVisitor(visitor uint64) *sync.Mutex {
	mu := &a.locks[visitor%visitorLocks]
	mu.Lock()
	return mu
}

func (a *active) shard(visitor uint64) *activeShard {
	return &a.shards[visitor%activeShards]
}

// get returns what is remembered of visitor on site.
func (a *active) get(site uint32, visitor uint64) (activeVisitor, bool) {
	s := a.shard(visitor)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cur[visitor]
	if !ok {
		if v, ok = s.old[visitor]; ok {
			delete(s.old, visitor)
			s.putLocked(visitor, v)
		}
	}
	if !ok || v.site != site {
		return activeVisitor{}, false
	}
	return v, true
}

// put remembers v as visitor's state.
func (a *active) put(visitor uint64, v activeVisitor) {
	s := a.shard(visitor)
	s.mu.Lock()
	s.putLocked(visitor, v)
	s.mu.Unlock()
}

func (s *activeShard) putLocked(visitor uint64, v activeVisitor) {
	const perGen = activeVisitors / activeShards / 2
	if _, ok := s.cur[visitor]; !ok && len(s.cur) >= perGen {
		// The old generation's map, emptied, takes the new one's
		// visitors: a shard turns over without allocating.
		s.old, s.cur = s.cur, s.old
		clear(s.cur)
	}
	if s.cur == nil {
		s.cur = make(map[uint64]activeVisitor, perGen)
	}
	s.cur[visitor] = v
}

// forgetAll drops what is remembered of every visitor.
func (a *active) forgetAll() {
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		s.cur, s.old = nil, nil
		s.mu.Unlock()
	}
}

// forget drops what is remembered of visitor: its next hit reads the
// store.
func (a *active) forget(visitor uint64) {
	s := a.shard(visitor)
	s.mu.Lock()
	delete(s.cur, visitor)
	delete(s.old, visitor)
	s.mu.Unlock()
}
