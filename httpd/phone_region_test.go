package httpd_test

import (
	"net/http"
	"testing"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
)

// The phone region (--phone-region) decides how a number written without
// a country code is read, for a lead as for a visitor: "020 7946 0958" is
// a London number in GB, and no number in RU, the default: there the lead
// is kept as typed and flagged, never refused.
func TestPhoneRegion(t *testing.T) {
	for _, tc := range []struct {
		region, phone, want string
	}{
		{"", "8 (912) 345-67-89", "79123456789"},
		{"GB", "020 7946 0958", "442079460958"},
		{"GB", "+7 912 345 67 89", "79123456789"},
		{"", "020 7946 0958", ""}, // no Russian number: stored as typed, flagged
	} {
		srv := httpdtest.Start(t, func(o *httpd.Options) { o.PhoneRegion = tc.region })
		site := srv.Site(t, "Shop", "shop.example")
		v := trackHit(t, srv, site, "", "https://shop.example/", "")
		status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Ann", "phone": tc.phone}))
		ls := siteLeads(t, srv, site)
		if status != http.StatusOK || len(ls) != 1 {
			t.Fatalf("region %q, %q: %d %v, %d leads; want the lead stored", tc.region, tc.phone, status, out, len(ls))
		}
		if got := ls[0]; got.Phone != tc.want || got.PhoneRaw != tc.phone || got.PhoneUnparsed != (tc.want == "") {
			t.Errorf("region %q, %q: phone %q raw %q unparsed %v; want phone %q", tc.region, tc.phone, got.Phone, got.PhoneRaw, got.PhoneUnparsed, tc.want)
		}
	}
	if _, err := httpd.New(t.Context(), nil, httpd.Options{Listen: "127.0.0.1:0", PhoneRegion: "XX"}); err == nil {
		t.Error("an unknown region: no error")
	}
}
