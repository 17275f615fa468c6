package httpd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/assets"
	"appliance/httpd/callbacks"
	"appliance/httpd/i18n"
	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// pages holds the dashboard's templates and its static files, hashed
// once at start for ETags. A page's template (the layout, the shared
// pieces and the page, with the language's catalog functions bound) is
// parsed when the page is first shown in that language and phone region:
// parsing them all was a third of an empty server's start-up.
type pages struct {
	region string // the server's phone region (--phone-region)
	// sets holds a *pageSet for each language and phone region a page was
	// shown in (a site's own region, store.Site.PhoneRegion, or the
	// server's): "ru/KZ".
	sets    sync.Map
	static  map[string]*asset
	version string // hash of all static files, for cache-busting URLs
	catalog *i18n.Catalog
	// warning, when set, is a warning every signed-in page shows ("" none):
	// the export's backlog near its bound.
	warning func(tr i18n.Printer) string
}

// templateFuncs are the pages' functions: the catalog's of language tr
// (t, tn, th, num, date... see i18n.Printer.Funcs), may, and phone, which
// writes a stored number (E.164 digits) as people in region (the page's
// site's phone region, else the server's) read it; tel is a link that dials it (a phone user taps it to
// call), showing the number as phone does or, given, text ({{tel .Phone
// (print "+" .Phone)}}); typedSaysMore tells whether the number as typed
// says more than tel shows (numbers.TypedSaysMore), so a page shows it
// beneath only then.
func templateFuncs(region string, tr i18n.Printer) template.FuncMap {
	f := tr.Funcs()
	f["join"] = strings.Join
	f["may"] = may
	f["callbackForm"] = func(key string, v view, st callbackSettingsForm, back string) callbackFormView {
		return callbackFormView{Key: key, CSRF: v.CSRF, Settings: st, Back: back, View: v}
	}
	f["phone"] = func(digits string) string { return numbers.FormatPhone(digits, region) }
	f["tel"] = func(digits string, text ...string) template.HTML {
		if len(text) > 0 {
			return telLink(digits, strings.Join(text, " "))
		}
		return telLink(digits, numbers.FormatPhone(digits, region))
	}
	f["typedSaysMore"] = func(digits, typed string) bool { return numbers.TypedSaysMore(digits, typed, region) }
	f["langs"] = i18n.Langs
	// {{count .N}}: a figure grouped as the reports group theirs (1 234).
	f["count"] = formatCount
	// {{seconds .Duration}}: a call's length in seconds, in words.
	f["seconds"] = func(n uint32) string { return durationText(tr, time.Duration(n)*time.Second) }
	// {{callbackState .State}}: a callback state's words, to translate.
	f["callbackState"] = callbacks.StateLabel
	// {{zone .Zone}}: a time zone's name for a narrow column's heading,
	// which may wrap after each "/" (Asia/<wbr>Yekaterinburg): browsers
	// do not break there, so the column broke the name inside a word.
	f["zone"] = func(name string) template.HTML {
		return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(name), "/", "/<wbr>"))
	}
	// {{skippedReason .}}: why a numbers import skipped a line.
	f["skippedReason"] = func(s tracking.Skipped) string { return skippedReason(tr, s) }
	f["invalid"] = invalidAttrs
	f["fieldError"] = fieldError
	return f
}

