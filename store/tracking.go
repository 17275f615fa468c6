package store

import "encoding/binary"

// Records of call tracking: a site's number configuration, the lease
// history of its tracking numbers and the calls they received. Encodings
// follow records.go: a version byte, then fields in a fixed order.

// NumbersConfig is a site's call-tracking set-up. Numbers are E.164 digits
// without "+" ("74951825168").
type NumbersConfig struct {
	Revision    uint64 // bumped by every change
	SiteNumbers []SiteNumber
	Selectors   []string // extra CSS selectors whose elements show the number
	Statics     []StaticNumber
	Pools       []PoolConfig
	NextPool    uint32 // id of the next pool; ids are never reused
	// RemovedPools names the pools removed from the set-up, so that
	// their calls still say which pool (version 3).
	RemovedPools []RemovedPool
}

// RemovedPool is a pool no longer in a set-up: its id and last name.
type RemovedPool struct {
	ID   uint32
	Name string
}

// SiteNumber is one of the site's own numbers, as written on its pages.
type SiteNumber struct {
	Number  string
	Written string // as the owner typed it
}

// StaticNumber is a tracking number shown to every visitor its rule matches.
type StaticNumber struct {
	Number   string
	Rule     string // canonical rule text (numbers.Rule.String)
	Priority int64
	Replaces []string // site numbers it stands in for; empty: all of them
	Created  int64
}

// PoolConfig is a dynamic pool: each visitor its rule matches leases one of
// its numbers.
type PoolConfig struct {
	ID       uint32
	Name     string
	Numbers  []string
	Fallback string // shown when every number is leased; "" keeps the site's number
	Reserve  int64  // milliseconds after the visitor's last activity
	Rule     string
	Priority int64
	Replaces []string
	Created  int64
	// Forms is how each of Numbers reads, in the same order, kept so that
	// start-up need not parse thousands of numbers again; empty in a
	// config stored before it was kept (version 1).
	Forms []NumberForm
	// AddrCap is how many numbers of the pool visitors from one address
	// (an IPv6 /64) may hold at once; 0: no cap. A config stored before it
	// was kept (version 3 and before) reads DefaultPoolAddrCap.
	AddrCap int64
}

// DefaultPoolAddrCap is PoolConfig.AddrCap unless the owner set another
// (numbers.DefaultAddrCap, which says why).
const DefaultPoolAddrCap = 10

// NumberForm is how a stored number (E.164 digits) reads, as parsing it
// found: its first CC digits are its country calling code and the rest its
// national significant number, Trunk is the prefix dialled before that at
// home ("8" in Russia), Text its international format.
type NumberForm struct {
	CC    int
	Trunk string
	Text  string
}

// numbersVersion 2 added PoolConfig.Forms; 3, RemovedPools; 4,
// PoolConfig.AddrCap.
const numbersVersion = 4

// Encode returns the versioned encoding of c.
func (c *NumbersConfig) Encode() []byte {
	e := newEncoder(numbersVersion, 64+32*len(c.SiteNumbers)+64*len(c.Statics)+256*len(c.Pools))
	e.uint(c.Revision)
	e.uint(uint64(len(c.SiteNumbers)))
	for _, n := range c.SiteNumbers {
		e.str(n.Number)
		e.str(n.Written)
	}
	e.strs(c.Selectors)
	e.uint(uint64(len(c.Statics)))
	for _, s := range c.Statics {
		e.str(s.Number)
		e.str(s.Rule)
		e.int(s.Priority)
		e.strs(s.Replaces)
		e.int(s.Created)
	}
	e.uint(uint64(len(c.Pools)))
	for _, p := range c.Pools {
		e.uint(uint64(p.ID))
		e.str(p.Name)
		e.strs(p.Numbers)
		e.str(p.Fallback)
		e.int(p.Reserve)
		e.str(p.Rule)
		e.int(p.Priority)
		e.strs(p.Replaces)
		e.int(p.Created)
		e.uint(uint64(len(p.Forms)))
		for _, f := range p.Forms {
			e.uint(uint64(f.CC))
			e.str(f.Trunk)
			e.str(f.Text)
		}
		e.int(p.AddrCap)
	}
	e.uint(uint64(c.NextPool))
	e.uint(uint64(len(c.RemovedPools)))
	for _, p := range c.RemovedPools {
		e.uint(uint64(p.ID))
		e.str(p.Name)
	}
	return e.b
}

// DecodeNumbersConfig decodes a NumbersConfig; the result does not alias b.
func DecodeNumbersConfig(b []byte) (NumbersConfig, error) { return decodeNumbersConfig(b, false) }

// DecodeNumbersConfigView is DecodeNumbersConfig whose pools' Numbers and
// Forms alias b (the rest does not): for a caller that keeps the pools'
// numbers in a form of its own, copied before b changes, without a string
// made of each (tens of thousands of them at start-up).
func DecodeNumbersConfigView(b []byte) (NumbersConfig, error) { return decodeNumbersConfig(b, true) }

