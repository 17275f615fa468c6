package httpd_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
)

// inputTag is the <input> tag named name in page, or "".
func inputTag(page, name string) string {
	return regexp.MustCompile(`<input[^>]*name="` + name + `"[^>]*>`).FindString(page)
}

func postPage(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A refused form puts the cursor where the fix goes: a setup or sign-in
// that kept the email but was refused for its password focuses the
// (emptied) password, not the email already filled in; a refused new
// site focuses its domain and marks it invalid. Before, the setup and
// sign-in pages focused the email again and the sites page nothing, so a
// newcomer typing the fix typed it into the wrong field or nowhere.
func TestRefusedFormsFocusTheFieldToFix(t *testing.T) {
	srv := httpdtest.Start(t)
	link, err := srv.HTTP.SetupURL(context.Background())
	if err != nil || link == "" {
		t.Fatalf("setup link: %q %v", link, err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	path := link[strings.Index(link, "/setup"):]
	csrf := srv.FormToken(t, c, path)
	token := link[strings.Index(link, "token=")+len("token="):]
	// "short" passes no browser's minlength when typed with spaces
	// trimmed; the server refuses it all the same.
	status, page := postPage(t, c, srv.URL+"setup", url.Values{"csrf": {csrf}, "token": {token}, "email": {"owner@example.com"}, "password": {"short"}})
	if status != http.StatusBadRequest {
		t.Fatalf("setup with a short password: %d", status)
	}
	if email, pw := inputTag(page, "email"), inputTag(page, "password"); strings.Contains(email, "autofocus") || !strings.Contains(pw, "autofocus") {
		t.Errorf("refused setup focuses\nemail:    %s\npassword: %s\nwant the password", email, pw)
	}

	c = srv.Client(t) // makes the owner
	lc := &http.Client{Jar: func() http.CookieJar { j, _ := cookiejar.New(nil); return j }(), CheckRedirect: c.CheckRedirect}
	csrf = srv.FormToken(t, lc, "/login")
	status, page = postPage(t, lc, srv.URL+"login", url.Values{"csrf": {csrf}, "email": {"owner@example.com"}, "password": {"wrong password!"}})
	if status == http.StatusSeeOther {
		t.Fatalf("sign-in with a wrong password went through")
	}
	if email, pw := inputTag(page, "email"), inputTag(page, "password"); strings.Contains(email, "autofocus") || !strings.Contains(pw, "autofocus") {
		t.Errorf("refused sign-in focuses\nemail:    %s\npassword: %s\nwant the password", email, pw)
	}
	if _, fresh := getPage(t, lc, srv.URL+"login"); !strings.Contains(inputTag(fresh, "email"), "autofocus") {
		t.Errorf("a fresh sign-in page does not focus the email")
	}

	csrf = srv.FormToken(t, c, "/sites")
	_, fresh := getPage(t, c, srv.URL+"sites")
	if tag := inputTag(fresh, "domain"); strings.Contains(tag, "autofocus") || strings.Contains(tag, "aria-invalid") {
		t.Errorf("a fresh sites page marks the domain: %s", tag)
	}
	status, page = postPage(t, c, srv.URL+"sites", url.Values{"csrf": {csrf}, "name": {"Shop"}, "domain": {"not a domain!"}})
	if status != http.StatusBadRequest {
		t.Fatalf("bad domain: %d", status)
	}
	if tag := inputTag(page, "domain"); !strings.Contains(tag, "autofocus") || !strings.Contains(tag, `aria-invalid="true"`) {
		t.Errorf("refused site's domain: %s\nwant autofocus and aria-invalid", tag)
	}
}

// A setup link from before the server's restart (each start without an
// owner prints a new one) says where the good one is, in the page's
// language; before, it said only that the link was invalid or used.
func TestStaleSetupLinkSaysWhereTheNewOneIs(t *testing.T) {
	srv := httpdtest.Start(t)
	req, _ := http.NewRequest("GET", srv.URL+"setup?token=stale", nil)
	req.Header.Set("Accept-Language", "ru-RU,ru;q=0.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "последнюю ссылку, которую напечатал appliance serve") {
		t.Errorf("stale setup link: %d\n%s", resp.StatusCode, body)
	}
}
