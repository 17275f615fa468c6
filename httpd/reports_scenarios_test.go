package httpd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd/admin"
)

// Scenarios of a site owner's reports through the real endpoints: every
// figure compared with what the scenario says by hand.

// sourcesAPI is the sources report of the API for q: its rows by key and
// its total, each figure by its JSON name, and the answer as it came.
func sourcesAPI(t *testing.T, f *trFixture, tok string, q url.Values) (map[string]map[string]float64, map[string]float64, string) {
	t.Helper()
	q.Set("site", f.site.Key)
	code, raw := api(t, f, "GET", "api/v1/reports/sources?"+q.Encode(), tok, "")
	var env struct {
		Result struct {
			Rows  []map[string]any   `json:"rows"`
			Total map[string]float64 `json:"total"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
		t.Fatalf("sources %s: %d %s", q.Encode(), code, raw)
	}
	rows := map[string]map[string]float64{}
	for _, r := range env.Result.Rows {
		row := map[string]float64{}
		for k, v := range r {
			if n, ok := v.(float64); ok {
				row[k] = n
			}
		}
		rows[r["key"].(string)] = row
	}
	return rows, env.Result.Total, raw
}

// rebuildSite recounts the fixture's site from its raw records, as
// `appliance reports rebuild` does.
func rebuildSite(t *testing.T, f *trFixture) {
	t.Helper()
	adm := admin.InProcess(f.srv.HTTP.AdminHandler, nil)
	if _, err := adm.Rebuild(context.Background(), admin.Rebuild{Site: f.site.Key}, nil); err != nil {
		t.Fatal(err)
	}
}

// A visitor who came from search and left their phone in a lead later
// calls the static number of the Yandex ads (an offline ad, a printed
// number): the call is theirs (caller ID) but, as a call to a static
// number, credited to the number's source (README: "A call to a static
// number ... is credited to the source stored with it"), whatever the
// model: the yandex row gets it, not the search visit. A rebuild agrees.
func TestReportsStaticCallOfKnownCallerOnItsNumbersSource(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	tok := apiToken(t, f)
	h := f.hit(t, "", "https://shop.example.com/", "https://www.google.com/", "Home")
	if a := f.post(t, "t/v1/lead", f.creds(h, map[string]any{"hi": h.HitID, "name": "Ann", "phone": "+79161234567"})); a.Status != http.StatusOK {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	code, raw := api(t, f, "POST", "api/v1/calls", tok, `{"called":"`+tkYandex+`","caller":"79161234567","answered":true}`)
	if r := decodeResult(t, raw); code != http.StatusOK || r.Match != "static+caller_id" || r.VisitorID != h.VisitorID || r.UTMSource != "yandex" {
		t.Fatalf("the call: %d %s", code, raw)
	}
	before := map[string]string{}
	for _, model := range []string{"last_non_direct", "first", "last"} {
		rows, total, raw := sourcesAPI(t, f, tok, url.Values{"from": {"2026-11-26"}, "to": {"2026-11-26"}, "group": {"source"}, "model": {model}})
		before[model] = raw
		if rows["yandex"]["calls"] != 1 || rows["yandex"]["attributed_calls"] != 1 || rows["yandex"]["answered_calls"] != 1 ||
			rows["google.com"]["calls"] != 0 || rows["google.com"]["leads"] != 1 || total["calls"] != 1 {
			t.Errorf("model %s: yandex %v, google.com %v (total %v); want the call on yandex, the lead on google.com",
				model, rows["yandex"], rows["google.com"], total["calls"])
		}
	}
	rebuildSite(t, f)
	for model, want := range before {
		if _, _, got := sourcesAPI(t, f, tok, url.Values{"from": {"2026-11-26"}, "to": {"2026-11-26"}, "group": {"source"}, "model": {model}}); got != want {
			t.Errorf("model %s after a rebuild:\n%s\nbefore:\n%s", model, got, want)
		}
	}
}

// seriesAPI is the timeseries of the API for q: each point's figures by
// their JSON names, "at" as the answer wrote it.
func seriesAPI(t *testing.T, f *trFixture, tok string, q url.Values) ([]map[string]any, string) {
	t.Helper()
	q.Set("site", f.site.Key)
	code, raw := api(t, f, "GET", "api/v1/reports/timeseries?"+q.Encode(), tok, "")
	var env struct {
		Result struct {
			Points []map[string]any `json:"points"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
		t.Fatalf("timeseries %s: %d %s", q.Encode(), code, raw)
	}
	return env.Result.Points, raw
}

// A Moscow shop's two days: an ad visitor whose session begins at 23:50
// on the 25th and goes on past midnight (an event at 00:05 and a lead, a
// sale of 1500, at 00:10 on the 26th), a visitor from search at noon on
// the 26th, a crawler with ad tags; ad costs of 1000 and 500 on the two
// days. Each figure of the sources report, of its drill-down to the
// campaign's terms, of the series by day and by week (from Monday), by
// hand; a rebuild answers the same.
func TestReportsMoscowTwoDaysByHand(t *testing.T) {
	f := newTrFixture(t, true)
	ctx := context.Background()
	site, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	tok := apiToken(t, f)
	msk, _ := time.LoadLocation("Europe/Moscow")
	f.clock.Set(time.Date(2026, 11, 25, 23, 50, 0, 0, msk))
	a := f.hit(t, "", "https://shop.example.com/sofas?utm_source=google&utm_medium=cpc&utm_campaign=bf&utm_term=sofa", "", "Sofas")
	f.clock.Set(time.Date(2026, 11, 26, 0, 5, 0, 0, msk))
	a2 := f.hit(t, a.CI, "https://shop.example.com/cart", "", "Cart")
	if a2.NewSession {
		t.Fatal("the page after midnight began a new session")
	}
	if r := f.post(t, "t/v1/event", f.creds(a2, map[string]any{"hi": a2.HitID, "c": "cart", "a": "add"})); r.Status != http.StatusOK {
		t.Fatalf("event: %d %s", r.Status, r.Raw)
	}
	f.clock.Set(time.Date(2026, 11, 26, 0, 10, 0, 0, msk))
	if r := f.post(t, "t/v1/lead", f.creds(a2, map[string]any{"hi": a2.HitID, "name": "Ann", "phone": "+79161234567", "is_sale": true, "sale_cost": "1500"})); r.Status != http.StatusOK {
		t.Fatalf("lead: %d %s", r.Status, r.Raw)
	}
	f.clock.Set(time.Date(2026, 11, 26, 12, 0, 0, 0, msk))
	f.hit(t, "", "https://shop.example.com/", "https://www.google.com/", "Home")
	f.hitUA(t, botUA, "", "https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=bf", "", "Home")
	if _, err := f.srv.HTTP.Reports().ImportCosts(ctx, f.site, strings.NewReader("2026-11-25,google,cpc,bf,1000\n2026-11-26,google,cpc,bf,500\n")); err != nil {
		t.Fatal(err)
	}

	check := func(name string, got map[string]float64, want map[string]float64) {
		t.Helper()
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s: %s = %v, want %v (%v)", name, k, got[k], n, got)
			}
		}
	}
	answers := map[string]string{}
	days := url.Values{"from": {"2026-11-25"}, "to": {"2026-11-26"}}
	rows, total, raw := sourcesAPI(t, f, tok, days)
	answers["channel"] = raw
	check("ad", rows["ad"], map[string]float64{"sessions": 1, "visitors": 1, "new_visitors": 1, "events": 1, "leads": 1, "sales": 1, "revenue": 1500, "cost": 1500})
	check("organic", rows["organic"], map[string]float64{"sessions": 1, "visitors": 1, "events": 0, "leads": 0, "cost": 0})
	check("total", total, map[string]float64{"sessions": 2, "visitors": 2, "new_visitors": 2, "events": 1, "leads": 1, "sales": 1, "revenue": 1500, "cost": 1500})
	if len(rows) != 2 {
		t.Errorf("rows %v, want ad and organic (the crawler left out)", rows)
	}
	// Day by day: the session on the 25th, where it began; its event and
	// lead on the 26th, when they came; the cost of each day on its own.
	for day, want := range map[string]map[string]float64{
		"2026-11-25": {"sessions": 1, "events": 0, "leads": 0, "cost": 1000},
		"2026-11-26": {"sessions": 0, "events": 1, "leads": 1, "sales": 1, "cost": 500},
	} {
		rows, _, _ := sourcesAPI(t, f, tok, url.Values{"from": {day}, "to": {day}})
		check("ad on "+day, rows["ad"], want)
	}
	// The campaign's terms: the sofa row, and the campaign's cost in the
	// total (terms have no costs of their own), as the campaign row above.
	rows, total, raw = sourcesAPI(t, f, tok, url.Values{"from": {"2026-11-25"}, "to": {"2026-11-26"}, "group": {"term"},
		"channel": {"ad"}, "source": {"google"}, "medium": {"cpc"}, "campaign": {"bf"}})
	answers["term"] = raw
	check("sofa", rows["sofa"], map[string]float64{"sessions": 1, "leads": 1, "revenue": 1500})
	check("terms' total", total, map[string]float64{"sessions": 1, "leads": 1, "revenue": 1500, "cost": 1500})
	rows, _, _ = sourcesAPI(t, f, tok, url.Values{"from": {"2026-11-25"}, "to": {"2026-11-26"}, "group": {"campaign"}, "channel": {"ad"}, "source": {"google"}, "medium": {"cpc"}})
	check("bf", rows["bf"], map[string]float64{"sessions": 1, "cost": 1500})

	pts, raw := seriesAPI(t, f, tok, url.Values{"from": {"2026-11-25"}, "to": {"2026-11-26"}, "interval": {"day"}})
	answers["day"] = raw
	if len(pts) != 2 || pts[0]["at"] != "2026-11-25T00:00:00+03:00" || pts[0]["sessions"] != 1.0 || pts[0]["events"] != 0.0 ||
		pts[1]["sessions"] != 1.0 || pts[1]["events"] != 1.0 || pts[1]["leads"] != 1.0 || pts[1]["revenue"] != 1500.0 {
		t.Errorf("by day: %v", pts)
	}
	// A week from Wednesday the 25th to Tuesday the 1st: the weeks of
	// Monday the 23rd and Monday the 30th.
	pts, raw = seriesAPI(t, f, tok, url.Values{"from": {"2026-11-25"}, "to": {"2026-12-01"}, "interval": {"week"}})
	answers["week"] = raw
	if len(pts) != 2 || pts[0]["at"] != "2026-11-23T00:00:00+03:00" || pts[1]["at"] != "2026-11-30T00:00:00+03:00" ||
		pts[0]["sessions"] != 2.0 || pts[0]["leads"] != 1.0 || pts[1]["sessions"] != 0.0 {
		t.Errorf("by week: %v", pts)
	}
	rebuildSite(t, f)
	for name, q := range map[string]url.Values{
		"channel": days,
		"term":    {"from": {"2026-11-25"}, "to": {"2026-11-26"}, "group": {"term"}, "channel": {"ad"}, "source": {"google"}, "medium": {"cpc"}, "campaign": {"bf"}},
	} {
		if _, _, got := sourcesAPI(t, f, tok, q); got != answers[name] {
			t.Errorf("%s after a rebuild:\n%s\nbefore:\n%s", name, got, answers[name])
		}
	}
	if _, got := seriesAPI(t, f, tok, url.Values{"from": {"2026-11-25"}, "to": {"2026-11-26"}, "interval": {"day"}}); got != answers["day"] {
		t.Errorf("by day after a rebuild:\n%s\nbefore:\n%s", got, answers["day"])
	}
}

