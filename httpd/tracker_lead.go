package httpd

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"mime/multipart"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"appliance/httpd/leads"
	"appliance/httpd/ratelimit"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/store"
)

// Leads arrive two ways (SPEC §4, tracker-protocol.md §6):
// POST /t/v1/lead from Comagic.addOfflineRequest in the page, authenticated
// like every tracker write by the credential key of the ci, and
// POST /api/add_offline_message/ from the site's own server, form-encoded
// as in the reference's PHP examples, authenticated by the same key. Both
// store the lead and its webhook deliveries in one durable write.
//
// A lead is never lost for being sent before the page view's hit was
// answered: Comagic.getCredentials() gives the site key as its key then
// (for a first-time visitor, who has no ci yet), and the snippet sends its
// own lead without a ci when the hit failed. Both endpoints keep such a
// lead as the site's, without a visit (store.Lead.Visitor 0, which the
// dashboard flags: leads.View.NoVisit), and so does /vc/s/ with the
// visitor info a site's server sends with the site key (vcSiteLead, via
// "visitor_info"): a visitor's words are never lost. The site key is
// public, but it gets nothing a hit does not: anyone may start a visit and
// send its leads with its key, through the same rate limits.

const (
	// maxLeadBody bounds a lead request: a 4 KiB message, even escaped as
	// JSON, fits.
	maxLeadBody = 32 << 10
	// leadsPerMinute is how many leads one visitor's IP may leave in a
	// minute; serverLeadsPerMinute is the same for a site's server, which
	// posts the leads of all its visitors.
	leadsPerMinute       = 20
	serverLeadsPerMinute = 600
)

// leadRequest is a decoded lead request of either endpoint.
type leadRequest struct {
	siteKey string // from the JSON endpoint; "" from the form one
	key     string // the credential key; the form's may be the site key
	// visitor and session are 0, both, for a lead of the site without a
	// visit (no ci, no visitor_id and session_id).
	visitor uint64
	session uint64
	hit     uint64
	in      leads.Input
}

// flexString takes a JSON string, number or null: a page passes
// addOfflineRequest whatever its form had (phone: 79123456789, group_id:
// 1234, sale_cost: '9999').
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	default:
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[flexString]()}
	}
	return nil
}

// flexBool takes true/false, 1/0, "true"/"false", "1"/"0" or null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	switch string(b) {
	case "true", "false", "null":
		*f = string(b) == "true"
		return nil
	}
	bad := &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[flexBool]()}
	if err := s.UnmarshalJSON(b); err != nil {
		return bad
	}
	v, err := parseBool(string(s))
	if err != nil {
		return bad
	}
	*f = flexBool(v)
	return nil
}

// jsonValueKind names the kind of the JSON value b for an error message.
func jsonValueKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "value"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == '"':
		return "string " + cutString(string(b), 40)
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	}
	return "number"
}

// parseBool reads a flag as forms and PHP's http_build_query write it.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "on", "yes":
		return true, nil
	case "", "0", "false", "off", "no":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// isNull reports whether an id of a server-side request is none: empty, or
// "null" or "undefined", what a page writes when it puts getCredentials()'s
// null into a form or a query as text.
func isNull(s string) bool { return s == "" || s == "null" || s == "undefined" }

// parseID reads an id of a request through the tracker's parser; "" (and
// "0", what a form without the value may send) is 0 unless required.
func parseID(field, s string, required bool) (uint64, error) {
	s = strings.TrimSpace(s)
	if (s == "" || s == "0") && !required {
		return 0, nil
	}
	v, err := visits.ParseID(s)
	if err != nil {
		return 0, errorf(fasthttp.StatusBadRequest, "%s must be a number from 1 to 2^53-1", field)
	}
	return v, nil
}

