package notice

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"appliance/httpd/i18n"
	"appliance/internal/usererr"
)

// ErrInvalid is the kind of a bad --smtp, --smtp-from or mailto: address.
var ErrInvalid = usererr.New("mail", 400, "invalid email settings")

// MaxRecipients bounds the addresses of one mailto: endpoint.
const MaxRecipients = 10

// Options configure a Mailer.
type Options struct {
	// URL is the SMTP server: smtp://[user:password@]host[:port] (port
	// 587 by default; STARTTLS, required unless the host is this
	// machine's loopback: a local relay is spoken to in plain text) or
	// smtps://... (TLS from the start, port 465 by default).
	URL string
	// From is the sender, "Name <address>" or an address.
	From string
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
	w        Writer
}

// New checks o and returns its Mailer, whose messages w writes.
func New(o Options, w Writer) (*Mailer, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, ErrInvalid.Errorf("--smtp: want smtp://[user:password@]host[:port] or smtps://..., not %q", redact(o.URL))
	}
	m := &Mailer{o: o, host: u.Hostname(), implicit: u.Scheme == "smtps", w: w}
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
// took the message; 0 when none answered) and, unless it took it, why
// not: the server's answer as it gave it ("550 5.1.1 no such mailbox").
// final is true when the server refused the message for good (Refused:
// a 5xx that is not a fault of --smtp's own TLS or login), so that it
// would refuse it again: an address that does not exist, a message it
// will not take. When it refused some of the addresses for good and took
// the message for the others, the code is 250 and failure names those
// it refused, with its answers.
func (m *Mailer) Send(ctx context.Context, e Endpoint, id uint64, body []byte) (code int, failure string, final bool) {
	msg, err := m.Message(e, id, body)
	if err != nil {
		return 0, err.Error(), false
	}
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	refused, err := m.send(ctx, e.To, msg)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se.Code, answer(err).Error(), Refused(err)
		}
		return 0, err.Error(), false
	}
	if len(refused) > 0 {
		return 250, "sent to the other addresses; refused for " + strings.Join(refused, "; "), false
	}
	return 250, "", false
}

// send hands msg to the SMTP server for the addresses to. An address the
// server refuses for good (a 5xx to its RCPT: no such mailbox) is left
// out, and the message goes to the others; refused names each such
// address with the server's answer ("a@shop.example: 550 5.1.1 no such
// mailbox"). When it refuses every address, the error is a refusal
// (Refused) that names them, or, for one address, the server's answer.
// Any other answer, 4xx included, fails the whole message, so that a
// retry sends it to none twice.
func (m *Mailer) send(ctx context.Context, to []string, msg []byte) (refused []string, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return nil, err
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
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, setupFault(err)
		}
		c = smtp.NewClient(tc)
	case m.loopback():
		c = smtp.NewClient(conn) // a relay on this machine: nothing crosses a network
	default:
		if c, err = smtp.NewClientStartTLS(conn, tlsConf); err != nil {
			conn.Close()
			return nil, setupFault(fmt.Errorf("%w (a server that is not on this machine is reached over TLS only: STARTTLS, or smtps://)", err))
		}
	}
	defer c.Close()
	if m.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.user, m.password)); err != nil {
			return nil, setupFault(err)
		}
	}
	if refused, err = m.transact(c, to, msg); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && authCode(se.Code) {
			return nil, relayFault{err: err} // "530 authentication required" at MAIL: --smtp has no login
		}
		return nil, err
	}
	return refused, c.Quit()
}

