package httpd

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/callbacks"
	"appliance/httpd/leads"
	"appliance/httpd/reports"
	"appliance/httpd/visitors"
	"appliance/store"
)

// visitorPage serves the visitor card in the dashboard,
// GET /sites/KEY/visitors/ID: the same visitors.Card as the reports API,
// as one time line, newest first. A list longer than the card shows says
// so and pages on: ?older=chats&at=ID is the visitor's chats from ID on
// (visits, leads, callbacks and calls alike); ?chat=ID is the card, or
// the page of the chats that starts at that chat when it is older than
// the card shows (the search's link to a chat).
type visitorPage struct {
	*dashboardHandlers
	cards *visitors.Reader
}

func (s *visitorPage) mount(r *router) {
	r.page("GET", "/sites/*/visitors/*", seeVisitors, withWho(s.visitorCard))
}

// visitorData is the card as the page shows it. Every string in it that a
// visitor or a page could have written is printed as text by the template.
type visitorData struct {
	Site      *store.Site
	Card      visitors.Card
	FirstSeen string
	LastSeen  string
	Zone      string // the zone of the card's times: the site's
	Timeline  []timelineEntry
	// Older lists what the card leaves out, a line per list; empty on
	// a page of older records.
	Older []olderList
	// Part is the list a page of older records shows ("chats"); "" on
	// the card. Page links it to its next page and back to the card.
	Part string
	Page listPage
}

// olderList is one list the card shows the latest of: how many older
// records there are and the link to them.
type olderList struct {
	Name string // sessions, leads, callbacks, calls, chats
	More int
	Link string
}

// cardLists are the lists of a card as ?older= names them, in the order
// the card announces them.
var cardLists = []struct {
	name string
	kind store.ItemKind
	more func(*visitors.Card) (int, uint64)
}{
	{"sessions", store.ItemSession, func(c *visitors.Card) (int, uint64) { return c.More.Sessions, c.Next.Sessions }},
	{"leads", store.ItemLead, func(c *visitors.Card) (int, uint64) { return c.More.Leads, c.Next.Leads }},
	{"callbacks", store.ItemCallback, func(c *visitors.Card) (int, uint64) { return c.More.Callbacks, c.Next.Callbacks }},
	{"calls", store.ItemCall, func(c *visitors.Card) (int, uint64) { return c.More.Calls, c.Next.Calls }},
	{"chats", store.ItemChat, func(c *visitors.Card) (int, uint64) { return c.More.Chats, c.Next.Chats }},
}

// cardPart reads which part of a card the query asks for: ?older=LIST
// with ?at=ID (the list from ID on; no at: from its newest), or
// ?chat=ID; the zero Part and 0 for the whole card.
func cardPart(args *fasthttp.Args) (part visitors.Part, name string, chat uint64, err error) {
	if v := args.Peek("chat"); len(v) > 0 {
		chat, err = strconv.ParseUint(string(v), 10, 64)
		if err != nil || chat == 0 {
			return part, "", 0, errorf(fasthttp.StatusBadRequest, "The address names no chat; open the visitor's card again.")
		}
		return part, "", chat, nil
	}
	v := args.Peek("older")
	if len(v) == 0 {
		return part, "", 0, nil
	}
	for _, l := range cardLists {
		if l.name == string(v) {
			part.Kind, name = l.kind, l.name
		}
	}
	if part.Kind == 0 {
		return part, "", 0, errorf(fasthttp.StatusBadRequest, "The address names no list of the card; open the visitor's card again.")
	}
	if part.At, err = pageAt(args); err != nil {
		return part, "", 0, err
	}
	return part, name, 0, nil
}

// timelineEntry is one thing the visitor did: exactly one of its pointers
// is set.
type timelineEntry struct {
	When     string // in the site's zone and the reader's language
	WhenISO  string
	at       int64
	Session  *sessionEntry
	Lead     *leadEntry
	Callback *callbackEntry
	Call     *store.Call
	Chat     *chatEntry
	// Credit is the visit the reports credit a lead, callback, call or
	// chat to when it is not the one it came in.
	Credit credit
}