// parseLeadJSON decodes the body of POST /t/v1/lead. Unknown fields are
// ignored, so that a newer snippet can send more.
func parseLeadJSON(body []byte) (leadRequest, error) {
	var in struct {
		K        string     `json:"k"`
		CI       string     `json:"ci"`
		Key      string     `json:"key"`
		HI       flexString `json:"hi"`
		Name     flexString `json:"name"`
		Email    flexString `json:"email"`
		Phone    flexString `json:"phone"`
		Message  flexString `json:"message"`
		IsSale   flexBool   `json:"is_sale"`
		SaleCost flexString `json:"sale_cost"`
		GroupID  flexString `json:"group_id"`
		FormName flexString `json:"form_name"`
		U        string     `json:"u"`
	}
	if err := decodeBody(body, maxLeadBody, &in, ignoreUnknown); err != nil {
		return leadRequest{}, err
	}
	r := leadRequest{siteKey: in.K, key: in.Key}
	if in.CI != "" || in.Key != "" { // neither: the site's lead without a visit (a key vouches for a ci)
		ci, err := visits.ParseCI(in.CI)
		if err != nil {
			return leadRequest{}, err // a visits.Error: 400 with what is wrong
		}
		r.visitor, r.session = ci.Visitor, ci.Session
		if r.hit, err = parseID("hi", string(in.HI), false); err != nil {
			return leadRequest{}, err
		}
	}
	group, err := parseID("group_id", string(in.GroupID), false)
	if err != nil {
		return leadRequest{}, err
	}
	r.in = leads.Input{Name: string(in.Name), Email: string(in.Email), Phone: string(in.Phone),
		Message: string(in.Message), IsSale: bool(in.IsSale), SaleCost: string(in.SaleCost),
		GroupID: group, FormName: string(in.FormName), PageURL: in.U}
	return r, nil
}

// offlineFormArgs reads the fields of a POST /api/add_offline_message/
// body. The reference's example posts them urlencoded; a site's server may
// as well send multipart/form-data, which PHP's curl writes for an array
// in CURLOPT_POSTFIELDS (and an HTML form with that enctype), or name no
// Content-Type at all: each is read, so that a lead is not refused for
// how its server encoded it. A JSON body is refused with what to send.
func offlineFormArgs(contentType, body []byte) (*fasthttp.Args, error) {
	args := new(fasthttp.Args)
	media, params, _ := mime.ParseMediaType(string(contentType))
	switch media {
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, errorf(fasthttp.StatusBadRequest, "the multipart/form-data body names no boundary")
		}
		form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxLeadBody)
		if err != nil {
			return nil, errorf(fasthttp.StatusBadRequest, "the multipart/form-data body does not parse: %v", err)
		}
		defer form.RemoveAll()
		for name, values := range form.Value {
			for _, v := range values {
				args.Add(name, v)
			}
		}
		return args, nil
	case "application/json":
		return nil, errorf(fasthttp.StatusUnsupportedMediaType,
			"send the fields form-encoded (application/x-www-form-urlencoded, as http_build_query writes them) or as multipart/form-data, not JSON")
	}
	args.ParseBytes(body)
	return args, nil
}

// parseOfflineForm decodes the form of POST /api/add_offline_message/:
// key, uri, visitor_id, hit_id, session_id, name, email, phone, text,
// is_sale, sale_cost (the reference), and our group_id and form_name.
// visitor_id and session_id come both or neither (the credentials of a page
// whose first page view was not answered yet: the key is then the site
// key); an id that is empty, "0", or "null" or "undefined" (a page that
// wrote getCredentials()'s null into its form as text) is none.
func parseOfflineForm(args *fasthttp.Args) (leadRequest, error) {
	get := func(name string) string { return string(args.Peek(name)) }
	for _, name := range []string{"key", "uri", "name", "email", "phone", "text", "sale_cost", "form_name"} {
		if !utf8.Valid(args.Peek(name)) {
			return leadRequest{}, errorf(fasthttp.StatusBadRequest, "%s is not valid UTF-8", name)
		}
	}
	id := func(name string) (uint64, error) {
		v := get(name)
		if isNull(v) {
			v = ""
		}
		return parseID(name, v, false)
	}
	r := leadRequest{key: get("key")}
	var err error
	if r.visitor, err = id("visitor_id"); err != nil {
		return leadRequest{}, err
	}
	if r.session, err = id("session_id"); err != nil {
		return leadRequest{}, err
	}
	if (r.visitor == 0) != (r.session == 0) {
		return leadRequest{}, errorf(fasthttp.StatusBadRequest, "visitor_id and session_id go together: give both, or neither with the site key")
	}
	if r.hit, err = id("hit_id"); err != nil {
		return leadRequest{}, err
	}
	if r.visitor == 0 {
		r.hit = 0 // no visit, no hit of it
	}
	group, err := parseID("group_id", get("group_id"), false)
	if err != nil {
		return leadRequest{}, err
	}
	sale, err := parseBool(get("is_sale"))
	if err != nil {
		return leadRequest{}, errorf(fasthttp.StatusBadRequest, "is_sale: %v", err)
	}
	if len(get("uri")) > leads.MaxURL {
		return leadRequest{}, errorf(fasthttp.StatusBadRequest, "uri longer than %d bytes", leads.MaxURL)
	}
	r.in = leads.Input{Name: get("name"), Email: get("email"), Phone: get("phone"), Message: get("text"),
		IsSale: sale, SaleCost: get("sale_cost"), GroupID: group, FormName: get("form_name")}
	return r, nil
}

