package httpd_test

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A site added from the dashboard takes the adding browser's time zone:
// a newcomer in Yekaterinburg whose server runs on UTC saw the first
// site's "today" and visit times in UTC, with nothing on the way asking
// for a zone.
func TestBrowserNewSiteTakesTheBrowsersZone(t *testing.T) {
	srv := httpdtest.Start(t)
	ctx := httpdtest.Browser(t)
	email, password := srv.Owner(t)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Yekaterinburg"}); err != nil {
		t.Fatalf("time zone override: %v", err)
	}
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Магазин"),
		chromedp.SendKeys(chromedp.CSS(`input[name=domain]`), "shop.example.ru"),
	)
	submit(t, ctx, `form.row button[type=submit]`)
	list := srv.HTTP.Sites().List()
	if len(list) != 1 {
		t.Fatalf("sites after adding one: %+v", list)
	}
	if list[0].TimeZone != "Asia/Yekaterinburg" {
		t.Errorf("new site's zone %q, want the browser's Asia/Yekaterinburg", list[0].TimeZone)
	}
}
