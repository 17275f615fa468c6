package httpd_test

// Browser test of a page the browser prerenders before the visitor opens
// it (Chrome's speculation rules; the address bar does the same): the
// snippet runs there, but the page is not seen yet, and may never be.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"appliance/store"
)

// prerenderSite serves the site's pages on localhost, as the fixture's
// site does, and two paths of the test's own: /beacon, whose query each
// request records (what a page reports of itself), and /go, which answers
// once the test calls goOn (the home page's signal to follow its link).
type prerenderSite struct {
	web   string // base URL, no trailing "/"
	pages map[string]string
	goCh  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	reports []url.Values
}

func newPrerenderSite(t *testing.T) *prerenderSite {
	t.Helper()
	s := &prerenderSite{pages: map[string]string{}, goCh: make(chan struct{})}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/beacon":
			s.mu.Lock()
			s.reports = append(s.reports, r.URL.Query())
			s.mu.Unlock()
			return
		case "/go":
			select {
			case <-s.goCh:
			case <-r.Context().Done():
			}
			return
		}
		s.mu.Lock()
		html, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, html)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(s.goOn) // (first: a /go still waiting lets the server close)
	s.web = strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	return s
}

// goOn answers /go.
func (s *prerenderSite) goOn() { s.once.Do(func() { close(s.goCh) }) }

// report is the last report of stage from the page at path, or nil.
func (s *prerenderSite) report(stage, path string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range slices.Backward(s.reports) {
		if r.Get("stage") == stage && r.Get("path") == path {
			return r
		}
	}
	return nil
}

// prerenderReport, run before the install code, counts the requests the
// page sends to the appliance and defines report(stage, fields), which
// sends the test what the page is (its path, document.prerendering,
// whether the snippet has run, how many requests it sent, the page's
// errors) once the requests sent so far have their answers: the appliance
// has stored what they brought by then.
const prerenderReport = `window.__errors = [];
addEventListener("error", function (e) { __errors.push(String(e.message)); });
addEventListener("unhandledrejection", function (e) { __errors.push(String(e.reason)); });
window.__sent = [];
var __fetch = window.fetch;
window.fetch = function (u) {
  var p = __fetch.apply(this, arguments);
  if (/\/t\/v1\//.test(u)) __sent.push(p.then(String, String));
  return p;
};
var __beacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = function (u) {
  if (/\/t\/v1\//.test(u)) __sent.push(Promise.resolve());
  return __beacon.apply(null, arguments);
};
window.report = function (stage, fields) {
  return Promise.all(__sent).then(function () {
    var q = new URLSearchParams(fields || {});
    q.set("stage", stage);
    q.set("path", location.pathname);
    q.set("prerendering", String(document.prerendering));
    q.set("snippet", String(!!window.Comagic));
    q.set("sent", String(__sent.length));
    q.set("errors", __errors.join("; "));
    return __fetch("/beacon?" + q);
  });
};`