func decodeNumbersConfig(b []byte, view bool) (NumbersConfig, error) {
	d, v := newDecoder(b, "numbers config", numbersVersion)
	var c NumbersConfig
	c.Revision = d.uint()
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		c.SiteNumbers = append(c.SiteNumbers, SiteNumber{Number: d.str(), Written: d.str()})
	}
	c.Selectors = d.strs()
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		c.Statics = append(c.Statics, StaticNumber{Number: d.str(), Rule: d.str(), Priority: d.int(),
			Replaces: d.strs(), Created: d.int()})
	}
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		p := PoolConfig{ID: d.uint32("pool id"), Name: d.str()}
		d.view = view
		p.Numbers = d.strs()
		d.view = false
		p.Fallback, p.Reserve, p.Rule, p.Priority, p.Replaces, p.Created = d.str(), d.int(), d.str(), d.int(), d.strs(), d.int()
		if v >= 2 {
			d.view = view
			n := d.count()
			if n != 0 && n != uint64(len(p.Numbers)) {
				d.fail("pool forms do not match its numbers")
			}
			if n > 0 {
				p.Forms = make([]NumberForm, 0, n)
			}
			for j := uint64(0); j < n && d.err == nil; j++ {
				p.Forms = append(p.Forms, NumberForm{CC: int(d.uint32("country code length")), Trunk: d.str(), Text: d.str()})
			}
			d.view = false
		}
		p.AddrCap = DefaultPoolAddrCap
		if v >= 4 {
			p.AddrCap = d.int()
		}
		c.Pools = append(c.Pools, p)
	}
	c.NextPool = d.uint32("next pool")
	if v >= 3 {
		for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
			c.RemovedPools = append(c.RemovedPools, RemovedPool{ID: d.uint32("pool id"), Name: d.str()})
		}
	}
	return c, d.done()
}

// count reads a count of records that each take at least one byte.
func (d *decoder) count() uint64 {
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("bad count")
		return 0
	}
	return n
}

// Source is the traffic source of a session, as the tracker read it from
// its first hit, copied into the records attributed to the session so that
// they read without a join.
type Source struct {
	Channel     string `json:"channel"` // organic, social, referral, direct, ad
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	UTMTerm     string `json:"utm_term"`
	UTMContent  string `json:"utm_content"`
	Click       string `json:"click"` // click id kind: gclid, yclid, fbclid
	Referrer    string `json:"referrer"`
	Landing     string `json:"landing_page"` // URL of the first hit
}

// TrafficSource is the session's traffic source, to copy into what is
// attributed to it.
func (s *Session) TrafficSource() Source {
	return Source{Channel: s.Channel, UTMSource: s.UTMSource, UTMMedium: s.UTMMedium, UTMCampaign: s.UTMCampaign,
		UTMTerm: s.UTMTerm, UTMContent: s.UTMContent, Click: s.Click, Referrer: s.Referrer, Landing: s.Landing}
}

// Attribution ties what a visitor left (a lead, a callback) to the visitor,
// session and hit it came from, with the session's traffic source copied:
// the part the records of both share, embedded in each.
type Attribution struct {
	Visitor uint64
	Session uint64
	Hit     uint64 // 0 when the hit is not known
	PageURL string // the page it was left on
	Source         // of the session, copied; zero when the session is gone
}

// fields lists s's fields in their encoding order.
func (s *Source) fields() []*string {
	return []*string{&s.Channel, &s.UTMSource, &s.UTMMedium, &s.UTMCampaign, &s.UTMTerm,
		&s.UTMContent, &s.Click, &s.Referrer, &s.Landing}
}

// Lease is who claimed a tracking number, and from where: the claim part of
// a lease in the history (LeaseClaimKey). The claim time is in the key and
// the until in its own key, rewritten on each renew.
type Lease struct {
	Site    uint32
	Pool    uint32
	Visitor uint64
	Session uint64
	Source
}

const leaseVersion = 1

func (l *Lease) strings() []*string { return l.Source.fields() }

// Encode returns the versioned encoding of l.
func (l *Lease) Encode() []byte {
	return l.AppendEncode(make([]byte, 0, 33+len(l.Referrer)+len(l.Landing)))
}

// AppendEncode appends Encode's bytes to dst: a claim's lease record is
// encoded on the stack of the hit that claims it.
func (l *Lease) AppendEncode(dst []byte) []byte {
	// The fields as encoder writes them, on a slice rather than an
	// encoder: its pointer receiver would move dst to the heap.
	b := append(dst, leaseVersion)
	b = binary.AppendUvarint(b, uint64(l.Site))
	b = binary.AppendUvarint(b, uint64(l.Pool))
	b = binary.AppendUvarint(b, l.Visitor)
	b = binary.AppendUvarint(b, l.Session)
	for _, f := range l.strings() {
		b = appendStr(b, *f)
	}
	return b
}

// DecodeLease decodes a Lease.
func DecodeLease(b []byte) (Lease, error) {
	d, _ := newDecoder(b, "lease", leaseVersion)
	var l Lease
	l.Site = d.uint32("site")
	l.Pool = d.uint32("pool")
	l.Visitor = d.uint()
	l.Session = d.uint()
	for _, f := range l.strings() {
		*f = d.str()
	}
	return l, d.done()
}

