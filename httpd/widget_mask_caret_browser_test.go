package httpd_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/httpd/httpdtest"
)

// A visitor fixes a digit in the middle of the masked phone: the caret
// after the wrong digit, Backspace, the right digit. The mask fills the
// number again, and the caret stays where the visitor was typing, so the
// right digit goes in the wrong one's place; it used to jump to the end,
// and the digit was added there: a number that is not theirs was called.
func TestWidgetCallbackPanelMaskCaret(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", "", f.install, ""))
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('#cs-phone')`)
	f.typeInto(t, "#cs-phone", "9161234567")
	value := func() string { return in[string](t, f, `r.querySelector('#cs-phone').value`) }
	if got := value(); got != "+7 (916) 123-45-67" {
		t.Fatalf("typed: %q", got)
	}
	caret := func(at int) {
		t.Helper()
		n := strconv.Itoa(at)
		in[any](t, f, `(r.querySelector('#cs-phone').setSelectionRange(`+n+`, `+n+`), 0)`)
	}
	// "+7 (916) 123-45-67": the 6 of 916 is before index 7.
	caret(7)
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent("5"))
	if got := value(); got != "+7 (915) 123-45-67" {
		t.Errorf("after fixing the code's last digit the field shows %q, want +7 (915) 123-45-67", got)
	}
	// Backspace just after a separator steps over it (the mask puts it
	// back); the next takes the digit before it.
	caret(9) // after ") "
	httpdtest.Must(t, f.browser, chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent("6"))
	if got := value(); got != "+7 (916) 123-45-67" {
		t.Errorf("after fixing the digit before a separator the field shows %q, want +7 (916) 123-45-67", got)
	}
	// Typing on at the end still fills the mask as before.
	in[any](t, f, `(r.querySelector('#cs-phone').value = '', 0)`)
	f.typeInto(t, "#cs-phone", "89161234567")
	if got := value(); got != "+7 (916) 123-45-67" {
		t.Errorf("typed with 8: %q", got)
	}
	f.noExceptions(t)
}
