package httpd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
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
	site, err := srv.HTTP.Sites().ByKey(siteKey)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"k": siteKey, "u": "https://" + site.Domains[0] + "/", "t": "x"})
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
		// a burst of 30 and about no refill while the test runs, however slow
		// the machine (at 1/s, 30 durable hits taking over a second let a 31st in)
		o.Limits = httpd.TrackerLimits{PerIP: 0.001, PerIPBurst: 30, PerSite: -1}
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

// One IPv6 host holds a whole /64: the per-IP limit counts the network, as
// the sign-in, lead, callback and chat limits do, so a host cannot take
// 2^64 bursts by changing its address.
func TestTrackerPerIPLimitCountsIPv6ByNetwork(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{PerIP: 0.001, PerIPBurst: 30, PerSite: -1} // as above
	})
	site := srv.Site(t, "Shop", "shop.example.com")
	for i := 1; i <= 30; i++ {
		if resp := postHit(t, srv, site, fmt.Sprintf("2001:db8:1:2::%x", i)); resp.StatusCode != 200 {
			t.Fatalf("hit %d of the burst: %d", i, resp.StatusCode)
		}
	}
	if resp := postHit(t, srv, site, "2001:db8:1:2:ffff:ffff:ffff:ffff"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("31st hit from the same /64: %d", resp.StatusCode)
	}
	if resp := postHit(t, srv, site, "2001:db8:1:3::1"); resp.StatusCode != 200 {
		t.Fatalf("another /64: %d", resp.StatusCode)
	}
}

func TestTrackerPerSiteLimit(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{PerIP: -1, PerSite: 0.001, PerSiteBurst: 30} // as above
	})
	busy := srv.Site(t, "Busy", "busy.example.com")
	calm := srv.Site(t, "Calm", "calm.example.com")
	var last *http.Response
	for i := 0; i < 31; i++ {
		last = postHit(t, srv, busy, "203.0.113."+string(rune('0'+i%10)))
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") != "1" {
		t.Fatalf("31st hit for one site from many addresses: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if resp := postHit(t, srv, calm, "203.0.113.1"); resp.StatusCode != 200 {
		t.Fatalf("another site: %d", resp.StatusCode)
	}
}

// postFrom posts body from the client address ip (the server trusts
// X-Forwarded-For) and returns the answer, body read.
func postFrom(t *testing.T, rawURL, contentType, ip string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", rawURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Leads and captchas are limited per minute: their 429 says when the
// oldest request of the minute leaves the window, in whole seconds.
func TestLeadAndCaptchaLimitsSayRetryAfter(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.TrustProxy = true })
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	// Each lead its own words: a repeat of one is answered before the
	// limit and counts against none of it (TestLeadRepeatUsesNoLimit).
	lead := func(i int) []byte {
		return mustJSON(leadBody(site, v, map[string]any{"message": fmt.Sprint("no contact, lead ", i)}))
	}
	form := func(int) []byte {
		return []byte(url.Values{"key": {v.Key}, "visitor_id": {fmt.Sprint(v.VisitorID)}, "session_id": {fmt.Sprint(v.SessionID)}}.Encode())
	}
	captcha := func(int) []byte { return mustJSON(map[string]any{"k": site}) }
	for _, tc := range []struct {
		name, path, contentType string
		body                    func(i int) []byte
		allowed                 int
	}{
		{"lead", "t/v1/lead", "text/plain", lead, 20},
		{"server lead", "api/add_offline_message/", "application/x-www-form-urlencoded", form, 600},
		{"captcha", "t/v1/captcha", "text/plain", captcha, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := "198.51.100." + fmt.Sprint(len(tc.name))
			for i := 0; i < tc.allowed; i++ {
				if resp := postFrom(t, srv.URL+tc.path, tc.contentType, ip, tc.body(i)); resp.StatusCode == http.StatusTooManyRequests {
					t.Fatalf("request %d of %d allowed a minute: 429", i+1, tc.allowed)
				}
			}
			resp := postFrom(t, srv.URL+tc.path, tc.contentType, ip, tc.body(tc.allowed))
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request %d in a minute: %d, want 429", tc.allowed+1, resp.StatusCode)
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
				t.Errorf("Retry-After %q, want 1 to 60 seconds", resp.Header.Get("Retry-After"))
			}
		})
	}
}
