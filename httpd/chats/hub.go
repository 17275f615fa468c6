package chats

import (
	"sync"
	"sync/atomic"

	"appliance/store"
)

// EventKind is what an Event tells.
type EventKind int

// The kinds of events.
const (
	EvMessage    EventKind = iota + 1 // Message was stored in Chat
	EvTyping                          // From is typing (On) or stopped
	EvDelivered                       // From's client received up to ID
	EvRead                            // From has seen up to ID
	EvChat                            // Chat was opened, assigned, closed or became a lead (consoles)
	EvAssigned                        // Chat was assigned to Name (visitor)
	EvClosed                          // Chat was closed by Name ("visitor", "operator", "lead", "idle") (visitor)
	EvSiteStatus                      // the site's status changed: Online (visitors)
	EvOperator                        // operator Name is now Status (consoles)
	EvVisitor                         // Visitor came (Online) or left (consoles)
)

// Event is something that happened, published to the hub's subscribers
// once it is durable. Only the fields of its kind are set.
type Event struct {
	Kind    EventKind
	Site    uint32
	ChatID  uint64
	Visitor uint64 // the chat's visitor (chat events) or the visitor who came or left
	Chat    *store.Chat
	Message *store.ChatMessage
	From    string
	Name    string
	Status  string
	ID      uint64
	On      bool
	Online  bool
	Live    *LiveVisitor
	// Ref is a message's ref, as its sender's client gave it ("" none).
	Ref string
	// Origin is the subscriber whose frame caused the event (nil: none);
	// it does not get relayed marks and typing back.
	Origin *Sub

	encoded [2]atomic.Pointer[[]byte] // Encoded's memo per audience
}

// Audiences of Encoded: what visitors and what consoles are sent.
const (
	ForVisitors = 0
	ForConsoles = 1
)

// Encoded returns the audience's encoding of the event, computed by
// encode once for all its subscribers (an event reaches every console of
// its site: one encoding, not one per socket). encode must depend only on
// the event; nil means nothing to send.
func (e *Event) Encoded(audience int, encode func() []byte) []byte {
	if p := e.encoded[audience].Load(); p != nil {
		return *p
	}
	b := encode()
	e.encoded[audience].Store(&b)
	return b
}

// LiveVisitor is a visitor with a socket open on the site now.
type LiveVisitor struct {
	Site    uint32
	Visitor uint64
	Session uint64
	Page    string
	Since   int64 // Unix ms
}

// How many events a subscriber may have waiting before it is dropped as
// too slow: a visitor's socket sees only its own chats and its site's
// status, and its writer starts as soon as one waits (notify); a console
// sees every chat of its sites. Events travel as pointers shared by every
// subscriber, so that an idle visitor's buffer costs 8 bytes a slot.
const (
	visitorBuffer = 32
	consoleBuffer = 4096
)

// Sub is one subscriber: a visitor's socket (or poll) or an operator's
// console. Events arrive on C in publishing order, shared with every other
// subscriber: read only. When the subscriber falls its buffer behind,
// Lagged is closed and it gets no more.
type Sub struct {
	C      chan *Event
	Lagged chan struct{}

	// notify, when set, is called after an event is queued on C or Lagged
	// is closed, from the publisher's goroutine while it holds the hub: it
	// must not block nor call the Service (it starts the socket's writer).
	notify func()

	site    uint32 // visitors: their site
	visitor uint64 // visitors: their id; 0 for consoles
	sites   map[uint32]bool
	live    *LiveVisitor
	lagOnce sync.Once
}

func (s *Sub) deliver(ev *Event) {
	select {
	case s.C <- ev:
	default:
		s.lagOnce.Do(func() { close(s.Lagged) })
	}
	if s.notify != nil {
		s.notify()
	}
}

type visitorKey struct {
	site    uint32
	visitor uint64
}

