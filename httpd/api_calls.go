package httpd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/httpd/callbacks"
	"appliance/httpd/chats"
	"appliance/httpd/leads"
	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/httpd/webhooks"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The call-tracking API for the telephony side (SPEC §5): POST
// /api/v1/calls reports an inbound call, GET /api/v1/attribution looks one
// up without storing it. Both take an API token (appliance token add) as
// Authorization: Bearer TOKEN.

// apiHandlers serve the API for the telephony side: bearer-token auth, no
// session, no CORS. They hold only what they use.
type apiHandlers struct {
	accounts  *accounts.Accounts // API tokens
	numbers   *tracking.Tracker
	sites     *sites.Registry
	hooks     *webhooks.Hooks
	reports   *reports.Service
	chats     *chats.Service
	leads     *leads.Service
	callbacks *callbacks.Service
	now       func() time.Time
}

// mount registers the API's routes. All are open to the dispatcher: the
// bearer token is checked by apiAuth.
func (s *apiHandlers) mount(r *router) {
	s.route(r, "POST", "/api/v1/calls", scopeCalls, seeReports, s.postCall)
	s.route(r, "GET", "/api/v1/attribution", scopeCalls, seeReports, s.getAttribution)
	s.mountReports(r)
	s.mountChats(r)
	s.mountLeads(r)
}

// maxCallBody is the body limit of a reported call.
const maxCallBody = 8 << 10

// route registers an /api/v1 route that takes a token made for sc (or for
// every scope), and of a token made for a user, a role that holds need.
func (s *apiHandlers) route(r *router, method, path string, sc scope, need permission, h func(ctx *fasthttp.RequestCtx, tok store.Token) error) {
	// A refusal names the route as the README's scope table writes it:
	// ID where the path takes one, not the router's "*".
	r.token(method, path, sc, s.apiAuth(method+" "+strings.ReplaceAll(path, "*", "ID"), sc, need, h))
}

