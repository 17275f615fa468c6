// Package mail sends the appliance's notifications by email: a lead, a
// callback request, a call or a finished chat, as a short plain-text
// message in the reader's language with a link to it on the dashboard.
//
// An email address is a webhook endpoint of its own ("mailto:" URL, package
// webhooks): its deliveries are queued in the same write as the lead, tried
// again with the same backoff, and logged on the same page. This package
// only turns one delivery's body (the webhook's JSON) into a message and
// hands it to the SMTP server the operator configured (serve --smtp). That
// server is the operator's own configuration, like the data directory, so
// it is not held to the outbound policy that keeps the dashboard's users'
// URLs off private networks: a relay on localhost is the usual set-up.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"appliance/httpd/i18n"
	"appliance/internal/usererr"
)

// ErrInvalid is the kind of a bad --smtp, --smtp-from or mailto: address.
var ErrInvalid = usererr.New("mail", 400, "invalid email settings")

// MaxRecipients bounds the addresses of one mailto: endpoint.
const MaxRecipients = 10

// Site is what a message says of the site an event is of: its name, the
// zone its times are written in, and whether it is still there.
type Site func(key string) (name string, loc *time.Location, ok bool)

// Options configure a Mailer.
type Options struct {
	// URL is the SMTP server: smtp://[user:password@]host[:port] (port
	// 587 by default; STARTTLS, required unless the host is this
	// machine's loopback: a local relay is spoken to in plain text) or
	// smtps://... (TLS from the start, port 465 by default).
	URL string
	// From is the sender, "Name <address>" or an address.
	From string
	// PublicURL is the dashboard's base URL, ending in "/", for the links.
	PublicURL string
	// Timeout bounds one message's whole exchange; default 30 s.
	Timeout time.Duration
	// TLS is the TLS configuration (tests give their own roots); nil: the
	// system's roots and the server's host name.
	TLS *tls.Config
	// Now is the clock of the Date header; default time.Now.
	Now func() time.Time
}

// Mailer sends notifications through one SMTP server.
type Mailer struct {
	o        Options
	addr     string // host:port
	host     string
	implicit bool // smtps: TLS from the start
	user     string
	password string
	from     *netmail.Address
	catalog  *i18n.Catalog
	site     Site
}

// New checks o and returns its Mailer; messages are written with catalog
// and say what site tells of their site.
func New(o Options, catalog *i18n.Catalog, site Site) (*Mailer, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, ErrInvalid.Errorf("--smtp: want smtp://[user:password@]host[:port] or smtps://..., not %q", redact(o.URL))
	}
	m := &Mailer{o: o, host: u.Hostname(), implicit: u.Scheme == "smtps", catalog: catalog, site: site}
	port := u.Port()
	if port == "" {
		port = "587"
		if m.implicit {
			port = "465"
		}
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		m.user = u.User.Username()
		m.password, _ = u.User.Password()
	}
	if m.from, err = netmail.ParseAddress(o.From); err != nil {
		return nil, ErrInvalid.Errorf("--smtp-from: %q is not an email address such as \"Shop <noreply@shop.example>\"", o.From)
	}
	if m.o.Timeout <= 0 {
		m.o.Timeout = 30 * time.Second
	}
	if m.o.Now == nil {
		m.o.Now = time.Now
	}
	return m, nil
}

// redact is an SMTP URL with its password left out, for messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Endpoint is a mailto: endpoint read: its addresses and the language its
// messages are written in.
type Endpoint struct {
	To   []string
	Lang i18n.Lang
}

