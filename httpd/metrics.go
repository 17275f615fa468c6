package httpd

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// metrics answers in the Prometheus text format, to a bearer of the
// configured token only.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) error {
	if s.opts.MetricsToken == "" {
		return errorf(fasthttp.StatusNotFound, "metrics are off; start serve with --metrics-token")
	}
	auth := string(ctx.Request.Header.Peek("Authorization"))
	if !tokenEqual(strings.TrimPrefix(auth, "Bearer "), s.opts.MetricsToken) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="metrics"`)
		return errorf(fasthttp.StatusUnauthorized, "metrics need Authorization: Bearer <token>")
	}
	var b strings.Builder
	metric := func(name, kind, help string, v any) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, kind, name, v)
	}
	st := s.db.Stats()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	metric("appliance_http_requests_total", "counter", "HTTP requests served.", s.requests.Load())
	metric("appliance_http_panics_total", "counter", "Handler panics recovered.", s.panics.Load())
	metric("appliance_http_server_errors_total", "counter", "Answers with a 5xx status.", s.errors5.Load())
	metric("appliance_http_accept_errors_total", "counter", "Temporary accept errors (such as out of file descriptors), retried after a back-off.", s.acceptErrs.Load())
	metric("appliance_store_commits_total", "counter", "Synced group commits.", st.Commits)
	metric("appliance_store_writes_total", "counter", "Durable writes, in those commits.", st.Writes)
	metric("appliance_store_disk_bytes", "gauge", "Bytes of the store on disk.", st.DiskBytes)
	diskFull := 0
	if s.db.CheckDiskSpace() != nil {
		diskFull = 1
	}
	metric("appliance_store_disk_full", "gauge", "1 while writes are refused for lack of disk space.", diskFull)
	metric("appliance_store_wal_bytes", "gauge", "Bytes of the write-ahead log.", st.WALBytes)
	metric("appliance_store_compactions_total", "counter", "Pebble compactions.", st.Compactions)
	metric("appliance_store_read_amplification", "gauge", "Pebble read amplification.", st.ReadAmp)
	metric("appliance_sites", "gauge", "Sites served.", len(s.sites.List()))
	metric("appliance_captcha_live", "gauge", "Captchas issued and not yet answered or expired.", s.captcha.Len())
	metric("appliance_captcha_dropped_total", "counter", "Captchas dropped unanswered to keep the store within its bound.", s.captcha.Dropped())
	metric("appliance_go_heap_bytes", "gauge", "Go heap in use.", ms.HeapInuse)
	metric("appliance_go_goroutines", "gauge", "Goroutines.", runtime.NumGoroutine())
	metric("appliance_uptime_seconds", "gauge", "Seconds since start.", int64(time.Since(s.started).Seconds()))
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.SetBodyString(b.String())
	return nil
}
