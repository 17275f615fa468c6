package httpd_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
)

// apiList gets a list of the leads API and returns its records.
func apiList(t *testing.T, rawURL, token string) []map[string]any {
	t.Helper()
	status, out := apiCall(t, "GET", rawURL, token, nil)
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("GET %s: %d %v", rawURL, status, out)
	}
	var list []map[string]any
	for _, r := range out["result"].([]any) {
		list = append(list, r.(map[string]any))
	}
	return list
}

func ids(list []map[string]any) []uint64 {
	var out []uint64
	for _, r := range list {
		out = append(out, uint64(r["id"].(float64)))
	}
	return out
}

// A CRM pulls a site's leads and callbacks with an API token, oldest first
// from the last id it was given, and marks them; what arrived in the last
// seconds waits (a lead with a lower id may still be on its way to the
// disk), so a reader going on from the last id misses nothing. A token
// reads only its sites; a visitor's odd email comes as typed.
func TestLeadsAPI(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	other := srv.Site(t, "Other", "other.example")
	otherSite, _ := srv.HTTP.Sites().ByKey(other)
	tok := chatToken(t, srv, "crm", f.site.ID)
	otherTok := chatToken(t, srv, "other-crm", otherSite.ID)
	start := f.clock.Now()
	for _, fields := range []map[string]any{
		{"name": "Ann", "phone": "+7 910 123-45-67", "message": "call me"},
		{"name": "Bob", "email": "bob at example"},
		{"message": "only a message"},
	} {
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, fields)); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	if status, out := f.order(t, f.v, map[string]any{"phone": "+7 (910) 123-45-67"}); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	leadsURL := srv.URL + "api/v1/leads?site=" + key
	if got := apiList(t, leadsURL, tok); len(got) != 0 {
		t.Errorf("leads of this second listed before they settled: %v", got)
	}
	f.clock.Set(start.Add(11 * time.Second))
	all := apiList(t, leadsURL, tok)
	if len(all) != 3 || all[0]["name"] != "Ann" || all[1]["email_raw"] != "bob at example" || all[1]["email_unparsed"] != true ||
		all[2]["message"] != "only a message" || all[0]["phone"] != "79101234567" {
		t.Fatalf("leads: %v", all)
	}
	got := ids(all)
	if !(got[0] < got[1] && got[1] < got[2]) {
		t.Errorf("leads not oldest first: %v", got)
	}
	for _, l := range all {
		if l["status"] != "new" || l["status_at"] != nil || l["status_by"] != "" || l["visitor_id"] == float64(0) {
			t.Errorf("a new lead: %v", l)
		}
	}
	if page := ids(apiList(t, fmt.Sprintf("%s&after=%d&limit=1", leadsURL, got[0]), tok)); len(page) != 1 || page[0] != got[1] {
		t.Errorf("after %d limit 1: %v, want [%d]", got[0], page, got[1])
	}
	if rest := apiList(t, fmt.Sprintf("%s&after=%d", leadsURL, got[2]), tok); len(rest) != 0 {
		t.Errorf("after the last lead: %v", rest)
	}

	// Marked by the CRM, as staff mark it on the dashboard.
	status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/leads/%d/status", srv.URL, got[1]), tok, map[string]any{"status": "done", "note": "called back"})
	res, _ := out["result"].(map[string]any)
	if status != http.StatusOK || res["status"] != "done" || res["note"] != "called back" || res["status_by"] != "crm" || res["status_at"] == nil {
		t.Fatalf("mark: %d %v", status, out)
	}
	if done := apiList(t, leadsURL+"&status=done", tok); len(done) != 1 || done[0]["name"] != "Bob" || done[0]["note"] != "called back" {
		t.Errorf("done leads: %v", done)
	}
	marks, err := srv.HTTP.Leads().Marks(t.Context(), f.site.ID)
	if err != nil || marks[got[1]].Status != "done" || marks[got[1]].By != "crm" {
		t.Errorf("the dashboard's marks: %v, %v", marks, err)
	}
	for _, tc := range []struct {
		path, token string
		body        any
		want        int
	}{
		{fmt.Sprintf("api/v1/leads/%d/status", got[0]), tok, map[string]any{"status": "closed"}, http.StatusBadRequest},
		{fmt.Sprintf("api/v1/leads/%d/status", got[0]), tok, map[string]any{"note": "no status"}, http.StatusBadRequest},
		{fmt.Sprintf("api/v1/leads/%d/status", got[0]), tok, map[string]any{"status": "done", "by": "me"}, http.StatusBadRequest},
		{"api/v1/leads/x/status", tok, map[string]any{"status": "done"}, http.StatusBadRequest},
		{fmt.Sprintf("api/v1/leads/%d/status", got[2]+1000), tok, map[string]any{"status": "done"}, http.StatusNotFound},
		{fmt.Sprintf("api/v1/leads/%d/status", got[0]), otherTok, map[string]any{"status": "spam"}, http.StatusNotFound},
		{fmt.Sprintf("api/v1/leads/%d/status", got[0]), "", map[string]any{"status": "spam"}, http.StatusUnauthorized},
	} {
		if status, out := apiCall(t, "POST", srv.URL+tc.path, tc.token, tc.body); status != tc.want || out["success"] != false {
			t.Errorf("POST %s %v: %d %v, want %d", tc.path, tc.body, status, out, tc.want)
		}
	}
	if m, _ := srv.HTTP.Leads().Marks(t.Context(), f.site.ID); len(m) != 1 {
		t.Errorf("refused marks changed something: %v", m)
	}
	for _, tc := range []struct {
		query, token string
		want         int
	}{
		{"?site=" + key, otherTok, http.StatusNotFound},
		{"?site=no-such-site", tok, http.StatusNotFound},
		{"?site=" + key + "&after=x", tok, http.StatusBadRequest},
		{"?site=" + key + "&limit=1001", tok, http.StatusBadRequest},
		{"?site=" + key + "&status=closed", tok, http.StatusBadRequest},
		{"?site=" + key + "&from=yesterday", tok, http.StatusBadRequest},
		{"", tok, http.StatusBadRequest},
		{"?site=" + key, "", http.StatusUnauthorized},
		// A filter the list does not read is refused, not ignored: a
		// misspelt or misvalued one would give every lead as if applied.
		{"?site=" + key + "&stauts=done", tok, http.StatusBadRequest},
		{"?site=" + key + "&phone=yes", tok, http.StatusBadRequest},
		{"?site=" + key + "&phone=79101234567", tok, http.StatusBadRequest},
		{"?site=" + key + "&state=pending", tok, http.StatusBadRequest},
	} {
		if status, out := apiCall(t, "GET", srv.URL+"api/v1/leads"+tc.query, tc.token, nil); status != tc.want || out["success"] != false {
			t.Errorf("GET leads%s: %d %v, want %d", tc.query, status, out, tc.want)
		}
	}
	// The Authorization scheme is case-insensitive (RFC 9110): "bearer"
	// and "BEARER" carry the token as "Bearer" does; another scheme, or
	// none, is the 401 asking for one.
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"bearer " + tok, http.StatusOK}, {"BEARER " + tok, http.StatusOK}, {"Bearer  " + tok, http.StatusOK},
		{"Basic " + tok, http.StatusUnauthorized}, {tok, http.StatusUnauthorized}, {"bearer ", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("GET", leadsURL, nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization: %q: %d, want %d", strings.Replace(tc.header, tok, "TOKEN", 1), resp.StatusCode, tc.want)
		}
	}

	// Every parameter the README names is taken.
	apiList(t, srv.URL+"api/v1/leads?site="+key+"&sale=yes&status=done&form=x&phone=1&from=2026-11-01&to=2026-11-30&after=0&limit=5", tok)
	apiList(t, srv.URL+"api/v1/callbacks?site="+key+"&state=pending&status=new&phone=7910&from=2026-11-01&to=2026-11-30&after=0&limit=5", tok)
	// A range that ends before it starts holds nothing: refused, as the
	// reports refuse it, not an empty list as if there were no records.
	for _, list := range []string{"leads", "callbacks"} {
		if status, out := apiCall(t, "GET", srv.URL+"api/v1/"+list+"?site="+key+"&from=2026-11-30&to=2026-11-01", tok, nil); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "after") {
			t.Errorf("GET %s from after to: %d %v, want 400", list, status, out)
		}
	}
	apiList(t, srv.URL+"api/v1/leads?site="+key+"&from=2026-11-30&to=2026-11-30", tok) // one day
	for _, q := range []string{"&stat=pending", "&sale=yes", "&form=x"} {
		if status, out := apiCall(t, "GET", srv.URL+"api/v1/callbacks?site="+key+q, tok, nil); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "unknown parameter") {
			t.Errorf("GET callbacks%s: %d %v, want 400 naming the parameter", q, status, out)
		}
	}

	// A lead that arrives now waits its seconds, then follows the last id.
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Dan", "phone": "89101112233"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	after := fmt.Sprintf("%s&after=%d", leadsURL, got[2])
	if late := apiList(t, after, tok); len(late) != 0 {
		t.Errorf("a lead of this second listed: %v", late)
	}
	f.clock.Set(start.Add(22 * time.Second))
	if late := apiList(t, after, tok); len(late) != 1 || late[0]["name"] != "Dan" {
		t.Errorf("the later lead: %v", late)
	}

	// Callbacks, the same way.
	cbs := apiList(t, srv.URL+"api/v1/callbacks?site="+key, tok)
	if len(cbs) != 1 || cbs[0]["phone"] != "79101234567" || cbs[0]["status"] != "new" || cbs[0]["state"] == "" {
		t.Fatalf("callbacks: %v", cbs)
	}
	cb := ids(cbs)[0]
	// A body with a note sets it; one without keeps it (a CRM that sends
	// statuses alone must not wipe what staff wrote); "" clears it (README).
	if status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/callbacks/%d/status", srv.URL, cb), tok, map[string]any{"status": "done", "note": "rang"}); status != http.StatusOK {
		t.Fatalf("mark callback: %d %v", status, out)
	}
	status, out = apiCall(t, "POST", fmt.Sprintf("%sapi/v1/callbacks/%d/status", srv.URL, cb), tok, map[string]any{"status": "in_progress"})
	if res, _ := out["result"].(map[string]any); res["note"] != "rang" || res["status_by"] != "crm" || res["status_at"] == nil {
		t.Errorf("a status without a note: %v, want the note kept and the mark as stored", out)
	}
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if marks, err := srv.HTTP.Callbacks().Marks(context.Background(), site.ID); err != nil || marks[cb].Note != "rang" || marks[cb].Status != "in_progress" {
		t.Errorf("the callback's stored mark: %+v (%v), want in_progress with the note kept", marks[cb], err)
	}
	if status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/callbacks/%d/status", srv.URL, cb), tok, map[string]any{"status": "in_progress", "note": ""}); status != http.StatusOK {
		t.Fatalf("mark callback: %d %v", status, out)
	} else if res, _ := out["result"].(map[string]any); res["note"] != "" {
		t.Errorf("a status with an empty note: %v, want the note cleared", out)
	}
	if res, _ := out["result"].(map[string]any); status != http.StatusOK || res["status"] != "in_progress" {
		t.Fatalf("mark callback: %d %v", status, out)
	}
	if marked := apiList(t, srv.URL+"api/v1/callbacks?site="+key+"&status=in_progress", tok); len(marked) != 1 || marked[0]["status_by"] != "crm" {
		t.Errorf("marked callbacks: %v", marked)
	}
	if status, _ := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/leads/%d/status", srv.URL, cb), tok, map[string]any{"status": "done"}); status != http.StatusNotFound {
		t.Errorf("a callback's id marked as a lead: %d", status)
	}
}

