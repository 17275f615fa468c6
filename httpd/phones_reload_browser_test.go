package httpd_test

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A visitor who came by an ad reloads its landing page, or comes back to
// it from the site's next page: the URL still carries the ad's tags, but it
// is no new click on an ad, so the page shows the visitor's number from the
// first moment, as every other page of the visit does, not the site's own
// number until the appliance answers (a flash of the number the visitor
// must not call). A new click (the tags in a URL the visitor navigated to)
// still shows nothing cached: TestSnippetPhonesDynamic.
func TestSnippetPhonesLandingReload(t *testing.T) {
	f := newSnippetFixture(t)
	phNumbers(t, f, time.Now(), phPool, 0)
	// atHit is what the visitor saw when the page view's hit went out,
	// before the appliance could answer it.
	rec := `window.atHit = null;
var realFetch = window.fetch;
window.fetch = function (u) {
  if (/t\/v1\/hit$/.test(u) && window.atHit === null) window.atHit = document.getElementById("a").textContent;
  return realFetch.apply(this, arguments);
};`
	f.page("/land", phPage(f.install, rec, phBody))
	f.page("/next", phPage(f.install, rec, phBody))

	a := f.me()
	a.open(t, "/land?utm_medium=cpc&utm_source=yandex")
	num := a.shownNumber(t)
	if !slices.Contains(phPool, num) {
		t.Fatalf("the ad's visitor was shown %q, want one of the pool %v", num, phPool)
	}
	want := phSwapped(num).A
	if got := eval[string](t, f, `window.atHit`); got != phOriginal.A {
		t.Fatalf("the first page view, with nothing cached, showed %q when its hit went out; want the site's own %q", got, phOriginal.A)
	}

	httpdtest.Must(t, a.tab, chromedp.Reload())
	f.waitHit(t, 0)
	if got := eval[string](t, f, `window.atHit`); got != want {
		t.Errorf("the reloaded landing page showed %q before its answer, want the visitor's %q", got, want)
	}
	if got := a.shownNumber(t); got != num {
		t.Errorf("after the reload the visitor has %s, want %s", got, num)
	}

	a.open(t, "/next")
	httpdtest.Must(t, a.tab, chromedp.NavigateBack())
	f.waitHit(t, 0)
	// Back from the browser's back/forward cache the page was never
	// away; loaded again it must show the number at once too.
	if eval[int](t, f, `performance.navigation.type`) == 2 {
		if got := eval[string](t, f, `window.atHit`); got != want {
			t.Errorf("the landing page, back to it, showed %q before its answer, want the visitor's %q", got, want)
		}
	} else {
		t.Log("the landing page came back from the back/forward cache")
	}
	if got, w := a.seen(t), phSwapped(num); got != w {
		t.Errorf("back on the landing page the visitor sees\n %+v\nwant\n %+v", got, w)
	}
	f.noExceptions(t)
}
