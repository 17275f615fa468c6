package httpd_test

// Browser tests of the built-in widgets and the callback API: a site on
// another origin than the appliance installs the snippet, a visitor opens
// its pages in headless chromium, and the tests type, click and read as the
// visitor would, inside the widgets' shadow root.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/callbacks"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// hostileCSS is what a careless site's stylesheet may do to every element;
// none of it may reach the widgets.
const hostileCSS = `<style>
input, button, label, div, form, h2, p, select, textarea, img { all: unset !important; color: red !important;
  font-size: 40px !important; visibility: hidden !important; }
</style>`

// widgetFixture is a snippetFixture with solvable captchas, a PBX taking
// the site's callbacks, and helpers for the shadow root.
type widgetFixture struct {
	*snippetFixture
	pbx *pbx
}

func newWidgetFixture(t *testing.T, settings map[string]any, opts ...func(*httpd.Options)) *widgetFixture {
	t.Helper()
	f := &widgetFixture{snippetFixture: newSnippetFixture(t, append([]func(*httpd.Options){httpdtest.AllowPrivate, captchaDigits}, opts...)...)}
	f.pbx = newPBX(t)
	settings["site_key"] = f.key
	if _, ok := settings["webhook"]; !ok {
		settings["webhook"] = f.pbx.srv.URL + "/callback"
	}
	var info admin.CallbackSettings
	adminCall(t, f.srv, "/admin/callbacks", settings, &info)
	f.pbx.secret = info.Secret
	return f
}

// shadow is a JS expression for the widgets' shadow root.
const shadow = `document.querySelector('cs-widget').shadowRoot`

// in evaluates js with r bound to the widgets' shadow root.
func in[T any](t *testing.T, f *widgetFixture, js string) T {
	t.Helper()
	return eval[T](t, f.snippetFixture, `(function (r) { return `+js+` })(`+shadow+`)`)
}

// waitIn waits until the expression over r (the shadow root) is true.
func (f *widgetFixture) waitIn(t *testing.T, what, js string) {
	t.Helper()
	f.eventually(t, what, func() bool {
		return eval[bool](t, f.snippetFixture, `(function () { var h = document.querySelector('cs-widget'); var r = h && h.shadowRoot;
return !!(r && (`+js+`)) })()`)
	})
}

// typeInto focuses a field of the shadow root and types keys into it as
// key presses.
func (f *widgetFixture) typeInto(t *testing.T, sel, keys string) {
	t.Helper()
	httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('`+sel+`')`)), chromedp.KeyEvent(keys))
}

// click clicks an element of the shadow root with the mouse.
func (f *widgetFixture) click(t *testing.T, sel string) {
	t.Helper()
	httpdtest.Must(t, f.browser, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('`+sel+`')`)))
}

// focused is the id of the element focused inside the shadow root.
func (f *widgetFixture) focused(t *testing.T) string {
	t.Helper()
	return in[string](t, f, `document.activeElement && document.activeElement.tagName == 'CS-WIDGET' && r.activeElement ? r.activeElement.id || r.activeElement.className : 'outside'`)
}

// msg is the text of the dialog's outcome.
func (f *widgetFixture) msg(t *testing.T) string {
	t.Helper()
	return in[string](t, f, `(r.querySelector('.dialog .msg') || {}).textContent || ''`)
}

func (f *widgetFixture) siteCallbacks(t *testing.T) []store.Callback {
	t.Helper()
	c := &cbFixture{srv: f.srv, site: f.site}
	return c.callbacks(t)
}

