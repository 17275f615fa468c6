package weburl

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzPlain: what Plain reads, url.Parse reads the same: an http(s) URL
// with that host, path and query, nothing else.
func FuzzPlain(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, path, query, ok := Plain(s)
		if !ok {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("%q: Plain reads it, url.Parse: %v", s, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Fragment != "" || u.Port() != "" {
			t.Fatalf("%q: url.Parse reads %#v", s, u)
		}
		if host != u.Hostname() || host != u.Host || path != u.Path || query != u.RawQuery {
			t.Fatalf("%q: host %q path %q query %q, url.Parse %q %q %q", s, host, path, query, u.Hostname(), u.Path, u.RawQuery)
		}
	})
}

// FuzzParse: the URL Parse returns is url.Parse's, field by field.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Parse(s)
		if !ok {
			return
		}
		want, err := url.Parse(s)
		if err != nil {
			t.Fatalf("%q: Parse reads it, url.Parse: %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %#v, url.Parse %#v", s, got, want)
		}
	})
}

// seeds are plain URLs and near misses.
var seeds = []string{"https://shop.example.com/catalog/shoes?color=red", "http://a", "https://a?x", "https://a?", "https://www.Yandex.RU/",
	"https://a/b%20c", "https://a/b#c", "https://a:80/", "https://u@a/", "https:///x", "https://a/b?c#d", "http://a/\x01", "https://a/?\xff",
	"https://[::1]/", "https://a/b c?d e", "HTTPS://a/", "https://a/b?c=%zz", "https://a/é?ё"}
