package httpd_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
	"appliance/httpd/reports"
	"appliance/store"
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

// The site's pages write numbers as people in the site's phone region read
// them: a Minsk caller on the Calls page is "8 029 123-45-67" for a site in
// BY, "+375 29 123-45-67" for one in the server's RU.
func TestSitePhoneRegionOnPages(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	token := apiToken(t, f)
	if code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"8 (487) 275-14-04","caller":"375291234567","started_at":"2026-01-01T10:00:00Z","duration":5,"answered":true}`); code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	c := f.srv.Client(t)
	calls := f.srv.URL + "sites/" + f.site.Key + "/calls"
	if _, body := getPage(t, c, calls); !strings.Contains(body, `href="tel:+375291234567">+375 29 123-45-67</a>`) {
		t.Errorf("server's region (RU): the Minsk caller is not written internationally:\n%s", body)
	}
	settings := f.srv.URL + "sites/" + f.site.Key + "/settings"
	form := url.Values{"csrf": {f.srv.FormToken(t, c, "sites/"+f.site.Key+"/settings")}, "name": {"Shop"}, "domains": {"shop.example.com"}, "phone_region": {"BY"}}
	if status, body, _ := postForm(t, c, settings, form); status != http.StatusSeeOther {
		t.Fatalf("saving region BY: %d %s", status, body)
	}
	if _, body := getPage(t, c, calls); !strings.Contains(body, `href="tel:+375291234567">8 029 123-45-67</a>`) {
		t.Errorf("site in BY: the Minsk caller is not written as in Minsk:\n%s", body)
	}
	// The site's own (Russian) number, on the same page, is international there.
	if _, body := getPage(t, c, calls); !strings.Contains(body, `+7 487 275-14-04`) {
		t.Errorf("site in BY: its Russian number is not written internationally")
	}
}

// The settings page names the server's zone, which a site without one of
// its own reports in, as the reports do (an IANA name), not as Go's
// "Local", which tells a site owner nothing.
func TestSettingsPageNamesServerZone(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	_, body := getPage(t, srv.Client(t), srv.URL+"sites/"+site+"/settings")
	want := reports.ZoneName(&store.Site{}, time.Local)
	if strings.Contains(body, "(Local)") || !strings.Contains(body, "zone ("+want+")") {
		t.Errorf("settings page: want the server's zone named %q, not Local; page has %q", want, regexp.MustCompile(`zone \([^)]*\)`).FindString(body))
	}
}
