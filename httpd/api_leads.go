package httpd

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/callbacks"
	"appliance/httpd/leads"
	"appliance/store"
)

// The leads API (README "Leads API"): a CRM reads a site's leads and
// callback requests with an API token, oldest first from the last id it
// was given, and marks them as the dashboard's staff do. Webhooks push
// each as it arrives; this is the pull beside them, for a CRM that
// catches up after it was down or takes in what came before it was wired.

// apiSettle is how old a lead or callback must be before the list gives
// it: ids are taken before the record is written, so one with a lower id
// may still be on its way to the disk when a higher one is there, and a
// reader going on from the higher id would miss it.
const apiSettle = 10 * time.Second

// apiListMax is the most records one list request gives.
const apiListMax = 1000

// maxAPIMarkBody is the body limit of a status change.
const maxAPIMarkBody = 4 << 10

func (s *apiHandlers) mountLeads(r *router) {
	s.route(r, "GET", "/api/v1/leads", scopeLeadsRead, seeReports, s.listLeads)
	s.route(r, "POST", "/api/v1/leads/*/status", scopeLeadsWrite, markLeads, s.markRecord("leads", s.leads.Mark, s.leads.MarkStatus))
	s.route(r, "GET", "/api/v1/callbacks", scopeCallbacksRead, seeCallbacks, s.listCallbacks)
	s.route(r, "POST", "/api/v1/callbacks/*/status", scopeCallbacksWrite, markCallbacks, s.markRecord("callbacks", s.callbacks.Mark, s.callbacks.MarkStatus))
}

// apiMark is a record's status as the API gives it, beside the record.
type apiMark struct {
	Status   string     `json:"status"` // new, in_progress, done, spam
	Note     string     `json:"note"`
	StatusBy string     `json:"status_by"` // who set it; "" when never set
	StatusAt *time.Time `json:"status_at"` // null when never set
}

func apiMarkOf(m store.Mark) apiMark {
	a := apiMark{Status: leads.StatusOf(m), Note: m.Note, StatusBy: m.By}
	if m.Time != 0 {
		t := time.UnixMilli(m.Time).UTC()
		a.StatusAt = &t
	}
	return a
}

type apiLead struct {
	leads.View
	apiMark
}

type apiCallback struct {
	callbacks.View
	apiMark
}

// listPage reads what the lists share: the site (one the token may read),
// after (the last id the reader was given, 0 from the start) and limit.
func (s *apiHandlers) listPage(ctx *fasthttp.RequestCtx, tok store.Token, params []string) (site *store.Site, after uint64, limit int, err error) {
	if err = knownParams(ctx, params); err != nil {
		return nil, 0, 0, err
	}
	if site, err = s.tokenSite(tok, string(ctx.QueryArgs().Peek("site"))); err != nil {
		return nil, 0, 0, err
	}
	if after, err = uintArg(ctx, "after", 0, 1<<53); err != nil {
		return nil, 0, 0, err
	}
	n, err := uintArg(ctx, "limit", 100, apiListMax)
	if err != nil {
		return nil, 0, 0, err
	}
	if n == 0 {
		n = 100
	}
	return site, after, int(n), nil
}

// The query parameters of the lists. Any other is refused, as the
// reports API refuses one: a misspelt filter (stauts=done) would
// otherwise give every record as if it had been applied.
var (
	leadsParams     = []string{"site", "after", "limit", "from", "to", "status", "form", "phone", "sale"}
	callbacksParams = []string{"site", "after", "limit", "from", "to", "status", "state", "phone"}
)

// knownParams refuses a query parameter that is not one of known, with
// 400 naming the ones there are, and one given more than once (each is
// read once: limit=5&limit=abc would list 5 as if the second were not
// there), as the reports API refuses both.
func knownParams(ctx *fasthttp.RequestCtx, known []string) error {
	return checkQuery(ctx.QueryArgs(), known)
}

// checkQuery is knownParams of a query's args.
func checkQuery(args *fasthttp.Args, known []string) error {
	for k := range args.All() {
		if !slices.Contains(known, string(k)) {
			return errorf(fasthttp.StatusBadRequest, "unknown parameter %q (parameters are %s)", cutString(string(k), 40), strings.Join(known, ", "))
		}
		if n := len(args.PeekMulti(string(k))); n > 1 {
			return errorf(fasthttp.StatusBadRequest, "parameter %q given %d times", string(k), n)
		}
	}
	return nil
}

