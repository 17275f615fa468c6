package httpd_test

import (
	"appliance/httpd/httpdtest"
	"testing"

	"appliance/store"
)

// The visitor's words outlive a failed send and the page: the lead form and
// the callback panel keep what was typed (sessionStorage, per site) until
// the appliance took it, so that after a send that failed (the appliance
// down) the form opened on the next page of the tab has the words back;
// sent from there it is one lead, one call, and the form opened again is
// empty.
func TestWidgetDraftOutlivesFailedSendAndPage(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "en"})
	for _, p := range []string{"/", "/next", "/last"} {
		f.page(p, sitePage("Shop", "", f.install, ""))
	}
	f.visit(t, "/")

	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead] #cs-name')`)
	f.typeInto(t, "#cs-name", "Анна")
	f.typeInto(t, "#cs-phone", "+7 910 123-45-67")
	f.typeInto(t, "#cs-message", "Перезвоните после обеда")
	f.srv.Stop()
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the send fails", `r.querySelector('.dialog .msg[role=alert]') && r.querySelector('.dialog .msg').textContent`)

	f.srv = f.srv.Restart(t, httpdtest.AllowPrivate, captchaDigits)
	f.visit(t, "/next")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens on the next page", `r.querySelector('[data-kind=lead] #cs-name')`)
	const fields = `['#cs-name', '#cs-phone', '#cs-email', '#cs-message'].map(function (s) { return r.querySelector(s).value }).join('|')`
	if got, want := in[string](t, f, fields), "Анна|+7 910 123-45-67||Перезвоните после обеда"; got != want {
		t.Fatalf("the form on the next page has %q, want the words typed before, %q", got, want)
	}
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the lead is sent", `r.querySelector('.dialog [role=status]')`)
	ls := siteLeads(t, f.srv, f.key)
	if len(ls) != 1 || ls[0].Name != "Анна" || ls[0].PhoneRaw != "+7 910 123-45-67" || ls[0].Message != "Перезвоните после обеда" {
		t.Fatalf("stored leads %+v, want the one lead", ls)
	}

	// The callback panel: the same.
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens", `r.querySelector('[data-kind=callback] #cs-phone')`)
	f.typeInto(t, "#cs-phone", "9101234568")
	typed := in[string](t, f, `r.querySelector('#cs-phone').value`)
	f.srv.Stop()
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the call fails", `r.querySelector('.dialog .msg[role=alert]') && r.querySelector('.dialog .msg').textContent`)

	f.srv = f.srv.Restart(t, httpdtest.AllowPrivate, captchaDigits)
	f.visit(t, "/last")
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens on the next page", `r.querySelector('[data-kind=callback] #cs-phone')`)
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != typed || typed == "" {
		t.Fatalf("the panel on the next page has %q, want the number typed before, %q", got, typed)
	}
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the call is answered", `r.querySelector('.dialog [role=status]') || r.querySelector('.dialog .msg').textContent`)
	if !in[bool](t, f, `!!r.querySelector('.dialog [role=status]')`) {
		t.Fatalf("the call from the next page: %q; stored %+v", f.msg(t), f.siteCallbacks(t))
	}
	cbs := f.siteCallbacks(t)
	if len(cbs) != 1 || cbs[0].Phone != "79101234568" || cbs[0].State != store.CallbackSent {
		t.Fatalf("stored callbacks %+v, want the one call", cbs)
	}

	// Taken: the forms opened again are empty, on this page and the next.
	f.visit(t, "/")
	eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
	f.waitIn(t, "the lead form opens again", `r.querySelector('[data-kind=lead] #cs-name')`)
	if got := in[string](t, f, fields); got != "|||" {
		t.Errorf("the lead form after its lead was sent has %q, want it empty", got)
	}
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens again", `r.querySelector('[data-kind=callback] #cs-phone')`)
	if got := in[string](t, f, `r.querySelector('#cs-phone').value`); got != "" && got != "+7 (" {
		t.Errorf("the callback panel after its call was taken has %q, want it empty", got)
	}
	if n := len(siteLeads(t, f.srv, f.key)); n != 1 {
		t.Errorf("%d leads stored, want 1", n)
	}
	f.noExceptions(t)
}
