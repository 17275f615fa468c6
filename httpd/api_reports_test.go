package httpd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/admin"
	"appliance/httpd/chats"
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
		{"api/v1/reports/sources?site=" + f.site.Key, scoped, http.StatusNotFound, "among the sites this API token may read"},
		{"api/v1/reports/timeseries?site=" + f.site.Key, scoped, http.StatusNotFound, "among the sites this API token may read"},
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
	// A token learns nothing of the keys of sites it may not read: a key
	// that is not there and another site's answer alike, whatever else
	// the query holds.
	const missing = "NoSuchSiteNoSuchSiteNoSuchSite00"
	for _, rest := range []string{"", "&from=2026-02-01&to=2026-01-01", "&from=bad&to=2026-01-01", "&group=city", "&interval=minute"} {
		for _, ep := range []string{"sources", "timeseries"} {
			codeMine, envMine := get("api/v1/reports/"+ep+"?site="+f.site.Key+rest, scoped)
			codeNone, envNone := get("api/v1/reports/"+ep+"?site="+missing+rest, scoped)
			mine, _ := envMine["error"].(string)
			none, _ := envNone["error"].(string)
			if codeMine != codeNone || strings.ReplaceAll(mine, f.site.Key, missing) != none {
				t.Errorf("%s%s: another site's key answers %d %q, a missing key %d %q", ep, rest, codeMine, mine, codeNone, none)
			}
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

// The timeseries has every figure of the sources report (but cost), and
// its points add up to the sources report's total whatever the interval,
// across the night Berlin's clocks go back (2026-10-25, a 25-hour day):
// events, answered calls, first-time callers and chats included, which
// the points once lacked. Both tell the calls attributed (SPEC §7), and a
// rebuild from the raw records counts the same.
func TestReportsSeriesAddsUpToSources(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	site, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.site.Key, "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	tok := apiToken(t, f)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for i, at := range []time.Time{
		time.Date(2026, 10, 24, 23, 30, 0, 0, berlin),
		time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 02:30 summer time
		time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), // 02:30 again, winter time
		time.Date(2026, 10, 25, 23, 30, 0, 0, berlin),
		time.Date(2026, 10, 26, 0, 30, 0, 0, berlin),
	} {
		f.clock.Set(at)
		h, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc")
		num, _ := shownNumber(p)
		if a := f.post(t, "t/v1/event", f.creds(h, map[string]any{"hi": h.HitID, "c": "cart", "a": "add"})); a.Status != http.StatusOK {
			t.Fatalf("event: %d %s", a.Status, a.Raw)
		}
		if a := f.post(t, "t/v1/lead", f.creds(h, map[string]any{"hi": h.HitID, "name": "Ann"})); a.Status != http.StatusOK {
			t.Fatalf("lead: %d %s", a.Status, a.Raw)
		}
		body := `{"called":"` + num + `","caller":"7916123450` + string(rune('0'+i)) + `","answered":` + map[bool]string{true: "true", false: "false"}[i%2 == 0] + `}`
		if code, raw := api(t, f, "POST", "api/v1/calls", tok, body); code != http.StatusOK {
			t.Fatalf("call: %d %s", code, raw)
		}
		v := chats.Visitor{Site: f.site, Visitor: h.VisitorID, Session: h.SessionID, Page: "https://shop.example.com/promo"}
		if _, err := f.srv.HTTP.Chats().Send(context.Background(), v, "m1", "Hello"); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(25 * time.Minute) // the lease lapses before the next visitor
	}
	// A call to the site's own number, hidden caller: nobody's, not
	// attributed (on the direct row, as the source stored with it is none).
	if code, raw := api(t, f, "POST", "api/v1/calls", tok, `{"called":"`+tkSite+`"}`); code != http.StatusOK || decodeResult(t, raw).Attributed {
		t.Fatalf("call to the site's number: %d %s", code, raw)
	}

	get := func(path string) map[string]any {
		t.Helper()
		code, raw := api(t, f, "GET", path, tok, "")
		var env map[string]any
		if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, raw)
		}
		return env["result"].(map[string]any)
	}
	q := url.Values{"site": {f.site.Key}, "from": {"2026-10-24"}, "to": {"2026-10-26"}}
	total := get("api/v1/reports/sources?" + q.Encode())["total"].(map[string]any)
	want := map[string]float64{"sessions": 5, "visitors": 5, "new_visitors": 5, "events": 5, "calls": 6, "attributed_calls": 5, "answered_calls": 3,
		"first_time_callers": 5, "leads": 5, "callbacks": 0, "chats": 5, "sales": 0, "revenue": 0}
	for k, n := range want {
		if total[k] != n {
			t.Errorf("sources total %s = %v, want %v", k, total[k], n)
		}
	}
	// By channel, the calls not attributed are told apart from the others.
	q.Set("group", "channel")
	rows := map[string]map[string]any{}
	for _, r := range get("api/v1/reports/sources?" + q.Encode())["rows"].([]any) {
		rows[r.(map[string]any)["key"].(string)] = r.(map[string]any)
	}
	if ad, direct := rows["ad"], rows["direct"]; ad["calls"] != 5.0 || ad["attributed_calls"] != 5.0 || direct["calls"] != 1.0 || direct["attributed_calls"] != 0.0 {
		t.Errorf("calls by channel: ad %v, direct %v", ad, direct)
	}
	// The dashboard's sources table says the same, and so does its CSV.
	_, csvBody, _ := reportGet(t, f.srv.Client(t), f.srv.URL+"sites/"+f.site.Key+"/reports/sources.csv?from=2026-10-24&to=2026-10-26&group=channel")
	table := readCSV(t, csvBody)
	col := slices.Index(table[0], "attributed_calls")
	if col < 0 || table[0][col-1] != "calls" {
		t.Fatalf("the dashboard's sources CSV has no attributed_calls beside calls: %v", table[0])
	}
	for _, r := range table[1:] {
		if want := map[string]string{"ad": "5", "direct": "0", "total": "5"}[r[0]]; want != "" && r[col] != want {
			t.Errorf("the dashboard's %s row: %s attributed calls, want %s", r[0], r[col], want)
		}
	}
	q.Del("group")
	series := map[string]string{}
	for _, iv := range []string{"hour", "day", "week", "month"} {
		q.Set("interval", iv)
		_, series[iv] = api(t, f, "GET", "api/v1/reports/timeseries?"+q.Encode(), tok, "")
		sum := map[string]float64{}
		for _, p := range get("api/v1/reports/timeseries?" + q.Encode())["points"].([]any) {
			for k, v := range p.(map[string]any) {
				if n, ok := v.(float64); ok {
					sum[k] += n
				}
			}
		}
		for k, n := range want {
			if sum[k] != n {
				t.Errorf("%s series: %s adds up to %v, the sources total is %v", iv, k, sum[k], n)
			}
		}
	}
	// By day, each day has its own: the 25th (25 hours) three of each.
	q.Set("interval", "day")
	pts := get("api/v1/reports/timeseries?" + q.Encode())["points"].([]any)
	for i, n := range []float64{1, 3, 1} {
		p := pts[i].(map[string]any)
		if p["events"] != n || p["chats"] != n || p["sessions"] != n {
			t.Errorf("day %d: %v, want %v events, chats and sessions", i, p, n)
		}
	}
	// The dashboard's charts give the same figures by day for download:
	// the reports page links series.csv, one row a day of the site's zone.
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.site.Key + "/reports?from=2026-10-24&to=2026-10-26"
	if _, body, _ := reportGet(t, c, page); !strings.Contains(body, `id="overview-csv" href="/sites/`+f.site.Key+`/reports/series.csv?from=2026-10-24&amp;to=2026-10-26"`) {
		t.Errorf("the reports page links no series.csv:\n%s", cutAt(body, `id="overview"`, "</section>"))
	}
	status, csvBody, hdr := reportGet(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports/series.csv?from=2026-10-24&to=2026-10-26")
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("series.csv: %d %s\n%s", status, hdr.Get("Content-Type"), csvBody)
	}
	table = readCSV(t, csvBody)
	if got, want := strings.Join(table[0], ","), "period,sessions,visitors,calls,leads,callbacks,sales"; got != want {
		t.Fatalf("series.csv header %q, want %q", got, want)
	}
	if len(table) != 4 || table[1][0] != "2026-10-24" || table[2][0] != "2026-10-25" || table[3][0] != "2026-10-26" {
		t.Fatalf("series.csv rows %v, want one a day from 2026-10-24 to 2026-10-26", table)
	}
	if table[2][1] != "3" || table[2][2] != "3" {
		t.Errorf("series.csv on the 25th: %v, want 3 sessions and visitors", table[2])
	}
	for col, name := range table[0][1:] {
		sum := 0.0
		for _, r := range table[1:] {
			n, err := strconv.ParseFloat(r[col+1], 64)
			if err != nil {
				t.Fatalf("series.csv %s: %v", name, err)
			}
			sum += n
		}
		if sum != want[name] {
			t.Errorf("series.csv %s adds up to %v, the sources total is %v", name, sum, want[name])
		}
	}
	// A rebuild from the raw records counts the same.
	adm := admin.InProcess(f.srv.HTTP.AdminHandler, nil)
	if _, err := adm.Rebuild(context.Background(), admin.Rebuild{Site: f.site.Key}, nil); err != nil {
		t.Fatal(err)
	}
	for iv, before := range series {
		q.Set("interval", iv)
		if _, after := api(t, f, "GET", "api/v1/reports/timeseries?"+q.Encode(), tok, ""); after != before {
			t.Errorf("%s series after a rebuild:\n%s\nbefore:\n%s", iv, after, before)
		}
	}
}

