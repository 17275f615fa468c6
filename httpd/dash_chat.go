package httpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
	"appliance/httpd/i18n"
	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
)

// The operator console (assets/dashboard/chat.html and console.js): the
// page is static, everything live comes over the console socket of
// httpd/chat-protocol.md; the visitor's journey beside a chat comes from
// GET /chat/visitor.

type chatConsoleData struct {
	Name   string // the operator's name as visitors see it
	Text   string // consoleText in the dashboard's language, as JSON
	Manage bool   // may transfer any open chat (moveChats), not only their own
	// Chat is the chat the address names (?chat=ID), which the console
	// opens once it is connected; 0 for none.
	Chat uint64
	// Found: the Chat is a chat of one of the sites (open or ended).
	Found bool
	// Transcript is where the reader sees the Chat's messages when the
	// console does not show it (it ended): its transcript on the chat
	// page, or for a role without reports its visitor's card; "" when
	// neither (no such chat).
	Transcript string
}

// chatConsole is GET /chat[?chat=ID]: the operator console, in the
// dashboard's language; with ?chat=ID (the visitor card's and the chat
// page's link, and the console's own address of the chat it shows) it
// opens that chat.
func (s *dashboardHandlers) chatConsole(ctx *fasthttp.RequestCtx, who signedIn) error {
	id, err := chatParam(ctx.QueryArgs())
	if err != nil {
		return errorf(fasthttp.StatusBadRequest, "The address names no chat; open the console from the menu.")
	}
	name, _, _ := strings.Cut(who.user.Email, "@")
	text, err := json.Marshal(consoleText(s.pages.printer(ctx, &who.user)))
	if err != nil {
		return err
	}
	d := chatConsoleData{Name: name, Text: string(text), Manage: moveChats.allows(who.user.Role), Chat: id}
	if id != 0 {
		if err := s.consoleChat(&d, who.user.Role); err != nil {
			return err
		}
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "chat", view{Title: "Chat", User: &who.user, CSRF: who.session.CSRF, Data: d})
}

// consoleChat finds d.Chat among the sites, and where a reader of role
// reads it when the console does not show it.
func (s *dashboardHandlers) consoleChat(d *chatConsoleData, role string) error {
	for _, site := range s.sites.List() {
		c, err := s.chats.Chat(site.ID, d.Chat)
		if errors.Is(err, chats.ErrNoChat) {
			continue
		}
		if err != nil {
			return err
		}
		d.Found = true
		switch {
		case seeReports.allows(role):
			d.Transcript = fmt.Sprintf("/sites/%s/chat?chat=%d#chat-%d", site.Key, c.ID, c.ID)
		case seeVisitors.allows(role):
			d.Transcript = fmt.Sprintf("/sites/%s/visitors/%d?chat=%d#chat-%d", site.Key, c.Visitor, c.ID, c.ID)
		}
		return nil
	}
	return nil
}

// chatWaiting is GET /chat/waiting: how many open chats wait for this
// operator's answer (not those a colleague online has taken: chats.Waiting),
// and the menu's words for it, which the dashboard's other pages show
// beside "Chat" (dashboard.js): an operator away from the console learns
// that visitors wrote, as the console would tell them.
func (s *dashboardHandlers) chatWaiting(ctx *fasthttp.RequestCtx, who signedIn) error {
	var ids []uint32
	for _, site := range s.sites.List() {
		ids = append(ids, site.ID)
	}
	n, err := s.chats.Waiting(ctx, ids, who.user.Email)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": map[string]any{
		"waiting": n, "label": s.pages.printer(ctx, &who.user).N("%d chat waits for an answer", n)}})
	return nil
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
	// The visitor's earlier sessions, calls and leads, newest first, as
	// the console prints them: times in the site's zone and the reader's
	// language, words translated.
	Sessions []journeySession `json:"sessions"`
	Calls    []journeyCall    `json:"calls"`
	Leads    []journeyLead    `json:"leads"`
}

type journeySession struct {
	ID          uint64 `json:"id"`
	When        string `json:"when"`
	Channel     string `json:"channel"`
	UTMCampaign string `json:"utm_campaign"`
	Landing     string `json:"landing"`
}

