package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The domain packages import neither fasthttp nor the server, directly or
// through another package, and the store imports no domain package: the
// layering the README describes, checked on the build graph by `go list`.
func TestDomainPackagesStayOutOfHTTP(t *testing.T) {
	// domainPackages know nothing of HTTP: the server (appliance/httpd)
	// decodes requests, calls them and encodes their answers. A new domain
	// package joins this list.
	domainPackages := []string{
		"appliance/httpd/visits",
		"appliance/httpd/leads",
		"appliance/httpd/callbacks",
		"appliance/httpd/webhooks",
		"appliance/httpd/accounts",
		"appliance/httpd/sites",
		"appliance/httpd/ratelimit",
		"appliance/httpd/outbox",
		"appliance/httpd/notice",
		"appliance/httpd/visitors",
		"appliance/numbers",
		"appliance/numbers/tracking",
		"appliance/captcha",
		"appliance/store",
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no go tool on PATH")
		}
		t.Skip("no go tool on PATH")
	}
	// One line per package: its path, then every package it depends on.
	args := append([]string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}, domainPackages...)
	out, err := exec.Command(goTool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(domainPackages) {
		t.Fatalf("go list gave %d lines for %d packages:\n%s", len(lines), len(domainPackages), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		pkg, deps := f[0], f[1:]
		if len(deps) == 0 {
			t.Fatalf("go list: %s has no dependencies, not even the standard library", pkg)
		}
		for _, dep := range deps {
			switch {
			case dep == "github.com/valyala/fasthttp" || strings.HasPrefix(dep, "github.com/valyala/fasthttp/"):
				t.Errorf("%s imports %s: a domain package knows nothing of HTTP", pkg, dep)
			case dep == "appliance/httpd" || dep == "appliance/httpd/httpdtest":
				t.Errorf("%s imports %s: the server calls the domain, not the other way", pkg, dep)
			case pkg == "appliance/store" && dep != pkg && strings.HasPrefix(dep, "appliance/") && !strings.HasPrefix(dep, "appliance/store/"):
				t.Errorf("appliance/store imports %s: the store imports no domain package", dep)
			}
		}
	}
}

// The binary links the time zone database, and no build tool and no package whose init costs every
// start what first use can pay: the snippet is built by esbuild at
// `go generate ./assets` time (appliance/internal/snippetbuild) and
// embedded (esbuild was ~2.5 MB of the binary's code, and work at every
// start); CrawlerDetect compiles its two large regular expressions in its
// init (30-80 ms, a quarter of an empty server's start), so httpd/visits
// keeps a copy of its lists (botlist_data.go) and compiles them when an
// agent first needs them.
func TestBinaryLinksNoBuildTool(t *testing.T) {
	notLinked := []string{"github.com/evanw/esbuild/", "appliance/internal/snippetbuild", "github.com/x-way/crawlerdetect"}
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no go tool on PATH")
		}
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "appliance/httpd") {
		t.Fatalf("go list -deps . does not list appliance/httpd:\n%s", out)
	}
	// A site's time zone is found where the system has no zoneinfo
	// (tzdata.go), whatever the build's tags.
	if !slices.Contains(deps, "time/tzdata") {
		t.Error("the binary does not link time/tzdata: a machine without /usr/share/zoneinfo refuses every site's time zone")
	}
	for _, dep := range deps {
		for _, p := range notLinked {
			if dep == p || strings.HasPrefix(dep, p) {
				t.Errorf("the binary links %s", dep)
			}
		}
	}
}