// A token made for a user (token add --user) holds no more than that
// user's role does now: an operator's reads callbacks and chats as the
// console does, not leads, reports, calls or the leads' statuses; made a
// manager, the same token reads them.
func TestUserTokenKeepsToRole(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	acc := accounts.New(srv.DB)
	if _, err := acc.CreateUser(t.Context(), "olga@shop.example", "a long enough passphrase", accounts.RoleOperator); err != nil {
		t.Fatal(err)
	}
	tok, err := acc.CreateUserToken(t.Context(), "olga's bridge", nil, "olga@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	operatorMay := map[string]bool{
		"GET api/v1/callbacks?site=" + key:          true,
		"GET api/v1/chats?site=" + key:              true,
		"GET api/v1/leads?site=" + key:              false,
		"POST api/v1/leads/1/status":                false,
		"GET api/v1/reports/sources?site=" + key:    false,
		"GET api/v1/attribution?called=74950000001": false,
		"POST api/v1/calls":                         false,
	}
	for req, want := range operatorMay {
		method, path, _ := strings.Cut(req, " ")
		var body any
		if method == "POST" {
			body = map[string]string{"status": "done"}
		}
		status, out := apiCall(t, method, srv.URL+path, tok, body)
		if want && status == http.StatusForbidden || !want && status != http.StatusForbidden {
			t.Errorf("operator's token, %s: %d %v", req, status, out)
		}
		if !want && !strings.Contains(fmt.Sprint(out["error"]), "olga@shop.example") {
			t.Errorf("%s: the refusal does not name the token's user: %v", req, out)
		}
	}
	if _, err := acc.SetRole(t.Context(), "olga@shop.example", accounts.RoleManager); err != nil {
		t.Fatal(err)
	}
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/leads?site="+key, tok, nil); status != http.StatusOK {
		t.Errorf("the same token once its user is a manager: %d %v", status, out)
	}
}
