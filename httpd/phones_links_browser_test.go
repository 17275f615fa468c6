package httpd_test

// Browser tests of the links and places a site's number is written in
// besides text: links that dial, which are replaced, and those the
// snippet leaves as the page wrote them.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
)

// A link that dials the site's number is given the visitor's number,
// whatever the case of its scheme (a URL's scheme is case-insensitive:
// TEL: and Tel: dial as tel: does) and also when it dials through callto:
// (Skype and the softphones that register it). A sip: link, which names
// an account at the site's SIP server, and messenger links (WhatsApp,
// Telegram, Viber: an account of the site's number, which a tracking
// number does not have) go where the page said; so do numbers in form
// fields (a visitor's, or an example of how to type one) and in scripts
// and styles.
func TestSnippetPhonesDialLinks(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<a id="upper" href="TEL:+74872751404">Позвонить</a>
<a id="title" href="Tel:8 (487) 275-14-04">Позвонить</a>
<a id="callto" href="callto:+74872751404">Skype</a>
<a id="escaped" href="tel:%2B7%20487%20275-14-04">Позвонить</a>
<a id="other" href="tel:+74951112233">Другой номер</a>
<a id="sip" href="sip:+74872751404@sip.example.ru">SIP</a>
<a id="wa" href="https://wa.me/74872751404">WhatsApp</a>
<a id="tg" href="https://t.me/+74872751404">Telegram</a>
<a id="viber" href="viber://chat?number=%2B74872751404">Viber</a>
<input id="field" value="8 (487) 275-14-04" placeholder="8 (487) 275-14-04">
<script id="script">var sitePhone = "8 (487) 275-14-04";</script>
<style id="style">/* 8 (487) 275-14-04 */</style>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var o = {}, $ = function (id) { return document.getElementById(id); };
  ["upper", "title", "callto", "escaped", "other", "sip", "wa", "tg", "viber"].forEach(function (id) { o[id] = $(id).getAttribute("href"); });
  o.value = $("field").value;
  o.placeholder = $("field").getAttribute("placeholder");
  o.script = $("script").textContent;
  o.style = $("style").textContent;
  return o;
})()`)
	want := map[string]string{
		"upper":       "tel:+74950000001",
		"title":       "tel:+74950000001",
		"callto":      "callto:+74950000001",
		"escaped":     "tel:+74950000001",
		"other":       "tel:+74951112233",
		"sip":         "sip:+74872751404@sip.example.ru",
		"wa":          "https://wa.me/74872751404",
		"tg":          "https://t.me/+74872751404",
		"viber":       "viber://chat?number=%2B74872751404",
		"value":       "8 (487) 275-14-04",
		"placeholder": "8 (487) 275-14-04",
		"script":      `var sitePhone = "8 (487) 275-14-04";`,
		"style":       "/* 8 (487) 275-14-04 */",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	// The links show no number: each site number they dial is reported once.
	me.getters(t, `{
"getPhones": [
  {"id": "number=74872751404", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"},
  {"id": "number=84872751404", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {"number=74872751404": "74950000001", "number=84872751404": "74950000001"},
"static": {"74950000001": ["number=74872751404", "number=84872751404"]},
"dynamic": {}}`)
	f.noExceptions(t)
}

// A link that dials the site's number with an extension or the pauses of a
// dial string keeps them: only the number is the visitor's (RFC 3966's
// ;ext=, and the , and p pauses phones dial after the call is answered).
func TestSnippetPhonesDialLinkExtension(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<a id="ext" href="tel:+74872751404;ext=123">Доб. 123</a>
<a id="written" href="tel:+7 (487) 275-14-04;ext=45">Доб. 45</a>
<a id="comma" href="tel:8-487-275-14-04,,123">Пауза</a>
<a id="p" href="TEL:84872751404p7">Пауза</a>
<a id="callto" href="callto:+74872751404;ext=9">Skype</a>
<a id="other" href="tel:+74951112233;ext=1">Другой номер</a>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var o = {};
  ["ext", "written", "comma", "p", "callto", "other"].forEach(function (id) { o[id] = document.getElementById(id).getAttribute("href"); });
  return o;
})()`)
	want := map[string]string{
		"ext":     "tel:+74950000001;ext=123",
		"written": "tel:+74950000001;ext=45",
		"comma":   "tel:+74950000001,,123",
		"p":       "tel:+74950000001p7",
		"callto":  "callto:+74950000001;ext=9",
		"other":   "tel:+74951112233;ext=1",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	f.noExceptions(t)
}

// A framework that points a link at the site's number after the page has
// loaded, in a scheme of another case, has it replaced too with
// setDynamicalReplacement, before the page is painted again.
func TestSnippetPhonesDialLinkChanged(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, `var __cs = __cs || []; __cs.push(["setDynamicalReplacement", true]);`,
		`<p>Звоните: <a id="l" href="#">Позвонить</a></p>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[string](t, f, `new Promise(function (done) {
  var a = document.getElementById("l");
  a.setAttribute("href", "TEL:84872751404");
  // After the mutation's microtask, before any paint.
  Promise.resolve().then(function () { done(a.getAttribute("href")); });
})`)
	if want := "tel:+74950000001"; got != want {
		t.Errorf("a link pointed at the site's number shows %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// A number in an element's title (what a hover shows) or aria-label (what a
// screen reader says in place of the element's text) is the visitor's, in
// its format, as the text beside it is: a visitor who calls the number they
// heard is tracked. An attribute that holds no site number, or one inside a
// longer run of digits, stays as written.
func TestSnippetPhonesLabels(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<a id="icon" href="tel:+74872751404" aria-label="Позвонить: 8 (487) 275-14-04"><svg width="10" height="10"></svg></a>
<p id="hover" title="+7 487 275 14 04, с 9 до 18">Телефон: 8 (487) 275-14-04</p>
<span class="comagic_phone" id="target" title="8 (487) 275-14-04">звоните нам</span>
<button id="plain" title="Отправить" aria-label="Заказ 184872751404">OK</button>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var o = {}, $ = function (id) { return document.getElementById(id); };
  o.icon = $("icon").getAttribute("aria-label");
  o.hover = $("hover").title;
  o.hoverText = $("hover").textContent;
  o.target = $("target").title;
  o.targetText = $("target").textContent;
  o.plain = $("plain").title + " | " + $("plain").getAttribute("aria-label");
  return o;
})()`)
	want := map[string]string{
		"icon":       "Позвонить: 8 (495) 000-00-01",
		"hover":      "+7 495 000 00 01, с 9 до 18",
		"hoverText":  "Телефон: 8 (495) 000-00-01",
		"target":     "8 (495) 000-00-01",
		"targetText": "+7 495 000-00-01",
		"plain":      "Отправить | Заказ 184872751404",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	// A hook that says no leaves them as written, as it does the text.
	f.page("/no", phPage(f.install, `window.__cs_onReplacePhones = function () { return false; };`,
		`<p id="hover" title="+7 487 275 14 04">Телефон</p>`))
	me.open(t, "/no")
	if got := eval[string](t, f, `document.getElementById("hover").title`); got != "+7 487 275 14 04" {
		t.Errorf("with the hook saying no, the title is %q", got)
	}
	f.noExceptions(t)
}

// A title or aria-label a framework sets after the page has loaded has its
// number replaced with setDynamicalReplacement, before the page is painted
// again; so has one of an element added with it.
func TestSnippetPhonesLabelsChanged(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, `var __cs = __cs || []; __cs.push(["setDynamicalReplacement", true]);`,
		`<p id="p" title="Телефон">Телефон</p><div id="box"></div>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[string](t, f, `new Promise(function (done) {
  var p = document.getElementById("p");
  p.title = "8 (487) 275-14-04";
  var b = document.createElement("button");
  b.setAttribute("aria-label", "Позвонить +7 487 275-14-04");
  document.getElementById("box").appendChild(b);
  // After the mutation's microtask, before any paint.
  Promise.resolve().then(function () { done(p.title + " | " + b.getAttribute("aria-label")); });
})`)
	if want := "8 (495) 000-00-01 | Позвонить +7 495 000-00-01"; got != want {
		t.Errorf("labels set after load: %q, want %q", got, want)
	}
	f.noExceptions(t)
}

// A returning visitor's page shows the last page view's numbers while it
// loads, titles included; a target whose title writes the site's number
// is still filled once the page has loaded: an image target gets its
// number's picture, another its number's text. (Its replaced title used
// to count as the target showing its number, so neither was.) The hit's
// answer is held: what is seen is the cached answer's.
func TestSnippetPhonesTitledTargetsFromCache(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	held := `var realFetch = window.fetch;
window.fetch = function (u) {
  if (/t\/v1\/hit$/.test(u)) return new Promise(function () {});
  return realFetch.apply(this, arguments);
};
addEventListener("load", function () { window.loaded = true; });`
	// The image is there when the cached answer is applied; the span comes
	// from the parser after it, while the page is still loading.
	f.page("/held", phPage(f.install, held, `<img class="comagic_phone" id="im" title="8 (487) 275-14-04" style="font-size: 20px"
  src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
`+slowScript(t)+`
<span class="comagic_phone" id="sp" title="8 (487) 275-14-04">звоните нам</span>`))
	f.page("/", phPage(f.install, "", `<p>8 (487) 275-14-04</p>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	httpdtest.Must(t, me.tab, chromedp.Navigate(f.web+"held"))
	f.eventually(t, "the held page has loaded", func() bool { return eval[bool](t, f, `!!window.loaded`) })
	if !eval[bool](t, f, `window.snippetRan === true`) {
		t.Fatal("the snippet had not run when the parser reached the slow script: the page was not loading")
	}
	got := eval[map[string]string](t, f, `(function () {
  var $ = function (id) { return document.getElementById(id); };
  return {imTitle: $("im").title, imSrc: $("im").src, spTitle: $("sp").title, spText: $("sp").textContent};
})()`)
	if !strings.HasPrefix(got["imSrc"], f.srv.URL+"img/phone?") {
		t.Errorf("image target with a title shows %.60q, want the number's picture", got["imSrc"])
	}
	want := map[string]string{"imTitle": "8 (495) 000-00-01", "spTitle": "8 (495) 000-00-01", "spText": "+7 495 000-00-01"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if !eval[bool](t, f, `Comagic.getPhones().some(function (p) { return p.img && p.img == document.getElementById("im").getAttribute("src"); })`) {
		t.Errorf("getPhones() = %v, want the image's picture in it", me.jsonOf(t, `Comagic.getPhones()`))
	}
	f.noExceptions(t)
}

// phGIF is an image's src: a one-pixel GIF of its own, no request.
const phGIF = `src="data:image/gif;base64,R0lGODlhAQABAAAAACw="`

// An image's alt (what a screen reader says and a copy of the page gives
// in place of the image) writes the visitor's number as a title does: an
// image outside any target, one inside a target's text, and an image
// target, which shows its number's picture besides and is reported by
// that picture alone. An alt whose number is inside a longer run of digits
// stays as written.
func TestSnippetPhonesImageAlt(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<img id="photo" alt="Наш офис, тел. 8 (487) 275-14-04" `+phGIF+`>
<div id="comagic_phone"><img id="icon" alt="+7 487 275 14 04" `+phGIF+`> 8 (487) 275-14-04</div>
<img class="comagic_phone" id="im" alt="8 (487) 275-14-04" `+phGIF+`>
<img id="order" alt="Заказ 184872751404" `+phGIF+`>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var o = {};
  ["photo", "icon", "im", "order"].forEach(function (id) { o[id] = document.getElementById(id).alt; });
  o.text = document.getElementById("comagic_phone").textContent;
  return o;
})()`)
	want := map[string]string{
		"photo": "Наш офис, тел. 8 (495) 000-00-01",
		"icon":  "+7 495 000 00 01",
		"im":    "8 (495) 000-00-01",
		"order": "Заказ 184872751404",
		"text":  " 8 (495) 000-00-01",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if src := eval[string](t, f, `document.getElementById("im").src`); !strings.HasPrefix(src, f.srv.URL+"img/phone?site=") {
		t.Fatalf("image target shows %.60q, want its number's picture", src)
	}
	jsonSrc, _ := json.Marshal(eval[string](t, f, `document.getElementById("im").getAttribute("src")`))
	me.getters(t, `{
"getPhones": [
  {"id": ".comagic_phone", "img": `+string(jsonSrc)+`, "text": null, "raw": "74950000001"},
  {"id": "number=84872751404", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"},
  {"id": "#comagic_phone", "img": null, "text": "+7 495 000 00 01", "raw": "74950000001"},
  {"id": "#comagic_phone", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001", "number=84872751404": "74950000001", "#comagic_phone": "74950000001"},
"static": {"74950000001": [".comagic_phone", "number=84872751404", "#comagic_phone"]},
"dynamic": {}}`)
	f.noExceptions(t)
}

// An image target whose title writes the number is reported by its
// picture alone: the title is not a text the target shows. A text target's
// title is reported as before, beside the text the target is filled with.
// (The image's title is written in another format than the span's, so that
// an entry of it would not be the span's.)
func TestSnippetPhonesTitledImageTarget(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	f.page("/", phPage(f.install, "", `<img class="comagic_phone" id="im" title="+7 487 275 14 04" `+phGIF+`>
<span class="comagic_phone" id="sp" title="8 (487) 275-14-04">звоните нам</span>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	got := eval[map[string]string](t, f, `(function () {
  var $ = function (id) { return document.getElementById(id); };
  return {imTitle: $("im").title, spTitle: $("sp").title, spText: $("sp").textContent};
})()`)
	want := map[string]string{"imTitle": "+7 495 000 00 01", "spTitle": "8 (495) 000-00-01", "spText": "+7 495 000-00-01"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if src := eval[string](t, f, `document.getElementById("im").src`); !strings.HasPrefix(src, f.srv.URL+"img/phone?site=") {
		t.Fatalf("image target shows %.60q, want its number's picture", src)
	}
	jsonSrc, _ := json.Marshal(eval[string](t, f, `document.getElementById("im").getAttribute("src")`))
	me.getters(t, `{
"getPhones": [
  {"id": ".comagic_phone", "img": `+string(jsonSrc)+`, "text": null, "raw": "74950000001"},
  {"id": ".comagic_phone", "img": null, "text": "+7 495 000-00-01", "raw": "74950000001"},
  {"id": ".comagic_phone", "img": null, "text": "8 (495) 000-00-01", "raw": "74950000001"}],
"getDTPhones": null,
"all": {".comagic_phone": "74950000001"},
"static": {"74950000001": [".comagic_phone"]},
"dynamic": {}}`)
	f.noExceptions(t)
}

// A site with two numbers: on a page shown from the cache while it loads,
// an image target whose alt writes the second still gets the second's
// picture once the page has loaded, and its alt that number. (Its alt is
// replaced only then: replaced while the page loaded, it would no longer
// say which number the picture is of, and the image would show the
// first's.) The hit's answer is held: what is seen is the cached answer's.
func TestSnippetPhonesImageAltFromCache(t *testing.T) {
	f := newSnippetFixture(t)
	tr, ctx, site, now := f.srv.HTTP.Numbers(), context.Background(), f.site.ID, time.Now()
	if _, err := tr.SetSiteNumbers(ctx, site, []string{phSiteWritten, "8 (487) 275-14-05"}, now); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ number, site string }{{"74950000001", "74872751404"}, {"74950000002", "74872751405"}} {
		if _, err := tr.AddStatic(ctx, site, tracking.StaticInput{Number: s.number,
			RuleInput: tracking.RuleInput{Rule: "utm_source=yandex", Replaces: []string{s.site}}}, now); err != nil {
			t.Fatal(err)
		}
	}
	held := `var realFetch = window.fetch;
window.fetch = function (u) {
  if (/t\/v1\/hit$/.test(u)) return new Promise(function () {});
  return realFetch.apply(this, arguments);
};
addEventListener("load", function () { window.loaded = true; });`
	f.page("/held", phPage(f.install, held, `<img class="comagic_phone" id="im" alt="8 (487) 275-14-05" style="font-size: 20px" `+phGIF+`>
`+slowScript(t)+`
<img id="photo" alt="Тел. 8 (487) 275-14-05" `+phGIF+`>`))
	f.page("/", phPage(f.install, "", `<p>8 (487) 275-14-04, 8 (487) 275-14-05</p>`))
	me := f.me()
	me.open(t, "/?utm_source=yandex")
	if got := eval[string](t, f, `document.querySelector("p").textContent`); got != "8 (495) 000-00-01, 8 (495) 000-00-02" {
		t.Fatalf("the first page shows %q, want both numbers replaced", got)
	}
	httpdtest.Must(t, me.tab, chromedp.Navigate(f.web+"held"))
	f.eventually(t, "the held page has loaded", func() bool { return eval[bool](t, f, `!!window.loaded`) })
	if !eval[bool](t, f, `window.snippetRan === true`) {
		t.Fatal("the snippet had not run when the parser reached the slow script: the page was not loading")
	}
	got := eval[map[string]string](t, f, `(function () {
  var $ = function (id) { return document.getElementById(id); };
  return {imAlt: $("im").alt, imSrc: $("im").src, photoAlt: $("photo").alt};
})()`)
	if !strings.HasPrefix(got["imSrc"], f.srv.URL+"img/phone?") || !strings.Contains(got["imSrc"], "t=%2B7+495+000-00-02&") {
		t.Errorf("image target whose alt writes the second number shows %q, want the picture of +7 495 000-00-02", got["imSrc"])
	}
	want := map[string]string{"imAlt": "8 (495) 000-00-02", "photoAlt": "Тел. 8 (495) 000-00-02"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	f.noExceptions(t)
}
