package httpd

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestRouterPatterns(t *testing.T) {
	r := newRouter()
	names := map[*route]string{}
	add := func(method, path, name string) {
		r.add(method, path, false, open, func(*fasthttp.RequestCtx) error { return nil })
		for _, rt := range append(append(r.patterns, r.prefix...), r.exact[method+" "+path]) {
			if rt != nil && names[rt] == "" {
				names[rt] = name
			}
		}
	}
	add("GET", "/sites", "sites")
	add("GET", "/sites/*", "site")
	add("GET", "/sites/*/leads", "leads")
	add("GET", "/sites/*/leads.csv", "csv")
	add("POST", "/sites/*/webhooks", "add hook")
	for _, tt := range []struct {
		method, path, want string
		known              bool
	}{
		{"GET", "/sites", "sites", true},
		{"GET", "/sites/KEY", "site", true},
		{"GET", "/sites/KEY/leads", "leads", true},
		{"HEAD", "/sites/KEY/leads", "leads", true},
		{"GET", "/sites/KEY/leads.csv", "csv", true},
		{"GET", "/sites/KEY/leads/extra", "site", true},
		{"GET", "/sites//leads", "site", true},
		{"POST", "/sites/KEY/webhooks", "add hook", true},
		{"GET", "/sites/KEY/webhooks", "", true}, // 405: the pattern is known for POST
		{"POST", "/sites/KEY/leads", "", true},
		{"GET", "/other", "", false},
	} {
		rt, known := r.find(tt.method, tt.path)
		if got := names[rt]; got != tt.want || known != tt.known {
			t.Errorf("%s %s = %q (known %v), want %q (known %v)", tt.method, tt.path, got, known, tt.want, tt.known)
		}
	}
}