// The callback panel in Russian: the site's default mask on typed digits,
// the captcha picture, the group select, the page's CSS kept out, focus
// inside; submitting it has the PBX call the number now.
func TestWidgetCallbackPanelRU(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "ru", "groups": "16587 Продажи; 16588 Сервис"})
	f.page("/", sitePage("Магазин", "", f.install, "")+hostileCSS)
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('[data-kind=callback] img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)

	if got := in[string](t, f, `r.querySelector('h2').textContent`); got != "Заказать обратный звонок" {
		t.Errorf("title %q", got)
	}
	if got := f.focused(t); got != "cs-phone" {
		t.Errorf("focus on %q, want the phone field", got)
	}
	for _, c := range []struct{ js, want string }{
		{`getComputedStyle(r.querySelector('h2')).visibility`, "visible"},
		{`getComputedStyle(r.querySelector('#cs-phone')).fontSize`, "16px"}, // the widget's own, not the page's: a phone does not zoom into it
		{`getComputedStyle(r.querySelector('.primary')).color`, "rgb(255, 255, 255)"},
		{`r.querySelector('label[for=cs-phone]').textContent`, "Телефон"},
		{`r.querySelector('.dialog').getAttribute('role') + ' ' + r.querySelector('.dialog').getAttribute('aria-modal')`, "dialog true"},
		{`r.querySelector('#cs-phone').placeholder`, "+7 (___) ___-__-__"},
		{`Array.from(r.querySelectorAll('#cs-group option')).map(o => o.value + '=' + o.textContent).join(';')`, "=Любой;16587=Продажи;16588=Сервис"},
	} {
		if got := in[string](t, f, c.js); got != c.want {
			t.Errorf("%s = %q, want %q", c.js, got, c.want)
		}
	}

	f.typeInto(t, "#cs-phone", "8910123456")
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+7 (891) 012-34-56" {
		t.Errorf("mask after 10 digits: %q", got)
	}
	httpdtest.Must(t, f.browser, chromedp.KeyEvent("7"))
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+7 (910) 123-45-67" {
		t.Errorf("mask after a Russian 8 and 10 more digits: %q", got)
	}
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Backspace+kb.Backspace+"67"))
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+7 (910) 123-45-67" {
		t.Errorf("mask after erasing and retyping: %q", got)
	}
	in[any](t, f, `(r.querySelector('#cs-group').value = '16588', r.querySelector('#cs-group').dispatchEvent(new Event('change')))`)
	f.typeInto(t, "#cs-captcha", captchaAnswer)
	httpdtest.SaveScreenshot(t, f.browser, "callback-panel-ru")

	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != "Спасибо! Сейчас мы вам перезвоним." {
		t.Errorf("outcome %q", got)
	}
	httpdtest.SaveScreenshot(t, f.browser, "callback-panel-ru-sent")
	cbs := f.siteCallbacks(t)
	if len(cbs) != 1 || cbs[0].State != store.CallbackSent || cbs[0].Phone != "79101234567" || cbs[0].PhoneRaw != "+7 (910) 123-45-67" ||
		cbs[0].GroupID != 16588 || cbs[0].PageURL != f.web || cbs[0].Delayed != 0 {
		t.Fatalf("stored %+v", cbs)
	}
	if b, ok := f.pbx.body(cbs[0].ID); !ok || b.Data.Phone != "79101234567" || b.Data.GroupName != "Сервис" {
		t.Errorf("the pbx got %+v", b)
	}

	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Escape))
	f.waitIn(t, "Esc closes the panel", `!r.querySelector('.dialog')`)
	f.noExceptions(t)
}

