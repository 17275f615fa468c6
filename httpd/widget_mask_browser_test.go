package httpd_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
	"appliance/store"
)

// The reference's own mask example, "1 () __-__", has room for five
// digits: no phone number fits. The callback panel takes the number as
// typed instead (the console tells the site owner why), the appliance
// accepts it, and a number too short is told in the visitor's language.
func TestWidgetCallbackPanelShortMask(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", `__cs = window.__cs || []; __cs.push(["setUIPhoneMaskFormat", "1 () __-__"]);`, f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('#cs-phone')`)
	f.typeInto(t, "#cs-phone", "12")
	f.click(t, "button[type=submit]")
	f.waitIn(t, "a short number is told", `r.querySelector('.msg[role=alert]')`)
	if got := f.msg(t); got != "Введите номер телефона полностью." {
		t.Errorf("a two-digit number: %q", got)
	}
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Backspace+kb.Backspace+"+7 916 123-45-67"))
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "+7 916 123-45-67" {
		t.Errorf("the field shows %q, want the number as typed", got)
	}
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if got := in[string](t, f, `r.querySelector('.dialog [role=status]').textContent`); got != "Спасибо! Мы перезваниваем вам." {
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
