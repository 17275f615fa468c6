package httpd_test

// Browser tests of numbers written as real sites write them: split across
// elements, in form fields and images, and the same from page to page.

import (
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
  {"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001", "number=84872751404": "74950000001"},
"static": {"74950000001": [".comagic_phone", "number=84872751404"]},
"dynamic": {}}`)
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