// listLeads is GET /api/v1/leads?site=KEY[&after=ID][&limit=N] with the
// dashboard's filters (from, to, form, phone, sale, status).
func (s *apiHandlers) listLeads(ctx *fasthttp.RequestCtx, tok store.Token) error {
	site, after, limit, err := s.listPage(ctx, tok, leadsParams)
	if err != nil {
		return err
	}
	f, _, err := leadFilter(ctx.QueryArgs(), s.sites.Location(site))
	if err != nil {
		return err
	}
	out := make([]apiLead, 0, min(limit, 100))
	err = s.leads.Since(ctx, site.ID, f, after, s.now().Add(-apiSettle), limit, func(l store.Lead, m store.Mark) bool {
		out = append(out, apiLead{View: leads.ViewOf(&l), apiMark: apiMarkOf(m)})
		return true
	})
	if err != nil {
		return err
	}
	writeOK(ctx, out)
	return nil
}

// listCallbacks is GET /api/v1/callbacks?site=KEY[&after=ID][&limit=N]
// with the dashboard's filters (from, to, state, phone, status).
func (s *apiHandlers) listCallbacks(ctx *fasthttp.RequestCtx, tok store.Token) error {
	site, after, limit, err := s.listPage(ctx, tok, callbacksParams)
	if err != nil {
		return err
	}
	f, _, err := callbackFilter(ctx.QueryArgs(), s.sites.Location(site))
	if err != nil {
		return err
	}
	w, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return err
	}
	out := make([]apiCallback, 0, min(limit, 100))
	err = s.callbacks.Since(ctx, site.ID, f, after, s.now().Add(-apiSettle), limit, func(cb store.Callback, m store.Mark) bool {
		out = append(out, apiCallback{View: callbacks.ViewOf(&cb, w.Groups), apiMark: apiMarkOf(m)})
		return true
	})
	if err != nil {
		return err
	}
	writeOK(ctx, out)
	return nil
}

// markRequest is the body of POST /api/v1/leads/ID/status and
// /api/v1/callbacks/ID/status.
type markRequest struct {
	Status *string `json:"status"`
	Note   *string `json:"note"` // nil: the record's note stays
}

// markRecord is POST /api/v1/{leads,callbacks}/ID/status: the record's
// status and note (markStatus: its status alone, when the body has no
// note: a CRM that sends a status keeps the note staff wrote), set as the
// token's user (or under the token's name), found among the token's sites.
func (s *apiHandlers) markRecord(list string, mark func(ctx context.Context, site uint32, id uint64, status, note, by string) (store.Mark, error),
	markStatus func(ctx context.Context, site uint32, id uint64, status, by string) (store.Mark, error)) func(*fasthttp.RequestCtx, store.Token) error {
	return func(ctx *fasthttp.RequestCtx, tok store.Token) error {
		raw := strings.Split(string(ctx.Path()), "/")[4]
		id, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || id == 0 {
			return errorf(fasthttp.StatusBadRequest, "%s id %q: want a positive integer", strings.TrimSuffix(list, "s"), cutString(raw, 40))
		}
		var req markRequest
		if err := decodeBody(ctx.PostBody(), maxAPIMarkBody, &req, refuseUnknown); err != nil {
			return err
		}
		if req.Status == nil {
			return errorf(fasthttp.StatusBadRequest, "status is required: new, in_progress, done or spam")
		}
		by := apiOperator(tok).Name
		for _, site := range s.sites.List() {
			if !tok.AllowsSite(site.ID) {
				continue
			}
			var m store.Mark
			if req.Note == nil {
				m, err = markStatus(context.WithoutCancel(ctx), site.ID, id, *req.Status, by)
			} else {
				m, err = mark(context.WithoutCancel(ctx), site.ID, id, *req.Status, *req.Note, by)
			}
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			writeOK(ctx, apiMarkOf(m))
			return nil
		}
		return errorf(fasthttp.StatusNotFound, "no %s %d on this token's sites", strings.TrimSuffix(list, "s"), id)
	}
}
