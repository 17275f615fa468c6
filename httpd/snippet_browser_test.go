package httpd_test

// Browser tests of the tracking snippet: a site on another origin than the
// appliance installs the snippet exactly as the dashboard shows it, a
// visitor opens its pages in headless chromium, and the tests check what
// the appliance then holds in its store.

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/sites"
	"appliance/store"
)

// snippetFixture is an appliance with one site, a web site on another
// origin that serves pages with the install code, and a visitor's browser.
type snippetFixture struct {
	srv     *httpdtest.Server
	key     string      // the site key
	site    *store.Site // the site's record
	install string      // the install code as the dashboard shows it
	web     string      // base URL of the site, ending in "/"
	browser context.Context
	console *consoleLog

	mu    sync.Mutex
	pages map[string]string // path -> HTML
}

// newSnippetFixture starts everything; the site serves no page yet. opts
// change the server's options.
func newSnippetFixture(t *testing.T, opts ...func(*httpd.Options)) *snippetFixture {
	t.Helper()
	srv := httpdtest.Start(t, opts...)
	f := &snippetFixture{srv: srv, pages: map[string]string{}}
	f.key = srv.Site(t, "Shop", "localhost")
	site, err := srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatalf("site: %v", err)
	}
	f.site = site
	f.install = srv.HTTP.InstallCode(f.key)
	ts := httpdtest.TestSite(t, func(path string) (string, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		html, ok := f.pages[path]
		return html, ok
	})
	// "localhost" rather than 127.0.0.1: another host, not only another
	// port, than the appliance.
	f.web = strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/"
	f.browser = httpdtest.Browser(t)
	f.console = watchConsole(t, f.browser)
	return f
}

// page serves html at path on the site.
func (f *snippetFixture) page(path, html string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages[path] = html
}

// sitePage is an HTML page of the site with the install code in its head:
// before runs ahead of the install code, body at the end of the page.
func sitePage(title, before, install, body string) string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title>\n")
	if before != "" {
		b.WriteString("<script>\n" + before + "\n</script>\n")
	}
	b.WriteString(install + "\n</head><body><h1>" + title + "</h1>\n")
	if body != "" {
		b.WriteString("<script>\n" + body + "\n</script>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// visit opens path of the site in the visitor's tab and waits until the
// appliance has answered the page view's hit; it returns the hit id.
func (f *snippetFixture) visit(t *testing.T, path string) int64 {
	t.Helper()
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web+strings.TrimPrefix(path, "/")))
	return f.waitHit(t, 0)
}

// waitHit polls the page until Comagic knows a hit id other than not.
func (f *snippetFixture) waitHit(t *testing.T, not int64) int64 {
	t.Helper()
	var id int64
	f.eventually(t, "the page view's hit is answered", func() bool {
		id = httpdtest.Eval[int64](t, f.browser, `(window.Comagic && Comagic.getCredentials().hit_id) || 0`)
		return id != 0 && id != not
	})
	return id
}

// eventually polls cond until it holds, failing the test after a deadline.
// Everything the snippet does is asynchronous; this waits for its outcome
// instead of sleeping a fixed time.
func (f *snippetFixture) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s\nconsole:\n%s", what, f.console)
		}
		select {
		case <-tick.C:
		case <-f.browser.Done():
			t.Fatalf("browser gone while waiting until %s", what)
		}
	}
}

// eval evaluates js in the visitor's tab, awaiting a promise.
func eval[T any](t *testing.T, f *snippetFixture, js string) T {
	t.Helper()
	return httpdtest.Eval[T](t, f.browser, js)
}

// callback calls a Comagic function that takes a callback (written as cb
// in call) and returns what the callback got.
func callback(t *testing.T, f *snippetFixture, call string) map[string]any {
	t.Helper()
	return eval[map[string]any](t, f, `new Promise(function (cb) { `+call+` })`)
}

// --- the store, as the appliance holds it ---------------------------------

