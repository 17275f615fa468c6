package visits

import (
	"encoding/binary"
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
	// activeVisitors bounds the visitors remembered, about 0.3 KB each
	// (packedVisitor and its strings).
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
	cur, old map[uint64]packedVisitor
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
	p, ok := s.cur[visitor]
	if !ok {
		if p, ok = s.old[visitor]; ok {
			delete(s.old, visitor)
			s.putLocked(visitor, p)
		}
	}
	if !ok || p.site != site {
		return activeVisitor{}, false
	}
	return p.unpack(), true
}

// put remembers v as visitor's state.
func (a *active) put(visitor uint64, v activeVisitor) {
	s := a.shard(visitor)
	s.mu.Lock()
	prev, ok := s.cur[visitor]
	if !ok {
		prev = s.old[visitor]
	}
	s.putLocked(visitor, pack(&v, prev.strs))
	s.mu.Unlock()
}

func (s *activeShard) putLocked(visitor uint64, v packedVisitor) {
	const perGen = activeVisitors / activeShards / 2
	if _, ok := s.cur[visitor]; !ok && len(s.cur) >= perGen {
		// The old generation's map, emptied, takes the new one's
		// visitors: a shard turns over without allocating.
		s.old, s.cur = s.cur, s.old
		clear(s.cur)
	}
	if s.cur == nil {
		s.cur = make(map[uint64]packedVisitor, perGen)
	}
	s.cur[visitor] = v
}

// packedVisitor is an activeVisitor as a shard keeps it: its numbers as
// they are, and the strings of the session and the visitor's name in one
// string, each behind its length (a uvarint). An activeVisitor is ~380
// bytes before its strings, and a new session's landing page, referrer
// and agent are substrings of the hit's request, which they kept whole;
// packed it is ~150 bytes beside its strings, the request left to the
// collector (TestPoolLoad: the active visitors 6.1 MB of maps and 4.6 MB
// of requests before).
type packedVisitor struct {
	strs     string
	contacts *[4][]string // the visitor's phones and emails, parsed and as typed; nil when none
	touch    store.Touch

	visitorID, sessionID, sessionVisitor uint64
	created, lastSeen, started, lastHit  int64
	visitorSite, properties              uint32
	hits, events, site                   uint32
	flags                                uint8
}

const (
	packedHasVisitor uint8 = 1 << iota
	packedLatest
	packedHasTouch
	packedVisitorBot
	packedSessionBot
)

// strings are the strings of v packed, in the order pack writes them.
func (v *activeVisitor) strings() [12]*string {
	s := &v.session
	return [12]*string{&s.Channel, &s.UTMSource, &s.UTMMedium, &s.UTMCampaign, &s.UTMTerm,
		&s.UTMContent, &s.Click, &s.ClickID, &s.Referrer, &s.Landing, &s.UserAgent, &v.visitor.Name}
}

// pack packs v; prev is the strings packed of the visitor before, kept
// when v's are the same (a session continued: no allocation).
func pack(v *activeVisitor, prev string) packedVisitor {
	p := packedVisitor{
		touch:          v.touch,
		visitorID:      v.visitor.ID,
		created:        v.visitor.Created,
		lastSeen:       v.visitor.LastSeen,
		sessionID:      v.session.ID,
		sessionVisitor: v.session.Visitor,
		started:        v.session.Started,
		lastHit:        v.session.LastHit,
		visitorSite:    v.visitor.Site,
		properties:     v.visitor.Properties,
		hits:           v.session.Hits,
		events:         v.session.Events,
		site:           v.site,
	}
	for i, b := range [...]bool{v.hasVisitor, v.latest, v.hasTouch, v.visitor.Bot, v.session.Bot} {
		if b {
			p.flags |= 1 << i
		}
	}
	if len(v.visitor.Phones) > 0 || len(v.visitor.Emails) > 0 || len(v.visitor.PhonesTyped) > 0 || len(v.visitor.EmailsTyped) > 0 {
		p.contacts = &[4][]string{v.visitor.Phones, v.visitor.Emails, v.visitor.PhonesTyped, v.visitor.EmailsTyped}
	}
	var buf [512]byte
	b := buf[:0]
	for _, f := range v.strings() {
		b = binary.AppendUvarint(b, uint64(len(*f)))
		b = append(b, *f...)
	}
	if string(b) == prev {
		p.strs = prev
	} else {
		p.strs = string(b)
	}
	return p
}

// unpack is the activeVisitor p packs; its strings are substrings of
// p's.
func (p *packedVisitor) unpack() activeVisitor {
	v := activeVisitor{
		site:       p.site,
		hasVisitor: p.flags&packedHasVisitor != 0,
		latest:     p.flags&packedLatest != 0,
		hasTouch:   p.flags&packedHasTouch != 0,
		touch:      p.touch,
		visitor: store.Visitor{ID: p.visitorID, Site: p.visitorSite, Created: p.created,
			LastSeen: p.lastSeen, Properties: p.properties, Bot: p.flags&packedVisitorBot != 0},
		session: store.Session{ID: p.sessionID, Visitor: p.sessionVisitor, Started: p.started,
			LastHit: p.lastHit, Hits: p.hits, Events: p.events, Bot: p.flags&packedSessionBot != 0},
	}
	if p.contacts != nil {
		v.visitor.Phones, v.visitor.Emails = p.contacts[0], p.contacts[1]
		v.visitor.PhonesTyped, v.visitor.EmailsTyped = p.contacts[2], p.contacts[3]
	}
	s := p.strs
	for _, f := range v.strings() {
		// The length's uvarint, as pack appended it.
		n, shift, i := 0, 0, 0
		for ; s[i] >= 0x80; i++ {
			n |= int(s[i]&0x7f) << shift
			shift += 7
		}
		n |= int(s[i]) << shift
		*f, s = s[i+1:i+1+n], s[i+1+n:]
	}
	return v
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
