package httpd_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/store"
)

// vcGet calls GET /vc/s/ with q and returns the status, the raw answer
// and the answer decoded.
func vcGet(t testing.TB, srv *httpdtest.Server, q url.Values) (int, string, map[string]any) {
	t.Helper()
	resp, err := http.Get(srv.URL + "vc/s/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("/vc/s/?%s: %d %q is not JSON", q.Encode(), resp.StatusCode, raw)
	}
	return resp.StatusCode, string(raw), out
}

// storedVisitor reads visitor id's record from the store.
func storedVisitor(t testing.TB, srv *httpdtest.Server, id uint64) store.Visitor {
	t.Helper()
	b, err := srv.DB.Get(store.VisitorKey(id))
	if err != nil {
		t.Fatalf("visitor %d: %v", id, err)
	}
	v, err := store.DecodeVisitor(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The site's server passes on to /vc/s/ what Comagic.getCredentials() gave
// its page before the first page view was answered: the site key as k and
// no ids (absent, "" or "null"). The name, phone and email the visitor
// typed are kept as the site's lead without a visit, via "visitor_info":
// the leads page flags both, the leads API and the webhook say so. A ci
// and hi sent with the site key are dropped, and the visitor they name is
// not written to. A key that is neither the site's nor the visitor's is
// 403, malformed input a JSON 400, and neither stores anything.
func TestVCSetBeforeFirstAnswer(t *testing.T) {
	clock := &trClock{now: time.Now()}
	srv := httpdtest.Start(t, fastHooks, func(o *httpd.Options) { o.Now = clock.Now })
	site := srv.Site(t, "Shop", "shop.example")
	other := srv.Site(t, "Other", "other.example")
	hooks := newHookReceiver(t)
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	c := srv.Client(t)
	hooks.secret = addHook(t, srv, c, site, hookSrv.URL+"/crm")
	tok := chatToken(t, srv, "crm", mustSite(t, srv, site))

	v := trackHit(t, srv, site, "", "https://shop.example/contacts", "")
	// The visitor's own info, with their key: theirs, as before.
	own := url.Values{"k": {v.Key}, "ci": {v.CI}, "hi": {fmt.Sprint(v.HitID)}, "vn": {"Мария"}, "s": {"1"}}
	if status, raw, _ := vcGet(t, srv, own); status != http.StatusOK || raw != `{"success":true}` {
		t.Fatalf("/vc/s/ with the visitor's key: %d %s", status, raw)
	}
	before := storedVisitor(t, srv, v.VisitorID)
	if before.Name != "Мария" {
		t.Fatalf("visitor %+v after /vc/s/ with their key", before)
	}

	zero := `{"success":true,"result":{"visitor_id":0,"session_id":0,"hit_id":0}}`
	accepted := []struct {
		name                string
		q                   url.Values
		answer              string
		wantName, wantPhone string // the phone normalised
		wantEmail           string
	}{
		{"no ids, s=1", url.Values{"k": {site}, "ur": {srv.URL}, "vn": {"Иван"}, "vp": {"8 (912) 345-67-89"}, "ve": {"Ivan@Example.com"}, "s": {"1"}},
			`{"success":true}`, "Иван", "79123456789", "ivan@example.com"},
		{"empty ids", url.Values{"k": {site}, "ur": {srv.URL}, "ci": {""}, "hi": {""}, "vn": {"Пётр"}},
			zero, "Пётр", "", ""},
		{"null ids", url.Values{"k": {site}, "ci": {"null"}, "hi": {"null"}, "vp": {"+7 916 000-11-22"}},
			zero, "", "79160001122", ""},
		{"undefined ids, sk too", url.Values{"k": {site}, "sk": {site}, "ci": {"undefined"}, "hi": {"undefined"}, "ve": {"anna@example.com"}},
			zero, "", "", "anna@example.com"},
		{"site key with the visitor's ci and hi", url.Values{"k": {site}, "ci": {v.CI}, "hi": {fmt.Sprint(v.HitID)}, "vn": {"Чужой"}},
			zero, "Чужой", "", ""},
	}
	for i, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			status, raw, _ := vcGet(t, srv, tt.q)
			if status != http.StatusOK || raw != tt.answer {
				t.Fatalf("%d %s; want 200 %s", status, raw, tt.answer)
			}
			got := siteLeads(t, srv, site)
			if len(got) != i+1 {
				t.Fatalf("%d leads stored, want %d", len(got), i+1)
			}
			l := got[0]
			if l.Via != leads.ViaVisitorInfo || l.Name != tt.wantName || l.Phone != tt.wantPhone || l.Email != tt.wantEmail ||
				l.Visitor != 0 || l.Session != 0 || l.Hit != 0 || l.Source.Channel != "" {
				t.Fatalf("stored %+v; want the site's visitor-info lead without a visit", l)
			}
			if !leads.ViewOf(&l).NoVisit {
				t.Error("its view does not flag it no_visit")
			}
			for _, lang := range []string{"en", "ru"} {
				_, page := getPageIn(t, c, srv.URL+"sites/"+site+"/leads", lang)
				at := strings.Index(page, fmt.Sprintf(`id="lead-%d"`, l.ID))
				if at < 0 {
					t.Fatalf("lead %d is not on the leads page", l.ID)
				}
				row := page[at:]
				row = row[:strings.Index(row, "</tr>")]
				if !strings.Contains(row, `class="flag no-visit"`) || !strings.Contains(row, `class="flag visitor-info"`) {
					t.Errorf("%s: its row does not flag it as visitor info without a visit:\n%s", lang, row)
				}
			}
		})
	}
	if after := storedVisitor(t, srv, v.VisitorID); after.Name != before.Name || len(after.Phones) != len(before.Phones) || len(after.Emails) != len(before.Emails) {
		t.Errorf("the site key wrote to the visitor: %+v, was %+v", after, before)
	}
	n := len(accepted)

	// The Russian page names the kind in Russian.
	_, page := getPageIn(t, c, srv.URL+"sites/"+site+"/leads", "ru")
	if !strings.Contains(page, "контакты посетителя из addVisitorInfo") || !strings.Contains(page, "данные посетителя") {
		t.Error("the Russian leads page does not name visitor info in Russian")
	}

	// The leads API gives them as such, once they settled.
	clock.Set(clock.Now().Add(11 * time.Second))
	list := apiList(t, srv.URL+"api/v1/leads?site="+site, tok)
	if len(list) != n {
		t.Fatalf("the leads API lists %d leads, want %d: %v", len(list), n, list)
	}
	for _, l := range list {
		if l["via"] != "visitor_info" || l["no_visit"] != true || l["visitor_id"] != 0.0 {
			t.Errorf("leads API: %v", l)
		}
	}
	if list[0]["name"] != "Иван" || list[0]["phone"] != "79123456789" || list[0]["email"] != "ivan@example.com" {
		t.Errorf("leads API, the first: %v", list[0])
	}

	// The webhook gets each, signed (the receiver checks).
	eventually(t, "the webhook deliveries", func() bool { _, got, _ := hooks.state(); return len(got) == n })
	_, _, bodies := hooks.state()
	names := map[string]bool{}
	for _, b := range bodies {
		data, _ := b["data"].(map[string]any)
		if data["via"] != "visitor_info" || data["no_visit"] != true || data["visitor_id"] != 0.0 {
			t.Errorf("webhook data %v", data)
		}
		names[fmt.Sprint(data["name"])] = true
	}
	if !names["Иван"] || !names["Чужой"] {
		t.Errorf("webhooks for %v", names)
	}

	wrong := strings.Repeat("a", 32)
	for _, tt := range []struct {
		name   string
		q      url.Values
		status int
		reason string
	}{
		{"unknown key", url.Values{"k": {wrong}, "vn": {"x"}}, 403, "k is neither the site key"},
		{"unknown key with a ci", url.Values{"k": {wrong}, "ci": {v.CI}, "vn": {"x"}}, 403, "k is not the credential key"},
		{"the visitor's key without ci", url.Values{"k": {v.Key}, "vn": {"x"}}, 403, "k is neither the site key"},
		{"another site's key", url.Values{"k": {site}, "sk": {other}, "vn": {"x"}}, 403, "k is neither the site key"},
		{"the site key as sk alone", url.Values{"sk": {site}, "vn": {"x"}}, 403, "k is required"},
		{"nothing typed", url.Values{"k": {site}, "vn": {"  "}, "s": {"1"}}, 400, "give at least one of name, phone, email"},
		{"bad ci", url.Values{"k": {site}, "ci": {"1.2"}, "vn": {"x"}}, 400, "ci must be"},
		{"bad hi", url.Values{"k": {site}, "hi": {"x"}, "vn": {"x"}}, 400, "hi must be"},
		{"bad s", url.Values{"k": {site}, "vn": {"x"}, "s": {"yes"}}, 400, "s must be"},
		{"long name", url.Values{"k": {site}, "vn": {strings.Repeat("a", 257)}}, 400, "vn is longer than 256"},
		{"invalid UTF-8", url.Values{"k": {site}, "vn": {"\xff"}}, 400, "vn is not valid UTF-8"},
		{"phone with a control character", url.Values{"k": {site}, "vp": {"call\x07 me"}}, 400, "phone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := trSnapshot(t, srv.DB)
			status, raw, out := vcGet(t, srv, tt.q)
			errMsg, _ := out["error"].(string)
			if status != tt.status || out["success"] != false || !strings.Contains(errMsg, tt.reason) {
				t.Errorf("%d %s; want %d with %q", status, raw, tt.status, tt.reason)
			}
			sameSnapshot(t, tt.name, snap, trSnapshot(t, srv.DB))
		})
	}
	if got := len(siteLeads(t, srv, site)); got != n {
		t.Errorf("%d leads stored, want still %d", got, n)
	}
}