// The callback panel in English with the page's own mask: a wrong captcha
// is told and replaced by a new picture, the right one goes through, and a
// call for later is scheduled for the picked time.
func TestWidgetCallbackPanelENLater(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "en"})
	f.page("/", sitePage("Shop", `__cs = window.__cs || []; __cs.push(["setUIPhoneMaskFormat", "+1 (___) ___-____"]);`, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	if got := in[string](t, f, `r.querySelector('h2').textContent + ' / ' + r.querySelector('.wrap').lang`); got != "Request a callback / en" {
		t.Errorf("title %q", got)
	}
	if got := in[bool](t, f, `r.querySelector('#cs-group') === null`); !got {
		t.Errorf("a group select with no groups set")
	}
	f.click(t, "button[type=submit]")
	f.waitIn(t, "an empty phone is told", `r.querySelector('.msg[role=alert]:not(:empty)')`)
	if got := f.msg(t); got != "Enter your phone number." {
		t.Errorf("empty phone: %q", got)
	}
	f.typeInto(t, "#cs-phone", "2025550143")
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+1 (202) 555-0143" {
		t.Errorf("mask: %q", got)
	}
	first := in[string](t, f, `r.querySelector('img').src`)
	f.typeInto(t, "#cs-captcha", "1111")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the wrong captcha is told", `r.querySelector('.msg').textContent.indexOf('digits') >= 0`)
	if got := f.msg(t); got != "The digits do not match the picture. Please try again." {
		t.Errorf("wrong captcha: %q", got)
	}
	f.waitIn(t, "a new captcha picture", `r.querySelector('img').src && r.querySelector('img').src != `+jsString(first)+` && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	if got := f.focused(t); got != "cs-captcha" {
		t.Errorf("focus on %q after a wrong captcha, want the captcha field", got)
	}

	f.click(t, "#cs-when-later")
	at := in[float64](t, f, `(function () { var i = r.querySelector('#cs-time'); var d = new Date(Date.now() + 3 * 3600e3); d.setSeconds(0, 0);
var p = n => (n < 10 ? '0' : '') + n; i.value = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
i.dispatchEvent(new Event('input')); return d.getTime(); })()`)
	f.typeInto(t, "#cs-captcha", captchaAnswer)
	httpdtest.SaveScreenshot(t, f.browser, "callback-panel-en")
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Enter))
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); !strings.HasPrefix(got, "Thank you! We will call you ") {
		t.Errorf("outcome %q", got)
	}
	cbs := f.siteCallbacks(t)
	if len(cbs) != 1 || cbs[0].State != store.CallbackPending || cbs[0].Delayed != int64(at) || cbs[0].Phone != "12025550143" {
		t.Fatalf("stored %+v, want one pending at %d", cbs, int64(at))
	}
	if got := f.pbx.calls(); len(got) != 0 {
		t.Errorf("a call for later was sent now: %v", got)
	}
	f.noExceptions(t)
}

// The lead form, in both languages: opened from the page's own button by
// the visitor's click, focus kept inside (Tab and Shift+Tab cycle), filled
// by typing, sent with Enter; a refused lead is told; Esc closes and gives
// the focus back to the button. openChatWindow opens it too, as no
// operator is online.
func TestWidgetLeadForm(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) {
			f := newWidgetFixture(t, map[string]any{"lang": lang})
			f.page("/", sitePage("Shop", "", f.install, "")+hostileCSS+
				`<button id="open" onclick="Comagic.openSiteRequestPanel()" style="visibility:visible!important;all:revert!important">Write to us</button>`)
			f.visit(t, "/")
			httpdtest.Must(t, f.browser, chromedp.Click(chromedp.ID("open")))
			f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
			want := map[string]string{"ru": "Оставить заявку", "en": "Send us a request"}[lang]
			if got := in[string](t, f, `r.querySelector('h2').textContent`); got != want {
				t.Errorf("title %q, want %q", got, want)
			}
			if got := f.focused(t); got != "cs-name" {
				t.Errorf("focus on %q, want the name field", got)
			}
			// Tab goes round inside: close button, name, phone, email, message, send.
			seen := map[string]bool{}
			for range 7 {
				httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Tab))
				seen[f.focused(t)] = true
			}
			if seen["outside"] || len(seen) != 6 {
				t.Errorf("Tab visited %v, want the six controls of the form and nothing outside", seen)
			}
			httpdtest.Must(t, f.browser, chromedp.Focus(chromedp.JSPath(shadow+`.querySelector('#cs-name')`)))
			httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
			if got := f.focused(t); got != "close" {
				t.Errorf("Shift+Tab from the name field went to %q", got)
			}
			httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
			if got := f.focused(t); got != "primary" {
				t.Errorf("Shift+Tab from the first control went to %q, want the last", got)
			}

			// An empty form is not sent; anything typed is (a typo in an email
			// is kept and flagged by the server, never a lost lead).
			f.typeInto(t, "#cs-name", "  ")
			httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Enter))
			f.waitIn(t, "the empty form is refused", `r.querySelector('.msg[role=alert]') && r.querySelector('.msg').textContent`)
			if got, want := f.msg(t), map[string]string{"ru": "Укажите имя, телефон или эл. почту либо напишите сообщение.",
				"en": "Give your name, phone or email, or write a message."}[lang]; got != want {
				t.Errorf("empty form: %q, want %q", got, want)
			}
			in[any](t, f, `(r.querySelector('#cs-name').value = '', 0)`)
			f.typeInto(t, "#cs-name", "Анна")
			f.typeInto(t, "#cs-email", "anna@example.com")
			f.typeInto(t, "#cs-phone", "+7 910 123-45-67")
			f.typeInto(t, "#cs-message", "Перезвоните после обеда")
			httpdtest.SaveScreenshot(t, f.browser, "lead-form-"+lang)
			f.click(t, "button[type=submit]")
			f.waitIn(t, "the lead is sent", `r.querySelector('.dialog [role=status]')`)
			if got, want := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`),
				map[string]string{"ru": "Спасибо! Заявка отправлена, мы скоро свяжемся с вами.", "en": "Thank you! Your request was sent; we will be in touch soon."}[lang]; got != want {
				t.Errorf("outcome %q, want %q", got, want)
			}
			ls := siteLeads(t, f.srv, f.key)
			if len(ls) != 1 || ls[0].Name != "Анна" || ls[0].Email != "anna@example.com" || ls[0].Phone != "79101234567" ||
				ls[0].Message != "Перезвоните после обеда" || ls[0].PageURL != f.web || ls[0].FormName == "" {
				t.Fatalf("stored leads %+v", ls)
			}

			httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Escape))
			f.waitIn(t, "Esc closes the form", `!r.querySelector('.dialog')`)
			if got := eval[string](t, f.snippetFixture, `document.activeElement.id`); got != "open" {
				t.Errorf("focus went back to %q, want the page's button", got)
			}
			eval[any](t, f.snippetFixture, `Comagic.openChatWindow()`)
			f.waitIn(t, "openChatWindow opens the lead form", `r.querySelector('[data-kind=lead]')`)
			f.noExceptions(t)
		})
	}
}

