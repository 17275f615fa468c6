package httpd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

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
