package store

// Record types of the store, each with its versioned encoding. Times are Unix
// milliseconds (UTC). A record type changes only by adding a version: the
// decoder keeps reading every version it ever wrote.

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// Site is one web site served by the appliance.
type Site struct {
	ID      uint32
	Key     string   // public, 32 chars [A-Za-z0-9], in the install code
	Name    string   // shown in the dashboard
	Domains []string // host names the site lives on
	Secret  []byte   // per-site HMAC secret for credential keys
	Created int64
	// AnyOrigin accepts hits from pages on any domain, not only Domains
	// and their sub-domains.
	AnyOrigin bool
	// TimeZone is the IANA name of the zone the site's days and hours are
	// in (reports, "today"); "" is the server's zone. Version 1 and 2
	// records decode with "".
	TimeZone string
	// PhoneRegion is the ISO 3166 code ("RU", "KZ") of the country whose
	// numbers the site's visitors write without a country code; "" is the
	// server's --phone-region. Earlier versions decode with "".
	PhoneRegion string
	// RetentionDays is how long the site's raw visits (sessions, their
	// page views and events) are kept before the retention sweep deletes
	// them; its report roll-ups stay. 0 keeps them for ever, as earlier
	// versions decode.
	RetentionDays uint32
}

// Region is the site's PhoneRegion, or def (the server's) when it has none.
func (s *Site) Region(def string) string {
	if s == nil || s.PhoneRegion == "" {
		return def
	}
	return s.PhoneRegion
}

// siteVersion 2 added AnyOrigin, 3 TimeZone, 4 PhoneRegion, 5
// RetentionDays.
const siteVersion = 5

// Encode returns the versioned encoding of s.
func (s *Site) Encode() []byte {
	e := newEncoder(siteVersion, 64+len(s.Name))
	e.uint(uint64(s.ID))
	e.str(s.Key)
	e.str(s.Name)
	e.strs(s.Domains)
	e.bytes(s.Secret)
	e.int(s.Created)
	e.bool(s.AnyOrigin)
	e.str(s.TimeZone)
	e.str(s.PhoneRegion)
	e.uint(uint64(s.RetentionDays))
	return e.b
}

// DecodeSite decodes a Site of any version; the result does not alias b.
func DecodeSite(b []byte) (Site, error) {
	d, v := newDecoder(b, "site", siteVersion)
	var s Site
	s.ID = d.uint32("site id")
	s.Key = d.str()
	s.Name = d.str()
	s.Domains = d.strs()
	s.Secret = d.bytes()
	s.Created = d.int()
	if v >= 2 {
		s.AnyOrigin = d.bool()
	}
	if v >= 3 {
		s.TimeZone = d.str()
	}
	if v >= 4 {
		s.PhoneRegion = d.str()
	}
	if v >= 5 {
		s.RetentionDays = d.uint32("retention days")
	}
	return s, d.done()
}

// User is a dashboard account.
type User struct {
	Email   string
	Hash    string // password hash in PHC form ($argon2id$...)
	Role    string // "owner", "manager" or "operator"
	Created int64
	// Epoch counts the times the user's sessions were all ended (a new
	// password, "sign out everywhere"); a LoginSession of an earlier epoch
	// is no longer valid. Version 1 records decode as epoch 0.
	Epoch uint32
	// Lang is the dashboard language the user chose ("ru", "en"); empty:
	// the browser's. Earlier versions decode as empty.
	Lang string
	// LastLogin is when the user last signed in (Unix ms); 0: never, or
	// not since version 4 records.
	LastLogin int64
}

// userVersion 2 added Epoch, 3 Lang, 4 LastLogin.
const userVersion = 4

// Encode returns the versioned encoding of u.
func (u *User) Encode() []byte {
	e := newEncoder(userVersion, 128)
	e.str(u.Email)
	e.str(u.Hash)
	e.str(u.Role)
	e.int(u.Created)
	e.uint(uint64(u.Epoch))
	e.str(u.Lang)
	e.int(u.LastLogin)
	return e.b
}

// DecodeUser decodes a User of any version.
func DecodeUser(b []byte) (User, error) {
	d, v := newDecoder(b, "user", userVersion)
	u := User{Email: d.str(), Hash: d.str(), Role: d.str(), Created: d.int()}
	if v >= 2 {
		u.Epoch = d.uint32("user epoch")
	}
	if v >= 3 {
		u.Lang = d.str()
	}
	if v >= 4 {
		u.LastLogin = d.int()
	}
	return u, d.done()
}

