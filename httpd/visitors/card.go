// Package visitors assembles the visitor card: everything one visitor of a
// site did, newest first. Its sessions with their traffic source, device,
// pages and events; the visitor's properties and the contacts they left
// (addVisitorInfo); their leads, callbacks, calls and chats.
//
// The card reads the visitor's index (store.VisitorItemKey), which every
// write of a session, lead, callback, call or chat adds to in the same durable
// write, so it reads only the visitor's own records, however large the
// site. What one card shows is bounded (Limits): a bot can have thousands
// of sessions; the card says how many more there are and where each list
// goes on (Card.Next), and CardPart reads one list from there.
//
// The package knows nothing of HTTP; the dashboard and the reports API
// both show a Card.
package visitors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"appliance/httpd/leads"
	"appliance/httpd/visits"
	"appliance/internal/usererr"
	"appliance/store"
)

// ErrNoVisitor is returned for a visitor id that names no visitor of the
// site (none at all, or another site's): the two are not told apart.
var ErrNoVisitor = usererr.New("visitors", 404, "no such visitor on this site")

// Limits bound what one card reads. The zero value is DefaultLimits.
type Limits struct {
	Sessions int // the latest sessions shown
	Pages    int // page views shown per session, its first ones
	Events   int // events shown per session, its first ones
	Items    int // leads, callbacks, calls and chats shown, the latest of each
	Messages int // messages shown per chat, its first ones
}

// DefaultLimits are the card's limits when none are given.
var DefaultLimits = Limits{Sessions: 100, Pages: visits.MaxPagesShown, Events: visits.MaxEventsShown, Items: 200, Messages: 50}

// Card is one visitor and everything they did, each list newest first
// (pages and events of a session in the order they happened).
type Card struct {
	Visitor    store.Visitor // name, phones and emails are the contacts they left
	Properties []Property    // in name order
	Sessions   []Session
	Leads      []Lead
	Callbacks  []Callback
	Groups     []store.WidgetGroup // the site's callback groups, which name the callbacks'
	Calls      []store.Call
	Chats      []Chat
	// More counts, per list, the records of the visitor not shown
	// (beyond the limits).
	More More
	// Next is, per list, the id of the newest record not shown: where
	// the list's next page (CardPart) starts; 0 when none is left.
	Next Next
}

// Next is where each list of a card goes on (Card.Next).
type Next struct {
	Sessions, Leads, Callbacks, Calls, Chats uint64
}

// Part names one list of a card and where it starts: the records of
// Kind from the one with id At on, older ones after it (At 0: from the
// newest); Kind 0 is every list from its newest. Limit is how many
// records each list it names shows, 0 the card's limits (Limits.Sessions
// and Limits.Items).
type Part struct {
	Kind  store.ItemKind
	At    uint64
	Limit int
}

// More is how many of a visitor's records a card leaves out.
type More struct {
	Sessions, Leads, Callbacks, Calls, Chats int
}

// Property is one visitor property.
type Property struct {
	Name    string
	Value   string
	Updated int64 // Unix ms
}

// Session is a session with its device, pages and events.
type Session struct {
	store.Session
	Device     visits.Device
	Pages      []store.Hit
	Events     []store.Event
	MorePages  int // page views not shown
	MoreEvents int
}

// Lead is a lead with staff's mark (status and note).
type Lead struct {
	store.Lead
	Status string // leads.StatusNew, StatusDone, StatusSpam
	Note   string
	By     string // who set the mark; "" when never marked
	At     int64  // when (Unix ms); 0 when never marked
}

// Callback is a callback request with staff's mark (status and note).
type Callback struct {
	store.Callback
	Status string // leads.StatusNew, StatusDone, StatusSpam
	Note   string
	By     string // who set the mark; "" when never marked
	At     int64  // when (Unix ms); 0 when never marked
}

// Chat is a visitor's chat with its first messages.
type Chat struct {
	store.Chat
	Messages     []store.ChatMessage
	MoreMessages int
}

// Reader reads visitor cards from a store.
type Reader struct {
	db     *store.DB
	limits Limits
}

// New returns a Reader over db with limits (zero fields: DefaultLimits').
func New(db *store.DB, limits Limits) *Reader {
	d := DefaultLimits
	limits.Sessions = cmp.Or(limits.Sessions, d.Sessions)
	limits.Pages = cmp.Or(limits.Pages, d.Pages)
	limits.Events = cmp.Or(limits.Events, d.Events)
	limits.Items = cmp.Or(limits.Items, d.Items)
	limits.Messages = cmp.Or(limits.Messages, d.Messages)
	return &Reader{db: db, limits: limits}
}

