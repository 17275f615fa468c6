package httpd_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A lead and a callback read from the visitor card of the API carry the
// mark as the leads and callbacks APIs give it for the same record: the
// status, the note, who set it (status_by) and when (status_at), not the
// status without who or when.
func TestVisitorCardAPIMarkAsLeadsAPI(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	tok := chatToken(t, srv, "crm")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Ann", "phone": "+7 910 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	if status, out := f.order(t, f.v, map[string]any{"phone": "+7 (910) 123-45-67"}); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	f.clock.Set(f.clock.Now().Add(20 * time.Second))
	for _, list := range []string{"leads", "callbacks"} {
		recs := apiList(t, srv.URL+"api/v1/"+list+"?site="+key, tok)
		if len(recs) != 1 {
			t.Fatalf("%s: %v", list, recs)
		}
		id := ids(recs)[0]
		if status, out := apiCall(t, "POST", fmt.Sprintf("%sapi/v1/%s/%d/status", srv.URL, list, id), tok, map[string]any{"status": "done", "note": "rang"}); status != http.StatusOK {
			t.Fatalf("mark %s: %d %v", list, status, out)
		}
		want := apiList(t, srv.URL+"api/v1/"+list+"?site="+key, tok)[0]
		status, out := apiCall(t, "GET", fmt.Sprintf("%sapi/v1/visitors/%d?site=%s", srv.URL, f.v.VisitorID, key), tok, nil)
		res, _ := out["result"].(map[string]any)
		cards, _ := res[list].([]any)
		if status != http.StatusOK || len(cards) != 1 {
			t.Fatalf("card: %d %v", status, out)
		}
		got := cards[0].(map[string]any)
		for _, k := range []string{"status", "note", "status_by", "status_at"} {
			if got[k] == nil || got[k] != want[k] {
				t.Errorf("%s on the card: %s %v, the %s API's %v", list, k, got[k], list, want[k])
			}
		}
	}
}
