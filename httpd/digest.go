package httpd

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/i18n"
	"appliance/httpd/notice"
	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/store"
)

// Report digests: an owner or manager may have a site's figures emailed
// to them, daily (the day before) and/or weekly (Monday to Sunday), in
// the morning of the site's time zone. The figures are the sources
// report's (reports.Sources over the roll-ups), with their change against
// the period before.
//
// A digest is sent once per user, site and period: the latest period
// sent is stored (store.DigestSentKey) after the SMTP server took the
// email, so a crash between the two sends it again, never not at all. A
// server down when a digest was due sends it when it is back, only the
// latest period of each kind. A digest the SMTP server refuses for a
// while (4xx, or the relay's own TLS, login or sender faults) is tried
// again an hour later; one it refuses for good (5xx for the address) is
// not tried again for its period.

// digestHour is the hour of the site's day a digest is due at.
const digestHour = 8

// digestSecretKey holds the key that signs unsubscribe links (32 random
// bytes, made once).
var digestSecretKey = store.MetaKey("digest-secret")

type digests struct {
	db        *store.DB
	sites     *sites.Registry
	accounts  *accounts.Accounts
	reports   *reports.Service
	catalog   *i18n.Catalog
	mailer    *notice.Mailer // nil: no SMTP server, nothing is sent
	publicURL string         // ends in "/"
	now       func() time.Time
	log       *slog.Logger
	secret    []byte

	pass sync.Mutex // one pass over the subscriptions at a time
	// failed holds, under pass, when a digest the SMTP server refused may
	// be tried again: an hour later, as a notification is, not at every
	// pass (a recipient refused for good would be asked every minute).
	failed map[digestJob]time.Time
}

// digestRetry is how long a digest the SMTP server refused waits.
const digestRetry = time.Hour

func newDigests(ctx context.Context, d *digests) (*digests, error) {
	v, err := d.db.Get(digestSecretKey)
	if errors.Is(err, store.ErrNotFound) {
		v = make([]byte, 32)
		rand.Read(v)
		err = d.db.Set(ctx, digestSecretKey, v)
	}
	if err != nil {
		return nil, fmt.Errorf("digest secret: %w", err)
	}
	d.secret = v
	return d, nil
}

// digestEvery is how often the worker looks for digests due.
const digestEvery = time.Minute

// Run sends the digests due now and then every digestEvery until ctx
// ends: a server that was down when some were due sends them at start.
func (d *digests) Run(ctx context.Context) {
	if d.mailer == nil {
		return
	}
	mailEvery(ctx, digestEvery, d.log, "report digests not sent", d.sendDue)
}