// Card assembles the card of visitor id of site; ErrNoVisitor when the
// site has no such visitor.
func (r *Reader) Card(ctx context.Context, site uint32, id uint64) (Card, error) {
	return r.CardPart(ctx, site, id, Part{})
}

// CardPart is the card of visitor id of site with only the list that p
// names, from p.At on, as many as the card shows of it or p.Limit; a
// Part without Kind is the whole card (Card), p.Limit of each list. It is how the older records of a long history
// are paged through.
func (r *Reader) CardPart(ctx context.Context, site uint32, id uint64, p Part) (Card, error) {
	var c Card
	b, err := r.db.Get(store.VisitorKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return c, ErrNoVisitor
	}
	if err != nil {
		return c, fmt.Errorf("visitor card %d: %w", id, err)
	}
	if c.Visitor, err = store.DecodeVisitor(b); err != nil {
		return c, fmt.Errorf("visitor card %d: %w", id, err)
	}
	if c.Visitor.Site != site {
		return Card{}, ErrNoVisitor
	}
	if err := r.fill(ctx, site, &c, p); err != nil {
		return Card{}, fmt.Errorf("visitor card %d: %w", id, err)
	}
	return c, nil
}

func (r *Reader) fill(ctx context.Context, site uint32, c *Card, p Part) error {
	v := c.Visitor.ID
	var err error
	if c.Properties, err = r.properties(ctx, v); err != nil {
		return err
	}
	// items reads the index of a list the card shows: none but p's when
	// p names one.
	items := func(kind store.ItemKind, limit int, more *int, next *uint64) ([]uint64, error) {
		if p.Kind != 0 && p.Kind != kind {
			return nil, nil
		}
		var at uint64
		if p.Kind == kind {
			at = p.At
		}
		if p.Limit > 0 {
			limit = p.Limit
		}
		ids, m, n, err := r.items(ctx, v, kind, limit, at)
		*more, *next = m, n
		return ids, err
	}
	sessions, err := items(store.ItemSession, r.limits.Sessions, &c.More.Sessions, &c.Next.Sessions)
	if err != nil {
		return err
	}
	for _, sid := range sessions {
		s, ok, err := get(r.db, store.SessionKey(site, sid), func(b []byte) (store.Session, error) { return store.DecodeSession(b) })
		if err != nil || !ok {
			if err != nil {
				return fmt.Errorf("session %d: %w", sid, err)
			}
			continue
		}
		cs := Session{Session: s, Device: visits.SessionDevice(&s)}
		if cs.Pages, err = scan(ctx, r.db, store.HitPrefix(site, sid), r.limits.Pages, store.DecodeHit); err != nil {
			return fmt.Errorf("pages of session %d: %w", sid, err)
		}
		if cs.Events, err = scan(ctx, r.db, store.EventPrefix(site, sid), r.limits.Events, store.DecodeEvent); err != nil {
			return fmt.Errorf("events of session %d: %w", sid, err)
		}
		cs.MorePages = max(int(s.Hits)-len(cs.Pages), 0)
		cs.MoreEvents = max(int(s.Events)-len(cs.Events), 0)
		c.Sessions = append(c.Sessions, cs)
	}

	ids, err := items(store.ItemLead, r.limits.Items, &c.More.Leads, &c.Next.Leads)
	if err != nil {
		return err
	}
	for _, id := range ids {
		l, ok, err := get(r.db, store.LeadKey(site, id), func(b []byte) (store.Lead, error) { return store.DecodeLead(id, b) })
		if err != nil {
			return fmt.Errorf("lead %d: %w", id, err)
		}
		if !ok {
			continue
		}
		m, _, err := get(r.db, store.MarkKey(site, store.MarkLead, id), store.DecodeMark)
		if err != nil {
			return fmt.Errorf("mark of lead %d: %w", id, err)
		}
		c.Leads = append(c.Leads, Lead{Lead: l, Status: leads.StatusOf(m), Note: m.Note, By: m.By, At: m.Time})
	}

	if ids, err = items(store.ItemCallback, r.limits.Items, &c.More.Callbacks, &c.Next.Callbacks); err != nil {
		return err
	}
	if len(ids) > 0 {
		w, _, err := get(r.db, store.WidgetKey(site), store.DecodeWidgetSettings)
		if err != nil {
			return fmt.Errorf("callback groups: %w", err)
		}
		c.Groups = w.Groups
	}
	for _, id := range ids {
		cb, ok, err := get(r.db, store.CallbackKey(site, id), func(b []byte) (store.Callback, error) { return store.DecodeCallback(id, b) })
		if err != nil {
			return fmt.Errorf("callback %d: %w", id, err)
		}
		if !ok {
			continue
		}
		m, _, err := get(r.db, store.MarkKey(site, store.MarkCallback, id), store.DecodeMark)
		if err != nil {
			return fmt.Errorf("mark of callback %d: %w", id, err)
		}
		c.Callbacks = append(c.Callbacks, Callback{Callback: cb, Status: leads.StatusOf(m), Note: m.Note, By: m.By, At: m.Time})
	}

	if ids, err = items(store.ItemCall, r.limits.Items, &c.More.Calls, &c.Next.Calls); err != nil {
		return err
	}
	for _, id := range ids {
		call, ok, err := get(r.db, store.CallKey(site, id), func(b []byte) (store.Call, error) { return store.DecodeCall(id, b) })
		if err != nil {
			return fmt.Errorf("call %d: %w", id, err)
		}
		if ok {
			c.Calls = append(c.Calls, call)
		}
	}
	if ids, err = items(store.ItemChat, r.limits.Items, &c.More.Chats, &c.Next.Chats); err != nil {
		return err
	}
	for _, id := range ids {
		ch, ok, err := get(r.db, store.ChatKey(site, id), func(b []byte) (store.Chat, error) { return store.DecodeChat(site, id, b) })
		if err != nil {
			return fmt.Errorf("chat %d: %w", id, err)
		}
		if !ok {
			continue
		}
		cc := Chat{Chat: ch}
		if cc.Messages, err = scanMessages(ctx, r.db, site, id, r.limits.Messages); err != nil {
			return fmt.Errorf("messages of chat %d: %w", id, err)
		}
		cc.MoreMessages = max(int(ch.Last)-len(cc.Messages), 0)
		c.Chats = append(c.Chats, cc)
	}
	// Ids grow with the time a record was written; a call's own time is
	// when it started, which the PBX may report late.
	slices.SortStableFunc(c.Calls, func(a, b store.Call) int { return cmp.Compare(b.Time, a.Time) })
	return nil
}