// ParseEndpoint reads a mailto: URL, "mailto:a@shop.example,b@shop.example"
// with an optional "?lang=en" (Russian by default), and returns it with
// its canonical URL.
func ParseEndpoint(raw string) (Endpoint, string, error) {
	bad := func() (Endpoint, string, error) {
		return Endpoint{}, "", ErrInvalid.Errorf("an email endpoint is mailto:address[,address...][?lang=en], at most %d addresses", MaxRecipients)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "mailto" || u.Opaque == "" {
		return bad()
	}
	opaque, err := url.PathUnescape(u.Opaque)
	if err != nil {
		return bad()
	}
	var e Endpoint
	for _, a := range strings.Split(opaque, ",") {
		addr, err := netmail.ParseAddress(strings.TrimSpace(a))
		if err == nil && addr.Name == "" {
			// A quoted local part ("a b"@x) comes back unquoted: one that
			// cannot be written bare is refused rather than sent wrong.
			var again *netmail.Address
			if again, err = netmail.ParseAddress(addr.Address); err == nil && again.Address != addr.Address {
				err = errors.New("quoted")
			}
		}
		if err != nil || addr.Name != "" || strings.ContainsAny(addr.Address, "\r\n,") {
			return Endpoint{}, "", ErrInvalid.Errorf("%q is not an email address", strings.TrimSpace(a))
		}
		e.To = append(e.To, addr.Address)
	}
	if len(e.To) > MaxRecipients {
		return bad()
	}
	q := u.Query()
	e.Lang = i18n.Ru
	if l := q.Get("lang"); l != "" {
		var ok bool
		if e.Lang, ok = i18n.Parse(l); !ok || len(q) > 1 {
			return bad()
		}
	} else if len(q) > 0 {
		return bad()
	}
	canonical := "mailto:" + strings.Join(e.To, ",")
	if e.Lang != i18n.Ru {
		canonical += "?lang=" + string(e.Lang)
	}
	return e, canonical, nil
}

// Send writes the notification of one webhook delivery (body: the
// webhook's JSON; id: the delivery's, the same on every retry) to e and
// hands it to the SMTP server. It returns the server's code (250 when it
// took the message; 0 when none answered) and, unless it took it, why not.
func (m *Mailer) Send(ctx context.Context, e Endpoint, id uint64, body []byte) (code int, failure string) {
	msg, err := m.Message(e, id, body)
	if err != nil {
		return 0, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	if err := m.send(ctx, e.To, msg); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se.Code, fmt.Sprintf("%d %s", se.Code, se.Message)
		}
		return 0, err.Error()
	}
	return 250, ""
}

