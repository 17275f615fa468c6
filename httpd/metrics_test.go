package httpd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
	"appliance/store"
)

// scrape reads /metrics with the token and parses it with Prometheus' own
// text parser, so that a malformed exposition fails the test.
func scrape(t *testing.T, srv *httpdtest.Server, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("/metrics is %s", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the counter, gauge or histogram count of the series of family
// name whose labels include want; -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
series:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount())
		}
	}
	return -1
}

func histogramSum(families map[string]*dto.MetricFamily, name string) float64 {
	if f := families[name]; f != nil && len(f.Metric) == 1 && f.Metric[0].Histogram != nil {
		return f.Metric[0].Histogram.GetSampleSum()
	}
	return -1
}

// /metrics scraped from the real server moves with the traffic: hits count
// under their route pattern and status, in the hit latency histogram and
// in the commit-group histogram; a pool's live numbers and misses show per
// site; the admin socket's requests count apart from the public ones; the
// Go and process collectors are there.
func TestMetricsScrape(t *testing.T) {
	const token = "scrape-token"
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.MetricsToken = token })
	key := srv.Site(t, "Shop", "shop.example.com")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tr, ctx := srv.HTTP.Numbers(), t.Context()
	now := time.Now()
	if _, err := tr.SetSiteNumbers(ctx, site.ID, []string{"8 (487) 275-14-04"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74950000001"},
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, now); err != nil {
		t.Fatal(err)
	}

	before := scrape(t, srv, token)
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if value(before, name) <= 0 {
			t.Errorf("%s missing or zero", name)
		}
	}
	hitRoute := []string{"route", "/t/v1/hit", "method", "POST", "code", "200"}
	if v := value(before, "appliance_http_requests_total", hitRoute...); v > 0 {
		t.Fatalf("hits counted before any: %v", v)
	}

	// Three new visitors from an ad: the first gets the pool's one number,
	// the other two find it taken.
	for range 3 {
		browserHit(t, srv, key, "https://shop.example.com/?utm_medium=cpc")
	}
	resp, err := http.Get(srv.URL + "no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	adm := admin.InProcess(srv.HTTP.AdminHandler, nil)
	defer adm.Close()
	if _, err := adm.Sites(ctx); err != nil {
		t.Fatal(err)
	}

	after := scrape(t, srv, token)
	checks := []struct {
		what   string
		name   string
		labels []string
		want   float64
	}{
		{"hits by route", "appliance_http_requests_total", hitRoute, 3},
		{"hit latencies", "appliance_hit_duration_seconds", nil, 3},
		{"an unrouted 404", "appliance_http_requests_total", []string{"route", "none", "method", "GET", "code", "404"}, 1},
		{"the earlier scrape", "appliance_http_requests_total", []string{"route", "/metrics", "code", "200"}, 1},
		{"the admin call, apart", "appliance_admin_requests_total", []string{"route", admin.PathSites, "method", "GET", "code", "200"}, 1},
		{"pool size", "appliance_pool_numbers", []string{"site", key, "pool", "ads"}, 1},
		{"pool leased", "appliance_pool_leased_numbers", []string{"site", key, "pool", "ads"}, 1},
		{"pool misses", "appliance_pool_misses_total", []string{"site", key, "pool", "ads"}, 2},
		{"sites", "appliance_sites", nil, 1},
	}
	for _, c := range checks {
		if got := value(after, c.name, c.labels...); got != c.want {
			t.Errorf("%s: %s%v = %v, want %v", c.what, c.name, c.labels, got, c.want)
		}
	}
	if v := value(after, "appliance_http_requests_total", "route", admin.PathSites); v != -1 {
		t.Errorf("the admin call counted as public traffic: %v", v)
	}
	// The store's memory outside the Go heap: a cache of the configured
	// capacity, a memtable being written (the hits' writes are all still in
	// it: no block has been read yet).
	if got, want := value(after, "appliance_store_block_cache_capacity_bytes"), float64(store.DefaultCacheSize()); got != want {
		t.Errorf("block cache capacity %v, want the default %v", got, want)
	}
	if value(after, "appliance_store_memtable_bytes") <= 0 || value(after, "appliance_store_memtables") < 1 {
		t.Errorf("memtables: %v bytes in %v", value(after, "appliance_store_memtable_bytes"), value(after, "appliance_store_memtables"))
	}
	for _, name := range []string{"appliance_store_block_cache_bytes", "appliance_store_block_cache_blocks", "appliance_store_block_cache_hits_total",
		"appliance_store_block_cache_misses_total", "appliance_store_zombie_memtable_bytes",
		"appliance_store_open_tables", "appliance_store_file_cache_bytes", "appliance_store_file_cache_hits_total", "appliance_store_file_cache_misses_total"} {
		if value(after, name) < 0 {
			t.Errorf("%s missing", name)
		}
	}
	groups := value(after, "appliance_store_commit_group_size") - value(before, "appliance_store_commit_group_size")
	writes := histogramSum(after, "appliance_store_commit_group_size") - histogramSum(before, "appliance_store_commit_group_size")
	if groups < 1 || writes < 3 || writes < groups {
		t.Errorf("commit groups moved by %v groups of %v writes, want the hits' writes in at least one group", groups, writes)
	}
	if got, want := value(after, "appliance_store_commits_total"), value(after, "appliance_store_commit_group_size"); got != want {
		t.Errorf("commits_total %v, the group histogram counts %v", got, want)
	}
	// The log's syncs by why they started: the hits' writes were synced,
	// and every sync is in the summary of their time.
	syncs := func(f map[string]*dto.MetricFamily) (n float64) {
		for _, r := range []string{"full", "idle", "timer"} {
			v := value(f, "appliance_store_log_syncs_total", "reason", r)
			if v < 0 {
				t.Fatalf("appliance_store_log_syncs_total{reason=%q} missing", r)
			}
			n += v
		}
		return n
	}
	if n := syncs(after) - syncs(before); n < 1 {
		t.Errorf("log syncs moved by %v, want the hits' writes synced", n)
	}
	if got, want := value(after, "appliance_store_log_sync_seconds"), syncs(after); got != want {
		t.Errorf("log_sync_seconds counts %v syncs, log_syncs_total %v", got, want)
	}
}

