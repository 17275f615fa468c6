package httpd_test

// Browser tests of the page views after the first: an SPA's routes
// (Comagic.reinitTrackView, which the reference says emulates a move to
// another page) and a page the browser brings back from its back/forward
// cache.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// recordHits, run before the install code, keeps the body of every page
// view the snippet sends in window.__hits.
const recordHits = `window.__hits = []; var of = window.fetch;
window.fetch = function (u, o) { if (String(u).indexOf("/t/v1/hit") >= 0) __hits.push(JSON.parse(o.body)); return of.apply(this, arguments); };`

// An SPA's route change is a page view as a page load is (the reference:
// reinitTrackView emulates the snippet on a move between pages): the
// visitor's numbers are shown in the new route at once, before the hit's
// answer, and __cs_onReplacePhones is asked again, once, so a hook that
// says no on some paths holds on them; history.pushState alone is no page
// view (as with CoMagic, whose sites call reinitTrackView), and a route
// the visitor goes back to (popstate) is one when the page calls it.
func TestSnippetReinitTrackViewIsAPageLoad(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	before := recordHits + `
window.asked = [];
window.__cs_onReplacePhones = function () { asked.push(location.pathname); return location.pathname != "/jobs"; };
addEventListener("popstate", function () { Comagic.reinitTrackView(); });`
	f.page("/", phPage(f.install, before, `<p id="a">8 (487) 275-14-04</p>`))
	me := f.me()
	me.open(t, "/?utm_medium=cpc")
	first := eval[int64](t, f, `Comagic.getCredentials().hit_id`)
	shown := me.shownNumber(t)
	if shown == "" || eval[string](t, f, `document.getElementById("a").textContent`) == "8 (487) 275-14-04" {
		t.Fatalf("the visitor's number is not shown on the first page (%q)", shown)
	}
	swapped := "8 (495) 000-00-0" + shown[len(shown)-1:]

	// The route where the hook says no: the page as written, at once.
	got := eval[string](t, f, `history.pushState({}, "", "/promo"); history.pushState({}, "", "/jobs");
document.body.insertAdjacentHTML("beforeend", '<p id="job">Отдел кадров: 8 (487) 275-14-04</p>');
Comagic.reinitTrackView();
JSON.stringify([document.getElementById("a").textContent, document.getElementById("job").textContent, Comagic.getReplacedPhones()])`)
	if want := `["8 (487) 275-14-04","Отдел кадров: 8 (487) 275-14-04",{}]`; got != want {
		t.Errorf("right after reinitTrackView on /jobs, whose hook says no: %s, want %s", got, want)
	}
	second := f.waitHit(t, first)
	got = eval[string](t, f, `JSON.stringify([document.getElementById("a").textContent, document.getElementById("job").textContent, Comagic.getReplacedPhones()])`)
	if want := `["8 (487) 275-14-04","Отдел кадров: 8 (487) 275-14-04",{}]`; got != want {
		t.Errorf("on /jobs once the page view is answered: %s, want %s", got, want)
	}

	// A route where it says yes: replaced at once, also what the route added.
	got = eval[string](t, f, `history.pushState({}, "", "/contacts");
document.body.insertAdjacentHTML("beforeend", '<p id="contacts">Офис: 8 (487) 275-14-04</p>');
Comagic.reinitTrackView();
JSON.stringify([document.getElementById("a").textContent, document.getElementById("contacts").textContent])`)
	if want := `["` + swapped + `","Офис: ` + swapped + `"]`; got != want {
		t.Errorf("right after reinitTrackView on /contacts: %s, want %s", got, want)
	}
	third := f.waitHit(t, second)

	// Back to /jobs: the page's popstate handler calls reinitTrackView.
	eval[any](t, f, `history.back(); 0`)
	f.waitHit(t, third)
	got = eval[string](t, f, `JSON.stringify([location.pathname, document.getElementById("a").textContent, Comagic.getReplacedPhones()])`)
	if want := `["/jobs","8 (487) 275-14-04",{}]`; got != want {
		t.Errorf("back on /jobs: %s, want %s", got, want)
	}

	// Once per page view, the path of each.
	if got, want := eval[string](t, f, `asked.join(" ")`), "/ /jobs /contacts /jobs"; got != want {
		t.Errorf("__cs_onReplacePhones asked on %q, want %q", got, want)
	}
	hits := f.hits(t)
	var urls []string
	for _, h := range hits {
		urls = append(urls, strings.TrimPrefix(h.URL, strings.TrimSuffix(f.web, "/")))
	}
	if got, want := strings.Join(urls, " "), "/?utm_medium=cpc /jobs /contacts /jobs"; got != want {
		t.Errorf("page views %q, want %q (pushState alone is none)", got, want)
	}
	// Each route's referrer is the previous page view's URL.
	if got, want := eval[string](t, f, `__hits.slice(1).map(function (h) { return h.r.replace(location.origin, ""); }).join(" ")`),
		"/?utm_medium=cpc /jobs /contacts"; got != want {
		t.Errorf("SPA referrers %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// cacheableSite serves pages like the fixture's site, but lets the browser
// keep them in its back/forward cache (the fixture's answer "no-store",
// which keeps a page out of it). It returns its base URL, on localhost.
func cacheableSite(t *testing.T, pages map[string]string) string {
	t.Helper()
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		html, ok := pages[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, html)
	}))
	t.Cleanup(ts.Close)
	return strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
}