// items returns the ids of the visitor's latest limit items of kind,
// newest first, from the one with id at on (0: from the newest); how many
// older ones there are, and the id of the newest of them (0: none).
func (r *Reader) items(ctx context.Context, visitor uint64, kind store.ItemKind, limit int, at uint64) (ids []uint64, more int, next uint64, err error) {
	prefix := store.VisitorItemPrefix(visitor, kind)
	upper := store.PrefixEnd(prefix)
	if at != 0 {
		upper = store.PrefixEnd(store.VisitorItemKey(visitor, kind, at))
	}
	err = r.db.Scan(ctx, prefix, upper, true, 0, func(k, _ []byte) bool {
		if len(ids) == limit {
			if more == 0 {
				next, _ = store.IDFromKey(k)
			}
			more++
			return true
		}
		if id, ok := store.IDFromKey(k); ok {
			ids = append(ids, id)
		}
		return true
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("index of visitor %d: %w", visitor, err)
	}
	return ids, more, next, nil
}

func (r *Reader) properties(ctx context.Context, visitor uint64) ([]Property, error) {
	var out []Property
	var derr error
	prefix := store.PropertyPrefix(visitor)
	err := r.db.ScanPrefix(ctx, prefix, false, visits.MaxProperties, func(k, b []byte) bool {
		p, err := store.DecodeProperty(b)
		if err != nil {
			derr = err
			return false
		}
		if p.Name == "" {
			p.Name = string(k[len(prefix):]) // version 1: the name as written
		}
		out = append(out, Property{Name: p.Name, Value: p.Value, Updated: p.Updated})
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("properties: %w", err)
	}
	return out, nil
}

// get reads and decodes one record; ok is false when it is not there.
func get[T any](db *store.DB, key []byte, decode func([]byte) (T, error)) (T, bool, error) {
	var zero T
	b, err := db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, err
	}
	v, err := decode(b)
	return v, err == nil, err
}

// scanMessages reads the first limit messages of a chat.
func scanMessages(ctx context.Context, db *store.DB, site uint32, chat uint64, limit int) ([]store.ChatMessage, error) {
	var out []store.ChatMessage
	var derr error
	err := db.ScanPrefix(ctx, store.ChatMessagePrefix(site, chat), false, limit, func(k, b []byte) bool {
		id, _ := store.IDFromKey(k)
		m, err := store.DecodeChatMessage(id, b)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, m)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// scan reads the first limit hits or events of a session range.
func scan[T any](ctx context.Context, db *store.DB, prefix []byte, limit int, decode func(session, id uint64, b []byte) (T, error)) ([]T, error) {
	var out []T
	var derr error
	err := db.ScanPrefix(ctx, prefix, false, limit, func(k, b []byte) bool {
		sid, id, _ := store.SessionItemIDs(k)
		v, err := decode(sid, id, b)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, v)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}
