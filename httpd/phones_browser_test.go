package httpd_test

// Browser tests of phone number replacement (tracker-protocol.md §7): a
// visitor opens the site's pages in headless chromium, the appliance
// answers with the numbers set up through numbers/tracking, and the tests
// check what the visitor sees and what the reference's getters answer.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
)

const (
	phSiteWritten = "8 (487) 275-14-04" // the site's own number as its pages write it
	phYandex      = "74950000001"       // static number for utm_source=yandex
	phFallback    = "74950000009"       // the pool's number when it is full
)

var phPool = []string{"74950000002", "74950000003"} // dynamic pool for utm_medium=cpc

// phNumbers sets up call tracking of the fixture's site: its number, the
// extra selectors ".phone" and one the browser rejects, the static number
// for yandex and a pool of pool's numbers for cpc traffic.
func phNumbers(t *testing.T, f *snippetFixture, now time.Time, pool []string, reserve time.Duration) {
	t.Helper()
	tr, ctx, site := f.srv.HTTP.Numbers(), context.Background(), f.site.ID
	if _, err := tr.SetSiteNumbers(ctx, site, []string{phSiteWritten}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetSelectors(ctx, site, []string{".phone", "#bad[["}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddStatic(ctx, site, tracking.StaticInput{Number: phYandex,
		RuleInput: tracking.RuleInput{Rule: "utm_source=yandex"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, site, tracking.PoolInput{Name: "ads", Numbers: pool, Fallback: phFallback, Reserve: reserve,
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, now); err != nil {
		t.Fatal(err)
	}
}

// phPage is a page of the site with the install code in its head (before
// runs ahead of it) and html as its body.
func phPage(install, before, html string) string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Shop</title>\n")
	if before != "" {
		b.WriteString("<script>\n" + before + "\n</script>\n")
	}
	b.WriteString(install + "\n</head><body>\n" + html + "\n</body></html>\n")
	return b.String()
}

// phBody writes the site's number in every way a page may: in text in two
// formats (one after other digits), in a tel: link, in elements with id,
// class and name comagic_phone and the site's selector, some of which hold
// no number, and in places that are not shown or hold a longer number.
const phBody = `<p id="a">Звоните: 8 (487) 275-14-04, с 9.00 до 18.00</p>
<p id="b">+7 487 275 14 04</p>
<p id="c">с 9.00 до 18.00 8 (487) 275-14-04</p>
<p id="order">Заказ 184872751404</p>
<a id="tel" href="tel:+74872751404">Позвонить</a>
<span class="comagic_phone" id="cls">звоните нам</span>
<div id="comagic_phone"><b>8 (487) 275-14-04</b></div>
<span name="comagic_phone" id="nm">8 (487) 275-14-04</span>
<span class="phone" id="sel"><i>телефон</i></span>
<textarea id="ta">8 (487) 275-14-04</textarea>`

// phSeen is what a visitor sees of phBody.
type phSeen struct {
	A, B, C, Order, Tel, Href, Cls, ID, Name, Sel, Area string
}

const phSeenJS = `(function () {
  var t = function (id) { return document.getElementById(id).textContent; };
  return {A: t("a"), B: t("b"), C: t("c"), Order: t("order"), Tel: t("tel"), Href: document.getElementById("tel").getAttribute("href"),
    Cls: t("cls"), ID: t("comagic_phone"), Name: t("nm"), Sel: t("sel"), Area: document.getElementById("ta").value};
})()`

// phOriginal is phBody untouched.
var phOriginal = phSeen{
	A: "Звоните: 8 (487) 275-14-04, с 9.00 до 18.00", B: "+7 487 275 14 04", C: "с 9.00 до 18.00 8 (487) 275-14-04",
	Order: "Заказ 184872751404", Tel: "Позвонить", Href: "tel:+74872751404", Cls: "звоните нам",
	ID: "8 (487) 275-14-04", Name: "8 (487) 275-14-04", Sel: "телефон", Area: "8 (487) 275-14-04",
}

// phSwapped is phBody with number raw (74950000001 to ...09) in place of
// the site's: the formats kept, and elements without a number showing its
// international format.
func phSwapped(raw string) phSeen {
	d := raw[len(raw)-1:]
	return phSeen{
		A: "Звоните: 8 (495) 000-00-0" + d + ", с 9.00 до 18.00", B: "+7 495 000 00 0" + d, C: "с 9.00 до 18.00 8 (495) 000-00-0" + d,
		Order: "Заказ 184872751404", Tel: "Позвонить", Href: "tel:+" + raw, Cls: "+7 495 000-00-0" + d,
		ID: "8 (495) 000-00-0" + d, Name: "8 (495) 000-00-0" + d, Sel: "+7 495 000-00-0" + d, Area: "8 (487) 275-14-04",
	}
}

// slowScript is a script element whose script takes half a second to
// come: the parser waits for it, and the snippet, already loaded, runs
// meanwhile. The script sets window.snippetRan to whether it had.
func slowScript(t *testing.T) string {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond)
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, `window.snippetRan = !!window.Comagic;`)
	}))
	t.Cleanup(slow.Close)
	return `<script src="` + slow.URL + `/slow.js"></script>`
}

