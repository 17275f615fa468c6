package httpd_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
)

// A site's own phone region, set on its settings page, decides how a
// number written without a country code is read for that site's leads,
// over the server's --phone-region (RU): "8 029 123-45-67" is a Minsk
// mobile in BY and a +7 number in RU. A region the parser does not know is
// refused with nothing changed.
func TestSitePhoneRegion(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	other := srv.Site(t, "Other", "other.example")
	const phone = "8 029 123-45-67"

	lead := func(s, domain string) (string, bool) {
		t.Helper()
		v := trackHit(t, srv, s, "", "https://"+domain+"/", "")
		status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(s, v, map[string]any{"name": "Ann", "phone": phone}))
		ls := siteLeads(t, srv, s)
		if status != http.StatusOK || len(ls) == 0 {
			t.Fatalf("lead: %d %v, %d leads", status, out, len(ls))
		}
		return ls[0].Phone, ls[0].PhoneUnparsed
	}

	c := srv.Client(t)
	page := srv.URL + "sites/" + site + "/settings"
	form := url.Values{"csrf": {srv.FormToken(t, c, "sites/"+site+"/settings")}, "name": {"Shop"}, "domains": {"shop.example"}}
	form.Set("phone_region", "XX")
	if status, body, _ := postForm(t, c, page, form); status != http.StatusBadRequest || !strings.Contains(body, "two-letter country code") {
		t.Errorf("region XX: %d\n%s", status, body)
	}
	if got, _ := lead(site, "shop.example"); got != "70291234567" {
		t.Errorf("before the site's region (server RU): phone %q; want it read as a +7 number", got)
	}
	form.Set("phone_region", "by")
	if status, _, _ := postForm(t, c, page, form); status != http.StatusSeeOther {
		t.Fatalf("saving region BY: %d", status)
	}
	if _, body := getPage(t, c, page); !strings.Contains(body, `value="BY"`) {
		t.Errorf("the settings page does not show BY")
	}
	if got, unparsed := lead(site, "shop.example"); got != "375291234567" || unparsed {
		t.Errorf("site in BY: phone %q, unparsed %v; want 375291234567", got, unparsed)
	}
	if got, _ := lead(other, "other.example"); got != "70291234567" {
		t.Errorf("another site (server's RU): phone %q, want it read as a +7 number", got)
	}
}
