package httpd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/httpdtest"
	"appliance/numbers"
	"appliance/numbers/tracking"
)

// leaseAll gives site one site number and a pool of n numbers for all
// traffic.
func leaseAll(b *testing.B, srv *httpdtest.Server, site string, n int) {
	b.Helper()
	var nums []string
	for i := range n {
		nums = append(nums, fmt.Sprintf("7495%07d", i+1))
	}
	id, tr := siteID(b, srv, site), srv.HTTP.Numbers()
	if _, err := tr.SetSiteNumbers(context.Background(), id, []string{"74872751404"}, time.Now()); err != nil {
		b.Fatal(err)
	}
	if _, err := tr.AddPool(context.Background(), id, tracking.PoolInput{Name: "all", Numbers: nums}, time.Now()); err != nil {
		b.Fatal(err)
	}
}

func siteID(b *testing.B, srv *httpdtest.Server, key string) uint32 {
	s, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		b.Fatal(err)
	}
	return s.ID
}

// BenchmarkHitEndpoint is the page-view endpoint end to end over TCP: the
// real server on 127.0.0.1 with its store (a site without numbers), each hit answered only once synced (durable),
// beside a bare fasthttp server whose handler answers the same bytes
// without doing anything (hello), at 1 and 64 client connections. Each
// client goroutine is a visitor: its first hit starts a session, the
// following ones continue it on other pages.
//
// lease is durable on a site whose every visitor leases a number of a pool
// (and is answered "phones"). (BenchmarkHit, beside it, runs over an
// in-memory listener.)
//
//	go test -run x -bench BenchmarkHitEndpoint ./httpd/
func BenchmarkHitEndpoint(b *testing.B) {
	var answer []byte // a real hit's answer, for the hello server
	for _, conns := range []int{1, 64} {
		b.Run(fmt.Sprintf("durable/conns=%d", conns), func(b *testing.B) {
			srv := httpdtest.Start(b, unlimited)
			site := srv.Site(b, "Shop", "shop.example.com")
			url := "http://" + srv.Addr + "/t/v1/hit"
			answer = benchHits(b, url, site, conns)
			if st := srv.DB.Stats(); st.Commits > 0 {
				b.ReportMetric(float64(st.Writes)/float64(st.Commits), "writes/sync")
			}
		})
		b.Run(fmt.Sprintf("lease/conns=%d", conns), func(b *testing.B) {
			srv := httpdtest.Start(b, unlimited)
			site := srv.Site(b, "Shop", "shop.example.com")
			leaseAll(b, srv, site, 2*conns)
			benchHits(b, "http://"+srv.Addr+"/t/v1/hit", site, conns)
			// Each client goroutine that ran is one visitor holding one number.
			free := srv.HTTP.Numbers().Preview(siteID(b, srv, site), numbers.Visit{}, time.Now())[0].Free
			if leased := 2*conns - free; leased < 1 || leased > conns {
				b.Fatalf("%d numbers leased by at most %d visitors", leased, conns)
			}
		})
		b.Run(fmt.Sprintf("hello/conns=%d", conns), func(b *testing.B) {
			if answer == nil {
				b.Skip("needs the durable run's answer")
			}
			url := helloServer(b, answer)
			benchHits(b, url, "AbCdEfGh0123456789AbCdEfGh012345", conns)
		})
	}
}

// benchHits posts b.N page views to url over conns connections and returns
// the last answer's body.
func benchHits(b *testing.B, url, site string, conns int) []byte {
	c := &fasthttp.Client{MaxConnsPerHost: conns, MaxConnWaitTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	var last atomic.Pointer[[]byte]
	visitor := func(next func() bool) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		req.Header.SetMethod("POST")
		req.Header.SetContentType("text/plain;charset=UTF-8")
		req.Header.SetUserAgent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
		ci, key, body := "", "", make([]byte, 0, 512)
		for n := 0; next(); n++ {
			ref := "https://shop.example.com/catalog"
			if n == 0 {
				ref = "https://yandex.ru/"
			}
			body = fmt.Appendf(body[:0], `{"k":%q,"ci":%q,"key":%q,"u":"https://shop.example.com/catalog/shoes/item-%d?color=red","r":%q,"t":"Кроссовки кожаные — купить в интернет-магазине Shop"}`, site, ci, key, n, ref)
			req.SetBodyRaw(body)
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != fasthttp.StatusOK {
				b.Errorf("hit: %d %s", resp.StatusCode(), resp.Body())
				return
			}
			if ci == "" {
				var a struct {
					Result struct {
						CI  string `json:"ci"`
						Key string `json:"key"`
					} `json:"result"`
				}
				if json.Unmarshal(resp.Body(), &a) == nil {
					ci, key = a.Result.CI, a.Result.Key
				}
			}
		}
		out := append([]byte(nil), resp.Body()...)
		last.Store(&out)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if conns == 1 {
		visitor(b.Loop)
	} else {
		b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) { visitor(pb.Next) })
	}
	b.StopTimer()
	if p := last.Load(); p != nil {
		return *p
	}
	return nil
}

// helloServer serves answer, with the tracker's headers, to every request
// on 127.0.0.1: the floor a handler that stores nothing would reach.
func helloServer(b *testing.B, answer []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetBody(answer)
	}, NoDefaultServerHeader: true}
	go s.Serve(ln)
	b.Cleanup(func() { s.Shutdown() })
	return "http://" + strings.TrimPrefix(ln.Addr().String(), "http://") + "/t/v1/hit"
}
