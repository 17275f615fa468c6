// Package notice tells people what happened on their sites: a lead, a
// callback request, a call or a finished chat, as a short message in the
// reader's language with a link to it on the dashboard, by email (an SMTP
// server the operator configures, serve --smtp; plain text with the same
// as HTML for its alternative) or in a Telegram chat (a bot the site's
// owner makes; the plain text).
//
// An email address or a Telegram chat is a webhook endpoint of its own
// ("mailto:" and "telegram:" URLs, package webhooks): its deliveries are
// queued in the same write as the lead, tried again with the same backoff,
// and logged on the same page. This package only turns one delivery's body
// (the webhook's JSON) into a message (Writer) and hands it over. The SMTP
// server is the operator's own configuration, like the data directory, so
// it is not held to the outbound policy that keeps the dashboard's users'
// URLs off private networks: a relay on localhost is the usual set-up. The
// Telegram API is reached through that policy's client like any webhook.
package notice

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"appliance/httpd/i18n"
)

// Site is what a message says of the site an event is of: its name, the
// zone its times are written in, and whether it is still there.
type Site func(key string) (name string, loc *time.Location, ok bool)

// Writer writes the messages: in the catalog's words, about the sites Site
// tells of, with links under PublicURL (the dashboard's base URL, ending
// in "/").
type Writer struct {
	Catalog   *i18n.Catalog
	Site      Site
	PublicURL string
}

// Compose is the subject and text of one delivery's body (the webhook's
// JSON) in lang.
func (w Writer) Compose(lang i18n.Lang, body []byte) (subject, text string, err error) {
	n, err := w.note(lang, body)
	if err != nil {
		return "", "", err
	}
	return n.Subject, n.text(), nil
}

// ComposeMail is Compose with the same content as an HTML page too, for
// an email's text/html alternative.
func (w Writer) ComposeMail(lang i18n.Lang, body []byte) (subject, text, html string, err error) {
	n, err := w.note(lang, body)
	if err != nil {
		return "", "", "", err
	}
	html, err = RenderHTML(noteTemplate, n)
	if err != nil {
		return "", "", "", err
	}
	return n.Subject, n.text(), html, nil
}

func (w Writer) note(lang i18n.Lang, body []byte) (*note, error) {
	var ev envelope
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	name, loc, ok := w.Site(ev.SiteKey)
	if !ok {
		name, loc = ev.SiteKey, time.UTC
	}
	return compose(w.Catalog.For(lang), &ev, name, loc, w.PublicURL), nil
}