// Visitor info sent with the site key counts against the leads a minute of
// a site's server, the budget add_offline_message's leads draw on too.
func TestVCSetSiteKeyRateLimited(t *testing.T) {
	clock := &trClock{now: time.Now()} // one minute throughout
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Now = clock.Now })
	site := srv.Site(t, "Shop", "shop.example")
	// Refused leads spend the budget without a write: a name with a
	// control character passes the rate limit, then fails its check.
	const serverLeadsPerMinute = 600
	bad := []byte(url.Values{"key": {site}, "name": {"a\x07b"}}.Encode())
	for i := range serverLeadsPerMinute {
		if status, out, _ := post(t, srv.URL+"api/add_offline_message/", "application/x-www-form-urlencoded", bad); status != http.StatusBadRequest {
			t.Fatalf("lead %d: %d %v, want 400", i+1, status, out)
		}
	}
	status, raw, _ := vcGet(t, srv, url.Values{"k": {site}, "vn": {"Иван"}, "s": {"1"}})
	if status != http.StatusTooManyRequests {
		t.Errorf("/vc/s/ after %d leads of a minute: %d %s, want 429", serverLeadsPerMinute, status, raw)
	}
	if n := len(siteLeads(t, srv, site)); n != 0 {
		t.Errorf("%d leads stored, want 0", n)
	}
}

