package httpd_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/store"
)

// The reference's own mask example, "1 () __-__", has room for five
// digits: no phone number fits. The callback panel takes the number as
// typed instead (the console tells the site owner why), the appliance
// accepts it, and an empty field is told in the visitor's language.
func TestWidgetCallbackPanelShortMask(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", `__cs = window.__cs || []; __cs.push(["setUIPhoneMaskFormat", "1 () __-__"]);`, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('#cs-phone')`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "an empty phone is told", `r.querySelector('.msg[role=alert]:not(:empty)')`)
	if got := f.msg(t); got != "Введите номер телефона." {
		t.Errorf("an empty phone: %q", got)
	}
	f.typeInto(t, "#cs-phone", "+7 916 123-45-67")
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+7 916 123-45-67" {
		t.Errorf("the field shows %q, want the number as typed", got)
	}
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != "Спасибо! Сейчас мы вам перезвоним." {
		t.Errorf("outcome %q", got)
	}
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].Phone != "79161234567" || cbs[0].State != store.CallbackSent {
		t.Errorf("stored %+v, want one sent to 79161234567", cbs)
	}
	if got := f.console.matching(chromedp.ConsoleWarning, `setUIPhoneMaskFormat("1 () __-__") has room for fewer than 7 digits`); len(got) == 0 {
		t.Errorf("no console warning about the mask:\n%s", f.console)
	}
	f.noExceptions(t)
}

// The Russian mask is a help for a Russian number, never a limit: a
// foreign number is left as typed (not forced into "+7 (...)") and goes,
// and so does a short one the mask cannot fill; the callback keeps each as
// the visitor typed it (one the server cannot read is for the staff to
// call back by hand, and the visitor is told so).
func TestWidgetCallbackPanelForeignNumber(t *testing.T) {
	for _, c := range []struct{ typed, outcome string }{
		{"+44 20 7946 0958", "Спасибо! Сейчас мы вам перезвоним."},
		{"доб. 12", "Спасибо! Мы получили ваш номер и перезвоним вам."},
	} {
		typed := c.typed
		t.Run(typed, func(t *testing.T) {
			f := newWidgetFixture(t, map[string]any{"lang": "ru"})
			f.page("/", sitePage("Магазин", "", f.install, ""))
			f.visit(t, "/")
			eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
			f.waitIn(t, "the callback panel opens", `r.querySelector('#cs-phone')`)
			if got := in[string](t, f, `r.querySelector('#cs-phone').placeholder`); got != "+7 (___) ___-__-__" {
				t.Fatalf("the phone field's mask is %q, want the Russian one", got)
			}
			f.typeInto(t, "#cs-phone", typed)
			if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != typed {
				t.Errorf("the field shows %q, want %q as typed", got, typed)
			}
			f.click(t, "button[type=submit]")
			f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
			if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != c.outcome {
				t.Errorf("outcome %q, want %q", got, c.outcome)
			}
			if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].PhoneRaw != typed {
				t.Errorf("stored %+v, want one callback to %q as typed", cbs, typed)
			}
			f.noExceptions(t)
		})
	}
}
