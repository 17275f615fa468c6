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
// read the site. Each list of the card says where it goes on (View.Next);
// ?older=LIST&at=NEXT is the next page of that list alone, as the
// dashboard's card pages it; ?limit=N sets the size of the lists given.
type visitorsAPI struct {
	api   *apiHandlers // the token check
	sites *sites.Registry
	cards *visitors.Reader
}

func (s *visitorsAPI) mount(r *router) {
	s.api.route(r, "GET", visitorsAPIPath+"*", scopeVisitorsRead, seeVisitors, s.getVisitor)
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

// maxAPICardLimit is the most records of each list one card or page of
// the API gives (?limit=).
const maxAPICardLimit = 500

// apiCardPart reads which page of a card the API is asked for:
// ?older=LIST (sessions, leads, callbacks, calls, chats) with ?at=ID, the
// cursor the card gave as next.LIST (the list from that record on; no at:
// from its newest); the Part without Kind and "" for the whole card. With
// ?limit=N, 1 to maxAPICardLimit, each list given shows N records, else
// as many as the dashboard's card. An at without older, an unknown list,
// an at that is not an id, or a limit that is no such number is a 400.
func apiCardPart(args *fasthttp.Args) (visitors.Part, string, error) {
	var part visitors.Part
	if args.Has("limit") {
		s := string(args.Peek("limit"))
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 || n > maxAPICardLimit || s[0] == '0' {
			return part, "", errorf(fasthttp.StatusBadRequest, "limit %.40q: want how many records of each list to give, an integer from 1 to %d", s, maxAPICardLimit)
		}
		part.Limit = int(n)
	}
	name, at := string(args.Peek("older")), string(args.Peek("at"))
	if name == "" && !args.Has("older") && !args.Has("at") {
		return part, "", nil
	}
	for _, l := range cardLists {
		if l.name == name {
			part.Kind = l.kind
		}
	}
	if part.Kind == 0 {
		return part, "", errorf(fasthttp.StatusBadRequest, "older %.40q: want the list to page, sessions, leads, callbacks, calls or chats (at goes with it)", name)
	}
	if args.Has("at") {
		id, err := strconv.ParseUint(at, 10, 64)
		if err != nil || id == 0 || id >= 1<<53 || at[0] == '0' {
			return part, "", errorf(fasthttp.StatusBadRequest, "at %.40q: want the cursor the card gave as next.%s, an integer from 1 to 2^53-1", at, name)
		}
		part.At = id
	}
	return part, name, nil
}

// getVisitor serves GET /api/v1/visitors/ID?site=KEY[&older=LIST[&at=ID]][&limit=N].
func (s *visitorsAPI) getVisitor(ctx *fasthttp.RequestCtx, tok store.Token) error {
	id, err := parseVisitorID(string(ctx.Path()), visitorsAPIPath)
	if err != nil {
		return err
	}
	if err := knownParams(ctx, []string{"site", "older", "at", "limit"}); err != nil {
		return err
	}
	part, list, err := apiCardPart(ctx.QueryArgs())
	if err != nil {
		return err
	}
	key := string(ctx.QueryArgs().Peek("site"))
	if key == "" {
		return errorf(fasthttp.StatusBadRequest, "site (the site key) is required")
	}
	// A key that is not there and a site the token may not read get the
	// same answer: a token learns nothing of other sites' keys.
	site, err := s.sites.ByKey(key)
	if err != nil || !tok.AllowsSite(site.ID) {
		return errorf(fasthttp.StatusNotFound, "no site with the key %.40q among the sites this API token may read", key)
	}
	c, err := s.cards.CardPart(ctx, site.ID, id, part)
	if err != nil {
		return err
	}
	v := visitors.ViewOf(&c)
	v.List = list
	writeOK(ctx, v)
	return nil
}