// A page the visitor goes back to is a page view also when the browser
// restores it from its back/forward cache, as it is when the browser loads
// it again (and was with CoMagic's snippet): a new hit of the page's URL
// with its referrer, and what the visitor does there belongs to it.
func TestSnippetBackForwardCacheIsAPageView(t *testing.T) {
	f := newSnippetFixture(t)
	shows := `window.shows = []; addEventListener("pageshow", function (e) { shows.push(e.persisted); });`
	web := cacheableSite(t, map[string]string{
		"/a": phPage(f.install, recordHits+"\n"+shows, `<p>A</p>`),
		"/b": phPage(f.install, "", `<p>B</p>`),
	})
	httpdtest.Must(t, f.browser, chromedp.Navigate(web+"/a"))
	f.waitHit(t, 0)
	httpdtest.Must(t, f.browser, chromedp.Navigate(web+"/b"))
	f.waitHit(t, 0)
	// (chromedp.NavigateBack waits for a load event, which a page restored
	// from the cache does not fire.)
	eval[any](t, f, `setTimeout(function () { history.back(); }, 10); 0`)
	f.eventually(t, "page /a is shown again", func() bool {
		return eval[bool](t, f, `location.pathname == "/a" && !!window.shows && shows.length > 0`)
	})
	if got := eval[string](t, f, `JSON.stringify(shows)`); got != "[false,true]" {
		t.Fatalf("pageshow events %s: the browser did not restore /a from its back/forward cache, which this test needs", got)
	}
	var hits int
	f.eventually(t, "the restored page's view is stored", func() bool { hits = len(f.hits(t)); return hits >= 3 })
	all := f.hits(t)
	if len(all) != 3 || all[2].URL != web+"/a" || all[2].Session != all[0].Session {
		t.Fatalf("page views %+v, want a third of %s/a in the same session", all, web)
	}
	if got := eval[string](t, f, `JSON.stringify(__hits.map(function (h) { return [h.u, h.r]; }))`); got != `[["`+web+`/a",""],["`+web+`/a",""]]` {
		t.Errorf("the page's hits sent %s, want its URL with its own referrer (none) twice", got)
	}
	third := f.waitHit(t, int64(all[0].ID))
	if third != int64(all[2].ID) {
		t.Errorf("getCredentials().hit_id %d, want the restored page view's %d", third, all[2].ID)
	}
	eval[any](t, f, `Comagic.trackEvent("back", "again")`)
	f.eventually(t, "the event is stored", func() bool { return len(f.events(t)) == 1 })
	if ev := f.events(t)[0]; int64(ev.Hit) != third {
		t.Errorf("the event after the return is on hit %d, want %d", ev.Hit, third)
	}
	f.noExceptions(t)
}

