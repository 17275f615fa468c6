package httpd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/assets"
	"appliance/numbers"
	"appliance/store"
)

// pages holds the dashboard's parsed templates (one set per page, each with
// the layout) and its static files, hashed once at start for ETags.
type pages struct {
	tmpl    map[string]*template.Template
	static  map[string]staticFile
	version string // hash of all static files, for cache-busting URLs
}

type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// templateFuncs are the pages' functions; phone writes a stored number
// (E.164 digits) as people in the server's phone region read it; tel is a
// link that dials it (a phone user taps it to call), showing the number as
// phone does or, given, text ({{tel .Phone (print "+" .Phone)}}).
func templateFuncs(region string) template.FuncMap {
	return template.FuncMap{
		"join":  strings.Join,
		"may":   may,
		"phone": func(digits string) string { return numbers.FormatPhone(digits, region) },
		"tel": func(digits string, text ...string) template.HTML {
			if len(text) > 0 {
				return telLink(digits, strings.Join(text, " "))
			}
			return telLink(digits, numbers.FormatPhone(digits, region))
		},
	}
}

// telLink is an <a href="tel:+DIGITS"> showing text; anything but digits
// in digits is left out of the link, and text is escaped.
func telLink(digits, text string) template.HTML {
	clean := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, digits)
	if clean == "" {
		return template.HTML(template.HTMLEscapeString(text))
	}
	return template.HTML(`<a class="tel" href="tel:+` + clean + `">` + template.HTMLEscapeString(text) + `</a>`)
}

// loadPages parses the dashboard's pages; numbers are shown as people in
// region (--phone-region) write them.
func loadPages(region string) (*pages, error) {
	p := &pages{tmpl: map[string]*template.Template{}, static: map[string]staticFile{}}
	// The layout and the shared pieces, parsed once; each page is a clone
	// with its own "content".
	base, err := template.New("layout").Funcs(templateFuncs(region)).ParseFS(assets.FS, "dashboard/layout.html", "dashboard/partials.html")
	if err != nil {
		return nil, fmt.Errorf("load pages: %w", err)
	}
	all := sha256.New()
	entries, err := fs.ReadDir(assets.FS, "dashboard")
	if err != nil {
		return nil, fmt.Errorf("load pages: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		body, err := fs.ReadFile(assets.FS, "dashboard/"+name)
		if err != nil {
			return nil, fmt.Errorf("load pages: %w", err)
		}
		switch path.Ext(name) {
		case ".html":
			if name == "layout.html" || name == "partials.html" {
				continue
			}
			t, err := base.Clone()
			if err == nil {
				_, err = t.Parse(string(body))
			}
			if err != nil {
				return nil, fmt.Errorf("load pages: %s: %w", name, err)
			}
			p.tmpl[strings.TrimSuffix(name, ".html")] = t
		case ".css", ".js":
			ct := "text/css; charset=utf-8"
			if path.Ext(name) == ".js" {
				ct = "text/javascript; charset=utf-8"
			}
			sum := sha256.Sum256(body)
			all.Write(sum[:])
			p.static[name] = staticFile{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		}
	}
	p.version = hex.EncodeToString(all.Sum(nil)[:6])
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title        string
	User         *store.User
	CSRF         string
	Flash        string
	Error        string
	AssetVersion string
	Nav          *siteNav // the site's pages, on a page of one site
	Data         any
}

// render writes page name with v as the answer.
func (p *pages) render(ctx *fasthttp.RequestCtx, status int, name string, v view) error {
	t := p.tmpl[name]
	if t == nil {
		return fmt.Errorf("render: no page %q", name)
	}
	v.AssetVersion = p.version
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/html; charset=utf-8")
	securityHeaders(ctx)
	ctx.SetBody(buf.Bytes())
	return nil
}

// dashboardCSP is the dashboard pages' Content-Security-Policy: scripts,
// styles and everything else only from this server, as files: no inline
// <script> or <style>, no on* or style="" attributes (the templates keep
// none, TestTemplatesHaveNoInlineCode checks), so markup that slipped
// through escaping still cannot run; no framing, forms post only here, and
// no <base> can re-point relative URLs.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// securityHeaders are set on every dashboard page: no framing, no sniffing,
// scripts only from this server.
func securityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("Cache-Control", "no-store")
}

// writePageError answers err as an HTML page.
func (s *Server) writePageError(ctx *fasthttp.RequestCtx, err error) {
	ue := asUserError(err)
	if ue == nil {
		s.log.Error("page failed", "path", string(ctx.Path()), "err", err)
		ue = &Error{Code: fasthttp.StatusInternalServerError, Msg: "Something went wrong on our side; the details are in the server log."}
	}
	if ue.Status() == fasthttp.StatusUnauthorized {
		s.seeOther(ctx, "/login")
		return
	}
	data := struct {
		Status  int
		Message string
	}{ue.Status(), ue.UserMessage()}
	if rerr := s.pages.render(ctx, ue.Status(), "error", view{Title: "Error", Data: data}); rerr != nil {
		ctx.Error(ue.UserMessage(), ue.Status())
	}
}

// seeOther answers 303 to path (absolute, "/..."; a query may follow) on
// the public URL. Never fasthttp's ctx.Redirect: it builds the Location
// from the request's Host header, which the client chooses, so a forged
// Host would send the browser to another server.
func (s *Server) seeOther(ctx *fasthttp.RequestCtx, path string) { seeOther(ctx, s.PublicURL(), path) }

func (s *dashboardHandlers) seeOther(ctx *fasthttp.RequestCtx, path string) {
	seeOther(ctx, s.publicURL, path)
}

func seeOther(ctx *fasthttp.RequestCtx, publicURL, path string) {
	ctx.Response.Header.Set("Location", strings.TrimSuffix(publicURL, "/")+path)
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

// serveAsset serves a dashboard static file with ETag revalidation.
func (s *dashboardHandlers) serveAsset(ctx *fasthttp.RequestCtx) error {
	name := strings.TrimPrefix(string(ctx.Path()), "/assets/")
	f, ok := s.pages.static[name]
	if !ok {
		return errorf(fasthttp.StatusNotFound, "no such asset")
	}
	serveStatic(ctx, f.body, f.contentType, f.etag, ctx.QueryArgs().Has("v"))
	return nil
}

// serveStatic answers body with its ETag; a versioned URL is cached for a
// year, any other for a minute with revalidation.
func serveStatic(ctx *fasthttp.RequestCtx, body []byte, contentType, etag string, versioned bool) {
	h := &ctx.Response.Header
	h.Set("ETag", etag)
	if versioned {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=60, must-revalidate")
	}
	if match := ctx.Request.Header.Peek("If-None-Match"); len(match) > 0 && bytes.Contains(match, []byte(etag)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(contentType)
	ctx.SetBody(body)
}
