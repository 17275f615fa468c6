package reports

import (
	"net/url"
	"testing"
)

// FuzzSplitPlainURL: what splitPlainURL reads, url.Parse reads the same.
func FuzzSplitPlainURL(f *testing.F) {
	for _, s := range []string{"https://shop.example.com/catalog/shoes?color=red", "http://a", "https://a?x", "https://www.Yandex.RU/",
		"https://a/b%20c", "https://a/b#c", "https://a:80/", "https://u@a/", "https:///x", "https://a/b?c#d", "http://a/\x01", "https://a/?\xff",
		"https://[::1]/", "https://a/b c?d e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, path, ok := splitPlainURL(s)
		if !ok {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("%q: splitPlainURL reads it, url.Parse: %v", s, err)
		}
		if host != u.Hostname() || path != u.Path {
			t.Fatalf("%q: host %q path %q, url.Parse %q %q", s, host, path, u.Hostname(), u.Path)
		}
	})
}
