package httpd_test

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"appliance/assets"
)

// Every dashboard form field that can be marked invalid by a refusal
// ({{invalid $ "key"}}, or .View in a partial) has the message beside it ({{fieldError $ "key"}})
// and the other way round, each key once a page: a refusal whose field
// the page marks but does not explain (or explains twice) would lose its
// message, since the top of the page leaves it out (view.Field).
func TestFieldErrorsPairWithTheirFields(t *testing.T) {
	calls := regexp.MustCompile(`\{\{(invalid|fieldError) (?:[.$]|\.View) "([^"]+)"\}\}`)
	pages, err := fs.Glob(assets.FS, "dashboard/*.html")
	if err != nil || len(pages) == 0 {
		t.Fatalf("templates: %v %v", pages, err)
	}
	seen := 0
	for _, p := range pages {
		b, err := fs.ReadFile(assets.FS, p)
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string][]string{}
		for _, m := range calls.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = append(keys[m[1]], m[2])
		}
		slices.Sort(keys["invalid"])
		slices.Sort(keys["fieldError"])
		if !slices.Equal(keys["invalid"], keys["fieldError"]) || len(slices.Compact(slices.Clone(keys["invalid"]))) != len(keys["invalid"]) {
			t.Errorf("%s: fields marked %q, explained %q", p, keys["invalid"], keys["fieldError"])
		}
		seen += len(keys["invalid"])
		if strings.Contains(string(b), "aria-invalid") {
			t.Errorf("%s marks a field invalid by hand: use {{invalid $ \"key\"}}", p)
		}
	}
	if seen == 0 {
		t.Errorf("no template marks a field")
	}
}
