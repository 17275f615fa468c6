package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveArgs runs `appliance serve` with args as the command line would, on
// a free port, and returns the server's base URL once it answers.
func serveArgs(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRoot(io.Discard)
		root.SetArgs(append([]string{"serve", "--listen", addr}, args...))
		done <- root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + addr
	for {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve %v: %v", args, err)
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hitFrom posts a page view of site from the client address ip and returns
// the status and the error message.
func hitFrom(t *testing.T, base, site, ip string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"k": site, "u": "https://shop.example/", "t": "x"})
	req, _ := http.NewRequest("POST", base+"/t/v1/hit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer.Error
}

// The tracker's limits come from serve's flags and their environment
// variables: a site's burst of 3 and an IP's of 2 (rates so slow that no
// token comes back during the test) hold through the real server.
func TestServeTrackerLimitFlags(t *testing.T) {
	dir, site := offlineSite(t)
	t.Setenv("APPLIANCE_TRACKER_SITE_RATE", "0.001")
	base := serveArgs(t, "--data", dir, "--trust-proxy", "--tracker-site-burst", "3",
		"--tracker-ip-rate", "0.001", "--tracker-ip-burst", "2")
	for i, want := range []int{200, 200, 429} {
		if got, msg := hitFrom(t, base, site, "203.0.113.1"); got != want {
			t.Fatalf("hit %d from one address: %d %q, want %d", i+1, got, msg, want)
		} else if got == 429 && !strings.Contains(msg, "this address") {
			t.Fatalf("per-IP refusal says %q", msg)
		}
	}
	if got, msg := hitFrom(t, base, site, "203.0.113.2"); got != 200 {
		t.Fatalf("the site's third hit: %d %q", got, msg)
	}
	if got, msg := hitFrom(t, base, site, "203.0.113.3"); got != 429 || !strings.Contains(msg, "this site") {
		t.Fatalf("the site's fourth hit: %d %q, want 429 for the site", got, msg)
	}
}

// A rate of 0 turns a limit off; a negative or non-numeric one is a usage
// error.
func TestServeTrackerLimitFlagValues(t *testing.T) {
	dir, site := offlineSite(t)
	base := serveArgs(t, "--data", dir, "--trust-proxy", "--tracker-ip-rate", "0", "--tracker-site-rate", "0")
	for i := range 100 {
		if got, msg := hitFrom(t, base, site, "203.0.113.1"); got != 200 {
			t.Fatalf("hit %d with the limits off: %d %q", i+1, got, msg)
		}
	}
	for _, bad := range []string{"-1", "fast"} {
		root := newRoot(io.Discard)
		root.SetArgs([]string{"serve", "--data", t.TempDir(), "--tracker-site-rate", bad})
		err := root.ExecuteContext(context.Background())
		if _, ok := err.(usageError); !ok {
			t.Fatalf("--tracker-site-rate %s: %v, want a usage error", bad, err)
		}
	}
}
