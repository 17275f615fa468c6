package httpd_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A lead read from the leads API is, field for field, the data of its
// webhook (the API adds the mark): the same
// phone digits, the same amount written the same way, the same times to
// the millisecond, so a CRM that takes both (the webhook live, the API to
// catch up) stores one record, not two that differ.
func TestLeadsAPIIsTheWebhooksData(t *testing.T) {
	hooks := newHookReceiver(t)
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	f := newCBFixture(t, fastHooks)
	srv, key := f.srv, f.key
	hooks.secret = addHookFor(t, srv, srv.Client(t), key, hookSrv.URL+"/crm", "lead")
	hooks.event = "lead"
	tok := chatToken(t, srv, "crm")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, f.v, map[string]any{"name": "Иван", "phone": "+7 (912) 345-67-89",
		"email": "Ivan@Example.com", "is_sale": true, "sale_cost": "1250.5", "group_id": 7, "form_name": "order"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	var data map[string]any
	eventually(t, "the lead webhook", func() bool {
		_, n, bodies := hooks.state()
		for k := range n {
			data, _ = bodies[k]["data"].(map[string]any)
		}
		return data != nil
	})
	f.clock.Set(f.clock.Now().Add(20 * time.Second))
	list := apiList(t, srv.URL+"api/v1/leads?site="+key, tok)
	if len(list) != 1 {
		t.Fatalf("leads: %v", list)
	}
	same := func(what string, data, rec map[string]any) {
		t.Helper()
		d, _ := json.Marshal(data)
		for k, v := range data {
			a, _ := json.Marshal(v)
			b, _ := json.Marshal(rec[k])
			if _, ok := rec[k]; !ok || string(a) != string(b) {
				t.Errorf("%s: %s is %s in the webhook, %s in the API", what, k, a, b)
			}
		}
		if len(data) < 10 {
			t.Errorf("%s: the webhook's data is %s", what, d)
		}
	}
	same("lead", data, list[0])
	if list[0]["sale_cost"] != "1250.50" || list[0]["phone"] != "79123456789" {
		t.Errorf("lead: sale_cost %v, phone %v; want 1250.50, 79123456789", list[0]["sale_cost"], list[0]["phone"])
	}
}