// callbackEntry is a callback with staff's mark.
type callbackEntry struct {
	callbacks.View
	Status string
	Note   string
}

// credit is the visit the reports credit a lead or a callback to
// (reports.Credits.Of) when it is not the one it came in, or Direct when
// they credit none and count it as direct, though it came in a visit (a
// crawler's); the zero value when they credit the visit it came in, or
// count it with its own source or not at all (marked spam).
type credit struct {
	Session uint64
	Source  store.Source
	Direct  bool
}

// credits are where the reports credit a card's outcomes, from each
// visitor's sessions read once (a card shows many leads and calls).
type credits struct {
	reports *reports.Service
	site    uint32
	of      map[uint64]*reports.Credits // by visitor
}

// credit is the credit of an outcome of visitor, the record id stored at at
// in session, with status: the zero credit when the reports credit that
// session, or do not count it.
func (c *credits) credit(visitor, session, id uint64, at int64, status string) (credit, error) {
	if status == leads.StatusSpam {
		return credit{}, nil
	}
	v, ok := c.of[visitor]
	if !ok {
		var err error
		if v, err = c.reports.Credits(c.site, visitor); err != nil {
			return credit{}, err
		}
		c.of[visitor] = v
	}
	cr, err := v.Of(id, at, session)
	if err != nil {
		return credit{}, err
	}
	if cr.Direct && session != 0 {
		return credit{Direct: true}, nil
	}
	if cr.Session == 0 || cr.Session == session {
		return credit{}, nil
	}
	return credit{Session: cr.Session, Source: cr.Source}, nil
}

type chatEntry struct {
	visitors.Chat
	Closed   string // when it closed; "" while open
	Messages []chatLine
}

type chatLine struct {
	Time string // 15:04:05 in the site's zone; with the date past the chat's first day
	store.ChatMessage
}

type leadEntry struct {
	visitors.Lead
	Cost string // a sale's cost; "" when none
}

type sessionEntry struct {
	visitors.Session
	UTM   store.Source // its tags, as the utm-tags partial writes them
	Pages []pageRow
}

