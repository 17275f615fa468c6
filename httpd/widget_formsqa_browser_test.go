package httpd_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
)

// inView is a JS expression over r (the shadow root): whether the form's
// message has text and it and the focused field are both inside the
// dialog's visible part and the window.
const inView = `(function () {
  var d = r.querySelector('.dialog').getBoundingClientRect();
  var seen = function (n) { var b = n.getBoundingClientRect(); return b.height > 0 && b.top >= d.top - 0.5 && b.bottom <= d.bottom + 0.5 && b.bottom <= innerHeight + 0.5 };
  var m = r.querySelector('.msg');
  return !!(m.textContent && r.activeElement && seen(m) && seen(r.activeElement));
})()`

// On a phone whose on-screen keyboard is up (a window 330 px high), an
// empty lead form sent with Enter scrolls the name field into view and
// marks the fields; the visitor also reads why, beside the field, not
// below the button off the screen. So in the callback panel with its
// captcha, a group and a call for later, taller than a phone's screen:
// the empty phone is told next to the phone field.
func TestWidgetRefusalInViewOnPhone(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "ru", "groups": "16587 Продажи; 16588 Сервис"})
	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(375, 330, chromedp.EmulateScale(2), chromedp.EmulateTouch, chromedp.EmulateMobile))
	f.page("/", phonePage(f.install, "", "", ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead] #cs-name') && r.activeElement`)
	f.press(t, kb.Enter)
	f.waitIn(t, "the empty form is told", `r.querySelector('.msg').textContent`)
	httpdtest.SaveScreenshot(t, f.browser, "lead-empty-keyboard-up")
	if got := f.focused(t); got != "cs-name" {
		t.Errorf("focus on %q, want the name field", got)
	}
	if !in[bool](t, f, inView) {
		t.Errorf("the message %q or the name field is off the screen: message at %s, dialog at %s", f.msg(t),
			in[string](t, f, `JSON.stringify(r.querySelector('.msg').getBoundingClientRect())`), in[string](t, f, `JSON.stringify(r.querySelector('.dialog').getBoundingClientRect())`))
	}
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)

	httpdtest.Must(t, f.browser, chromedp.EmulateViewport(375, 667, chromedp.EmulateScale(2), chromedp.EmulateTouch, chromedp.EmulateMobile))
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('[data-kind=callback] #cs-phone')`)
	f.click(t, "#cs-when-later")
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('#cs-phone')`)))
	f.press(t, kb.Enter)
	f.waitIn(t, "the empty phone is told", `r.querySelector('.msg').textContent`)
	httpdtest.SaveScreenshot(t, f.browser, "callback-empty-phone")
	if got := f.focused(t); got != "cs-phone" {
		t.Errorf("focus on %q, want the phone field", got)
	}
	if !in[bool](t, f, inView) {
		t.Errorf("the message %q or the phone field is off the screen", f.msg(t))
	}
	f.noExceptions(t)
}

