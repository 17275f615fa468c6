// Package chats is the model of the online consultant: chats between a
// site's visitors and its operators (chat-protocol.md in httpd is the wire
// contract built on it).
//
// A chat (store.Chat) belongs to one site and one visitor; a visitor has at
// most one open chat per site, found through the visitor's latest chat
// (store.ChatVisitorKey). Its messages (store.ChatMessage) are numbered 1,
// 2, 3, ... per chat: a message takes the next number in the same write
// that stores it, through the store's group-commit writer, and is
// acknowledged (its Ack returned) only after that write is synced. A client
// that reconnects asks for the messages after the last id it holds
// (Messages), and a client that resends a message whose acknowledgement it
// missed names it by its ref: the chat remembers the latest refs
// (store.Chat.Refs), so the resend is answered with the first id and never
// stored twice.
//
// What happens is published, after it is durable, to the subscribers of
// the hub (Subscribe*): the visitor's sockets and the consoles of the
// site's operators. Publishing is in commit order per chat (a chat's
// writers take its lock around the write and the publish), so a client
// that got message N got every message before it. A subscriber that cannot
// keep up is dropped (Sub.Lagged), never waited for: its client
// reconnects and resumes from the store.
//
// Presence (operators online, away, offline per site) lives in memory
// only. Run sweeps what time decides: presence grace and idle timeouts,
// chats nobody answered (they become leads with their transcript, in the
// lead's own write: leads.Request.Also) and chats idle too long (closed).
// Every closed chat goes to the site's webhooks as the "chat" event, in the
// write that closes it.
//
// The package knows nothing of HTTP: handlers decode frames and requests,
// call the Service and encode its answers and Events.
package chats

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"appliance/httpd/leads"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/internal/usererr"
	"appliance/store"
)

// The kinds of errors.
var (
	ErrInvalid     = usererr.New("chats", 400, "invalid message").WithCode("bad_text")
	ErrNoChat      = usererr.New("chats", 404, "no such chat").WithCode("no_chat")
	ErrClosed      = usererr.New("chats", 409, "the chat is closed").WithCode("chat_closed")
	ErrAssigned    = usererr.New("chats", 409, "the chat is another operator's").WithCode("assigned")
	ErrOpenChat    = usererr.New("chats", 409, "the visitor has an open chat").WithCode("too_many_chats")
	ErrChatFull    = usererr.New("chats", 409, "the chat is full").WithCode("chat_full")
	ErrForbidden   = usererr.New("chats", 403, "not allowed").WithCode("no_chat")
	ErrNotOperator = usererr.New("chats", 400, "invalid operator status").WithCode("bad_frame")
)

// Who sent a message (store.ChatMessage.From).
const (
	FromVisitor  = "visitor"
	FromOperator = "operator"
	FromSystem   = "system"
)

// How a chat was closed (store.Chat.ClosedBy).
const (
	ClosedByVisitor  = "visitor"
	ClosedByOperator = "operator"
	ClosedByLead     = "lead"
	ClosedByIdle     = "idle"
)

// Operator statuses.
const (
	Online  = "online"
	Away    = "away"
	Offline = "offline"
)

// Limits.
const (
	MaxText         = 4096 // bytes of one message
	MaxRef          = 64   // bytes of a client's ref
	MaxMessages     = 5000 // messages in one chat
	MaxCanned       = 50   // canned replies per site
	MaxCannedText   = 1000 // characters of one canned reply
	MaxGreeting     = 500  // characters of the greeting (the settings form's maxlength)
	MaxPageMessages = 1000 // messages in one answer of Messages
)

// Options tune a Service; the zero value is what serve uses.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log gets what the sweep could not do; default slog.Default().
	Log *slog.Logger
	// Grace is how long an operator whose last console closed stays
	// online (a reload is not a sign-out); default 30 s.
	Grace time.Duration
	// Idle is how long an operator's console may send nothing before the
	// operator is offline; default 30 min. API operators too.
	Idle time.Duration
	// LeadGrace is how long a site may have no operator online before its
	// unanswered chats become leads; default 60 s.
	LeadGrace time.Duration
	// Unanswered is how long a chat may wait for an operator's first
	// answer before it becomes a lead, for a site that sets none; default
	// 5 min.
	Unanswered time.Duration
	// IdleClose closes a chat without messages for that long; default
	// 30 min.
	IdleClose time.Duration
	// Sweep is the period of Run's sweep; default 5 s.
	Sweep time.Duration
	// Count, when set, counts a chat for the reports in the write that
	// opens it (reports.Service.CountChat): the site, the visit it began
	// in (its visitor, session and source), and when.
	Count func(tx *store.Tx, site *store.Site, a store.Attribution, at int64) error
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Grace, 30*time.Second)
	def(&o.Idle, 30*time.Minute)
	def(&o.LeadGrace, 60*time.Second)
	def(&o.Unanswered, 5*time.Minute)
	def(&o.IdleClose, 30*time.Minute)
	def(&o.Sweep, 5*time.Second)
}

// Service keeps the chats of one store.
type Service struct {
	db       *store.DB
	sites    *sites.Registry
	visits   *visits.Tracker
	leads    *leads.Service
	hooks    *webhooks.Hooks
	o        Options
	hub      *hub
	presence *presence
	locks    lockTable
	buttons  sync.Map // site (uint32) -> bool: ButtonOn's answers, kept current by SetSettings
}

// New returns the Service over db.
func New(db *store.DB, reg *sites.Registry, v *visits.Tracker, l *leads.Service, hooks *webhooks.Hooks, o Options) *Service {
	o.defaults()
	s := &Service{db: db, sites: reg, visits: v, leads: l, hooks: hooks, o: o, hub: newHub()}
	s.presence = newPresence(o, s.hub)
	return s
}

// lockTable holds the lock of each chat (or, before it has one, its
// visitor) that is held or waited for: the writes of one chat, and their
// publishing, are serialised by it, so that events leave in commit order.
// No two chats share a lock: a send holds its locks through its durable
// write, and with a fixed array of 256 striped locks a send waited for an
// unrelated chat's write whenever their stripes met, which at 1,000 busy
// chats was most sends (the load test's execution trace).
type lockTable struct {
	mu sync.Mutex
	m  map[lockKey]*keyLock
}

type lockKey struct {
	site uint32
	id   uint64
}

type keyLock struct {
	mu   sync.Mutex
	refs int // holders and waiters
}

// lock takes the locks of the site's ids (in ascending order, each once;
// 0, no chat yet, is none) and returns their unlock.
func (s *Service) lock(site uint32, ids ...uint64) func() {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 && ids[0] == 0 {
		ids = ids[1:]
	}
	t := &s.locks
	held := make([]*keyLock, len(ids))
	t.mu.Lock()
	if t.m == nil {
		t.m = map[lockKey]*keyLock{}
	}
	for i, id := range ids {
		k := lockKey{site, id}
		l := t.m[k]
		if l == nil {
			l = &keyLock{}
			t.m[k] = l
		}
		l.refs++
		held[i] = l
	}
	t.mu.Unlock()
	for _, l := range held {
		l.mu.Lock()
	}
	return func() {
		for _, l := range slices.Backward(held) {
			l.mu.Unlock()
		}
		t.mu.Lock()
		for i, l := range held {
			if l.refs--; l.refs == 0 {
				delete(t.m, lockKey{site, ids[i]})
			}
		}
		t.mu.Unlock()
	}
}
