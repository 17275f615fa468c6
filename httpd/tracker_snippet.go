package httpd

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	brotli "github.com/molecule-man/go-brrr"
	"github.com/valyala/fasthttp"

	"appliance/assets"
)

// The tracking snippet (SPEC §4) is built from its readable source in
// assets/snippet by `go generate ./assets` (appliance/internal/snippetbuild:
// esbuild, which the server does not link) into assets/snippet/dist, and
// loaded from there once at start: hashed and compressed with gzip and
// brotli, so that a request only picks bytes.
//
// The core keeps the install code's unversioned URL (/static/cs.min.js), so
// it is cached for a few minutes and revalidated by ETag: a new appliance
// version reaches every site within that time. The widget chunk, which the
// core loads only when a widget call is first made, lives at a
// content-hashed URL the core learns at build time, cached for a year; the
// chunks of earlier versions stay served from the store for the pages
// still running their cores (widget_kept.go).
const (
	snippetCorePath = "/static/cs.min.js"
	snippetDist     = "snippet/dist"

	// snippetCoreMaxGzip is the budget of the core, gzipped (SPEC §4).
	snippetCoreMaxGzip = 8 << 10

	cacheRevalidate = "public, max-age=300, must-revalidate"
	cacheImmutable  = "public, max-age=31536000, immutable"
)

// snippet is the built snippet: the core and the widget chunk, and the
// widget chunks of earlier versions that the store keeps (widget_kept.go).
type snippet struct {
	core       script
	widget     script
	widgetPath string            // e.g. "/static/cs-widget.3f9a0c1b.js"
	kept       map[string]script // by path, e.g. "/static/cs-widget.0a1b2c3d.js"
}

// script is one built JavaScript file of the snippet and how long caches
// keep it.
type script struct {
	*asset
	cacheControl string
}

// asset is one static file, compressed once in every encoding it is served
// in, so that a request only picks bytes.
type asset struct {
	encodings   [numEncodings]encoded // by encoding index
	contentType string
	// brotliReady is closed once encodings[encBrotli].body is made (see
	// assetCache); the ETags are set before.
	brotliReady chan struct{}
}

// encoded is one representation of an asset. Each has its own strong ETag
// (the hash of the file plus the encoding), as RFC 9110 asks of
// representations whose bytes differ.
type encoded struct {
	body []byte
	etag string
}

// Content codings, in order of preference when the client weighs them the
// same.
const (
	encBrotli = iota
	encGzip
	encIdentity
	numEncodings
)

var encodingNames = [numEncodings]string{encBrotli: "br", encGzip: "gzip", encIdentity: ""}

// loadSnippet reads the built core and widget chunk from dist (nil:
// assets.FS's snippet/dist) and compresses them. It fails when the build
// is not whole: no core, not exactly one widget chunk, a chunk whose name
// is not its content's hash (kept chunks are found by name, widget_kept.go),
// or a core that names another chunk (a file edited or left by hand: go
// generate ./assets makes them agree).
func loadSnippet(c *assetCache, dist fs.FS) (*snippet, error) {
	if dist == nil {
		var err error
		if dist, err = fs.Sub(assets.FS, snippetDist); err != nil {
			return nil, fmt.Errorf("load snippet: %w", err)
		}
	}
	coreJS, err := fs.ReadFile(dist, path.Base(snippetCorePath))
	if err != nil {
		return nil, fmt.Errorf("load snippet: %w", err)
	}
	widgets, err := fs.Glob(dist, "cs-widget.*.js")
	if err != nil || len(widgets) != 1 {
		return nil, fmt.Errorf("load snippet: %d widget chunks in %s, want 1 (%v)", len(widgets), snippetDist, err)
	}
	widgetJS, err := fs.ReadFile(dist, widgets[0])
	if err != nil {
		return nil, fmt.Errorf("load snippet: %w", err)
	}
	if want := widgetName(widgetJS); widgets[0] != want {
		return nil, fmt.Errorf("load snippet: the widget chunk %s is named %s by its content: run go generate ./assets", widgets[0], want)
	}
	widgetPath := "static/" + widgets[0]
	// The path as a string literal's start (the core adds a fragment).
	if !bytes.Contains(coreJS, []byte(`"`+widgetPath)) {
		return nil, fmt.Errorf("load snippet: the core does not import %s: run go generate ./assets", widgetPath)
	}
	sn := &snippet{widgetPath: "/" + widgetPath}
	if sn.core, err = newScript(c, coreJS, cacheRevalidate); err != nil {
		return nil, err
	}
	if sn.widget, err = newScript(c, widgetJS, cacheImmutable); err != nil {
		return nil, err
	}
	if n := len(sn.core.encodings[encGzip].body); n > snippetCoreMaxGzip {
		return nil, fmt.Errorf("load snippet: core is %d bytes gzipped, over its budget of %d", n, snippetCoreMaxGzip)
	}
	return sn, nil
}

