package httpd_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// XSS payloads in every field a visitor types, and in a receiver's error
// answer, render as text on the leads and webhooks pages. The pages' CSP
// would also stop inline script, so the test checks the DOM itself: the
// payload is visible as text, and no element it describes exists.
func TestBrowserLeadXSSInert(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	ctx := httpdtest.Browser(t)
	site := srv.Site(t, "Shop", "shop.example")
	const img = `<img src=x onerror="window.__xss=1">`
	const script = `<script>window.__xss=2</script>`
	const svg = `"><svg onload=window.__xss=3>`
	v := trackHit(t, srv, site, "", "https://shop.example/?utm_source="+url.QueryEscape(img)+"&utm_campaign="+url.QueryEscape(svg), "https://ref.example/"+url.PathEscape(script))
	status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{
		"name": img, "message": script + "\n" + svg, "form_name": svg, "phone": "+7 912 345-67-89",
		"u": "https://shop.example/" + script, "is_sale": true, "sale_cost": "1",
	}))
	if status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	// A receiver whose error page carries a payload: the delivery log shows it.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, img+script, http.StatusInternalServerError)
	}))
	defer evil.Close()
	c := srv.Client(t)
	addHook(t, srv, c, site, evil.URL+"/?q="+url.QueryEscape(svg))
	postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": svg}))
	eventually(t, "a failed delivery in the log", func() bool {
		resp, err := c.Get(srv.URL + "sites/" + site + "/webhooks")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return strings.Contains(b.String(), "500 Internal Server Error")
	})

	email, password := "owner@example.com", "correct horse battery"
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `button[type=submit]`)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+site))
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.ID("site-leads")), chromedp.WaitVisible(chromedp.ID("leads")))

	check := func(page string, want ...string) {
		t.Helper()
		if got := httpdtest.Eval[bool](t, ctx, `window.__xss === undefined`); !got {
			t.Errorf("%s: window.__xss was set", page)
		}
		if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll('img[src=x], svg, main script:not([src])').length`); n != 0 {
			t.Errorf("%s: %d elements made from the payloads", page, n)
		}
		text := httpdtest.Eval[string](t, ctx, `document.querySelector("main").innerText`)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the payload %q is not shown as text", page, w)
			}
		}
	}
	check("leads", img, script, svg, "https://shop.example/"+script)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#leads tbody tr:last-child .name").textContent`); got != img {
		t.Errorf("name cell shows %q", got)
	}
	httpdtest.SaveScreenshot(t, ctx, "leads")

	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+site), chromedp.Click(chromedp.ID("site-webhooks")), chromedp.WaitVisible(chromedp.ID("deliveries")))
	// The log shows the receiver's answer quoted, its quotes escaped.
	check("webhooks", strconv.Quote(img+script))
	httpdtest.SaveScreenshot(t, ctx, "webhooks")

	// "Send again" from the page: a POST with the CSRF token, back on the
	// page with a notice.
	submit(t, ctx, `#deliveries form button`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.Contains(got, "sent again") {
		t.Errorf("after send again the page says %q", got)
	}
}