// mailEvery runs send now and then every period until ctx ends, logging
// what as a warning with each error it returns while ctx lasts: the loop
// of the workers that email what falls due (digests, webhook alerts).
func mailEvery(ctx context.Context, period time.Duration, log *slog.Logger, what string, send func(context.Context) (int, error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if _, err := send(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// digestPeriod is the latest period of kind (store.DigestDaily or
// DigestWeekly) whose digest is due at now in loc: a day at digestHour
// the day after, a Monday–Sunday week at digestHour the Monday after.
func digestPeriod(kind byte, now time.Time, loc *time.Location) (first, last reports.Day) {
	local := now.In(loc)
	today := reports.Date(local.Date())
	early := local.Hour() < digestHour
	if kind == store.DigestDaily {
		last = today - 1
		if early {
			last--
		}
		return last, last
	}
	monday := today - reports.Day((int(local.Weekday())+6)%7)
	if monday == today && early {
		monday -= 7
	}
	return monday - 7, monday - 1
}

// subscription is the digests email gets for site (bits of store.DigestDaily|DigestWeekly).
func (d *digests) subscription(site uint32, email string) byte {
	v, err := d.db.Get(store.DigestSubKey(site, strings.ToLower(email)))
	if err != nil || len(v) != 1 {
		return 0
	}
	return v[0]
}

// subscribe sets the digests email gets for site. A digest newly asked
// for starts with the next period: the one already due is marked sent.
func (d *digests) subscribe(ctx context.Context, site *store.Site, email string, bits byte) error {
	email = strings.ToLower(email)
	had := d.subscription(site.ID, email)
	return d.db.Update(ctx, func(tx *store.Tx) error {
		if bits == 0 {
			tx.Delete(store.DigestSubKey(site.ID, email))
			return nil
		}
		tx.Set(store.DigestSubKey(site.ID, email), []byte{bits})
		for _, kind := range []byte{store.DigestDaily, store.DigestWeekly} {
			if bits&kind != 0 && had&kind == 0 {
				first, _ := digestPeriod(kind, d.now(), d.sites.Location(site))
				tx.Set(store.DigestSentKey(kind, site.ID, email), binary.BigEndian.AppendUint32(nil, uint32(first)))
			}
		}
		return nil
	})
}

// unsubscribe stops the digest of kind for email and site.
func (d *digests) unsubscribe(ctx context.Context, site uint32, email string, kind byte) error {
	email = strings.ToLower(email)
	bits := d.subscription(site, email) &^ kind
	if bits == 0 {
		return d.db.Delete(ctx, store.DigestSubKey(site, email))
	}
	return d.db.Set(ctx, store.DigestSubKey(site, email), []byte{bits})
}

type digestJob struct {
	site  uint32
	email string
	kind  byte
}

// sendDue sends every digest due and not yet sent; it returns how many
// it sent.
func (d *digests) sendDue(ctx context.Context) (int, error) {
	if d.mailer == nil {
		return 0, nil
	}
	d.pass.Lock()
	defer d.pass.Unlock()
	var jobs []digestJob
	err := d.db.ScanPrefix(ctx, store.DigestSubPrefix(), false, 0, func(key, value []byte) bool {
		if len(key) < 6 || len(value) != 1 {
			return true
		}
		site, email := binary.BigEndian.Uint32(key[1:5]), string(key[5:])
		for _, kind := range []byte{store.DigestDaily, store.DigestWeekly} {
			if value[0]&kind != 0 {
				jobs = append(jobs, digestJob{site, email, kind})
			}
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	now := d.now()
	for _, j := range jobs {
		if now.Before(d.failed[j]) {
			continue
		}
		ok, err := d.sendOne(ctx, j)
		if err != nil && !ok {
			if d.failed == nil {
				d.failed = map[digestJob]time.Time{}
			}
			d.failed[j] = now.Add(digestRetry)
		} else {
			delete(d.failed, j)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

func (d *digests) sendOne(ctx context.Context, j digestJob) (bool, error) {
	site, err := d.sites.ByID(j.site)
	if err != nil {
		return false, nil // the site is gone
	}
	u, err := d.accounts.User(j.email)
	if err != nil || !seeReports.allows(u.Role) {
		return false, nil // the user is gone, or may no longer see reports
	}
	first, last := digestPeriod(j.kind, d.now(), d.sites.Location(site))
	if v, err := d.db.Get(store.DigestSentKey(j.kind, j.site, j.email)); err == nil && len(v) == 4 && reports.Day(binary.BigEndian.Uint32(v)) >= first {
		return false, nil
	}
	lang := i18n.Ru
	if l, ok := i18n.Parse(u.Lang); ok {
		lang = l
	}
	subject, text, html, err := d.compose(ctx, d.catalog.For(lang), site, u.Email, j.kind, first, last)
	if err != nil {
		return false, fmt.Errorf("digest of %s for %s: %w", site.Name, u.Email, err)
	}
	if err := d.mailer.SendHTML(ctx, notice.KindDigest, u.Email, subject, text, html); err != nil {
		if !notice.Refused(err) {
			return false, fmt.Errorf("digest of %s to %s: %w", site.Name, u.Email, err)
		}
		// Refused for good (a 5xx for the address, not the relay's
		// settings): every try of this period's digest would be refused
		// alike, as notifications' and account emails' are not retried.
		// The period is marked done; the next period's digest is tried.
		if merr := d.db.Set(ctx, store.DigestSentKey(j.kind, j.site, j.email), binary.BigEndian.AppendUint32(nil, uint32(first))); merr != nil {
			return false, fmt.Errorf("digest of %s to %s: %w (and not marked: %v)", site.Name, u.Email, err, merr)
		}
		return false, fmt.Errorf("digest of %s to %s refused for good, not tried again for this period: %w", site.Name, u.Email, err)
	}
	// Sent: marked even when the server is stopping meanwhile (ctx ended),
	// or the next start would send it again.
	if err := d.db.Set(context.WithoutCancel(ctx), store.DigestSentKey(j.kind, j.site, j.email), binary.BigEndian.AppendUint32(nil, uint32(first))); err != nil {
		return true, fmt.Errorf("digest of %s to %s sent, not marked (it may be sent again): %w", site.Name, u.Email, err)
	}
	d.log.Info("report digest sent", "site", site.Name, "to", u.Email, "from", first, "to_day", last)
	return true, nil
}

// compose writes the digest of site for first..last, against the period
// of the same length before: its subject, its text and the same as HTML.
func (d *digests) compose(ctx context.Context, tr i18n.Printer, site *store.Site, email string, kind byte, first, last reports.Day) (subject, text, html string, err error) {
	q := reports.Query{Site: site, From: first, To: last, Group: reports.GroupSource, Model: reports.ModelLastNonDirect}
	cur, err := d.reports.Sources(ctx, q)
	if err != nil {
		return "", "", "", err
	}
	n := last - first + 1
	q.From, q.To = first-n, first-1
	prev, err := d.reports.Sources(ctx, q)
	if err != nil {
		return "", "", "", err
	}
	v := digestView{Lang: string(tr.Lang)}
	period := periodText(tr, kind, first, last)
	if kind == store.DigestWeekly {
		v.Subject = tr.T("Weekly report of %[1]s: %[2]s", site.Name, period)
	} else {
		v.Subject = tr.T("Daily report of %[1]s: %[2]s", site.Name, period)
	}
	v.Intro = tr.T("Site %[1]s, %[2]s; the change is against %[3]s.", site.Name, period, periodText(tr, kind, q.From, q.To))
	v.FigureHead, v.PeriodHead, v.ChangeHead = tr.T("Figure"), period, tr.T("Change on the period before")
	c, p := cur.Total, prev.Total
	figure := func(label string, cur, prev int64) *digestFigure {
		k := newKPI("", "", cur, prev, func(v int64) string { return tr.Num(v) })
		f := digestFigure{Label: label, Value: k.Value, Delta: k.Delta, Trend: k.Trend}
		switch f.Delta {
		case "":
			f.Delta = tr.T("no change")
		case "new":
			f.Delta = tr.T("from none")
		}
		v.Figures = append(v.Figures, f)
		return &v.Figures[len(v.Figures)-1]
	}
	figure(tr.T("Visits"), c.Sessions, p.Sessions)
	figure(tr.T("Leads"), c.Leads, p.Leads)
	figure(tr.T("Callbacks"), c.Callbacks, p.Callbacks)
	figure(tr.T("Calls"), c.Calls, p.Calls).Note = tr.T("answered: %[1]s, missed: %[2]s", tr.Num(c.AnsweredCalls), tr.Num(c.Calls-c.AnsweredCalls))
	figure(tr.T("Chats"), c.Chats, p.Chats)

	rows := slices.Clone(cur.Rows)
	slices.SortStableFunc(rows, func(a, b reports.Row) int {
		return int((b.Leads + b.Calls) - (a.Leads + a.Calls))
	})
	for _, r := range rows {
		if r.Leads+r.Calls == 0 || len(v.Top) == 5 {
			break
		}
		v.Top = append(v.Top, digestSource{Name: notice.ShowBidi(keyCell(tr, reports.GroupSource, r.Key).Text), // a visitor's utm_source
			Leads: tr.Num(r.Leads), Calls: tr.Num(r.Calls), Both: tr.T("leads: %[1]s, calls: %[2]s", tr.Num(r.Leads), tr.Num(r.Calls))})
	}
	v.TopLabel, v.TopTitle = tr.T("Top sources by leads and calls:"), tr.T("Top sources by leads and calls")
	v.SourceHead, v.LeadsHead, v.CallsHead = tr.T("Source"), tr.T("Leads"), tr.T("Calls")
	v.ReportsLabel, v.ReportsButton = tr.T("The reports:"), tr.T("Open the period's report")
	v.ReportsURL = d.publicURL + "sites/" + url.PathEscape(site.Key) + "/reports?from=" + first.String() + "&to=" + last.String()
	v.Why = tr.T("You get this email because %[1]s subscribed to it at %[2]s.", email, d.publicURL+"account")
	v.UnsubscribeLabel, v.UnsubscribeLink = tr.T("Unsubscribe:"), tr.T("Unsubscribe from this digest")
	v.UnsubscribeURL = d.publicURL + "digest/unsubscribe?token=" + d.token(kind, site.ID, email)
	html, err = notice.RenderHTML(digestTemplate, v)
	if err != nil {
		return "", "", "", err
	}
	return v.Subject, v.text(), html, nil
}

// digestView is a digest's content, rendered as its text and its HTML.
type digestView struct {
	Lang, Subject, Intro               string
	FigureHead, PeriodHead, ChangeHead string
	Figures                            []digestFigure
	TopLabel, TopTitle                 string // the text's, the HTML's
	SourceHead                         string
	LeadsHead, CallsHead               string
	Top                                []digestSource
	ReportsLabel, ReportsButton        string
	ReportsURL                         string
	Why                                string
	UnsubscribeLabel, UnsubscribeLink  string // the text's, the HTML's
	UnsubscribeURL                     string
}

// digestFigure is one figure of the period: its value, its change on the
// period before (a signed percentage, or words) and whether it went up or
// down ("" when neither); Note says more under it.
type digestFigure struct {
	Label, Value, Delta, Trend, Note string
}

// digestSource is one of the top sources; Both is its figures in words,
// for the text.
type digestSource struct {
	Name, Leads, Calls, Both string
}

func (v *digestView) text() string {
	var b strings.Builder
	b.WriteString(v.Intro + "\n\n")
	for _, f := range v.Figures {
		fmt.Fprintf(&b, "%s: %s (%s)\n", f.Label, f.Value, f.Delta)
		if f.Note != "" {
			b.WriteString("  " + f.Note + "\n")
		}
	}
	for i, s := range v.Top {
		if i == 0 {
			b.WriteString("\n" + v.TopLabel + "\n")
		}
		fmt.Fprintf(&b, "  %s: %s\n", s.Name, s.Both)
	}
	b.WriteString("\n" + v.ReportsLabel + "\n" + v.ReportsURL + "\n")
	b.WriteString("\n-- \n" + v.Why + "\n")
	b.WriteString(v.UnsubscribeLabel + " " + v.UnsubscribeURL + "\n")
	return b.String()
}

// digestHTML is a digest's HTML: the figures in a table, each change with
// an arrow, a sign and a colour (so that it reads without the colour), the
// top sources, and a button to the period's report. It has no words of its
// own (all come from the catalog through digestView) and no <style>, which
// many mail clients drop: each element carries its own, and every one with
// text sets both its colour and its background, so that a client in dark
// mode that darkens them darkens each alike. At most 600 px wide.
//
//go:embed digest_mail.html
var digestHTML string

var digestTemplate = notice.ParseHTML("digest", digestHTML)

// periodText is a digest's days as tr writes dates: one day, or a week
// first – last.
func periodText(tr i18n.Printer, kind byte, first, last reports.Day) string {
	day := func(d reports.Day) string { return tr.Date(d.Start(time.UTC)) } // 23.11.2026 in Russian
	if kind == store.DigestWeekly {
		return day(first) + " – " + day(last)
	}
	return day(first)
}

// The unsubscribe token: base64url(kind, site id, email) "." base64url(the
// first 16 bytes of HMAC-SHA256 under the digest secret of a purpose
// string and the payload). It does one thing: stop one digest.
const (
	digestTokenPurpose = "appliance digest unsubscribe\x00"
	maxDigestToken     = 512
)

func (d *digests) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(digestTokenPurpose))
	m.Write(payload)
	return m.Sum(nil)[:16]
}

func (d *digests) token(kind byte, site uint32, email string) string {
	p := binary.BigEndian.AppendUint32([]byte{kind}, site)
	p = append(p, strings.ToLower(email)...)
	return base64.RawURLEncoding.EncodeToString(p) + "." + base64.RawURLEncoding.EncodeToString(d.mac(p))
}

var errDigestToken = errors.New("this unsubscribe link is not valid: copy the whole link from the email")

// parseToken reads an unsubscribe token: the digest it stops.
func (d *digests) parseToken(tok string) (kind byte, site uint32, email string, err error) {
	if len(tok) > maxDigestToken {
		return 0, 0, "", errDigestToken
	}
	enc, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return 0, 0, "", errDigestToken
	}
	p, err1 := base64.RawURLEncoding.Strict().DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err1 != nil || err2 != nil || len(p) < 6 || !hmac.Equal(mac, d.mac(p)) {
		return 0, 0, "", errDigestToken
	}
	kind, site, email = p[0], binary.BigEndian.Uint32(p[1:5]), string(p[5:])
	if kind != store.DigestDaily && kind != store.DigestWeekly {
		return 0, 0, "", errDigestToken
	}
	return kind, site, email, nil
}
