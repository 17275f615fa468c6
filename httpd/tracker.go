package httpd

import (
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/publicsuffix"

	"appliance/captcha"
	"appliance/httpd/callbacks"
	"appliance/httpd/chats"
	"appliance/httpd/leads"
	"appliance/httpd/ratelimit"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/internal/memo"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The tracker endpoints of httpd/tracker-protocol.md: the snippet posts
// JSON as text/plain (a simple CORS request, sendBeacon-friendly), and
// every answer, errors included, carries Access-Control-Allow-Origin: *.

// trackerHandlers serve the public side a site's pages talk to: the
// snippet's assets, hits, events, visitors, properties, leases, captchas,
// callbacks, leads, the widget's settings, /vc/s/ and
// /api/add_offline_message. No session: the site key and the visitor's
// credentials say who calls; every answer carries CORS. They hold only what
// they use.
type trackerHandlers struct {
	sites     *sites.Registry
	visits    *visits.Tracker
	numbers   *tracking.Tracker
	leads     *leads.Service
	callbacks *callbacks.Service
	captcha   *captcha.Store
	snippet   *snippet
	chats     *chats.Service // the operators' status in every hit's answer

	ipRate         *ratelimit.Buckets // requests per client IP; nil: no limit
	siteRate       *ratelimit.Buckets // requests per site; nil: no limit
	leadRate       *ratelimit.Limiter
	serverLeadRate *ratelimit.Limiter
	captchaRate    *ratelimit.Limiter

	publicURL string // ends in "/"
	clientIP  func(*fasthttp.RequestCtx) string
	// clientAddr is numbers.AddrKey of the client's address, for the
	// pools' address caps.
	clientAddr func(*fasthttp.RequestCtx) uint64
	now        func() time.Time

	cookieDomains memo.Cache[string] // hostCookieDomain's answers per page host (Max maxCookieDomains)
}

// mount registers the tracker's routes: all open, the site key and the
// visitor's credentials are checked by the handlers.
func (s *trackerHandlers) mount(r *router) {
	r.api("GET", snippetCorePath, open, s.serveSnippetCore)
	r.api("GET", s.snippet.widgetPath, open, s.serveSnippetWidget)
	r.api("GET", keptWidgetRoute, open, s.serveKeptWidget)

	r.api("POST", "/t/v1/hit", open, s.tracker(s.trackHit))
	r.api("POST", "/t/v1/event", open, s.tracker(s.trackEvent))
	r.api("POST", "/t/v1/visitor", open, s.tracker(s.trackVisitor))
	r.api("POST", "/t/v1/property", open, s.tracker(s.trackProperty))
	r.api("POST", "/t/v1/captcha", open, s.tracker(s.trackCaptcha))
	r.api("GET", captchaPath+"*", open, s.tracker(s.captchaImage))
	r.api("POST", "/t/v1/callback", open, s.tracker(s.trackCallback))
	r.api("GET", "/t/v1/widget", open, s.tracker(s.widgetSettings))
	r.api("POST", "/t/v1/lease", open, s.tracker(s.trackLease))
	r.api("GET", phoneImageRoute, open, s.phoneImage)
	r.api("GET", "/vc/s/", open, s.tracker(s.vcSet))
	r.api("OPTIONS", "/vc/s/", open, s.tracker(s.trackerPreflight))
	r.api("OPTIONS", "/t/v1/*", open, s.tracker(s.trackerPreflight))
	r.api("GET", "/t/v1/*", open, s.tracker(s.trackerFallback))
	r.api("POST", "/t/v1/*", open, s.tracker(s.trackerFallback))

	r.api("POST", "/t/v1/lead", open, s.trackerLead)
	r.api("POST", "/api/add_offline_message/", open, s.offlineMessage)
	r.api("POST", "/api/add_offline_message", open, s.offlineMessage)
	r.api("OPTIONS", "/api/add_offline_message/", open, s.tracker(s.trackerPreflight))
}

// maxTrackerBody is the body limit of a tracker request.
const maxTrackerBody = 8 << 10

// trackerPaths are the POST endpoints, for 405 versus 404.
var trackerPaths = map[string]bool{"/t/v1/hit": true, "/t/v1/event": true, "/t/v1/visitor": true, "/t/v1/property": true, "/t/v1/lease": true,
	"/t/v1/captcha": true, "/t/v1/callback": true}

// TrackerLimits bound the tracker endpoints' request rates (SPEC §8), in
// requests per second, with bursts of 30 seconds' worth unless a burst is
// given. A zero rate is the default; a negative rate turns that limit off.
type TrackerLimits struct {
	PerIP        float64 // per client IP (loopback is exempt: a proxy without --trust-proxy, or tests)
	PerIPBurst   int     // requests one IP may send at once; 0: 30 × PerIP
	PerSite      float64 // per site key, whatever the IPs
	PerSiteBurst int     // requests one site may take at once; 0: 30 × PerSite
	// Keys bounds the client networks each per-address limit of the
	// tracker (requests, leads, captchas) tracks at once; 0: the defaults,
	// 200,000 for requests, 100,000 for leads and captchas (10,000 for the
	// leads of sites' servers). Past it the
	// network seen least recently is forgotten (package ratelimit), never
	// a new one refused. Tests make it small to flood it.
	Keys int
}

// Default tracker limits: a visitor's page views, events and heartbeats
// stay far below PerIP even behind an office NAT; PerSite keeps one site's
// flood from starving the others' durable writes.
const (
	DefaultPerIP   = 20
	DefaultPerSite = 2000
	maxLimitedKeys = 200_000
	maxLeadKeys    = 100_000 // leads and captchas: a Limiter keeps each event's time
)

// keys is the bound of a per-address limit whose default is def.
func (l TrackerLimits) keys(def int) int {
	if l.Keys > 0 {
		return l.Keys
	}
	return def
}

func (l TrackerLimits) perIP() *ratelimit.Buckets {
	return buckets(l.PerIP, l.PerIPBurst, DefaultPerIP, l.keys(maxLimitedKeys))
}

func (l TrackerLimits) perSite() *ratelimit.Buckets {
	return buckets(l.PerSite, l.PerSiteBurst, DefaultPerSite, maxLimitedKeys)
}

func buckets(rate float64, burst int, def float64, keys int) *ratelimit.Buckets {
	switch {
	case rate < 0:
		return nil
	case rate == 0:
		rate = def
	}
	if burst <= 0 {
		burst = int(30 * rate)
	}
	return ratelimit.NewBuckets(rate, max(1, burst), keys)
}

// tracker wraps a tracker handler: CORS and no caching on every answer,
// the body limit and the per-IP rate limit.
func (s *trackerHandlers) tracker(h handler) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		hd := &ctx.Response.Header
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Cache-Control", "no-store")
		if len(ctx.Request.Body()) > maxTrackerBody {
			return errorf(fasthttp.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxTrackerBody)
		}
		if s.ipRate != nil {
			if ip := s.clientIP(ctx); !isLoopback(ip) && !s.ipRate.Allow(ratelimit.Network(ip), s.now()) {
				return tooMany(time.Second, "too many requests from this address; slow down")
			}
		}
		return h(ctx)
	}
}

