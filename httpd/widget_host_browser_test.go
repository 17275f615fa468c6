package httpd_test

// The widgets on the pages sites really have, as a visitor sees them: a
// phone (360×640 at device scale 2, touch), a site's fixed header at the
// top of the z-index scale, a right-to-left page, a dark theme, and a
// network that drops while a form is sent.

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
	"appliance/store"
)

// onPhone makes the visitor's tab a phone held upright: 360×640 CSS px at
// device scale 2, with touch.
func onPhone(t *testing.T, f *snippetFixture) {
	t.Helper()
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(360, 640, chromedp.EmulateScale(2), chromedp.EmulateTouch, chromedp.EmulateMobile))
}

// phonePage is a site's page made for phones (its viewport is the
// device's) with head added to its head and html's attributes attrs.
func phonePage(install, attrs, head, body string) string {
	p := sitePage("Магазин", "", install, body)
	p = strings.Replace(p, "<html>", "<html"+attrs+">", 1)
	return strings.Replace(p, "<title>", `<meta name="viewport" content="width=device-width, initial-scale=1">`+head+"<title>", 1)
}

// siteHeader is a site's fixed header with the highest z-index there is,
// as sites give their menus.
const siteHeader = `<header id="site-header" style="position: fixed; top: 0; left: 0; right: 0; height: 64px; z-index: 2147483647; background: #f00; color: #fff">Меню</header>`

// On a phone the chat window fills the screen, the site's fixed header
// with the top z-index included: the visitor sees the button that
// minimizes it (a phone has no Esc) and not the site's header over it, and
// a tap on it minimizes the chat.
func TestChatAboveSiteHeaderOnPhone(t *testing.T) {
	f := newChatFixture(t, "ru")
	onPhone(t, f.snippetFixture)
	f.page("/", phonePage(f.install, "", "", `document.body.insertAdjacentHTML('afterbegin', `+jsString(siteHeader)+`)`))
	f.console(t, "ru")
	f.visit(t, "/")
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	// what is drawn where the minimize button is: the chat's own colour,
	// not the header's red
	buf, err := chromedp.Run(f.browser, chromedp.Screenshot(chromedp.JSPath(shadow+`.querySelector('section.chat header button')`)))
	if err != nil {
		t.Fatalf("screenshot of the minimize button: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	red := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 > 200 && g>>8 < 60 && b>>8 < 60 {
				red++
			}
		}
	}
	if red > 0 {
		httpdtest.SaveScreenshot(t, f.browser, "chat-under-header")
		t.Errorf("the site's header covers %d of the %d pixels of the chat's minimize button", red, img.Bounds().Dx()*img.Bounds().Dy())
	}
	f.click(t, "section.chat header button")
	f.waitIn(t, "the tap minimizes the chat", `r.querySelector('section.chat').hidden`)
	f.noExceptions(t)
}

// On a right-to-left page (dir=rtl on its root, a Hebrew site's) the
// widgets, whose texts are Russian or English, stay left to right: the
// callback panel's "Now" comes before "Later", its text reads with the
// full stop at its end, and so do the lead form, the popup and the chat.
func TestWidgetsLeftToRightOnRightToLeftPage(t *testing.T) {
	f := newChatFixture(t, "ru")
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "lang": "ru", "webhook": f.pbx.srv.URL + "/callback", "captcha": "on"}, nil)
	f.page("/", phonePage(f.install, ` dir="rtl" lang="he"`, "", ""))
	f.console(t, "ru")
	f.visit(t, "/")
	if !eval[bool](t, f.snippetFixture, `document.body.matches(':dir(rtl)')`) {
		t.Fatal("the page is not right to left: the test does not test")
	}
	ltr := func(what, sel string) {
		t.Helper()
		if got := in[string](t, f.widgetFixture, `Array.from(r.querySelectorAll(`+jsString(sel)+`)).filter(n => !n.matches(':dir(ltr)')).map(n => n.localName + '.' + n.className).join(' ')`); got != "" {
			t.Errorf("%s: %s right to left", what, got)
		}
	}
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('[data-kind=callback] #cs-when-later')`)
	ltr("the callback panel", ".dialog, .dialog *")
	if got := in[string](t, f.widgetFixture, `(r.querySelector('label[for=cs-when-now]').getBoundingClientRect().left < r.querySelector('label[for=cs-when-later]').getBoundingClientRect().left) + ' ' +
