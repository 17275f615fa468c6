package httpd

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/admin"
	"appliance/httpd/visits"
	"appliance/numbers/tracking"
	"appliance/store"
)

// Phone number replacement on the tracker side (tracker-protocol.md §7):
// the "phones" of a hit's answer and of the lease heartbeat.

// phonesAnswer is the "phones" field: what the snippet needs to replace the
// site's numbers on the page, apply the same from its cache on the next page
// view, and keep its leases alive. nil (JSON null) when nothing is replaced.
type phonesAnswer struct {
	V         int           `json:"v"`
	Numbers   []phoneAnswer `json:"numbers"`
	Selectors []string      `json:"selectors"`
	TTL       int64         `json:"ttl"`             // seconds the answer may be applied from cache
	Renew     int64         `json:"renew,omitempty"` // seconds between heartbeats of a visible page; absent without leases
}

// phoneAnswer is one site number and its replacement.
type phoneAnswer struct {
	Site  phoneForms `json:"site"`
	Raw   string     `json:"raw"` // the replacement, E.164 digits
	CC    string     `json:"cc"`
	NSN   string     `json:"nsn"`
	Trunk string     `json:"trunk"`
	Text  string     `json:"text"` // international format, for targets without a number to copy the format of
	Type  string     `json:"type"` // static or dynamic
	Img   phoneImg   `json:"img"`  // path of Text's picture (GET /img/phone), for image targets
	TTL   int64      `json:"ttl,omitempty"`
	// Forms maps each way the site number is written, as digits, to the
	// replacement's digits in the same form, or "" when it cannot be
	// written so: the snippet matches and copies formats with it alone.
	Forms numberForms `json:"forms"`
}

// phoneForms are the parts of a site number the snippet matches written
// numbers against: a run of digits d is the number when d is cc+nsn,
// trunk+nsn or nsn.
type phoneForms struct {
	Raw   string `json:"raw"`
	CC    string `json:"cc"`
	NSN   string `json:"nsn"`
	Trunk string `json:"trunk"`
}

// phonesOf encodes an assignment of site's for the snippet; nil when it
// replaces nothing.
func phonesOf(site *store.Site, a *tracking.Assignment) *phonesAnswer {
	if len(a.Replacements) == 0 {
		return nil
	}
	p := phonesInto(site, a, nil)
	return &p
}

// phonesInto is phonesOf's answer, its numbers appended to buf (a
// caller's array, so that the hit's answer is built on its stack).
func phonesInto(site *store.Site, a *tracking.Assignment, buf []phoneAnswer) phonesAnswer {
	p := phonesAnswer{V: 2, Selectors: a.Selectors, TTL: seconds(a.TTL), Renew: seconds(a.Renew), Numbers: buf[:0]}
	if p.Selectors == nil {
		p.Selectors = []string{}
	}
	for _, r := range a.Replacements {
		pa := phoneAnswer{
			Site: phoneForms{Raw: r.Site.Digits, CC: r.Site.CC, NSN: r.Site.NSN, Trunk: r.Site.Trunk},
			Raw:  r.Number.Digits, CC: r.Number.CC, NSN: r.Number.NSN, Trunk: r.Number.Trunk, Text: r.Number.Text,
			Type: string(r.Type), Img: phoneImg{site, r.Number.Text},
		}
		if r.Type == tracking.Dynamic {
			pa.TTL = p.TTL
		}
		pa.Forms = replacementForms(pa)
		p.Numbers = append(p.Numbers, pa)
	}
	return p
}

// replacementForms maps the ways n's site number is written (cc+nsn,
// trunk+nsn, nsn; a run of digits d on the page is the number when it is
// one of them) to n's digits in the same form: cc+nsn for cc+nsn, nsn for
// nsn, trunk+nsn for trunk+nsn. The snippet writes those digits into the
// places of the original's, keeping its separators ("8 (487) 275-14-04" ->
// "8 (495) 000-00-01"); when they have another length, or the replacement
// is of another country or has no trunk prefix, the form maps to "" and
// the snippet shows n.Text. The forms are kept as their two parts, never
// joined into a string: a claim's answer builds them on every hit.
func replacementForms(n phoneAnswer) numberForms {
	s := n.Site
	var m numberForms
	ccNSN := form{s.CC, s.NSN}
	for _, f := range [...]form{ccNSN, {s.Trunk, s.NSN}, {"", s.NSN}} {
		if _, ok := m.get(f); ok {
			continue
		}
		var r form
		switch {
		case f.eq(ccNSN):
			r = form{n.CC, n.NSN}
		case f.eq(form{"", s.NSN}):
			r = form{"", n.NSN}
		case n.Trunk != "":
			r = form{n.Trunk, n.NSN}
		}
		if r.len() != f.len() || n.CC != s.CC {
			r = form{}
		}
		m.kv[m.n] = [2]form{f, r}
		m.n++
	}
	return m
}