// Calls as the PBX reports them, each matched its own way: twice to the
// pool number an ad's visitor holds (a lease: theirs, google's), once to
// the pool's fallback number (shown when the pool was full: not
// attributed, on its rule's source), once to the site's own number with
// the caller hidden (nobody's: direct), once to the yandex static number
// (its rule's source). Every calls figure by hand, by channel and by
// source.
func TestReportsCallsByHowTheyMatched(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	tok := apiToken(t, f)
	number := func(u string) string {
		t.Helper()
		_, p := f.hitPhones(t, "", "", u)
		n, _ := shownNumber(p)
		return n
	}
	n1 := number("https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=bf")
	number("https://shop.example.com/?utm_source=vk&utm_medium=cpc")
	if fb := number("https://shop.example.com/?utm_medium=cpc"); fb != tkFallback || n1 == tkFallback {
		t.Fatalf("the third ad visitor got %s, the first %s; want the fallback %s for the third", fb, n1, tkFallback)
	}
	f.clock.Add(time.Minute)
	for _, c := range []struct{ called, caller, match string }{
		{n1, "79160000001", "lease"},
		{n1, "79160000001", "lease"},
		{tkFallback, "79160000002", ""},
		{tkSite, "", ""},
		{tkYandex, "79160000003", "static"},
	} {
		body := `{"called":"` + c.called + `","caller":"` + c.caller + `","answered":true}`
		code, raw := api(t, f, "POST", "api/v1/calls", tok, body)
		if r := decodeResult(t, raw); code != http.StatusOK || r.Match != c.match {
			t.Fatalf("call %s: %d %s, want match %q", body, code, raw, c.match)
		}
		f.clock.Add(time.Minute)
	}
	day := url.Values{"from": {"2026-11-26"}, "to": {"2026-11-26"}}
	calls := func(row map[string]float64) [3]float64 {
		return [3]float64{row["calls"], row["attributed_calls"], row["first_time_callers"]}
	}
	rows, total, _ := sourcesAPI(t, f, tok, url.Values{"from": day["from"], "to": day["to"], "group": {"source"}})
	for key, want := range map[string][3]float64{"google": {2, 2, 1}, "vk": {0, 0, 0}, "": {2, 0, 1}, "yandex": {1, 1, 1}} {
		if got := calls(rows[key]); got != want {
			t.Errorf("source %q: calls, attributed, first-time callers %v, want %v", key, got, want)
		}
	}
	if got := calls(total); got != [3]float64{5, 3, 3} || total["answered_calls"] != 5 {
		t.Errorf("total: %v, want 5 calls (5 answered), 3 attributed, 3 first-time callers", total)
	}
	rows, _, _ = sourcesAPI(t, f, tok, url.Values{"from": day["from"], "to": day["to"], "group": {"channel"}})
	if got := calls(rows["direct"]); got != [3]float64{1, 0, 0} {
		t.Errorf("direct: %v, want the site number's call alone, not attributed", got)
	}
	// The static number's rule names utm_source=yandex alone: the channel
	// its tags give, organic (a visit with those tags is organic too).
	for key, want := range map[string][3]float64{"ad": {3, 2, 2}, "organic": {1, 1, 1}} {
		if got := calls(rows[key]); got != want {
			t.Errorf("%s: calls, attributed, first-time callers %v, want %v", key, got, want)
		}
	}
}

