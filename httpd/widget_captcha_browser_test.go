package httpd_test

import (
	"strconv"
	"testing"

	"appliance/httpd/httpdtest"
	"appliance/store"
)

// The callback panel of a site that asks for six-digit captchas: the
// picture and the field say six, four digits are refused in the page
// before anything is sent, and the six digits of the picture go through.
func TestWidgetSixDigitCaptcha(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "captcha_digits": 6, "lang": "ru"})
	f.page("/", sitePage("Магазин", "", f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	for _, c := range []struct{ js, want string }{
		{`r.querySelector('.captcha img').alt`, "Картинка с шестью цифрами: введите их в поле ниже. Если цифры не разобрать, нажмите «Прослушать цифры»"},
		{`r.querySelector('#cs-captcha').placeholder`, "______"},
		{`String(r.querySelector('#cs-captcha').maxLength)`, "10"},
	} {
		if got := in[string](t, f, c.js); got != c.want {
			t.Errorf("%s = %q, want %q", c.js, got, c.want)
		}
	}

	f.typeInto(t, "#cs-phone", "9101234567")
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+7 (910) 123-45-67" {
		t.Fatalf("phone typed as %q", got)
	}
	f.typeInto(t, "#cs-captcha", "4242")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "four digits are refused", `r.querySelector('.msg[role=alert]:not(:empty)')`)
	if got := f.msg(t); got != "Введите шесть цифр с картинки." {
		t.Errorf("four digits of six: %q", got)
	}
	if n := len(f.siteCallbacks(t)); n != 0 {
		t.Fatalf("%d callbacks stored from four digits", n)
	}

	f.typeInto(t, "#cs-captcha", "42")
	httpdtest.SaveScreenshot(t, f.browser, "callback-panel-six-digits")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != "Спасибо! Сейчас мы вам перезвоним." {
		t.Errorf("outcome %q", got)
	}
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].State != store.CallbackSent {
		t.Fatalf("stored %+v, want one sent", cbs)
	}
	f.noExceptions(t)
}

// The digits the captcha speaks (Listen) stop when the visitor closes the
// callback panel, and their sound is let go; so do they when the picture
// changes (↻), its digits no longer the picture's. They went on speaking
// over the page after the panel was gone.
func TestWidgetCaptchaSoundStopsWithPanel(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "en"})
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	// Every sound the page plays, kept to look at (a real Audio, playing
	// the appliance's .wav).
	eval[any](t, f.snippetFixture, `(function () { var p = HTMLMediaElement.prototype.play; window.__sounds = [];
HTMLMediaElement.prototype.play = function () { window.__sounds.push(this); return p.apply(this, arguments) } })(), 0`)
	listen := func(n int) {
		t.Helper()
		eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
		f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('.captcha img').complete && r.querySelector('.captcha img').naturalWidth > 0`)
		f.click(t, `button[aria-label="Listen to the digits"]`)
		f.eventually(t, "the digits are spoken", func() bool {
			return eval[bool](t, f.snippetFixture, `window.__sounds.length == `+strconv.Itoa(n)+` && !window.__sounds[`+strconv.Itoa(n-1)+`].paused && window.__sounds[`+strconv.Itoa(n-1)+`].currentTime > 0`)
		})
	}
	stopped := func(i int) string {
		return eval[string](t, f.snippetFixture, `(function (s) { return 'paused ' + s.paused + ', src ' + JSON.stringify(s.getAttribute('src')) })(window.__sounds[`+strconv.Itoa(i)+`])`)
	}
	const gone = `paused true, src null`

	listen(1)
	f.click(t, `button.close`)
	if got := stopped(0); got != gone {
		t.Errorf("after the panel closed, the spoken digits: %s, want %s", got, gone)
	}
	listen(2)
	f.click(t, `button[aria-label="Show another picture"]`)
	if got := stopped(1); got != gone {
		t.Errorf("after another picture, the old digits: %s, want %s", got, gone)
	}
	f.noExceptions(t)
}