func isLoopback(ip string) bool {
	return strings.HasPrefix(ip, "127.") || ip == "::1"
}

// trackerPreflight answers a CORS preflight. Browsers send none for the
// snippet's requests (text/plain POST, plain GET), but a site's own code
// calling the endpoints with JSON content gets one.
func (s *trackerHandlers) trackerPreflight(ctx *fasthttp.RequestCtx) error {
	hd := &ctx.Response.Header
	hd.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Content-Type")
	hd.Set("Access-Control-Max-Age", "86400")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// trackerFallback answers any other request under /t/v1/, with CORS.
func (s *trackerHandlers) trackerFallback(ctx *fasthttp.RequestCtx) error {
	if trackerPaths[string(ctx.Path())] {
		return errorf(fasthttp.StatusMethodNotAllowed, "method %s not allowed here: use POST", ctx.Method())
	}
	return errorf(fasthttp.StatusNotFound, "no such tracker endpoint: %s", ctx.Path())
}

// hitRequest is the body of POST /t/v1/hit.
type hitRequest struct {
	K   string `json:"k"`
	CI  string `json:"ci"`
	Key string `json:"key"` // the credential key of the ci's session: without it the ci is not continued
	U   string `json:"u"`
	R   string `json:"r"`
	T   string `json:"t"`
}

// hitResult is the result of POST /t/v1/hit.
type hitResult struct {
	CI         string `json:"ci"`
	VisitorID  uint64 `json:"visitor_id"`
	SessionID  uint64 `json:"session_id"`
	HitID      uint64 `json:"hit_id"`
	Key        string `json:"key"`
	ServerURL  string `json:"server_url"`
	NewSession bool   `json:"new_session"`
	// CookieDomain is the domain of the snippet's cookies: see cookieDomain.
	CookieDomain string `json:"cookie_domain,omitempty"`
	// Phones is what replaces the site's numbers (tracker-protocol.md §7).
	Phones *phonesAnswer `json:"phones"`
	// Chat is the site's chat status (chat-protocol.md):
	// getOperatorStatus() answers Chat.Operators.
	Chat hitChat `json:"chat"`
}

// hitChat is the chat part of a hit's answer.
type hitChat struct {
	Operators bool `json:"operators"`
	Button    bool `json:"button"` // the site shows the floating chat button
}

// trackerSite finds the site of a request's site key: 400 when missing,
// 404 when unknown.
func (s *trackerHandlers) trackerSite(key string) (*store.Site, error) {
	if key == "" {
		return nil, errorf(fasthttp.StatusBadRequest, "k (the site key) is required")
	}
	site, err := s.sites.ByKey(key)
	if err != nil {
		return nil, errorf(fasthttp.StatusNotFound, "no site has this key")
	}
	if s.siteRate != nil && !s.siteRate.Allow(site.Key, s.now()) {
		return nil, tooMany(time.Second, "too many requests for this site; slow down")
	}
	return site, nil
}

// requestString is b, a buffer of the request, as a string without a
// copy: valid only while the request is being handled (fasthttp reuses
// its buffers after), for what copies what it keeps of it (as
// visits.Tracker.Hit does with PageView.UserAgent).
func requestString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (s *trackerHandlers) trackHit(ctx *fasthttp.RequestCtx) error {
	req, err := parseHitRequest(ctx.Request.Body())
	if err != nil {
		return err
	}
	site, err := s.trackerSite(req.K)
	if err != nil {
		return err
	}
	// The snippet cuts long URLs, maybe inside an escape: mended, not refused.
	req.U, req.R = visits.MendURL(req.U), visits.MendURL(req.R)
	page, err := visits.ParsePageURL("u", req.U)
	if err != nil {
		return err
	}
	if err := checkPageOrigin(site, string(ctx.Request.Header.Peek("Origin")), page); err != nil {
		return err
	}
	ci, key := req.CI, ""
	var checked visits.CI
	if ci != "" {
		// The ids of a ci are sequential, so anyone can write another
		// visitor's; its session's key cannot be guessed. Only a ci that
		// comes with its key continues its visitor: without one the hit is
		// a new visitor's, never a hit on (and the key of) someone else's.
		c, err := visits.ParseCI(ci)
		if err != nil {
			return err
		}
		if sites.CheckCredentialKey(site, c.Visitor, c.Session, req.Key) {
			checked, key = c, req.Key
		} else {
			ci = ""
		}
	}
	pv := visits.PageView{CI: ci, URL: req.U, Page: page, Referrer: req.R, Title: req.T, UserAgent: requestString(ctx.UserAgent())}
	var numbers *hitNumbers
	if s.numbers.Assigns(site.ID) {
		numbers = &hitNumbers{numbers: s.numbers, site: site.ID, addr: s.clientAddr(ctx), now: s.now()}
		pv.Also = numbers
	}
	res, err := s.visits.Hit(ctx, site, pv)
	if err != nil {
		return err
	}
	var phones *phonesAnswer
	var buf [4]phoneAnswer
	if numbers != nil && len(numbers.a.Replacements) > 0 {
		p := phonesInto(site, &numbers.a, buf[:0])
		phones = &p
	}
	if res.CI.Visitor != checked.Visitor || res.CI.Session != checked.Session {
		key = sites.CredentialKey(site, res.CI.Visitor, res.CI.Session)
	}
	var ciBuf [visits.MaxCILen]byte
	writeHitAnswer(ctx, &hitResult{
		CI:           string(res.CI.Append(ciBuf[:0])), // on the stack when short, as most are
		VisitorID:    res.CI.Visitor,
		SessionID:    res.CI.Session,
		HitID:        res.Hit,
		Key:          key,
		ServerURL:    s.publicURL,
		NewSession:   res.NewSession,
		CookieDomain: s.cookieDomains.Get(page.Hostname(), hostCookieDomain),
		Phones:       phones,
		Chat:         hitChat{Operators: s.chats.SiteOnline(site.ID), Button: s.chats.ButtonOn(site.ID)},
	})
	return nil
}

// cookieDomain is the domain the snippet sets its cookies on for a page at
// pageURL: the registrable domain of its host (example.com for
// www.example.com and for example.com itself, by the public suffix list
// browsers use too), so that one visitor is one visitor across the site's
// sub-domains. An IP address, a single label or a public suffix has none
// (""): the cookies are the host's own.
func cookieDomain(pageURL string) string {
	u, err := url.Parse(pageURL)
	if err != nil {
		return ""
	}
	return hostCookieDomain(u.Hostname())
}

// hostCookieDomain is cookieDomain of a page on host.
func hostCookieDomain(host string) string {
	h := strings.ToLower(host)
	if mayBeIP(h) && net.ParseIP(h) != nil {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return ""
	}
	return d
}

// mayBeIP is false for a host net.ParseIP cannot read: no ":" (IPv6) and
// a byte other than a digit or "." (IPv4). It spares every hit ParseIP's
// error, which allocates, for a name.
func mayBeIP(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c == ':' || c != '.' && (c < '0' || c > '9') {
			return c == ':' || strings.IndexByte(h[i:], ':') >= 0
		}
	}
	return true
}

