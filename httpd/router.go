package httpd

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// handler serves one request; a returned error is answered in one place,
// as JSON or as an HTML page depending on the route.
type handler func(ctx *fasthttp.RequestCtx) error

type route struct {
	method  string
	pattern string     // the path as registered, the metrics' route label
	path    string     // exact, a prefix when it ends in "*", or a pattern
	page    bool       // errors as HTML pages rather than JSON
	need    permission // what the caller must be allowed (roles.go)
	scope   scope      // an API route's: what its token must be made for (roles.go)
	h       handler
	segs    []string // a pattern's segments; "*" matches any one segment

	served  *routeCounter       // answers by status (metrics.go)
	latency prometheus.Observer // nil, or where the route's latency goes
}

// router is a small table router: exact paths first, then patterns with a
// "*" segment ("/sites/*/leads", the key of a site in the middle), then the
// longest matching prefix.
type router struct {
	exact    map[string]*route // "METHOD path"
	patterns []*route
	prefix   []*route
	paths    map[string]bool // known paths, for 405 versus 404
	all      []*route        // every route, in the order added
	unrouted *routeCounter   // answers to requests no route takes
}

func newRouter() *router { return &router{exact: map[string]*route{}, paths: map[string]bool{}} }

func (r *router) add(method, path string, page bool, need permission, h handler) *route {
	rt := &route{method: method, pattern: path, path: path, page: page, need: need, h: h}
	r.all = append(r.all, rt)
	if strings.Contains(path, "/*/") {
		rt.segs = strings.Split(path, "/")
		r.patterns = append(r.patterns, rt)
		return rt
	}
	if p, ok := strings.CutSuffix(path, "*"); ok {
		rt.path = p
		r.prefix = append(r.prefix, rt)
		return rt
	}
	r.exact[method+" "+path] = rt
	r.paths[path] = true
	return rt
}

// api adds a JSON route that needs the permission.
func (r *router) api(method, path string, need permission, h handler) {
	r.add(method, path, false, need, h)
}

// token adds an /api/v1 JSON route, open to the dispatcher: h checks the
// bearer token, which must be made for the scope (apiHandlers.route).
func (r *router) token(method, path string, sc scope, h handler) {
	r.add(method, path, false, open, h).scope = sc
}

// page adds an HTML route that needs the permission.
func (r *router) page(method, path string, need permission, h handler) {
	r.add(method, path, true, need, h)
}

// find returns the route for method and path; allowed is false when the
// path exists under another method.
func (r *router) find(method, path string) (rt *route, pathKnown bool) {
	if rt := exactRoute(r, method, path); rt != nil {
		return rt, true
	}
	if method == fasthttp.MethodHead {
		if rt := exactRoute(r, fasthttp.MethodGet, path); rt != nil {
			return rt, true
		}
	}
	for _, p := range r.patterns {
		if p.match(path) {
			if p.method == method || method == fasthttp.MethodHead && p.method == fasthttp.MethodGet {
				return p, true
			}
			pathKnown = true
		}
	}
	if pathKnown {
		return nil, true
	}
	var best *route
	for _, p := range r.prefix {
		if strings.HasPrefix(path, p.path) {
			if p.method != method && !(method == fasthttp.MethodHead && p.method == fasthttp.MethodGet) {
				pathKnown = true
				continue
			}
			if best == nil || len(p.path) > len(best.path) {
				best = p
			}
		}
	}
	if best != nil {
		return best, true
	}
	return nil, pathKnown || r.paths[path]
}

// allowed lists the methods some route takes path with, sorted, HEAD
// with GET: the Allow header of a 405.
func (r *router) allowed(path string) []string {
	var out []string
	for _, rt := range r.all {
		serves := rt.pattern == path
		switch {
		case rt.segs != nil:
			serves = rt.match(path)
		case strings.HasSuffix(rt.pattern, "*"):
			serves = strings.HasPrefix(path, rt.path)
		}
		if !serves {
			continue
		}
		out = append(out, rt.method)
		if rt.method == fasthttp.MethodGet {
			out = append(out, fasthttp.MethodHead)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookup is find for a request's method and path as fasthttp has them:
// an exact route is found without copying them.
func (r *router) lookup(method, path []byte) (rt *route, pathKnown bool) {
	if rt := exactRoute(r, method, path); rt != nil {
		return rt, true
	}
	return r.find(string(method), string(path))
}

// exactRoute is the route of method and path among r's exact ones. Its
// key is built on the stack: every request looks it up.
func exactRoute[T string | []byte](r *router, method, path T) *route {
	var buf [128]byte
	k := append(append(append(buf[:0], method...), ' '), path...)
	return r.exact[string(k)]
}

// match reports whether path fits the pattern: as many segments, each
// equal or matched by a "*" (which needs a non-empty segment).
func (rt *route) match(path string) bool {
	for i, seg := range rt.segs {
		part, rest, more := strings.Cut(path, "/")
		if more != (i < len(rt.segs)-1) || (seg == "*" && part == "") || (seg != "*" && seg != part) {
			return false
		}
		path = rest
	}
	return true
}