// transact is SMTP's mail transaction of msg to the addresses to over c,
// leaving out those refused for good at RCPT (see send).
func (m *Mailer) transact(c *smtp.Client, to []string, msg []byte) (refused []string, err error) {
	var opts *smtp.MailOptions
	if !ascii(m.from.Address) || slices.ContainsFunc(to, func(a string) bool { return !ascii(a) }) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(m.from.Address, opts); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 && !authCode(se.Code) {
			// The sender refused ("553 5.7.1 sender address rejected"):
			// --smtp-from is at fault, not the addresses; the same
			// message goes through once it is mended.
			return nil, relayFault{err: err, sender: true}
		}
		return nil, err
	}
	var first *smtp.SMTPError
	for _, addr := range to {
		err := c.Rcpt(addr, nil)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			continue
		case errors.As(err, &se) && se.Code >= 500 && !authCode(se.Code):
			refused = append(refused, addr+": "+answer(se).Error())
			if first == nil {
				first = se
			}
		default:
			return nil, err
		}
	}
	switch {
	case len(refused) == len(to) && len(to) == 1:
		return nil, first
	case len(refused) == len(to):
		return nil, rcptRefusal{first, refused}
	}
	w, err := c.Data()
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(msg); err != nil {
		return nil, err
	}
	return refused, w.Close()
}

// rcptRefusal is the SMTP server's refusal of every address of a message
// for good: the first of its answers, as Refused reads it, and all of
// them, each with its address, as the log shows it.
type rcptRefusal struct {
	first *smtp.SMTPError
	each  []string
}

func (r rcptRefusal) Error() string { return "refused for " + strings.Join(r.each, "; ") }
func (r rcptRefusal) Unwrap() error { return r.first }

// ascii reports whether s is all ASCII: an address that is not needs
// SMTPUTF8.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// relayFault is an error of the SMTP server's set-up rather than of one
// message: its TLS or its login failed (a wrong password, a certificate
// the server's name does not match, no STARTTLS, no AUTH), it wants a
// login --smtp does not give, or it refuses the sender, --smtp-from. That
// is the operator's to mend in --smtp or --smtp-from; the same message
// goes through once it is mended, so it is tried again, however the
// server worded its answer (535 is a 5xx).
type relayFault struct {
	err    error
	sender bool // the sender refused
}

func (f relayFault) Error() string {
	if f.sender {
		return answer(f.err).Error() + " (the SMTP server of --smtp refused the sender: check --smtp-from, an address this server may send from)"
	}
	return answer(f.err).Error() + " (the SMTP server of --smtp refused its TLS or login: check the address, user and password in --smtp)"
}

func (f relayFault) Unwrap() error { return f.err }

// setupFault is err, met before the message's first command (TLS,
// EHLO, AUTH), as a relayFault unless it is the network's (a cut or
// refused connection, a timeout) or a shutdown's, which are retried as
// they are.
func setupFault(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.Code >= 500 {
			return relayFault{err: err}
		}
		return err // 4xx: busy for now
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) {
		return err
	}
	return relayFault{err: err} // a TLS handshake the server failed, no STARTTLS, no AUTH
}

// authCode reports whether an SMTP reply code says the login is wrong or
// missing (RFC 4954: 530 authentication required, 534 mechanism too weak,
// 535 credentials invalid, 538 encryption required for the mechanism).
func authCode(code int) bool { return code == 530 || code == 534 || code == 535 || code == 538 }

// answer is err written as the SMTP server gave it ("550 no such mailbox")
// when it is the server's answer.
func answer(err error) error {
	if se, ok := err.(*smtp.SMTPError); ok {
		return refusal{se}
	}
	return err
}

// loopback reports whether the SMTP server is on this machine.
func (m *Mailer) loopback() bool {
	if m.host == "localhost" {
		return true
	}
	ip := net.ParseIP(m.host)
	return ip != nil && ip.IsLoopback()
}

// Message is the whole RFC 5322 message Send hands over: headers, then
// the text and, as its alternative, the same as HTML (multipart/
// alternative, the text first, so that a client that shows no HTML shows
// it), each as quoted-printable UTF-8. Everything a visitor typed is only
// ever in an encoded header, the text, or the HTML escaped by
// html/template, so it can add neither a header nor markup.
func (m *Mailer) Message(e Endpoint, id uint64, body []byte) ([]byte, error) {
	subject, text, html, err := m.w.ComposeMail(e.Lang, body)
	if err != nil {
		return nil, fmt.Errorf("notification %d: %w", id, err)
	}
	return m.message(e.To, subject, text, html, "appliance.notice."+strconv.FormatUint(id, 10)), nil
}

