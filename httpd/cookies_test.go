package httpd_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
)

// dashCall sends a dashboard request to srv's address (whatever its public
// URL says) with the cookies given, not following redirects, and returns
// the answer, its body read.
func dashCall(t *testing.T, srv *httpdtest.Server, method, path string, form url.Values, cookies map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, "http://"+srv.Addr+"/"+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for name, value := range cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// setCookie is the cookie name an answer sets; nil when it sets none.
func setCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInCookie signs the owner in through the sign-in form, its token under
// the cookie csrfName, and returns the session cookie the answer sets
// under sessionName.
func signInCookie(t *testing.T, srv *httpdtest.Server, csrfName, sessionName string) *http.Cookie {
	t.Helper()
	resp, page := dashCall(t, srv, "GET", "login", nil, nil)
	csrf := setCookie(resp, csrfName)
	if csrf == nil || formCSRF.FindStringSubmatch(page) == nil {
		t.Fatalf("the sign-in page sets no %s cookie: %v", csrfName, resp.Header["Set-Cookie"])
	}
	resp, _ = dashCall(t, srv, "POST", "login", url.Values{"csrf": {csrf.Value}, "email": {"owner@example.com"}, "password": {"correct horse battery"}},
		map[string]string{csrfName: csrf.Value})
	session := setCookie(resp, sessionName)
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign in: %d, cookies %v, want 303 and a %s cookie", resp.StatusCode, resp.Header["Set-Cookie"], sessionName)
	}
	return session
}

// Over https the session and pre-sign-in cookies are named __Host-, which
// a browser keeps only as this host set them (Secure, Path=/, no Domain):
// a page of a sibling sub-domain, which may set cookies for the parent
// domain, cannot plant a form token of its own and sign a browser in to
// an account of its choosing (login CSRF), nor plant a session. A token
// or session under the plain names is not taken.
func TestHostPrefixedCookiesOverHTTPS(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.PublicURL = "https://track.example" })
	srv.Owner(t)

	// A sibling's planted token: its page posts the sign-in form with it.
	const planted = "planted-by-a-sibling-sub-domain-0123456789abc"
	resp, _ := dashCall(t, srv, "POST", "login", url.Values{"csrf": {planted}, "email": {"owner@example.com"}, "password": {"correct horse battery"}},
		map[string]string{"apl_csrf": planted})
	if resp.StatusCode != http.StatusForbidden || setCookie(resp, "__Host-apl_session") != nil || setCookie(resp, "apl_session") != nil {
		t.Fatalf("a sign-in with a form token under the plain cookie name: %d %v, want 403 and no session", resp.StatusCode, resp.Header["Set-Cookie"])
	}

	session := signInCookie(t, srv, "__Host-apl_csrf", "__Host-apl_session")
	resp, _ = dashCall(t, srv, "GET", "login", nil, nil)
	for _, c := range []*http.Cookie{setCookie(resp, "__Host-apl_csrf"), session} {
		if !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
			t.Errorf("cookie %s: Secure %v, Path %q, Domain %q, HttpOnly %v; a browser keeps a __Host- cookie only Secure, with Path=/ and no Domain",
				c.Name, c.Secure, c.Path, c.Domain, c.HttpOnly)
		}
	}
	if resp, _ := dashCall(t, srv, "GET", "sites", nil, map[string]string{"__Host-apl_session": session.Value}); resp.StatusCode != http.StatusOK {
		t.Errorf("a page with the session cookie: %d, want 200", resp.StatusCode)
	}
	// The same session planted under the plain name (a session begun since
	// the server named it __Host-, which never had a plain cookie).
	if resp, _ := dashCall(t, srv, "GET", "sites", nil, map[string]string{"apl_session": session.Value}); resp.StatusCode == http.StatusOK {
		t.Errorf("a page with a session begun over https under the plain cookie name: 200, want the sign-in page")
	}
}

// Upgrading keeps users signed in: a session cookie the server issued
// under the plain name before it named cookies __Host- works once more,
// and comes back under the new name, the plain one deleted. Over http (a
// local install, where browsers keep no __Host- cookie) the names stay
// plain and the cookies not Secure.
func TestPlainSessionCookieMovesToHostPrefix(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Now = clock.Now })
	srv.Owner(t)
	old := signInCookie(t, srv, "apl_csrf", "apl_session")
	if old.Secure {
		t.Error("the session cookie over http is Secure: no browser would send it back")
	}

	clock.Set(clock.Now().Add(time.Minute))
	srv = srv.Restart(t, func(o *httpd.Options) { o.Now = clock.Now; o.PublicURL = "https://track.example" })
	resp, _ := dashCall(t, srv, "GET", "sites", nil, map[string]string{"apl_session": old.Value})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a page with the session cookie of before the upgrade: %d, want 200", resp.StatusCode)
	}
	moved, gone := setCookie(resp, "__Host-apl_session"), setCookie(resp, "apl_session")
	if moved == nil || moved.Value != old.Value || !moved.Secure || moved.Path != "/" || moved.Domain != "" {
		t.Errorf("the session is not issued again under __Host-apl_session: %v", resp.Header["Set-Cookie"])
	} else if moved.MaxAge < 29*24*3600 {
		t.Errorf("the moved cookie lasts %d s, want the session's 30 days less a minute", moved.MaxAge)
	}
	if gone == nil || gone.MaxAge >= 0 && gone.Expires.After(clock.Now()) {
		t.Errorf("the plain session cookie is not deleted: %v", resp.Header["Set-Cookie"])
	}
	if resp, _ := dashCall(t, srv, "GET", "sites", nil, map[string]string{"__Host-apl_session": old.Value}); resp.StatusCode != http.StatusOK {
		t.Errorf("a page with the moved cookie: %d, want 200", resp.StatusCode)
	}
	// A restart later keeps the time the names changed: the session of
	// before it still moves, one begun over https does not.
	clock.Set(clock.Now().Add(time.Minute))
	srv = srv.Restart(t, func(o *httpd.Options) { o.Now = clock.Now; o.PublicURL = "https://track.example" })
	if resp, _ := dashCall(t, srv, "GET", "sites", nil, map[string]string{"apl_session": old.Value}); resp.StatusCode != http.StatusOK {
		t.Errorf("after another restart, a page with the session cookie of before the upgrade: %d, want 200", resp.StatusCode)
	}
	fresh := signInCookie(t, srv, "__Host-apl_csrf", "__Host-apl_session")
	if resp, _ := dashCall(t, srv, "GET", "sites", nil, map[string]string{"apl_session": fresh.Value}); resp.StatusCode == http.StatusOK {
		t.Errorf("a session begun over https, under the plain cookie name: 200, want the sign-in page")
	}
}