// apiAuth wraps an /api/v1 handler: a valid bearer token, else 401 and
// nothing done. A token made with scopes (token add --scope) must have sc
// among them, else 403 naming it and the route (what: "METHOD pattern").
// A token made for a user (token add --user) holds no more than that
// user's role does now: need is what the dashboard asks of a user for the
// same data, else 403. The handler gets the token, to keep to its sites.
func (s *apiHandlers) apiAuth(what string, sc scope, need permission, h func(ctx *fasthttp.RequestCtx, tok store.Token) error) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		token, ok := bearerToken(string(ctx.Request.Header.Peek("Authorization")))
		if !ok {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="appliance"`)
			return errorf(fasthttp.StatusUnauthorized, "send an API token as Authorization: Bearer TOKEN (appliance token add)")
		}
		tok, err := s.accounts.UseToken(ctx, token)
		if err != nil {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="appliance", error="invalid_token"`)
			return errorf(fasthttp.StatusUnauthorized, "the API token is not valid")
		}
		if !tok.AllowsScope(sc.String()) {
			// RFC 6750's answer to a token without the scope.
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="appliance", error="insufficient_scope", scope="`+sc.String()+`"`)
			return &failure{
				err: errorf(fasthttp.StatusForbidden, "this token is made for %s; %s needs the scope %s (appliance token add --scope %s)",
					strings.Join(tok.Scopes, ", "), what, sc, sc),
				result: scopeResult{Code: "insufficient_scope", Scope: sc.String()},
			}
		}
		if tok.User != "" {
			u, err := s.accounts.User(tok.User)
			if err != nil {
				// Removing a user revokes their tokens; one met here was
				// made in the moment between.
				return errorf(fasthttp.StatusUnauthorized, "the API token is not valid: its user %s no longer exists", tok.User)
			}
			if !need.allows(u.Role) {
				return errorf(fasthttp.StatusForbidden, "this token acts as %s, whose role (%s) does not give access to this", u.Email, u.Role)
			}
		}
		return h(ctx, tok)
	}
}

// bearerToken reads the token of an Authorization header, "Bearer TOKEN";
// ok is false for another scheme, or none, or no token. The scheme is
// case-insensitive (RFC 9110 11.1): "bearer TOKEN", as some HTTP libraries
// write it, is the same credential.
func bearerToken(auth string) (token string, ok bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(auth), " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// scopeResult is the result of a 403 to a token without the route's
// scope: the scope it needs, for a script to say so.
type scopeResult struct {
	Code  string `json:"code"`
	Scope string `json:"scope"`
}

// callRequest is the body of POST /api/v1/calls.
type callRequest struct {
	Called       *string `json:"called"`
	Caller       *string `json:"caller"`
	StartedAt    *string `json:"started_at"`
	Duration     *int64  `json:"duration"`
	Answered     *bool   `json:"answered"`
	RecordingURL *string `json:"recording_url"`
	PBXCallID    *string `json:"pbx_call_id"`
}

var callFields = map[string]bool{"called": true, "caller": true, "started_at": true, "duration": true, "answered": true,
	"recording_url": true, "pbx_call_id": true}

// callFieldList names callFields for an error.
const callFieldList = "called, caller, started_at, duration, answered, recording_url, pbx_call_id"

// parseCall decodes and checks the shape of a reported call: one JSON
// object, no unknown fields (the error lists the known ones), called
// present, started_at RFC 3339. Values
// are checked by tracking (numbers, ranges). Errors are 400s with the
// reason.
func parseCall(body []byte) (tracking.CallInput, error) {
	var in tracking.CallInput
	var r callRequest
	if err := decodeBody(body, maxCallBody, &r, ignoreUnknown); err != nil {
		return in, err
	}
	// encoding/json matches field names regardless of case; the API's are
	// exact.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(withoutBOM(body), &keys); err != nil {
		return in, errorf(fasthttp.StatusBadRequest, "the body must be a JSON object")
	}
	for k := range keys {
		if !callFields[k] {
			return in, errorf(fasthttp.StatusBadRequest, "unknown field %.64q (fields are %s)", k, callFieldList)
		}
	}
	if r.Called == nil || *r.Called == "" {
		return in, errorf(fasthttp.StatusBadRequest, "called (the number dialled) is required")
	}
	in.Called = *r.Called
	if r.Caller != nil {
		in.Caller = *r.Caller
	}
	if r.StartedAt != nil {
		t, err := time.Parse(time.RFC3339, *r.StartedAt)
		if err != nil {
			return in, errorf(fasthttp.StatusBadRequest, "started_at %q: want RFC 3339, e.g. 2026-11-26T15:00:00Z", *r.StartedAt)
		}
		if t.IsZero() {
			// The zero time is how CallInput says "now": a PBX that sends
			// its own zero (0001-01-01T00:00:00Z) gets what any other time
			// before 2000 gets, not a call stored as of now.
			return in, errorf(fasthttp.StatusBadRequest, "started_at %s is before 2000", *r.StartedAt)
		}
		in.StartedAt = t
	}
	if r.Duration != nil {
		if *r.Duration < 0 || *r.Duration > int64(tracking.MaxCallDuration/time.Second) {
			return in, errorf(fasthttp.StatusBadRequest, "duration must be whole seconds from 0 to %d", int64(tracking.MaxCallDuration/time.Second))
		}
		in.Duration = time.Duration(*r.Duration) * time.Second
	}
	if r.Answered != nil {
		in.Answered = *r.Answered
	}
	if r.RecordingURL != nil {
		in.RecordingURL = *r.RecordingURL
	}
	if r.PBXCallID != nil {
		in.PBXCallID = *r.PBXCallID
	}
	return in, nil
}

// attributionResult is the result of both endpoints, as SPEC §5 has it,
// plus "pool". "source" is the traffic channel (organic, social, referral,
// direct, ad), "" when unknown. "pool" names the pool of the lease, or the
// pool whose fallback number was called (then attributed is false and the
// utm fields are what the pool's rule names); "" for other numbers.
// "match" says how the call was tied to its source and visitor: "lease"
// (the visitor who held the number), "static" (the static number's
// rule), "caller_id" (a visitor who left the caller's number in a lead,
// a callback or addVisitorInfo), "static+caller_id", or "" (not tied).
type attributionResult struct {
	CallID      uint64 `json:"call_id"`
	Attributed  bool   `json:"attributed"`
	VisitorID   uint64 `json:"visitor_id"`
	SessionID   uint64 `json:"session_id"`
	Source      string `json:"source"`
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	LandingPage string `json:"landing_page"`
	Pool        string `json:"pool"`
	Match       string `json:"match"`
}

func resultOf(callID uint64, a *tracking.Attribution) attributionResult {
	return attributionResult{CallID: callID, Attributed: a.Attributed, VisitorID: a.Visitor, SessionID: a.Session,
		Source: a.Source.Channel, UTMSource: a.Source.UTMSource, UTMMedium: a.Source.UTMMedium,
		UTMCampaign: a.Source.UTMCampaign, LandingPage: a.Source.Landing, Pool: a.PoolName, Match: a.Match}
}

// otherSite is the answer to a token scoped to some sites that names a
// number of another site (or of none); which site is not said.
func otherSite(number string) *Error {
	return errorf(fasthttp.StatusForbidden, "this API token is limited to some sites, and the number %.32q is not one of theirs", number)
}

// postCall serves POST /api/v1/calls. A token scoped to some sites can
// report only calls to their numbers.
func (s *apiHandlers) postCall(ctx *fasthttp.RequestCtx, tok store.Token) error {
	in, err := parseCall(ctx.Request.Body())
	if err != nil {
		return err
	}
	in.Sites = tok.Sites
	now := s.now()
	in.Also = func(tx *store.Tx, c *store.Call, a *tracking.Attribution) error {
		if err := s.callDeliveries(tx, c, a, now); err != nil {
			return err
		}
		return s.reports.CountCall(tx, a.Site, c)
	}
	in.Changed = func(tx *store.Tx, prev, c *store.Call, a *tracking.Attribution) error {
		if err := s.callDeliveries(tx, c, a, now); err != nil {
			return err
		}
		return s.reports.CountCallChange(tx, a.Site, prev, c)
	}
	c, a, err := s.numbers.RecordCall(ctx, in, now)
	if errors.Is(err, tracking.ErrOtherSite) {
		return otherSite(in.Called)
	}
	if err != nil {
		return err
	}
	writeOK(ctx, resultOf(c.ID, &a))
	return nil
}

// callDeliveries queues, in the write that stores the call, one webhook
// delivery of it per endpoint of its site that takes calls: the call is
// never stored without them. A later report that changes the call (its
// end, after its start) queues them again, with the call as it is now and
// the report's time, reported, as its updated_at: the deliveries are not
// ordered, so that is how a receiver tells the latest. A call to a number
// no site has goes nowhere.
func (s *apiHandlers) callDeliveries(tx *store.Tx, c *store.Call, a *tracking.Attribution, reported time.Time) error {
	if a.Site == 0 {
		return nil
	}
	site, err := s.sites.ByID(a.Site)
	if err != nil {
		return fmt.Errorf("webhooks of call %d: %w", c.ID, err)
	}
	_, err = s.hooks.Enqueue(tx, webhooks.Event{Kind: webhooks.KindCall, ID: c.ID, Site: site.ID, SiteKey: site.Key,
		Time: time.UnixMilli(c.Received), Data: tracking.ViewOfCall(c, a, reported)})
	return err
}

// attributionQuery is the query of GET /api/v1/attribution.
type attributionQuery struct {
	Number string
	At     time.Time // zero: now
}

// The instants GET /api/v1/attribution may ask about: a lease history's
// times are Unix nanoseconds, which hold years 1678 to 2262; none is
// before 2000 (the oldest call POST /api/v1/calls takes).
var (
	minAttributionAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxAttributionAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseAttributionQuery reads number= (required) and at= (RFC 3339,
// optional, from 2000 to 2200), each once; any other parameter is refused
// (a misspelt at= would otherwise answer for now, as if it had been
// applied). Values are copied: the result does not alias args.
func parseAttributionQuery(args *fasthttp.Args) (attributionQuery, error) {
	var q attributionQuery
	if err := checkQuery(args, []string{"number", "at"}); err != nil {
		return q, err
	}
	n := args.Peek("number")
	if len(n) == 0 {
		return q, errorf(fasthttp.StatusBadRequest, "number is required")
	}
	if len(n) > numbers.MaxPhoneText || !utf8.Valid(n) {
		return q, errorf(fasthttp.StatusBadRequest, "number must be at most %d bytes of UTF-8", numbers.MaxPhoneText)
	}
	q.Number = string(n)
	if at := args.Peek("at"); len(at) > 0 {
		t, err := time.Parse(time.RFC3339, string(at))
		if err != nil && bytes.IndexByte(at, ' ') > 0 {
			// An offset's "+" written as is in a query string reads as a
			// space: say so, rather than only that the time is not one.
			return q, errorf(fasthttp.StatusBadRequest, "at %.64q: a + in a query string is a space; write it %%2B (2026-11-26T18:00:00%%2B03:00), or give the time in UTC (2026-11-26T15:00:00Z)", at)
		}
		if err != nil {
			return q, errorf(fasthttp.StatusBadRequest, "at %.64q: want RFC 3339, e.g. 2026-11-26T15:00:00Z", at)
		}
		if t.Before(minAttributionAt) || !t.Before(maxAttributionAt) {
			return q, errorf(fasthttp.StatusBadRequest, "at %.64q: want a time from 2000 to 2200", at)
		}
		q.At = t
	}
	return q, nil
}

// getAttribution serves GET /api/v1/attribution: who would a call to the
// number at the instant be attributed to. Nothing is stored; call_id is 0.
// A token scoped to some sites can ask only of their numbers.
func (s *apiHandlers) getAttribution(ctx *fasthttp.RequestCtx, tok store.Token) error {
	q, err := parseAttributionQuery(ctx.QueryArgs())
	if err != nil {
		return err
	}
	if q.At.IsZero() {
		q.At = s.now()
	}
	a, err := s.numbers.Attribute(ctx, q.Number, q.At)
	if err != nil {
		return err
	}
	if !tok.AllowsSite(a.Site) {
		return otherSite(q.Number)
	}
	writeOK(ctx, resultOf(0, &a))
	return nil
}
