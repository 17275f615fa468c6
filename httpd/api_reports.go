package httpd

import (
	"net/url"

	"github.com/valyala/fasthttp"

	"appliance/httpd/reports"
	"appliance/store"
)

// The reports API (issue 11): GET /api/v1/reports/sources and
// /api/v1/reports/timeseries, with an API token as /api/v1/calls. The
// figures come from package reports; this only decodes the query, keeps
// the token to its sites and encodes the answer.

func (s *apiHandlers) mountReports(r *router) {
	s.route(r, "GET", "/api/v1/reports/sources", scopeReportsRead, seeReports, s.getSources)
	s.route(r, "GET", "/api/v1/reports/timeseries", scopeReportsRead, seeReports, s.getTimeseries)
}

// queryValues copies the request's query into url.Values (nothing of
// the request is kept).
func queryValues(ctx *fasthttp.RequestCtx) url.Values {
	v := url.Values{}
	ctx.QueryArgs().VisitAll(func(k, val []byte) { v.Add(string(k), string(val)) })
	return v
}

// siteOfToken refuses a site the token may not read, as it refuses one
// that is not there: a token scoped to some sites learns nothing of
// others.
func siteOfToken(tok store.Token, site *store.Site) error {
	if !tok.AllowsSite(site.ID) {
		return errorf(fasthttp.StatusForbidden, "this API token may not read the site %s", site.Key)
	}
	return nil
}

func (s *apiHandlers) getSources(ctx *fasthttp.RequestCtx, tok store.Token) error {
	q, err := reports.ParseSources(queryValues(ctx), s.reports.SiteByKey, s.reports.Location, s.now())
	if err != nil {
		return err
	}
	if err := siteOfToken(tok, q.Site); err != nil {
		return err
	}
	res, err := s.reports.Sources(ctx, q)
	if err != nil {
		return err
	}
	writeOK(ctx, res)
	return nil
}

func (s *apiHandlers) getTimeseries(ctx *fasthttp.RequestCtx, tok store.Token) error {
	q, err := reports.ParseSeries(queryValues(ctx), s.reports.SiteByKey, s.reports.Location, s.now())
	if err != nil {
		return err
	}
	if err := siteOfToken(tok, q.Site); err != nil {
		return err
	}
	res, err := s.reports.Series(ctx, q)
	if err != nil {
		return err
	}
	writeOK(ctx, res)
	return nil
}