// maxCookieDomains bounds the page hosts the tracker remembers the cookie
// domain of: a site's pages are on a few.
const maxCookieDomains = 4096

// checkOrigin refuses a hit from a page that is not on one of the site's
// domains (or their sub-domains), unless the site takes any: the page's
// URL and, from a browser, the Origin header must both be on them. A site
// key is public, so without this anyone's page could fill a site's
// reports; a server can still forge both, which only the key checks of
// later requests stop from touching real visitors.
func checkOrigin(site *store.Site, origin, pageURL string) error {
	if site.AnyOrigin {
		return nil
	}
	u, err := visits.ParsePageURL("u", pageURL)
	if err != nil {
		return err
	}
	return checkPageOrigin(site, origin, u)
}

// checkPageOrigin is checkOrigin of a page URL ParsePageURL has parsed.
func checkPageOrigin(site *store.Site, origin string, page *url.URL) error {
	if site.AnyOrigin {
		return nil
	}
	// A browser's Origin is usually the page's own: no need to parse it.
	other := origin != "" && !sameOrigin(origin, page)
	var originHost string
	if other {
		// Copied here, so that origin itself does not escape: the hit
		// handler's string of the header is then built on its stack.
		kept := strings.Clone(origin)
		o, err := url.Parse(kept)
		if err != nil || o.Host == "" {
			// "null": a sandboxed frame, a file: or data: page.
			return errorf(fasthttp.StatusForbidden, "this site takes hits only from its own pages: Origin %q is not a web page's", cutString(kept, 100))
		}
		originHost = o.Hostname()
	}
	if host := page.Hostname(); !sites.AllowsHost(site, host) {
		return errOrigin(site, host)
	}
	if other && !sites.AllowsHost(site, originHost) {
		return errOrigin(site, originHost)
	}
	return nil
}