// A site without a time zone of its own reports in the server's, named
// as a client can load it (not Go's "Local"), agreeing with the offsets of
// the points.
func TestReportsAPIServerZoneNamed(t *testing.T) {
	f := newTrFixture(t, true)
	tok := apiToken(t, f)
	for _, path := range []string{"api/v1/reports/sources?", "api/v1/reports/timeseries?interval=day&"} {
		code, raw := api(t, f, "GET", path+"site="+f.site.Key+"&from=2026-07-01&to=2026-07-01", tok, "")
		var env struct {
			Result struct {
				TimeZone string `json:"time_zone"`
				Points   []struct {
					At time.Time `json:"at"`
				} `json:"points"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, raw)
		}
		loc, err := time.LoadLocation(env.Result.TimeZone)
		if err != nil || env.Result.TimeZone == "Local" {
			t.Fatalf("%s: time_zone %q is no zone a client can load (%v)", path, env.Result.TimeZone, err)
		}
		if pts := env.Result.Points; len(pts) > 0 {
			_, got := pts[0].At.Zone()
			_, want := time.Date(2026, 7, 1, 0, 0, 0, 0, loc).Zone()
			if got != want {
				t.Errorf("%s: the point's offset %d is not %s's %d", path, got, env.Result.TimeZone, want)
			}
		}
	}
}

// A call the telephony side reports late, after its caller came to the
// site again from elsewhere, is credited to the sessions the caller had
// when the call began (the ad's, whose number they dialled), as the call's
// own attribution says, not to the later visit; a rebuild agrees.
func TestReportsLateCallCreditedAsOfItsStart(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	tok := apiToken(t, f)
	start := f.clock.Now()
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	f.clock.Add(time.Hour)
	if again := f.hit(t, h.CI, "https://shop.example.com/", "https://www.google.com/", "Home"); !again.NewSession {
		t.Fatalf("the organic visit an hour later is no new session: %+v", again)
	}
	f.clock.Add(10 * time.Minute)
	body := `{"called":"` + num + `","caller":"79161234567","started_at":"` + start.Add(5*time.Minute).Format(time.RFC3339) + `"}`
	code, raw := api(t, f, "POST", "api/v1/calls", tok, body)
	if r := decodeResult(t, raw); code != http.StatusOK || r.SessionID != h.SessionID || r.Source != "ad" {
		t.Fatalf("the call: %d %s", code, raw)
	}
	sources := func(model string) (string, map[string]map[string]any) {
		t.Helper()
		q := url.Values{"site": {f.site.Key}, "from": {"2026-11-26"}, "to": {"2026-11-26"}, "model": {model}}
		code, raw := api(t, f, "GET", "api/v1/reports/sources?"+q.Encode(), tok, "")
		var env struct {
			Result struct {
				Rows []map[string]any `json:"rows"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(raw), &env); err != nil || code != http.StatusOK {
			t.Fatalf("sources: %d %s", code, raw)
		}
		rows := map[string]map[string]any{}
		for _, r := range env.Result.Rows {
			rows[r["key"].(string)] = r
		}
		return raw, rows
	}
	before := map[string]string{}
	for _, model := range []string{"last_non_direct", "last", "first"} {
		raw, rows := sources(model)
		before[model] = raw
		if rows["ad"]["calls"] != 1.0 || rows["organic"]["calls"] != 0.0 {
			t.Errorf("model %s: the call is on ad %v, organic %v; want ad", model, rows["ad"]["calls"], rows["organic"]["calls"])
		}
	}
	adm := admin.InProcess(f.srv.HTTP.AdminHandler, nil)
	if _, err := adm.Rebuild(context.Background(), admin.Rebuild{Site: f.site.Key}, nil); err != nil {
		t.Fatal(err)
	}
	for model, want := range before {
		if got, _ := sources(model); got != want {
			t.Errorf("model %s after a rebuild:\n%s\nbefore:\n%s", model, got, want)
		}
	}
}