// message is a whole message to the addresses to, its Message-ID made of
// local (unique to it) and the sender's domain: the text alone, or with
// html as its alternative when html is not "".
func (m *Mailer) message(to []string, subject, text, html, local string) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject, 150)))
	header("Date", m.o.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+local+"@"+hostOf(m.from.Address)+">")
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	if html == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, text)
		return b.Bytes()
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		w, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		writeQP(w, part.body)
	}
	mw.Close()
	return b.Bytes()
}

// writeQP writes s, its lines ended with CRLF, as quoted-printable (which
// also keeps every line within SMTP's limit).
func writeQP(w io.Writer, s string) {
	qp := quotedprintable.NewWriter(w)
	io.WriteString(qp, strings.ReplaceAll(s, "\n", "\r\n"))
	qp.Close()
}

// Kinds of mail, each the start of its messages' Message-ID
// (<appliance.KIND.random@sender's domain>), so that a relay's log or a
// mailbox's filter tells them apart. A notification's is
// appliance.notice.<delivery id>, the same on every retry.
const (
	KindAccount = "account" // a password reset link, an invite
	KindDigest  = "digest"  // a report digest
	// KindWebhookAlert is an email to a site's owners that a webhook
	// endpoint fails, or works again.
	KindWebhookAlert = "webhook-alert"
)

// SendHTML hands one message of kind (KindAccount, KindDigest,
// KindWebhookAlert) to the SMTP server for the address to, which the
// caller has checked: text, and html, the same content as an HTML page,
// as its alternative (none when html is ""). The error says why it was not taken; it never holds
// the message. Refused tells a refusal for good from one worth a retry,
// and RelayFault a fault of the SMTP server's settings.
func (m *Mailer) SendHTML(ctx context.Context, kind, to, subject, text, html string) error {
	id := make([]byte, 12)
	rand.Read(id)
	msg := m.message([]string{to}, subject, text, html, "appliance."+kind+"."+hex.EncodeToString(id))
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	if _, err := m.send(ctx, []string{to}, msg); err != nil {
		return fmt.Errorf("send mail to %s: %w", to, answer(err))
	}
	return nil
}

// refusal is the SMTP server's answer that refused a message, written as
// the server gave it: its code, its enhanced status code when that says
// more than the class (RFC 3463: 5.1.1 bad mailbox, 5.7.1 refused by
// policy; not the bare 5.0.0) and its words ("550 5.1.1 no such mailbox").
type refusal struct{ *smtp.SMTPError }

func (r refusal) Error() string {
	if e := r.EnhancedCode; e[0] > 0 && e[1] >= 0 && e[2] >= 0 && (e[1] != 0 || e[2] != 0) {
		return fmt.Sprintf("%d %d.%d.%d %s", r.Code, e[0], e[1], e[2], r.Message)
	}
	return fmt.Sprintf("%d %s", r.Code, r.Message)
}
func (r refusal) Unwrap() error { return r.SMTPError }

// Refused reports whether err, of SendHTML, is the SMTP server's refusal
// of the message for good (a 5xx answer to it: the same message would be
// refused again). A fault of the server's settings (RelayFault), a 4xx
// answer, no answer, a cut connection are worth a retry.
func Refused(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500 && se.Code < 600 && !RelayFault(err)
}

// RelayFault reports whether err, of SendHTML, is a fault of
// the SMTP server's settings (--smtp, --smtp-from) rather than of the
// message: its TLS or its login failed, it wants a login, or it refuses
// the sender. The operator mends it; until
// then every message fails alike.
func RelayFault(err error) bool {
	var f relayFault
	return errors.As(err, &f)
}

func hostOf(addr string) string {
	_, host, _ := strings.Cut(addr, "@")
	return host
}
