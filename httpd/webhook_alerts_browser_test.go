package httpd_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/webhooks"
)

// A site owner in a browser, on the leads page, cannot miss that the
// CRM's endpoint has failed for over an hour: a warning at the top, read
// with enough contrast, whose link opens the webhooks page at the
// endpoint, which says since when and why. Once the CRM answers 200, the
// next page has no warning.
func TestBrowserFailingWebhookWarning(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.Now = clock.Now
		o.Webhooks = webhooks.Options{Tick: 5 * time.Millisecond, Timeout: 2 * time.Second,
			Backoff: func(int) time.Duration { return 20 * time.Minute }}
		httpdtest.AllowPrivate(o)
	})
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var status, posts atomic.Int32
	status.Store(http.StatusUnauthorized)
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		posts.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer crm.Close()
	email, password := srv.Owner(t)
	addHook(t, srv, srv.Client(t), key, crm.URL+"/hook")
	failures := func() uint32 {
		m, err := srv.HTTP.HookHealth(context.Background(), site.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, hl := range m {
			return hl.Failures
		}
		return 0
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	if st, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"phone": "89101234567"})); st != http.StatusOK {
		t.Fatalf("lead: %d %v", st, out)
	}
	eventually(t, "the first failure", func() bool { return failures() == 1 })
	clock.Add(61 * time.Minute)
	eventually(t, "the retry's failure", func() bool { return failures() == 2 })

	ctx := httpdtest.Browser(t)
	signInBrowser(t, ctx, srv, email, password)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/leads"))
	if !httpdtest.Eval[bool](t, ctx, `!!document.querySelector('#hooks-failing a')`) {
		t.Fatal("the leads page has no warning of the failing endpoint")
	}
	warning := httpdtest.Eval[string](t, ctx, `document.getElementById('hooks-failing').innerText`)
	if !strings.Contains(warning, "1 webhook endpoint has failed every delivery for over an hour") {
		t.Errorf("the warning says %q", warning)
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector('#nav-webhooks .count.failing').innerText`); got != "1" {
		t.Errorf("the Webhooks link's count: %q", got)
	}
	if bad := httpdtest.Eval[string](t, ctx, `(`+seenJS+`)(document, '#hooks-failing, #nav-webhooks')`); bad != "" {
		t.Errorf("the warning:\n%s", bad)
	}
	httpdtest.Must(t, ctx, chromedp.Click(`#hooks-failing a`), chromedp.WaitVisible(`.endpoint-failing`))
	if got := httpdtest.Eval[string](t, ctx, `location.pathname + location.hash`); got != "/sites/"+key+"/webhooks#endpoints" {
		t.Errorf("the warning's link led to %s", got)
	}
	block := httpdtest.Eval[string](t, ctx, `document.querySelector('.endpoint-failing').innerText`)
	for _, want := range []string{"Failing since 2026-12-01 09:00:00", "1 delivery waiting · 2 failed attempts", "Last error: 401. The receiver refused access"} {
		if !strings.Contains(block, want) {
			t.Errorf("the endpoint's failure does not say %q:\n%s", want, block)
		}
	}
	if bad := httpdtest.Eval[string](t, ctx, `(`+seenJS+`)(document, '.endpoint-failing')`); bad != "" {
		t.Errorf("the endpoint's failure:\n%s", bad)
	}

	status.Store(http.StatusOK)
	clock.Add(20 * time.Minute)
	eventually(t, "the delivery", func() bool { return posts.Load() == 3 && failures() == 0 })
	httpdtest.Must(t, ctx, chromedp.Reload(), chromedp.WaitVisible(`#endpoints`))
	if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll('#hooks-failing, .endpoint-failing, #nav-webhooks .count').length`); n != 0 {
		t.Errorf("%d warnings left after the CRM took the delivery", n)
	}
}