// newScript compresses code once in every encoding.
func newScript(c *assetCache, code []byte, cacheControl string) (script, error) {
	a, err := c.newAsset(code, "text/javascript; charset=utf-8", brotli.BestCompression)
	if err != nil {
		return script{}, fmt.Errorf("load snippet: %w", err)
	}
	return script{asset: a, cacheControl: cacheControl}, nil
}

// hexTag is the ETag of a file whose SHA-256 is sum, quotes and coding
// aside.
func hexTag(sum [32]byte) string { return hex.EncodeToString(sum[:8]) }

// brotliWindow is the base-2 log of the smallest brotli window (16 KiB to
// 16 MiB) that holds n bytes.
func brotliWindow(n int) int {
	w := 14
	for w < 24 && 1<<w < n {
		w++
	}
	return w
}

// serveSnippetCore serves the core at the install code's URL.
func (s *trackerHandlers) serveSnippetCore(ctx *fasthttp.RequestCtx) error {
	s.snippet.core.serve(ctx)
	return nil
}

// serveSnippetWidget serves the widget chunk at its content-hashed URL.
func (s *trackerHandlers) serveSnippetWidget(ctx *fasthttp.RequestCtx) error {
	serveWidget(ctx, &s.snippet.widget)
	return nil
}

// serveKeptWidget serves a widget chunk of an earlier version that the
// store keeps, to a page still running that version's core; a chunk no
// version served, or one no longer kept, is the 404 of a path no route
// takes.
func (s *trackerHandlers) serveKeptWidget(ctx *fasthttp.RequestCtx) error {
	sc, ok := s.snippet.kept[string(ctx.Path())]
	if !ok {
		return errorf(fasthttp.StatusNotFound, "no such page: %s", ctx.Path())
	}
	serveWidget(ctx, &sc)
	return nil
}

// serveWidget answers with a widget chunk. The core loads it with
// import(), a CORS request that carries the credentials mode of the core's
// own script tag: the install code's tag has no crossorigin attribute, so
// that mode is "include", and a browser takes the answer only when it
// names the page's origin and allows credentials ("*" is refused). The
// chunk is the same public file for every origin; no cookie of the
// appliance is read.
func serveWidget(ctx *fasthttp.RequestCtx, sc *script) {
	sc.serve(ctx)
	if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 {
		h := &ctx.Response.Header
		h.SetBytesV("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Vary", "Accept-Encoding, Origin")
	}
}

// serve answers with the script, which any site may load.
func (sc *script) serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	sc.asset.serve(ctx, sc.cacheControl)
}

// serve answers with the representation the client accepts best, or 304
// when the client's copy (any representation: they are the same file) is
// current.
func (a *asset) serve(ctx *fasthttp.RequestCtx, cacheControl string) {
	h := &ctx.Response.Header
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := ctx.Request.Header.Peek("If-None-Match"); len(inm) > 0 {
		// Only the tags are read here: the brotli body may still be in
		// the making (assetCache.finish writes it).
		for i := range a.encodings {
			if tag := a.encodings[i].etag; etagMatch(string(inm), tag) {
				h.Set("ETag", tag)
				ctx.SetStatusCode(fasthttp.StatusNotModified)
				return
			}
		}
	}
	enc := negotiateEncoding(string(ctx.Request.Header.Peek("Accept-Encoding")))
	if enc == encBrotli {
		<-a.brotliReady
		if a.encodings[encBrotli].body == nil {
			enc = encIdentity // brotli failed: what every client takes
		}
	}
	e := a.encodings[enc]
	h.Set("ETag", e.etag)
	if name := encodingNames[enc]; name != "" {
		h.Set("Content-Encoding", name)
	}
	ctx.SetContentType(a.contentType)
	ctx.Response.SetBodyRaw(e.body) // shared and never written to
}

// etagMatch reports whether an If-None-Match header names etag, by the weak
// comparison RFC 9110 prescribes for it.
func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// negotiateEncoding picks the content coding for an Accept-Encoding header:
// the highest q-value the client gives among br, gzip and identity, ties
// going to the smaller body. Identity is acceptable unless the client
// refuses it, and is the answer when it refuses everything we have (a 406
// would only break the site).
func negotiateEncoding(header string) int {
	var q [numEncodings]float64
	var set [numEncodings]bool
	star, starSet := 0.0, false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		v := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				v = f
			}
		}
		switch name {
		case "br":
			q[encBrotli], set[encBrotli] = v, true
		case "gzip", "x-gzip":
			q[encGzip], set[encGzip] = v, true
		case "identity":
			q[encIdentity], set[encIdentity] = v, true
		case "*":
			star, starSet = v, true
		}
	}
	for i := range q {
		if !set[i] {
			switch {
			case starSet:
				q[i] = star
			case i == encIdentity:
				q[i] = 1 // acceptable unless refused
			}
		}
	}
	best, bestQ := encIdentity, 0.0
	for i, v := range q { // ascending: ties keep the more compact coding
		if v > bestQ {
			best, bestQ = i, v
		}
	}
	return best
}