// POST /t/v1/visitor without a ci is what the snippet sends for
// Comagic.addVisitorInfo when a first-time visitor's page view failed: the
// info is kept as the site's lead without a visit, via visitor_info, under
// a page's limit of leads. A body without a ci that names no site, or
// carries a key or hit without one, or has nothing typed, is refused and
// stores nothing.
func TestTrackerVisitorInfoWithoutVisit(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	url := srv.URL + "t/v1/visitor"
	body := func(v map[string]any) []byte { b, _ := json.Marshal(v); return b }
	status, out, _ := post(t, url, "text/plain", body(map[string]any{"k": site, "name": "Иван", "email": "Ivan@Example.com", "u": "https://shop.example/contacts"}))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("addVisitorInfo without a ci: %d %v", status, out)
	}
	got := siteLeads(t, srv, site)
	if len(got) != 1 || got[0].Via != leads.ViaVisitorInfo || got[0].Visitor != 0 || got[0].Name != "Иван" || got[0].Email != "ivan@example.com" ||
		got[0].PageURL != "https://shop.example/contacts" {
		t.Fatalf("stored %+v; want the site's visitor-info lead without a visit", got)
	}
	for _, tt := range []struct {
		name   string
		body   map[string]any
		status int
		reason string
	}{
		{"unknown site", map[string]any{"k": strings.Repeat("a", 32), "name": "x"}, 404, "site"},
		{"nothing typed", map[string]any{"k": site, "name": " "}, 400, "give at least one of name, phone, email"},
		{"a key without a ci", map[string]any{"k": site, "key": strings.Repeat("a", 32), "name": "x"}, 400, "ci is required"},
		{"a hit without a ci", map[string]any{"k": site, "hi": 5, "name": "x"}, 400, "ci is required"},
		{"an unknown field", map[string]any{"k": site, "name": "x", "visitor_id": 1}, 400, "visitor_id"},
		{"a page URL that is none", map[string]any{"k": site, "name": "x", "u": "javascript:alert(1)"}, 400, "page url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := trSnapshot(t, srv.DB)
			status, out, _ := post(t, url, "text/plain", body(tt.body))
			errMsg, _ := out["error"].(string)
			if status != tt.status || out["success"] != false || !strings.Contains(errMsg, tt.reason) {
				t.Errorf("%d %v; want %d with %q", status, out, tt.status, tt.reason)
			}
			sameSnapshot(t, tt.name, snap, trSnapshot(t, srv.DB))
		})
	}
	// A page's limit of leads a minute from one address, not a server's:
	// the first one above counts, and the one refused for its page URL,
	// which got past the limit to be checked; the others were refused
	// before it.
	spent := 2
	for i := spent + 1; i <= leadsPerMinuteForTest+1; i++ {
		status, out, _ := post(t, url, "text/plain", body(map[string]any{"k": site, "name": fmt.Sprint("n", i)}))
		if want := http.StatusOK; i > leadsPerMinuteForTest {
			want = http.StatusTooManyRequests
			if status != want {
				t.Fatalf("lead %d of the minute: %d %v; want %d", i, status, out, want)
			}
		} else if status != want {
			t.Fatalf("lead %d of the minute: %d %v; want %d", i, status, out, want)
		}
	}
}
