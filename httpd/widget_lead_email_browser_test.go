package httpd_test

import (
	"testing"
)

// A visitor who mistypes their email in the lead form (a comma for the
// dot, no domain's ending) is asked once to check it, the field focused,
// before the lead goes: it was sent as typed and the visitor thanked, with
// an address no one can write back to. Corrected, it is sent; sent again
// as it is, it is sent too (a lead is never refused for its form). Beside
// a phone the address is not the only way back: the lead goes at once.
func TestWidgetLeadEmailTypoAskedOnce(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"lang": "ru"})
	f.page("/", sitePage("Магазин", "", f.install, ""))
	f.visit(t, "/")
	const ask = "Проверьте адрес эл. почты: похоже, в нём опечатка. Исправьте его или нажмите «Отправить» ещё раз, чтобы отправить как есть."
	const done = "Спасибо! Заявка отправлена, мы скоро свяжемся с вами."
	open := func() {
		t.Helper()
		eval[any](t, f.snippetFixture, `Comagic.openSiteRequestPanel()`)
		f.waitIn(t, "the lead form opens", `r.querySelector('[data-kind=lead] #cs-email')`)
	}
	send := func() string {
		t.Helper()
		// what the form said before, gone: the answer is what it says next
		in[any](t, f, `(r.querySelectorAll('.dialog .msg').forEach(n => n.textContent = ''), 0)`)
		f.click(t, "button[type=submit]")
		f.waitIn(t, "the form answers", `r.querySelector('.dialog .msg:not(:empty)')`)
		return f.msg(t)
	}

	open()
	f.typeInto(t, "#cs-name", "Анна")
	f.typeInto(t, "#cs-email", "anna@mail,ru")
	if got := send(); got != ask {
		t.Errorf("a comma for the dot: the visitor is told %q, want %q", got, ask)
	}
	if got := f.focused(t); got != "cs-email" {
		t.Errorf("focus on %q, want the email field", got)
	}
	if n := len(siteLeads(t, f.srv, f.key)); n != 0 {
		t.Fatalf("%d leads stored before the visitor checked the address", n)
	}
	in[any](t, f, `(r.querySelector('#cs-email').value = '', 0)`)
	f.typeInto(t, "#cs-email", "anna@mail.ru")
	if got := send(); got != done {
		t.Errorf("the address corrected: the visitor is told %q", got)
	}
	f.press(t, "\r")
	f.waitIn(t, "the form closes", `!r.querySelector('.dialog')`)

	open()
	f.typeInto(t, "#cs-email", "petr@yandex")
	if got := send(); got != ask {
		t.Errorf("no domain's ending: the visitor is told %q, want %q", got, ask)
	}
	if got := send(); got != done {
		t.Errorf("sent again as it is: the visitor is told %q, want it sent", got)
	}
	f.press(t, "\r")
	f.waitIn(t, "the form closes", `!r.querySelector('.dialog')`)

	// With a phone the business can call back: the lead goes at once, the
	// address stored as typed (and flagged by the appliance).
	open()
	in[any](t, f, `(r.querySelector('#cs-email').value = '', 0)`)
	f.typeInto(t, "#cs-phone", "+7 912 345-66-06")
	f.typeInto(t, "#cs-email", "ivan@mail,ru")
	if got := send(); got != done {
		t.Errorf("a mistyped address beside a phone: the visitor is told %q, want it sent at once", got)
	}
	leads := siteLeads(t, f.srv, f.key)
	if len(leads) != 3 {
		t.Fatalf("%d leads stored, want 3: %+v", len(leads), leads)
	}
	got := map[string]bool{}
	for _, l := range leads {
		got[l.EmailRaw] = true
	}
	if !got["anna@mail.ru"] || !got["petr@yandex"] || !got["ivan@mail,ru"] {
		t.Errorf("leads stored with the addresses %v, want anna@mail.ru, petr@yandex and ivan@mail,ru", got)
	}
	f.noExceptions(t)
}