// DecodeLeaseVisitor decodes only the visitor of a Lease: what start-up
// needs to put a live lease back, without the strings of its source.
func DecodeLeaseVisitor(b []byte) (uint64, error) {
	d, _ := newDecoder(b, "lease", leaseVersion)
	d.uint32("site")
	d.uint32("pool")
	v := d.uint()
	return v, d.err
}

// EncodeUntil is the value of a lease's until key: Unix ns, big endian.
func EncodeUntil(until int64) []byte { return AppendUntil(nil, until) }

// AppendUntil appends the encoding of until to dst.
func AppendUntil(dst []byte, until int64) []byte {
	return append(dst, byte(until>>56), byte(until>>48), byte(until>>40), byte(until>>32),
		byte(until>>24), byte(until>>16), byte(until>>8), byte(until))
}

// DecodeUntil decodes the value of a lease's until key.
func DecodeUntil(b []byte) (int64, error) {
	if len(b) != 8 || b[0]&0x80 != 0 {
		return 0, ErrCorrupt
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// Call is an inbound call the telephony side reported, with the visit it is
// attributed to (copied, so that lists and exports read one record).
type Call struct {
	ID       uint64 // in the key
	Time     int64  // when the call started (Unix ms)
	Received int64  // when it was reported
	Called   string // E.164 digits
	Caller   string // E.164 digits; "" when hidden or not a number
	// CallerTyped is the caller as the telephony side wrote it when it is
	// not a phone number ("anonymous", an internal extension "101"): the
	// call is kept, its caller flagged; "" when Caller has it.
	CallerTyped  string
	Duration     uint32 // seconds
	Answered     bool
	RecordingURL string

	Kind       string // what the called number is: dynamic, static, fallback, site, unknown
	Attributed bool
	Pool       uint32
	Visitor    uint64
	Session    uint64
	LeaseSince int64 // Unix ns claim time of the lease it is attributed to; 0 when none
	Source
	// Match says how the call was tied to its source and visitor (Match*);
	// "" when it was not. Version 1 records decode with the match their
	// kind and attribution imply (a lease or a static rule).
	Match string
	// CalledExt is the extension the telephony side reported with the
	// called number ("12" of "+7 495 000-00-01 доб. 12", "74950000001p12",
	// "tel:+74950000001;ext=12"), not part of Called; "" when none.
	CalledExt string
	// PoolName is what Pool was called when the call was stored, so that
	// a call of a pool since removed or renamed still says which; "" in a
	// call stored before it was kept (version 4), or of no pool.
	PoolName string
}

// How a call was matched (Call.Match).
const (
	MatchLease          = "lease"            // the visitor who held the dynamic number then
	MatchStatic         = "static"           // the static number's rule
	MatchCallerID       = "caller_id"        // a visitor who left the caller's number
	MatchStaticCallerID = "static+caller_id" // the rule's source, the visitor by caller ID
)

// callVersion 2 added Match; 3, CallerTyped; 4, CalledExt and PoolName.
const callVersion = 4

func (c *Call) strings() []*string {
	return append([]*string{&c.Called, &c.Caller, &c.RecordingURL, &c.Kind}, c.Source.fields()...)
}

// Encode returns the versioned encoding of c; the id is in the key.
func (c *Call) Encode() []byte {
	e := newEncoder(callVersion, 96+len(c.RecordingURL)+len(c.Landing)+len(c.Referrer))
	e.int(c.Time)
	e.int(c.Received)
	e.uint(uint64(c.Duration))
	e.bool(c.Answered)
	e.bool(c.Attributed)
	e.uint(uint64(c.Pool))
	e.uint(c.Visitor)
	e.uint(c.Session)
	e.int(c.LeaseSince)
	for _, f := range c.strings() {
		e.str(*f)
	}
	e.str(c.Match)
	e.str(c.CallerTyped)
	e.str(c.CalledExt)
	e.str(c.PoolName)
	return e.b
}

// DecodeCall decodes a Call; id comes from the key (IDFromKey).
func DecodeCall(id uint64, b []byte) (Call, error) {
	d, v := newDecoder(b, "call", callVersion)
	c := Call{ID: id}
	c.Time = d.int()
	c.Received = d.int()
	c.Duration = d.uint32("duration")
	c.Answered = d.bool()
	c.Attributed = d.bool()
	c.Pool = d.uint32("pool")
	c.Visitor = d.uint()
	c.Session = d.uint()
	c.LeaseSince = d.int()
	for _, f := range c.strings() {
		*f = d.str()
	}
	switch {
	case v >= 2:
		c.Match = d.str()
	case c.Attributed && c.Kind == "dynamic":
		c.Match = MatchLease
	case c.Attributed && c.Kind == "static":
		c.Match = MatchStatic
	}
	if v >= 3 {
		c.CallerTyped = d.str()
	}
	if v >= 4 {
		c.CalledExt = d.str()
		c.PoolName = d.str()
	}
	return c, d.done()
}
