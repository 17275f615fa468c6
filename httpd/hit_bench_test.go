package httpd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
)

// BenchmarkHit is the tracker's hit endpoint end to end (HTTP parsing,
// session, durable group-committed writes, JSON answer) over an in-memory
// listener, beside a fasthttp handler that answers the same bytes and does
// nothing else: the price of everything a hit does. Returning visitors
// with a ci; "lease" also renews each one's dynamic number (and answers
// "phones"), "nolease" is a site without numbers.
func BenchmarkHit(b *testing.B) {
	const visitors = 256
	srv := httpdtest.Start(b, unlimited)
	siteKey := srv.Site(b, "Bench", "bench.example")
	site, _ := srv.HTTP.Sites().ByKey(siteKey)
	plainKey := srv.Site(b, "Plain", "plain.example")
	ctx := context.Background()
	tr := srv.HTTP.Numbers()
	var pool []string
	for i := range 2 * visitors {
		pool = append(pool, fmt.Sprintf("7495%07d", i+1))
	}
	if _, err := tr.SetSiteNumbers(ctx, site.ID, []string{"74872751404"}, time.Now()); err != nil {
		b.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, site.ID, tracking.PoolInput{Name: "ads", Numbers: pool}, time.Now()); err != nil {
		b.Fatal(err)
	}

	ln := fasthttputil.NewInmemoryListener()
	hs := &fasthttp.Server{Handler: srv.HTTP.Handler}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Shutdown(); ln.Close() })
	client := &fasthttp.HostClient{Addr: "bench", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 1024}

	post := func(body []byte) ([]byte, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://bench/t/v1/hit")
		req.Header.SetMethod("POST")
		req.Header.SetContentType("text/plain;charset=UTF-8")
		req.Header.SetUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
		req.SetBody(body)
		if err := client.Do(req, resp); err != nil {
			return nil, err
		}
		if resp.StatusCode() != 200 {
			return nil, fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		return append([]byte(nil), resp.Body()...), nil
	}
	// Each visitor's first page view; the benchmark is their next ones.
	bodies := func(key, u string) ([][]byte, []byte) {
		var out [][]byte
		var answer []byte
		for range visitors {
			first, _ := json.Marshal(map[string]string{"k": key, "ci": "", "u": u, "r": "", "t": "page"})
			res, err := post(first)
			if err != nil {
				b.Fatal(err)
			}
			var env struct {
				Result struct {
					CI  string `json:"ci"`
					Key string `json:"key"`
				} `json:"result"`
			}
			json.Unmarshal(res, &env)
			next, _ := json.Marshal(map[string]string{"k": key, "ci": env.Result.CI, "key": env.Result.Key, "u": u, "r": "", "t": "page"})
			out = append(out, next)
			answer = res
		}
		return out, answer
	}
	leaseBodies, leaseAnswer := bodies(siteKey, "https://bench.example/?utm_source=google&utm_medium=cpc")
	plainBodies, _ := bodies(plainKey, "https://plain.example/?utm_source=google&utm_medium=cpc")
	if live := tr.Preview(site.ID, cpcVisit, time.Now())[0].Free; live != len(pool)-visitors {
		b.Fatalf("%d numbers free after %d visitors, want %d", live, visitors, len(pool)-visitors)
	}

	run := func(b *testing.B, bodies [][]byte) {
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) % uint64(len(bodies))
				if _, err := post(bodies[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("hit/lease", func(b *testing.B) { run(b, leaseBodies) })
	b.Run("hit/nolease", func(b *testing.B) { run(b, plainBodies) })
	b.Run("hello", func(b *testing.B) {
		hln := fasthttputil.NewInmemoryListener()
		hello := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBody(leaseAnswer)
		}}
		go hello.Serve(hln)
		defer func() { hello.Shutdown(); hln.Close() }()
		saved := client
		client = &fasthttp.HostClient{Addr: "bench", Dial: func(string) (net.Conn, error) { return hln.Dial() }, MaxConns: 1024}
		defer func() { client = saved }()
		run(b, leaseBodies)
	})
}
