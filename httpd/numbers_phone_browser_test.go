package httpd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
)

// On a phone, in Russian, each static number of the Numbers page is a
// card: the number, its rule, priority and what it replaces under their
// column's names, and its Remove button on the screen. The table scrolled
// sideways before, the Remove button past the right edge of a 375 px
// screen.
func TestBrowserStaticNumbersOnPhone(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Котлы", "kotly.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.HTTP.Numbers().SetSiteNumbers(t.Context(), site.ID, []string{"8 (343) 275-14-04"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.HTTP.Numbers().AddStatic(t.Context(), site.ID, tracking.StaticInput{Number: "73433000001", RuleInput: tracking.RuleInput{Rule: "utm_source=yandex&utm_medium=cpc&utm_campaign=kotly_zima", Priority: 10}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	email, password := srv.Owner(t)
	ctx := httpdtest.Browser(t)
	signInBrowser(t, ctx, srv, email, password)
	httpdtest.Eval[any](t, ctx, `document.cookie = "apl_lang=ru; path=/"`)
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(375, 812), chromedp.Navigate(srv.URL+"sites/"+key+"/numbers"), chromedp.WaitVisible(chromedp.ID("statics-list")))
	off := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#statics-list td, #statics-list button")].filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth; }).map(e => e.tagName + " " + e.textContent.trim() + " " + Math.round(e.getBoundingClientRect().left) + ".." + Math.round(e.getBoundingClientRect().right))`)
	if len(off) != 0 {
		t.Errorf("off a 375px screen: %q", off)
	}
	labels := httpdtest.Eval[string](t, ctx, `[...document.querySelectorAll("#statics-list tbody td")].map(c => getComputedStyle(c, "::before").content).join("|")`)
	for _, want := range []string{"Номер", "Правило", "Приоритет", "Заменяет"} {
		if !strings.Contains(labels, want) {
			t.Errorf("the static number's card does not name %q: %s", want, labels)
		}
	}
	if w := httpdtest.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("the page is %dpx wide on a 375px screen", w)
	}
}