// A page the browser prerenders sends no page view, and so leases no
// number, while it is only prerendered: a visitor who never opens it
// leaves no phantom visit and holds no number of the pool. Opened
// (activated), it sends its page view then, once, shows the number that
// page view leased, and the calls it made meanwhile follow; a prerendered
// page the visitor never opens sends nothing at all.
//
// Chromium refuses to prerender for a page that a DevTools session is
// attached to through its page target, as chromedp attaches to its tabs
// (Preload.prerenderStatusUpdated: Failure, PrerenderingDisabledByDevTools;
// Page.setPrerenderingAllowed does not lift it). So the visitor's tab here
// is one the test opens with Target.createTarget and never attaches to:
// the pages report what they are to the site (/beacon), and the home page
// follows its link when the test says (/go). Each report comes once the
// page's requests to the appliance have their answers, so the store is
// read after whatever the page sent, without waiting a set time.
func TestSnippetPrerenderedPageViewWaitsForActivation(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	site := newPrerenderSite(t)
	const next = "/next?utm_medium=cpc" // a campaign of the pool
	site.pages["/"] = phPage(f.install, "", `<h1>Home</h1>
<script type="speculationrules">{"prerender": [{"source": "list", "urls": ["`+next+`", "/other"]}]}</script>
<script>fetch("/go").then(function () { location.href = "`+next+`"; });</script>`)
	site.pages["/next"] = phPage(f.install, prerenderReport, `<p id="a">8 (487) 275-14-04</p>
<script>
__cs.push(["trackEvent", "seen", "next"]);
addEventListener("load", function () { report("loaded"); });
document.addEventListener("prerenderingchange", function () {
  var wait = setInterval(function () {
    var c = Comagic.getCredentials();
    if (!c.hit_id) return;
    clearInterval(wait);
    report("activated", {
      activated: String(performance.getEntriesByType("navigation")[0].activationStart > 0),
      hit: c.hit_id, shown: document.getElementById("a").textContent,
      number: (Comagic.getPhones()[0] || {}).raw || ""});
  }, 20);
});
</script>`)
	site.pages["/other"] = phPage(f.install, prerenderReport, `<p>8 (487) 275-14-04</p>
<script>
__cs.push(["trackEvent", "phantom", "other"]);
addEventListener("load", function () { report("loaded"); });
</script>`)

	tab, err := chromedp.CallBrowser(f.browser, target.CreateTarget, target.CreateTargetParams{URL: site.web + "/"})
	if err != nil {
		t.Fatalf("open the visitor's tab: %v", err)
	}
	t.Cleanup(func() {
		chromedp.CallBrowser(f.browser, target.CloseTarget, target.CloseTargetParams{TargetID: tab.TargetID})
	})

	// Prerendered: both pages have loaded, with the snippet, and sent
	// nothing; the appliance has the home page's view alone, and no
	// number of the pool is leased.
	for _, path := range []string{"/next", "/other"} {
		var r url.Values
		f.eventually(t, "chromium prerenders "+path+" and it reports (none: chromium did not prerender it)", func() bool {
			r = site.report("loaded", path)
			return r != nil
		})
		if r.Get("prerendering") != "true" {
			t.Fatalf("%s loaded with document.prerendering %s: chromium did not prerender it, which this test needs", path, r.Get("prerendering"))
		}
		if r.Get("snippet") != "true" || r.Get("sent") != "0" || r.Get("errors") != "" {
			t.Errorf("%s prerendered: snippet loaded %s, %s requests sent to the appliance (want none), errors %q",
				path, r.Get("snippet"), r.Get("sent"), r.Get("errors"))
		}
	}
	f.eventually(t, "the home page's view is stored", func() bool { return len(f.hits(t)) > 0 })
	if hits := f.hits(t); len(hits) != 1 || hits[0].URL != site.web+"/" {
		t.Fatalf("page views while /next and /other are prerendered: %+v, want the home page's alone", hits)
	}
	if evs := f.events(t); len(evs) != 0 {
		t.Errorf("events while /next and /other are prerendered: %+v, want none", evs)
	}
	leased := func() []string {
		var out []string
		for _, n := range phPool {
			a, err := f.srv.HTTP.Numbers().Attribute(context.Background(), n, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if a.Visitor != 0 {
				out = append(out, n)
			}
		}
		return out
	}
	if got := leased(); len(got) != 0 {
		t.Errorf("numbers of the pool leased while /next is prerendered: %v, want none", got)
	}

	// The visitor follows the link: the prerendered /next is shown, and
	// sends its page view now.
	site.goOn()
	var r url.Values
	f.eventually(t, "the opened /next reports its page view's answer", func() bool {
		r = site.report("activated", "/next")
		return r != nil
	})
	if r.Get("activated") != "true" {
		t.Fatalf("/next was loaded anew, not activated from its prerender (activationStart 0), which this test needs")
	}
	if r.Get("prerendering") != "false" || r.Get("errors") != "" {
		t.Errorf("opened /next: document.prerendering %s, errors %q", r.Get("prerendering"), r.Get("errors"))
	}
	hits := f.hits(t)
	if len(hits) != 2 || hits[1].URL != site.web+next || r.Get("hit") != fmt.Sprint(hits[1].ID) {
		t.Fatalf("page views once /next is opened: %+v, want the home page's and one of %s (the page's hit id %s)", hits, next, r.Get("hit"))
	}
	num := r.Get("number")
	if !slices.Contains(phPool, num) || r.Get("shown") != "8 (495) 000-00-0"+num[len(num)-1:] {
		t.Fatalf("opened /next shows %q (number %q), want a number of the pool %v", r.Get("shown"), num, phPool)
	}
	var visitor uint64
	for _, s := range f.sessions(t) {
		if s.ID == hits[1].Session {
			visitor = s.Visitor
		}
	}
	a, err := f.srv.HTTP.Numbers().Attribute(context.Background(), num, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a.Visitor != visitor || visitor == 0 || !slices.Equal(leased(), []string{num}) {
		t.Errorf("number %s leased to visitor %d (want %d); leased numbers of the pool %v", num, a.Visitor, visitor, leased())
	}
	// The event /next queued while prerendered follows its page view; the
	// one of /other, never opened, is never sent, nor kept for the next
	// page view (whose hit sends what was kept ahead of the page's own
	// calls).
	f.eventually(t, "the event of /next is stored", func() bool {
		return slices.ContainsFunc(f.events(t), func(e store.Event) bool { return e.Action == "next" })
	})
	if evs := f.events(t); len(evs) != 1 || evs[0].Category != "seen" || evs[0].Hit != hits[1].ID {
		t.Errorf("events %+v, want /next's alone, on its page view %d", evs, hits[1].ID)
	}
}