// sitePhoneCall from the page's own form, through every status of the
// reference, with the captcha of get_captcha (its picture loads in the
// page); without a callback the built-in popup tells the visitor.
func TestWidgetSitePhoneCall(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"webhook": "", "lang": "ru"}, func(o *httpd.Options) { o.Callbacks.VisitorLimit, o.Callbacks.IPLimit = 100, 100 })
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	call := func(params string) map[string]any {
		t.Helper()
		return callback(t, f.snippetFixture, `ComagicWidget.sitePhoneCall(`+params+`, cb)`)
	}
	want := func(what string, got map[string]any, status int, code string) {
		t.Helper()
		res, _ := got["result"].(map[string]any)
		if res == nil || res["status"] != float64(status) || res["code"] != code || got["success"] != (status == 0) {
			t.Errorf("%s: %v, want status %d (%s)", what, got, status, code)
		}
	}
	want("no scenario", call(`{phone: '79101234567'}`), callbacks.StatusAccepted, callbacks.CodeQueued)
	// Without a cb the popup says the call will come, in the site's language.
	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567'})`)
	f.waitIn(t, "the queued popup shows", `r.querySelector('.toast')`)
	if got := in[string](t, f, `r.querySelector('.toast').textContent + '|' + r.querySelector('.sr[aria-live=polite]').textContent`); got != "Спасибо! Мы получили ваш номер и перезвоним вам.×|Спасибо! Мы получили ваш номер и перезвоним вам." {
		t.Errorf("queued popup %q", got)
	}
	in[any](t, f, `(r.querySelector('.toast').remove(), 0)`)
	// Status 2, no callback scenario: the site keeps no queue for its staff.
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "queue": "off"}, nil)
	want("no scenario, queue off", call(`{phone: '79101234567', group_id: 16587}`), callbacks.StatusNoScenario, callbacks.CodeNoScenario)
	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567'})`)
	f.waitIn(t, "the no-scenario popup shows", `r.querySelector('.toast')`)
	if got := in[string](t, f, `r.querySelector('.toast').textContent`); got != "Обратный звонок на этом сайте пока не настроен.×" {
		t.Errorf("no-scenario popup %q", got)
	}
	in[any](t, f, `(r.querySelector('.toast').remove(), 0)`)

	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "webhook": f.pbx.srv.URL, "secret": "pbx-secret-0123456789", "captcha": "on"}, nil)
	f.pbx.secret = "pbx-secret-0123456789"
	c := callback(t, f.snippetFixture, `Comagic.Captcha.get_captcha(cb)`)
	key, _ := c["key"].(string)
	u, _ := c["url"].(string)
	if len(c) != 2 || key == "" || !strings.HasPrefix(u, f.srv.URL+"t/v1/captcha/") {
		t.Fatalf("get_captcha answered %v", c)
	}
	if w := eval[int](t, f.snippetFixture, `new Promise(function (r) { var i = new Image(); i.onload = function () { r(i.naturalWidth) };
i.onerror = function () { r(-1) }; i.src = `+jsString(u)+` })`); w != 240 {
		t.Errorf("the captcha picture loaded %d pixels wide, want 240", w)
	}
	want("no captcha", call(`{phone: '79101234567'}`), callbacks.StatusWrongCaptcha, callbacks.CodeCaptchaRequired)
	want("wrong captcha", call(`{captcha_key: `+jsString(key)+`, captcha_value: '0000', phone: '79101234567'}`), callbacks.StatusWrongCaptcha, callbacks.CodeWrongCaptcha)
	c = callback(t, f.snippetFixture, `Comagic.Captcha.get_captcha(cb)`)
	want("right captcha", call(`{captcha_key: '`+c["key"].(string)+`', captcha_value: '4242', phone: '79101234567', group_id: '16587'}`),
		callbacks.StatusAccepted, callbacks.CodeCalling)

	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "captcha": "off"}, nil)
	later := time.Now().Add(2 * time.Hour).UnixMilli()
	want("delayed", call(`{phone: '79101234567', delayed_call_time: `+strconv.FormatInt(later, 10)+`}`), callbacks.StatusAccepted, callbacks.CodeScheduled)
	f.pbx.setStatus(http.StatusBadGateway)
	want("pbx failing", call(`{phone: '79101234567'}`), callbacks.StatusFailed, callbacks.CodeTelephonyFailed)
	f.pbx.srv.Close()
	want("pbx down", call(`{phone: '79101234567'}`), callbacks.StatusFailed, callbacks.CodeTelephonyFailed)
	if cb := f.siteCallbacks(t)[0]; cb.State != store.CallbackFailed || cb.LastError == "" {
		t.Errorf("the callback to a pbx that is down is kept as %+v", cb)
	}
	p2 := newPBX(t)
	p2.secret = "pbx-secret-0123456789"
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "webhook": p2.srv.URL}, nil)
	// each call another number: the same one again would be a repeat of
	// the call before (leads.RepeatWindow), answered as it but not stored
	for i := len(f.siteCallbacks(t)); i < 10; i++ {
		want("call "+strconv.Itoa(i+1), call(`{phone: 7910123450`+strconv.Itoa(i)+`}`), callbacks.StatusAccepted, callbacks.CodeCalling)
	}
	want("11th call in a minute", call(`{phone: '79101234567'}`), callbacks.StatusLimit, callbacks.CodeSiteLimit)
	if n := len(f.siteCallbacks(t)); n != 10 {
		t.Errorf("%d callbacks stored, want 10", n)
	}
	got := call(`{}`)
	if msg, _ := got["error"].(string); got["success"] != false || !strings.Contains(msg, "phone is required") {
		t.Errorf("no phone: %v", got)
	}
	want("no phone", got, callbacks.StatusFailed, callbacks.CodeInvalidPhone)
	// A page's code written for the reference reads resp.result on a
	// failure too, without a TypeError.
	for js, want := range map[string]string{
		`ComagicWidget.sitePhoneCall({phone: '` + strings.Repeat("1", 65) + `'}, function (resp) { try { r(resp.result.status + ' ' + resp.result.code) } catch (e) { r(String(e)) } })`: "3 invalid_phone",
		`Comagic.addOfflineRequest({name: ' '}, function (resp) { try { r(resp.success + ' ' + resp.result.code) } catch (e) { r(String(e)) } })`:                                        "false empty_lead",
	} {
		if got := eval[string](t, f.snippetFixture, `new Promise(function (r) { `+js+` })`); got != want {
			t.Errorf("%s: %q, want %q", js, got, want)
		}
	}

	// No callback: the popup tells the visitor, in the site's language.
	eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567'})`)
	f.waitIn(t, "the popup shows", `r.querySelector('.toast')`)
	if got := in[string](t, f, `r.querySelector('.toast').textContent + '|' + r.querySelector('.sr[aria-live=assertive] div:last-child').textContent`); got != "Слишком много звонков за последнее время. Попробуйте через несколько минут.×|Слишком много звонков за последнее время. Попробуйте через несколько минут." {
		t.Errorf("popup %q", got)
	}
	httpdtest.SaveScreenshot(t, f.browser, "popup-ru")

	// A refused request is told in the widget's own words for its code,
	// never with the server's English error; on a captcha site a call
	// without a captcha says that one is needed, not that it was wrong.
	toast := func(what, js, want string) {
		t.Helper()
		eval[any](t, f.snippetFixture, js)
		f.waitIn(t, what, `r.querySelector('.toast') && r.querySelector('.toast').textContent.indexOf(`+jsString(want)+`) == 0`)
		if got := in[string](t, f, `r.querySelector('.toast').textContent`); strings.ContainsAny(got, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("%s: popup %q has the server's words", what, got)
		}
	}
	toast("a phone too long", `ComagicWidget.sitePhoneCall({phone: '`+strings.Repeat("1", 65)+`'})`, "Проверьте номер телефона: он не указан или слишком длинный.")
	adminCall(t, f.srv, "/admin/callbacks", map[string]any{"site_key": f.key, "captcha": "on"}, nil)
	toast("no captcha", `ComagicWidget.sitePhoneCall({phone: '79101234567'})`, "Введите цифры с картинки: без них звонок заказать нельзя.")
	f.noExceptions(t)
}

