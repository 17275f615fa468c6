package httpd_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// unlimited turns the tracker rate limits off, for benchmarks that post as
// fast as the machine allows.
func unlimited(o *httpd.Options) { o.Limits = httpd.TrackerLimits{PerIP: -1, PerSite: -1} }

func postHit(t *testing.T, srv *httpdtest.Server, siteKey, ip string) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"k": siteKey, "u": "https://shop.example.com/", "t": "x"})
	req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func countHits(t *testing.T, db *store.DB) int {
	n := 0
	if err := db.ScanPrefix(t.Context(), []byte{'h'}, false, 0, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrackerPerIPLimit(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{PerIP: 1, PerSite: -1} // bursts of 30
	})
	site := srv.Site(t, "Shop", "shop.example.com")
	for i := 0; i < 30; i++ {
		if resp := postHit(t, srv, site, "203.0.113.5"); resp.StatusCode != 200 {
			t.Fatalf("hit %d of the burst: %d", i, resp.StatusCode)
		}
	}
	resp := postHit(t, srv, site, "203.0.113.5")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("31st hit: %d %v", resp.StatusCode, resp.Header)
	}
	if n := countHits(t, srv.DB); n != 30 {
		t.Fatalf("%d hits stored, want the 30 allowed", n)
	}
	if resp := postHit(t, srv, site, "198.51.100.7"); resp.StatusCode != 200 {
		t.Fatalf("another address: %d", resp.StatusCode)
	}
}

func TestTrackerPerSiteLimit(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{PerIP: -1, PerSite: 1}
	})
	busy := srv.Site(t, "Busy", "busy.example.com")
	calm := srv.Site(t, "Calm", "calm.example.com")
	var last int
	for i := 0; i < 31; i++ {
		last = postHit(t, srv, busy, "203.0.113."+string(rune('0'+i%10))).StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("31st hit for one site from many addresses: %d", last)
	}
	if resp := postHit(t, srv, calm, "203.0.113.1"); resp.StatusCode != 200 {
		t.Fatalf("another site: %d", resp.StatusCode)
	}
}
