package httpd

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"appliance/assets"
	"appliance/httpd/accounts"
)

// wantCSP are the directives every dashboard page's policy must have.
var wantCSP = map[string]string{
	"script-src":      "'self'",
	"style-src":       "'self'",
	"img-src":         "'self' data:",
	"frame-ancestors": "'none'",
	"form-action":     "'self'",
	"base-uri":        "'none'",
}

// checkCSP reports what is wrong with a Content-Security-Policy header
// value: a directive missing or different from wantCSP, or anything that
// lets inline code or eval run.
func checkCSP(policy string) []string {
	var bad []string
	got := map[string]string{}
	for _, d := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		got[name] = strings.TrimSpace(value)
	}
	for name, want := range wantCSP {
		if got[name] != want {
			bad = append(bad, name+" is "+strings.TrimSpace(got[name]+" ")+", want "+want)
		}
	}
	for _, unsafe := range []string{"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'"} {
		if strings.Contains(policy, unsafe) {
			bad = append(bad, "allows "+unsafe)
		}
	}
	return bad
}

// Every answer of a dashboard route that is an HTML page carries the
// Content-Security-Policy, for a signed-in owner and a stranger, for every
// method (a form posted empty answers with its page and an error), and so
// do error pages. The routes come from the route table, so a page added
// later is covered without touching this test.
func TestDashboardPagesCarryCSP(t *testing.T) {
	s, base := startInternal(t, Options{})
	ctx := context.Background()
	site, err := s.sites.Create(ctx, "Shop", []string{"shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.accounts.CreateUser(ctx, "owner@example.com", "a long enough passphrase", accounts.RoleOwner); err != nil {
		t.Fatal(err)
	}
	token, sess, err := s.accounts.Login(ctx, "owner@example.com", "a long enough passphrase")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pages := 0
	get := func(method, path string, signedIn bool) {
		t.Helper()
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(url.Values{"csrf": {sess.CSRF}}.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if signedIn {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return
		}
		pages++
		policy := resp.Header.Get("Content-Security-Policy")
		if policy == "" {
			t.Errorf("%s %s (%d): no Content-Security-Policy", method, path, resp.StatusCode)
			return
		}
		for _, b := range checkCSP(policy) {
			t.Errorf("%s %s (%d): Content-Security-Policy %s", method, path, resp.StatusCode, b)
		}
	}
	for _, rt := range s.routes.all {
		if !rt.page || rt.method == "POST" && rt.path == "/logout" {
			continue
		}
		path := routeURL(s.routes, rt, site.Key)
		get(rt.method, path, true)
		get(rt.method, path, false)
	}
	get("GET", "/sites/no-such-site/leads", true)
	get("GET", "/no/such/page", true)
	if pages < 10 {
		t.Fatalf("only %d HTML answers seen; the walk reached no pages", pages)
	}
	if bad := checkCSP("default-src 'self'; script-src 'self' 'unsafe-inline'"); len(bad) == 0 {
		t.Fatal("checkCSP passes a policy with unsafe-inline and missing directives")
	}
}

var (
	// inlineScript is a <script> with a body or without a src.
	inlineScript = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	// inlineCode is markup the policy refuses to run or apply: a <style>
	// element, an on* handler or style attribute, a javascript: URL.
	inlineCode = regexp.MustCompile(`(?i)<style\b|<[a-z][^>]*\s(on[a-z]+|style)\s*=|javascript:`)
)

// inlineProblems lists what in a template the dashboard's policy would
// block.
func inlineProblems(html string) []string {
	var bad []string
	for _, m := range inlineScript.FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			bad = append(bad, "inline <script>: "+m[0])
		}
	}
	for _, m := range inlineCode.FindAllString(html, -1) {
		bad = append(bad, "inline code: "+m)
	}
	return bad
}

// No dashboard template holds inline scripts, <style>, style="" or on*
// attributes: the policy would block them in the browser, so a page that
// relied on one would silently break. Behaviour goes in dashboard.js and
// looks in style.css.
func TestTemplatesHaveNoInlineCode(t *testing.T) {
	for _, tt := range []struct {
		html string
		bad  bool
	}{
		{`<script src="/assets/dashboard.js?v={{.V}}"></script>`, false},
		{`<p class="x" data-on="1">one=1 style</p>`, false},
		{`<script>alert(1)</script>`, true},
		{`<script src="/x.js">alert(1)</script>`, true},
		{`<button type="button" onclick="go()">`, true},
		{`<td class="x"{{if .A}} style="color:red"{{end}}>`, true},
		{"<div\nONLOAD = 'x'>", true},
		{`<style>p{}</style>`, true},
		{`<a href="javascript:void(0)">`, true},
	} {
		if got := len(inlineProblems(tt.html)) > 0; got != tt.bad {
			t.Errorf("inlineProblems(%q) found %v, want %v", tt.html, got, tt.bad)
		}
	}
	n := 0
	err := fs.WalkDir(assets.FS, "dashboard", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		n++
		b, err := fs.ReadFile(assets.FS, path)
		if err != nil {
			return err
		}
		for _, p := range inlineProblems(string(b)) {
			t.Errorf("%s: %s (the Content-Security-Policy blocks it: move it to dashboard.js or style.css)", path, p)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walked %d templates: %v", n, err)
	}
}