// In English too, a refused or queued call is told in the widget's own
// words for its code: never the server's error.
func TestWidgetCodesEnglish(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"webhook": "", "lang": "en"})
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	for _, tc := range []struct{ what, js, want string }{
		{"a phone too long", `ComagicWidget.sitePhoneCall({phone: '` + strings.Repeat("1", 65) + `'})`, "Check the phone number: it is empty or too long."},
		{"queued", `ComagicWidget.sitePhoneCall({phone: '79101234567'})`, "Thank you! We have your number and will call you back."},
	} {
		eval[any](t, f.snippetFixture, tc.js)
		f.waitIn(t, tc.what, `r.querySelector('.toast') && r.querySelector('.toast').textContent.indexOf(`+jsString(tc.want)+`) == 0`)
		in[any](t, f, `(r.querySelector('.toast').remove(), 0)`)
	}
	f.noExceptions(t)
}

// sitePhoneCall for later without a callback: the popup names the time the
// call was scheduled for, also when delayed_call_time is text, the type
// the reference gives it ("1508927547000"), as a page that reads it from a
// form field sends it.
func TestWidgetSitePhoneCallLaterPopup(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "en"})
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	later := time.Now().Add(2*time.Hour).UnixMilli() / 60000 * 60000
	when := eval[string](t, f.snippetFixture, `new Date(`+strconv.FormatInt(later, 10)+`).toLocaleString("en-GB", {dateStyle: "long", timeStyle: "short"})`)
	want := "Thank you! We will call you " + when + "."
	for _, arg := range []string{strconv.FormatInt(later, 10), `'` + strconv.FormatInt(later, 10) + `'`} {
		eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567', delayed_call_time: `+arg+`})`)
		f.waitIn(t, "the popup of "+arg, `r.querySelector('.toast')`)
		if got := in[string](t, f, `r.querySelector('.toast').textContent`); got != want+"×" {
			t.Errorf("delayed_call_time %s: popup %q, want %q", arg, got, want)
		}
		in[any](t, f, `(r.querySelector('.toast').remove(), 0)`)
	}
	// The second, the same call for the same time, is a repeat of the
	// first (leads.RepeatWindow): told as it was, not stored again.
	if n := len(f.siteCallbacks(t)); n != 1 {
		t.Errorf("%d callbacks stored, want 1", n)
	}
	f.noExceptions(t)
}