// phVisitor is one visitor's tab.
type phVisitor struct {
	f   *snippetFixture
	tab context.Context
}

// visitor is another visitor than the fixture's: a new browser context,
// its own cookies and storage.
func (f *snippetFixture) otherVisitor(t *testing.T) phVisitor {
	return phVisitor{f, httpdtest.NewVisitor(t, f.browser)}
}

func (f *snippetFixture) me() phVisitor { return phVisitor{f, f.browser} }

// open opens path and waits for the page view's answer, after which the
// numbers of the answer are shown.
func (v phVisitor) open(t *testing.T, path string) {
	t.Helper()
	httpdtest.Must(t, v.tab, chromedp.Navigate(v.f.web+strings.TrimPrefix(path, "/")))
	v.f.eventually(t, "the page view's hit is answered", func() bool {
		return httpdtest.Eval[bool](t, v.tab, `!!(window.Comagic && Comagic.getCredentials().hit_id)`)
	})
}

func (v phVisitor) seen(t *testing.T) phSeen {
	t.Helper()
	return httpdtest.Eval[phSeen](t, v.tab, phSeenJS)
}

// jsonOf evaluates js and returns JSON.stringify of its value, decoded.
func (v phVisitor) jsonOf(t *testing.T, js string) any {
	t.Helper()
	s := httpdtest.Eval[string](t, v.tab, `JSON.stringify(`+js+`)`)
	var got any
	if err := json.Unmarshal([]byte(s), &got); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return got
}

// getters checks each getter's answer against the JSON in want (keys
// getPhones, getDTPhones, all, static, dynamic), deep-equal. "all" is
// getReplacedPhones() and getReplacedPhones(null): the reference's type
// values are null, "static" and "dynamic", and the argument is optional.
func (v phVisitor) getters(t *testing.T, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	calls := map[string]string{
		"getPhones":   `Comagic.getPhones()`,
		"getDTPhones": `Comagic.getDTPhones()`,
		"all":         `Comagic.getReplacedPhones()`,
		"static":      `Comagic.getReplacedPhones("static")`,
		"dynamic":     `Comagic.getReplacedPhones("dynamic")`,
	}
	for k, js := range calls {
		if got := v.jsonOf(t, js); !reflect.DeepEqual(got, w[k]) {
			g, _ := json.Marshal(got)
			e, _ := json.Marshal(w[k])
			t.Errorf("%s = %s\n want %s", js, g, e)
		}
	}
	if got := v.jsonOf(t, `Comagic.getReplacedPhones(null)`); !reflect.DeepEqual(got, w["all"]) {
		t.Errorf("getReplacedPhones(null) = %v, want getReplacedPhones()'s %v", got, w["all"])
	}
}

// shownNumber is the dynamic or static number the visitor was given.
func (v phVisitor) shownNumber(t *testing.T) string {
	t.Helper()
	return httpdtest.Eval[string](t, v.tab, `(Comagic.getPhones()[0] || {}).raw || ""`)
}

