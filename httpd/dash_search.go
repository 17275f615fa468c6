package httpd

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"appliance/httpd/callbacks"
	"appliance/httpd/i18n"
	"appliance/httpd/leads"
	"appliance/httpd/search"
	"appliance/store"
)

// searchPage serves a site's search, GET /sites/KEY/search?q=: everything
// the site holds on one person (httpd/search), by kind, each row linking to
// the visitor's card and to its place in its own list.
//
// It needs seeReports: it shows leads and calls, which an operator does not
// see (an operator finds a caller through the callbacks list's phone filter
// and the visitor cards it links to).
type searchPage struct {
	*dashboardHandlers
	search *search.Searcher
}

func (s *searchPage) mount(r *router) {
	r.page("GET", "/sites/*/search", seeReports, withWho(s.searchSite))
}

// searchData is the search page's data. Every string in it that a visitor
// or a page wrote is printed as text by the template.
type searchData struct {
	Site      *store.Site
	Query     string // as typed
	Searched  bool   // a query was given
	Total     int
	Leads     searchKind[searchLead]
	Callbacks searchKind[searchCallback]
	Calls     searchKind[searchCall]
	Chats     searchKind[searchChat]
	Visitors  searchKind[searchVisitor]
	Zone      string
	Limit     int
}

// searchKind is one kind's rows and how many matched.
type searchKind[T any] struct {
	Rows  []T
	Total int
	Cut   bool // more matched than are shown
}

func kindOf[T, R any](f search.Found[T], row func(*T) R) searchKind[R] {
	k := searchKind[R]{Total: f.Total, Cut: f.Cut()}
	for i := range f.Shown {
		k.Rows = append(k.Rows, row(&f.Shown[i]))
	}
	return k
}

type searchLead struct {
	leads.View
	Time string
	Row  string // the lead in the leads list
}

type searchCallback struct {
	callbacks.View
	Time string
	Row  string
}

type searchCall struct {
	store.Call
	Time string
	Row  string
}

type searchVisitor struct {
	search.Visitor
	LastSeen string
	Why      []string // why the search found them, in the reader's words
}

// visitorReasons are the words that say each way a search finds a
// visitor (search.Why), in the order a row lists them. A way that says
// less than another of the same row is left out (whyCovered).
var visitorReasons = []struct {
	by   search.Why
	text string
}{
	{search.ByContacts, "their contacts match"},
	{search.ByID, "by the visitor's number"},
	{search.ByLeadPhone, "by a lead's phone"},
	{search.ByLeadEmail, "by a lead's email"},
	{search.ByLead, "by a lead"},
	{search.ByCallbackPhone, "by a callback's phone"},
	{search.ByCallback, "by a callback"},
	{search.ByCallPhone, "by a call's number"},
	{search.ByCall, "by a call"},
	{search.ByPhoneIndex, "left this number last"},
	{search.ByEmailIndex, "left this email"},
}

// whyCovered are the ways that say nothing more when another is there:
// the phone index names who left the number in a lead or a callback, or
// gave it as a contact, and the email index who gave the email.
var whyCovered = map[search.Why]search.Why{
	search.ByPhoneIndex: search.ByContacts | search.ByLeadPhone | search.ByCallbackPhone,
	search.ByEmailIndex: search.ByContacts | search.ByLeadEmail,
}

// whyWords is why, said in tr's language.
func whyWords(tr i18n.Printer, why search.Why) []string {
	var out []string
	for _, r := range visitorReasons {
		if why&r.by != 0 && why&whyCovered[r.by] == 0 {
			out = append(out, tr.T(r.text))
		}
	}
	return out
}

// searchChat is a chat found, with the latest of its messages that
// matched (Said.Match set apart, the rest around it cut to a line) when
// its words were what matched.
type searchChat struct {
	search.Chat
	Time    string
	Link    string // the chat on its visitor's card
	Said    search.Marked
	SaidAt  string
	Matched bool   // a message matched
	Tel     string // the match is the phone number searched for (E.164 digits): shown as a tel: link
	More    int    // how many other messages of the chat matched
}

// rowLink is the list page of a record (leads, callbacks, calls) opened
// at it: the page of records from it on, scrolled to its row.
func rowLink(list, anchor string, id uint64) string {
	n := strconv.FormatUint(id, 10)
	return list + "?at=" + n + "#" + anchor + "-" + n
}

// searchSite is GET /sites/KEY/search?q=.
func (s *searchPage) searchSite(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	raw := string(ctx.QueryArgs().Peek("q"))
	q, err := search.Parse(raw, site.Region(s.phoneRegion))
	if err != nil {
		return err
	}
	c := s.clock(ctx, &who.user, site)
	d := searchData{Site: site, Query: q.Raw, Searched: !q.Empty(), Zone: zoneLabel(c.loc, s.now()), Limit: search.DefaultLimit}
	r, err := s.search.Search(ctx, site.ID, q, search.DefaultLimit)
	if err != nil {
		return err
	}
	groups, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return err
	}
	d.Total = r.Total()
	d.Leads = kindOf(r.Leads, func(l *store.Lead) searchLead {
		return searchLead{View: leads.ViewOf(l), Time: c.at(l.Time), Row: rowLink("leads", "lead", l.ID)}
	})
	d.Callbacks = kindOf(r.Callbacks, func(cb *store.Callback) searchCallback {
		return searchCallback{View: callbacks.ViewOf(cb, groups.Groups), Time: c.at(cb.Time), Row: rowLink("callbacks", "callback", cb.ID)}
	})
	d.Calls = kindOf(r.Calls, func(call *store.Call) searchCall {
		s.shownChannel(call)
		return searchCall{Call: *call, Time: c.at(call.Time), Row: rowLink("calls", "call", call.ID)}
	})
	d.Chats = kindOf(r.Chats, func(ch *search.Chat) searchChat {
		row := searchChat{Chat: *ch, Time: c.at(ch.Created)}
		if ch.Visitor != 0 {
			// ?chat= lands on the page of the card that shows the chat,
			// however old (visitorCard).
			n := strconv.FormatUint(ch.ID, 10)
			row.Link = "visitors/" + strconv.FormatUint(ch.Visitor, 10) + "?chat=" + n + "#chat-" + n
		}
		if ch.Matches > 0 {
			row.Said, row.Matched = q.Mark(ch.Message.Text)
			row.SaidAt, row.More = c.at(ch.Message.At), ch.Matches-1
			row.Tel = q.Phone
		}
		return row
	})
	d.Visitors = kindOf(r.Visitors, func(v *search.Visitor) searchVisitor {
		return searchVisitor{Visitor: *v, LastSeen: c.at(v.LastSeen), Why: whyWords(c.tr, v.Why)}
	})
	nav, err := s.siteNav(ctx, who, site, "search")
	if err != nil {
		return err
	}
	nav.Query = q.Raw
	title := c.tr.T("Search results") + " · " + site.Name
	return s.pages.render(ctx, fasthttp.StatusOK, "search", view{Title: title, User: &who.user, CSRF: who.session.CSRF, Nav: nav, Data: d})
}