(r.querySelector('label[for=cs-phone]').getBoundingClientRect().left - r.querySelector('.dialog').getBoundingClientRect().left < 40)`); got != "true true" {
		t.Errorf("Now before Later, the phone's label at the left: %s, want true true", got)
	}
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	ltr("the lead form", ".dialog, .dialog *:not(#cs-name):not(#cs-message)")
	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: ''})`)
	f.waitIn(t, "the popup", `r.querySelector('.toast')`)
	ltr("the popup", ".toast, .toast *")

	f.press(t, kb.Escape)
	f.waitIn(t, "the lead form closes", `!r.querySelector('.dialog')`)
	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	ltr("the chat", "section.chat, section.chat *:not(#cs-chat-text):not(.text):not(.who):not(.greet)")
	// The popup, shown before the chat window opened beside it, is still
	// drawn over it (it goes by itself after 12 s: a machine slower than
	// that cannot tell).
	switch got := in[string](t, f.widgetFixture, `(function (n) { if (!n) return 'gone'; var c = n.getBoundingClientRect(); return String(n.contains(r.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2))) })(r.querySelector('.toast'))`); got {
	case "gone":
		t.Log("the popup went before the chat window opened: not checked")
	case "false":
		t.Error("the chat window opened over the popup shown before it")
	}
	httpdtest.SaveScreenshot(t, f.browser, "rtl-page-chat")
	f.noExceptions(t)
}