// A visit from yandex sees the static number everywhere the site's number
// is written, each in the format written; the getters answer exactly the
// reference's shapes. A direct visit, which no rule covers, sees the
// site's own number.
func TestSnippetPhonesStaticBySource(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", phBody))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	if got, want := me.seen(t), phSwapped(phYandex); got != want {
		t.Errorf("yandex visit sees\n %+v\nwant\n %+v", got, want)
	}
	me.getters(t, `{
"getPhones": [
  {"id": ".comagic_phone", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"},
  {"id": ".phone", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"},
  {"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"},
  {"id": "number=74872751404", "img": null, "text": "+7 495 000 00 01", "raw": "74950000001"},
  {"id": "#comagic_phone", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"},
  {"id": "[name=comagic_phone]", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001", ".phone": "74950000001", "number=84872751404": "74950000001",
  "number=74872751404": "74950000001", "#comagic_phone": "74950000001", "[name=comagic_phone]": "74950000001"},
"static": {"74950000001": [".comagic_phone", ".phone", "number=84872751404", "number=74872751404", "#comagic_phone",
  "[name=comagic_phone]"]},
"dynamic": {}}`)

	direct := f.otherVisitor(t)
	direct.open(t, "/")
	if got := direct.seen(t); got != phOriginal {
		t.Errorf("direct visit sees\n %+v\nwant the page as written\n %+v", got, phOriginal)
	}
	direct.getters(t, `{"getPhones": [], "getDTPhones": null, "all": {}, "static": {}, "dynamic": {}}`)
	f.noExceptions(t)
}