// The install code works in the forms a CoMagic site has it in, with only
// the site key and host changed: CoMagic's older loader (a script that
// adds the async script element before the page's first script) with no
// setCsHost, the snippet's host then being the one it came from; the same
// added by a tag manager once the page has loaded; and the script tag
// before the commands. Each records one page view with the page's title
// and runs what was pushed on __cs before it loaded.
func TestSnippetInstallCodeVariants(t *testing.T) {
	f := newSnippetFixture(t)
	src := "//" + f.srv.Addr + "/static/cs.min.js"
	account := `var __cs = __cs || [];
__cs.push(["setCsAccount", "` + f.key + `"]);
__cs.push(["trackEvent", "install", document.title]);`
	loader := `(function () {
  var cs = document.createElement("script"); cs.type = "text/javascript"; cs.async = true;
  cs.src = "` + src + `";
  var s = document.getElementsByTagName("script")[0]; s.parentNode.insertBefore(cs, s);
})();`
	variants := map[string]string{
		"loader":    "<script>\n" + account + "\n" + loader + "\n</script>",
		"onload":    "<script>\n" + account + "\naddEventListener('load', function () { setTimeout(function () {" + loader + "}, 50); });\n</script>",
		"tag first": `<script type="text/javascript" async src="` + src + `"></script>` + "\n<script>\n" + account + "\n</script>",
	}
	n := 0
	for name, install := range variants {
		n++
		f.page("/"+strings.ReplaceAll(name, " ", "-"), sitePage(name, "", install, ""))
		f.visit(t, "/"+strings.ReplaceAll(name, " ", "-"))
		f.eventually(t, name+": the queued event is stored", func() bool { return len(f.events(t)) == n })
		hits, evs := f.hits(t), f.events(t)
		if len(hits) != n || hits[n-1].Title != name || evs[n-1].Action != name || evs[n-1].Hit != hits[n-1].ID {
			t.Errorf("%s: page views %+v, events %+v", name, hits, evs)
		}
	}
	if got := f.console.matching(chromedp.ConsoleWarning, "[cs]"); len(got) > 0 {
		t.Errorf("warnings: %q", got)
	}
	f.noExceptions(t)
}

// __cs_onReplacePhones gets the list getPhones gives, as the reference
// says ("like the list phones of __cs_onReplacePhones"): on a page with no
// number to replace (the site shows the number in a widget of its own and
// says no), that is the number given to the visitor, not nothing.
func TestSnippetPhonesHookGetsWhatGetPhonesGives(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	hook := `window.__cs_onReplacePhones = function (phones) {
  window.hookGot = JSON.stringify(phones); window.getPhonesThen = JSON.stringify(Comagic.getPhones()); return false; };`
	f.page("/", phPage(f.install, hook, `<p id="a">Звоните нам</p>`))
	f.me().open(t, "/?utm_source=yandex")
	want := `[{"id":"number=74872751404","img":null,"text":"+7 495 000-00-01","raw":"74950000001"}]`
	if got := eval[string](t, f, `window.hookGot`); got != want {
		t.Errorf("__cs_onReplacePhones got %s, want %s", got, want)
	}
	if got := eval[string](t, f, `window.getPhonesThen + " " + JSON.stringify(Comagic.getPhones())`); got != want+" "+want {
		t.Errorf("getPhones in the hook and after it: %s, want %s twice", got, want)
	}
	f.noExceptions(t)
}

