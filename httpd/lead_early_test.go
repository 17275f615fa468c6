package httpd_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
)

// A lead sent before the visitor's first page view was answered carries
// what Comagic.getCredentials() gives then: the site key as its key and no
// ids (null, which jQuery's val() and $.param write as "", and a page that
// builds the query itself as "null"). Both endpoints keep it as the site's
// lead without a visit, flagged on the leads page and in its webhook view;
// a key that is neither the site's nor the visitor's is refused as before,
// and nothing is stored.
func TestLeadBeforeFirstAnswer(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/contacts", "")
	endpoint := srv.URL + "api/add_offline_message/"
	early := func(ids string, fields map[string]string) url.Values {
		f := url.Values{"key": {site}, "uri": {srv.URL}, "visitor_id": {ids}, "hit_id": {ids}, "session_id": {ids}}
		for k, x := range fields {
			f.Set(k, x)
		}
		return f
	}

	accepted := []struct {
		name string
		send func() (int, map[string]any, http.Header)
		via  string
		text string
	}{
		{"form, empty ids", func() (int, map[string]any, http.Header) {
			return post(t, endpoint, "application/x-www-form-urlencoded; charset=UTF-8",
				[]byte(early("", map[string]string{"name": "Иван", "email": "ivan@example.com", "phone": "+79251234567", "text": "empty ids"}).Encode()))
		}, "server", "empty ids"},
		{"form, null ids", func() (int, map[string]any, http.Header) {
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(early("null", map[string]string{"text": "null ids"}).Encode()))
		}, "server", "null ids"},
		{"form, no ids at all", func() (int, map[string]any, http.Header) {
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(url.Values{"key": {site}, "text": {"no ids"}}.Encode()))
		}, "server", "no ids"},
		{"form, site key with a visitor's ids", func() (int, map[string]any, http.Header) {
			// The ids are vouched for by no key: the lead is the site's.
			f := credentialForm(v, map[string]string{"key": site, "text": "ids dropped"})
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(f.Encode()))
		}, "server", "ids dropped"},
		{"snippet, no ci", func() (int, map[string]any, http.Header) {
			return postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": site, "name": "Пётр", "message": "no ci", "u": "https://shop.example/"})
		}, "js", "no ci"},
	}
	c := srv.Client(t)
	for i, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := tt.send()
			if status != http.StatusOK || out["success"] != true {
				t.Fatalf("%d %v; want the lead stored", status, out)
			}
			got := siteLeads(t, srv, site)
			if len(got) != i+1 {
				t.Fatalf("%d leads stored, want %d", len(got), i+1)
			}
			l := got[0]
			if l.Message != tt.text || l.Via != tt.via || l.Visitor != 0 || l.Session != 0 || l.Hit != 0 || l.Source.Channel != "" {
				t.Fatalf("stored %+v; want the site's lead without a visit", l)
			}
			if !leads.ViewOf(&l).NoVisit {
				t.Error("its view does not flag it no_visit")
			}
			page := rawPage(t, c, srv.URL+"sites/"+site+"/leads")
			row := page[strings.Index(page, fmt.Sprintf(`id="lead-%d"`, l.ID)):]
			row = row[:strings.Index(row, "</tr>")]
			if !strings.Contains(row, "no visit") {
				t.Errorf("its row does not say why it has no visit:\n%s", row)
			}
		})
	}
	stored := len(siteLeads(t, srv, site))

	// A lead with a visit is not flagged.
	status, out, _ := post(t, endpoint, "application/x-www-form-urlencoded", []byte(credentialForm(v, map[string]string{"text": "with a visit"}).Encode()))
	if status != http.StatusOK || out["success"] != true {
		t.Fatalf("a visitor's lead: %d %v", status, out)
	}
	l := siteLeads(t, srv, site)[0]
	if l.Visitor != v.VisitorID || leads.ViewOf(&l).NoVisit {
		t.Fatalf("a visitor's lead stored %+v", l)
	}
	page := rawPage(t, c, srv.URL+"sites/"+site+"/leads")
	row := page[strings.Index(page, fmt.Sprintf(`id="lead-%d"`, l.ID)):]
	if row = row[:strings.Index(row, "</tr>")]; strings.Contains(row, "no visit") {
		t.Errorf("a visitor's lead flagged no visit:\n%s", row)
	}
	stored++

	for _, tt := range []struct {
		name   string
		send   func() (int, map[string]any, http.Header)
		status int
		errSub string
	}{
		{"unknown key", func() (int, map[string]any, http.Header) {
			f := early("", map[string]string{"key": strings.Repeat("a", 32), "text": "x"})
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(f.Encode()))
		}, 403, "wrong key"},
		{"no key", func() (int, map[string]any, http.Header) {
			f := early("", map[string]string{"key": "", "text": "x"})
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(f.Encode()))
		}, 403, "wrong key"},
		{"a visitor's key without ids", func() (int, map[string]any, http.Header) {
			f := early("", map[string]string{"key": v.Key, "text": "x"})
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(f.Encode()))
		}, 403, "wrong key"},
		{"visitor_id without session_id", func() (int, map[string]any, http.Header) {
			f := early("", map[string]string{"visitor_id": strconv.FormatUint(v.VisitorID, 10), "text": "x"})
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(f.Encode()))
		}, 400, "visitor_id and session_id go together"},
		{"bad visitor_id", func() (int, map[string]any, http.Header) {
			f := early("", map[string]string{"visitor_id": "abc", "session_id": "1", "text": "x"})
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(f.Encode()))
		}, 400, "visitor_id"},
		{"empty lead", func() (int, map[string]any, http.Header) {
			return post(t, endpoint, "application/x-www-form-urlencoded", []byte(early("", nil).Encode()))
		}, 400, "the lead is empty"},
		{"snippet, unknown site", func() (int, map[string]any, http.Header) {
			return postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": strings.Repeat("a", 32), "message": "x"})
		}, 404, "unknown site key"},
		{"snippet, a ci without its key", func() (int, map[string]any, http.Header) {
			return postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": site, "ci": v.CI, "message": "x"})
		}, 403, "wrong key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := tt.send()
			errMsg, _ := out["error"].(string)
			if status != tt.status || out["success"] != false || !strings.Contains(errMsg, tt.errSub) {
				t.Errorf("%d %v; want %d with %q", status, out, tt.status, tt.errSub)
			}
			if n := len(siteLeads(t, srv, site)); n != stored {
				t.Errorf("%d leads stored, want still %d", n, stored)
			}
		})
	}
}

