package httpd_test

import (
	"net/http"
	"testing"
	"time"

	"appliance/httpd/leads"
	"appliance/store"
)

// Lead ids are taken before the write queues and times when the handler
// ran, so two leads that came at once around midnight may have their ids
// in the other order than their times (leads.idSkew). A CRM that pulls
// the leads of a day (to=DAY) gets every lead of that day, also one whose
// id comes after a lead of the next day's first moment, rather than
// losing it: the next day's pull (from=DAY+1) does not give it either.
// Callback requests, the same.
func TestLeadsAPIToKeepsRecordsAcrossMidnight(t *testing.T) {
	f := newCBFixture(t)
	srv, key := f.srv, f.key
	tok := chatToken(t, srv, "crm")
	loc := srv.HTTP.Sites().Location(f.site)
	midnight := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	var next, late uint64
	err := srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		next = srv.DB.NextID()
		leads.Put(tx, f.site.ID, &store.Lead{ID: next, Time: midnight.Add(time.Millisecond).UnixMilli(), Via: "server", Name: "first of December"})
		late = srv.DB.NextID()
		leads.Put(tx, f.site.ID, &store.Lead{ID: late, Time: midnight.Add(-time.Millisecond).UnixMilli(), Via: "server", Name: "last of November"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !(next < late) {
		t.Fatalf("ids %d, %d: want the December lead's first", next, late)
	}
	nov := apiList(t, srv.URL+"api/v1/leads?site="+key+"&from=2026-11-30&to=2026-11-30", tok)
	if got := ids(nov); len(got) != 1 || got[0] != late {
		t.Errorf("the leads of November 30: %v, want [%d]", got, late)
	}
	if got := ids(apiList(t, srv.URL+"api/v1/leads?site="+key+"&from=2026-12-01&to=2026-12-01", tok)); len(got) != 1 || got[0] != next {
		t.Errorf("the leads of December 1: %v, want [%d]", got, next)
	}
	if status, out := apiCall(t, "GET", srv.URL+"api/v1/leads?site="+key+"&to=2026-11-30", tok, nil); status != http.StatusOK {
		t.Errorf("to alone: %d %v", status, out)
	}

	// Callback requests, the same way.
	err = srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		next = srv.DB.NextID()
		cb := store.Callback{ID: next, Time: midnight.Add(time.Millisecond).UnixMilli(), Phone: "79101234567", PhoneRaw: "79101234567"}
		tx.Set(store.CallbackKey(f.site.ID, next), cb.Encode())
		late = srv.DB.NextID()
		cb = store.Callback{ID: late, Time: midnight.Add(-time.Millisecond).UnixMilli(), Phone: "79101234568", PhoneRaw: "79101234568"}
		tx.Set(store.CallbackKey(f.site.ID, late), cb.Encode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(apiList(t, srv.URL+"api/v1/callbacks?site="+key+"&from=2026-11-30&to=2026-11-30", tok)); len(got) != 1 || got[0] != late {
		t.Errorf("the callbacks of November 30: %v, want [%d]", got, late)
	}
	if got := ids(apiList(t, srv.URL+"api/v1/callbacks?site="+key+"&from=2026-12-01&to=2026-12-01", tok)); len(got) != 1 || got[0] != next {
		t.Errorf("the callbacks of December 1: %v, want [%d]", got, next)
	}
}
