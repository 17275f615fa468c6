package httpd_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// A user who forgot their password follows "Forgot the password?" from the
// sign-in page, gets the link by email, sets a new password on its page
// and lands signed in, told so; the tab signed in before is signed out.
func TestBrowserPasswordReset(t *testing.T) {
	srv, relay, _ := resetServer(t)
	email, password := srv.Owner(t)
	browser := httpdtest.Browser(t)
	before := httpdtest.NewVisitor(t, browser)
	signInBrowser(t, before, srv, email, password)

	tab := httpdtest.NewVisitor(t, browser)
	httpdtest.Must(t, tab, chromedp.Navigate(srv.URL+"login"))
	submit(t, tab, `#forgot-link`)
	httpdtest.Must(t, tab, chromedp.SendKeys(chromedp.CSS(`#forgot-form input[name=email]`), email))
	submit(t, tab, `#forgot-form button`)
	if got := httpdtest.Eval[string](t, tab, `document.querySelector("main").innerText`); !strings.Contains(got, "an email with a link") {
		t.Fatalf("after asking, the page says %q", got)
	}
	eventually(t, "the reset email", func() bool { return len(relay.Messages()) == 1 })
	link, _ := mailedLink(t, relay, 0)

	httpdtest.Must(t, tab, chromedp.Navigate(link), chromedp.SendKeys(chromedp.CSS(`#reset-form input[name=password]`), "a brand new passphrase"))
	submit(t, tab, `#reset-form button`)
	if got := httpdtest.Eval[string](t, tab, `location.pathname + " " + document.querySelector(".flash").textContent`); !strings.HasPrefix(got, "/account ") || !strings.Contains(got, "you are signed in") {
		t.Errorf("after the reset: %q", got)
	}
	if got := tabStatus(t, before, srv, "sites"); got == 200 {
		t.Errorf("the tab signed in before the reset still gets /sites")
	}
}
