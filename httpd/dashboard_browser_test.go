package httpd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// submit clicks a form's submit button and waits for the next page load.
func submit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("submit %s: %v", sel, err)
	}
}

// A new owner opens the setup link, creates the account, adds a site and
// sees its install code; then signs out and back in.
func TestBrowserSetupLoginAddSite(t *testing.T) {
	srv := httpdtest.Start(t)
	ctx := httpdtest.Browser(t)
	setup, err := srv.HTTP.SetupURL(context.Background())
	if err != nil || setup == "" {
		t.Fatalf("setup url %q: %v", setup, err)
	}
	httpdtest.Must(t, ctx,
		chromedp.Navigate(setup),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long enough secret"),
	)
	submit(t, ctx, `button[type=submit]`)
	if got := httpdtest.Eval[string](t, ctx, `location.pathname`); got != "/sites" {
		t.Fatalf("after setup at %s, want /sites", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("p.empty").textContent`); !strings.Contains(got, "No sites yet") {
		t.Fatalf("empty sites page says %q", got)
	}

	httpdtest.Must(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "My shop"),
		chromedp.SendKeys(chromedp.CSS(`input[name=domain]`), "https://Shop.Example.com/"),
	)
	submit(t, ctx, `form.row button[type=submit]`)
	code := httpdtest.Eval[string](t, ctx, `document.getElementById("install-code").textContent`)
	sites := srv.HTTP.Sites().List()
	if len(sites) != 1 || sites[0].Name != "My shop" || sites[0].Domains[0] != "shop.example.com" {
		t.Fatalf("stored sites %+v", sites)
	}
	for _, want := range []string{
		`__cs.push(["setCsAccount", "` + sites[0].Key + `"]);`,
		`__cs.push(["setCsHost", "//` + srv.Addr + `/"]);`,
		`<script async src="//` + srv.Addr + `/static/cs.min.js"></script>`,
	} {
		if !strings.Contains(code, want) {
			t.Errorf("install code lacks %s:\n%s", want, code)
		}
	}

	// The setup link works once: with the owner made, setup is gone.
	httpdtest.Must(t, ctx, chromedp.Navigate(setup))
	if got := httpdtest.Eval[string](t, ctx, `document.getElementById("error-message").textContent`); !strings.Contains(got, "setup is done") {
		t.Errorf("second use of the setup link says %q", got)
	}

	// Sign out, then back in with the new password.
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites"))
	submit(t, ctx, `header form button`)
	if got := httpdtest.Eval[string](t, ctx, `location.pathname`); got != "/login" {
		t.Fatalf("after sign-out at %s", got)
	}
	httpdtest.Must(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "wrong password!"),
	)
	submit(t, ctx, `button[type=submit]`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(".error, .field-error").textContent`); !strings.Contains(got, "Wrong email or password") {
		t.Fatalf("wrong password says %q", got)
	}
	httpdtest.Must(t, ctx,
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), "a long enough secret"),
	)
	submit(t, ctx, `button[type=submit]`)
	// A site opens on its reports; its name in the site navigation leads
	// to the install code.
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.CSS(`#sites a`)), chromedp.WaitVisible(chromedp.ID("kpis")),
		chromedp.Click(chromedp.CSS(`#site-nav a`)), chromedp.WaitVisible(chromedp.ID("install-code")))
	if got := httpdtest.Eval[string](t, ctx, `document.getElementById("install-code").textContent`); got != code {
		t.Errorf("install code after sign-in differs:\n%s", got)
	}
}
