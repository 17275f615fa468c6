package httpd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
)

// The reports API through the real server: a visitor from an ad gets a
// pool number and calls it; the sources report credits the call to the
// ad, the timeseries has a point for every day; a token of another site,
// no token and bad queries are 4xx JSON errors.
func TestReportsAPI(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	ctx := context.Background()
	site, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	f.clock.now = time.Date(2026, 11, 25, 21, 30, 0, 0, time.UTC) // 00:30 on the 26th in Moscow
	h, phones := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn")
	number, _ := shownNumber(phones)
	if number == "" {
		t.Fatal("the ad's visitor got no pool number")
	}
	f.hit(t, "", "https://shop.example.com/", "https://www.google.com/", "Home")
	tok := apiToken(t, f)
	code, raw := api(t, f, "POST", "api/v1/calls", tok, `{"called":"`+number+`","caller":"79161234567","answered":true,"duration":30}`)
	if code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}
	_ = h

	get := func(path, token string) (int, map[string]any) {
		t.Helper()
		code, raw := api(t, f, "GET", path, token, "")
		var env map[string]any
		if err := json.Unmarshal([]byte(raw), &env); err != nil {
			t.Fatalf("%s: %d %q is no JSON", path, code, raw)
		}
		return code, env
	}
	q := url.Values{"site": {f.site.Key}, "from": {"2026-11-24"}, "to": {"2026-11-26"}, "group": {"channel"}}
	code, env := get("api/v1/reports/sources?"+q.Encode(), tok)
	if code != http.StatusOK || env["success"] != true {
		t.Fatalf("sources: %d %v", code, env)
	}
	res := env["result"].(map[string]any)
	if res["from"] != "2026-11-24" || res["to"] != "2026-11-26" || res["time_zone"] != "Europe/Moscow" {
		t.Errorf("sources header = %v", res)
	}
	rows := map[string]map[string]any{}
	for _, r := range res["rows"].([]any) {
		row := r.(map[string]any)
		rows[row["key"].(string)] = row
	}
	fields := []string{"key", "sessions", "visitors", "new_visitors", "events", "leads", "callbacks", "calls",
		"answered_calls", "first_time_callers", "chats", "sales", "revenue", "cost"}
	for _, k := range fields {
		if _, ok := rows["ad"][k]; !ok {
			t.Errorf("row has no %q: %v", k, rows["ad"])
		}
	}
	if ad := rows["ad"]; ad["sessions"] != 1.0 || ad["calls"] != 1.0 || ad["answered_calls"] != 1.0 || ad["first_time_callers"] != 1.0 {
		t.Errorf("ad row = %v", ad)
	}
	if org := rows["organic"]; org["sessions"] != 1.0 || org["calls"] != 0.0 {
		t.Errorf("organic row = %v", org)
	}
	if tot := res["total"].(map[string]any); tot["sessions"] != 2.0 || tot["calls"] != 1.0 {
		t.Errorf("total = %v", tot)
	}

	q = url.Values{"site": {f.site.Key}, "from": {"2026-11-24"}, "to": {"2026-11-26"}, "interval": {"day"}}
	code, env = get("api/v1/reports/timeseries?"+q.Encode(), tok)
	if code != http.StatusOK {
		t.Fatalf("timeseries: %d %v", code, env)
	}
	pts := env["result"].(map[string]any)["points"].([]any)
	if len(pts) != 3 {
		t.Fatalf("points = %v", pts)
	}
	last := pts[2].(map[string]any)
	if pts[0].(map[string]any)["sessions"] != 0.0 || last["sessions"] != 2.0 || last["calls"] != 1.0 || last["at"] != "2026-11-26T00:00:00+03:00" {
		t.Errorf("points = %v", pts)
	}
	for _, k := range []string{"at", "sessions", "visitors", "calls", "leads", "callbacks", "sales"} {
		if _, ok := last[k]; !ok {
			t.Errorf("point has no %q: %v", k, last)
		}
	}
	// The drill-down narrows the series: the organic channel's sessions,
	// and no call (the ad's).
	q.Set("channel", "organic")
	if code, env = get("api/v1/reports/timeseries?"+q.Encode(), tok); code != http.StatusOK {
		t.Fatalf("organic timeseries: %d %v", code, env)
	}
	pts = env["result"].(map[string]any)["points"].([]any)
	if last := pts[len(pts)-1].(map[string]any); len(pts) != 3 || last["sessions"] != 1.0 || last["calls"] != 0.0 {
		t.Errorf("organic points = %v", pts)
	}
	// And the dashboard's charts follow it (their figures table).
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.site.Key + "/reports?from=2026-11-24&to=2026-11-26&group=source&channel=organic"
	if code, body := getPage(t, c, page); code != http.StatusOK || !strings.Contains(body, `id="chart-outcomes-table"`) ||
		strings.Contains(cutAt(body, `id="chart-outcomes-table"`, "</table>"), ">1</td>") {
		t.Errorf("the organic drill-down's outcomes chart shows the ad's call (%d)", code)
	}
	page = f.srv.URL + "sites/" + f.site.Key + "/reports?from=2026-11-24&to=2026-11-26"
	if _, body := getPage(t, c, page); !strings.Contains(cutAt(body, `id="chart-outcomes-table"`, "</table>"), ">1</td>") {
		t.Errorf("the unfiltered outcomes chart lacks the call")
	}

	other := f.srv.Site(t, "Other", "other.example.com")
	otherSite, _ := f.srv.HTTP.Sites().ByKey(other)
	scoped, err := accounts.New(f.srv.DB).CreateToken(ctx, "other's BI", []uint32{otherSite.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, token string
		code        int
		want        string
	}{
		{"api/v1/reports/sources?site=" + f.site.Key, scoped, http.StatusForbidden, "may not read"},
		{"api/v1/reports/timeseries?site=" + f.site.Key, scoped, http.StatusForbidden, "may not read"},
		{"api/v1/reports/sources?site=" + f.site.Key, "", http.StatusUnauthorized, "Bearer"},
		{"api/v1/reports/sources?site=NoSuchSite", tok, http.StatusNotFound, "no site"},
		{"api/v1/reports/sources?site=" + f.site.Key + "&from=2026-02-01&to=2026-01-01", tok, http.StatusBadRequest, "after"},
		{"api/v1/reports/sources?site=" + f.site.Key + "&from=2019-01-01&to=2026-01-01", tok, http.StatusBadRequest, "5 years"},
		{"api/v1/reports/sources?site=" + f.site.Key + "&group=city", tok, http.StatusBadRequest, "unknown group"},
		{"api/v1/reports/sources?site=" + f.site.Key + "&model=linear", tok, http.StatusBadRequest, "unknown model"},
		{"api/v1/reports/timeseries?site=" + f.site.Key + "&interval=minute", tok, http.StatusBadRequest, "unknown interval"},
	} {
		code, env := get(tt.path, tt.token)
		if msg, _ := env["error"].(string); code != tt.code || env["success"] != false || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %v, want %d %q", tt.path, code, env, tt.code, tt.want)
		}
	}
	// The other site's token reads the other site.
	if code, env := get("api/v1/reports/sources?site="+other, scoped); code != http.StatusOK || env["success"] != true {
		t.Errorf("own site with a scoped token: %d %v", code, env)
	}
}

// cutAt is s from the first from to the first to after it ("" without from).
func cutAt(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}
