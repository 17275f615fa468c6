package httpd_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
)

// Behind a trusted proxy the client is the address the proxy added last.
// A proxy may add it as a header line of its own after the client's
// (HAProxy's option forwardfor does; RFC 9110 makes two lines one list),
// and the server read only the first line, the client's: a visitor who
// sent X-Forwarded-For: 127.0.0.1 was taken for loopback, which no
// tracker limit counts, and one who sent another address each time was a
// new client each time.
func TestTrustedProxyAddressIsTheLastLine(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{PerIP: 0.001, PerIPBurst: 3, PerSite: -1} // about no refill while the test runs
	})
	site := srv.Site(t, "Shop", "shop.example.com")
	body, _ := json.Marshal(map[string]string{"k": site, "u": "https://shop.example.com/", "t": "x"})
	hit := func(xff ...string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/hit", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header["X-Forwarded-For"] = xff // one line each, as written
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Each time the client's own line, then the line the proxy added.
	for i, forged := range []string{"127.0.0.1", "198.51.100.1", "198.51.100.2, 198.51.100.3"} {
		if status := hit(forged, "203.0.113.5"); status != http.StatusOK {
			t.Fatalf("hit %d of 203.0.113.5's burst of 3: %d", i+1, status)
		}
	}
	if status := hit("127.0.0.1", "203.0.113.5"); status != http.StatusTooManyRequests {
		t.Errorf("a 4th hit the proxy said came from 203.0.113.5 (burst 3), with a forged line 127.0.0.1 before the proxy's: %d, want 429", status)
	}
	if status := hit("203.0.113.5", "198.51.100.9"); status != http.StatusOK {
		t.Errorf("a hit the proxy said came from 198.51.100.9, with a forged line naming the address over its limit: %d, want 200", status)
	}
	// One line, the proxy appending to the client's: as before.
	if status := hit("127.0.0.1, 203.0.113.5"); status != http.StatusTooManyRequests {
		t.Errorf("a hit of 203.0.113.5 in one line after a forged 127.0.0.1: %d, want 429", status)
	}
}
