package httpd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"appliance/httpd/admin"
)

// A lead is a person's: one sent from a session the tracker counted as a
// crawler's is never credited to the source the crawler came with (a row
// of no session), neither live nor after a rebuild. A visitor with no
// person's session before it has it credited as a lead without a known
// visit (direct, no source); one who came before as a person, from an ad,
// has it credited to that visit, as any lead of theirs.
func TestReportsCrawlerLead(t *testing.T) {
	f := newTrFixture(t, true)
	tok := apiToken(t, f)
	const crawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	lead := func(h trHit, name string) {
		t.Helper()
		a := f.do(t, "POST", "t/v1/lead", crawler, mustJSON(f.creds(h, map[string]any{"hi": h.HitID, "name": name, "phone": "79161234567"})))
		if a.Status != http.StatusOK {
			t.Fatalf("lead: %d %s", a.Status, a.Raw)
		}
	}
	// A crawler that follows a tagged link, with a referrer of its own,
	// and sends a lead from that visit.
	b := f.hitUA(t, crawler, "", "https://shop.example.com/promo?utm_source=spamcrawler&utm_medium=cpc&utm_campaign=x", "https://crawler.example/", "x")
	if !f.session(t, b.SessionID).Bot {
		t.Fatal("the crawler's session is not counted as a crawler's")
	}
	lead(b, "Bot")
	// A person from an ad, whose next page view (the same ci) comes with
	// a crawler's agent, and whose lead is sent from it.
	p := f.hit(t, "", "https://shop.example.com/sale?utm_source=yandex&utm_medium=cpc&utm_campaign=winter", "", "Sale")
	p2 := f.hitUA(t, crawler, p.CI, "https://shop.example.com/contacts?utm_source=spamcrawler", "https://crawler.example/", "Contacts")
	lead(p2, "Ann")

	check := func(when string) {
		for _, g := range []string{"channel", "source", "campaign", "landing_page", "referrer"} {
			q := url.Values{"site": {f.site.Key}, "from": {"2026-11-26"}, "to": {"2026-11-26"}, "group": {g}}
			code, raw := api(t, f, "GET", "api/v1/reports/sources?"+q.Encode(), tok, "")
			var env struct {
				Result struct {
					Rows []struct {
						Key      string `json:"key"`
						Sessions int    `json:"sessions"`
						Leads    int    `json:"leads"`
					} `json:"rows"`
					Total struct {
						Leads int `json:"leads"`
					} `json:"total"`
				} `json:"result"`
			}
			if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
				t.Fatalf("%s: %d %s", g, code, raw)
			}
			leads := map[string]int{}
			for _, r := range env.Result.Rows {
				if r.Sessions == 0 && r.Leads > 0 && r.Key != "" && r.Key != "direct" {
					t.Errorf("%s, by %s: the row %q has leads and no session (a crawler's row): %s", when, g, r.Key, raw)
				}
				leads[r.Key] = r.Leads
			}
			if env.Result.Total.Leads != 2 {
				t.Errorf("%s, by %s: %d leads, want 2", when, g, env.Result.Total.Leads)
			}
			want := map[string]map[string]int{
				"channel":      {"ad": 1, "direct": 1},
				"source":       {"yandex": 1, "": 1},
				"campaign":     {"winter": 1, "": 1},
				"landing_page": {"/sale": 1, "": 1},
				"referrer":     {"": 2},
			}[g]
			for k, n := range want {
				if leads[k] != n {
					t.Errorf("%s, by %s: %q has %d leads, want %d (%v)", when, g, k, leads[k], n, leads)
				}
			}
		}
	}
	check("live")
	adm := admin.InProcess(f.srv.HTTP.AdminHandler, nil)
	if _, err := adm.Rebuild(context.Background(), admin.Rebuild{Site: f.site.Key}, nil); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
}

// The Sources tab says what its visitors are (each day's unique visitors
// added up), which is not what Pages, Events and Devices count, in the
// reader's language.
func TestSourcesTabSaysWhatVisitorsAre(t *testing.T) {
	f := newTrFixture(t, true)
	f.hit(t, "", "https://shop.example.com/", "", "Home")
	c := f.srv.Client(t)
	for lang, want := range map[string]string{
		"en": "a visitor who came on 3 days counts 3",
		"ru": "пришедший в 3 разных дня считается 3 раза",
	} {
		code, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?period=30d", lang)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d, the Sources tab does not say %q", lang, code, want)
		}
	}
}
