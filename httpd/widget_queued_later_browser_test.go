package httpd_test

import (
	"strconv"
	"testing"
	"time"
)

// A site without a callback scenario keeps callbacks for its staff, who
// see the time each visitor picked. A visitor who picked a time is told
// that time, as a scheduled call's is, not only "we'll call you back",
// which leaves them wondering whether it was taken; a call for now is told
// the queue's words.
func TestWidgetQueuedLaterNamesTime(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) {
			f := newWidgetFixture(t, map[string]any{"webhook": "", "lang": lang})
			f.page("/", sitePage("Shop", "", f.install, ""))
			f.visit(t, "/")
			later := time.Now().Add(3*time.Hour).UnixMilli() / 60000 * 60000
			locale := map[string]string{"ru": "ru-RU", "en": "en-GB"}[lang]
			when := eval[string](t, f.snippetFixture, `new Date(`+strconv.FormatInt(later, 10)+`).toLocaleString("`+locale+`", {dateStyle: "long", timeStyle: "short"})`)
			want := map[string]string{"ru": "Спасибо! Мы позвоним вам ", "en": "Thank you! We will call you "}[lang] + when + "."
			eval[any](t, f.snippetFixture, `ComagicWidget.sitePhoneCall({phone: '79101234567', delayed_call_time: `+strconv.FormatInt(later, 10)+`})`)
			f.waitIn(t, "the popup", `r.querySelector('.toast')`)
			if got := in[string](t, f, `r.querySelector('.toast').textContent`); got != want+"×" {
				t.Errorf("queued call for later: popup %q, want %q", got, want)
			}
			cbs := f.siteCallbacks(t)
			if len(cbs) != 1 || cbs[0].Delayed != later {
				t.Fatalf("stored %+v, want one callback for %d", cbs, later)
			}
			f.noExceptions(t)
		})
	}
}