// invalidAttrs are the attributes of form field key ({{invalid $
// "domain"}} in its tag) when the page's refusal is about it (v.Field):
// marked invalid, focused, and described by the message fieldError puts
// beside it; otherwise none. key is unique on its page ("invite-email"
// where another form has an email), and the message's id is key+"-error".
func invalidAttrs(v view, key string) template.HTMLAttr {
	if v.Error == "" || v.Field != key {
		return ""
	}
	return template.HTMLAttr(` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(key) + `-error" autofocus`)
}

// fieldError is the refusal's message beside form field key, after its
// label ({{fieldError $ "domain"}}), when the refusal is about that field
// (v.Field); the layout then leaves it out of the top of the page.
func fieldError(v view, key string) template.HTML {
	if v.Error == "" || v.Field != key {
		return ""
	}
	return template.HTML(`<p class="field-error" id="` + template.HTMLEscapeString(key) + `-error">` + template.HTMLEscapeString(v.Error) + `</p>`)
}

// telLink is an <a href="tel:+DIGITS"> showing text; anything but digits
// in digits is left out of the link, and text is escaped.
func telLink(digits, text string) template.HTML {
	clean := numbers.Digits(digits)
	if clean == "" {
		return template.HTML(template.HTMLEscapeString(text))
	}
	return template.HTML(`<a class="tel" href="tel:+` + clean + `">` + template.HTMLEscapeString(text) + `</a>`)
}

// loadPages parses the dashboard's pages; numbers are shown as people in
// region (--phone-region) write them.
func loadPages(region string, c *assetCache) (*pages, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, fmt.Errorf("load pages: %w", err)
	}
	p := &pages{static: map[string]*asset{}, catalog: cat, region: region}
	all := sha256.New()
	entries, err := fs.ReadDir(assets.FS, "dashboard")
	if err != nil {
		return nil, fmt.Errorf("load pages: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if ext := path.Ext(name); ext != ".css" && ext != ".js" {
			continue
		}
		body, err := fs.ReadFile(assets.FS, "dashboard/"+name)
		if err != nil {
			return nil, fmt.Errorf("load pages: %w", err)
		}
		ct := "text/css; charset=utf-8"
		if path.Ext(name) == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		sum := sha256.Sum256(body)
		all.Write(sum[:])
		if p.static[name], err = c.newAsset(body, ct, assetBrotliQuality); err != nil {
			return nil, fmt.Errorf("load pages: %s: %w", name, err)
		}
	}
	p.version = hex.EncodeToString(all.Sum(nil)[:6])
	return p, nil
}

// pageSet is the dashboard's templates in one language for one phone
// region, parsed as they are first needed.
type pageSet struct {
	mu    sync.Mutex
	base  *template.Template // the layout and the shared pieces; only cloned
	pages map[string]*template.Template
}

// page is page name (its file in assets/dashboard, less ".html") in
// language l with numbers written for phone region ("": the server's).
func (p *pages) page(l i18n.Lang, region, name string) (*template.Template, error) {
	if region == "" {
		region = p.region
	}
	k := string(l) + "/" + region
	v, ok := p.sets.Load(k)
	if !ok {
		v, _ = p.sets.LoadOrStore(k, &pageSet{pages: map[string]*template.Template{}})
	}
	set := v.(*pageSet)
	set.mu.Lock()
	defer set.mu.Unlock()
	if t := set.pages[name]; t != nil {
		return t, nil
	}
	if set.base == nil {
		base, err := template.New("layout").Funcs(templateFuncs(region, p.catalog.For(l))).ParseFS(assets.FS, "dashboard/layout.html", "dashboard/partials.html")
		if err != nil {
			return nil, fmt.Errorf("load pages: %w", err)
		}
		set.base = base
	}
	body, err := fs.ReadFile(assets.FS, "dashboard/"+name+".html")
	if err != nil {
		return nil, fmt.Errorf("load page %s: %w", name, err)
	}
	t, err := set.base.Clone()
	if err == nil {
		_, err = t.Parse(string(body))
	}
	if err != nil {
		return nil, fmt.Errorf("load page %s: %w", name, err)
	}
	set.pages[name] = t
	return t, nil
}

// view is what every page template gets.
type view struct {
	Title       string
	TitleIsData bool // Title is what a user typed (a site's name): never translated
	User        *store.User
	CSRF        string
	Flash       string
	Error       string
	// Field is the form field Error is about (the key its template gives
	// invalidAttrs and fieldError), "" for a refusal about no one field:
	// the message then stands at the top of the page, else beside it.
	Field        string
	AssetVersion string
	Nav          *siteNav // the site's pages, on a page of one site
	Warning      string   // pages.warning's, on a signed-in page
	// Lang is the page's language; render sets it (pages.printer) when
	// the handler has not.
	Lang i18n.Lang
	// Path is the page's path and query, where the language switch
	// comes back to.
	Path string
	Data any
}

// langCookie holds the dashboard language chosen in this browser; a
// signed-in user's own setting (store.User.Lang) comes first.
const langCookie = "apl_lang"

