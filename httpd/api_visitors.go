package httpd

import (
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/sites"
	"appliance/httpd/visitors"
	"appliance/store"
)

// visitorsAPI serves GET /api/v1/visitors/ID?site=KEY: the visitor card as
// JSON (visitors.View), for a bearer token (as /api/v1/calls) that may
// read the site.
type visitorsAPI struct {
	api   *apiHandlers // the token check
	sites *sites.Registry
	cards *visitors.Reader
}

func (s *visitorsAPI) mount(r *router) {
	r.api("GET", visitorsAPIPath+"*", open, s.api.apiAuth(seeVisitors, s.getVisitor))
}

const visitorsAPIPath = "/api/v1/visitors/"

// parseVisitorID reads the visitor id of a card's path (after prefix): a
// positive integer below 2^53, nothing after it.
func parseVisitorID(path, prefix string) (uint64, error) {
	s, ok := strings.CutPrefix(path, prefix)
	if !ok || s == "" {
		return 0, errorf(fasthttp.StatusBadRequest, "give the visitor id in the path: %sID?site=KEY", prefix)
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 || id >= 1<<53 || s[0] == '0' {
		return 0, errorf(fasthttp.StatusBadRequest, "the visitor id %.32q is not a visitor id: ids are whole numbers from 1 to 2^53-1", s)
	}
	return id, nil
}

// getVisitor serves GET /api/v1/visitors/ID?site=KEY.
func (s *visitorsAPI) getVisitor(ctx *fasthttp.RequestCtx, tok store.Token) error {
	id, err := parseVisitorID(string(ctx.Path()), visitorsAPIPath)
	if err != nil {
		return err
	}
	key := string(ctx.QueryArgs().Peek("site"))
	if key == "" {
		return errorf(fasthttp.StatusBadRequest, "site (the site key) is required")
	}
	site, err := s.sites.ByKey(key)
	if err != nil {
		return errorf(fasthttp.StatusNotFound, "no site has the key %.40q", key)
	}
	if !tok.AllowsSite(site.ID) {
		return errorf(fasthttp.StatusForbidden, "this API token is limited to some sites, and this site is not one of them")
	}
	c, err := s.cards.Card(ctx, site.ID, id)
	if err != nil {
		return err
	}
	writeOK(ctx, visitors.ViewOf(&c))
	return nil
}
