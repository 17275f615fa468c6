package httpd_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
)

// Waiting long polls count with the sockets of their address. They were
// limited per visitor only (2), and a visitor costs one page view, so one
// address could hold any number of requests open, each a goroutine, its
// buffers and a subscription, for up to 25 seconds at a time: the 20
// connections per IP that bound the sockets did not bind the fallback.
func TestChatPollsPerIP(t *testing.T) {
	var held sync.WaitGroup
	t.Cleanup(held.Wait) // after the server stops, which ends the polls
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.ChatLimits.ConnsPerIP = 4 })
	site := srv.Site(t, "Shop", "shop.example")
	body := func(cv *chatVisitor, wait int) []byte {
		b, _ := json.Marshal(map[string]any{"k": site, "ci": cv.v.CI, "key": cv.v.Key, "u": "https://shop.example/page", "wait": wait})
		return b
	}
	poll := func(cv *chatVisitor, wait int) (int, string) {
		status, out, _ := post(t, srv.URL+"t/v1/chat", "text/plain;charset=UTF-8", body(cv, wait))
		msg, _ := out["error"].(string)
		return status, msg
	}
	var visitors []*chatVisitor
	for range 3 {
		visitors = append(visitors, newChatVisitor(t, srv, site, "https://shop.example/"))
	}
	// Two visitors' tabs each hold their poll: four, the address's limit.
	for _, cv := range visitors[:2] {
		for range 2 {
			held.Add(1)
			go func() {
				defer held.Done()
				for {
					resp, err := http.Post(srv.URL+"t/v1/chat", "text/plain;charset=UTF-8", bytes.NewReader(body(cv, 25)))
					if err != nil {
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusTooManyRequests {
						return
					}
				}
			}()
		}
	}
	// Both of a visitor's polls are held once a third is refused as the
	// visitor's.
	for _, cv := range visitors[:2] {
		for {
			status, msg := poll(cv, 1)
			if status == http.StatusTooManyRequests && strings.Contains(msg, "per visitor") {
				break
			}
			if status != http.StatusOK && status != http.StatusTooManyRequests {
				t.Fatalf("a waiting poll: %d %s", status, msg)
			}
		}
	}
	status, msg := poll(visitors[2], 1)
	if status != http.StatusTooManyRequests || !strings.Contains(msg, "from this address") {
		t.Errorf("a fifth waiting poll from one address (limit 4), of a third visitor: %d %q, want 429 for the address", status, msg)
	}
	// A poll that sends and does not wait is not held, and not refused.
	if status, msg := poll(visitors[2], 0); status != http.StatusOK {
		t.Errorf("a poll that does not wait, with the address's polls all held: %d %q, want 200", status, msg)
	}
}

// The long poll is a tracker request like a hit, counted by the tracker's
// per-IP limit. It was counted by none: each poll carries up to 10 frames
// and a poll's frame budget (10 a second, a socket's) starts afresh with
// each request, so one address could post typing and read frames, each
// an event to every console of the site, as fast as it could send
// requests, where a socket is held to 10 a second.
func TestChatPollCountsAgainstTrackerIPLimit(t *testing.T) {
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{PerIP: 0.001, PerIPBurst: 3, PerSite: -1} // about no refill while the test runs
	})
	site := srv.Site(t, "Shop", "shop.example")
	cv := newChatVisitor(t, srv, site, "https://shop.example/")
	poll := func(ip string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"k": site, "ci": cv.v.CI, "key": cv.v.Key, "u": "https://shop.example/page",
			"frames": []map[string]any{{"type": "typing", "on": true}, {"type": "typing", "on": false}}})
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/chat", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 3 {
		if status := poll("203.0.113.5"); status != http.StatusOK {
			t.Fatalf("poll %d of the address's burst of 3: %d", i+1, status)
		}
	}
	if status := poll("203.0.113.5"); status != http.StatusTooManyRequests {
		t.Errorf("a 4th poll from the address (burst 3): %d, want 429", status)
	}
	if status, _ := dialStatus(t, wsURL(srv, "t/v1/chat/ws?k="+site), http.Header{"Origin": {shopOrigin}, "X-Forwarded-For": {"203.0.113.5"}}); status != http.StatusTooManyRequests {
		t.Errorf("a socket from the address over its limit: %d, want 429", status)
	}
	if status := poll("198.51.100.7"); status != http.StatusOK {
		t.Errorf("a poll from another address: %d, want 200", status)
	}
}