type journeyCall struct {
	When   string `json:"when"`
	Caller string `json:"caller"` // formatted number
	Status string `json:"status"` // "Answered" or "Missed", translated
}

type journeyLead struct {
	When    string `json:"when"`
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Email   string `json:"email"`
	Message string `json:"message"`
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
	if err := s.journeyHistory(ctx, &who, site, &j); err != nil {
		return err
	}
	// The session's channel and the contacts' phones as the earlier
	// sessions and the calls beside them are written: in the reader's
	// words, the numbers as people write them.
	j.Source.Channel = s.pages.printer(ctx, &who.user).T(j.Source.Channel)
	phones := make([]string, len(j.Phones))
	for i, p := range j.Phones {
		phones[i] = numbers.FormatPhone(p, s.phoneRegion)
	}
	j.Phones = phones
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": j})
	return nil
}

// journeyHistory fills j's earlier sessions, calls and leads (and the
// contacts, when the session's visitor record has none) from the
// visitor's card.
func (s *dashboardHandlers) journeyHistory(ctx *fasthttp.RequestCtx, who *signedIn, site *store.Site, j *journey) error {
	j.Sessions, j.Calls, j.Leads = []journeySession{}, []journeyCall{}, []journeyLead{}
	c, err := s.cards.Card(ctx, site.ID, j.Visitor)
	if err != nil {
		return fmt.Errorf("visitor card %d: %w", j.Visitor, err)
	}
	clk := s.clock(ctx, &who.user, site)
	if j.Name == "" && len(j.Phones) == 0 && len(j.Emails) == 0 {
		j.Name, j.Phones, j.Emails = c.Visitor.Name, c.Visitor.Phones, c.Visitor.Emails
	}
	for i := range c.Sessions {
		se := &c.Sessions[i]
		if se.ID == j.Session {
			continue
		}
		src := se.TrafficSource()
		j.Sessions = append(j.Sessions, journeySession{ID: se.ID, When: clk.at(se.Started), Channel: clk.tr.T(src.Channel),
			UTMCampaign: src.UTMCampaign, Landing: src.Landing})
	}
	for i := range c.Calls {
		call := &c.Calls[i]
		status := clk.tr.T("call missed")
		if call.Answered {
			status = clk.tr.T("call answered")
		}
		caller := call.CallerTyped
		switch {
		case call.Caller != "":
			caller = numbers.FormatPhone(call.Caller, s.phoneRegion)
		case caller == "":
			caller = clk.tr.T("hidden")
		}
		j.Calls = append(j.Calls, journeyCall{When: clk.at(call.Time), Caller: caller, Status: status})
	}
	for i := range c.Leads {
		l := &c.Leads[i].Lead
		phone := l.PhoneRaw
		if l.Phone != "" {
			phone = numbers.FormatPhone(l.Phone, s.phoneRegion)
		}
		email := l.Email
		if email == "" {
			email = l.EmailRaw
		}
		j.Leads = append(j.Leads, journeyLead{When: clk.at(l.Time), Name: l.Name, Phone: phone, Email: email, Message: l.Message})
	}
	return nil
}