// The network drops and the visitor asks for another captcha picture: the
// panel does not just show an empty frame, it says there is no connection;
// back online, ↻ brings a picture and the message goes.
func TestWidgetCaptchaRefreshOffline(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "en"})
	f.page("/", sitePage("Shop", netDown, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	loaded := `r.querySelector('.captcha img').src && r.querySelector('.captcha img').complete && r.querySelector('.captcha img').naturalWidth > 0`
	f.waitIn(t, "the callback panel opens with its captcha", loaded)
	eval[any](t, f.snippetFixture, `window.netDown = true`)
	f.click(t, ".captcha button")
	f.waitIn(t, "the failure is told", `r.querySelector('.msg').textContent`)
	httpdtest.SaveScreenshot(t, f.browser, "captcha-offline")
	if got := f.msg(t); got != "Could not reach the server. Check your connection and try again." {
		t.Errorf("no picture: the visitor is told %q", got)
	}
	eval[any](t, f.snippetFixture, `window.netDown = false`)
	f.click(t, ".captcha button")
	f.waitIn(t, "a new picture", loaded)
	if got := f.msg(t); got != "" {
		t.Errorf("with a picture again the panel still says %q", got)
	}
	f.noExceptions(t)
}

// holdSends is a page script, run before the install code, that holds the
// snippet's lead and callback requests while window.hold is set, until the
// test calls window.release(ok): sent on (ok) or failed as a dropped
// network fails them. The visitor acts while a request is out, with no
// timing involved.
const holdSends = `var realFetch = window.fetch; var heldSends = [];
window.fetch = function (u) { var args = arguments, self = this;
  if (!window.hold || !/t\/v1\/(lead|callback)$/.test(String(u))) return realFetch.apply(self, args);
  return new Promise(function (ok, fail) { heldSends.push(function (go) { go ? realFetch.apply(self, args).then(ok, fail) : fail(new TypeError('Failed to fetch')) }) }) };
window.held = function () { return heldSends.length };
window.release = function (go) { window.hold = false; heldSends.splice(0).forEach(function (f) { f(go) }) };`

// A visitor sends the lead form and closes it (Esc) while it is still
// sending: when the request fails, the popup says it did not go (and the
// form opened again has their words); when it goes, the popup says so.
// Before, nothing was said either way. So with the callback panel.
func TestWidgetClosedWhileSendingIsTold(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", holdSends, f.install, ""))
	f.visit(t, "/")
	send := func(open, field, words string) {
		t.Helper()
		eval[any](t, f.snippetFixture, open)
		f.waitIn(t, "the form opens", `r.querySelector('.dialog #`+field+`')`)
		f.typeInto(t, "#"+field, words)
		eval[any](t, f.snippetFixture, `window.hold = true`)
		f.click(t, "button[type=submit]")
		f.eventually(t, "the request is held", func() bool { return eval[float64](t, f.snippetFixture, `window.held()`) == 1 })
		f.press(t, kb.Escape)
		f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)
	}
	toast := `(r.querySelector('.toast') || {}).textContent || ''`

	send(`Comagic.openSiteRequestPanel()`, "cs-message", "Нужна доставка")
	eval[any](t, f.snippetFixture, `window.release(false)`)
	f.waitIn(t, "the popup tells", `r.querySelector('.toast')`)
	httpdtest.SaveScreenshot(t, f.browser, "lead-closed-failed")
	if got := in[string](t, f, toast); got != "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.×" {
		t.Errorf("a lead that failed after the form closed: the popup says %q", got)
	}
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the form opens", `r.querySelector('.dialog #cs-message')`)
	if got := in[string](t, f, `r.querySelector('#cs-message').value`); got != "Нужна доставка" {
		t.Errorf("the form opened again holds %q", got)
	}
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)
	in[any](t, f, `(r.querySelector('.toast').remove(), 0)`)

	send(`Comagic.openSiteRequestPanel()`, "cs-name", "Анна")
	eval[any](t, f.snippetFixture, `window.release(true)`)
	f.waitIn(t, "the popup tells", `r.querySelector('.toast')`)
	if got := in[string](t, f, toast); got != "Спасибо! Сообщение отправлено.×" {
		t.Errorf("a lead sent after the form closed: the popup says %q", got)
	}
	if ls := siteLeads(t, f.srv, f.key); len(ls) != 1 || ls[0].Message != "Нужна доставка" || ls[0].Name != "Анна" {
		t.Errorf("stored leads %+v", ls)
	}
	in[any](t, f, `(r.querySelector('.toast').remove(), 0)`)

	send(`ComagicWidget.openSitePhonePanel()`, "cs-phone", "9101234567")
	eval[any](t, f.snippetFixture, `window.release(false)`)
	f.waitIn(t, "the popup tells", `r.querySelector('.toast')`)
	if got := in[string](t, f, toast); got != "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.×" {
		t.Errorf("a callback that failed after the panel closed: the popup says %q", got)
	}
	f.noExceptions(t)
}

// While the lead form is sending, its button is disabled; the focus it had
// stays in the dialog (not on the page's body, where Esc did not reach the
// dialog: a keyboard could not close it until the answer came).
func TestWidgetEscWhileSending(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "en"})
	f.page("/", sitePage("Shop", holdSends, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the form opens", `r.querySelector('.dialog #cs-name')`)
	f.typeInto(t, "#cs-name", "Ann")
	eval[any](t, f.snippetFixture, `window.hold = true`)
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('button[type=submit]')`)))
	f.press(t, kb.Enter)
	f.eventually(t, "the lead is held", func() bool { return eval[float64](t, f.snippetFixture, `window.held()`) == 1 })
	if got := f.focused(t); got == "outside" {
		t.Errorf("while sending the focus is outside the dialog")
	}
	f.press(t, kb.Escape)
	f.waitIn(t, "Esc closes the form while it sends", `!r.querySelector('.dialog')`)
	eval[any](t, f.snippetFixture, `window.release(true)`)
	f.eventually(t, "the lead is stored", func() bool { return len(siteLeads(t, f.srv, f.key)) == 1 })
	f.noExceptions(t)
}
