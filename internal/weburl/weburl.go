// Package weburl reads the plain http(s) URLs that nearly every page view
// and referrer is — https://shop.example.com/catalog?utm_source=ya — as
// net/url.Parse reads them, without building a url.URL: the hit path
// reads a referrer on every hit and a landing page and referrer on every
// session it counts. Any other URL is left to url.Parse.
package weburl

import (
	"net/url"
	"strings"
)

// Plain returns the host, path and raw query of s when s is a plain
// http(s) URL: "http://" or "https://", a host of ASCII letters, digits,
// "-", ".", "_" and "~" (no user, no port), a path without "%" escapes, an
// optional query, no fragment and no control character. They are what
// url.Parse(s) gives as Hostname(), Path and RawQuery (FuzzPlain). ok is
// false for any other s, whether url.Parse reads it or not.
func Plain(s string) (host, path, query string, ok bool) {
	rest, found := strings.CutPrefix(s, "https://")
	if !found {
		if rest, found = strings.CutPrefix(s, "http://"); !found {
			return "", "", "", false
		}
	}
	i := 0
	for ; i < len(rest); i++ {
		c := rest[i]
		if c == '/' || c == '?' {
			break
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return "", "", "", false
		}
	}
	if i == 0 {
		return "", "", "", false
	}
	host, rest = rest[:i], rest[i:]
	j := 0
	for ; j < len(rest) && rest[j] != '?'; j++ {
		if c := rest[j]; c < 0x20 || c == 0x7f || c == '%' || c == '#' {
			return "", "", "", false
		}
	}
	path = rest[:j]
	if j < len(rest) {
		query = rest[j+1:]
		for k := 0; k < len(query); k++ {
			if c := query[k]; c < 0x20 || c == 0x7f || c == '#' {
				return "", "", "", false
			}
		}
	}
	return host, path, query, true
}

// Parse returns what url.Parse(s) returns when s is a plain URL (see
// Plain): a URL equal to it in every field (FuzzParse). ok is false for
// any other s, which the caller then gives url.Parse.
func Parse(s string) (u *url.URL, ok bool) {
	host, path, query, ok := Plain(s)
	if !ok {
		return nil, false
	}
	u = &url.URL{Scheme: "https", Host: host, Path: path, RawQuery: query}
	if s[4] == ':' {
		u.Scheme = "http"
	}
	if query == "" && strings.HasSuffix(s, "?") && strings.Count(s, "?") == 1 {
		u.ForceQuery = true
	}
	if u.EscapedPath() != path {
		u.RawPath = path // url.Parse keeps the path as written when escaping would change it
	}
	return u, true
}