// A site counted in UTC takes a call at 22:30 UTC on the 10th, then its
// owner sets its zone to Moscow, where that is 01:30 on the 11th, and
// recounts the reports: the Calls page's days (its 30 days' table) move
// with the reports' days, so both put the call on the 11th.
func TestRebuildMovesTheCallsPagesDays(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	ctx := context.Background()
	if _, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "UTC"); err != nil {
		t.Fatal(err)
	}
	tok := apiToken(t, f)
	f.clock.Set(time.Date(2027, 1, 10, 22, 30, 0, 0, time.UTC))
	if code, raw := api(t, f, "POST", "api/v1/calls", tok, `{"called":"`+tkSite+`","caller":"79160000001","answered":true}`); code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	callDays := func() (tenth, eleventh int64) {
		t.Helper()
		days, err := f.srv.HTTP.Numbers().CallDays(f.site.ID, time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC), time.Date(2027, 1, 11, 12, 0, 0, 0, time.UTC))
		if err != nil || len(days) != 2 {
			t.Fatalf("call days: %v %v", days, err)
		}
		return days[0].Calls, days[1].Calls
	}
	if d10, d11 := callDays(); d10 != 1 || d11 != 0 {
		t.Fatalf("in UTC: %d calls on the 10th, %d on the 11th", d10, d11)
	}
	site, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	rebuildSite(t, f)
	rows, _, _ := sourcesAPI(t, f, tok, url.Values{"from": {"2027-01-11"}, "to": {"2027-01-11"}})
	if rows["direct"]["calls"] != 1 {
		t.Errorf("the reports' 11th in Moscow: %v, want the call", rows)
	}
	if d10, d11 := callDays(); d10 != 0 || d11 != 1 {
		t.Errorf("the Calls page's days in Moscow: %d calls on the 10th, %d on the 11th; want the call on the 11th, as the reports", d10, d11)
	}
	// Recounting again changes nothing.
	rebuildSite(t, f)
	if d10, d11 := callDays(); d10 != 0 || d11 != 1 {
		t.Errorf("after a second recount: %d calls on the 10th, %d on the 11th", d10, d11)
	}
}