// A lead of the site without a visit goes through the leads a minute of
// its address as any other.
func TestLeadWithoutVisitRateLimited(t *testing.T) {
	clock := &trClock{now: time.Now()} // one minute throughout
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Now = clock.Now })
	site := srv.Site(t, "Shop", "shop.example")
	for i := range leadsPerMinuteForTest { // each its own words: no repeats
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": site, "message": fmt.Sprint("x", i)}); status != http.StatusOK {
			t.Fatalf("lead %d: %d %v", i+1, status, out)
		}
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": site, "message": "y"}); status != http.StatusTooManyRequests {
		t.Errorf("lead %d of a minute: %d %v, want 429", leadsPerMinuteForTest+1, status, out)
	}
	if n := len(siteLeads(t, srv, site)); n != leadsPerMinuteForTest {
		t.Errorf("%d leads stored, want %d", n, leadsPerMinuteForTest)
	}
}

// A lead sent with the credentials of the visitor's last page view (what
// getCredentials() gives a returning visitor before the answer: no hit id)
// lands on that visitor and session, also once a later session began.
func TestLeadWithStaleCredentials(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	old := trackHit(t, srv, site, "", "https://shop.example/", "")
	now := trackHit(t, srv, site, old.CI, "https://shop.example/?utm_source=newsletter&utm_campaign=dec", "")
	if now.VisitorID != old.VisitorID || now.SessionID == old.SessionID {
		t.Fatalf("a new campaign's hit: %+v after %+v; want a new session of the visitor", now, old)
	}
	stale := visit{CI: old.CI, Key: old.Key, VisitorID: old.VisitorID, SessionID: old.SessionID}
	form := credentialForm(stale, map[string]string{"hit_id": "", "text": "stale form"})
	if status, out, _ := post(t, srv.URL+"api/add_offline_message/", "application/x-www-form-urlencoded", []byte(form.Encode())); status != http.StatusOK {
		t.Fatalf("add_offline_message with stale credentials: %d %v", status, out)
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", map[string]any{"k": site, "ci": old.CI, "key": old.Key, "message": "stale js"}); status != http.StatusOK {
		t.Fatalf("/t/v1/lead with stale credentials: %d %v", status, out)
	}
	got := siteLeads(t, srv, site)
	if len(got) != 2 {
		t.Fatalf("%d leads stored, want 2", len(got))
	}
	for _, l := range got {
		if l.Visitor != old.VisitorID || l.Session != old.SessionID || leads.ViewOf(&l).NoVisit {
			t.Errorf("lead %q stored %+v; want visitor %d, session %d", l.Message, l, old.VisitorID, old.SessionID)
		}
	}
}
