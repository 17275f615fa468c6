package httpd_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"appliance/httpd/accounts"
	"appliance/numbers/tracking"
	"appliance/store"
)

// A token for some sites reads and reports only their numbers: another
// site's number, or one no site has, is a 403 with the reason, and nothing
// is stored.
func TestSiteScopedAPIToken(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f) // the fixture's site "Shop" has tkYandex
	ctx := context.Background()
	otherKey := f.srv.Site(t, "Other", "other.example.com")
	other, err := f.srv.HTTP.Sites().ByKey(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	const otherNumber = "74957770011"
	if _, err := f.srv.HTTP.Numbers().AddStatic(ctx, other.ID, tracking.StaticInput{Number: otherNumber,
		RuleInput: tracking.RuleInput{Rule: "utm_source=bing"}}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	scoped, err := accounts.New(f.srv.DB).CreateToken(ctx, "other's crm", []uint32{other.ID})
	if err != nil {
		t.Fatal(err)
	}
	callsOf := func(site uint32) int {
		n := 0
		f.srv.DB.ScanPrefix(ctx, store.CallPrefix(site), false, 0, func(_, _ []byte) bool { n++; return true })
		return n
	}

	for _, number := range []string{tkYandex, "79990001122"} {
		code, raw := api(t, f, "GET", "api/v1/attribution?"+url.Values{"number": {number}}.Encode(), scoped, "")
		if code != http.StatusForbidden || !strings.Contains(raw, "limited to some sites") {
			t.Errorf("attribution of %s with the other site's token: %d %s", number, code, raw)
		}
		code, raw = api(t, f, "POST", "api/v1/calls", scoped, `{"called":"`+number+`"}`)
		if code != http.StatusForbidden || !strings.Contains(raw, "limited to some sites") {
			t.Errorf("call to %s with the other site's token: %d %s", number, code, raw)
		}
	}
	if n := callsOf(f.site.ID) + callsOf(0); n != 0 {
		t.Errorf("%d calls stored by refused requests", n)
	}

	code, raw := api(t, f, "GET", "api/v1/attribution?"+url.Values{"number": {otherNumber}}.Encode(), scoped, "")
	if r := decodeResult(t, raw); code != http.StatusOK || !r.Attributed || r.UTMSource != "bing" {
		t.Errorf("attribution of its own site's number: %d %s", code, raw)
	}
	code, raw = api(t, f, "POST", "api/v1/calls", scoped, `{"called":"`+otherNumber+`"}`)
	if code != http.StatusOK || callsOf(other.ID) != 1 {
		t.Errorf("call to its own site's number: %d %s", code, raw)
	}
	// A token for every site (the default) still reads any site.
	if r := attribution(t, f, tkYandex, f.clock.Now()); !r.Attributed || r.UTMSource != "yandex" {
		t.Errorf("all-sites token: %+v", r)
	}
}
