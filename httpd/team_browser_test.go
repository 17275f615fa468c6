package httpd_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// signInBrowser signs the tab in through the login form.
func signInBrowser(t *testing.T, ctx context.Context, srv *httpdtest.Server, email, password string) {
	t.Helper()
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `main button[type=submit]`)
	if got := httpdtest.Eval[string](t, ctx, `location.pathname`); got != "/sites" {
		t.Fatalf("after signing in as %s at %s", email, got)
	}
}

// tabStatus is the HTTP status the tab's session gets for path.
func tabStatus(t *testing.T, ctx context.Context, srv *httpdtest.Server, path string) int {
	t.Helper()
	return httpdtest.Eval[int](t, ctx, `fetch(`+jsString(srv.URL+path)+`, {redirect: "manual"}).then(r => r.status)`)
}

// invite makes an invite from the owner's tab and returns its link.
func invite(t *testing.T, ctx context.Context, srv *httpdtest.Server, email, role string) string {
	t.Helper()
	httpdtest.Must(t, ctx,
		chromedp.Navigate(srv.URL+"team"),
		chromedp.SendKeys(chromedp.CSS(`#invite-form input[name=email]`), email),
		chromedp.SetValue(chromedp.CSS(`#invite-form select[name=role]`), role),
	)
	submit(t, ctx, `#invite-form button`)
	link := strings.TrimSpace(httpdtest.Eval[string](t, ctx, `document.getElementById("invite-link").textContent`))
	if !strings.HasPrefix(link, srv.URL+"invite?token=") {
		t.Fatalf("invite link %q", link)
	}
	return link
}

// accept opens an invite link in a fresh browser context, sets a password
// and returns the signed-in tab.
func accept(t *testing.T, browser context.Context, link string) context.Context {
	t.Helper()
	tab := httpdtest.NewVisitor(t, browser)
	httpdtest.Must(t, tab, chromedp.Navigate(link), chromedp.SendKeys(chromedp.CSS(`#accept-form input[name=password]`), "a long enough secret"))
	submit(t, tab, `#accept-form button`)
	if got := httpdtest.Eval[string](t, tab, `location.pathname`); got != "/sites" {
		t.Fatalf("after accepting the invite at %s", got)
	}
	return tab
}

// The owner invites an operator and a manager from the Team page; each
// opens the one-time link, sets a password, is signed in and sees only
// what the role allows; the link does not work twice. The owner changes
// the manager's role and removes the operator, whose open tab is signed
// out at once.
func TestBrowserInviteAcceptRoles(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	owner := httpdtest.Browser(t)
	email, password := srv.Owner(t)
	signInBrowser(t, owner, srv, email, password)
	if n := httpdtest.Eval[int](t, owner, `document.querySelectorAll("#nav-team, #nav-tokens").length`); n != 2 {
		t.Errorf("the owner's navigation has %d of Team and API tokens", n)
	}

	opLink := invite(t, owner, srv, "ops@example.com", "operator")
	op := accept(t, owner, opLink)
	if got := httpdtest.Eval[string](t, op, `document.querySelector("#sites a").getAttribute("href")`); got != "/sites/"+key+"/callbacks" {
		t.Errorf("the operator's site link goes to %s", got)
	}
	if n := httpdtest.Eval[int](t, op, `document.querySelectorAll("#nav-team, #nav-tokens").length`); n != 0 {
		t.Errorf("the operator's navigation offers Team or API tokens")
	}
	for path, want := range map[string]int{"sites/" + key + "/callbacks": 200, "sites/" + key: 403, "sites/" + key + "/leads": 403, "team": 403, "tokens": 403} {
		if got := tabStatus(t, op, srv, path); got != want {
			t.Errorf("operator GET /%s: %d, want %d", path, got, want)
		}
	}
	// The link worked once.
	again := httpdtest.NewVisitor(t, owner)
	httpdtest.Must(t, again, chromedp.Navigate(opLink))
	if got := httpdtest.Eval[string](t, again, `document.querySelector("main").innerText`); !strings.Contains(got, "invalid, expired or already used") {
		t.Errorf("the used invite link shows %q", got)
	}

	mgr := accept(t, owner, invite(t, owner, srv, "anna@example.com", "manager"))
	for path, want := range map[string]int{"sites/" + key: 200, "sites/" + key + "/leads": 200, "team": 403, "tokens": 403} {
		if got := tabStatus(t, mgr, srv, path); got != want {
			t.Errorf("manager GET /%s: %d, want %d", path, got, want)
		}
	}
	if n := httpdtest.Eval[int](t, mgr, `document.querySelectorAll("#nav-team, #nav-tokens").length`); n != 0 {
		t.Errorf("the manager's navigation offers Team or API tokens")
	}

	// The Team page lists them with a last sign-in; the owner makes the
	// manager an operator and removes the first operator.
	httpdtest.Must(t, owner, chromedp.Navigate(srv.URL+"team"))
	if got := httpdtest.Eval[string](t, owner, `document.getElementById("users").innerText`); !strings.Contains(got, "ops@example.com") || !strings.Contains(got, "anna@example.com") || strings.Count(got, "never") != 0 {
		t.Errorf("the team list says %q", got)
	}
	httpdtest.Must(t, owner, chromedp.SetValue(chromedp.CSS(`tr[id="user-anna@example.com"] select`), "operator"))
	submit(t, owner, `tr[id="user-anna@example.com"] .role-form button`)
	if got := tabStatus(t, mgr, srv, "sites/"+key+"/leads"); got != 403 {
		t.Errorf("after the role change the former manager gets leads: %d", got)
	}
	submit(t, owner, `tr[id="user-ops@example.com"] .remove-form button`)
	if got := httpdtest.Eval[string](t, owner, `document.querySelector(".flash").textContent`); !strings.Contains(got, "removed") {
		t.Errorf("after removing the page says %q", got)
	}
	httpdtest.Must(t, op, chromedp.Reload())
	if got := httpdtest.Eval[string](t, op, `location.pathname`); got != "/login" {
		t.Errorf("the removed operator's tab is at %s after a reload, want /login", got)
	}
}

// The owner makes an API token in the browser (shown once), the PBX uses
// it on /api/v1/calls, the list shows when it was last used, and once it
// is revoked the next request is refused with 401.
func TestBrowserTokenCreateUseRevoke(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Site(t, "Shop", "shop.example")
	ctx := httpdtest.Browser(t)
	email, password := srv.Owner(t)
	signInBrowser(t, ctx, srv, email, password)
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"tokens"), chromedp.SendKeys(chromedp.CSS(`#token-form input[name=name]`), "pbx"))
	submit(t, ctx, `#token-form button`)
	token := strings.TrimSpace(httpdtest.Eval[string](t, ctx, `document.getElementById("token-value").textContent`))
	if !strings.HasPrefix(token, "apl_") {
		t.Fatalf("token shown %q", token)
	}
	call := func() (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"api/v1/calls", strings.NewReader(`{"called":"74950000001","caller":"79161234567","duration":10,"answered":true}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call(); code != http.StatusOK {
		t.Fatalf("call with the new token: %d %s", code, body)
	}
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"tokens"))
	if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll("#new-token").length`); n != 0 {
		t.Errorf("the token is shown again")
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#tokens .token-used").textContent`); !strings.HasPrefix(got, "20") {
		t.Errorf("last used says %q after a call", got)
	}
	submit(t, ctx, `#tokens button.danger`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.Contains(got, "revoked") {
		t.Errorf("after revoking the page says %q", got)
	}
	if code, body := call(); code != http.StatusUnauthorized {
		t.Errorf("call with the revoked token: %d %s", code, body)
	}
}
