package httpd_test

import (
	"testing"
	"time"

	"appliance/httpd/callbacks"
	"appliance/store"
)

// The callback panel's date picker offers only times the server takes:
// from now to callbacks.MaxDelay ahead (its min and max, in the visitor's
// time zone as the panel reads them). The last minute it offers is taken;
// a later time typed past it is told at once, the captcha the visitor
// solved kept (a refusal from the server would spend it).
func TestWidgetCallbackLaterMax(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "en"})
	f.page("/", sitePage("Shop", "", f.install, ""))
	f.visit(t, "/")
	before := time.Now()
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('#cs-time') && r.querySelector('img') && r.querySelector('img').complete && r.querySelector('img').naturalWidth > 0`)
	after := time.Now()

	// the picker's bounds, read as the panel reads a picked time
	bound := func(attr string) int64 {
		t.Helper()
		ms := in[float64](t, f, `(function () { var v = r.querySelector('#cs-time').getAttribute('`+attr+`'); return v ? new Date(v).getTime() : -1; })()`)
		return int64(ms)
	}
	minute := time.Minute.Milliseconds()
	// floored to the minute when the panel was made
	if got := bound("min"); got <= before.UnixMilli()-minute || got > after.UnixMilli() {
		t.Errorf("the picker's min is %d, want the minute of the panel's opening, %d to %d", got, before.UnixMilli(), after.UnixMilli())
	}
	last := bound("max")
	if lo, hi := before.Add(callbacks.MaxDelay).UnixMilli(), after.Add(callbacks.MaxDelay).UnixMilli(); last <= lo-minute || last > hi {
		t.Fatalf("the picker's max is %d, want %v ahead of the panel's opening, %d to %d", last, callbacks.MaxDelay, lo, hi)
	}

	f.typeInto(t, "#cs-phone", "2025550143")
	f.click(t, "#cs-when-later")
	setWhen := func(js string) {
		t.Helper()
		in[any](t, f, `(function () { var i = r.querySelector('#cs-time'); i.value = `+js+`; i.dispatchEvent(new Event('input')); })()`)
	}
	// a minute past the max, typed (the picker would not offer it)
	setWhen(`(function (d) { d.setMinutes(d.getMinutes() + 1); var p = n => (n < 10 ? '0' : '') + n;
return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); })(new Date(i.max))`)
	picture := in[string](t, f, `r.querySelector('img').src`)
	f.typeInto(t, "#cs-captcha", captchaAnswer)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the time is refused", `r.querySelector('.msg[role=alert]:not(:empty)')`)
	if got, want := f.msg(t), "Pick another time: from a minute to 30 days ahead."; got != want {
		t.Errorf("a time past the max: %q, want %q", got, want)
	}
	if got := f.focused(t); got != "cs-time" {
		t.Errorf("focus on %q after a time past the max, want the time field", got)
	}
	if got := in[string](t, f, `r.querySelector('img').src + ' ' + r.querySelector('#cs-captcha').value`); got != picture+" "+captchaAnswer {
		t.Errorf("the captcha after a time past the max: %q, want %q kept", got, picture+" "+captchaAnswer)
	}
	if cbs := f.siteCallbacks(t); len(cbs) != 0 {
		t.Fatalf("a time past the max stored %+v", cbs)
	}

	// the max itself is taken
	setWhen(`i.max`)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	cbs := f.siteCallbacks(t)
	if len(cbs) != 1 || cbs[0].State != store.CallbackPending || cbs[0].Delayed != last {
		t.Fatalf("stored %+v, want one pending at the picker's max, %d", cbs, last)
	}
	f.noExceptions(t)
}