// LoginSession is a signed-in browser, found by the hash of its cookie.
type LoginSession struct {
	Email   string
	CSRF    string // token every form of this session must carry
	Expires int64
	Epoch   uint32 // the user's Epoch when the session began
}

// loginVersion 2 added Epoch.
const loginVersion = 2

// Encode returns the versioned encoding of l.
func (l *LoginSession) Encode() []byte {
	e := newEncoder(loginVersion, 96)
	e.str(l.Email)
	e.str(l.CSRF)
	e.int(l.Expires)
	e.uint(uint64(l.Epoch))
	return e.b
}

// DecodeLoginSession decodes a LoginSession of any version.
func DecodeLoginSession(b []byte) (LoginSession, error) {
	d, v := newDecoder(b, "login session", loginVersion)
	l := LoginSession{Email: d.str(), CSRF: d.str(), Expires: d.int()}
	if v >= 2 {
		l.Epoch = d.uint32("login epoch")
	}
	return l, d.done()
}

// Token is an API token for server-to-server calls (/api/v1/...).
type Token struct {
	Name    string
	Created int64
	// Sites are the ids of the sites the token may read and write; none:
	// every site. Version 1 records decode with none.
	Sites []uint32
	// LastUsed is when the token was last used (Unix ms), written at most
	// once a minute per token; 0: not used since version 3.
	LastUsed int64
	// User is the email of the user the token acts as (the chat's
	// operator API); "" none: the token acts under its Name. Versions
	// before 4 decode with none.
	User string
	// Scopes name what the token may do in /api/v1 ("calls",
	// "leads:read", ...; httpd's role table defines them); none: all of
	// it, as every token could before version 5, which decodes with none.
	Scopes []string
}

// tokenVersion 2 added Sites, 3 LastUsed, 4 User, 5 Scopes.
const tokenVersion = 5

// Encode returns the versioned encoding of t.
func (t *Token) Encode() []byte {
	e := newEncoder(tokenVersion, 32+5*len(t.Sites))
	e.str(t.Name)
	e.int(t.Created)
	e.uint(uint64(len(t.Sites)))
	for _, id := range t.Sites {
		e.uint(uint64(id))
	}
	e.int(t.LastUsed)
	e.str(t.User)
	e.strs(t.Scopes)
	return e.b
}

// DecodeToken decodes a Token of any version.
func DecodeToken(b []byte) (Token, error) {
	d, v := newDecoder(b, "token", tokenVersion)
	t := Token{Name: d.str(), Created: d.int()}
	if v >= 2 {
		n := d.uint()
		if n > uint64(len(d.b)) { // each id takes at least one byte
			d.fail("bad count")
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			t.Sites = append(t.Sites, d.uint32("token site"))
		}
	}
	if v >= 3 {
		t.LastUsed = d.int()
	}
	if v >= 4 {
		t.User = d.str()
	}
	if v >= 5 {
		t.Scopes = d.strs()
	}
	return t, d.done()
}

// AllowsScope reports whether the token may do what the scope names: a
// token with no scopes may do everything.
func (t *Token) AllowsScope(scope string) bool {
	return len(t.Scopes) == 0 || slices.Contains(t.Scopes, scope)
}

// AllowsSite reports whether the token may read and write the site.
func (t *Token) AllowsSite(site uint32) bool {
	return len(t.Sites) == 0 || slices.Contains(t.Sites, site)
}

// Visitor is one browser on one site, remembered by the snippet's cookie.
type Visitor struct {
	ID         uint64
	Site       uint32
	Created    int64
	LastSeen   int64 // start of the latest session, or first hit of a later UTC day
	Name       string
	Phones     []string // E.164 digits without "+", deduplicated
	Emails     []string // lower case, deduplicated
	Properties uint32   // how many Property records the visitor has
	Bot        bool
	// PhonesTyped and EmailsTyped are phones and emails the visitor's pages
	// gave (addVisitorInfo) that did not parse, kept as typed and
	// deduplicated: the call is not refused for their form.
	PhonesTyped, EmailsTyped []string
}

// visitorVersion 2 added PhonesTyped and EmailsTyped.
const visitorVersion = 2