// envelope is a webhook delivery's body (webhooks.payload).
type envelope struct {
	Event     string         `json:"event"`
	ID        uint64         `json:"id"`
	SiteKey   string         `json:"site_key"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

// oneLine is s with every run of control characters and spaces made one
// space, cut to at most max runes.
func oneLine(s string, max int) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	s = strings.Join(f, " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// clean is a visitor's text for the message's body: its lines kept, other
// control characters shown as U+FFFD (a terminal escape in a mail client's
// plain-text view is no more than a character), and so are the Unicode
// bidi controls, as the dashboard's pages show them (showBidiControls):
// obeyed, they would reorder what the reader sees, a name pulling the
// rest of the subject after it, a phone's digits shown in another order
// to whoever calls it back.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) && !isBidiControl(r) {
			return r
		}
		return '\uFFFD'
	}, strings.ReplaceAll(s, "\r\n", "\n"))
}

// ShowBidi is s with every Unicode bidi control shown as U+FFFD, for a
// visitor's words in an email that does not go through clean (a report
// digest's source names) and in a download (the dashboard's CSV cells).
func ShowBidi(s string) string {
	return strings.Map(func(r rune) rune {
		if isBidiControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// isBidiControl reports whether r is a Unicode bidi control: the marks
// (U+200E, U+200F, the Arabic letter mark U+061C), embeddings and
// overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
func isBidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// compose writes ev as a note.
func compose(p i18n.Printer, ev *envelope, site string, loc *time.Location, base string) *note {
	d := ev.Data
	n := &note{Lang: string(p.Lang), gap: "\n\n"}
	when := ev.CreatedAt.In(loc).Format("02.01.2006 15:04") + " (" + zoneName(loc, ev.CreatedAt) + ")"
	link, linkText := "", ""
	switch ev.Event {
	case "lead":
		who := firstOf(str(d, "name"), str(d, "phone_raw"), str(d, "email_raw"), str(d, "message"))
		n.Subject = p.T("Lead from %s: %s", site, oneLine(clean(who), 80))
		n.Intro = p.T("A lead on %s.", site)
		n.add(p.T("Visitor's name"), str(d, "name"), "")
		n.add(p.T("Phone"), typed(str(d, "phone_raw"), str(d, "phone"), d["phone_unparsed"] == true, p), tel(str(d, "phone"), d["phone_unparsed"] == true))
		n.add(p.T("Email"), typed(str(d, "email_raw"), str(d, "email"), d["email_unparsed"] == true, p), mailto(str(d, "email"), d["email_unparsed"] == true))
		n.add(p.T("Message"), str(d, "message"), "")
		n.add(p.T("Form"), str(d, "form_name"), "")
		if d["is_sale"] == true {
			n.add(p.T("Sale"), firstOf(str(d, "sale_cost"), p.T("yes")), "")
		}
		link, linkText = "leads#lead-"+strconv.FormatUint(ev.ID, 10), p.T("Open the lead")
	case "callback":
		n.Subject = p.T("Callback request from %s: %s", site, oneLine(clean(str(d, "phone_raw")), 40))
		n.Intro = p.T("A visitor on %s asks to be called back.", site)
		n.add(p.T("Phone"), typed(str(d, "phone_raw"), str(d, "phone"), d["phone_unparsed"] == true, p), tel(str(d, "phone"), d["phone_unparsed"] == true))
		n.add(p.T("Group"), str(d, "group_name"), "")
		if at := str(d, "delayed_call_time"); at != "" {
			if tm, err := time.Parse(time.RFC3339, at); err == nil {
				n.add(p.T("Call at"), tm.In(loc).Format("02.01.2006 15:04"), "")
			}
		}
		link, linkText = "callbacks#callback-"+strconv.FormatUint(ev.ID, 10), p.T("Open the callback request")
	case "call":
		caller := plus(str(d, "caller"))
		href := tel(str(d, "caller"), false)
		if typed := oneLine(clean(str(d, "caller_typed")), 80); caller == "" && typed != "" {
			caller = typed + " (" + p.T("as typed") + ")" // anonymous, an extension, a SIP address
		}
		caller = firstOf(caller, p.T("hidden number"))
		n.Subject = p.T("Call to %s from %s", site, caller)
		n.Intro = p.T("A call to %s.", site)
		n.add(p.T("Caller"), caller, href)
		called := plus(str(d, "called"))
		if ext := oneLine(clean(str(d, "called_ext")), 20); ext != "" {
			called += ", " + p.T("ext. %s", ext)
		}
		n.add(p.T("Called"), called, tel(str(d, "called"), false))
		if v, ok := d["duration"].(float64); ok {
			n.add(p.T("Duration"), p.N("%d second", int(v)), "")
		}
		if d["answered"] == false {
			n.add(p.T("Answered"), p.T("no"), "")
		}
		n.add(p.T("Recording"), str(d, "recording_url"), web(str(d, "recording_url")))
		link, linkText = "calls", p.T("Open the calls")
	case "chat":
		n.Subject = p.T("Chat on %s", site)
		n.Intro = p.T("A chat on %s has ended.", site)
		n.add(p.T("Operator"), str(d, "assigned"), "")
		if msgs, ok := d["messages"].([]any); ok {
			var tr strings.Builder
			for _, x := range msgs {
				if mm, ok := x.(map[string]any); ok {
					who := str(mm, "name")
					if who == "" && str(mm, "from") == "visitor" {
						who = p.T("Visitor")
					}
					tr.WriteString(firstOf(who, str(mm, "from")) + ": " + str(mm, "text") + "\n")
				}
			}
			n.add(p.T("Transcript"), tr.String(), "")
		}
		link, linkText = "chat", p.T("Open the chats")
	case "test":
		n.Subject = p.T("Test notification from %s", site)
		n.Intro, n.gap = p.T("This is a test: the notifications of %s reach this address.", site), "\n"
	default:
		// A kind this version has no words for (a newer one's, queued
		// before a downgrade): said in words, its name as data.
		n.Subject = p.T("New event on %s", site)
		n.Intro = p.T("An event on %s.", site)
		n.add(p.T("Event"), oneLine(clean(ev.Event), 80), "")
	}
	n.add(p.T("Page"), firstOf(str(d, "page_url"), str(d, "page")), "")
	if src, ok := d["source"].(map[string]any); ok {
		n.add(p.T("Source"), sourceText(p, src), "")
	}
	n.add(p.T("Time"), when, "")
	if base != "" && ev.SiteKey != "" {
		n.dashboard = true
		if link != "" {
			n.Links = append(n.Links, noteLink{p.T("Open"), linkText, base + "sites/" + url.PathEscape(ev.SiteKey) + "/" + link})
		}
		if v, ok := d["visitor_id"].(float64); ok && v > 0 {
			n.Links = append(n.Links, noteLink{p.T("Visitor"), p.T("The visitor's card"), base + "sites/" + url.PathEscape(ev.SiteKey) + "/visitors/" + strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	n.Footer = p.T("Sent by the appliance: this address is one of the site's notification endpoints (Webhooks page).")
	return n
}

// typed is a phone or email as the visitor typed it, with its normal form
// when that differs, or a flag when it is none.
func typed(raw, norm string, unparsed bool, p i18n.Printer) string {
	switch {
	case unparsed:
		return raw + " (" + p.T("as typed") + ")"
	case raw == "" || norm == "" || strings.Contains(raw, norm):
		return firstOf(raw, norm)
	}
	if !strings.Contains(norm, "@") {
		norm = "+" + norm
	}
	return raw + " (" + norm + ")"
}

func plus(digits string) string {
	if digits == "" {
		return ""
	}
	return "+" + digits
}

// sourceText is a traffic source in one line: its channel in the
// reader's words, then its utm tags and referrer.
func sourceText(p i18n.Printer, s map[string]any) string {
	var parts []string
	if ch := str(s, "channel"); ch != "" {
		parts = append(parts, p.T(ch))
	}
	for _, k := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "referrer"} {
		if v := oneLine(clean(str(s, k)), 200); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " / ")
}

func zoneName(loc *time.Location, t time.Time) string {
	if n := loc.String(); n != "" && n != "Local" {
		return n
	}
	n, _ := t.In(loc).Zone()
	return n
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func firstOf(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