// sameOrigin reports whether origin is the scheme and host of page, as a
// browser sends it from the page itself: then its host is the page's.
func sameOrigin(origin string, page *url.URL) bool {
	rest, ok := strings.CutPrefix(origin, page.Scheme)
	if !ok {
		return false
	}
	rest, ok = strings.CutPrefix(rest, "://")
	return ok && rest == page.Host
}

func errOrigin(site *store.Site, host string) error {
	return errorf(fasthttp.StatusForbidden, "this site takes hits only from its own domains (%s and their sub-domains), not from %s; add the domain to the site, or let it take hits from any domain",
		strings.Join(site.Domains, ", "), cutString(host, 100))
}

// credFields are the credentials of every request made on a visitor's
// behalf: the site key, the visitor's ci and the session's credential key.
type credFields struct {
	K   string `json:"k"`
	CI  string `json:"ci"`
	Key string `json:"key"`
}

// check finds the site, parses the ci and checks the credential key: 400
// for a missing or malformed ci, 404 for an unknown site, 403 for a key
// that is not the one of (site, visitor, session).
func (s *trackerHandlers) checkCreds(c credFields) (*store.Site, visits.CI, error) {
	site, err := s.trackerSite(c.K)
	if err != nil {
		return nil, visits.CI{}, err
	}
	if c.CI == "" {
		return nil, visits.CI{}, errorf(fasthttp.StatusBadRequest, "ci is required")
	}
	ci, err := visits.ParseCI(c.CI)
	if err != nil {
		return nil, visits.CI{}, err
	}
	if err := checkKey(site, ci, c.Key); err != nil {
		return nil, visits.CI{}, err
	}
	return site, ci, nil
}