// form is the string f[0] + f[1], not built.
type form [2]string

func (f form) len() int { return len(f[0]) + len(f[1]) }

// at is byte i of the string.
func (f form) at(i int) byte {
	if i < len(f[0]) {
		return f[0][i]
	}
	return f[1][i-len(f[0])]
}

// compare compares the strings f and g as strings.Compare does.
func (f form) compare(g form) int {
	n := min(f.len(), g.len())
	for i := 0; i < n; i++ {
		if a, b := f.at(i), g.at(i); a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return f.len() - g.len()
}

func (f form) eq(g form) bool { return f.len() == g.len() && f.compare(g) == 0 }

// String is the string built, for tests and the rare answer that needs
// escaping.
func (f form) String() string { return f[0] + f[1] }

// appendJSON appends f as encoding/json writes the string.
func (f form) appendJSON(b []byte) []byte {
	if !jsonPlain(f[0]) || !jsonPlain(f[1]) {
		return appendJSONString(b, f.String())
	}
	b = append(b, '"')
	b = append(b, f[0]...)
	b = append(b, f[1]...)
	return append(b, '"')
}

// jsonPlain reports whether encoding/json writes s as it is (between
// quotes): printable ASCII other than the characters it escapes.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// numberForms is the map of replacementForms: at most three forms, kept
// in an array rather than a map (it is built for every number of every
// hit's answer), written as encoding/json writes a map[string]string.
type numberForms struct {
	n  int
	kv [3][2]form // form, replacement
}

// get is the replacement of form f.
func (m *numberForms) get(f form) (form, bool) {
	for _, kv := range m.kv[:m.n] {
		if kv[0].eq(f) {
			return kv[1], true
		}
	}
	return form{}, false
}

// appendJSON appends m as a JSON object, keys sorted as encoding/json
// sorts a map's.
func (m *numberForms) appendJSON(b []byte) []byte {
	kv := m.kv
	sorted := kv[:m.n]
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j][0].compare(sorted[j-1][0]) < 0; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	b = append(b, '{')
	for i, e := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = e[0].appendJSON(b)
		b = append(b, ':')
		b = e[1].appendJSON(b)
	}
	return append(b, '}')
}

// MarshalJSON writes m as a map[string]string.
func (m numberForms) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

// appendPhones appends p as encoding/json writes it (TestHitAnswerJSON),
// without reflection: it is in every hit's answer of a site with numbers.
func appendPhones(b []byte, p *phonesAnswer) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(p.V), 10)
	b = append(b, `,"numbers":`...)
	if p.Numbers == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Numbers {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPhone(b, &p.Numbers[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"selectors":`...)
	if p.Selectors == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range p.Selectors {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"ttl":`...)
	b = strconv.AppendInt(b, p.TTL, 10)
	if p.Renew != 0 {
		b = append(b, `,"renew":`...)
		b = strconv.AppendInt(b, p.Renew, 10)
	}
	return append(b, '}')
}

func appendPhone(b []byte, n *phoneAnswer) []byte {
	b = append(b, `{"site":{"raw":`...)
	b = appendJSONString(b, n.Site.Raw)
	b = append(b, `,"cc":`...)
	b = appendJSONString(b, n.Site.CC)
	b = append(b, `,"nsn":`...)
	b = appendJSONString(b, n.Site.NSN)
	b = append(b, `,"trunk":`...)
	b = appendJSONString(b, n.Site.Trunk)
	b = append(b, `},"raw":`...)
	b = appendJSONString(b, n.Raw)
	b = append(b, `,"cc":`...)
	b = appendJSONString(b, n.CC)
	b = append(b, `,"nsn":`...)
	b = appendJSONString(b, n.NSN)
	b = append(b, `,"trunk":`...)
	b = appendJSONString(b, n.Trunk)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, n.Text)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, n.Type)
	b = append(b, `,"img":`...)
	b = n.Img.appendJSON(b)
	if n.TTL != 0 {
		b = append(b, `,"ttl":`...)
		b = strconv.AppendInt(b, n.TTL, 10)
	}
	b = append(b, `,"forms":`...)
	b = n.Forms.appendJSON(b)
	return append(b, '}')
}

func seconds(d time.Duration) int64 { return int64(max(d, 0) / time.Second) }