// On a page whose URL is longer than the appliance keeps (2048 bytes: an
// ad's long query string), sitePhoneCall and the built-in lead form are
// taken as on any page, with the URL cut as the page view's is; the
// appliance refuses a longer one, which refused the visitor's request.
func TestWidgetLongPageURL(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "en"})
	f.page("/", sitePage("Shop", "", f.install, ""))
	long := "?utm_source=ads&q=" + strings.Repeat("a", 2100)
	f.visit(t, "/"+long)
	got := callback(t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567'}, cb)`)
	if res, _ := got["result"].(map[string]any); got["success"] != true || res["status"] != float64(callbacks.StatusAccepted) {
		t.Errorf("sitePhoneCall on a page with a long URL: %v", got)
	}
	cbs := f.siteCallbacks(t)
	if len(cbs) != 1 || len(cbs[0].PageURL) != 2048 || !strings.HasPrefix(f.web+long, cbs[0].PageURL) {
		t.Errorf("stored callbacks %+v, want one with the page URL cut to 2048 bytes", cbs)
	}

	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	f.typeInto(t, "#cs-name", "Anna")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the form answers", `r.querySelector('.dialog [role=status], .dialog .msg[role=alert]:not(:empty)')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status], .dialog .msg[role=alert]:not(:empty)').textContent`); got != "Thank you! Your message was sent." {
		t.Errorf("the lead form on a page with a long URL says %q", got)
	}
	ls := siteLeads(t, f.srv, f.key)
	if len(ls) != 1 || ls[0].Name != "Anna" || len(ls[0].PageURL) != 2048 || !strings.HasPrefix(f.web+long, ls[0].PageURL) {
		t.Errorf("stored leads %+v, want Anna's with the page URL cut to 2048 bytes", ls)
	}
	f.noExceptions(t)
}