// consoleText is what the operator console (console.js) writes, in the
// reader's language: the page hands it to the script as JSON (the console
// element's data-text), so the console's texts live in the catalog with
// the rest of the dashboard's.
func consoleText(tr i18n.Printer) map[string]any {
	return map[string]any{
		"chats":             tr.T("Chats"),
		"visitors":          tr.T("On the site now"),
		"operators":         tr.T("Operators"),
		"journey":           tr.T("Visitor"),
		"online":            tr.T("Online"),
		"connecting":        tr.T("Connecting…"),
		"connected":         tr.T("Connected"),
		"lost":              tr.T("Connection lost, reconnecting…"),
		"signedOut":         tr.T("You are signed out: sign in again and the console reconnects by itself."),
		"signIn":            tr.T("Sign in"),
		"idle":              tr.T("Offline for visitors: nothing was done here for a long time. Move the mouse or press a key to be online."),
		"empty":             tr.T("Pick a chat or a visitor in the lists. New chats appear under Chats as visitors write."),
		"noChats":           tr.T("No open chats."),
		"noVisitors":        tr.T("No visitors on the site right now."),
		"visitor":           tr.T("Visitor"),
		"visitorNo":         tr.T("Visitor #%d"), // %d: the visitor's number, put in by the console
		"chat":              tr.T("Chat"),
		"unassigned":        tr.T("nobody answers yet"),
		"assignedTo":        tr.T("taken by %s"),
		"assignedToMe":      tr.T("taken by you"),
		"you":               tr.T("you"),
		"claim":             tr.T("Take this chat"),
		"close":             tr.T("End chat"),
		"transfer":          tr.T("Transfer to…"),
		"noColleague":       tr.T("No colleague online"),
		"release":           tr.T("Release"),
		"releaseHint":       tr.T("Return the chat to the queue: whoever answers first takes it"),
		"transferred":       tr.T("%s transferred the chat to %s"),
		"released":          tr.T("%s returned the chat to the queue"),
		"transferredToYou":  tr.T("A chat was transferred to you"),
		"releasedNews":      tr.T("A chat is back in the queue"),
		"colleagueHas":      tr.T("%s answers this chat"),
		"send":              tr.T("Send"),
		"invite":            tr.T("Start a chat"),
		"inviteSend":        tr.T("Invite"),
		"hint":              tr.T("Enter sends, Shift+Enter starts a new line"),
		"canned":            tr.T("Canned reply…"),
		"placeholder":       tr.T("Write a reply…"),
		"invitePlaceholder": tr.T("Write the first message of the invitation…"),
		"typing":            tr.T("The visitor is typing…"),
		"colleagueTyping":   tr.T("%s is writing a reply…"),
		"sending":           tr.T("Sending"),
		"sent":              tr.T("Sent"),
		"delivered":         tr.T("Delivered"),
		"read":              tr.T("Read"),
		"failed":            tr.T("Not sent"),
		"closed":            tr.T("This chat has ended."),
		"ended":             tr.T("Chat #%d has ended and is no longer in the console."),
		"noSuchChat":        tr.T("There is no chat #%d."),
		"transcript":        tr.T("Read its transcript"),
		"note":              tr.T("Note"),
		"lead":              tr.T("This chat became a lead."),
		"newChat":           tr.T("New chat"),
		"newMessage":        tr.T("New message"),
		"source":            tr.T("Source"),
		"campaign":          tr.T("Campaign"),
		"utm":               tr.T("UTM tags"),
		"medium":            tr.T("Medium"),
		"term":              tr.T("Term"),
		"content":           tr.T("Content"),
		"page":              tr.T("Page now"),
		"title":             tr.T("Title"),
		"began":             tr.T("Chat began on"),
		"onSite":            tr.T("On the site"),
		"pages":             tr.T("Pages of this session"),
		"earlier":           tr.T("Earlier sessions"),
		"calls":             tr.T("Calls"),
		"leads":             tr.T("Leads"),
		"contact":           tr.T("Contacts"),
		"none":              tr.T("none"),
		"minutes":           tr.T("%d min"),
		"loading":           tr.T("Loading…"),
		"noJourney":         tr.T("Nothing recorded about this visitor yet."),
		"status_online":     tr.T("online"),
		"status_away":       tr.T("away"),
		"status_offline":    tr.T("offline"),
		"errors": map[string]string{
			"assigned":         tr.T("Another operator has this chat."),
			"chat_closed":      tr.T("This chat has ended."),
			"too_many_chats":   tr.T("This visitor already has an open chat."),
			"bad_text":         tr.T("The message is empty or too long."),
			"rate_limit":       tr.T("Too many messages; wait a moment."),
			"no_chat":          tr.T("That chat is gone."),
			"server_error":     tr.T("The server could not store it; try again."),
			"chat_full":        tr.T("This chat is too long to go on: end it and start a new one."),
			"operator_offline": tr.T("That colleague is not online now: the chat stays where it was."),
			"bad_frame":        tr.T("The console and the server did not understand each other; reload the page."),
			"too_large":        tr.T("The console and the server did not understand each other; reload the page."),
			"hello_required":   tr.T("The console and the server did not understand each other; reload the page."),
			"signed_out":       tr.T("You are signed out: sign in again and the console reconnects by itself."),
		},
	}
}
