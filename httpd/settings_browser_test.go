package httpd_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A manager changes a site's domains, time zone and widget language on
// its settings page; what the snippet gets from the server follows: the
// widget settings say English, a page view from the new domain is taken
// and one from the old domain refused; a change of zone says the days
// counted before keep the old one until they are recounted. Removing the site asks
// for its name; then its key no longer works.
func TestBrowserSiteSettingsReachTheSnippet(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	srv.Owner(t)
	ctx := httpdtest.Browser(t)
	signInBrowser(t, ctx, srv, "owner@example.com", "correct horse battery")

	hitFrom := func(origin string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"k": key, "u": origin + "/", "r": "", "t": "x"})
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	widgetLang := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL + "t/v1/widget?k=" + key)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out struct {
			Result struct {
				Lang string `json:"lang"`
			} `json:"result"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("widget settings %d %s", resp.StatusCode, b)
		}
		return out.Result.Lang
	}
	if got := hitFrom("https://shop2.example"); got != http.StatusForbidden {
		t.Fatalf("a hit from the domain not yet added: %d", got)
	}
	if got := widgetLang(); got != "" {
		t.Fatalf("widget language before: %q", got)
	}

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key))
	submit(t, ctx, `#nav-settings`)
	httpdtest.Must(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#site-settings textarea[name=domains]`), "shop2.example\nwww.shop2.example"),
		chromedp.SetValue(chromedp.CSS(`#site-settings input[name=time_zone]`), "Europe/Moscow"),
	)
	submit(t, ctx, `#site-settings button`)
	// The zone changed: the page says that what was counted keeps the old
	// zone's days until they are recounted (it said only "Saved.").
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.HasPrefix(got, "Saved. Reports count the days and hours of the new time zone from now on;") ||
		!strings.HasSuffix(got, "until you recount the reports below.") {
		t.Errorf("after changing the site's zone the page says %q", got)
	}
	submit(t, ctx, `#site-settings button`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(".flash").textContent`); got != "Saved." {
		t.Errorf("after saving the site as it was the page says %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.SetValue(chromedp.CSS(`#callback-settings select[name=lang]`), "en"))
	submit(t, ctx, `#callback-settings button`)
	if got := httpdtest.Eval[string](t, ctx, `location.pathname`); got != "/sites/"+key+"/settings" {
		t.Errorf("after saving the callback settings at %s", got)
	}
	if got := widgetLang(); got != "en" {
		t.Errorf("widget language after the change: %q", got)
	}
	if got := hitFrom("https://www.shop2.example"); got != http.StatusOK {
		t.Errorf("a hit from the new domain: %d", got)
	}
	if got := hitFrom("https://shop.example"); got != http.StatusForbidden {
		t.Errorf("a hit from the old domain: %d", got)
	}
	site, _ := srv.HTTP.Sites().ByKey(key)
	if site == nil || site.TimeZone != "Europe/Moscow" {
		t.Errorf("stored site %+v", site)
	}

	// A bad time zone is refused with the form kept, nothing changed.
	httpdtest.Must(t, ctx, chromedp.SetValue(chromedp.CSS(`#site-settings input[name=time_zone]`), "Mars/Olympus"))
	submit(t, ctx, `#site-settings button`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#time_zone-error").textContent`); !strings.Contains(got, "Mars/Olympus") {
		t.Errorf("a bad zone says %q", got)
	}

	// Removing asks for the name; the page says the data stays.
	if got := httpdtest.Eval[string](t, ctx, `document.getElementById("remove-site").innerText`); !strings.Contains(got, "stays in the store and in your backups") {
		t.Errorf("the remove card says %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.SendKeys(chromedp.CSS(`#remove-site-form input[name=confirm]`), "Shop?"))
	submit(t, ctx, `#remove-site-form button`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#confirm-error").textContent`); !strings.Contains(got, `Type the site's name, "Shop"`) {
		t.Errorf("a wrong name says %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.SendKeys(chromedp.CSS(`#remove-site-form input[name=confirm]`), "Shop"))
	submit(t, ctx, `#remove-site-form button`)
	if got := httpdtest.Eval[string](t, ctx, `location.pathname`); got != "/sites" {
		t.Errorf("after removing at %s", got)
	}
	if got := hitFrom("https://shop2.example"); got == http.StatusOK {
		t.Errorf("the removed site's key still takes page views")
	}
}
