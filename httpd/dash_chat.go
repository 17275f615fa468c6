package httpd

import (
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/visits"
	"appliance/store"
)

// The operator console (assets/dashboard/chat.html and console.js): the
// page is static, everything live comes over the console socket of
// httpd/chat-protocol.md; the visitor's journey beside a chat comes from
// GET /chat/visitor.

type chatConsoleData struct {
	Name string // the operator's name as visitors see it
	Lang string // "ru" or "en": the console's language
}

// chatConsole is GET /chat: the operator console, in the dashboard's
// language.
func (s *dashboardHandlers) chatConsole(ctx *fasthttp.RequestCtx, who signedIn) error {
	name, _, _ := strings.Cut(who.user.Email, "@")
	lang := string(langOf(ctx, &who.user)) // the dashboard's language (pages.go)
	return s.pages.render(ctx, fasthttp.StatusOK, "chat", view{Title: "Chat", User: &who.user, CSRF: who.session.CSRF,
		Data: chatConsoleData{Name: name, Lang: lang}})
}

// journeyPage is one page view of a journey.
type journeyPage struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	At    int64  `json:"at"` // Unix ms
}

// journey is what the console shows beside a chat: the visitor's session
// now (source, pages, time on site) and the contact they left.
type journey struct {
	Visitor uint64        `json:"visitor"`
	Session uint64        `json:"session"`
	Started int64         `json:"started"` // Unix ms of the session's first page view
	Source  store.Source  `json:"source"`
	Pages   []journeyPage `json:"pages"`
	Name    string        `json:"name"`
	Phones  []string      `json:"phones"`
	Emails  []string      `json:"emails"`
}

// chatVisitor is GET /chat/visitor?site=KEY&visitor=ID&session=ID: the
// journey of a visitor the console shows, as JSON. The session must be
// the visitor's on that site.
func (s *dashboardHandlers) chatVisitor(ctx *fasthttp.RequestCtx, who signedIn) error {
	q := ctx.QueryArgs()
	site, err := s.sites.ByKey(string(q.Peek("site")))
	if err != nil {
		return errorf(fasthttp.StatusNotFound, "no such site")
	}
	visitor, err1 := visits.ParseID(string(q.Peek("visitor")))
	session, err2 := visits.ParseID(string(q.Peek("session")))
	if err1 != nil || err2 != nil {
		return errorf(fasthttp.StatusBadRequest, "visitor and session must be ids (positive integers)")
	}
	v, err := s.visits.Visit(ctx, site.ID, session)
	if errors.Is(err, visits.ErrNoSession) || err == nil && v.Session.Visitor != visitor {
		return errorf(fasthttp.StatusNotFound, "no such session of this visitor")
	}
	if err != nil {
		return err
	}
	j := journey{Visitor: visitor, Session: session, Started: v.Session.Started, Source: v.Session.TrafficSource(),
		Pages: make([]journeyPage, 0, len(v.Pages)), Name: v.Visitor.Name, Phones: v.Visitor.Phones, Emails: v.Visitor.Emails}
	for _, p := range v.Pages {
		j.Pages = append(j.Pages, journeyPage{URL: p.URL, Title: p.Title, At: p.Time})
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": j})
	return nil
}