// Install code pasted in the page and added again by a tag manager once
// the page has loaded (the first copy has run by then): still one page
// view, and one on each reinitTrackView, not two; the second copy's
// commands run at once.
func TestSnippetInstalledAgainAfterLoad(t *testing.T) {
	f := newSnippetFixture(t)
	again := `addEventListener("load", function () { setTimeout(function () {
  var box = document.createElement("div"); document.body.appendChild(box);
  var code = ` + "`" + strings.ReplaceAll(f.install, "</", `<\/`) + "`" + `;
  var tmp = document.createElement("div"); tmp.innerHTML = code;
  Array.prototype.forEach.call(tmp.querySelectorAll("script"), function (old) {
    var s = document.createElement("script");
    if (old.src) s.src = old.getAttribute("src"); else s.textContent = old.textContent;
    s.async = true; box.appendChild(s);
  });
  __cs.push(["trackEvent", "tag manager", "ran"]);
  window.again = true;
}, 50); });`
	f.page("/", sitePage("Home", "", f.install, again))
	f.visit(t, "/")
	f.eventually(t, "the second copy has run", func() bool { return eval[bool](t, f, `!!window.again`) })
	f.eventually(t, "the second copy's script has loaded", func() bool {
		return eval[int](t, f, `performance.getEntriesByType("resource").filter(function (e) { return e.name.indexOf("cs.min.js") >= 0; }).length`) >= 1 &&
			eval[bool](t, f, `document.querySelectorAll("script[src*='cs.min.js']").length == 2`)
	})
	f.eventually(t, "the event is stored", func() bool { return len(f.events(t)) == 1 })
	first := eval[int64](t, f, `Comagic.getCredentials().hit_id`)
	eval[any](t, f, `Comagic.reinitTrackView()`)
	f.waitHit(t, first)
	// A round trip after the page views: a second copy's would be stored by now.
	callback(t, f, `Comagic.hasProperty("x", cb)`)
	if n := len(f.hits(t)); n != 2 {
		t.Errorf("%d page views stored, want 2 (the load and one reinitTrackView)", n)
	}
	f.noExceptions(t)
}

// Calls with arguments the reference does not allow throw nothing into the
// page: a call with a callback gets {success:false, error}, with the
// result its successes carry where they carry one; one without says why on
// the console; a getter answers its empty shape.
func TestSnippetBadArguments(t *testing.T) {
	f := newSnippetFixture(t)
	f.page("/", sitePage("Home", "", f.install, ""))
	f.visit(t, "/")
	for call, want := range map[string]string{
		`Comagic.addOfflineRequest(null, cb)`:          `{"code":"empty_lead"}`,
		`Comagic.addOfflineRequest("text", cb)`:        `{"code":"empty_lead"}`,
		`Comagic.addVisitorInfo(null, cb)`:             ``,
		`Comagic.addVisitorInfo({foo: 1}, cb)`:         ``,
		`Comagic.hasProperty(undefined, cb)`:           ``,
		`Comagic.getProperty("", cb)`:                  ``,
		`ComagicWidget.sitePhoneCall(null, cb)`:        `{"code":"invalid_phone","status":3}`,
		`ComagicWidget.sitePhoneCall({phone: ""}, cb)`: `{"code":"invalid_phone","status":3}`,
	} {
		got := callback(t, f, call)
		msg, _ := got["error"].(string)
		res := ""
		if r, ok := got["result"]; ok {
			b, _ := json.Marshal(r)
			res = string(b)
		}
		if got["success"] != false || msg == "" || res != want {
			t.Errorf("%s answered %v, want success false, an error and result %s", call, got, want)
		}
	}
	got := eval[string](t, f, `Comagic.trackEvent(); Comagic.setProperty(); Comagic.deleteProperty(null); Comagic.push(42);
JSON.stringify([Comagic.getReplacedPhones(7), Comagic.getReplacedPhones({}), Comagic.getPhones(), Comagic.getDTPhones()])`)
	if got != `[{},{},[],null]` {
		t.Errorf("getters with bad arguments: %s", got)
	}
	for _, w := range []string{"trackEvent failed", "setProperty: the property name is required", "deleteProperty: the property name is required", "a command is an array"} {
		f.eventually(t, "the console says "+w, func() bool { return len(f.console.matching(chromedp.ConsoleWarning, w)) > 0 })
	}
	f.noExceptions(t)
}