// Visitors from a cpc campaign each lease their own number of the pool and
// keep it across pages; the next page shows it from the visitor's cache
// before the appliance answers that page view, unless the URL brings a new
// campaign.
func TestSnippetPhonesDynamic(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", phBody))
	// /held never gets its hit's answer, and records what the visitor saw
	// when the hit went out and when the page had loaded (the async
	// snippet delays the load event, so it has run by then).
	held := `window.held = {};
var realFetch = window.fetch;
window.fetch = function (u) {
  if (/t\/v1\/hit$/.test(u)) {
    held.atHit = document.getElementById("a").textContent;
    return new Promise(function () {});
  }
  return realFetch.apply(this, arguments);
};
addEventListener("load", function () {
  held.atLoad = document.getElementById("a").textContent;
  held.hitID = Comagic.getCredentials().hit_id;
});`
	f.page("/held", phPage(f.install, held, phBody))
	// /stream has the snippet run while the page is still being parsed:
	// what the parser adds after that is replaced as it comes, before the
	// page's next script runs.
	f.page("/stream", phPage(f.install, held, `<p id="a">8 (487) 275-14-04</p>
`+slowScript(t)+`
<p id="after">+7 487 275 14 04</p>
<script>window.afterAtParse = document.getElementById("after").textContent;</script>`))

	a := f.me()
	a.open(t, "/?utm_medium=cpc&utm_source=google")
	numA := a.shownNumber(t)
	if !slices.Contains(phPool, numA) {
		t.Fatalf("visitor A was shown %q, want one of the pool %v", numA, phPool)
	}
	if got, want := a.seen(t), phSwapped(numA); got != want {
		t.Errorf("visitor A sees\n %+v\nwant\n %+v", got, want)
	}
	dt := fmt.Sprintf(`[{"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-0%s", "raw": "%s"}]`, numA[10:], numA)
	if got, want := a.jsonOf(t, `Comagic.getDTPhones().filter(function (p) { return p.id == "number=84872751404"; })`), a.jsonOf(t, dt); !reflect.DeepEqual(got, want) {
		t.Errorf("getDTPhones() has %v, want %v", got, want)
	}
	if got := a.jsonOf(t, `Comagic.getReplacedPhones("dynamic")`).(map[string]any); len(got) != 1 || len(got[numA].([]any)) != 6 {
		t.Errorf(`getReplacedPhones("dynamic") = %v, want the six targets under %s`, got, numA)
	}
	if got := a.jsonOf(t, `Comagic.getReplacedPhones("static")`); !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf(`getReplacedPhones("static") = %v, want {}`, got)
	}

	b := f.otherVisitor(t)
	b.open(t, "/?utm_medium=cpc")
	numB := b.shownNumber(t)
	if !slices.Contains(phPool, numB) || numB == numA {
		t.Errorf("visitor B was shown %q; A has %s, the pool is %v", numB, numA, phPool)
	}
	if got, want := b.seen(t), phSwapped(numB); got != want {
		t.Errorf("visitor B sees\n %+v\nwant\n %+v", got, want)
	}

	// A's next page: the same number, from the appliance too.
	a.open(t, "/")
	if got := a.shownNumber(t); got != numA {
		t.Errorf("visitor A's second page shows %s, want %s", got, numA)
	}
	if got := a.jsonOf(t, `JSON.parse(localStorage.getItem("_cs_ph")).phones.numbers[0].raw`); got != numA {
		t.Errorf("cached number %v, want %s", got, numA)
	}
	// And one whose hit is never answered shows it all the same, already
	// when the hit goes out.
	httpdtest.Must(t, a.tab, chromedp.Navigate(f.web+"held"))
	f.eventually(t, "the held page has loaded", func() bool { return eval[bool](t, f, `"atLoad" in window.held`) })
	want := phSwapped(numA).A
	if got := eval[map[string]any](t, f, `window.held`); got["atHit"] != want || got["atLoad"] != want || got["hitID"] != nil {
		t.Errorf("page without its hit's answer: %v, want %q when the hit went out and at load, and no hit id", got, want)
	}
	if got, want := a.seen(t), phSwapped(numA); got != want {
		t.Errorf("page without its hit's answer sees\n %+v\nwant\n %+v", got, want)
	}
	httpdtest.Must(t, a.tab, chromedp.Navigate(f.web+"stream"))
	f.eventually(t, "the stream page has loaded", func() bool { return eval[bool](t, f, `"atLoad" in window.held`) })
	if got, want := eval[string](t, f, `window.snippetRan + " " + window.afterAtParse`), "true +7 495 000 00 0"+numA[10:]; got != want {
		t.Errorf("text parsed after the snippet ran, as the next script sees it: %q, want %q", got, want)
	}
	// A new campaign may get another number: the cache is not used.
	httpdtest.Must(t, a.tab, chromedp.Navigate(f.web+"held?utm_medium=cpc&utm_campaign=new"))
	f.eventually(t, "the held page has loaded", func() bool { return eval[bool](t, f, `"atLoad" in window.held`) })
	if got := eval[map[string]any](t, f, `window.held`); got["atLoad"] != phOriginal.A {
		t.Errorf("a new campaign's page before its answer shows %v, want the site's number", got)
	}
	if eval[bool](t, f, `localStorage.getItem("_cs_ph") !== null`) {
		t.Errorf("the cache was kept on a new campaign's page")
	}
	f.noExceptions(t)
}

// A pool of one number: the second visitor finds it full and sees the
// fallback, a static number that reserves nothing.
func TestSnippetPhonesExhausted(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool[:1], 0)
	f.page("/", phPage(f.install, "", `<p id="a">8 (487) 275-14-04</p>`))
	a := f.me()
	a.open(t, "/?utm_medium=cpc")
	a.getters(t, `{
"getPhones": [{"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-02", "raw": "74950000002"}],
"getDTPhones": [{"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-02", "raw": "74950000002"}],
"all": {"number=84872751404": "74950000002"},
"static": {},
"dynamic": {"74950000002": ["number=84872751404"]}}`)
	b := f.otherVisitor(t)
	b.open(t, "/?utm_medium=cpc")
	if got := httpdtest.Eval[string](t, b.tab, `document.getElementById("a").textContent`); got != "8 (495) 000-00-09" {
		t.Errorf("visitor B of a full pool sees %q, want the fallback 8 (495) 000-00-09", got)
	}
	b.getters(t, `{
"getPhones": [{"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-09", "raw": "74950000009"}],
"getDTPhones": null,
"all": {"number=84872751404": "74950000009"},
"static": {"74950000009": ["number=84872751404"]},
"dynamic": {}}`)
	f.noExceptions(t)
}