// trackerLead is POST /t/v1/lead: Comagic.addOfflineRequest.
// A failed one answers a result with a code too ({code:"empty_lead"}...,
// failureCode), as sitePhoneCall does.
func (s *trackerHandlers) trackerLead(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	if err := s.addJSLead(ctx); err != nil {
		return &failure{err: err, result: codeResult{Code: failureCode(err)}}
	}
	return nil
}

// addJSLead is trackerLead but for the result of its errors.
func (s *trackerHandlers) addJSLead(ctx *fasthttp.RequestCtx) error {
	r, err := parseLeadJSON(ctx.PostBody())
	if err != nil {
		return err
	}
	site, err := s.sites.ByKey(r.siteKey)
	if err != nil {
		return errorf(fasthttp.StatusNotFound, "unknown site key %q", cutString(r.siteKey, 40))
	}
	// Without a ci, the site's lead without a visit; with one, its key.
	if r.visitor != 0 && !sites.CheckCredentialKey(site, r.visitor, r.session, r.key) {
		return errorf(fasthttp.StatusForbidden, "wrong key for this visitor and session")
	}
	if err := s.addLead(ctx, site, r, leads.ViaJS, false); err != nil {
		return err
	}
	writeOK(ctx, nil)
	return nil
}

// offlineMessage is POST /api/add_offline_message/, called by the site's
// server with the fields of Comagic.getCredentials(). The request names no
// site: the visitor's record does, and the key is checked against it; or
// the key is the site key (getCredentials() before the page view was
// answered), and the lead is the site's without a visit: ids sent with it
// are not vouched for by any key, and are dropped.
func (s *trackerHandlers) offlineMessage(ctx *fasthttp.RequestCtx) error {
	// The site's server calls this; a page calling it needs CORS too.
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	if len(ctx.PostBody()) > maxLeadBody {
		return errorf(fasthttp.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxLeadBody)
	}
	args, err := offlineFormArgs(ctx.Request.Header.ContentType(), ctx.PostBody())
	if err != nil {
		return err
	}
	r, err := parseOfflineForm(args)
	if err != nil {
		return err
	}
	if site, err := s.sites.ByKey(r.key); err == nil {
		r.visitor, r.session, r.hit = 0, 0, 0
		return s.addServerLead(ctx, site, r)
	}
	wrongKey := errorf(fasthttp.StatusForbidden, "wrong key for this visitor_id and session_id")
	if r.visitor == 0 {
		return wrongKey // neither a site key nor ids: the same answer, nothing probed
	}
	siteID, err := s.visits.VisitorSite(r.visitor)
	if errors.Is(err, visits.ErrUnknown) {
		return wrongKey // the same answer as a wrong key: ids are not probed
	}
	if err != nil {
		return err
	}
	site, err := s.sites.ByID(siteID)
	if err != nil || !sites.CheckCredentialKey(site, r.visitor, r.session, r.key) {
		return wrongKey
	}
	return s.addServerLead(ctx, site, r)
}

// addServerLead stores the authenticated lead r of add_offline_message and
// answers it.
func (s *trackerHandlers) addServerLead(ctx *fasthttp.RequestCtx, site *store.Site, r leadRequest) error {
	if err := s.addLead(ctx, site, r, leads.ViaServer, true); err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, struct {
		Success bool `json:"success"`
	}{true})
	return nil
}

// addLead takes an authenticated lead request through the rate limit of
// its address and hands it to the leads service, which stores it with its
// webhook deliveries.
func (s *trackerHandlers) addLead(ctx *fasthttp.RequestCtx, site *store.Site, r leadRequest, via string, server bool) error {
	now := s.now()
	limiter, limit := s.leadRate, leadsPerMinute
	if server { // from the site's server, which posts for all its visitors
		limiter, limit = s.serverLeadRate, serverLeadsPerMinute
	}
	ip := s.clientIP(ctx)
	// Once: a page or a server that gave up waiting for the answer sends
	// the lead again; its repeat is the lead it already left
	// (leads.RepeatWindow), answered as it was, before the address's
	// limit: a repeat is never refused, nor counted.
	req := leads.Request{Visitor: r.visitor, Session: r.session, Hit: r.hit, Via: via, IP: ip, In: r.in, Once: true}
	if first, err := s.leads.Repeat(site, req); err != nil || first.ID != 0 {
		return err
	}
	if network := ratelimit.Network(ip); !limiter.Allow(network, now) {
		return tooMany(limiter.Wait(network, now), "more than %d leads a minute from this address", limit)
	}
	_, err := s.leads.Add(ctx, site, req)
	return err
}

// cutString shortens s to at most n bytes for an error message.
func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