// The lead form's fields take as many characters as the appliance takes
// bytes; a message in Cyrillic (two bytes a letter) longer than the
// appliance keeps is not sent to be refused with "could not send, try
// later", which no retry mends: the form says which field to shorten, and
// sends it once shortened.
func TestWidgetLeadFormTooLong(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead]')`)
	f.typeInto(t, "#cs-name", "Анна")
	in[any](t, f, `(r.querySelector('#cs-message').value = 'я'.repeat(2100), 0)`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the form answers", `r.querySelector('.dialog [role=status], .dialog .msg[role=alert]:not(:empty)')`)
	if got, want := f.msg(t), "Слишком длинный текст в поле «Сообщение»: сократите его."; got != want {
		t.Errorf("a message of 4200 bytes: %q, want %q", got, want)
	}
	if got := f.focused(t); got != "cs-message" {
		t.Errorf("focus on %q, want the message", got)
	}
	in[any](t, f, `(r.querySelector('#cs-message').value = 'я'.repeat(2048), 0)`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the lead is sent", `r.querySelector('.dialog [role=status]')`)
	ls := siteLeads(t, f.srv, f.key)
	if len(ls) != 1 || ls[0].Name != "Анна" || ls[0].Message != strings.Repeat("я", 2048) {
		t.Errorf("%d leads stored, want Анна's with the shortened message", len(ls))
	}
	f.noExceptions(t)
}