// visitorCard is GET /sites/KEY/visitors/ID.
func (s *visitorPage) visitorCard(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	id, err := parseVisitorID(string(ctx.Path()), "/sites/"+site.Key+"/visitors/")
	if err != nil {
		return errorf(fasthttp.StatusNotFound, "No such visitor: the address ends in a visitor's number.")
	}
	part, partName, chat, err := cardPart(ctx.QueryArgs())
	if err != nil {
		return err
	}
	c, err := s.cards.CardPart(ctx, site.ID, id, part)
	if err != nil {
		return err
	}
	if chat != 0 && !slices.ContainsFunc(c.Chats, func(ch visitors.Chat) bool { return ch.ID == chat }) {
		// A chat older than the card shows: the page of the chats that
		// starts at it, when it is the visitor's.
		older, err := s.cards.CardPart(ctx, site.ID, id, visitors.Part{Kind: store.ItemChat, At: chat})
		if err != nil {
			return err
		}
		if len(older.Chats) > 0 && older.Chats[0].ID == chat {
			c, part, partName = older, visitors.Part{Kind: store.ItemChat, At: chat}, "chats"
		}
	}
	path := "/sites/" + site.Key + "/visitors/" + strconv.FormatUint(id, 10)
	ck := s.clock(ctx, &who.user, site)
	d := visitorData{Site: site, Card: c, Zone: zoneLabel(ck.loc, s.now()), Part: partName,
		FirstSeen: ck.at(c.Visitor.Created), LastSeen: ck.at(c.Visitor.LastSeen)}
	for _, l := range cardLists {
		more, next := l.more(&c)
		if next == 0 {
			continue
		}
		link := path + "?older=" + l.name + "&at=" + strconv.FormatUint(next, 10)
		if part.Kind == 0 {
			d.Older = append(d.Older, olderList{Name: l.name, More: more, Link: link})
		} else {
			d.Page.Older = link
		}
	}
	if part.Kind != 0 {
		d.Page.Newest = path
	}
	for i := range c.Sessions {
		ss := &c.Sessions[i]
		e := &sessionEntry{Session: *ss, UTM: ss.Session.TrafficSource()}
		for _, h := range ss.Pages {
			e.Pages = append(e.Pages, pageRow{Time: timeSince(ck.tr, ck.loc, ss.Started, h.Time), URL: h.URL, Title: h.Title})
		}
		if len(e.ClickID) > 24 {
			e.ClickID = strings.ToValidUTF8(e.ClickID[:24], "") + "…"
		}
		d.Timeline = append(d.Timeline, entryAt(ck, ss.Started, timelineEntry{Session: e}))
	}
	credited := credits{reports: s.reports, site: site.ID, of: map[uint64]*reports.Credits{}}
	for _, l := range c.Leads {
		e := &leadEntry{Lead: l}
		cr, err := credited.credit(l.Visitor, l.Session, l.ID, l.Time, l.Status)
		if err != nil {
			return err
		}
		if l.IsSale && l.SaleCost != 0 {
			e.Cost = moneyText(ck.tr, l.SaleCost)
		}
		d.Timeline = append(d.Timeline, entryAt(ck, l.Time, timelineEntry{Lead: e, Credit: cr}))
	}
	for i := range c.Callbacks {
		cb := &c.Callbacks[i]
		e := &callbackEntry{View: callbacks.ViewOf(&cb.Callback, c.Groups), Status: cb.Status, Note: cb.Note}
		cr, err := credited.credit(cb.Visitor, cb.Session, cb.ID, cb.Time, cb.Status)
		if err != nil {
			return err
		}
		d.Timeline = append(d.Timeline, entryAt(ck, cb.Time, timelineEntry{Callback: e, Credit: cr}))
	}
	for i := range c.Calls {
		call := &c.Calls[i]
		s.shownChannel(call)
		// A call to a static number is the number's, whoever the caller
		// is: the reports credit the source stored with it.
		var cr credit
		if call.Match != store.MatchStatic && call.Match != store.MatchStaticCallerID {
			if cr, err = credited.credit(call.Visitor, call.Session, call.ID, call.Time, ""); err != nil {
				return err
			}
		}
		d.Timeline = append(d.Timeline, entryAt(ck, call.Time, timelineEntry{Call: call, Credit: cr}))
	}
	for _, ch := range c.Chats {
		e := &chatEntry{Chat: ch}
		if ch.Closed != 0 {
			e.Closed = ck.at(ch.Closed)
		}
		for _, m := range ch.Messages {
			e.Messages = append(e.Messages, chatLine{Time: timeSince(ck.tr, ck.loc, ch.Created, m.At), ChatMessage: m})
		}
		cr, err := credited.credit(ch.Visitor, ch.Session, ch.ID, ch.Created, "")
		if err != nil {
			return err
		}
		d.Timeline = append(d.Timeline, entryAt(ck, ch.Created, timelineEntry{Chat: e, Credit: cr}))
	}
	slices.SortStableFunc(d.Timeline, func(a, b timelineEntry) int { return cmp.Compare(b.at, a.at) })
	title := ck.tr.T("Visitor #%d", id) + " · " + site.Name
	return s.renderSite(ctx, who, site, "visitor", view{Title: title, User: &who.user, CSRF: who.session.CSRF, Data: d})
}

func entryAt(ck clock, ms int64, e timelineEntry) timelineEntry {
	e.at, e.When, e.WhenISO = ms, ck.at(ms), time.UnixMilli(ms).In(ck.loc).Format(time.RFC3339)
	return e
}
