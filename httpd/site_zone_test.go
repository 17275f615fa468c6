package httpd_test

import (
	"net/http"
	"net/url"
	"testing"

	"appliance/httpd/httpdtest"
)

// The add-site form's zone (the browser's, filled in by dashboard.js) is
// the new site's; one the server does not know is dropped, not refused:
// the visitor did not type it, and the site is added on the server's zone.
func TestAddSiteZoneFromForm(t *testing.T) {
	srv := httpdtest.Start(t)
	c := srv.Client(t)
	for _, tc := range []struct{ tz, want string }{
		{"Europe/Moscow", "Europe/Moscow"},
		{"Mars/Olympus", ""},
		{"", ""},
	} {
		csrf := srv.FormToken(t, c, "/sites")
		status, _, _ := postForm(t, c, srv.URL+"sites", url.Values{"csrf": {csrf}, "name": {"Shop " + tc.tz}, "domain": {"shop.example.ru"}, "tz": {tc.tz}})
		if status != http.StatusSeeOther {
			t.Fatalf("add site with tz %q: %d", tc.tz, status)
		}
		list := srv.HTTP.Sites().List()
		got := list[len(list)-1]
		for _, s := range list {
			if s.Name == "Shop "+tc.tz {
				got = s
			}
		}
		if got.TimeZone != tc.want {
			t.Errorf("tz %q: site's zone %q, want %q", tc.tz, got.TimeZone, tc.want)
		}
	}
}
