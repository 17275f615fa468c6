package httpd_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
)

// Every redirect goes to the public URL, whatever Host the request names:
// a forged Host must not send the browser (and what follows it) elsewhere.
func TestRedirectsIgnoreTheHostHeader(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	const forged = "evil.example"
	do := func(method, path string, form url.Values) *http.Response {
		t.Helper()
		var req *http.Request
		if form != nil {
			req, _ = http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, srv.URL+path, nil)
		}
		// The client's cookie jar goes by the Host, so the cookies of the
		// real one are sent by hand.
		req.Host = forged
		for _, ck := range c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Jar.SetCookies(req.URL, resp.Cookies())
		return resp
	}
	check := func(name string, resp *http.Response, want string) {
		t.Helper()
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(got, srv.URL+want) {
			t.Errorf("%s: %d Location %q, want %s%s", name, resp.StatusCode, got, srv.URL, want)
		}
	}
	check("home", do("GET", "", nil), "sites")
	csrf := srv.FormToken(t, c, "/sites")
	check("add site", do("POST", "sites", url.Values{"csrf": {csrf}, "name": {"Shop"}, "domain": {"shop.example"}}), "sites/")
	check("sign out", do("POST", "logout", url.Values{"csrf": {csrf}}), "login")
	check("signed out", do("GET", "sites", nil), "login")
	login := srv.FormToken(t, c, "/login")
	check("sign in", do("POST", "login", url.Values{"csrf": {login}, "email": {"owner@example.com"}, "password": {"correct horse battery"}}), "sites")
}

// No handler uses fasthttp's ctx.Redirect, which takes the host of the
// Location from the request's Host header; they use seeOther.
func TestNoHostBasedRedirects(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), ".Redirect(") {
			t.Errorf("%s calls Redirect, which trusts the Host header; use s.seeOther", f)
		}
	}
}