func checkKey(site *store.Site, ci visits.CI, key string) error {
	if key == "" {
		return errorf(fasthttp.StatusForbidden, "key (the credential key) is required")
	}
	if !sites.CheckCredentialKey(site, ci.Visitor, ci.Session, key) {
		return errorf(fasthttp.StatusForbidden, "key is not the credential key of this visitor and session")
	}
	return nil
}

// eventRequest is the body of POST /t/v1/event.
type eventRequest struct {
	credFields
	HI uint64 `json:"hi"`
	C  string `json:"c"`
	A  string `json:"a"`
	N  string `json:"n"`
	V  string `json:"v"`
}

func parseEventRequest(body []byte) (eventRequest, error) {
	var r eventRequest
	err := decodeBody(body, maxTrackerBody, &r, refuseUnknown)
	return r, err
}

func (s *trackerHandlers) trackEvent(ctx *fasthttp.RequestCtx) error {
	req, err := parseEventRequest(ctx.Request.Body())
	if err != nil {
		return err
	}
	site, ci, err := s.checkCreds(req.credFields)
	if err != nil {
		return err
	}
	if _, err := s.visits.Event(ctx, site, ci, visits.EventIn{Hit: req.HI, Category: req.C, Action: req.A, Name: req.N, Value: req.V}); err != nil {
		return err
	}
	writeOK(ctx, nil)
	return nil
}

