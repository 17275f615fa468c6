package httpd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"appliance/store/storetest"
)

// startInternal serves a Server on 127.0.0.1 for tests that need to reach
// inside it (extra routes); others use httpdtest.
func startInternal(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	db := storetest.Open(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listen = ln.Addr().String()
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, db, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done; db.Close() })
	return s, "http://" + ln.Addr().String()
}

func decodeErr(t *testing.T, resp *http.Response) errorResponse {
	t.Helper()
	defer resp.Body.Close()
	var e errorResponse
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer is %s, want JSON", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPanicIsRecoveredAndServerKeepsServing(t *testing.T) {
	s, base := startInternal(t, Options{})
	s.routes.api("GET", "/boom", open, func(*fasthttp.RequestCtx) error { panic("kaboom") })
	resp, err := http.Get(base + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	if e := decodeErr(t, resp); e.Success || e.Error != "internal error" {
		t.Errorf("panic answered %+v", e)
	}
	var m dto.Metric
	if err := s.metrics.panics.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("panics counted %v (%v)", m.GetCounter().GetValue(), err)
	}
	resp, err = http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic /healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestErrorShapeAndLimits(t *testing.T) {
	_, base := startInternal(t, Options{MetricsToken: "sesame"})
	cases := []struct {
		name   string
		req    func() (*http.Response, error)
		status int
		msg    string
	}{
		{"unknown path", func() (*http.Response, error) { return http.Get(base + "/nope") }, 404, "no such page"},
		{"wrong method", func() (*http.Response, error) { return http.Post(base+"/healthz", "text/plain", nil) }, 405, "not allowed"},
		{"body too large", func() (*http.Response, error) { return oversized(base, "/login") }, 413, "too large"},
		{"tracker body too large, with CORS", func() (*http.Response, error) {
			resp, err := oversized(base, "/t/v1/hit")
			if err == nil && resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				err = fmt.Errorf("no CORS header on a tracker 413")
			}
			return resp, err
		}, 413, "too large"},
		{"headers too large", func() (*http.Response, error) {
			req, _ := http.NewRequest("GET", base+"/healthz", nil)
			req.Header.Set("X-Big", strings.Repeat("b", maxHeaderBytes+100))
			return http.DefaultClient.Do(req)
		}, 431, "headers too large"},
		{"metrics without token", func() (*http.Response, error) { return http.Get(base + "/metrics") }, 401, "Bearer"},
		{"metrics wrong token", func() (*http.Response, error) {
			req, _ := http.NewRequest("GET", base+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer open")
			return http.DefaultClient.Do(req)
		}, 401, "Bearer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := c.req()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
			if e := decodeErr(t, resp); e.Success || !strings.Contains(e.Error, c.msg) {
				t.Errorf("answer %+v, want an error about %q", e, c.msg)
			}
		})
	}
}

// oversized announces a body over the limit and reads the answer without
// sending the body: the server answers from the headers alone, and a
// client still writing would only see its connection reset.
func oversized(base, path string) (*http.Response, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", path, maxBodySize+10)
	return http.ReadResponse(bufio.NewReader(conn), nil)
}

func TestMetricsWithToken(t *testing.T) {
	_, base := startInternal(t, Options{MetricsToken: "sesame"})
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer sesame")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d, type %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"# TYPE go_goroutines gauge", "appliance_store_commits_total ", "appliance_sites 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestMetricsOffWithoutToken(t *testing.T) {
	_, base := startInternal(t, Options{})
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 {
		t.Errorf("status %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestClientIPTrustsProxyOnlyWhenTold(t *testing.T) {
	for _, trust := range []bool{false, true} {
		s := &Server{opts: Options{TrustProxy: trust}}
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, nil)
		ctx.Request.Header.Set("X-Forwarded-For", "1.2.3.4, 5.6.7.8")
		want := "10.0.0.1"
		if trust {
			want = "5.6.7.8"
		}
		if got := s.clientIP(&ctx); got != want {
			t.Errorf("trust=%v: client IP %s, want %s", trust, got, want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	cases := []struct {
		o    Options
		want string
		ok   bool
	}{
		{Options{Listen: ":8080"}, "http://localhost:8080/", true},
		{Options{Listen: "127.0.0.1:9000"}, "http://127.0.0.1:9000/", true},
		{Options{Listen: ":443", TLSCert: "c", TLSKey: "k"}, "https://localhost:443/", true},
		{Options{Listen: ":443", ACME: ACMEOptions{Domains: []string{"shop.example.com"}}}, "https://shop.example.com/", true},
		{Options{Listen: "127.0.0.1:8443", ACME: ACMEOptions{Domains: []string{"shop.example.com", "b.example.com"}}}, "https://shop.example.com:8443/", true},
		{Options{Listen: ":8080", PublicURL: "https://track.example.com/"}, "https://track.example.com/", true},
		{Options{Listen: ":8080", PublicURL: "ftp://x"}, "", false},
		{Options{Listen: "nonsense"}, "", false},
	}
	for _, c := range cases {
		u, err := publicURL(c.o)
		if (err == nil) != c.ok {
			t.Errorf("%+v: err %v", c.o, err)
			continue
		}
		if c.ok && u.String() != c.want {
			t.Errorf("%+v: %s, want %s", c.o, u, c.want)
		}
	}
}