// Encode returns the versioned encoding of v.
func (v *Visitor) Encode() []byte {
	e := newEncoder(visitorVersion, 48)
	e.uint(v.ID)
	e.uint(uint64(v.Site))
	e.int(v.Created)
	e.int(v.LastSeen)
	e.str(v.Name)
	e.strs(v.Phones)
	e.strs(v.Emails)
	e.uint(uint64(v.Properties))
	e.bool(v.Bot)
	e.strs(v.PhonesTyped)
	e.strs(v.EmailsTyped)
	return e.b
}

// DecodeVisitor decodes a Visitor of any version.
func DecodeVisitor(b []byte) (Visitor, error) {
	d, version := newDecoder(b, "visitor", visitorVersion)
	var v Visitor
	v.ID = d.uint()
	v.Site = d.uint32("site")
	v.Created = d.int()
	v.LastSeen = d.int()
	v.Name = d.str()
	v.Phones = d.strs()
	v.Emails = d.strs()
	v.Properties = d.uint32("properties")
	v.Bot = d.bool()
	if version >= 2 {
		v.PhonesTyped = d.strs()
		v.EmailsTyped = d.strs()
	}
	return v, d.done()
}

// Property is one named value of a visitor (Comagic.setProperty). Its key
// holds the name case-folded (names match without regard to case); Name is
// the name as first written, for display. Version 1 records have no Name:
// their key holds the name as written.
type Property struct {
	Name    string
	Value   string
	Updated int64
}

// propertyVersion 2 added Name.
const propertyVersion = 2

// Encode returns the versioned encoding of p.
func (p *Property) Encode() []byte {
	e := newEncoder(propertyVersion, 8+len(p.Value)+len(p.Name))
	e.str(p.Value)
	e.int(p.Updated)
	e.str(p.Name)
	return e.b
}

// DecodeProperty decodes a Property of any version.
func DecodeProperty(b []byte) (Property, error) {
	d, v := newDecoder(b, "property", propertyVersion)
	p := Property{Value: d.str(), Updated: d.int()}
	if v >= 2 {
		p.Name = d.str()
	}
	return p, d.done()
}

// Session is one visit: hits of a visitor with no 30-minute gap and one
// traffic source (campaign).
type Session struct {
	ID          uint64
	Visitor     uint64
	Started     int64
	LastHit     int64
	Hits        uint32
	Events      uint32
	Channel     string // organic, social, referral, direct, ad
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMTerm     string
	UTMContent  string
	Click       string // click id kind: gclid, yclid, fbclid
	ClickID     string // the click id itself (part of the campaign identity)
	Referrer    string // the referrer URL; "" when none or the site's own
	Landing     string // URL of the first hit
	UserAgent   string
	Bot         bool
}

const sessionVersion = 1

// Encode returns the versioned encoding of s.
func (s *Session) Encode() []byte {
	return s.AppendEncode(make([]byte, 0, 1+128+len(s.Landing)+len(s.Referrer)+len(s.UserAgent)))
}

// AppendEncode appends the encoded session to dst: Encode into a buffer
// of the caller's (the hit path encodes every hit's session on its stack).
func (s *Session) AppendEncode(dst []byte) []byte {
	// The fields as encoder writes them, on a slice rather than an
	// encoder: its pointer receiver would move dst to the heap.
	b := append(dst, sessionVersion)
	b = binary.AppendUvarint(b, s.ID)
	b = binary.AppendUvarint(b, s.Visitor)
	b = binary.AppendVarint(b, s.Started)
	b = binary.AppendVarint(b, s.LastHit)
	b = binary.AppendUvarint(b, uint64(s.Hits))
	b = binary.AppendUvarint(b, uint64(s.Events))
	for _, f := range [...]*string{&s.Channel, &s.UTMSource, &s.UTMMedium, &s.UTMCampaign,
		&s.UTMTerm, &s.UTMContent, &s.Click, &s.ClickID, &s.Referrer, &s.Landing, &s.UserAgent} {
		b = appendStr(b, *f)
	}
	return appendBool(b, s.Bot)
}

// DecodeSession decodes a Session.
func DecodeSession(b []byte) (Session, error) { return decodeSession(b, false) }

