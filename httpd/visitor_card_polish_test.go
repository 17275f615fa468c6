package httpd_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A lead sent from a crawler's visit by a visitor with no person's visit
// before it is counted by the reports as direct (a crawler's session is
// never credited): the card says so, and does not leave the crawler's
// source standing as where the lead counts.
func TestVisitorCardCrawlerLeadCountsAsDirect(t *testing.T) {
	f := newTrFixture(t, true)
	const crawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	b := f.hitUA(t, crawler, "", "https://shop.example.com/promo?utm_source=spamcrawler&utm_medium=cpc&utm_campaign=x", "https://crawler.example/", "x")
	if !f.session(t, b.SessionID).Bot {
		t.Fatal("the crawler's session is not counted as a crawler's")
	}
	a := f.do(t, "POST", "t/v1/lead", crawler, mustJSON(f.creds(b, map[string]any{"hi": b.HitID, "name": "Bot", "phone": "79161234567"})))
	if a.Status != http.StatusOK {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	lead := siteLeads(t, f.srv, f.site.Key)[0].ID
	// The reports: the lead is on the direct row.
	q := url.Values{"site": {f.site.Key}, "from": {"2026-11-26"}, "to": {"2026-11-26"}, "group": {"channel"}}
	code, raw := api(t, f, "GET", "api/v1/reports/sources?"+q.Encode(), apiToken(t, f), "")
	var env struct {
		Result struct {
			Rows []struct {
				Key   string `json:"key"`
				Leads int    `json:"leads"`
			} `json:"rows"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
		t.Fatalf("report: %d %s", code, raw)
	}
	leads := map[string]int{}
	for _, r := range env.Result.Rows {
		leads[r.Key] = r.Leads
	}
	if leads["direct"] != 1 || leads["ad"] != 0 {
		t.Fatalf("the report does not count the crawler's lead as direct: %v", leads)
	}
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(b.VisitorID, 10)
	for lang, want := range map[string][2]string{
		"en": {"In reports: no visit, direct (a crawler's visits are not counted)", `<span class="tag">direct</span>`},
		"ru": {"В отчётах — без визита, прямой заход (визиты роботов не учитываются)", `<span class="tag">прямые заходы</span>`},
	} {
		code, page := getPageIn(t, c, u, lang)
		if code != http.StatusOK {
			t.Fatalf("%s: card: %d", lang, code)
		}
		li := cutAt(page, `id="lead-`+strconv.FormatUint(lead, 10)+`"`, "</li>")
		if li == "" {
			t.Fatalf("%s: the card has no lead:\n%s", lang, page)
		}
		credit := strings.ReplaceAll(cutAt(li, `<div class="source credit">`, "\n"), "&#39;", "'")
		if !strings.Contains(credit, want[0]) || !strings.Contains(credit, want[1]) {
			t.Errorf("%s: the lead does not say the reports count it as direct (%q, %q):\n%s", lang, want[0], want[1], li)
		}
		if strings.Contains(credit, "spamcrawler") {
			t.Errorf("%s: the card credits the crawler's source:\n%s", lang, li)
		}
	}
}

// A visit's heading on the card names it once, with its number, in the
// reader's language: it read "визит 26.11.2026 10:00 визит № 2" (and
// "visit … session #2").
func TestVisitorCardVisitHeadingSaysVisitOnce(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/", "", "Home")
	c := f.srv.Client(t)
	u := f.srv.URL + "sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(h.VisitorID, 10)
	id := strconv.FormatUint(h.SessionID, 10)
	for lang, want := range map[string][2]string{
		"en": {"visit #" + id, "visit"},
		"ru": {"визит № " + id, "визит"},
	} {
		code, page := getPageIn(t, c, u, lang)
		if code != http.StatusOK {
			t.Fatalf("%s: card: %d", lang, code)
		}
		head := cutAt(cutAt(page, `id="session-`+id+`"`, "</li>"), `<div class="tl-head">`, "</div>")
		text := strings.ReplaceAll(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(head, ""), "\u00a0", " ")
		if !strings.Contains(text, want[0]) || strings.Count(strings.ToLower(text), want[1]) != 1 || strings.Contains(text, "session") {
			t.Errorf("%s: the visit's heading reads %q, want %q once and no other word for it", lang, text, want[0])
		}
	}
}
