package httpd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// A query parameter of the API is read once and as named: one the route
// does not know is refused (a misspelt at= of the attribution would
// otherwise answer for now, as if it had been applied), and so is one
// given twice (limit=5&limit=abc would otherwise list 5 as if the second
// were not there, and a CRM that builds its query by appending would
// never learn which of its values counted), as the reports API refuses
// both. Each is a 400 naming the parameter.
func TestAPIQueryParamsOnce(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	tok := chatToken(t, srv, "crm")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	f.clock.Set(f.clock.Now().Add(20 * time.Second))
	leads := apiList(t, srv.URL+"api/v1/leads?site="+key, tok)
	if len(leads) != 1 {
		t.Fatalf("leads: %v", leads)
	}
	visitor := uint64(leads[0]["visitor_id"].(float64))
	for _, tc := range []struct{ path, param string }{
		{"api/v1/attribution?number=74950000001&time=2026-11-26T15:00:00Z", "time"},
		{"api/v1/attribution?number=74950000001&started_at=2026-11-26T15:00:00Z", "started_at"},
		{"api/v1/attribution?number=74950000001&at=2026-11-26T15:00:00Z&at=2026-11-27T15:00:00Z", "at"},
		{"api/v1/attribution?number=74950000001&number=74950000002", "number"},
		{"api/v1/leads?site=" + key + "&limit=5&limit=abc", "limit"},
		{"api/v1/leads?site=" + key + "&status=done&status=new", "status"},
		{"api/v1/leads?site=" + key + "&after=0&after=7", "after"},
		{"api/v1/callbacks?site=" + key + "&state=pending&state=sent", "state"},
		{"api/v1/chats?site=" + key + "&status=open&status=closed", "status"},
		{fmt.Sprintf("api/v1/visitors/%d?site=%s&site=%s", visitor, key, key), "site"},
		{fmt.Sprintf("api/v1/visitors/%d?site=%s&limit=1&limit=2", visitor, key), "limit"},
	} {
		status, out := apiCall(t, "GET", srv.URL+tc.path, tok, nil)
		if status != http.StatusBadRequest || out["success"] != false || !strings.Contains(fmt.Sprint(out["error"]), `"`+tc.param+`"`) {
			t.Errorf("GET %s: %d %v, want 400 naming %q", tc.path, status, out, tc.param)
		}
	}
	// Each parameter once is what the README shows, and is taken.
	for _, path := range []string{
		"api/v1/attribution?number=74950000001&at=2026-11-26T15:00:00Z",
		"api/v1/leads?site=" + key + "&limit=5&status=new&after=0",
		fmt.Sprintf("api/v1/visitors/%d?site=%s&limit=1", visitor, key),
	} {
		if status, out := apiCall(t, "GET", srv.URL+path, tok, nil); status != http.StatusOK {
			t.Errorf("GET %s: %d %v", path, status, out)
		}
	}
}

// Another method than the route's is a 405 with the JSON error and, as
// RFC 9110 has every 405, an Allow header naming the methods the path
// takes, so a script that used the wrong one is told the right one.
func TestAPIMethodNotAllowedSaysAllow(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	tok := chatToken(t, srv, "crm")
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "api/v1/leads?site=" + key, "GET, HEAD"},
		{"GET", "api/v1/calls", "POST"},
		{"PUT", "api/v1/leads/5/status", "POST"},
		{"GET", "api/v1/chats/5/close", "POST"},
		{"DELETE", "api/v1/chats/5/messages", "GET, HEAD, POST"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || out["success"] != false || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q, %v; want 405, Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), out, tc.allow)
		}
	}
}

// A number parameter given empty (after=, as a script writes after=$LAST
// with nothing in LAST) is a 400 naming it, as the visitor card's limit=
// is, not the default: the leads list would start again from the first
// lead, and the CRM take every lead in again.
func TestAPIEmptyNumberIsRefused(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	tok := chatToken(t, srv, "crm")
	for _, tc := range []struct{ path, param string }{
		{"api/v1/leads?site=" + key + "&after=", "after"},
		{"api/v1/leads?site=" + key + "&limit=", "limit"},
		{"api/v1/leads?site=" + key + "&after", "after"},
		{"api/v1/callbacks?site=" + key + "&after=", "after"},
		{"api/v1/chats?site=" + key + "&limit=", "limit"},
	} {
		status, out := apiCall(t, "GET", srv.URL+tc.path, tok, nil)
		if status != http.StatusBadRequest || out["success"] != false || !strings.Contains(fmt.Sprint(out["error"]), tc.param) {
			t.Errorf("GET %s: %d %v, want 400 naming %q", tc.path, status, out, tc.param)
		}
	}
	// Left out, each has its default.
	for _, path := range []string{"api/v1/leads?site=" + key, "api/v1/chats?site=" + key, "api/v1/leads?site=" + key + "&after=0&limit=0"} {
		if status, out := apiCall(t, "GET", srv.URL+path, tok, nil); status != http.StatusOK {
			t.Errorf("GET %s: %d %v", path, status, out)
		}
	}
}

// A token whose user is gone (removing a user revokes their tokens; one
// met in the moment between) is refused as any token that is not valid
// is: 401 with the challenge saying invalid_token, as RFC 6750 has every
// 401 carry one.
func TestAPITokenOfGoneUserIsInvalid(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	acc := accounts.New(srv.DB)
	if _, err := acc.CreateUser(t.Context(), "olga@shop.example", "a long enough passphrase", accounts.RoleManager); err != nil {
		t.Fatal(err)
	}
	tok, err := acc.CreateUserToken(t.Context(), "olga's crm", nil, "olga@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/leads?site="+key, tok, nil); status != http.StatusOK {
		t.Fatalf("the user's token: %d %v", status, out)
	}
	// The user's record alone goes, as in the moment before their tokens
	// are revoked with it.
	if err := srv.DB.Update(t.Context(), func(tx *store.Tx) error { tx.Delete(store.UserKey("olga@shop.example")); return nil }); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"api/v1/leads?site="+key, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer realm="appliance", error="invalid_token"`; resp.StatusCode != http.StatusUnauthorized || got != want {
		t.Errorf("a token of a user gone: %d, WWW-Authenticate %q; want 401, %q", resp.StatusCode, got, want)
	}
}