// DecodeSessionView is DecodeSession whose strings alias b instead of
// being copies: for a reader done with the session before b changes (the
// exporter, which reads many).
func DecodeSessionView(b []byte) (Session, error) { return decodeSession(b, true) }

func decodeSession(b []byte, view bool) (Session, error) {
	d, _ := newDecoder(b, "session", sessionVersion)
	d.view = view
	var s Session
	s.ID = d.uint()
	s.Visitor = d.uint()
	s.Started = d.int()
	s.LastHit = d.int()
	s.Hits = d.uint32("hits")
	s.Events = d.uint32("events")
	for _, f := range [...]*string{&s.Channel, &s.UTMSource, &s.UTMMedium, &s.UTMCampaign,
		&s.UTMTerm, &s.UTMContent, &s.Click, &s.ClickID, &s.Referrer, &s.Landing, &s.UserAgent} {
		*f = d.str()
	}
	s.Bot = d.bool()
	return s, d.done()
}

// Hit is one page view. Kept small: it is the most numerous record. Its
// site, session and id are in the key; its visitor is the session's.
type Hit struct {
	ID      uint64
	Session uint64
	Time    int64
	URL     string
	Title   string
}

const hitVersion = 1

// Encode returns the versioned encoding of h: time, URL and title only.
func (h *Hit) Encode() []byte {
	return h.AppendEncode(make([]byte, 0, 1+12+len(h.URL)+len(h.Title)))
}

// AppendEncode appends the encoded hit to dst (Session.AppendEncode).
func (h *Hit) AppendEncode(dst []byte) []byte {
	b := append(dst, hitVersion)
	b = binary.AppendVarint(b, h.Time)
	b = appendStr(b, h.URL)
	return appendStr(b, h.Title)
}

// DecodeHit decodes a Hit; session and id come from the key
// (SessionItemIDs).
func DecodeHit(session, id uint64, b []byte) (Hit, error) { return decodeHit(session, id, b, false) }

// DecodeHitView is DecodeHit whose strings alias b (DecodeSessionView).
func DecodeHitView(session, id uint64, b []byte) (Hit, error) { return decodeHit(session, id, b, true) }

func decodeHit(session, id uint64, b []byte, view bool) (Hit, error) {
	d, _ := newDecoder(b, "hit", hitVersion)
	d.view = view
	h := Hit{ID: id, Session: session, Time: d.int(), URL: d.str(), Title: d.str()}
	return h, d.done()
}

// Event is a custom event sent by Comagic.trackEvent, on a hit of a
// session. Its site, session and id are in the key.
type Event struct {
	ID       uint64
	Session  uint64
	Hit      uint64
	Time     int64
	Category string
	Action   string
	Name     string
	Value    string
}

const eventVersion = 1

// Encode returns the versioned encoding of ev; session and id are in the
// key.
func (ev *Event) Encode() []byte {
	e := newEncoder(eventVersion, 24+len(ev.Category)+len(ev.Action)+len(ev.Name)+len(ev.Value))
	e.uint(ev.Hit)
	e.int(ev.Time)
	e.str(ev.Category)
	e.str(ev.Action)
	e.str(ev.Name)
	e.str(ev.Value)
	return e.b
}

// DecodeEvent decodes an Event; session and id come from the key
// (SessionItemIDs).
func DecodeEvent(session, id uint64, b []byte) (Event, error) {
	return decodeEvent(session, id, b, false)
}

// DecodeEventView is DecodeEvent whose strings alias b (DecodeSessionView).
func DecodeEventView(session, id uint64, b []byte) (Event, error) {
	return decodeEvent(session, id, b, true)
}

func decodeEvent(session, id uint64, b []byte, view bool) (Event, error) {
	d, _ := newDecoder(b, "event", eventVersion)
	d.view = view
	ev := Event{ID: id, Session: session, Hit: d.uint(), Time: d.int(),
		Category: d.str(), Action: d.str(), Name: d.str(), Value: d.str()}
	return ev, d.done()
}

