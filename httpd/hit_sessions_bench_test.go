//go:build linux

package httpd_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/httpdtest"
	"appliance/internal/cputime"
)

// BenchmarkHitSessions is BenchmarkHitEndpoint (durable, over TCP, 64
// connections) with the sessions a real site has: each visitor starts a
// new session (a new campaign) every per hits, so that what a new session
// writes (the reports' roll-ups: four merge operands and the visitor's
// touch) is measured. per=4 is about a real site's mix (3.65 hits a
// session); per=1 is every hit a new visitor's first, the worst case.
// Besides the wall time it reports the process's CPU per hit (server and
// client: the client's part is the same with and without the roll-ups),
// steadier than wall time on a shared machine. Run it beside the same
// file on the commit before the reports to see what they cost:
//
//	go test -run '^$' -bench BenchmarkHitSessions -count 5 ./httpd/
func BenchmarkHitSessions(b *testing.B) {
	for _, per := range []int{4, 1} {
		b.Run(fmt.Sprintf("per=%d", per), func(b *testing.B) {
			srv := httpdtest.Start(b, unlimited)
			site := srv.Site(b, "Shop", "shop.example.com")
			benchSessionHits(b, "http://"+srv.Addr+"/t/v1/hit", site, 64, per)
		})
	}
}

func benchSessionHits(b *testing.B, url, site string, conns, per int) {
	c := &fasthttp.Client{MaxConnsPerHost: conns, MaxConnWaitTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
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
			u := fmt.Sprintf("https://shop.example.com/catalog/shoes/item-%d?color=red", n)
			if n%per == 0 {
				if per == 1 {
					ci, key = "", "" // a new visitor
				}
				u = fmt.Sprintf("https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=c%d", n) // a new session
			}
			body = fmt.Appendf(body[:0], `{"k":%q,"ci":%q,"key":%q,"u":%q,"r":"","t":"Кроссовки кожаные — купить в интернет-магазине Shop"}`, site, ci, key, u)
			req.SetBodyRaw(body)
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != fasthttp.StatusOK {
				b.Errorf("hit: %d %s", resp.StatusCode(), resp.Body())
				return
			}
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
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) { visitor(pb.Next) })
	b.StopTimer()
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1000, "cpu-µs/op")
}
