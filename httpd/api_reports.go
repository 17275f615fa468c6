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
	for k, val := range ctx.QueryArgs().All() {
		v.Add(string(k), string(val))
	}
	return v
}

// tokenSites finds a site by its key among the sites tok may read: a
// site key that is not there and one of a site the token may not read get
// the same 404, so that a token learns nothing of other sites, not even
// which keys exist. The query is parsed with it, so that no other answer
// (a bad date after a found site) tells them apart either.
func (s *apiHandlers) tokenSites(tok store.Token) reports.SiteFunc {
	return func(key string) (*store.Site, error) {
		site, err := s.reports.SiteByKey(key)
		if err != nil || site == nil || !tok.AllowsSite(site.ID) {
			return nil, reports.ErrNoSite.Errorf("no site with the key %q among the sites this API token may read", cutString(key, 64))
		}
		return site, nil
	}
}

func (s *apiHandlers) getSources(ctx *fasthttp.RequestCtx, tok store.Token) error {
	q, err := reports.ParseSources(queryValues(ctx), s.tokenSites(tok), s.reports.Location, s.now())
	if err != nil {
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
	q, err := reports.ParseSeries(queryValues(ctx), s.tokenSites(tok), s.reports.Location, s.now())
	if err != nil {
		return err
	}
	res, err := s.reports.Series(ctx, q)
	if err != nil {
		return err
	}
	writeOK(ctx, res)
	return nil
}
