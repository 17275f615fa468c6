package notice

import (
	_ "embed"
	"html/template"
	"net/url"
	"strings"
)

// A note is one notification's content, written once and rendered twice:
// as the plain text of Telegram and of an email's first part, and as the
// HTML of the email's text/html alternative. Both say the same.
type note struct {
	Lang    string // the reader's: <html lang>
	Subject string
	Intro   string
	Fields  []noteField
	Links   []noteLink // to the event on the dashboard
	Footer  string

	gap       string // after the intro in the text
	dashboard bool   // a dashboard URL is known: the text has a blank line before the links
}

// noteField is one labelled value; Href, when set, makes it a link in the
// HTML (a tel:, mailto: or http(s) URL that tel, mailto or web made).
type noteField struct {
	Label string
	Value string
	Href  template.URL
}

// Lines is the value's lines, each written as its own line of the HTML.
func (f noteField) Lines() []string { return strings.Split(f.Value, "\n") }

// noteLink is a link to the dashboard: "Label: URL" in the text, a button
// saying Text in the HTML.
type noteLink struct {
	Label, Text, URL string
}

// add adds a field of v, a visitor's words as they came (clean): none
// when v is blank.
func (n *note) add(label, v string, href template.URL) {
	if v = strings.TrimSpace(clean(v)); v != "" {
		n.Fields = append(n.Fields, noteField{label, v, href})
	}
}

func (n *note) text() string {
	var t strings.Builder
	t.WriteString(n.Intro + n.gap)
	line := func(label, v string) {
		if strings.Contains(v, "\n") {
			t.WriteString(label + ":\n" + v + "\n")
		} else {
			t.WriteString(label + ": " + v + "\n")
		}
	}
	for _, f := range n.Fields {
		line(f.Label, f.Value)
	}
	if n.dashboard {
		t.WriteString("\n")
	}
	for _, l := range n.Links {
		line(l.Label, l.URL)
	}
	t.WriteString("\n-- \n" + n.Footer + "\n")
	return t.String()
}

// noteHTML is the HTML of a note. It has no words of its own (they come
// from the catalog through the note) and no <style>: many mail clients
// drop it, so every element carries its own. Every element with text sets
// both its colour and its background, so that a client in dark mode that
// darkens the page darkens each part alike and none is left dark on dark.
//
//go:embed notice.html
var noteHTML string

var noteTemplate = ParseHTML("notice", noteHTML)

//go:embed frame.html
var frameHTML string

// ParseHTML parses body, the HTML part of an email, with the frame every
// HTML email shares (frame.html): body starts with {{template
// "mail-open" .}} and ends with {{template "mail-close"}}, and its data
// has Lang and Subject. It panics on a malformed template, as
// template.Must does.
func ParseHTML(name, body string) *template.Template {
	return template.Must(template.Must(template.New(name).Parse(frameHTML)).Parse(body))
}

// RenderHTML is the HTML of an email parsed by ParseHTML, for data v.
func RenderHTML(t *template.Template, v any) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// tel is the tel: URL of a normal phone number (digits, with its country
// code); "" for one the visitor typed that could not be read.
func tel(digits string, unparsed bool) template.URL {
	if unparsed || digits == "" || len(digits) > 20 || strings.Trim(digits, "0123456789") != "" {
		return ""
	}
	return template.URL("tel:+" + digits)
}

// mailto is the mailto: URL of a normal email address: one address, no
// query that could add a recipient or a body.
func mailto(addr string, unparsed bool) template.URL {
	if unparsed || addr == "" || strings.ContainsAny(addr, "?,;<>\"'\\ \t\r\n") || !strings.Contains(addr, "@") {
		return ""
	}
	return template.URL("mailto:" + url.PathEscape(addr))
}

// web is raw as a link when it is an http(s) URL.
func web(raw string) template.URL {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return template.URL(u.String())
}
