package httpd_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// statusOf GETs path with c and returns the status.
func statusOf(t *testing.T, c *http.Client, srv *httpdtest.Server, path string) int {
	t.Helper()
	resp, err := c.Get(srv.URL + strings.TrimPrefix(path, "/"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// submitForm submits a dashboard form with the page's CSRF token and returns the
// answer's status and body.
func submitForm(t *testing.T, c *http.Client, srv *httpdtest.Server, formPage, action string, form url.Values) (int, string) {
	t.Helper()
	form.Set("csrf", srv.FormToken(t, c, formPage))
	resp, err := c.PostForm(srv.URL+strings.TrimPrefix(action, "/"), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Changing one's password in the dashboard signs out every other browser
// (a stolen cookie stops working) and keeps this one signed in.
func TestDashboardPasswordChangeEndsOtherSessions(t *testing.T) {
	srv := httpdtest.Start(t)
	here, stolen := srv.Client(t), srv.Client(t)
	if statusOf(t, stolen, srv, "/sites") != http.StatusOK {
		t.Fatal("second session not signed in")
	}
	code, body := submitForm(t, here, srv, "/account", "/account/password", url.Values{"current": {"not the password"}, "password": {"a brand new passphrase"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "current password is wrong") {
		t.Fatalf("wrong current password: %d", code)
	}
	if statusOf(t, stolen, srv, "/sites") != http.StatusOK {
		t.Fatal("a refused change ended a session")
	}
	code, _ = submitForm(t, here, srv, "/account", "/account/password", url.Values{"current": {"correct horse battery"}, "password": {"a brand new passphrase"}})
	if code != http.StatusSeeOther {
		t.Fatalf("change password: %d", code)
	}
	if got := statusOf(t, stolen, srv, "/sites"); got != http.StatusSeeOther {
		t.Errorf("old session after the password change: %d, want a redirect to sign in", got)
	}
	if got := statusOf(t, here, srv, "/sites"); got != http.StatusOK {
		t.Errorf("the session that changed the password: %d, want 200", got)
	}
	if _, _, err := accounts.New(srv.DB).Login(context.Background(), "owner@example.com", "a brand new passphrase"); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}
}

func TestDashboardSignOutOtherSessions(t *testing.T) {
	srv := httpdtest.Start(t)
	here, other := srv.Client(t), srv.Client(t)
	if code, _ := submitForm(t, here, srv, "/account", "/account/logout-others", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("sign out others: %d", code)
	}
	if got := statusOf(t, other, srv, "/sites"); got != http.StatusSeeOther {
		t.Errorf("other session: %d, want a redirect to sign in", got)
	}
	if got := statusOf(t, here, srv, "/account"); got != http.StatusOK {
		t.Errorf("this session: %d, want 200", got)
	}
}

// An owner's setup link must not work once the owner exists, even when
// the owner was made some other way than through it.
func TestSetupLinkAfterAUserExists(t *testing.T) {
	srv := httpdtest.Start(t)
	ctx := context.Background()
	link, err := srv.HTTP.SetupURL(ctx)
	if err != nil || link == "" {
		t.Fatalf("setup link: %q %v", link, err)
	}
	path := link[strings.Index(link, "/setup"):]
	c := srv.Client(t) // makes the owner
	if got := statusOf(t, c, srv, path); got != http.StatusNotFound {
		t.Errorf("setup link after the owner exists: %d, want 404", got)
	}
	if again, err := srv.HTTP.SetupURL(ctx); err != nil || again != "" {
		t.Errorf("SetupURL with a user = %q, %v; want none", again, err)
	}
}

// getBody GETs u and returns the body, failing the test unless it is 200.
func getBody(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// signInAs makes a user of role and returns a client signed in as them.
func signInAs(t *testing.T, srv *httpdtest.Server, role string) *http.Client {
	t.Helper()
	email, pw := role+"@example.com", "a long enough passphrase"
	if _, err := accounts.New(srv.DB).CreateUser(context.Background(), email, pw, role); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	code, _, _ := postForm(t, c, srv.URL+"login", url.Values{"csrf": {srv.FormToken(t, c, "/login")}, "email": {email}, "password": {pw}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", role, code)
	}
	return c
}

// An operator sees what leads to callbacks and nothing else: the site list
// links to each site's callbacks, there is no form to add a site or change
// callback settings, and other pages answer 403 saying why.
func TestOperatorSeesOnlyCallbacks(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Owner(t)
	key := srv.Site(t, "Shop", "shop.example.com")
	ops := signInAs(t, srv, accounts.RoleOperator)
	body := getBody(t, ops, srv.URL+"sites")
	if !strings.Contains(body, `href="/sites/`+key+`/callbacks"`) || strings.Contains(body, `action="/sites"`) {
		t.Errorf("operator's site list: links to callbacks %v, add-site form %v",
			strings.Contains(body, `href="/sites/`+key+`/callbacks"`), strings.Contains(body, `action="/sites"`))
	}
	body = getBody(t, ops, srv.URL+"sites/"+key+"/callbacks")
	if !strings.Contains(body, "<h1>Callbacks</h1>") || strings.Contains(body, `id="callback-settings"`) {
		t.Errorf("operator's callbacks page shows the settings form (or no list)")
	}
	resp, err := ops.Get(srv.URL + "sites/" + key + "/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "Your role (operator) does not give access") {
		t.Errorf("operator on webhooks: %d %s", resp.StatusCode, b)
	}

	manager := signInAs(t, srv, accounts.RoleManager)
	if body := getBody(t, manager, srv.URL+"sites"); !strings.Contains(body, `action="/sites"`) || !strings.Contains(body, `href="/sites/`+key+`/reports"`) {
		t.Errorf("manager's site list lacks the add-site form or the link to the site's reports")
	}
}

// The team and API tokens pages belong to no site: they write times in the
// zone the sites share (else the server's) and say which.
func TestTeamTimesInSitesZone(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example.com")
	if _, err := srv.HTTP.Sites().SetTimeZone(context.Background(), key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	vlad, err := time.LoadLocation("Asia/Vladivostok")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	owner := signInAs(t, srv, accounts.RoleOwner)
	after := time.Now()
	body := getBody(t, owner, srv.URL+"team")
	if !strings.Contains(body, "Times are in the time zone Asia/Vladivostok.") {
		t.Errorf("team page does not name the sites' zone")
	}
	// The owner's last sign-in, in Vladivostok (UTC+10) rather than UTC.
	if b, a := before.In(vlad).Format("2006-01-02 15:04"), after.In(vlad).Format("2006-01-02 15:04"); !strings.Contains(body, ">"+b+"<") && !strings.Contains(body, ">"+a+"<") {
		t.Errorf("team page has no last sign-in at %s (Vladivostok)", b)
	}
	// A second site in another zone: no zone is the account's; the server's is used.
	other := srv.Site(t, "Other", "other.example.com")
	if _, err := srv.HTTP.Sites().SetTimeZone(context.Background(), other, "Europe/Moscow"); err != nil {
		t.Fatal(err)
	}
	body = getBody(t, owner, srv.URL+"team")
	if zone, _ := time.Now().Zone(); !strings.Contains(body, "Times are in the time zone "+zone+".") {
		t.Errorf("team page with sites in two zones does not name the server's zone %s", zone)
	}
}
