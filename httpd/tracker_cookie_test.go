package httpd

import (
	"testing"
)

// The snippet's cookies are on the page host's registrable domain; an IP
// address, a single label or a public suffix has none.
func TestCookieDomain(t *testing.T) {
	for u, want := range map[string]string{
		"https://www.shop.example.com/a?b": "example.com",
		"https://example.com/":             "example.com",
		"http://WWW.Example.COM:8080/":     "example.com",
		"https://shop.example.co.uk/":      "example.co.uk",
		"https://me.github.io/":            "me.github.io",
		"http://www.shop.localhost:81/":    "shop.localhost",
		"http://localhost:8080/":           "",
		"http://127.0.0.1:8080/":           "",
		"http://[::1]:8080/":               "",
		"https://co.uk/":                   "",
		"https://xn--80aairftm.xn--p1ai/":  "xn--80aairftm.xn--p1ai",
		"not a url %":                      "",
	} {
		if got := cookieDomain(u); got != want {
			t.Errorf("cookieDomain(%q) = %q, want %q", u, got, want)
		}
	}
}
