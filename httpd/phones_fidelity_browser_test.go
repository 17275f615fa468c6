package httpd_test

// Browser tests of numbers written as real sites write them: split across
// elements, in form fields and images, and the same from page to page.

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A number whose digits run across elements is replaced in place, each
// element keeping its part and markup, and is reported by the getters.
func TestSnippetPhonesSplitAcrossElements(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<a class="comagic_phone" id="s1" href="#"><span>+7 (487)</span> 275-14-04</a>
<p id="s2">Звоните: <span>8 (487)</span> <span>275-14-04</span>, ежедневно</p>
<p id="s3"><b>8</b> <i>487</i> <span>275</span>-14-04</p>
<ul id="s4"><li>1</li><li>8 (487) 275-14-04</li></ul>
<p id="s5">Заказ <span>1</span>8 (487) 275-14-04</p>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var o = {};
  ["s1", "s2", "s3", "s4", "s5"].forEach(function (id) { o[id] = document.getElementById(id).innerHTML; });
  return o;
})()`)
	want := map[string]string{
		"s1": `<span>+7 (495)</span> 000-00-01`,
		"s2": `Звоните: <span>8 (495)</span> <span>000-00-01</span>, ежедневно`,
		"s3": `<b>8</b> <i>495</i> <span>000</span>-00-01`,
		"s4": `<li>1</li><li>8 (495) 000-00-01</li>`,
		"s5": `Заказ <span>1</span>8 (487) 275-14-04`, // one longer run of digits: not the site's number
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("#%s shows %q, want %q", id, got[id], w)
		}
	}
	me.getters(t, `{
"getPhones": [
  {"id": ".comagic_phone", "img": null, "text": "+7 (495) 000-00-01", "raw": "74950000001"},
  {"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"},
  {"id": "number=84872751404", "img": null, "text": "8 495 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001", "number=84872751404": "74950000001"},
"static": {"74950000001": [".comagic_phone", "number=84872751404"]},
"dynamic": {}}`)
	f.noExceptions(t)
}

// A number set by a typographer (a CMS's, or a site's designer) is written
// with non-breaking hyphens, en or em dashes and no-break spaces between
// its groups; it is the site's number all the same, replaced with its
// separators kept.
func TestSnippetPhonesTypographicSeparators(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	written := map[string]string{
		"nbhyphen": "8\u2011487\u2011275\u201114\u201104",
		"endash":   "8 (487) 275\u201314\u201304",
		"emdash":   "+7 487 275\u201414\u201404",
		"nbsp":     "+7\u00a0487\u00a0275-14-04",
		"narrow":   "8\u202f487\u202f275\u202f14\u202f04",
	}
	var body strings.Builder
	for id, w := range written {
		body.WriteString(`<p id="` + id + `">` + w + "</p>\n")
	}
	f.page("/", phPage(f.install, "", body.String()))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	swap := strings.NewReplacer("487", "495", "275", "000", "14", "00", "04", "01")
	for id, w := range written {
		got := eval[string](t, f, `document.getElementById("`+id+`").textContent`)
		if want := swap.Replace(w); got != want {
			t.Errorf("%s: %q shows as %q, want %q", id, w, got, want)
		}
	}
	f.noExceptions(t)
}

// A number keeps the format the page writes it in on every page view: on
// the landing page (the appliance's answer), on the next (the cached answer
// first, then the appliance's) and on one whose answer never comes.
func TestSnippetPhonesFormatKeptAcrossPages(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	body := `<span class="comagic_phone" id="t">+7 487 275 14 04</span> <span id="u">8 (487) 275-14-04</span>`
	f.page("/", phPage(f.install, "", body))
	held := `var realFetch = window.fetch;
window.fetch = function (u) {
  if (/t\/v1\/hit$/.test(u)) return new Promise(function () {});
  return realFetch.apply(this, arguments);
};
addEventListener("load", function () { window.loaded = true; });`
	f.page("/held", phPage(f.install, held, body))
	const want = "+7 495 000 00 01 | 8 (495) 000-00-01"
	shown := `document.getElementById("t").textContent + " | " + document.getElementById("u").textContent`
	me := f.me()
	for _, path := range []string{"/?utm_source=yandex", "/", "/"} {
		me.open(t, path)
		if got := eval[string](t, f, shown); got != want {
			t.Errorf("%s shows %q, want %q", path, got, want)
		}
		if got := eval[string](t, f, `Comagic.getPhones()[0].text`); got != "+7 495 000 00 01" {
			t.Errorf("%s: getPhones()[0].text = %q", path, got)
		}
	}
	httpdtest.Must(t, me.tab, chromedp.Navigate(f.web+"held"))
	f.eventually(t, "the held page has loaded", func() bool { return eval[bool](t, f, `!!window.loaded`) })
	if got := eval[string](t, f, shown); got != want {
		t.Errorf("a page shown from the cache shows %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// A form field target gets the number in its value; an image target a
// picture of it drawn by the appliance, from a URL only the appliance can
// make. A target that can show neither is not reported as replaced.
func TestSnippetPhonesFieldsAndImages(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	const img = `<img class="comagic_phone" id="im" alt="8 (487) 275-14-04" style="font-size: 20px; color: #336699"
  src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" srcset="data:image/gif;base64,R0lGODlhAQABAAAAACw= 2x">`
	f.page("/", phPage(f.install, "", `<input class="comagic_phone" id="in1" value="8 (487) 275-14-04">
<input name="comagic_phone" id="in2">`+img))
	f.page("/img", phPage(f.install, "", img+`<canvas id="comagic_phone"></canvas>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	if got, want := eval[string](t, f, `document.getElementById("in1").value + " | " + document.getElementById("in2").value`),
		"8 (495) 000-00-01 | +7 495 000-00-01"; got != want {
		t.Errorf("fields show %q, want %q", got, want)
	}
	f.eventually(t, "the number's picture has loaded", func() bool {
		return eval[bool](t, f, `(function (i) { return i.complete && i.naturalWidth > 0 && /img\/phone/.test(i.currentSrc); })(document.getElementById("im"))`)
	})
	attr := eval[string](t, f, `document.getElementById("im").getAttribute("src")`)
	src := eval[string](t, f, `document.getElementById("im").src`)
	jsonSrc, _ := json.Marshal(attr)
	if !strings.HasPrefix(src, f.srv.URL+"img/phone?site=") || !strings.HasSuffix(src, "&css=20px%3Brgb(51%2C%20102%2C%20153)%3Brgba(0%2C%200%2C%200%2C%200)") ||
		eval[bool](t, f, `document.getElementById("im").hasAttribute("srcset")`) {
		t.Errorf("image src %q (srcset kept: %v), want the appliance's picture in the image's style", src,
			eval[bool](t, f, `document.getElementById("im").hasAttribute("srcset")`))
	}
	me.getters(t, `{
"getPhones": [
  {"id": ".comagic_phone", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"},
  {"id": "[name=comagic_phone]", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"},
  {"id": ".comagic_phone", "img": `+string(jsonSrc)+`, "text": null, "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001", "[name=comagic_phone]": "74950000001"},
"static": {"74950000001": [".comagic_phone", "[name=comagic_phone]"]},
"dynamic": {}}`)

	// The picture is of the number; another text, or another size of one
	// out of range, is refused.
	resp, err := http.Get(src)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(body), ">+7 495 000-00-01</text>") ||
		!strings.Contains(string(body), `font-size="20" fill="#336699"`) || strings.Contains(string(body), "<rect") {
		t.Errorf("picture: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, bad := range []struct {
		url    string
		status int
	}{
		{strings.Replace(src, "t=%2B7+495+000-00-01", "t=%2B7+495+000-00-02", 1), 403},
		{src + "&size=200", 400},
		{strings.Replace(src, "t=%2B7+495+000-00-01", "t=%3Cscript%3E", 1), 400},
	} {
		if bad.url == src {
			t.Fatalf("the test's URL did not change: %s", src)
		}
		resp, err := http.Get(bad.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != bad.status {
			t.Errorf("%s: %d, want %d", bad.url, resp.StatusCode, bad.status)
		}
	}

	me.open(t, "/img")
	me.getters(t, `{
"getPhones": [{"id": ".comagic_phone", "img": `+string(jsonSrc)+`, "text": null, "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001"},
"static": {"74950000001": [".comagic_phone"]},
"dynamic": {}}`)
	f.noExceptions(t)
}

// getPhones lists every number given to the visitor, also on a page that
// writes none; getDTPhones lists the reserved one; two targets of one id
// are each reported with what they show.
func TestSnippetPhonesIssued(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/plain", phPage(f.install, "", `<p>Каталог</p>`))
	f.page("/two", phPage(f.install, "", `<span class="comagic_phone">8 (487) 275-14-04</span>
<span class="comagic_phone">+7 487 275 14 04</span>`))
	me := f.me()
	me.open(t, "/plain?utm_source=yandex")
	me.getters(t, `{
"getPhones": [{"id": "number=74872751404", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {},
"static": {},
"dynamic": {}}`)
	me.open(t, "/two")
	me.getters(t, `{
"getPhones": [
  {"id": ".comagic_phone", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"},
  {"id": ".comagic_phone", "img": null, "text": "+7 495 000 00 01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001"},
"static": {"74950000001": [".comagic_phone"]},
"dynamic": {}}`)

	cpc := f.otherVisitor(t)
	cpc.open(t, "/plain?utm_medium=cpc")
	num := cpc.shownNumber(t)
	if !slices.Contains(phPool, num) {
		t.Fatalf("cpc visitor was given %q, want one of the pool %v", num, phPool)
	}
	want := cpc.jsonOf(t, `[{"id": "number=74872751404", "img": null, "text": "+7 495 000-00-0`+num[10:]+`", "raw": "`+num+`"}]`)
	if got := cpc.jsonOf(t, `Comagic.getDTPhones()`); !reflect.DeepEqual(got, want) {
		t.Errorf("getDTPhones() on a page without numbers = %v, want %v", got, want)
	}
	f.noExceptions(t)
}