// langOf is the language of a dashboard answer: the signed-in user's
// setting, else the one chosen in this browser (the cookie), else the
// browser's Accept-Language, else English.
func langOf(ctx *fasthttp.RequestCtx, u *store.User) i18n.Lang {
	if u != nil {
		if l, ok := i18n.Parse(u.Lang); ok {
			return l
		}
	}
	if l, ok := i18n.Parse(string(ctx.Request.Header.Cookie(langCookie))); ok {
		return l
	}
	return i18n.FromAcceptLanguage(string(ctx.Request.Header.Peek("Accept-Language")))
}

// printer is the catalog of the request's language (langOf) for handler
// messages: tr := s.pages.printer(ctx, &who.user); tr.T("Saved.").
func (p *pages) printer(ctx *fasthttp.RequestCtx, u *store.User) i18n.Printer {
	return p.catalog.For(langOf(ctx, u))
}

// clock writes a page's times: in the zone of the site they belong to
// (a site's records) and as the reader's language writes them.
type clock struct {
	tr  i18n.Printer
	loc *time.Location
}

// at is the time ms (Unix milliseconds) to the second; "" for 0.
func (c clock) at(ms int64) string {
	if ms == 0 {
		return ""
	}
	return c.tr.DateTime(time.UnixMilli(ms).In(c.loc))
}

// clock is the clock of the signed-in reader's pages about site.
func (s *dashboardHandlers) clock(ctx *fasthttp.RequestCtx, u *store.User, site *store.Site) clock {
	return clock{tr: s.pages.printer(ctx, u), loc: s.sites.Location(site)}
}

// render writes page name with v as the answer, in v.Lang (by default the
// request's language, langOf). Title, Flash and Error are translated when
// the catalog has them as keys; a message with arguments is translated by
// the handler (printer) before it gets here.
func (p *pages) render(ctx *fasthttp.RequestCtx, status int, name string, v view) error {
	if v.Lang == "" {
		v.Lang = langOf(ctx, v.User)
	}
	region := ""
	if v.Nav != nil {
		region = v.Nav.Region
	}
	t, err := p.page(v.Lang, region, name)
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("render: no page %q", name)
	}
	tr := p.catalog.For(v.Lang)
	// "Leads · My shop": the page's name is translated, the site's kept.
	v.Flash, v.Error = tr.T(v.Flash), tr.T(v.Error)
	if !v.TitleIsData {
		title, rest, cut := strings.Cut(v.Title, " · ")
		v.Title = tr.T(title)
		if cut {
			v.Title += " · " + rest
		}
	}
	v.AssetVersion = p.version
	if v.User != nil && p.warning != nil {
		v.Warning = p.warning(tr)
	}
	if ctx.IsGet() {
		v.Path = string(ctx.RequestURI())
	}
	ctx.Response.Header.Set("Content-Language", string(v.Lang))
	ctx.Response.Header.Add("Vary", "Accept-Language, Cookie")
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/html; charset=utf-8")
	securityHeaders(ctx)
	ctx.SetBody(showBidiControls(buf.Bytes()))
	return nil
}

