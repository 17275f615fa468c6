package httpd

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/callbacks"
	"appliance/httpd/visitors"
	"appliance/store"
)

// visitorPage serves the visitor card in the dashboard,
// GET /sites/KEY/visitors/ID: the same visitors.Card as the reports API,
// as one time line, newest first.
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
	More      visitors.More
}

// timelineEntry is one thing the visitor did: exactly one of its pointers
// is set.
type timelineEntry struct {
	When     string // in the site's zone and the reader's language
	WhenISO  string
	at       int64
	Session  *sessionEntry
	Lead     *leadEntry
	Callback *callbacks.View
	Call     *store.Call
	Chat     *chatEntry
}

type chatEntry struct {
	visitors.Chat
	Closed   string // when it closed; "" while open
	Messages []chatLine
}

type chatLine struct {
	Time string // 15:04:05 in the site's zone
	store.ChatMessage
}

type leadEntry struct {
	visitors.Lead
	Cost string // a sale's cost; "" when none
}

type sessionEntry struct {
	visitors.Session
	UTM   []string
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
	c, err := s.cards.Card(ctx, site.ID, id)
	if err != nil {
		return err
	}
	ck := s.clock(ctx, &who.user, site)
	clockAt := func(ms int64) string { return time.UnixMilli(ms).In(ck.loc).Format(time.TimeOnly) }
	d := visitorData{Site: site, Card: c, More: c.More, Zone: zoneLabel(ck.loc, s.now()),
		FirstSeen: ck.at(c.Visitor.Created), LastSeen: ck.at(c.Visitor.LastSeen)}
	for i := range c.Sessions {
		ss := &c.Sessions[i]
		e := &sessionEntry{Session: *ss, UTM: utmTags(ck.tr, &ss.Session)}
		for _, h := range ss.Pages {
			e.Pages = append(e.Pages, pageRow{Time: clockAt(h.Time), URL: h.URL, Title: h.Title})
		}
		if len(e.ClickID) > 24 {
			e.ClickID = strings.ToValidUTF8(e.ClickID[:24], "") + "…"
		}
		d.Timeline = append(d.Timeline, entryAt(ck, ss.Started, timelineEntry{Session: e}))
	}
	for _, l := range c.Leads {
		e := &leadEntry{Lead: l}
		if l.IsSale && l.SaleCost != 0 {
			e.Cost = moneyText(ck.tr, l.SaleCost)
		}
		d.Timeline = append(d.Timeline, entryAt(ck, l.Time, timelineEntry{Lead: e}))
	}
	for i := range c.Callbacks {
		v := callbacks.ViewOf(&c.Callbacks[i], c.Groups)
		d.Timeline = append(d.Timeline, entryAt(ck, c.Callbacks[i].Time, timelineEntry{Callback: &v}))
	}
	for i := range c.Calls {
		s.shownChannel(&c.Calls[i])
		d.Timeline = append(d.Timeline, entryAt(ck, c.Calls[i].Time, timelineEntry{Call: &c.Calls[i]}))
	}
	for _, ch := range c.Chats {
		e := &chatEntry{Chat: ch}
		if ch.Closed != 0 {
			e.Closed = ck.at(ch.Closed)
		}
		for _, m := range ch.Messages {
			e.Messages = append(e.Messages, chatLine{Time: clockAt(m.At), ChatMessage: m})
		}
		d.Timeline = append(d.Timeline, entryAt(ck, ch.Created, timelineEntry{Chat: e}))
	}
	slices.SortStableFunc(d.Timeline, func(a, b timelineEntry) int { return cmp.Compare(b.at, a.at) })
	title := ck.tr.T("Visitor #%d", id) + " · " + site.Name
	return s.renderSite(ctx, who, site, "visitor", view{Title: title, User: &who.user, CSRF: who.session.CSRF, Data: d})
}

func entryAt(ck clock, ms int64, e timelineEntry) timelineEntry {
	e.at, e.When, e.WhenISO = ms, ck.at(ms), time.UnixMilli(ms).In(ck.loc).Format(time.RFC3339)
	return e
}