// On a site in a dark theme (its color-scheme meta says dark, and so does
// the visitor's system) the widgets' controls stay as drawn for their white
// dialog: an unchecked radio button is light, not the dark disc that reads
// as checked.
func TestWidgetsLightOnDarkSite(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "ru"})
	onPhone(t, f.snippetFixture)
	colorScheme(t, f.browser, "dark")
	f.page("/", phonePage(f.install, "", `<meta name="color-scheme" content="dark light"><style>:root { background: #111; color: #eee }</style>`, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('[data-kind=callback] #cs-when-later')`)
	buf, err := chromedp.Run(f.browser, chromedp.Screenshot(chromedp.JSPath(shadow+`.querySelector('#cs-when-later')`)))
	if err != nil {
		t.Fatalf("screenshot of the radio button: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	if l := luma(img, img.Bounds().Min.X+img.Bounds().Dx()/2, img.Bounds().Min.Y+img.Bounds().Dy()/2); l < 200 {
		httpdtest.SaveScreenshot(t, f.browser, "dark-site-callback")
		t.Errorf("the unchecked radio button's middle has luma %d on the white dialog, want it light (200 or more)", l)
	}
	f.noExceptions(t)
}

// luma is the brightness, 0 to 255, of img's pixel at x, y.
func luma(img image.Image, x, y int) int {
	r, g, b, _ := img.At(x, y).RGBA()
	return int((299*r + 587*g + 114*b) / 1000 >> 8)
}

// netDown is a page's script that lets a test cut the page's network:
// while window.netDown is true every request the widgets make fails as it
// does offline.
const netDown = `var realFetch = window.fetch;
window.fetch = function () { return window.netDown ? Promise.reject(new TypeError('Failed to fetch')) : realFetch.apply(this, arguments) };`

// The network drops while the visitor sends the lead form: they are told
// there is no connection (not to try "later": the callback panel's words)
// and their words stay; they close the form (Esc,
// or a tap beside it) and open it again later on the page: their words are
// still there, and sent once the network is back. A form opened after that
// is empty.
func TestWidgetLeadKeptWhenNetworkDrops(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", netDown, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead] #cs-name')`)
	f.typeInto(t, "#cs-name", "Анна")
	f.typeInto(t, "#cs-message", "Нужна доставка в Тулу к пятнице")
	eval[any](t, f.snippetFixture, `window.netDown = true`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the failure is told", `r.querySelector('.msg[role=alert]:not(:empty)') && !r.querySelector('button[type=submit]').disabled`)
	if got := f.msg(t); got != "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз." {
		t.Errorf("the visitor is told %q", got)
	}
	words := `[r.querySelector('#cs-name').value, r.querySelector('#cs-message').value].join(' | ')`
	if got := in[string](t, f, words); got != "Анна | Нужна доставка в Тулу к пятнице" {
		t.Errorf("after the failure the form holds %q", got)
	}
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)
	eval[any](t, f.snippetFixture, `window.netDown = false`)
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens again", `r.querySelector('[data-kind=lead] #cs-name')`)
	if got := in[string](t, f, words); got != "Анна | Нужна доставка в Тулу к пятнице" {
		t.Fatalf("opened again the form holds %q, want the visitor's words", got)
	}
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the lead is sent", `r.querySelector('.dialog [role=status]')`)
	if ls := siteLeads(t, f.srv, f.key); len(ls) != 1 || ls[0].Name != "Анна" || ls[0].Message != "Нужна доставка в Тулу к пятнице" {
		t.Fatalf("stored leads %+v", ls)
	}
	// The thanks' close button takes the focus a task after it is shown
	// (done, widget.js): an Esc before that reaches the page, not the
	// dialog (the sent form's button it was on is gone).
	f.waitIn(t, "the close button has the focus", `r.activeElement && r.activeElement.getAttribute('aria-describedby') == 'cs-done'`)
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens again", `r.querySelector('[data-kind=lead] #cs-name')`)
	if got := in[string](t, f, words); got != " | " {
		t.Errorf("the form opened after the lead was sent holds %q, want it empty", got)
	}
	f.noExceptions(t)
}