// hub routes events to subscribers: a chat's events to the sockets of its
// visitor and to the consoles of its site; a site's status to its
// visitors; operators and live visitors to consoles.
type hub struct {
	mu       sync.RWMutex
	visitors map[visitorKey]map[*Sub]struct{}
	bySite   map[uint32]map[*Sub]struct{} // visitors' subs per site
	consoles map[*Sub]struct{}
}

func newHub() *hub {
	return &hub{visitors: map[visitorKey]map[*Sub]struct{}{}, bySite: map[uint32]map[*Sub]struct{}{},
		consoles: map[*Sub]struct{}{}}
}

func newSub(buffer int, notify func()) *Sub {
	return &Sub{C: make(chan *Event, buffer), Lagged: make(chan struct{}), notify: notify}
}

// addVisitor subscribes a visitor's socket (live: shown to consoles as on
// the site now) or poll (live nil).
func (h *hub) addVisitor(site uint32, visitor uint64, live *LiveVisitor, notify func()) *Sub {
	sub := newSub(visitorBuffer, notify)
	sub.site, sub.visitor, sub.live = site, visitor, live
	k := visitorKey{site, visitor}
	h.mu.Lock()
	if h.visitors[k] == nil {
		h.visitors[k] = map[*Sub]struct{}{}
	}
	h.visitors[k][sub] = struct{}{}
	if h.bySite[site] == nil {
		h.bySite[site] = map[*Sub]struct{}{}
	}
	h.bySite[site][sub] = struct{}{}
	h.mu.Unlock()
	return sub
}

func (h *hub) addConsole(sites []uint32, notify func()) *Sub {
	sub := newSub(consoleBuffer, notify)
	sub.sites = map[uint32]bool{}
	for _, id := range sites {
		sub.sites[id] = true
	}
	h.mu.Lock()
	h.consoles[sub] = struct{}{}
	h.mu.Unlock()
	return sub
}

func (h *hub) remove(sub *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sub.sites != nil {
		delete(h.consoles, sub)
		return
	}
	k := visitorKey{sub.site, sub.visitor}
	delete(h.visitors[k], sub)
	if len(h.visitors[k]) == 0 {
		delete(h.visitors, k)
	}
	delete(h.bySite[sub.site], sub)
	if len(h.bySite[sub.site]) == 0 {
		delete(h.bySite, sub.site)
	}
}

// publish hands ev to every subscriber it is for, without waiting.
func (h *hub) publish(ev *Event) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	toConsoles := ev.Kind != EvAssigned && ev.Kind != EvClosed && ev.Kind != EvSiteStatus
	if toConsoles {
		for sub := range h.consoles {
			if sub.sites[ev.Site] && sub != ev.Origin {
				sub.deliver(ev)
			}
		}
	}
	switch ev.Kind {
	case EvChat, EvOperator, EvVisitor:
		return
	case EvSiteStatus:
		for sub := range h.bySite[ev.Site] {
			sub.deliver(ev)
		}
		return
	}
	for sub := range h.visitors[visitorKey{ev.Site, ev.Visitor}] {
		if sub != ev.Origin {
			sub.deliver(ev)
		}
	}
}

// live lists the visitors with a socket open on the sites, oldest first
// per visitor (one entry per visitor: their latest page).
func (h *hub) live(sites map[uint32]bool) []LiveVisitor {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []LiveVisitor
	for k, subs := range h.visitors {
		if !sites[k.site] {
			continue
		}
		var latest *LiveVisitor
		for sub := range subs {
			if sub.live != nil && (latest == nil || sub.live.Since > latest.Since) {
				latest = sub.live
			}
		}
		if latest != nil {
			out = append(out, *latest)
		}
	}
	return out
}

// visitorOnline reports whether the visitor has a socket open.
func (h *hub) visitorOnline(site uint32, visitor uint64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for sub := range h.visitors[visitorKey{site, visitor}] {
		if sub.live != nil {
			return true
		}
	}
	return false
}
