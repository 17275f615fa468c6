package httpd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"appliance/store"
)

// timeZone makes the tab's clock read in the fixed zone UTC+offset hours.
func timeZone(t *testing.T, ctx context.Context, offset int) string {
	t.Helper()
	// Etc/GMT-3 is UTC+3: the sign is the other way round.
	zone := fmt.Sprintf("Etc/GMT%+d", -offset)
	if offset == 0 {
		zone = "UTC"
	}
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatalf("time zone %s: %v", zone, err)
	}
	return zone
}

// zoneWhereHourIs is the offset from UTC, in hours (-12 to +14), of the
// zone where the top of the hour after next, as the callback panel reckons
// it, is at hour h.
func zoneWhereHourIs(h int) int {
	first := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	o := ((h-first.Hour())%24 + 24) % 24
	if o > 12 {
		o -= 24
	}
	return o
}

// A visitor who picks "Later" in the late evening or at night is offered a
// call at 10:00 the next morning, not at the top of the hour after next:
// the panel offered 01:00 to a visitor at 23:20, sent as it was unless
// they looked. In the day it still offers the hour after next.
func TestWidgetCallbackLaterNotAtNight(t *testing.T) {
	f := newWidgetFixture(t, map[string]any{"captcha": "on", "lang": "ru"})
	f.page("/", sitePage("Магазин", "", f.install, ""))
	for _, c := range []struct {
		hour int    // the hour after next where the visitor is
		want string // the time offered: "" the hour after next
		next bool   // on the day after that hour's
	}{
		{hour: 2, want: "10:00"},
		{hour: 22, want: "10:00", next: true},
		{hour: 14},
	} {
		zone := timeZone(t, f.browser, zoneWhereHourIs(c.hour))
		f.visit(t, "/")
		// not the time the panel kept from the zone before
		eval[any](t, f.snippetFixture, `sessionStorage.clear()`)
		eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
		f.waitIn(t, "the callback panel opens", `r.querySelector('#cs-time')`)
		f.click(t, "#cs-when-later")
		// what the panel reckons: the top of the hour after next, in
		// the visitor's zone, and the time it offers
		got := in[string](t, f, `(function (d) { var p = n => (n < 10 ? '0' : '') + n; d.setHours(d.getHours() + 2, 0, 0, 0);
return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':00 ' + r.querySelector('#cs-time').value })(new Date())`)
		var hourAfterNext, offered string
		fmt.Sscan(got, &hourAfterNext, &offered)
		want := hourAfterNext
		if c.want != "" {
			d, err := time.Parse("2006-01-02T15:04", hourAfterNext)
			if err != nil {
				t.Fatalf("%s: %v", hourAfterNext, err)
			}
			if d.Hour() >= 9 && d.Hour() < 21 {
				t.Fatalf("in %s the hour after next is %s, in the day: the test does not test", zone, hourAfterNext)
			}
			if c.next {
				d = d.AddDate(0, 0, 1)
			}
			want = d.Format("2006-01-02") + "T" + c.want
		}
		if offered != want {
			t.Errorf("in %s at the hour after next %s, the panel offers %s, want %s", zone, hourAfterNext, offered, want)
		}
		f.press(t, kb.Escape)
		f.waitIn(t, "the panel closes", `!r.querySelector('.dialog')`)
	}

	// the time offered is the one sent
	eval[any](t, f.snippetFixture, `ComagicWidget.openSitePhonePanel()`)
	f.waitIn(t, "the callback panel opens with its captcha", `r.querySelector('#cs-time') && r.querySelector('img') && r.querySelector('img').complete`)
	f.typeInto(t, "#cs-phone", "9101234567")
	f.click(t, "#cs-when-later")
	at := in[float64](t, f, `new Date(r.querySelector('#cs-time').value).getTime()`)
	f.typeInto(t, "#cs-captcha", captchaAnswer)
	f.click(t, "button[type=submit]")
	f.waitIn(t, "the outcome is shown", `r.querySelector('.dialog [role=status]')`)
	if cbs := f.siteCallbacks(t); len(cbs) != 1 || cbs[0].State != store.CallbackPending || cbs[0].Delayed != int64(at) {
		t.Fatalf("stored %+v, want one pending at %d", cbs, int64(at))
	}
	f.noExceptions(t)
}