// __cs_onReplacePhones gets the list of what would be replaced; when it
// answers false nothing is: getReplacedPhones answers {}, and getPhones the
// number given, for the page to show itself.
func TestSnippetPhonesHookSaysNo(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	hook := `window.__cs_onReplacePhones = function (phones) { window.hookGot = phones; return false; };`
	f.page("/", phPage(f.install, hook, `<p id="a">8 (487) 275-14-04</p>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	if got, want := me.jsonOf(t, `window.hookGot`), me.jsonOf(t,
		`[{"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"}]`); !reflect.DeepEqual(got, want) {
		t.Errorf("__cs_onReplacePhones got %v, want %v", got, want)
	}
	if got := eval[string](t, f, `document.getElementById("a").textContent`); got != phSiteWritten {
		t.Errorf("the page shows %q after the hook said no", got)
	}
	// getPhones still gives the number, for a page that shows it itself.
	issued := `{"getPhones": [{"id": "number=74872751404", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"}],
"getDTPhones": null, "all": {}, "static": {}, "dynamic": {}}`
	me.getters(t, issued)

	// A hook the page defines after the install code has the last word on
	// the next page view too, where the cached numbers are applied before
	// it exists: a slow script keeps the parser from it until the snippet
	// has run.
	f.page("/late", phPage(f.install, "", `<p id="a">8 (487) 275-14-04</p>
`+slowScript(t)+`
<script>window.__cs_onReplacePhones = function () { window.lateAsked = true; return false; };</script>`))
	me.open(t, "/late")
	me.open(t, "/late")
	if got := eval[string](t, f, `window.snippetRan + " " + window.lateAsked + " " + document.getElementById("a").textContent`); got != "true true "+phSiteWritten {
		t.Errorf("second page with a late hook that says no: %q", got)
	}
	me.getters(t, issued)

	// A page view whose answer is the cached one asks the hook once.
	count := `window.asked = 0; window.__cs_onReplacePhones = function () { asked++; return true; };`
	f.page("/count", phPage(f.install, count, `<p id="a">8 (487) 275-14-04</p>`))
	me.open(t, "/count")
	me.open(t, "/count")
	if got := eval[string](t, f, `asked + " " + document.getElementById("a").textContent`); got != "1 8 (495) 000-00-01" {
		t.Errorf("second page, answer as cached: %q, want the hook asked once and the number replaced", got)
	}
	f.noExceptions(t)
}

// With setDynamicalReplacement, blocks the page adds later have the number
// replaced before they are painted (in the mutation's microtask), and the
// snippet's own changes start no further work. Without it they are left
// as added.
func TestSnippetPhonesDynamicalReplacement(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	// The page counts the mutations of its body, its own and the snippet's.
	count := `window.mutations = 0;
new MutationObserver(function (rs) { mutations += rs.length; }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});`
	f.page("/on", phPage(f.install, count+`
var __cs = __cs || []; __cs.push(["setDynamicalReplacement", true]);`, `<p id="a">8 (487) 275-14-04</p>`))
	f.page("/off", phPage(f.install, count, `<p id="a">8 (487) 275-14-04</p>`))
	insert := `new Promise(function (done) {
  var div = document.createElement("div");
  div.id = "late";
  div.innerHTML = '<p id="lp">Новый блок: +7 487 275 14 04</p><span class="comagic_phone" id="lc"></span>';
  document.body.appendChild(div);
  // After the mutation's microtask, before any paint.
  Promise.resolve().then(function () {
    done(document.getElementById("lp").textContent + " | " + document.getElementById("lc").textContent);
  });
})`

	me := f.me()
	me.open(t, "/on?utm_source=yandex")
	if got, want := eval[string](t, f, insert), "Новый блок: +7 495 000 00 01 | +7 495 000-00-01"; got != want {
		t.Errorf("late block with setDynamicalReplacement: %q, want %q", got, want)
	}
	if got := me.jsonOf(t, `Comagic.getReplacedPhones()`); !reflect.DeepEqual(got, map[string]any{
		"number=84872751404": phYandex, "number=74872751404": phYandex, ".comagic_phone": phYandex}) {
		t.Errorf("getReplacedPhones() after the late block: %v", got)
	}
	settled := eval[int](t, f, `mutations`)
	eval[any](t, f, `new Promise(function (r) { setTimeout(r, 300); })`)
	if got := eval[int](t, f, `mutations`); got != settled {
		t.Errorf("mutations went on after the late block was replaced: %d, then %d", settled, got)
	}

	me.open(t, "/off?utm_source=yandex")
	if got, want := eval[string](t, f, insert), "Новый блок: +7 487 275 14 04 | "; got != want {
		t.Errorf("late block without setDynamicalReplacement: %q, want %q", got, want)
	}
	eval[any](t, f, `new Promise(function (r) { setTimeout(r, 300); })`)
	if got := eval[string](t, f, `document.getElementById("lp").textContent`); got != "Новый блок: +7 487 275 14 04" {
		t.Errorf("late block without setDynamicalReplacement changed to %q", got)
	}
	if got := eval[string](t, f, `document.getElementById("a").textContent`); got != "8 (495) 000-00-01" {
		t.Errorf("the page's own number: %q", got)
	}
	// The reference's other form, Comagic.push, once the page has loaded:
	// blocks added from then on are replaced.
	eval[any](t, f, `document.getElementById("late").remove(); Comagic.push(["setDynamicalReplacement", true])`)
	if got, want := eval[string](t, f, insert), "Новый блок: +7 495 000 00 01 | +7 495 000-00-01"; got != want {
		t.Errorf("late block after Comagic.push([\"setDynamicalReplacement\", true]): %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// With setDynamicalReplacement, a number a framework writes into nodes it
// keeps (React and Vue set a text node's data and a link's href in place
// when the page's data arrives) is replaced as one in a node added, before
// the next paint.
func TestSnippetPhonesDynamicalInPlace(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, `var __cs = __cs || []; __cs.push(["setDynamicalReplacement", true]);`,
		`<p id="a">8 (487) 275-14-04</p><p>Звоните: <a id="l" href="#">загрузка…</a></p>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[string](t, f, `new Promise(function (done) {
  var a = document.getElementById("l");
  a.firstChild.data = "+7 487 275-14-04";
  a.setAttribute("href", "tel:84872751404");
  // After the mutation's microtask, before any paint.
  Promise.resolve().then(function () { done(a.textContent + " | " + a.getAttribute("href")); });
})`)
	if want := "+7 495 000-00-01 | tel:+74950000001"; got != want {
		t.Errorf("a link re-rendered in place shows %q, want %q", got, want)
	}
	if got := me.jsonOf(t, `Comagic.getReplacedPhones()`); !reflect.DeepEqual(got, map[string]any{
		"number=84872751404": phYandex, "number=74872751404": phYandex}) {
		t.Errorf("getReplacedPhones() after the re-render: %v", got)
	}
	f.noExceptions(t)
}

// heartbeatPage lets the test run the snippet's timers of a minute or more
// (the heartbeat's) when it chooses, count lease requests, move the page's
// clock and hide or show the page.
const heartbeatPage = `window.leases = 0;
var realFetch = window.fetch;
window.fetch = function (u) {
  if (/t\/v1\/lease$/.test(u)) leases++;
  return realFetch.apply(this, arguments);
};
window.skew = 0;
var realNow = Date.now;
Date.now = function () { return realNow() + skew; };
var realSet = window.setTimeout, realClear = window.clearTimeout, long = {}, nextID = 1e9;
window.setTimeout = function (fn, ms) {
  if (ms >= 60000) { long[++nextID] = fn; return nextID; }
  return realSet.apply(window, arguments);
};
window.clearTimeout = function (id) { if (id in long) delete long[id]; else realClear(id); };
window.pendingBeats = function () { return Object.keys(long).length; };
window.runBeats = function () { var fns = Object.values(long); long = {}; fns.forEach(function (fn) { fn(); }); return fns.length; };
var hidden = false;
Object.defineProperty(document, "visibilityState", {configurable: true, get: function () { return hidden ? "hidden" : "visible"; }});
Object.defineProperty(document, "hidden", {configurable: true, get: function () { return hidden; }});
window.setHidden = function (h) { hidden = h; document.dispatchEvent(new Event("visibilitychange")); };`

// A visible page renews its lease every "renew" seconds: the server's
// expiry of the lease moves with each heartbeat. A hidden page sends none,
// and on becoming visible it sends one at once when the last is older than
// "renew".
func TestSnippetPhonesHeartbeat(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	f := newSnippetFixture(t, func(o *httpd.Options) { o.Now = clock.Now })
	const reserve = 5 * time.Minute // renew: 75 s
	phNumbers(t, f, clock.Now(), phPool, reserve)
	f.page("/", phPage(f.install, heartbeatPage, `<p id="a">8 (487) 275-14-04</p>`))
	me := f.me()
	me.open(t, "/?utm_medium=cpc")
	num := me.shownNumber(t)
	until := func() time.Time {
		a, err := f.srv.HTTP.Numbers().Attribute(context.Background(), num, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if a.Visitor != uint64(eval[int64](t, f, `Comagic.getVisitorId()`)) {
			t.Fatalf("number %s at %v is not the visitor's: %+v", num, clock.Now(), a)
		}
		return a.Until
	}
	if got, want := until(), clock.Now().Add(reserve); !got.Equal(want) {
		t.Fatalf("lease until %v after the hit, want %v", got, want)
	}
	waitBeats := func(n int) {
		t.Helper()
		f.eventually(t, fmt.Sprintf("%d heartbeat(s) pending", n), func() bool { return eval[int](t, f, `pendingBeats()`) == n })
	}
	waitLeases := func(n int) {
		t.Helper()
		f.eventually(t, fmt.Sprintf("%d lease request(s) sent", n), func() bool { return eval[int](t, f, `leases`) == n })
	}

	// Visible: the heartbeat is due; sent, it renews the lease from the
	// server's now.
	waitBeats(1)
	clock.Add(4 * time.Minute)
	eval[int](t, f, `runBeats()`)
	waitLeases(1)
	f.eventually(t, "the lease is renewed", func() bool { return until().Equal(clock.Now().Add(reserve)) })
	waitBeats(1) // the next one

	// Hidden: none is pending, none is sent.
	eval[any](t, f, `setHidden(true)`)
	waitBeats(0)
	clock.Add(time.Minute)
	// Visible again soon after the last: the next is due "renew" after it.
	eval[any](t, f, `setHidden(false)`)
	waitBeats(1)
	if got := eval[int](t, f, `leases`); got != 1 {
		t.Errorf("%d lease requests after hiding and showing the page soon, want 1", got)
	}
	// Hidden for long: on becoming visible it is sent at once.
	eval[any](t, f, `setHidden(true); skew = 10 * 60000; setHidden(false)`)
	waitLeases(2)
	f.eventually(t, "the lease is renewed", func() bool { return until().Equal(clock.Now().Add(reserve)) })
	if got := me.shownNumber(t); got != num {
		t.Errorf("number after heartbeats %s, want %s", got, num)
	}
	f.noExceptions(t)
}

// An SPA's new route (Comagic.reinitTrackView) has the numbers replaced in
// what it rendered, without setDynamicalReplacement.
func TestSnippetPhonesReinitTrackView(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<main id="app"><p>8 (487) 275-14-04</p></main>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	hit := eval[int64](t, f, `Comagic.getCredentials().hit_id`)
	eval[any](t, f, `history.pushState({}, "", "/contacts");
document.getElementById("app").innerHTML = '<p id="route">Контакты: 8 (487) 275-14-04</p>';
Comagic.reinitTrackView()`)
	f.waitHit(t, hit)
	if got := eval[string](t, f, `document.getElementById("route").textContent`); got != "Контакты: 8 (495) 000-00-01" {
		t.Errorf("the new route shows %q", got)
	}
	f.noExceptions(t)
}