func (m *Mailer) send(ctx context.Context, to []string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // the exchange ends with ctx
	defer stop()
	tlsConf := m.o.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: m.host}
	}
	var c *smtp.Client
	switch {
	case m.implicit:
		c = smtp.NewClient(tls.Client(conn, tlsConf))
	case m.loopback():
		c = smtp.NewClient(conn) // a relay on this machine: nothing crosses a network
	default:
		if c, err = smtp.NewClientStartTLS(conn, tlsConf); err != nil {
			conn.Close()
			return fmt.Errorf("%w (a server that is not on this machine is reached over TLS only: STARTTLS, or smtps://)", err)
		}
	}
	defer c.Close()
	if m.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.user, m.password)); err != nil {
			return err
		}
	}
	if err := c.SendMail(m.from.Address, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// loopback reports whether the SMTP server is on this machine.
func (m *Mailer) loopback() bool {
	if m.host == "localhost" {
		return true
	}
	ip := net.ParseIP(m.host)
	return ip != nil && ip.IsLoopback()
}

// envelope is a webhook delivery's body (webhooks.payload).
type envelope struct {
	Event     string         `json:"event"`
	ID        uint64         `json:"id"`
	SiteKey   string         `json:"site_key"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

// Message is the whole RFC 5322 message Send hands over: headers, then the
// text as quoted-printable UTF-8. Everything a visitor typed is only ever
// in an encoded header or the text, so it cannot add a header.
func (m *Mailer) Message(e Endpoint, id uint64, body []byte) ([]byte, error) {
	var ev envelope
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("notification %d: %w", id, err)
	}
	name, loc, ok := m.site(ev.SiteKey)
	if !ok {
		name, loc = ev.SiteKey, time.UTC
	}
	p := m.catalog.For(e.Lang)
	subject, text := compose(p, &ev, name, loc, m.o.PublicURL)
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.from.String())
	header("To", strings.Join(e.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject, 150)))
	header("Date", m.o.Now().Format(time.RFC1123Z))
	header("Message-ID", "<appliance."+strconv.FormatUint(id, 10)+"@"+hostOf(m.from.Address)+">")
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	io.WriteString(w, strings.ReplaceAll(text, "\n", "\r\n"))
	w.Close()
	return b.Bytes(), nil
}

func hostOf(addr string) string {
	_, host, _ := strings.Cut(addr, "@")
	return host
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
// plain-text view is no more than a character).
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return '\uFFFD'
	}, strings.ReplaceAll(s, "\r\n", "\n"))
}

// compose writes the subject and text of ev.
func compose(p i18n.Printer, ev *envelope, site string, loc *time.Location, base string) (subject, text string) {
	d := ev.Data
	var t strings.Builder
	line := func(label, v string) { // label: translated
		if v = strings.TrimSpace(clean(v)); v != "" {
			if strings.Contains(v, "\n") {
				t.WriteString(label + ":\n" + v + "\n")
			} else {
				t.WriteString(label + ": " + v + "\n")
			}
		}
	}
	when := ev.CreatedAt.In(loc).Format("02.01.2006 15:04") + " (" + zoneName(loc, ev.CreatedAt) + ")"
	link := ""
	switch ev.Event {
	case "lead":
		who := firstOf(str(d, "name"), str(d, "phone_raw"), str(d, "email_raw"), str(d, "message"))
		subject = p.T("Lead from %s: %s", site, oneLine(clean(who), 80))
		t.WriteString(p.T("A lead on %s.", site) + "\n\n")
		line(p.T("Visitor's name"), str(d, "name"))
		line(p.T("Phone"), typed(str(d, "phone_raw"), str(d, "phone"), d["phone_unparsed"] == true, p))
		line(p.T("Email"), typed(str(d, "email_raw"), str(d, "email"), d["email_unparsed"] == true, p))
		line(p.T("Message"), str(d, "message"))
		line(p.T("Form"), str(d, "form_name"))
		if d["is_sale"] == true {
			line(p.T("Sale"), firstOf(str(d, "sale_cost"), p.T("yes")))
		}
		link = "leads#lead-" + strconv.FormatUint(ev.ID, 10)
	case "callback":
		subject = p.T("Callback request from %s: %s", site, oneLine(clean(str(d, "phone_raw")), 40))
		t.WriteString(p.T("A visitor on %s asks to be called back.", site) + "\n\n")
		line(p.T("Phone"), typed(str(d, "phone_raw"), str(d, "phone"), d["phone_unparsed"] == true, p))
		line(p.T("Group"), str(d, "group_name"))
		if at := str(d, "delayed_call_time"); at != "" {
			if tm, err := time.Parse(time.RFC3339, at); err == nil {
				line(p.T("Call at"), tm.In(loc).Format("02.01.2006 15:04"))
			}
		}
		link = "callbacks#callback-" + strconv.FormatUint(ev.ID, 10)
	case "call":
		caller := firstOf(plus(str(d, "caller")), p.T("hidden number"))
		subject = p.T("Call to %s from %s", site, caller)
		t.WriteString(p.T("A call to %s.", site) + "\n\n")
		line(p.T("Caller"), caller)
		line(p.T("Called"), plus(str(d, "called")))
		if n, ok := d["duration"].(float64); ok {
			line(p.T("Duration"), p.N("%d second", int(n)))
		}
		if d["answered"] == false {
			line(p.T("Answered"), p.T("no"))
		}
		line(p.T("Recording"), str(d, "recording_url"))
		link = "calls"
	case "chat":
		subject = p.T("Chat on %s", site)
		t.WriteString(p.T("A chat on %s has ended.", site) + "\n\n")
		line(p.T("Operator"), str(d, "assigned"))
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
			line(p.T("Transcript"), tr.String())
		}
		link = "chat"
	default:
		subject = p.T("%s on %s", ev.Event, site)
		t.WriteString(subject + "\n\n")
	}
	line(p.T("Page"), firstOf(str(d, "page_url"), str(d, "page")))
	if src, ok := d["source"].(map[string]any); ok {
		line(p.T("Source"), sourceText(p, src))
	}
	line(p.T("Time"), when)
	if base != "" && ev.SiteKey != "" {
		t.WriteString("\n")
		if link != "" {
			line(p.T("Open"), base+"sites/"+url.PathEscape(ev.SiteKey)+"/"+link)
		}
		if v, ok := d["visitor_id"].(float64); ok && v > 0 {
			line(p.T("Visitor"), base+"sites/"+url.PathEscape(ev.SiteKey)+"/visitors/"+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	t.WriteString("\n-- \n" + p.T("Sent by the appliance: this address is one of the site's notification endpoints (Webhooks page).") + "\n")
	return subject, t.String()
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
		if v := oneLine(str(s, k), 200); v != "" {
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