// visitorRequest is the body of POST /t/v1/visitor.
type visitorRequest struct {
	credFields
	HI    uint64 `json:"hi"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
	// U is the page's URL: the page of the lead without a visit the info
	// is kept as when there is no ci (trackVisitor); a visitor's info does
	// not keep it (their page views do).
	U string `json:"u"`
}

func parseVisitorRequest(body []byte) (visitorRequest, error) {
	var r visitorRequest
	err := decodeBody(body, maxTrackerBody, &r, refuseUnknown)
	return r, err
}

// trackVisitor is POST /t/v1/visitor: Comagic.addVisitorInfo. The snippet
// sends it without a ci only when a first-time visitor's page view failed:
// there is no visitor to add the info to, so what was typed is kept as the
// site's lead without a visit, via "visitor_info", under a page's limit of
// leads, as a lead sent then is (addJSLead).
func (s *trackerHandlers) trackVisitor(ctx *fasthttp.RequestCtx) error {
	req, err := parseVisitorRequest(ctx.Request.Body())
	if err != nil {
		return err
	}
	if req.CI == "" && req.Key == "" && req.HI == 0 {
		site, err := s.trackerSite(req.K)
		if err != nil {
			return err
		}
		in := leads.Input{Name: req.Name, Phone: req.Phone, Email: req.Email, PageURL: req.U}
		if err := s.visitorInfoLead(ctx, site, in, false); err != nil {
			return err
		}
		writeOK(ctx, nil)
		return nil
	}
	site, ci, err := s.checkCreds(req.credFields)
	if err != nil {
		return err
	}
	if err := s.visits.AddInfo(ctx, site, ci, visits.Info{Name: req.Name, Phone: req.Phone, Email: req.Email}); err != nil {
		return err
	}
	writeOK(ctx, nil)
	return nil
}

// propertyRequest is the body of POST /t/v1/property.
type propertyRequest struct {
	credFields
	Op    string `json:"op"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func parsePropertyRequest(body []byte) (propertyRequest, error) {
	var r propertyRequest
	if err := decodeBody(body, maxTrackerBody, &r, refuseUnknown); err != nil {
		return r, err
	}
	switch r.Op {
	case "set", "get", "has", "delete":
	default:
		return r, errorf(fasthttp.StatusBadRequest, "op must be set, get, has or delete")
	}
	if r.Value != "" && r.Op != "set" {
		return r, errorf(fasthttp.StatusBadRequest, "value goes only with op set")
	}
	return r, nil
}

func (s *trackerHandlers) trackProperty(ctx *fasthttp.RequestCtx) error {
	req, err := parsePropertyRequest(ctx.Request.Body())
	if err != nil {
		return err
	}
	site, ci, err := s.checkCreds(req.credFields)
	if err != nil {
		return err
	}
	switch req.Op {
	case "set":
		err = s.visits.SetProperty(ctx, site, ci, req.Name, req.Value)
	case "delete":
		err = s.visits.DeleteProperty(ctx, site, ci, req.Name)
	default: // get, has
		value, found, gerr := s.visits.Property(site, ci, req.Name)
		if gerr != nil {
			return gerr
		}
		switch {
		case req.Op == "has":
			writeOK(ctx, found)
		case found:
			writeOK(ctx, value)
		default:
			writeOK(ctx, false)
		}
		return nil
	}
	if err != nil {
		return err
	}
	writeOK(ctx, nil)
	return nil
}

// vcRequest is the query of GET /vc/s/, CoMagic's server-side visitor info.
type vcRequest struct {
	Key     string // k: the credential key, or the site key
	SiteKey string // sk: optional, the site is the visitor's otherwise
	// CI is the zero CI when ci is absent, empty, or "null" or
	// "undefined" (getCredentials()'s null written as text): what a page
	// has before its first page view was answered, when k is the site key.
	CI    visits.CI
	Hit   uint64 // hi: optional
	Info  visits.Info
	Short bool // s=1: answer only {"success":true}
}

// parseVCQuery parses the query of /vc/s/. Values are copied: the result
// does not alias args.
func parseVCQuery(args *fasthttp.Args) (vcRequest, error) {
	var r vcRequest
	get := func(name string, max int) (string, error) {
		v := args.Peek(name)
		if len(v) > max {
			return "", errorf(fasthttp.StatusBadRequest, "%s is longer than %d bytes", name, max)
		}
		if !utf8.Valid(v) {
			return "", errorf(fasthttp.StatusBadRequest, "%s is not valid UTF-8", name)
		}
		return string(v), nil
	}
	var err error
	fields := []struct {
		name string
		max  int
		dst  *string
	}{
		{"k", 64, &r.Key}, {"sk", 64, &r.SiteKey}, {"vn", visits.MaxName, &r.Info.Name},
		{"vp", visits.MaxPhone, &r.Info.Phone}, {"ve", visits.MaxEmail, &r.Info.Email},
	}
	for _, f := range fields {
		if *f.dst, err = get(f.name, f.max); err != nil {
			return r, err
		}
	}
	if _, err := get("ur", visits.MaxURL); err != nil {
		return r, err
	}
	ci, err := get("ci", 64)
	if err != nil {
		return r, err
	}
	if !isNull(ci) {
		if r.CI, err = visits.ParseCI(ci); err != nil {
			return r, err
		}
	}
	if hi, _ := get("hi", 32); !isNull(hi) {
		if r.Hit, err = visits.ParseID(hi); err != nil {
			return r, errorf(fasthttp.StatusBadRequest, "hi must be a hit id")
		}
	}
	switch s := string(args.Peek("s")); s {
	case "", "0":
	case "1":
		r.Short = true
	default:
		return r, errorf(fasthttp.StatusBadRequest, "s must be 1 or absent")
	}
	return r, nil
}

// vcSet serves GET /vc/s/: add visitor info from the site's server, with
// the credential key of Comagic.getCredentials. Before the visitor's first
// page view was answered, getCredentials() gives the site key as its key
// and no ids: the info is then kept as the site's lead without a visit
// (vcSiteLead), as add_offline_message keeps a lead sent so.
func (s *trackerHandlers) vcSet(ctx *fasthttp.RequestCtx) error {
	req, err := parseVCQuery(ctx.QueryArgs())
	if err != nil {
		return err
	}
	if req.Key == "" {
		// The reference's own example sends only sk: a site key is in every
		// page of the site, so it would let anyone write to any visitor.
		return errorf(fasthttp.StatusForbidden, "k is required: the visitor's credential key, Comagic.getCredentials().key, "+
			"sent by the page with the form; the site key (sk) alone is not enough, anyone can read it from the site's pages")
	}
	if site, err := s.sites.ByKey(req.Key); err == nil && (req.SiteKey == "" || req.SiteKey == site.Key) {
		return s.vcSiteLead(ctx, site, req)
	}
	wrongKey := errorf(fasthttp.StatusForbidden, "k is not the credential key of this visitor and session")
	if req.CI == (visits.CI{}) {
		return errorf(fasthttp.StatusForbidden, "k is neither the site key nor, without ci, a visitor's credential key: "+
			"send ci, Comagic.getCredentials().comagic_id, with the visitor's key")
	}
	var site *store.Site
	if req.SiteKey != "" {
		if site, err = s.trackerSite(req.SiteKey); err != nil {
			return err
		}
	} else {
		// CoMagic's parameter list has no site key: the visitor names it.
		id, err := s.visits.VisitorSite(req.CI.Visitor)
		if err != nil {
			return wrongKey
		}
		if site, err = s.sites.ByID(id); err != nil {
			return wrongKey
		}
	}
	if !sites.CheckCredentialKey(site, req.CI.Visitor, req.CI.Session, req.Key) {
		return wrongKey
	}
	if err := s.visits.AddInfo(ctx, site, req.CI, req.Info); err != nil {
		return err
	}
	writeVCAnswer(ctx, req.Short, req.CI.Visitor, req.CI.Session, req.Hit)
	return nil
}

// vcSiteLead keeps the visitor info of a /vc/s/ request whose k is the key
// of site. There is no visitor to add it to, and the site key, public in
// every page of the site, vouches for none: a ci and hi sent with it are
// dropped (no one writes to a visitor with the site key). What the visitor
// typed is kept instead as the site's lead without a visit, via
// "visitor_info", through the leads a minute of a site's server.
func (s *trackerHandlers) vcSiteLead(ctx *fasthttp.RequestCtx, site *store.Site, req vcRequest) error {
	in := leads.Input{Name: req.Info.Name, Phone: req.Info.Phone, Email: req.Info.Email}
	if err := s.visitorInfoLead(ctx, site, in, true); err != nil {
		return err
	}
	writeVCAnswer(ctx, req.Short, 0, 0, 0)
	return nil
}

// visitorInfoLead keeps visitor info (name, phone, email, and the page's
// URL when known) with no visitor to add it to (vcSiteLead, trackVisitor
// without a ci) as the site's lead without a visit, via
// "visitor_info", through the leads a minute of a site's server or of a
// page.
func (s *trackerHandlers) visitorInfoLead(ctx *fasthttp.RequestCtx, site *store.Site, in leads.Input, server bool) error {
	if strings.TrimSpace(in.Name) == "" && strings.TrimSpace(in.Phone) == "" && strings.TrimSpace(in.Email) == "" {
		return errorf(fasthttp.StatusBadRequest, "give at least one of name, phone, email")
	}
	return s.addLead(ctx, site, leadRequest{in: in}, leads.ViaVisitorInfo, server)
}

// writeVCAnswer answers a /vc/s/ request that stored what it carried: with
// s=1 exactly {"success":true}, else the ids it was stored with (0 for a
// lead without a visit).
func writeVCAnswer(ctx *fasthttp.RequestCtx, short bool, visitor, session, hit uint64) {
	if short {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBodyString(`{"success":true}`)
		return
	}
	writeOK(ctx, struct {
		VisitorID uint64 `json:"visitor_id"`
		SessionID uint64 `json:"session_id"`
		HitID     uint64 `json:"hit_id"`
	}{visitor, session, hit})
}
