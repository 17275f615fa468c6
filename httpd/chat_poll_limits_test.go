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