// Lead is a request a visitor left: through Comagic.addOfflineRequest, the
// built-in form, or the site's server (add_offline_message). It keeps a copy
// of the session's traffic source so that lists, exports and webhooks need
// no join.
type Lead struct {
	ID       uint64 // in the key
	Time     int64
	Via      string // how it arrived: "js", "server", "form", "chat", "visitor_info"
	Name     string
	Email    string // normalised address, "" when none or not parsable
	EmailRaw string // as typed
	Phone    string // E.164 digits, "" when none or not parsable
	PhoneRaw string // as typed
	Message  string
	IsSale   bool
	SaleCost int64 // hundredths of the currency unit; 0 when none
	GroupID  uint64
	FormName string
	IP       string
	Attribution

	// PhoneUnparsed and EmailUnparsed flag a phone or an email that was
	// typed but did not parse: the lead is kept with what was typed.
	PhoneUnparsed, EmailUnparsed bool
}

// leadVersion 2 added EmailRaw, PhoneUnparsed and EmailUnparsed; a
// version 1 lead's email was always the parsed one, so it is also its
// EmailRaw.
const leadVersion = 2

// leadStrings lists l's string fields in their encoding order.
// Money writes an amount kept in hundredths (a lead's sale cost, an ad's
// cost) as a decimal with two places, a "-" before a negative one: 999950
// -> "9999.50", 100 -> "1.00". The API, the webhooks and the event stream
// say an amount so, and the reports' money cells begin from it.
func Money(hundredths int64) string {
	var b []byte
	u := uint64(hundredths)
	if hundredths < 0 {
		b, u = append(b, '-'), -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	return string(append(b, '.', byte('0'+u%100/10), byte('0'+u%10)))
}

func (l *Lead) leadStrings() []*string {
	return append([]*string{&l.Via, &l.Name, &l.Email, &l.Phone, &l.PhoneRaw, &l.Message, &l.FormName,
		&l.PageURL, &l.IP}, l.Source.fields()...)
}

// Encode returns the versioned encoding of l; the id is in the key.
func (l *Lead) Encode() []byte {
	e := newEncoder(leadVersion, 128+len(l.Message)+len(l.PageURL))
	e.int(l.Time)
	e.uint(l.Visitor)
	e.uint(l.Session)
	e.uint(l.Hit)
	e.bool(l.IsSale)
	e.int(l.SaleCost)
	e.uint(l.GroupID)
	for _, f := range l.leadStrings() {
		e.str(*f)
	}
	e.str(l.EmailRaw)
	e.bool(l.PhoneUnparsed)
	e.bool(l.EmailUnparsed)
	return e.b
}

// DecodeLead decodes a Lead; id comes from the key (IDFromKey).
func DecodeLead(id uint64, b []byte) (Lead, error) {
	d, v := newDecoder(b, "lead", leadVersion)
	l := Lead{ID: id}
	l.Time = d.int()
	l.Visitor = d.uint()
	l.Session = d.uint()
	l.Hit = d.uint()
	l.IsSale = d.bool()
	l.SaleCost = d.int()
	l.GroupID = d.uint()
	for _, f := range l.leadStrings() {
		*f = d.str()
	}
	if v >= 2 {
		l.EmailRaw = d.str()
		l.PhoneUnparsed = d.bool()
		l.EmailUnparsed = d.bool()
	} else {
		l.EmailRaw = l.Email
	}
	return l, d.done()
}

// WebhookEndpoint is one receiver of a site's events.
type WebhookEndpoint struct {
	ID      uint64
	URL     string
	Secret  string   // HMAC-SHA256 key of the signature header
	Events  []string // event kinds it receives: lead, callback, call
	Created int64
}

// Webhooks is every webhook endpoint of one site.
type Webhooks struct {
	Endpoints []WebhookEndpoint
}

const webhooksVersion = 1

// Encode returns the versioned encoding of w.
func (w *Webhooks) Encode() []byte {
	e := newEncoder(webhooksVersion, 128*len(w.Endpoints))
	e.uint(uint64(len(w.Endpoints)))
	for _, ep := range w.Endpoints {
		e.uint(ep.ID)
		e.str(ep.URL)
		e.str(ep.Secret)
		e.strs(ep.Events)
		e.int(ep.Created)
	}
	return e.b
}

// DecodeWebhooks decodes a Webhooks.
func DecodeWebhooks(b []byte) (Webhooks, error) {
	d, _ := newDecoder(b, "webhooks", webhooksVersion)
	var w Webhooks
	n := d.uint()
	if n > uint64(len(d.b)) { // each endpoint takes at least one byte
		d.fail("bad count")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		ep := WebhookEndpoint{ID: d.uint(), URL: d.str(), Secret: d.str(), Events: d.strs(), Created: d.int()}
		w.Endpoints = append(w.Endpoints, ep)
	}
	return w, d.done()
}

// Delivery states.
const (
	DeliveryPending   byte = 0 // in the outbox, due at Due
	DeliveryDelivered byte = 1 // a receiver answered 2xx
	DeliveryDropped   byte = 2 // its endpoint was removed before delivery
	DeliveryRefused   byte = 3 // the receiver refused it for good (an SMTP server's 5xx): not tried again unless resent
)

// MaxDeliveryAttempts is how many of its most recent attempts a Delivery
// keeps in its log; Attempts counts them all.
const MaxDeliveryAttempts = 20

// Delivery is one event sent to one webhook endpoint: the exact body (so
// that every retry sends, and signs, the same bytes), its state and its
// recent attempts.
type Delivery struct {
	ID        uint64 // in the key
	Endpoint  uint64
	URL       string // the endpoint's URL when enqueued, for the log
	Event     string // kind: lead, callback, call
	EventID   uint64
	Body      []byte
	Created   int64
	State     byte
	Due       int64 // next attempt, while pending
	Attempts  uint32
	Delivered int64
	Recent    []DeliveryAttempt // oldest first, at most MaxDeliveryAttempts
}

// DeliveryAttempt is one POST of a delivery.
type DeliveryAttempt struct {
	Time     int64
	Status   int    // HTTP status; 0 when there was no answer
	Error    string // why it failed; "" on success
	Duration int64  // milliseconds
	// Reason is why a POST failed, in a few kinds the delivery log words
	// for the site's owner (webhooks.Reason*); 0 when it did not fail, for
	// an email or a Telegram message, and in records of version 1.
	Reason byte
}

const deliveryVersion = 2

// Encode returns the versioned encoding of dl; the id is in the key.
func (dl *Delivery) Encode() []byte {
	e := newEncoder(deliveryVersion, 64+len(dl.Body)+32*len(dl.Recent))
	e.uint(dl.Endpoint)
	e.str(dl.URL)
	e.str(dl.Event)
	e.uint(dl.EventID)
	e.bytes(dl.Body)
	e.int(dl.Created)
	e.uint(uint64(dl.State))
	e.int(dl.Due)
	e.uint(uint64(dl.Attempts))
	e.int(dl.Delivered)
	e.uint(uint64(len(dl.Recent)))
	for _, a := range dl.Recent {
		e.int(a.Time)
		e.int(int64(a.Status))
		e.str(a.Error)
		e.int(a.Duration)
		e.uint(uint64(a.Reason))
	}
	return e.b
}

// DecodeDelivery decodes a Delivery; id comes from the key.
func DecodeDelivery(id uint64, b []byte) (Delivery, error) {
	d, v := newDecoder(b, "delivery", deliveryVersion)
	dl := Delivery{ID: id}
	dl.Endpoint = d.uint()
	dl.URL = d.str()
	dl.Event = d.str()
	dl.EventID = d.uint()
	dl.Body = d.bytes()
	dl.Created = d.int()
	state := d.uint()
	if state > uint64(DeliveryRefused) {
		d.fail("bad delivery state")
	}
	dl.State = byte(state)
	dl.Due = d.int()
	dl.Attempts = d.uint32("attempts")
	dl.Delivered = d.int()
	n := d.uint()
	if n > MaxDeliveryAttempts || n > uint64(len(d.b)) {
		d.fail("bad attempt count")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		a := DeliveryAttempt{Time: d.int()}
		st := d.int()
		if st < 0 || st > 999 {
			d.fail("bad status")
		}
		a.Status = int(st)
		a.Error = d.str()
		a.Duration = d.int()
		if v >= 2 {
			r := d.uint()
			if r > 255 {
				d.fail("bad attempt reason")
			}
			a.Reason = byte(r)
		}
		dl.Recent = append(dl.Recent, a)
	}
	return dl, d.done()
}

// WebhookHealth is how the deliveries to one webhook endpoint have gone
// since its last 2xx (HookHealthKey): written in the same Update as each
// attempt's outcome, so that it never disagrees with the delivery log.
type WebhookHealth struct {
	// FailingSince is when the first attempt that failed since the last
	// 2xx was made (Unix ms); 0 while the last attempt succeeded.
	FailingSince int64
	// Failures counts the failed attempts since FailingSince.
	Failures uint32
	// Last is the latest failed attempt.
	Last DeliveryAttempt
	// Alerted is the FailingSince of the failing episode the site's
	// owners were emailed about; 0: none. Written once the SMTP server
	// took the email, so that a restart does not send it again.
	Alerted int64
	// Recovered is when a 2xx ended the episode of Alerted (Unix ms),
	// while the email saying so is yet to go; 0: none.
	Recovered int64
}

const webhookHealthVersion = 1

// Encode returns the versioned encoding of h.
func (h *WebhookHealth) Encode() []byte {
	e := newEncoder(webhookHealthVersion, 64+len(h.Last.Error))
	e.int(h.FailingSince)
	e.uint(uint64(h.Failures))
	e.int(h.Last.Time)
	e.int(int64(h.Last.Status))
	e.str(h.Last.Error)
	e.int(h.Last.Duration)
	e.uint(uint64(h.Last.Reason))
	e.int(h.Alerted)
	e.int(h.Recovered)
	return e.b
}

// DecodeWebhookHealth decodes a WebhookHealth.
func DecodeWebhookHealth(b []byte) (WebhookHealth, error) {
	d, _ := newDecoder(b, "webhook health", webhookHealthVersion)
	var h WebhookHealth
	h.FailingSince = d.int()
	h.Failures = d.uint32("failures")
	h.Last.Time = d.int()
	st := d.int()
	if st < 0 || st > 999 {
		d.fail("bad status")
	}
	h.Last.Status = int(st)
	h.Last.Error = d.str()
	h.Last.Duration = d.int()
	r := d.uint()
	if r > 255 {
		d.fail("bad attempt reason")
	}
	h.Last.Reason = byte(r)
	h.Alerted = d.int()
	h.Recovered = d.int()
	return h, d.done()
}

// Touch is what the attribution models of the reports need to know about
// a visitor's sessions (TouchKey): the first, the last and the last that
// did not come direct (0: none yet), and when the last began. It is
// written as each session of a person (not a bot) starts.
type Touch struct {
	First, Last, LastNonDirect uint64
	LastStarted                int64
}

const touchVersion = 1

// Encode returns the versioned encoding of t.
func (t *Touch) Encode() []byte {
	e := newEncoder(touchVersion, 32)
	e.uint(t.First)
	e.uint(t.Last)
	e.uint(t.LastNonDirect)
	e.int(t.LastStarted)
	return e.b
}

// DecodeTouch decodes a Touch.
func DecodeTouch(b []byte) (Touch, error) {
	d, _ := newDecoder(b, "touch", touchVersion)
	t := Touch{First: d.uint(), Last: d.uint(), LastNonDirect: d.uint(), LastStarted: d.int()}
	return t, d.done()
}

// Cost is what a site spent on ads one day for one source, medium and
// campaign (CostKey), in hundredths of the currency unit.
type Cost struct {
	Amount   int64
	Imported int64 // when (Unix ms)
}

const costVersion = 1

// Encode returns the versioned encoding of c.
func (c *Cost) Encode() []byte {
	e := newEncoder(costVersion, 16)
	e.int(c.Amount)
	e.int(c.Imported)
	return e.b
}

// DecodeCost decodes a Cost.
func DecodeCost(b []byte) (Cost, error) {
	d, _ := newDecoder(b, "cost", costVersion)
	c := Cost{Amount: d.int(), Imported: d.int()}
	return c, d.done()
}

// Invite is a one-time link that lets its holder become a user: the
// address and role the owner chose, until it expires. Found by the hash
// of its token; taking it up deletes it.
type Invite struct {
	Email   string
	Role    string
	By      string // the owner who made it
	Created int64
	Expires int64 // Unix ms
}

const inviteVersion = 1

// Encode returns the versioned encoding of i.
func (i *Invite) Encode() []byte {
	e := newEncoder(inviteVersion, 64+len(i.Email)+len(i.By))
	e.str(i.Email)
	e.str(i.Role)
	e.str(i.By)
	e.int(i.Created)
	e.int(i.Expires)
	return e.b
}

// PasswordReset is a one-time link that sets a forgotten password: whose,
// until when, and the user it was made for (their record's creation time
// and epoch then). A link of a user since removed and made again, or of
// one whose password changed or whose sessions were all ended since, sets
// nothing. Found by the hash of its token.
type PasswordReset struct {
	Email       string
	Created     int64 // Unix ms
	Expires     int64 // Unix ms
	UserCreated int64 // the user's Created when the link was made
	Epoch       uint32
}

const resetVersion = 1

// Encode returns the versioned encoding of r.
func (r *PasswordReset) Encode() []byte {
	e := newEncoder(resetVersion, 48+len(r.Email))
	e.str(r.Email)
	e.int(r.Created)
	e.int(r.Expires)
	e.int(r.UserCreated)
	e.uint(uint64(r.Epoch))
	return e.b
}

// DecodePasswordReset decodes a PasswordReset of any version.
func DecodePasswordReset(b []byte) (PasswordReset, error) {
	d, _ := newDecoder(b, "password reset", resetVersion)
	r := PasswordReset{Email: d.str(), Created: d.int(), Expires: d.int(), UserCreated: d.int()}
	r.Epoch = d.uint32("reset epoch")
	return r, d.done()
}

// DecodeInvite decodes an Invite of any version.
func DecodeInvite(b []byte) (Invite, error) {
	d, _ := newDecoder(b, "invite", inviteVersion)
	i := Invite{Email: d.str(), Role: d.str(), By: d.str(), Created: d.int(), Expires: d.int()}
	return i, d.done()
}

// AccountMail is an account's email waiting for the SMTP server
// (prefixAccountMail): a password reset asked for, or an invite's link.
// It is sent only before Expires (the life of the link it carries) and
// deleted then at the latest.
type AccountMail struct {
	Kind  byte // MailReset or MailInvite
	State byte // MailQueued; an invite's MailSent or MailRefused afterwards
	// Email is the address: the one a reset was asked for (maybe no
	// user's: the worker looks it up), or the one invited.
	Email string
	// Lang is the language of the page that asked (a reset's user's own
	// choice wins), or the one the invite form chose.
	Lang    string
	Created int64 // Unix ms: asked for
	Expires int64 // Unix ms: not sent after, and deleted then
	// Token is an invite's one-time token, the email's link, kept only
	// until the SMTP server takes the email or it is given up; a reset
	// has none (its link is made when it is sent).
	Token string
	// Invite is the invite's id (accounts.PendingInvite.ID): how the Team
	// page finds the state of its email. Role and By are the invite's.
	Invite    string
	Role, By  string
	Attempts  uint32
	LastError string // the SMTP server's last refusal, or why none answered
}

// The kinds of account emails (AccountMail.Kind).
const (
	MailReset  byte = 1
	MailInvite byte = 2
)

// The states of an account email (AccountMail.State).
const (
	MailQueued  byte = 0 // waiting for its next attempt
	MailSent    byte = 1 // the SMTP server took it
	MailRefused byte = 2 // refused for good, or not sent in time
)

const accountMailVersion = 1

// Encode returns the versioned encoding of m.
func (m *AccountMail) Encode() []byte {
	e := newEncoder(accountMailVersion, 64+len(m.Email)+len(m.Token)+len(m.Invite)+len(m.By)+len(m.LastError))
	e.uint(uint64(m.Kind))
	e.uint(uint64(m.State))
	e.str(m.Email)
	e.str(m.Lang)
	e.int(m.Created)
	e.int(m.Expires)
	e.str(m.Token)
	e.str(m.Invite)
	e.str(m.Role)
	e.str(m.By)
	e.uint(uint64(m.Attempts))
	e.str(m.LastError)
	return e.b
}

// DecodeAccountMail decodes an AccountMail of any version.
func DecodeAccountMail(b []byte) (AccountMail, error) {
	d, _ := newDecoder(b, "account mail", accountMailVersion)
	small := func(field string) byte {
		v := d.uint32(field)
		if v > 255 {
			d.fail(field + " out of range")
		}
		return byte(v)
	}
	m := AccountMail{Kind: small("mail kind"), State: small("mail state")}
	m.Email, m.Lang = d.str(), d.str()
	m.Created, m.Expires = d.int(), d.int()
	m.Token, m.Invite, m.Role, m.By = d.str(), d.str(), d.str(), d.str()
	m.Attempts = d.uint32("mail attempts")
	m.LastError = d.str()
	return m, d.done()
}