// /debug/pprof answers only with --pprof, and then only to the metrics
// token's bearer.
func TestPprofBehindTokenAndFlag(t *testing.T) {
	get := func(srv *httpdtest.Server, path, token string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	off := httpdtest.Start(t, func(o *httpd.Options) { o.MetricsToken = "tok" })
	if got := get(off, "debug/pprof/heap", "tok"); got != 404 {
		t.Errorf("pprof without --pprof: %d, want 404", got)
	}
	on := httpdtest.Start(t, func(o *httpd.Options) { o.MetricsToken = "tok"; o.Pprof = true })
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"debug/pprof/heap", "", 401},
		{"debug/pprof/heap", "wrong", 401},
		{"debug/pprof/heap", "tok", 200},
		{"debug/pprof/", "tok", 200},
		{"debug/pprof/goroutine?debug=1", "tok", 200},
	} {
		if got := get(on, c.path, c.token); got != c.want {
			t.Errorf("GET /%s with token %q: %d, want %d", c.path, c.token, got, c.want)
		}
	}
}

// What goes out to CRMs and PBXs shows on /metrics: a CRM that is down
// shows as failed attempts, a delivery waiting and how long it has; once
// the CRM answers, a delivered attempt and nothing waiting. The callback
// scenario's requests count by outcome.
func TestMetricsOutbound(t *testing.T) {
	const token = "scrape-token"
	f := newCBFixture(t, fastHooks, func(o *httpd.Options) { o.MetricsToken = token; o.Callbacks.VisitorLimit = 100 })
	crm := newHookReceiver(t)
	crm.down = true
	crmSrv := httptest.NewServer(crm)
	defer crmSrv.Close()
	crm.secret = addHookFor(t, f.srv, f.srv.Client(t), f.key, crmSrv.URL+"/crm")
	metric := func(name string, labels ...string) float64 { return value(scrape(t, f.srv, token), name, labels...) }
	if p, o := metric("appliance_webhook_pending"), metric("appliance_webhook_oldest_pending_seconds"); p != 0 || o != 0 {
		t.Fatalf("before any lead: %v waiting, the oldest %v s", p, o)
	}

	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"phone": "89101234567"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	eventually(t, "a failed attempt counted", func() bool { return metric("appliance_webhook_attempts_total", "outcome", "failed") == 1 })
	// The clock stands still: the retry is not due, the delivery waits.
	// (The receiver checks the signature's time against its own clock,
	// within a minute.)
	f.clock.Set(f.clock.Now().Add(30 * time.Second))
	m := scrape(t, f.srv, token)
	if p, o, d := value(m, "appliance_webhook_pending"), value(m, "appliance_webhook_oldest_pending_seconds"),
		value(m, "appliance_webhook_attempts_total", "outcome", "delivered"); p != 1 || o < 30 || o >= 31 || d != 0 {
		t.Errorf("the CRM down for 30 s: %v waiting, the oldest %v s, %v delivered", p, o, d)
	}
	crm.mu.Lock()
	crm.down = false
	crm.mu.Unlock()
	f.clock.Set(f.clock.Now().Add(20 * time.Second))
	// The clock moves on while the test waits, no faster than real time (the
	// receiver checks the signature's time): an attempt still in flight
	// when the CRM came back, and recorded failed after the clock moved,
	// is due again after its backoff instead of never.
	eventually(t, "the delivery counted", func() bool {
		f.clock.Set(f.clock.Now().Add(10 * time.Millisecond))
		return metric("appliance_webhook_attempts_total", "outcome", "delivered") == 1
	})
	if p, o := metric("appliance_webhook_pending"), metric("appliance_webhook_oldest_pending_seconds"); p != 0 || o != 0 {
		t.Errorf("delivered: %v waiting, the oldest %v s", p, o)
	}

	pbx := newPBX(t)
	pbx.status, pbx.errMsg = http.StatusServiceUnavailable, "busy"
	pbx.secret = f.configure(t, map[string]any{"webhook": pbx.srv.URL + "/cb", "secret": "pbx-secret-0123456789"}).Secret
	f.order(t, f.v, map[string]any{"phone": "89101234567"})
	pbx.mu.Lock()
	pbx.status = http.StatusOK
	pbx.mu.Unlock()
	f.order(t, f.v, map[string]any{"phone": "89101234568"})
	if s, fl := metric("appliance_callback_attempts_total", "outcome", "sent"), metric("appliance_callback_attempts_total", "outcome", "failed"); s != 1 || fl != 1 {
		t.Errorf("callback scenario: %v sent, %v failed; want 1 and 1", s, fl)
	}
}

