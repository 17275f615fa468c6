package httpd_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/httpd/sites"
	"appliance/store"
)

// testClock is a server clock the test moves.
type testClock struct{ ms atomic.Int64 }

func newTestClock(at time.Time) *testClock {
	c := &testClock{}
	c.ms.Store(at.UnixMilli())
	return c
}

func (c *testClock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) add(d time.Duration)     { c.ms.Add(d.Milliseconds()) }
func (c *testClock) option(o *httpd.Options) { o.Now = c.now }

// sendLead posts a lead of visitor v through POST /t/v1/lead, as the
// snippet does, and fails the test unless it is taken.
func sendLead(t *testing.T, srv *httpdtest.Server, site string, v visit, fields map[string]any) {
	t.Helper()
	status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, fields))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("lead %v: %d %v", fields, status, out)
	}
}

// TestLeadRepeatIsOneLead: a lead sent again by the same visitor with the
// same words within leads.RepeatWindow (the snippet gave up waiting for
// the first answer, the visitor pressed send again, the site's code
// retried) is answered as the first was and stored once, also when the
// two come at once and after a restart; a different word, another
// visitor, or the window gone by make a lead of their own.
func TestLeadRepeatIsOneLead(t *testing.T) {
	clock := newTestClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	srv := httpdtest.Start(t, clock.option)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	words := map[string]any{"name": "Анна", "phone": "+7 912 345-67-89", "email": "Ann@Example.com",
		"message": "Перезвоните, пожалуйста", "form_name": "Заявка", "u": "https://shop.example/"}
	count := func(want int, when string) []store.Lead {
		t.Helper()
		l := siteLeads(t, srv, site)
		if len(l) != want {
			t.Fatalf("%s: %d leads stored, want %d: %+v", when, len(l), want, l)
		}
		return l
	}

	sendLead(t, srv, site, v, words)
	// The same words again, from another page of the visit (a retry from
	// the form the next page filled back in): the same lead.
	again := map[string]any{}
	for k, f := range words {
		again[k] = f
	}
	again["u"] = "https://shop.example/cart"
	sendLead(t, srv, site, v, again)
	first := count(1, "the same lead sent twice")[0]

	// The service answers a repeat with the lead it has.
	s, err := srv.HTTP.Sites().ByKey(site)
	if err != nil {
		t.Fatal(err)
	}
	in := leads.Input{Name: "Анна", Phone: "+7 912 345-67-89", Email: "Ann@Example.com",
		Message: "Перезвоните, пожалуйста", FormName: "Заявка"}
	got, err := srv.HTTP.Leads().Add(context.Background(), s, leads.Request{Visitor: v.VisitorID, Session: v.SessionID,
		Via: leads.ViaJS, In: in, Once: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID {
		t.Errorf("the repeat answered lead %d, want the first, %d", got.ID, first.ID)
	}
	count(1, "a repeat through the service")

	// One field other than typed: a lead of its own.
	changed := map[string]any{}
	for k, f := range words {
		changed[k] = f
	}
	changed["message"] = "Перезвоните, пожалуйста!"
	sendLead(t, srv, site, v, changed)
	count(2, "a lead with another message")

	// Another visitor with the same words: theirs.
	other := trackHit(t, srv, site, "", "https://shop.example/", "")
	sendLead(t, srv, site, other, words)
	count(3, "the same words from another visitor")

	// The window gone by: the same words are a new lead.
	clock.add(leads.RepeatWindow + time.Second)
	v = trackHit(t, srv, site, v.CI, "https://shop.example/", "")
	sendLead(t, srv, site, v, words)
	count(4, "the same words after the window")

	// Identical requests at once: one lead.
	at := map[string]any{"name": "Борис", "phone": "89001234567", "message": "Сразу"}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, at))
			if status != http.StatusOK || out["success"] != true {
				t.Errorf("lead at once: %d %v", status, out)
			}
		}()
	}
	wg.Wait()
	count(5, "six identical leads at once")

	// After a restart within the window: still the one lead.
	clock.add(time.Minute)
	srv = srv.Restart(t, clock.option)
	sendLead(t, srv, site, v, at)
	count(5, "the lead sent again after a restart")

	// The site's server sending it again (add_offline_message): its own
	// way, its own lead once, then a repeat.
	sv, err := srv.HTTP.Sites().ByKey(site)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"key": {sites.CredentialKey(sv, v.VisitorID, v.SessionID)},
		"visitor_id": {strconv.FormatUint(v.VisitorID, 10)}, "session_id": {strconv.FormatUint(v.SessionID, 10)},
		"name": {"Борис"}, "phone": {"89001234567"}, "text": {"Сразу"}}
	for i := range 2 {
		status, out, _ := post(t, srv.URL+"api/add_offline_message/", "application/x-www-form-urlencoded", []byte(form.Encode()))
		if status != http.StatusOK || out["success"] != true {
			t.Fatalf("add_offline_message %d: %d %v", i, status, out)
		}
	}
	count(6, "a server's lead sent twice")
}
