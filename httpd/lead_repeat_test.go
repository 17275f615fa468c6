package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/callbacks"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/httpd/sites"
	"appliance/store"
)

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
	clock := &trClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	now := func(o *httpd.Options) { o.Now = clock.Now }
	srv := httpdtest.Start(t, now)
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
	clock.Add(leads.RepeatWindow + time.Second)
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
	clock.Add(time.Minute)
	srv = srv.Restart(t, now)
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

// TestCallbackRepeatIsOneCall: a callback request sent again by the same
// visitor within leads.RepeatWindow (the widget gave up waiting, the
// visitor pressed the button again) is answered as the first and neither
// stored nor called again, also when the two come at once; another number,
// another visitor, the window gone by, or a first call that failed make a
// request of its own.
func TestCallbackRepeatIsOneCall(t *testing.T) {
	f := newCBFixture(t, func(o *httpd.Options) { o.Callbacks.VisitorLimit, o.Callbacks.IPLimit = 100, 100 })
	p := newPBX(t)
	p.secret = f.configure(t, map[string]any{"webhook": p.srv.URL}).Secret
	count := func(want int, when string) {
		t.Helper()
		if got := len(f.callbacks(t)); got != want {
			t.Fatalf("%s: %d callbacks stored, want %d", when, got, want)
		}
	}
	calls := func() int {
		n := 0
		for _, c := range p.calls() {
			n += c
		}
		return n
	}

	for i := range 2 {
		status, out := f.order(t, f.v, map[string]any{"phone": "+7 910 123-45-67", "u": "https://shop.example/p" + strconv.Itoa(i)})
		wantStatus(t, "call "+strconv.Itoa(i+1), status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	}
	count(1, "one request sent twice")
	if n := calls(); n != 1 {
		t.Errorf("the pbx was asked %d times, want once", n)
	}

	status, out := f.order(t, f.v, map[string]any{"phone": "+7 910 123-45-68"})
	wantStatus(t, "another number", status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	count(2, "another number")
	other := trackHit(t, f.srv, f.key, "", "https://shop.example/", "")
	status, out = f.order(t, other, map[string]any{"phone": "+7 910 123-45-67"})
	wantStatus(t, "another visitor", status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	count(3, "the same number from another visitor")

	// Requests at once: one.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := map[string]any{"k": f.key, "ci": f.v.CI, "key": f.v.Key, "phone": "89995550011"}
			if status, out, _ := postJSON(t, f.srv.URL+"t/v1/callback", b); status != http.StatusOK || out["success"] != true {
				t.Errorf("callback at once: %d %v", status, out)
			}
		}()
	}
	wg.Wait()
	count(4, "four requests at once")

	// A call that failed, asked for again: a new try.
	p.setStatus(http.StatusServiceUnavailable)
	status, out = f.order(t, f.v, map[string]any{"phone": "89995550022"})
	wantStatus(t, "the pbx failing", status, out, callbacks.StatusFailed, callbacks.CodeTelephonyFailed)
	p.setStatus(http.StatusOK)
	status, out = f.order(t, f.v, map[string]any{"phone": "89995550022"})
	wantStatus(t, "again after a failure", status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	count(6, "a failed call asked for again")

	// The window gone by: a new request.
	f.clock.Add(leads.RepeatWindow + time.Second)
	status, out = f.order(t, f.v, map[string]any{"phone": "+7 910 123-45-67"})
	wantStatus(t, "after the window", status, out, callbacks.StatusAccepted, callbacks.CodeCalling)
	count(7, "the same request after the window")

	// A repeat uses up no limit: a visitor asking again, and again, for
	// the call whose answer was lost is never told "too many calls".
	g := newCBFixture(t) // 3 calls of a visitor in 10 minutes
	for i := range 5 {
		status, out := g.order(t, g.v, map[string]any{"phone": "89995550033"})
		wantStatus(t, "request "+strconv.Itoa(i+1), status, out, callbacks.StatusAccepted, callbacks.CodeQueued)
	}
	if n := len(g.callbacks(t)); n != 1 {
		t.Errorf("%d callbacks stored, want 1", n)
	}
}

// TestLeadRepeatUsesNoLimit: a lead's repeats are answered before the
// address's limit of leads a minute and use up none of it: a page sending
// its lead again and again is told each time that it was taken, and the
// address may still leave its minute's new leads.
func TestLeadRepeatUsesNoLimit(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Now = clock.Now })
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	words := map[string]any{"name": "Анна", "phone": "+7 912 345-67-89", "message": "Перезвоните"}
	for range 25 { // the first and 24 repeats, more than the minute's 20
		sendLead(t, srv, site, v, words)
	}
	if n := len(siteLeads(t, srv, site)); n != 1 {
		t.Fatalf("%d leads stored, want 1", n)
	}
	for i := range 19 { // the rest of the minute's leads
		sendLead(t, srv, site, v, map[string]any{"name": "Анна", "message": "Заказ " + strconv.Itoa(i)})
	}
	status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"message": "ещё один"}))
	if status != http.StatusTooManyRequests {
		t.Errorf("the 21st new lead of the minute: %d %v, want 429", status, out)
	}
	sendLead(t, srv, site, v, words) // a repeat still answered
	if n := len(siteLeads(t, srv, site)); n != 20 {
		t.Errorf("%d leads stored, want 20", n)
	}
}

// TestLeadWithoutVisitRepeatIsOneLead: a lead of the site without a visit
// (sent before the first page view was answered, or by a page whose page
// view failed) sent again with the same words from the same address within
// leads.RepeatWindow is the first one, answered as it was, before the
// address's limit and also after a restart; the same words from another
// address, or after the window, are leads of their own.
func TestLeadWithoutVisitRepeatIsOneLead(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	opts := func(o *httpd.Options) { o.Now = clock.Now; o.TrustProxy = true }
	srv := httpdtest.Start(t, opts)
	site := srv.Site(t, "Shop", "shop.example")
	send := func(from string, fields map[string]any) {
		t.Helper()
		body := map[string]any{"k": site}
		for k, f := range fields {
			body[k] = f
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, srv.URL+"t/v1/lead", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("lead %v from %s: %d", fields, from, resp.StatusCode)
		}
	}
	count := func(want int, when string) {
		t.Helper()
		if l := siteLeads(t, srv, site); len(l) != want {
			t.Fatalf("%s: %d leads stored, want %d: %+v", when, len(l), want, l)
		}
	}
	words := map[string]any{"name": "Анна", "phone": "+7 912 345-67-89", "message": "Перезвоните", "u": "https://shop.example/"}
	send("203.0.113.7", words)
	for range 25 { // more than the address's minute: repeats use none of it
		send("203.0.113.7", words)
	}
	count(1, "the same lead without a visit sent again")

	// Another lead of the site between, then the first again: still one.
	send("203.0.113.7", map[string]any{"message": "Другая заявка"})
	send("203.0.113.7", words)
	count(2, "a repeat after another lead")

	// The same words from another address: its own lead.
	send("198.51.100.20", words)
	count(3, "the same words from another address")

	// After a restart within the window: still a repeat.
	clock.Add(time.Minute)
	srv = srv.Restart(t, opts)
	send("203.0.113.7", words)
	count(3, "the lead sent again after a restart")

	// The window gone by: a new lead.
	clock.Add(leads.RepeatWindow)
	send("203.0.113.7", words)
	count(4, "the same words after the window")
}