// scanRecords decodes every record under prefix, in key order.
func scanRecords[T any](t *testing.T, db *store.DB, prefix []byte, decode func(key, value []byte) (T, error)) []T {
	t.Helper()
	var out []T
	err := db.ScanPrefix(context.Background(), prefix, false, 0, func(k, v []byte) bool {
		r, err := decode(k, v)
		if err != nil {
			t.Errorf("decode %q: %v", k, err)
			return false
		}
		out = append(out, r)
		return true
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// sessions are the site's sessions, oldest first.
func (f *snippetFixture) sessions(t *testing.T) []store.Session {
	t.Helper()
	return scanRecords(t, f.srv.DB, store.SessionPrefix(f.site.ID), func(_, v []byte) (store.Session, error) {
		return store.DecodeSession(v)
	})
}

// hits are the site's page views, oldest first.
func (f *snippetFixture) hits(t *testing.T) []store.Hit {
	t.Helper()
	out := scanRecords(t, f.srv.DB, store.SiteHitPrefix(f.site.ID), func(k, v []byte) (store.Hit, error) {
		sess, id, _ := store.SessionItemIDs(k)
		return store.DecodeHit(sess, id, v)
	})
	slices.SortFunc(out, func(a, b store.Hit) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// events are the site's events, oldest first.
func (f *snippetFixture) events(t *testing.T) []store.Event {
	t.Helper()
	out := scanRecords(t, f.srv.DB, store.SiteEventPrefix(f.site.ID), func(k, v []byte) (store.Event, error) {
		sess, id, _ := store.SessionItemIDs(k)
		return store.DecodeEvent(sess, id, v)
	})
	slices.SortFunc(out, func(a, b store.Event) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (f *snippetFixture) visitor(t *testing.T, id int64) store.Visitor {
	t.Helper()
	b, err := f.srv.DB.Get(store.VisitorKey(uint64(id)))
	if err != nil {
		t.Fatalf("visitor %d: %v", id, err)
	}
	v, err := store.DecodeVisitor(b)
	if err != nil {
		t.Fatalf("visitor %d: %v", id, err)
	}
	return v
}

// property is the stored value of a visitor's property named name exactly
// as it is shown (the case it was first written in); ok is false when no
// such property is stored.
func (f *snippetFixture) property(t *testing.T, visitor int64, name string) (string, bool) {
	t.Helper()
	for _, p := range f.properties(t, visitor) {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// properties are the stored properties of a visitor, in key order.
func (f *snippetFixture) properties(t *testing.T, visitor int64) []store.Property {
	t.Helper()
	return scanRecords(t, f.srv.DB, store.PropertyPrefix(uint64(visitor)), func(_, v []byte) (store.Property, error) {
		return store.DecodeProperty(v)
	})
}

// --- the browser console --------------------------------------------------

// consoleLog collects what the page writes to its console: console calls,
// uncaught exceptions, unhandled rejections and browser log entries (a CORS
// failure is one).
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(t *testing.T, tab context.Context) *consoleLog {
	t.Helper()
	ctx, cancel := context.WithCancel(tab)
	t.Cleanup(cancel)
	l := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.msgs = append(l.msgs, m)
			l.mu.Unlock()
		}
	}()
	return l
}

// matching returns the messages of type typ (any type when "") whose text
// contains text.
func (l *consoleLog) matching(typ chromedp.ConsoleType, text string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.msgs {
		if (typ == "" || m.Type == typ) && strings.Contains(m.Text, text) {
			out = append(out, m.Text)
		}
	}
	return out
}

func (l *consoleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, m := range l.msgs {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	return b.String()
}

// noExceptions fails the test if the page had an uncaught exception or an
// unhandled promise rejection.
func (f *snippetFixture) noExceptions(t *testing.T) {
	t.Helper()
	if ex := f.console.matching(chromedp.ConsoleException, ""); len(ex) > 0 {
		t.Errorf("uncaught exceptions in the page: %q", ex)
	}
}

// mark logs a unique console line and waits until it arrives: every console
// message the page wrote before it has arrived too (the protocol keeps
// their order), so counting them is then exact.
func (f *snippetFixture) mark(t *testing.T) {
	t.Helper()
	m := fmt.Sprintf("test-mark-%d", time.Now().UnixNano())
	eval[any](t, f, `console.log("`+m+`")`)
	f.eventually(t, "the console mark arrives", func() bool { return len(f.console.matching("", m)) > 0 })
}

// --- tests ----------------------------------------------------------------

// A page view is recorded on load with the page's URL and title, in a new
// session of a new visitor; the visitor's ci is kept in a first-party
// cookie and localStorage, and the next page continues the same session.
func TestSnippetPageView(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home page", "", f.install, ""))
	f.page("/price", sitePage("Prices", "", f.install, ""))

	hit := f.visit(t, "/?from=test")
	hits := f.hits(t)
	if len(hits) != 1 || int64(hits[0].ID) != hit {
		t.Fatalf("stored hits %+v, want one with id %d", hits, hit)
	}
	if got, want := hits[0].URL, f.web+"?from=test"; got != want {
		t.Errorf("hit URL %q, want %q", got, want)
	}
	if got := hits[0].Title; got != "Home page" {
		t.Errorf("hit title %q", got)
	}
	sessions := f.sessions(t)
	if len(sessions) != 1 || sessions[0].ID != hits[0].Session || sessions[0].Channel != "direct" {
		t.Fatalf("stored sessions %+v", sessions)
	}
	ci := fmt.Sprintf("%d.%d.", sessions[0].Visitor, sessions[0].ID)
	cookie := eval[string](t, f, `document.cookie`)
	if !strings.Contains(cookie, "_cs_ci="+ci) {
		t.Errorf("cookie %q lacks _cs_ci=%s...", cookie, ci)
	}
	if got := eval[string](t, f, `localStorage.getItem("_cs_ci")`); !strings.HasPrefix(got, ci) {
		t.Errorf("localStorage _cs_ci %q, want %s...", got, ci)
	}
	cookies, err := chromedp.Call(f.browser, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, c := range cookies.Cookies {
		if c.Name != "_cs_ci" && c.Name != "_cs_key" {
			continue
		}
		found[c.Name] = true
		// The snippet asks for two years; Chromium caps every cookie at
		// 400 days (RFC 6265bis), and each page view renews it.
		least := time.Now().AddDate(0, 0, 399)
		if exp := time.Unix(int64(c.Expires), 0); c.Path != "/" || c.SameSite != network.CookieSameSiteLax || c.HTTPOnly ||
			c.Domain != "localhost" || exp.Before(least) || exp.After(time.Now().AddDate(2, 0, 1)) {
			t.Errorf("cookie %s: path %q, SameSite %q, HttpOnly %v, domain %q, expires %v; want /, Lax, false, localhost, in 400 days to two years",
				c.Name, c.Path, c.SameSite, c.HTTPOnly, c.Domain, exp)
		}
		if c.Secure {
			t.Errorf("cookie %s is Secure on an http page: the next page would not send it", c.Name)
		}
		if want := sites.CredentialKey(f.site, sessions[0].Visitor, sessions[0].ID); c.Name == "_cs_key" && c.Value != want {
			t.Errorf("cookie _cs_key %q, want the session's key %q", c.Value, want)
		}
	}
	if !found["_cs_ci"] || !found["_cs_key"] {
		t.Errorf("cookies %v, want _cs_ci and _cs_key", found)
	}

	f.visit(t, "/price")
	hits = f.hits(t)
	if len(hits) != 2 || hits[1].Session != sessions[0].ID || hits[1].Title != "Prices" {
		t.Fatalf("second page: hits %+v, want both in session %d", hits, sessions[0].ID)
	}
	if n := len(f.sessions(t)); n != 1 {
		t.Errorf("%d sessions after two pages, want 1", n)
	}
	f.noExceptions(t)
}

// The ci cookie and the session key's cookie beside it are set on the
// widest domain that takes them, so a visitor who moves between the site's
// sub-domains stays one visitor in one session: the new sub-domain's
// localStorage is empty, and the key the hit needs comes from the cookie.
// (Chromium resolves every *.localhost name to the loopback address.)
func TestSnippetVisitorAcrossSubdomains(t *testing.T) {
	f := newSnippetFixture(t)
	record := `window.__stored = localStorage.length; window.__hits = []; var of = window.fetch;
window.fetch = function (u, o) { if (String(u).indexOf("/t/v1/hit") >= 0) __hits.push(JSON.parse(o.body)); return of.apply(this, arguments); };`
	f.page("/", sitePage("Home", record, f.install, ""))
	port := f.web[strings.LastIndex(f.web, ":"):]
	httpdtest.Must(t, f.browser, chromedp.Navigate("http://shop.localhost"+port))
	f.waitHit(t, 0)
	httpdtest.Must(t, f.browser, chromedp.Navigate("http://www.shop.localhost"+port))
	f.waitHit(t, 0)
	if n := eval[int](t, f, `__stored`); n != 0 {
		t.Fatalf("the new sub-domain's localStorage held %d items before the snippet ran, want none", n)
	}
	first := f.sessions(t)[0]
	if got, want := eval[string](t, f, `__hits[0].key || ""`), sites.CredentialKey(f.site, first.Visitor, first.ID); got != want {
		t.Errorf("the hit on the new sub-domain sent key %q, want the session's %q from the cookie", got, want)
	}
	hits, sessions := f.hits(t), f.sessions(t)
	if len(hits) != 2 || len(sessions) != 1 {
		t.Errorf("%d hits in %d sessions across sub-domains, want 2 in 1", len(hits), len(sessions))
	}
	if !strings.Contains(hits[len(hits)-1].URL, "www.shop.localhost") {
		t.Errorf("last hit %q", hits[len(hits)-1].URL)
	}
}

// getVisitorId and getSessionId answer the stored ids as numbers; before the
// first answer a first-time visitor has none yet (undefined).
func TestSnippetGetVisitorAndSessionID(t *testing.T) {
	f := newSnippetFixture(t)
	// The getter runs the moment the core defines Comagic: before any hit.
	before := `Object.defineProperty(window, "Comagic", {configurable: true,
  get: function () { return window._c; },
  set: function (c) { window._c = c; window.early = {vid: typeof c.getVisitorId(), sid: typeof c.getSessionId()}; }});`
	f.page("/", sitePage("Home", before, f.install, ""))
	f.visit(t, "/")
	if got := eval[map[string]any](t, f, `window.early`); got["vid"] != "undefined" || got["sid"] != "undefined" {
		t.Errorf("first-time visitor before the first answer: %v, want undefined ids", got)
	}
	s := f.sessions(t)
	if len(s) != 1 {
		t.Fatalf("sessions %+v", s)
	}
	if got := eval[string](t, f, `typeof Comagic.getVisitorId() + " " + Comagic.getVisitorId()`); got != fmt.Sprintf("number %d", s[0].Visitor) {
		t.Errorf("getVisitorId() = %s, want number %d", got, s[0].Visitor)
	}
	if got := eval[string](t, f, `typeof Comagic.getSessionId() + " " + Comagic.getSessionId()`); got != fmt.Sprintf("number %d", s[0].ID) {
		t.Errorf("getSessionId() = %s, want number %d", got, s[0].ID)
	}
	// On the next page, before its answer, the ids are the stored ones.
	f.visit(t, "/")
	if got := eval[map[string]any](t, f, `window.early`); got["vid"] != "number" || got["sid"] != "number" {
		t.Errorf("returning visitor before the first answer: %v, want numbers", got)
	}
	f.noExceptions(t)
}

// getCredentials has the reference's seven fields and comagic_id, the
// visitor's ci, which the reference's /vc/s/ takes "из запроса
// Comagic.getCredentials()" as ci=comagic_id; with its key the site's
// server adds visitor info through /vc/s/ as the reference shows, from
// nothing but getCredentials().
func TestSnippetGetCredentials(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	hit := f.visit(t, "/")
	c := eval[map[string]any](t, f, `Comagic.getCredentials()`)
	s := f.sessions(t)[0]
	want := map[string]any{
		"site_key": f.key, "uri": f.srv.URL, "consultant_server_url": f.srv.URL,
		"visitor_id": float64(s.Visitor), "session_id": float64(s.ID), "hit_id": float64(hit),
		"comagic_id": eval[string](t, f, `localStorage.getItem("_cs_ci")`),
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("getCredentials().%s = %v, want %v", k, c[k], v)
		}
	}
	ci, _ := c["comagic_id"].(string)
	if !strings.HasPrefix(ci, fmt.Sprintf("%d.%d.", s.Visitor, s.ID)) {
		t.Errorf("getCredentials().comagic_id = %q, want the ci of visitor %d, session %d", ci, s.Visitor, s.ID)
	}
	key, _ := c["key"].(string)
	if len(key) != 32 || len(c) != 8 {
		t.Errorf("getCredentials() = %v: want 8 fields with a 32-char key", c)
	}

	// k=key, ur=uri, ci=comagic_id, hi=hit_id, as the reference lists them.
	q := url.Values{"k": {key}, "ur": {fmt.Sprint(c["uri"])}, "ci": {ci}, "hi": {fmt.Sprint(hit)}, "vn": {"From the server"}, "s": {"1"}}
	resp, err := http.Get(f.srv.URL + "vc/s/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/vc/s/ with the credentials: status %d", resp.StatusCode)
	}
	if got := f.visitor(t, int64(s.Visitor)).Name; got != "From the server" {
		t.Errorf("visitor name %q after /vc/s/", got)
	}
}

// trackEvent stores an event on the current hit with the reference's four
// fields.
func TestSnippetTrackEvent(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	hit := f.visit(t, "/")
	eval[any](t, f, `Comagic.trackEvent('Offer', 'DownloadBook', 'CallTrackingBook', 'value'); Comagic.trackEvent('Offer', 'Open', undefined, 42)`)
	var evs []store.Event
	f.eventually(t, "two events are stored", func() bool { evs = f.events(t); return len(evs) == 2 })
	s := f.sessions(t)[0]
	want := []store.Event{
		{Session: s.ID, Hit: uint64(hit), Category: "Offer", Action: "DownloadBook", Name: "CallTrackingBook", Value: "value"},
		{Session: s.ID, Hit: uint64(hit), Category: "Offer", Action: "Open", Value: "42"},
	}
	for i, w := range want {
		got := evs[i]
		got.ID, got.Time = 0, 0
		if got != w {
			t.Errorf("event %d: %+v, want %+v", i, got, w)
		}
	}
	f.noExceptions(t)
}

// trackEvent without an action stores nothing: the appliance refuses it,
// and the console says why.
func TestSnippetTrackEventNeedsAction(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	// The outbox keeps call order: once the last event is stored, the
	// invalid ones before it would have been too.
	eval[any](t, f, `Comagic.trackEvent('Offer'); Comagic.trackEvent('Offer', ''); Comagic.trackEvent(); Comagic.trackEvent('after', 'valid')`)
	var evs []store.Event
	f.eventually(t, "the valid event is stored", func() bool { evs = f.events(t); return len(evs) > 0 })
	if len(evs) != 1 || evs[0].Category != "after" {
		t.Errorf("stored events %+v, want only the valid one", evs)
	}
	f.mark(t)
	if got := f.console.matching(chromedp.ConsoleWarning, "trackEvent failed: event category (c) and action (a) are required"); len(got) != 3 {
		t.Errorf("%d warnings about the missing action, want 3: %q", len(got), got)
	}
	f.noExceptions(t)
}

// addVisitorInfo: the name overwrites, phones (normalised) and emails are
// added without duplicates, and an empty call fails. A phone or an email
// that does not parse is kept as typed beside them, and the name given with
// it is not lost: only what cannot be text (a control character) fails.
func TestSnippetAddVisitorInfo(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	vid := eval[int64](t, f, `Comagic.getVisitorId()`)

	got := callback(t, f, `Comagic.addVisitorInfo({name: 'Test', phone: '8 (912) 345-67-89', email: 'My@Example.com'}, cb)`)
	if got["success"] != true {
		t.Fatalf("addVisitorInfo answered %v", got)
	}
	got = callback(t, f, `Comagic.addVisitorInfo({name: 'Дмитрий', phone: '+7 912 345 67 89', email: 'other@example.com'}, cb)`)
	if got["success"] != true {
		t.Fatalf("second addVisitorInfo answered %v", got)
	}
	v := f.visitor(t, vid)
	if v.Name != "Дмитрий" || !slices.Equal(v.Phones, []string{"79123456789"}) || !slices.Equal(v.Emails, []string{"my@example.com", "other@example.com"}) {
		t.Errorf("visitor %+v", v)
	}
	for _, call := range []string{`Comagic.addVisitorInfo({}, cb)`, `Comagic.addVisitorInfo({name: ''}, cb)`, `Comagic.addVisitorInfo(null, cb)`} {
		got = callback(t, f, call)
		if got["success"] != false || got["error"] == "" {
			t.Errorf("%s answered %v, want success:false with an error", call, got)
		}
	}
	got = callback(t, f, `Comagic.addVisitorInfo({phone: '\u0007 79123456780'}, cb)`)
	if got["success"] != false {
		t.Errorf("a phone with a control character answered %v", got)
	}
	if v2 := f.visitor(t, vid); !slices.Equal(v2.Phones, v.Phones) || v2.Name != v.Name {
		t.Errorf("failed calls changed the visitor: %+v", v2)
	}
	for range 2 { // the second time changes nothing
		got = callback(t, f, `Comagic.addVisitorInfo({name: 'Анна', phone: ' 12-34 доб. 5 ', email: 'Anna@mail'}, cb)`)
		if got["success"] != true {
			t.Fatalf("a name with a phone and an email that do not parse answered %v", got)
		}
	}
	v2 := f.visitor(t, vid)
	if v2.Name != "Анна" || !slices.Equal(v2.Phones, v.Phones) || !slices.Equal(v2.Emails, v.Emails) ||
		!slices.Equal(v2.PhonesTyped, []string{"12-34 доб. 5"}) || !slices.Equal(v2.EmailsTyped, []string{"Anna@mail"}) {
		t.Errorf("visitor %+v, want Анна with the phone and email kept as typed", v2)
	}
	// "Все другие параметры будут проигнорированы": a field of another
	// name (here /vc/s/'s vp) is ignored, the name still goes.
	got = callback(t, f, `Comagic.addVisitorInfo({name: 'Иван', vp: '79000000000', foo: 1}, cb)`)
	if got["success"] != true {
		t.Fatalf("addVisitorInfo with a field the reference does not name answered %v", got)
	}
	if v3 := f.visitor(t, vid); v3.Name != "Иван" || !slices.Equal(v3.Phones, v.Phones) {
		t.Errorf("visitor %+v, want the name Иван and the other fields ignored", v3)
	}
	f.noExceptions(t)
}

// setProperty stores a property with or without a value.
func TestSnippetSetProperty(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	vid := eval[int64](t, f, `Comagic.getVisitorId()`)
	eval[any](t, f, `Comagic.setProperty('Тип посетителя', 'Потенциальный'); Comagic.setProperty('Действующий клиент')`)
	f.eventually(t, "both properties are stored", func() bool {
		_, ok := f.property(t, vid, "Действующий клиент")
		return ok
	})
	if v, ok := f.property(t, vid, "Тип посетителя"); !ok || v != "Потенциальный" {
		t.Errorf("Тип посетителя = %q, %v", v, ok)
	}
	if v, _ := f.property(t, vid, "Действующий клиент"); v != "" {
		t.Errorf("a property set without a value has %q", v)
	}
	f.noExceptions(t)
}

// hasProperty answers {success:true, result:bool}, and sees a property set
// just before it (calls keep their order).
func TestSnippetHasProperty(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	got := callback(t, f, `Comagic.setProperty('client'); Comagic.hasProperty('client', cb)`)
	if got["success"] != true || got["result"] != true {
		t.Errorf("hasProperty of a set property: %v", got)
	}
	got = callback(t, f, `Comagic.hasProperty('never set', cb)`)
	if got["success"] != true || got["result"] != false {
		t.Errorf("hasProperty of an unset property: %v", got)
	}
}

// getProperty answers the value, or false when the property is unset.
func TestSnippetGetProperty(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	got := callback(t, f, `Comagic.setProperty('Тип клиента', 'VIP'); Comagic.getProperty('Тип клиента', cb)`)
	if got["success"] != true || got["result"] != "VIP" {
		t.Errorf("getProperty of a set property: %v", got)
	}
	got = callback(t, f, `Comagic.getProperty('never set', cb)`)
	if got["success"] != true || got["result"] != false {
		t.Errorf("getProperty of an unset property: %v", got)
	}
	// The reference's own pair: setProperty('Действующий клиент') without a
	// value, then getProperty of it. Its value is empty text, which a page
	// tells from false, "not set".
	got = callback(t, f, `Comagic.setProperty('Действующий клиент'); Comagic.getProperty('Действующий клиент', cb)`)
	if got["success"] != true || got["result"] != "" {
		t.Errorf("getProperty of a property set without a value: %v, want result \"\"", got)
	}
}

// Property names match without regard to case, as in the reference's own
// example (set 'Тип посетителя', delete 'тип посетителя'); the name keeps
// the case it was first written in.
func TestSnippetPropertyNameCase(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	vid := eval[int64](t, f, `Comagic.getVisitorId()`)
	got := callback(t, f, `Comagic.setProperty('Тип посетителя', 'Потенциальный'); Comagic.hasProperty('тип посетителя', cb)`)
	if got["success"] != true || got["result"] != true {
		t.Errorf("hasProperty('тип посетителя') after setProperty('Тип посетителя'): %v", got)
	}
	got = callback(t, f, `Comagic.setProperty('ТИП ПОСЕТИТЕЛЯ', 'Действующий'); Comagic.getProperty('тип Посетителя', cb)`)
	if got["success"] != true || got["result"] != "Действующий" {
		t.Errorf("getProperty('тип Посетителя') after setting it in capitals: %v", got)
	}
	if ps := f.properties(t, vid); len(ps) != 1 || ps[0].Name != "Тип посетителя" || ps[0].Value != "Действующий" {
		t.Errorf("stored properties %+v, want one, named as first written", ps)
	}
	got = callback(t, f, `Comagic.deleteProperty('тип посетителя'); Comagic.hasProperty('Тип посетителя', cb)`)
	if got["success"] != true || got["result"] != false {
		t.Errorf("hasProperty('Тип посетителя') after deleteProperty('тип посетителя'): %v", got)
	}
	if ps := f.properties(t, vid); len(ps) != 0 {
		t.Errorf("stored properties after the delete: %+v", ps)
	}
	if n := f.visitor(t, vid).Properties; n != 0 {
		t.Errorf("the visitor counts %d properties, want 0", n)
	}
	f.noExceptions(t)
}

// deleteProperty removes a property from the store.
func TestSnippetDeleteProperty(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	vid := eval[int64](t, f, `Comagic.getVisitorId()`)
	if got := callback(t, f, `Comagic.setProperty('тип посетителя', 'x'); Comagic.hasProperty('тип посетителя', cb)`); got["result"] != true {
		t.Fatalf("property not set: %v", got)
	}
	got := callback(t, f, `Comagic.deleteProperty('тип посетителя'); Comagic.hasProperty('тип посетителя', cb)`)
	if got["success"] != true || got["result"] != false {
		t.Errorf("hasProperty after deleteProperty: %v", got)
	}
	if _, ok := f.property(t, vid, "тип посетителя"); ok {
		t.Errorf("the property is still stored")
	}
}

// addOfflineRequest stores a lead of the visitor's session, with the
// reference's fields, and answers {success:true, result:null}; a sale cost
// without is_sale:true is refused with the reason.
func TestSnippetAddOfflineRequest(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	hit := f.visit(t, "/?utm_source=google&utm_medium=cpc")
	got := callback(t, f, `Comagic.addOfflineRequest({name: 'Дмитрий', email: 'dmitry@example.com', phone: '79123456789',
  message: 'Онлайн заказ...', is_sale: true, sale_cost: '9999', group_id: 1234, form_name: 'Заказ'}, cb)`)
	if got["success"] != true || got["result"] != nil || len(got) != 2 {
		t.Fatalf("addOfflineRequest answered %v, want {success:true, result:null}", got)
	}
	got = callback(t, f, `Comagic.addOfflineRequest({name: 'x', sale_cost: '10'}, cb)`)
	if msg, _ := got["error"].(string); got["success"] != false || !strings.Contains(msg, "is_sale") {
		t.Errorf("a sale cost without is_sale answered %v", got)
	}
	leads := scanRecords(t, f.srv.DB, store.LeadPrefix(f.site.ID), func(k, v []byte) (store.Lead, error) {
		id, _ := store.IDFromKey(k)
		return store.DecodeLead(id, v)
	})
	if len(leads) != 1 {
		t.Fatalf("stored leads %+v, want 1", leads)
	}
	l := leads[0]
	s := f.sessions(t)[0]
	if l.Name != "Дмитрий" || l.Email != "dmitry@example.com" || l.Phone != "79123456789" || l.Message != "Онлайн заказ..." ||
		!l.IsSale || l.SaleCost != 999900 || l.GroupID != 1234 || l.FormName != "Заказ" ||
		l.Session != s.ID || l.Visitor != s.Visitor || int64(l.Hit) != hit || l.UTMSource != "google" || l.PageURL != f.web+"?utm_source=google&utm_medium=cpc" {
		t.Errorf("stored lead %+v", l)
	}
	f.noExceptions(t)
}

// An SPA changes its URL with history.pushState and calls reinitTrackView:
// a second hit with the new URL and title, in the same session.
func TestSnippetReinitTrackView(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	first := f.visit(t, "/")
	eval[any](t, f, `history.pushState({}, '', '/catalog?page=2'); document.title = 'Catalog'; Comagic.reinitTrackView()`)
	second := f.waitHit(t, first)
	hits := f.hits(t)
	if len(hits) != 2 || int64(hits[1].ID) != second {
		t.Fatalf("hits %+v, want a second one with id %d", hits, second)
	}
	if got, want := hits[1].URL, f.web+"catalog?page=2"; got != want || hits[1].Title != "Catalog" {
		t.Errorf("SPA hit %q %q, want %q Catalog", got, hits[1].Title, want)
	}
	if hits[1].Session != hits[0].Session {
		t.Errorf("the SPA hit started a new session")
	}
	// Events after the navigation belong to the new hit.
	eval[any](t, f, `Comagic.trackEvent('spa', 'after')`)
	var evs []store.Event
	f.eventually(t, "the event is stored", func() bool { evs = f.events(t); return len(evs) == 1 })
	if int64(evs[0].Hit) != second {
		t.Errorf("event on hit %d, want %d", evs[0].Hit, second)
	}
	f.noExceptions(t)
}

// A visitor who comes back from another campaign starts a new session; a
// page without campaign tags continues it.
func TestSnippetSessionRollover(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.page("/about", sitePage("About", "", f.install, ""))
	f.visit(t, "/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring")
	s1 := eval[int64](t, f, `Comagic.getSessionId()`)
	f.visit(t, "/?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn")
	s2 := eval[int64](t, f, `Comagic.getSessionId()`)
	f.visit(t, "/about")
	s3 := eval[int64](t, f, `Comagic.getSessionId()`)
	if s1 == s2 || s2 != s3 {
		t.Errorf("sessions %d, %d, %d: want a new one for the new campaign, continued after", s1, s2, s3)
	}
	sessions := f.sessions(t)
	if len(sessions) != 2 {
		t.Fatalf("sessions %+v", sessions)
	}
	if sessions[0].Visitor != sessions[1].Visitor {
		t.Errorf("the returning visitor got a new visitor id")
	}
	if sessions[0].UTMCampaign != "spring" || sessions[1].UTMCampaign != "autumn" || sessions[1].Hits != 2 {
		t.Errorf("sessions %+v", sessions)
	}
}

// Commands pushed on __cs before the snippet loaded run in order once it
// has, callbacks included; after load __cs.push and Comagic.push run at once.
func TestSnippetQueueBeforeLoad(t *testing.T) {
	f := newSnippetFixture(t)
	before := `var __cs = __cs || [];
__cs.push(["setProperty", "step", "1"]);
__cs.push(["trackEvent", "queue", "first"]);
__cs.push(["setProperty", "step", "2"]);
__cs.push(["trackEvent", "queue", "second"]);
__cs.push(["getProperty", "step", function (r) { window.queued = r; }]);`
	f.page("/", sitePage("Home", before, f.install, ""))
	f.visit(t, "/")
	f.eventually(t, "the queued getProperty answers", func() bool { return eval[bool](t, f, `!!window.queued`) })
	if got := eval[map[string]any](t, f, `window.queued`); got["success"] != true || got["result"] != "2" {
		t.Errorf("queued getProperty got %v, want the last value set before it", got)
	}
	evs := f.events(t)
	if len(evs) != 2 || evs[0].Action != "first" || evs[1].Action != "second" {
		t.Errorf("events %+v, want first then second", evs)
	}
	eval[any](t, f, `__cs.push(["trackEvent", "queue", "third"]); Comagic.push(["trackEvent", "queue", "fourth"], ["setDynamicalReplacement", true])`)
	f.eventually(t, "the pushed events are stored", func() bool { evs = f.events(t); return len(evs) == 4 })
	if evs[2].Action != "third" || evs[3].Action != "fourth" {
		t.Errorf("events after load %+v", evs[2:])
	}
	f.noExceptions(t)
}

// API calls made before the appliance answered the first hit (here: the
// moment the core defines Comagic) wait for it and are then sent.
func TestSnippetCallsBeforeLoad(t *testing.T) {
	f := newSnippetFixture(t)
	before := `Object.defineProperty(window, "Comagic", {configurable: true,
  get: function () { return window._c; },
  set: function (c) {
    window._c = c;
    c.trackEvent("early", "event");
    c.setProperty("early", "yes");
    c.addVisitorInfo({name: "Early"}, function (r) { window.info = r; });
    c.hasProperty("early", function (r) { window.has = r; });
  }});`
	f.page("/", sitePage("Home", before, f.install, ""))
	hit := f.visit(t, "/")
	f.eventually(t, "the early callbacks answer", func() bool { return eval[bool](t, f, `!!(window.info && window.has)`) })
	if got := eval[map[string]any](t, f, `window.info`); got["success"] != true {
		t.Errorf("early addVisitorInfo got %v", got)
	}
	if got := eval[map[string]any](t, f, `window.has`); got["success"] != true || got["result"] != true {
		t.Errorf("early hasProperty got %v", got)
	}
	evs := f.events(t)
	if len(evs) != 1 || int64(evs[0].Hit) != hit {
		t.Errorf("events %+v, want the early one on hit %d", evs, hit)
	}
	vid := eval[int64](t, f, `Comagic.getVisitorId()`)
	if v := f.visitor(t, vid); v.Name != "Early" {
		t.Errorf("visitor name %q", v.Name)
	}
	f.noExceptions(t)
}

// Events tracked right before the visitor leaves the page are not lost:
// what is still queued goes out with sendBeacon on page hide.
func TestSnippetEventsOnPageHide(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.page("/next", sitePage("Next", "", "", ""))
	f.visit(t, "/")
	eval[any](t, f, `for (var i = 1; i <= 5; i++) Comagic.trackEvent('exit', 'click ' + i); location.href = '/next'`)
	f.eventually(t, "all five events are stored", func() bool { return len(f.events(t)) == 5 })
	f.noExceptions(t)
}

// A first-time visitor who tracks an event and leaves before the first
// answer has it sent from the next page.
func TestSnippetEventBeforeFirstAnswerThenLeave(t *testing.T) {
	f := newSnippetFixture(t)
	before := `Object.defineProperty(window, "Comagic", {configurable: true,
  get: function () { return window._c; },
  set: function (c) { window._c = c; c.trackEvent("leaving", "fast"); location.href = "/next"; }});`
	f.page("/", sitePage("Home", before, f.install, ""))
	f.page("/next", sitePage("Next", "", f.install, ""))
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	f.eventually(t, "the next page is open", func() bool { return eval[string](t, f, `location.pathname`) == "/next" })
	var evs []store.Event
	f.eventually(t, "the event is stored", func() bool { evs = f.events(t); return len(evs) == 1 })
	if evs[0].Category != "leaving" {
		t.Errorf("event %+v", evs[0])
	}
	f.noExceptions(t)
}

// The calls the widget chunk makes wait for it to load; a page that hides
// before it has (a form whose submit leaves the page at once) keeps its
// writes for the next page view, where they are made once: the lead and
// the property are stored, the callback is told why it waited.
func TestSnippetChunkCallsThenLeave(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.page("/next", sitePage("Next", "", f.install, ""))
	f.visit(t, "/")
	vid := eval[int64](t, f, `Comagic.getVisitorId()`)
	got := callback(t, f, `Comagic.setProperty('left', 'yes'); Comagic.hasProperty('left', function () {});
Comagic.addOfflineRequest({name: 'Leaving', phone: '79123456789'}, cb);
window.dispatchEvent(new PageTransitionEvent('pagehide'))`)
	if msg, _ := got["error"].(string); got["success"] != false || !strings.Contains(msg, "next page") {
		t.Errorf("addOfflineRequest before a page hide answered %v", got)
	}
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web+"next"))
	leads := func() []store.Lead {
		return scanRecords(t, f.srv.DB, store.LeadPrefix(f.site.ID), func(k, v []byte) (store.Lead, error) {
			id, _ := store.IDFromKey(k)
			return store.DecodeLead(id, v)
		})
	}
	f.eventually(t, "the kept lead is stored", func() bool { return len(leads()) > 0 })
	f.eventually(t, "the kept property is stored", func() bool { _, ok := f.property(t, vid, "left"); return ok })
	// The chunk's own calls of both pages have been answered by now.
	callback(t, f, `Comagic.hasProperty('left', cb)`)
	if l := leads(); len(l) != 1 || l[0].Name != "Leaving" || int64(l[0].Visitor) != vid {
		t.Errorf("stored leads %+v, want the one kept", l)
	}
	f.noExceptions(t)
}

// A visitor who starts filling in a form has the widget chunk loading while
// they type: a form that sends addOfflineRequest as the page leaves for a
// page without the install code (another site) gets its lead stored at
// once, not kept for a next page view that never comes.
func TestSnippetChunkLoadsWhileTyping(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, `document.body.insertAdjacentHTML("beforeend", '<form><label>Name <input id="name"></label></form>')`))
	f.visit(t, "/")
	if eval[bool](t, f, `typeof window.__cs_widget == "function"`) {
		t.Fatal("the widget chunk loaded before anyone typed")
	}
	httpdtest.Must(t, f.browser, chromedp.SendKeys(chromedp.CSS(`#name`), "Typed"))
	f.eventually(t, "the chunk loads when a field takes focus", func() bool {
		return eval[bool](t, f, `typeof window.__cs_widget == "function"`)
	})
	// The page hides in the next task after the submit, as when a form's
	// submit navigates away.
	eval[bool](t, f, `Comagic.addOfflineRequest({name: 'Typed', phone: '79123456789'});
setTimeout(function () { window.dispatchEvent(new PageTransitionEvent('pagehide')) }); true`)
	httpdtest.Must(t, f.browser, chromedp.Navigate("about:blank"))
	f.eventually(t, "the form's lead is stored", func() bool {
		leads := scanRecords(t, f.srv.DB, store.LeadPrefix(f.site.ID), func(k, v []byte) (store.Lead, error) {
			id, _ := store.IDFromKey(k)
			return store.DecodeLead(id, v)
		})
		return len(leads) == 1 && leads[0].Name == "Typed"
	})
}

// When the appliance stops answering, the page keeps working: no call
// throws, callbacks get success:false, nothing is thrown uncaught.
func TestSnippetServerDown(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	f.srv.Stop()
	calls := []string{
		`Comagic.addVisitorInfo({name: 'x'}, cb)`,
		`Comagic.hasProperty('x', cb)`,
		`Comagic.getProperty('x', cb)`,
		`Comagic.addOfflineRequest({name: 'x'}, cb)`,
		`Comagic.Captcha.get_captcha(cb)`,
		`ComagicWidget.sitePhoneCall({phone: '79101234567'}, cb)`,
	}
	for _, call := range calls {
		got := callback(t, f, call)
		if msg, _ := got["error"].(string); got["success"] != false || msg == "" {
			t.Errorf("%s with the appliance down: %v", call, got)
		}
	}
	got := eval[string](t, f, `Comagic.trackEvent('a', 'b'); Comagic.setProperty('p'); Comagic.deleteProperty('p');
Comagic.reinitTrackView(); Comagic.openSiteRequestPanel(); Comagic.openChatWindow(); ComagicWidget.openSitePhonePanel();
__cs.push(["trackEvent", "c", "d"]); typeof Comagic.getCredentials().site_key + " " + Comagic.getOperatorStatus() + " still working"`)
	if got != "string false still working" {
		t.Errorf("page after calls: %q", got)
	}
	f.mark(t)
	f.noExceptions(t)
}

// closedAddr is a 127.0.0.1 address nothing listens on: a tracker or
// script host that cannot be reached.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// When the tracker cannot be reached from the start (a wrong host, or a
// blocker), the page keeps working and callbacks say why.
func TestSnippetTrackerUnreachable(t *testing.T) {
	f := newSnippetFixture(t)
	closed := closedAddr(t)
	install := strings.Replace(f.install, `["setCsHost", "//`+f.srv.Addr+`/"]`, `["setCsHost", "//`+closed+`/"]`, 1)
	if install == f.install {
		t.Fatalf("install code has no setCsHost to replace:\n%s", f.install)
	}
	f.page("/", sitePage("Home", "", install, `window.before = typeof Comagic;`))
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	f.eventually(t, "the snippet has loaded", func() bool { return eval[bool](t, f, `!!window.Comagic`) })
	got := callback(t, f, `Comagic.addVisitorInfo({name: 'x'}, cb)`)
	if msg, _ := got["error"].(string); got["success"] != false || msg == "" {
		t.Errorf("addVisitorInfo with no tracker: %v", got)
	}
	got = callback(t, f, `Comagic.hasProperty('x', cb)`)
	if got["success"] != false {
		t.Errorf("hasProperty with no tracker: %v", got)
	}
	// The site key and the appliance it was told of: a lead sent with
	// them is the site's (TestSnippetLeadBeforeFirstAnswer).
	c := eval[map[string]any](t, f, `Comagic.getCredentials()`)
	if c["site_key"] != f.key || c["key"] != f.key || c["uri"] != "http://"+closed+"/" || c["consultant_server_url"] != c["uri"] ||
		c["visitor_id"] != nil || c["comagic_id"] != nil || len(c) != 8 {
		t.Errorf("credentials with no tracker: %v", c)
	}
	eval[any](t, f, `Comagic.trackEvent('a', 'b'); Comagic.reinitTrackView()`)
	f.mark(t)
	f.noExceptions(t)
}

// When the snippet itself cannot load (blocked, or the appliance down), a
// page that talks to it through the __cs queue, as the install code does,
// keeps working.
func TestSnippetScriptBlocked(t *testing.T) {
	f := newSnippetFixture(t)
	closed := closedAddr(t)
	install := strings.Replace(f.install, `src="//`+f.srv.Addr+`/`, `src="//`+closed+`/`, 1)
	if install == f.install {
		t.Fatalf("install code has no script src to replace:\n%s", f.install)
	}
	f.page("/", sitePage("Home", "", install, `__cs.push(["trackEvent", "a", "b"]); __cs.push(["setProperty", "p"]); window.afterSnippet = "ran";`))
	httpdtest.Must(t, f.browser, chromedp.Navigate(f.web))
	if got := eval[string](t, f, `window.afterSnippet + " " + typeof window.Comagic`); got != "ran undefined" {
		t.Errorf("page with the snippet blocked: %q", got)
	}
	f.mark(t)
	f.noExceptions(t)
}

// The site is another origin than the appliance: the snippet's requests
// are CORS requests that the browser lets through.
func TestSnippetCrossOrigin(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	origin := eval[string](t, f, `location.origin`)
	if strings.TrimSuffix(f.srv.URL, "/") == origin {
		t.Fatalf("the test site shares the appliance's origin %s", origin)
	}
	got := callback(t, f, `Comagic.addVisitorInfo({email: 'cors@example.com'}, cb)`)
	if got["success"] != true {
		t.Errorf("cross-origin call answered %v", got)
	}
	f.mark(t)
	if bad := f.console.matching("", "CORS"); len(bad) > 0 {
		t.Errorf("CORS errors: %q", bad)
	}
	f.noExceptions(t)
}

// An unknown command is ignored with one console warning per name, however
// often it comes.
func TestSnippetUnknownCommand(t *testing.T) {
	f := newSnippetFixture(t)
	before := `var __cs = __cs || [];
__cs.push(["noSuchCommand", 1]);
__cs.push(["noSuchCommand", 2]);
__cs.push(["alsoUnknown"]);`
	f.page("/", sitePage("Home", before, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f, `__cs.push(["noSuchCommand"]); Comagic.push(["alsoUnknown"], ["push"], "notAnArray", {}, ["Captcha"])`)
	f.mark(t)
	for name, want := range map[string]int{`"noSuchCommand"`: 1, `"alsoUnknown"`: 1, `"push"`: 1, `"Captcha"`: 1} {
		if got := f.console.matching(chromedp.ConsoleWarning, "unknown command "+name); len(got) != want {
			t.Errorf("%d warnings for %s, want %d: %q", len(got), name, want, got)
		}
	}
	if got := f.console.matching(chromedp.ConsoleWarning, "a command is an array"); len(got) != 1 {
		t.Errorf("%d warnings for commands that are not arrays, want 1: %q", len(got), got)
	}
	if n := len(f.hits(t)); n != 1 {
		t.Errorf("%d hits, want 1", n)
	}
	f.noExceptions(t)
}

// window.__cs_onReplacePhones is defined as "return true" unless the page
// defined its own, which is kept.
func TestSnippetOnReplacePhones(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.page("/own", sitePage("Own", `window.__cs_onReplacePhones = function (phones) { return 'own'; };`, f.install, ""))
	f.visit(t, "/")
	if got := eval[bool](t, f, `window.__cs_onReplacePhones([]) === true`); !got {
		t.Errorf("default __cs_onReplacePhones does not return true")
	}
	f.visit(t, "/own")
	if got := eval[string](t, f, `window.__cs_onReplacePhones([])`); got != "own" {
		t.Errorf("the page's own __cs_onReplacePhones was replaced: %q", got)
	}
}

// The widget chunk loads once, on first use of a widget call, and not
// before. (widget_browser_test.go tests what the widgets do.)
func TestSnippetWidgetChunkLazy(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	// The core imports the chunk: the page's resource timing lists each
	// fetch of it.
	loads := `performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('cs-widget') >= 0; }).length`
	if n := eval[int](t, f, loads); n != 0 {
		t.Errorf("the widget chunk loaded before any use")
	}
	got := eval[string](t, f, `JSON.stringify([Comagic.getOperatorStatus(), Comagic.getPhones(), Comagic.getDTPhones(),
Comagic.getReplacedPhones(), Comagic.getReplacedPhones('dynamic')])`)
	if want := `[false,[],null,{},{}]`; got != want {
		t.Errorf("phones and operator status: %s, want %s", got, want)
	}
	eval[any](t, f, `Comagic.openSiteRequestPanel(); Comagic.openChatWindow(); ComagicWidget.openSitePhonePanel()`)
	got2 := callback(t, f, `Comagic.Captcha.get_captcha(cb)`)
	if key, _ := got2["key"].(string); key == "" {
		t.Errorf("get_captcha answered %v", got2)
	}
	if n := eval[int](t, f, loads); n != 1 {
		t.Errorf("the widget chunk was fetched %d times, want once", n)
	}
	f.noExceptions(t)
}

// The snippet sends the session's credential key with every page view of a
// known visitor, and the server keeps the visitor only when the key vouches
// for the ci: a tampered key starts a new visitor instead of continuing
// someone else's session.
func TestSnippetHitCarriesSessionKey(t *testing.T) {
	f := newSnippetFixture(t)
	record := `window.__hits = []; var of = window.fetch;
window.fetch = function (u, o) { if (String(u).indexOf("/t/v1/hit") >= 0) __hits.push(JSON.parse(o.body)); return of.apply(this, arguments); };`
	f.page("/", sitePage("Home", record, f.install, ""))
	f.page("/next", sitePage("Next", record, f.install, ""))
	f.visit(t, "/")
	if got := eval[bool](t, f, `"key" in __hits[0]`); got {
		t.Fatal("a first visit sent a key")
	}
	first := f.sessions(t)[0]
	f.visit(t, "/next")
	want := sites.CredentialKey(f.site, first.Visitor, first.ID)
	if got := eval[string](t, f, `__hits[0].key || ""`); got != want {
		t.Fatalf("second page view sent key %q, want the session's %q", got, want)
	}
	if s := f.sessions(t); len(s) != 1 {
		t.Fatalf("the second page view made %d sessions, want it to continue the first", len(s))
	}
	// A key that does not vouch for the ci: a new visitor.
	eval[bool](t, f, `var k = "00000000000000000000000000000000"; document.cookie = "_cs_key=" + k + ";path=/"; localStorage.setItem("_cs_key", k); true`)
	f.visit(t, "/")
	s := f.sessions(t)
	if len(s) != 2 || s[0].Visitor == s[1].Visitor {
		t.Fatalf("after a tampered key: sessions %+v, want a second one of a new visitor", s)
	}
}

// A widget chunk that failed to load (the appliance was down, a network
// blip) is fetched again on the next call, on the same page: a visitor who
// sends the form again once the appliance is back is not refused by a
// failure remembered from before (the core forgets a failed load; the
// browser does not keep a failed module fetch either).
func TestSnippetChunkRetriedAfterOutage(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	f.srv.Stop()
	if got := callback(t, f, `Comagic.addOfflineRequest({name: 'Down', phone: '79123456789'}, cb)`); got["success"] != false {
		t.Fatalf("lead with the appliance down: %v", got)
	}
	f.srv = f.srv.Restart(t)
	got := callback(t, f, `Comagic.addOfflineRequest({name: 'Back', phone: '79123456789'}, cb)`)
	if got["success"] != true {
		t.Fatalf("lead once the appliance is back, on the same page: %v", got)
	}
	names := map[string]bool{}
	for _, l := range scanRecords(t, f.srv.DB, store.LeadPrefix(f.site.ID), func(k, v []byte) (store.Lead, error) {
		id, _ := store.IDFromKey(k)
		return store.DecodeLead(id, v)
	}) {
		names[l.Name] = true
	}
	if !names["Back"] {
		t.Errorf("leads stored: %v, want Back's", names)
	}
}

// Install code pasted twice (a theme's header and a tag manager) counts
// one page view and replaces each number once.
func TestSnippetInstalledTwice(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install+"\n"+f.install, "", `<p id="a">8 (487) 275-14-04</p>`))
	f.me().open(t, "/?utm_source=yandex")
	if got := eval[string](t, f, `document.getElementById("a").textContent`); got != "8 (495) 000-00-01" {
		t.Errorf("the number shows as %q", got)
	}
	// A call's round trip after the page view's: a second copy's hit,
	// sent with the first, would be stored by its answer.
	if got := callback(t, f, `Comagic.hasProperty("x", cb)`); got["success"] != true {
		t.Errorf("hasProperty answered %v", got)
	}
	if n := len(f.hits(t)); n != 1 {
		t.Errorf("%d page views stored, want 1", n)
	}
	f.noExceptions(t)
}

// A browser that keeps no cookies of the site and whose localStorage
// throws (privacy settings, a sandbox) still counts the page view, shows
// the visitor's number and answers calls; only the visitor is not known
// again on the next page.
func TestSnippetStorageBlocked(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	blocked := `Object.defineProperty(window, "localStorage", {get: function () { throw new DOMException("denied", "SecurityError"); }});
Object.defineProperty(Document.prototype, "cookie", {get: function () { throw new DOMException("denied", "SecurityError"); },
  set: function () { throw new DOMException("denied", "SecurityError"); }});`
	f.page("/", phPage(f.install, blocked, `<p id="a">8 (487) 275-14-04</p>`))
	f.me().open(t, "/?utm_source=yandex")
	if got := eval[string](t, f, `document.getElementById("a").textContent`); got != "8 (495) 000-00-01" {
		t.Errorf("the number shows as %q", got)
	}
	if got := callback(t, f, `Comagic.addVisitorInfo({name: "Blocked"}, cb)`); got["success"] != true {
		t.Errorf("addVisitorInfo answered %v", got)
	}
	eval[any](t, f, `Comagic.openChatWindow(); Comagic.trackEvent("a", "b")`)
	f.eventually(t, "the lead form opens", func() bool {
		return eval[bool](t, f, `(function (h) { return !!(h && h.shadowRoot.querySelector('[data-kind=lead]')); })(document.querySelector('cs-widget'))`)
	})
	f.noExceptions(t)
}