// The network drops while the visitor sends the callback panel with the
// captcha typed: they are told there is no connection, and what they
// typed stays, the captcha's digits and its picture too (the request never
// reached the appliance, which still holds that captcha); sent again once
// the network is back, it goes through as it is.
func TestWidgetCallbackKeptWhenNetworkDrops(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "ru"})
	f.page("/", sitePage("Магазин", netDown, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	picture := in[string](t, f, `r.querySelector('.captcha img').src`)
	f.typeInto(t, "#cs-phone", "9101234567")
	f.typeInto(t, "#cs-captcha", captchaAnswer)
	eval[any](t, f.snippetFixture, `window.netDown = true`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the failure is told", `r.querySelector('.msg[role=alert]:not(:empty)') && !r.querySelector('button[type=submit]').disabled`)
	if got := f.msg(t); got != "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз." {
		t.Errorf("the visitor is told %q", got)
	}
	if got := in[string](t, f, `[r.querySelector('#cs-phone').value, r.querySelector('#cs-captcha').value, r.querySelector('.captcha img').src == `+jsString(picture)+`].join(' | ')`); got != "+7 (910) 123-45-67 | "+captchaAnswer+" | true" {
		t.Errorf("after the failure the phone, the captcha's digits and its picture are %q, want them kept", got)
	}
	if n := len(f.siteCallbacks(t)); n != 0 {
		t.Fatalf("%d callbacks stored while the network was down", n)
	}

	eval[any](t, f.snippetFixture, `window.netDown = false`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != "Спасибо! Сейчас мы вам перезвоним." {
		t.Errorf("sent again: %q", got)
	}
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].State != store.CallbackSent || cbs[0].Phone != "79101234567" {
		t.Fatalf("stored %+v, want one sent", cbs)
	}
	f.noExceptions(t)
}

// A site whose body is transformed (a page-transition or off-canvas menu
// script's translateZ(0), a filter) makes the body, not the screen, what
// a fixed element is placed in. The visitor taps "Order a call" at the
// bottom of a long page on a phone: the callback panel is on the screen,
// the page behind it stays where the visitor had it, the close button is
// there to tap, and closed, the page is where it was and scrolls again; the
// popup with a callback's outcome is on the screen too.
func TestWidgetDialogOnTransformedBody(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	onPhone(t, f.snippetFixture)
	f.page("/", phonePage(f.install, "", `<style>body { transform: translateZ(0) }</style>`,
		`document.body.insertAdjacentHTML('beforeend', '<p style="height: 3000px">Каталог</p><button id="order" onclick="ComagicWidget.openSitePhonePanel()">Заказать звонок</button>')`))
	f.visit(t, "/")
	if got := eval[float64](t, f.snippetFixture, `(document.getElementById('order').scrollIntoView(), scrollY)`); got < 2000 {
		t.Fatalf("the page is scrolled to %v: the test does not test a button at its bottom", got)
	}
	// where the visitor sees the page: its button's place on the screen
	const at = `Math.round(document.getElementById('order').getBoundingClientRect().top)`
	before := eval[float64](t, f.snippetFixture, at)
	httpdtest.Must(t, f.browser, chromedp.Click(chromedp.ID("order")))
	f.waitIn(t, "the callback panel opens", `r.querySelector('[data-kind=callback] #cs-phone')`)
	if got := eval[float64](t, f.snippetFixture, at); got != before {
		t.Errorf("the page's button moved on the screen from %v to %v when the panel opened", before, got)
	}
	got := in[string](t, f, `(function (d, b) { var c = d.getBoundingClientRect(), x = b.getBoundingClientRect();
var top = document.elementFromPoint(x.left + x.width / 2, x.top + x.height / 2);
return (c.top >= 0 && c.bottom <= innerHeight) + ' ' + (top && top.localName == 'cs-widget' && r.elementFromPoint(x.left + x.width / 2, x.top + x.height / 2) == b) })(r.querySelector('.dialog'), r.querySelector('.dialog .close'))`)
	if got != "true true" {
		httpdtest.SaveScreenshot(t, f.browser, "dialog-off-screen")
		t.Fatalf("the panel on the screen, its close button under a finger: %s, want true true", got)
	}
	if got := f.focused(t); got != "cs-phone" {
		t.Errorf("focus on %q, want the phone field", got)
	}
	f.click(t, ".dialog .close")
	f.waitIn(t, "the panel closes", `!r.querySelector('.dialog')`)
	if got := eval[string](t, f.snippetFixture, at+` + ' ' + `+pageScrolls); got != fmt.Sprint(before)+" visible visible" {
		t.Errorf("the page after the panel closed: its button at and overflow %q, want %v visible visible", got, before)
	}
	if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "order" {
		t.Errorf("focus on %q after the panel closed, want the page's button", got)
	}
	// the popup with a callback's outcome floats on the screen too
	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: ''})`)
	f.waitIn(t, "the popup", `r.querySelector('.toast')`)
	if got := in[string](t, f, `(function (c) { return String(c.top >= 0 && c.bottom <= innerHeight) })(r.querySelector('.toast').getBoundingClientRect())`); got != "true" {
		t.Errorf("the popup on the screen: %s", got)
	}
	f.noExceptions(t)
}

// A site that scales itself up (html { zoom: 1.5 }, a desktop layout made
// bigger) scales the widgets with it: the callback panel with all its
// fields, the chat window and the popup still fit the window, their close
// buttons on it and under the pointer.
func TestWidgetsFitZoomedPage(t *testing.T) {
	f := newChatFixture(t, "ru")
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "lang": "ru", "webhook": f.pbx.srv.URL + "/callback", "captcha": "on", "groups": "1 Продажи; 2 Сервис"}, nil)
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(1280, 800))
	f.page("/", sitePage("Магазин", "", f.install, "")+`<style>html { zoom: 1.5 }</style>`)
	f.console(t, "ru")
	f.visit(t, "/")
	// fits says whether the box of sel is inside the window, and its
	// button btn is what the pointer at its middle is over
	fits := func(what, sel, btn string) {
		t.Helper()
		got := in[string](t, f.widgetFixture, `(function (n, b) { var c = n.getBoundingClientRect(), x = b.getBoundingClientRect(), px = x.left + x.width / 2, py = x.top + x.height / 2;
return [c.top >= 0 && c.left >= 0 && c.bottom <= innerHeight && c.right <= innerWidth, r.elementFromPoint(px, py) == b].join(' ') })(r.querySelector(`+jsString(sel)+`), r.querySelector(`+jsString(btn)+`))`)
		if got != "true true" {
			httpdtest.SaveScreenshot(t, f.browser, "zoomed-"+what)
			t.Errorf("%s: in the window, its close button under the pointer: %s, want true true", what, got)
		}
	}
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	f.click(t, "#cs-when-later")
	fits("the callback panel", ".dialog", ".dialog .close")
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes the panel", `!r.querySelector('.dialog')`)

	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: ''})`)
	f.waitIn(t, "the popup", `r.querySelector('.toast')`)
	fits("the popup", ".toast", ".toast .close")
	f.click(t, ".toast .close")

	f.eventually(t, "getOperatorStatus() is true", func() bool { return eval[bool](t, f.snippetFixture, `Comagic.getOperatorStatus()`) })
	eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
	f.waitIn(t, "the chat opens", `r.querySelector('section.chat') && !r.querySelector('section.chat').hidden`)
	fits("the chat window", "section.chat", "section.chat header button")
	f.noExceptions(t)
}

