package httpd_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
)

// The rule tester on the numbers page names the fields as the form labels
// them, not as the tracker's wire format does (u, r).
func TestRuleTesterNamesFormFields(t *testing.T) {
	srv := httpdtest.Start(t)
	srv.Owner(t)
	key := srv.Site(t, "Shop", "shop.example.com")
	c := signInAs(t, srv, accounts.RoleManager)
	for _, tt := range []struct{ url, ref, want string }{
		{"javascript:alert(1)", "", "Landing page URL must be an absolute http(s) URL"},
		{"https://shop.example.com/", "not a url", "Referrer must be empty or an absolute URL"},
	} {
		body := html.UnescapeString(getBody(t, c, srv.URL+"sites/"+key+"/numbers?test_url="+url.QueryEscape(tt.url)+"&test_ref="+url.QueryEscape(tt.ref)))
		if !strings.Contains(body, tt.want) {
			t.Errorf("rule test of %q %q: no %q on the page", tt.url, tt.ref, tt.want)
		}
		if regexp.MustCompile(`\b[ur] must be`).MatchString(body) {
			t.Errorf("rule test of %q %q names the wire fields", tt.url, tt.ref)
		}
	}
}