// A rate limiter that is full forgets the key seen least recently to take
// a new one; /metrics counts those evictions by limiter, so that a flood
// of addresses (or traffic past a bound) shows. Every bounded limiter is
// there from the start, at 0.
func TestMetricsRateLimitEvictions(t *testing.T) {
	const token, keys, networks = "scrape-token", 4, 10
	srv := httpdtest.Start(t, func(o *httpd.Options) {
		o.MetricsToken = token
		o.TrustProxy = true
		o.Limits = httpd.TrackerLimits{Keys: keys}
	})
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/", "")
	before := scrape(t, srv, token)
	for _, name := range []string{"lead_ip", "server_lead_ip", "captcha_ip", "chat_visitor", "chat_ip", "callback_site", "callback_visitor", "callback_ip",
		"signin_ip", "signin_account_ip", "signin_unknown_account", "reset_ip", "reset_unknown_account", "tracker_ip", "tracker_site"} {
		if got := value(before, "appliance_ratelimit_evictions_total", "limiter", name); got != 0 {
			t.Errorf("appliance_ratelimit_evictions_total{limiter=%q} = %v before any flood, want 0", name, got)
		}
	}
	for i := range networks {
		// each its own words: a repeat is answered before the limiter
		b, _ := json.Marshal(leadBody(site, v, map[string]any{"phone": "79123456789", "message": fmt.Sprint("network ", i)}))
		req, _ := http.NewRequest("POST", srv.URL+"t/v1/lead", bytes.NewReader(b))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:66:%x::1", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("lead from network %d: %d", i, resp.StatusCode)
		}
	}
	after := scrape(t, srv, token)
	if got, want := value(after, "appliance_ratelimit_evictions_total", "limiter", "lead_ip"), float64(networks-keys); got != want {
		t.Errorf("lead_ip evictions after leads from %d networks with room for %d: %v, want %v", networks, keys, got, want)
	}
	if got := value(after, "appliance_ratelimit_evictions_total", "limiter", "captcha_ip"); got != 0 {
		t.Errorf("captcha_ip evictions %v with no captcha asked for", got)
	}
	if f := after["appliance_ratelimit_evictions_total"]; f == nil || f.GetType() != dto.MetricType_COUNTER || f.GetHelp() == "" {
		t.Errorf("appliance_ratelimit_evictions_total is %v, want a counter with its help", f)
	}
}
