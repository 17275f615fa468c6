package httpd_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// The first visit shows on the site page left open: a newcomer pastes the
// install code, opens the site in another tab, comes back to the
// dashboard, and sees the visit without reloading. Before, the page kept
// saying "No visits yet" until reloaded, as if the code did not work.
func TestBrowserFirstVisitArrivesWithoutReload(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "localhost")
	install := srv.HTTP.InstallCode(key)
	ts := httpdtest.TestSite(t, func(path string) (string, bool) {
		return "<!doctype html><html><head><meta charset=utf-8><title>Shop</title>" + install + "</head><body><p>Shop</p></body></html>", path == "/"
	})
	web := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/"
	ctx := httpdtest.Browser(t)
	email, password := srv.Owner(t)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key), chromedp.WaitVisible(chromedp.ID("no-visits")))
	// Mark the document: a reload would lose the mark.
	httpdtest.Eval[any](t, ctx, `window.__sameDocument = true`)

	site := httpdtest.NewVisitor(t, ctx)
	httpdtest.Must(t, site, chromedp.Navigate(web))

	httpdtest.Must(t, ctx, chromedp.WaitVisible(chromedp.ID("recent-visits")))
	if !httpdtest.Eval[bool](t, ctx, `window.__sameDocument === true`) {
		t.Errorf("the site page reloaded to show the first visit")
	}
	if got := httpdtest.Eval[string](t, ctx, `document.getElementById("today-sessions").textContent`); got != "1" {
		t.Errorf("today's sessions after the first visit: %q", got)
	}
}
