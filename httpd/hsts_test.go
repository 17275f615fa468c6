package httpd_test

import (
	"net/http"
	"testing"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
)

// An appliance whose public URL is https (--acme-domain, --tls-cert, or
// TLS ended by a proxy in front) tells browsers to reach it over https
// only, for a year (HSTS): a sign-in page opened once over https is never
// again fetched over plain http, where anyone on the network could serve
// a copy that takes the password (ACME's port 80 answers http with a
// redirect, which such a network need not pass on). One on plain http
// says nothing: browsers ignore the header there, and it would only
// mislead.
// noRedirects answers a redirect as it is, to read its headers.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestHTTPSPublicURLSendsHSTS(t *testing.T) {
	for _, tc := range []struct {
		public, want string
	}{
		{"https://track.example", "max-age=31536000"},
		{"", ""},
	} {
		srv := httpdtest.Start(t, func(o *httpd.Options) {
			if tc.public != "" {
				o.PublicURL = tc.public
			}
		})
		for _, path := range []string{"login", "sites", "t/v1/chat/status?k=x", "no-such-page"} {
			resp, err := noRedirects.Get("http://" + srv.Addr + "/" + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != tc.want {
				t.Errorf("public URL %q, /%s: Strict-Transport-Security %q, want %q", tc.public, path, got, tc.want)
			}
		}
	}
}