// now is the server's clock (Options.Now, time.Now by default).
func (s *Server) now() time.Time { return s.opts.Now() }

// hitNumbers assigns a page view's numbers inside the hit's own durable
// write (leasing or renewing the visitor's dynamic number): a crash never
// keeps the hit without its lease or the lease without its hit. a is the
// assignment once the hit's write has run.
type hitNumbers struct {
	numbers *tracking.Tracker
	site    uint32
	addr    uint64 // numbers.AddrKey of the client's address
	now     time.Time
	a       tracking.Assignment
	space   tracking.AssignSpace // a's replacements and leases
}

// InHit is the hit's visits.HitHook.
func (h *hitNumbers) InHit(tx *store.Tx, res visits.HitResult) error {
	sess := &res.Session
	var err error
	if h.a, err = h.numbers.AssignIn(&h.space, h.site, sess.Visitor, sess.ID, h.addr, tracking.VisitOf(sess), sess.Bot, h.now); err != nil {
		return err
	}
	return h.a.Persist(tx)
}

// leaseRequest is the body of POST /t/v1/lease, the heartbeat of a page
// kept visible.
type leaseRequest struct {
	credFields
}

func parseLeaseRequest(body []byte) (leaseRequest, error) {
	var r leaseRequest
	err := decodeBody(body, maxTrackerBody, &r, refuseUnknown)
	return r, err
}

// trackLease serves POST /t/v1/lease: renew the visitor's leases (claim
// anew one that lapsed) and answer the same "phones" as a hit.
func (s *trackerHandlers) trackLease(ctx *fasthttp.RequestCtx) error {
	req, err := parseLeaseRequest(ctx.Request.Body())
	if err != nil {
		return err
	}
	site, ci, err := s.checkCreds(req.credFields)
	if err != nil {
		return err
	}
	a, err := s.numbers.Heartbeat(ctx, site.ID, ci.Visitor, ci.Session, s.clientAddr(ctx), s.now())
	if err != nil {
		return err
	}
	writeOK(ctx, struct {
		Phones *phonesAnswer `json:"phones"`
	}{phonesOf(site, &a)})
	return nil
}

// numbersInfo reads the set-up and today's usage of a site.
func (s *Server) numbersInfo(ctx context.Context, site *store.Site) (admin.Numbers, error) {
	return numbersInfo(ctx, s.numbers, site, s.now())
}

func numbersInfo(ctx context.Context, nums *tracking.Tracker, site *store.Site, now time.Time) (admin.Numbers, error) {
	c := nums.Config(site.ID)
	out := admin.Numbers{Site: site.Key, Revision: c.Revision, SiteNumbers: []admin.SiteNumber{}, Selectors: c.Selectors,
		Statics: []admin.Static{}, Pools: []admin.Pool{}}
	if out.Selectors == nil {
		out.Selectors = []string{}
	}
	for _, n := range c.SiteNumbers {
		out.SiteNumbers = append(out.SiteNumbers, admin.SiteNumber{Number: n.Number, Written: n.Written})
	}
	for _, st := range c.Statics {
		out.Statics = append(out.Statics, admin.Static{Number: st.Number, Match: admin.Match{Rule: st.Rule, Priority: st.Priority, Replaces: nonNil(st.Replaces)}})
	}
	reports, err := nums.Report(ctx, site.ID, now, now, now)
	if err != nil {
		return admin.Numbers{}, err
	}
	for _, p := range c.Pools {
		pi := poolAnswer(p)
		for _, r := range reports {
			if r.ID == p.ID {
				pi.Live, pi.Misses, pi.Limited, pi.Suggest = r.Live, r.Misses, r.Limited, r.Suggested.Size
			}
		}
		out.Pools = append(out.Pools, pi)
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// importNumbers parses an import file and adds its numbers to the pool;
// progress, when not nil, follows the parse (tracking.ParseImport).
func importNumbers(ctx context.Context, nums *tracking.Tracker, region string, now time.Time, site *store.Site, pool, csv string, progress func(done, total int64)) (tracking.ImportResult, error) {
	lines, err := tracking.ParseImport(strings.NewReader(csv), region, progress)
	if err != nil {
		return tracking.ImportResult{}, err
	}
	res, err := nums.ImportNumbers(ctx, site.ID, pool, lines, now)
	if err != nil {
		return res, err
	}
	if res.Added == nil {
		res.Added = []string{}
	}
	if res.Skipped == nil {
		res.Skipped = []tracking.Skipped{}
	}
	return res, nil
}

// Numbers is the server's call tracking.
func (s *Server) Numbers() *tracking.Tracker { return s.numbers }
