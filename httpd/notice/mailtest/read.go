package mailtest

import (
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Read parses a message as a mail client would: its headers, its text
// and, when it is a multipart/alternative, its HTML (else ""). It fails
// the test unless the message is a quoted-printable UTF-8 text, or a
// multipart/alternative of exactly such a text first and such an HTML
// second. Both come with their lines ended by "\n".
func Read(t testing.TB, data []byte) (msg *netmail.Message, text, htm string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, data)
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	decode := func(r io.Reader) string {
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		return strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if typ == "text/plain" {
		if params["charset"] != "utf-8" || msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("headers %v", msg.Header)
		}
		return msg, decode(msg.Body), ""
	}
	if typ != "multipart/alternative" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var got []string
	for _, want := range []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"} {
		p, err := r.NextRawPart()
		if err != nil {
			t.Fatalf("part %d, want %s: %v\n%s", len(got)+1, want, err, data)
		}
		if ct, cte := p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"); ct != want || cte != "quoted-printable" {
			t.Fatalf("part %d: %q, %q; want %q, quoted-printable", len(got)+1, ct, cte, want)
		}
		got = append(got, decode(p))
	}
	if _, err := r.NextPart(); err != io.EOF {
		t.Fatalf("more than two parts: %v", err)
	}
	return msg, got[0], got[1]
}

// HTML is what a check of an email's HTML found in it.
type HTML struct {
	Lang  string            // <html lang>
	Links map[string]string // each link's text (spaces trimmed) -> its href
	Text  string            // the text a reader sees, tags left out
}

// emailElements are the elements an email's HTML may have: no script,
// style, image, form or frame (mail clients block or strip them, and
// any of them in a notification would be an injection).
var emailElements = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "body": true,
	"table": true, "tbody": true, "tr": true, "td": true, "th": true, "h1": true, "h2": true, "p": true,
	"a": true, "br": true, "span": true, "strong": true, "code": true}

// voidElements are those of emailElements that have no end tag.
var voidElements = map[string]bool{"meta": true, "br": true}

// CheckHTML parses an email's HTML and fails the test when it is not
// well-formed (an element not closed, or closed out of order), or has an
// element outside emailElements, an event handler attribute (on...), a
// link not to http(s), mailto: or tel:, a src or an external resource,
// a <style> (many mail clients drop it), or a width over 600 pixels.
func CheckHTML(t testing.TB, src string) HTML {
	t.Helper()
	out := HTML{Links: map[string]string{}}
	z := html.NewTokenizer(strings.NewReader(src))
	var text strings.Builder
	href, inLink := "", false
	var linkText strings.Builder
	var open []string // the elements open, outermost first
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("the HTML: %v", z.Err())
			}
			if len(open) != 0 {
				t.Errorf("the HTML leaves %v open:\n%s", open, src)
			}
			out.Text = text.String()
			return out
		case html.TextToken:
			s := html.UnescapeString(string(z.Raw()))
			text.WriteString(s)
			if inLink {
				linkText.WriteString(s)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			i := len(open) - 1
			for i >= 0 && open[i] != string(name) {
				i--
			}
			if i != len(open)-1 {
				t.Errorf("the HTML closes </%s> within %v:\n%s", name, open, src)
			}
			if i >= 0 {
				open = open[:i] // what it closed unclosed is told once
			}
			if string(name) == "a" && inLink {
				out.Links[strings.Join(strings.Fields(linkText.String()), " ")] = href
				inLink = false
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !emailElements[tok.Data] {
				t.Errorf("the HTML has a <%s>:\n%s", tok.Data, src)
			}
			if tok.Type == html.StartTagToken && !voidElements[tok.Data] {
				open = append(open, tok.Data)
			}
			for _, a := range tok.Attr {
				switch {
				case strings.HasPrefix(a.Key, "on"), a.Key == "src", a.Key == "srcset", a.Key == "background":
					t.Errorf("the HTML has <%s %s=%q>", tok.Data, a.Key, a.Val)
				case a.Key == "style" && (strings.Contains(a.Val, "url(") || strings.Contains(a.Val, "expression")):
					t.Errorf("the HTML's style loads something: %q", a.Val)
				case a.Key == "style" && widePX(a.Val):
					t.Errorf("the HTML has style=%q, wider than 600 px", a.Val)
				case a.Key == "width" && !strings.HasSuffix(a.Val, "%"):
					if w, err := strconv.Atoi(a.Val); err != nil || w > 600 {
						t.Errorf("the HTML has width=%q", a.Val)
					}
				case a.Key == "lang" && tok.Data == "html":
					out.Lang = a.Val
				}
			}
			if tok.Data == "a" {
				href, inLink = attr(tok, "href"), true
				linkText.Reset()
				if !strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "mailto:") && !strings.HasPrefix(href, "tel:") {
					t.Errorf("a link to %q", href)
				}
			}
		}
	}
}

// widePX reports whether a style sets a width over 600 px.
func widePX(style string) bool {
	for _, d := range strings.Split(style, ";") {
		k, v, _ := strings.Cut(d, ":")
		if k = strings.TrimSpace(k); k != "width" && k != "min-width" && k != "max-width" {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "px")); err == nil && n > 600 {
			return true
		}
	}
	return false
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