// The network is down when the visitor opens the callback panel, so the
// site's settings (a six-digit captcha, Russian) cannot be had and the
// panel opens without a captcha field; back online, the appliance asks for
// the captcha the visitor had no field for. The panel comes again with the
// site's settings and its captcha, the number typed kept and the captcha
// field focused and described, and the call goes.
func TestWidgetCallbackCaptchaAfterSettingsFailed(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "captcha_digits": 6, "lang": "ru"})
	f.page("/", sitePage("Магазин", netDown, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `window.netDown = true`)
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('[data-kind=callback] #cs-phone')`)
	if in[bool](t, f, `!!r.querySelector('#cs-captcha')`) {
		t.Fatal("the panel has a captcha field without the site's settings: the test does not test")
	}
	eval[any](t, f.snippetFixture, `window.netDown = false`)
	f.typeInto(t, "#cs-phone", "9101234567")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the panel comes again with its captcha", `r.querySelector('#cs-captcha') && r.querySelector('.captcha img').complete && r.querySelector('.captcha img').naturalWidth > 0`)
	for _, c := range []struct{ js, want string }{
		{`r.querySelector('#cs-phone').value`, "9101234567"},
		{`r.querySelector('#cs-captcha').placeholder`, "______"},
		{`r.querySelector('h2').textContent`, "Заказать обратный звонок"},
		{`r.activeElement && r.activeElement.id`, "cs-captcha"},
		{`r.querySelector('#cs-captcha').getAttribute('aria-describedby') + ' ' + r.querySelector('#cs-msg').textContent`, "cs-msg Введите цифры с картинки: без них звонок заказать нельзя."},
	} {
		if got := in[string](t, f, c.js); got != c.want {
			t.Errorf("%s = %q, want %q", c.js, got, c.want)
		}
	}
	f.typeInto(t, "#cs-captcha", "424242")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != "Спасибо! Сейчас мы вам перезвоним." {
		t.Errorf("outcome %q", got)
	}
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].State != store.CallbackSent || cbs[0].Phone != "79101234567" {
		t.Fatalf("stored %+v, want one sent", cbs)
	}
	f.noExceptions(t)
}