// showBidiControls replaces every Unicode bidi control in a rendered page
// with U+FFFD: the marks (U+200E, U+200F, the Arabic letter mark U+061C),
// embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
// Neither the templates nor the catalog hold any
// (TestNoBidiControlsInPages), so what it finds was typed by a visitor
// (a name, a phone, a message, a page title): escaping leaves it text, but
// it would still reorder what the operator reads, a phone shown reversed
// or a name pulling the row's time before it. Shown as U+FFFD it changes
// nothing and tells the reader something odd was typed; the stored text
// is untouched. style.css isolates the visitor-text fields (unicode-bidi:
// isolate) against what right-to-left letters alone would do. b is
// changed in place, and returned, unless a U+061C (two bytes, where U+FFFD
// takes three) makes it return a longer copy.
//
// Only the page's text and the attributes a browser shows as text (a
// tooltip: shownAttributes) are touched: what else a tag holds (a form
// field's value, a hidden field naming a pool) and a textarea's content go
// back to the server when a form is sent, and must come back as they
// were, or a pool whose name holds a control could never be edited or
// removed.
func showBidiControls(b []byte) []byte {
	var out []byte // the page so far, once a U+061C has made it longer
	last := 0      // b up to here is in out
	inTag, shown := false, false
	var quote byte // the quote of the attribute value the scan is in
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && inTag:
			switch c {
			case '"', '\'':
				quote = c
				shown = i > 0 && b[i-1] == '=' && shownAttributes[string(attributeName(b[:i-1]))]
			case '>':
				inTag = false
			}
			continue
		case quote != 0 && !shown:
			continue
		case quote == 0 && c == '<':
			inTag = true
			if bytes.HasPrefix(b[i+1:], []byte("textarea")) {
				end := bytes.Index(b[i:], []byte("</textarea"))
				if end < 0 {
					break
				}
				i += end
			}
			continue
		}
		// In the text, or in a shown attribute's value.
		switch {
		case c == 0xe2 && i+2 < len(b):
			if c := b[i+2]; b[i+1] == 0x80 && (c == 0x8e || c == 0x8f || c >= 0xaa && c <= 0xae) || b[i+1] == 0x81 && c >= 0xa6 && c <= 0xa9 {
				b[i], b[i+1], b[i+2] = 0xef, 0xbf, 0xbd
				i += 2
			}
		case c == 0xd8 && i+1 < len(b) && b[i+1] == 0x9c: // U+061C
			out = append(append(out, b[last:i]...), "\ufffd"...)
			last = i + 2
			i++
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// shownAttributes are the attributes whose values a browser shows as text:
// a tooltip, an image's text, what a screen reader says, a field's hint.
var shownAttributes = map[string]bool{"title": true, "alt": true, "aria-label": true, "aria-description": true, "placeholder": true}

// attributeName is the attribute name b ends with (the text before an
// "=" in a tag).
func attributeName(b []byte) []byte {
	i := len(b)
	for i > 0 && (b[i-1] == '-' || b[i-1] >= 'a' && b[i-1] <= 'z' || b[i-1] >= 'A' && b[i-1] <= 'Z' || b[i-1] >= '0' && b[i-1] <= '9') {
		i--
	}
	return b[i:]
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
	}{ue.Status(), translateError(s.pages.printer(ctx, nil), ue)}
	if rerr := s.pages.render(ctx, ue.Status(), "error", view{Title: "Error", Data: data}); rerr != nil {
		ctx.Error(ue.UserMessage(), ue.Status())
	}
}

// translateError is ue's message in tr's language: a domain error's own
// translation (usererr's Translate: its context, format and phrases
// apart), the catalog's translation of its format (an error that keeps
// it, MessageFormat) or of its message, else the message as it is.
func translateError(tr i18n.Printer, ue userError) string {
	if f, ok := ue.(interface {
		Translate(func(string, ...any) string) string
	}); ok {
		return f.Translate(tr.T) // a domain's: its pieces apart
	}
	if f, ok := ue.(interface{ MessageFormat() (string, []any) }); ok {
		format, args := f.MessageFormat()
		return tr.T(format, translatePhrases(tr, args)...)
	}
	return tr.T(ue.UserMessage())
}

// translatePhrases is args with each usererr.Phrase among them (a word
// the reader's language says its own way: a role) in tr's language.
func translatePhrases(tr i18n.Printer, args []any) []any {
	out := slices.Clone(args)
	for i, a := range out {
		if p, ok := a.(usererr.Phrase); ok {
			out[i] = tr.T(p.Format, p.Args...)
		}
	}
	return out
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

// assetBrotliQuality is the brotli quality of the dashboard's static files
// (see assetCache.newAsset).
const assetBrotliQuality = 7

// serveAsset serves a dashboard static file, precompressed, with ETag
// revalidation; a versioned URL is cached for a year, any other for a
// minute with revalidation.
func (s *dashboardHandlers) serveAsset(ctx *fasthttp.RequestCtx) error {
	name := strings.TrimPrefix(string(ctx.Path()), "/assets/")
	f, ok := s.pages.static[name]
	if !ok {
		return errorf(fasthttp.StatusNotFound, "no such asset")
	}
	cc := "public, max-age=60, must-revalidate"
	if ctx.QueryArgs().Has("v") {
		cc = cacheImmutable
	}
	f.serve(ctx, cc)
	return nil
}
