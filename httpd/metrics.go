package httpd

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"appliance/store"
)

// metrics is the server's Prometheus registry: the Go runtime's and the
// process's standard collectors, the counters the request path updates,
// and a collector that reads the store, sites, captchas and number pools
// when scraped. Anything else that wants to be seen on /metrics registers
// its collectors on reg.
type metrics struct {
	reg *prometheus.Registry
	// public and admin count requests by route pattern, method and status:
	// the admin socket's on their own, so they never look like traffic.
	public, admin *prometheus.CounterVec
	panics        prometheus.Counter
	hit           prometheus.Histogram // the hit endpoint's latency
}

// Buckets of the hit latency histogram, in seconds.
var hitBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.public = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appliance_http_requests_total",
		Help: "Requests answered on the public listener, by route pattern (\"none\": no route), method and status code.",
	}, []string{"route", "method", "code"})
	m.admin = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appliance_admin_requests_total",
		Help: "Requests answered on the admin socket (the CLI), by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "appliance_http_panics_total",
		Help: "Handler panics recovered.",
	})
	m.hit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "appliance_hit_duration_seconds",
		Help:    "Time from routing a page view (POST /t/v1/hit) to its answer, the durable write included.",
		Buckets: hitBuckets,
	})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.public, m.admin, m.panics, m.hit,
		serverCollector{s},
	)
	return m
}

// instrument gives each route of r its request counter in vec, and the
// router one for requests no route takes.
func (m *metrics) instrument(r *router, vec *prometheus.CounterVec) {
	for _, rt := range r.all {
		rt.served = &routeCounter{vec: vec, route: rt.pattern, method: rt.method}
		if rt.method == "POST" && rt.pattern == "/t/v1/hit" {
			rt.latency = m.hit
		}
	}
	r.unrouted = &routeCounter{vec: vec, route: "none"}
}

// routeCounter counts one route's answers by status code. Its counters are
// looked up once per code, so the request path pays an atomic add, not a
// hash of the labels.
type routeCounter struct {
	vec           *prometheus.CounterVec
	route, method string
	codes         sync.Map // int -> prometheus.Counter
}

func (c *routeCounter) inc(method string, code int) {
	if c == nil { // a route added after instrument (tests)
		return
	}
	if c.method == "" { // unrouted: the method as asked, if it is a known one
		c.vec.WithLabelValues(c.route, knownMethod(method), strconv.Itoa(code)).Inc()
		return
	}
	if v, ok := c.codes.Load(code); ok {
		v.(prometheus.Counter).Inc()
		return
	}
	ctr := c.vec.WithLabelValues(c.route, c.method, strconv.Itoa(code))
	c.codes.Store(code, ctr)
	ctr.Inc()
}

// knownMethod keeps the label's values few: a method no route has is
// "other".
func knownMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH":
		return m
	}
	return "other"
}

// serverCollector reads, at each scrape, what the server's parts already
// count: the store, the sites, captchas and number pools.
type serverCollector struct{ s *Server }

var (
	descCommits     = prometheus.NewDesc("appliance_store_commits_total", "Synced group commits.", nil, nil)
	descWrites      = prometheus.NewDesc("appliance_store_writes_total", "Durable writes, in those commits.", nil, nil)
	descGroupSize   = prometheus.NewDesc("appliance_store_commit_group_size", "Durable writes per synced group commit: how many callers share one fsync.", nil, nil)
	descDiskBytes   = prometheus.NewDesc("appliance_store_disk_bytes", "Bytes of the store on disk.", nil, nil)
	descDiskFull    = prometheus.NewDesc("appliance_store_disk_full", "1 while writes are refused for lack of disk space.", nil, nil)
	descWALBytes    = prometheus.NewDesc("appliance_store_wal_bytes", "Bytes of the write-ahead log.", nil, nil)
	descWALSync     = prometheus.NewDesc("appliance_store_wal_sync_seconds", "Time the write-ahead log's fdatasyncs took (one may cover several group commits).", nil, nil)
	descGateSyncs   = prometheus.NewDesc("appliance_store_log_syncs_total", "Syncs of the write-ahead log the store started, by why: full (as many writes waited as recent syncs carried), idle (three quarters of that, and nothing else to run), timer (a millisecond after the last sync).", []string{"reason"}, nil)
	descGateSync    = prometheus.NewDesc("appliance_store_log_sync_seconds", "Wall time of those syncs: the fdatasync (appliance_store_wal_sync_seconds) and the hand-offs to pebble's log writer and back.", nil, nil)
	descCompactions = prometheus.NewDesc("appliance_store_compactions_total", "Pebble compactions.", nil, nil)
	descReadAmp     = prometheus.NewDesc("appliance_store_read_amplification", "Pebble read amplification.", nil, nil)
	// The store's memory beside the Go heap: pebble's block cache and
	// memtables (C's malloc in a cgo build: not in go_memstats_*) and its
	// open table files.
	descCacheCapacity   = prometheus.NewDesc("appliance_store_block_cache_capacity_bytes", "Capacity of the store's block cache (--cache-size).", nil, nil)
	descCacheBytes      = prometheus.NewDesc("appliance_store_block_cache_bytes", "Bytes of decompressed blocks the store's block cache holds.", nil, nil)
	descCacheBlocks     = prometheus.NewDesc("appliance_store_block_cache_blocks", "Blocks the store's block cache holds.", nil, nil)
	descCacheHits       = prometheus.NewDesc("appliance_store_block_cache_hits_total", "Block reads the block cache answered.", nil, nil)
	descCacheMisses     = prometheus.NewDesc("appliance_store_block_cache_misses_total", "Block reads the block cache missed (read from the file and decompressed).", nil, nil)
	descMemtableBytes   = prometheus.NewDesc("appliance_store_memtable_bytes", "Bytes of the store's memtables (writes not yet flushed to a table file), their arenas' full size.", nil, nil)
	descMemtables       = prometheus.NewDesc("appliance_store_memtables", "The store's memtables: the one written to and those waiting to be flushed.", nil, nil)
	descZombieMemtables = prometheus.NewDesc("appliance_store_zombie_memtable_bytes", "Bytes of flushed memtables that iterators still read.", nil, nil)
	descOpenTables      = prometheus.NewDesc("appliance_store_open_tables", "Table files the store holds open (pebble's file cache), each a file descriptor and a reader.", nil, nil)
	descFileCacheBytes  = prometheus.NewDesc("appliance_store_file_cache_bytes", "Bytes of the open table files' readers.", nil, nil)
	descFileCacheHits   = prometheus.NewDesc("appliance_store_file_cache_hits_total", "Table opens the file cache answered.", nil, nil)
	descFileCacheMisses = prometheus.NewDesc("appliance_store_file_cache_misses_total", "Table opens the file cache missed (the file opened and its footer read).", nil, nil)
	descAcceptErrs      = prometheus.NewDesc("appliance_http_accept_errors_total", "Temporary accept errors (such as out of file descriptors), retried after a back-off.", nil, nil)
	descSites           = prometheus.NewDesc("appliance_sites", "Sites served.", nil, nil)
	descCaptchaLive     = prometheus.NewDesc("appliance_captcha_live", "Captchas issued and not yet answered or expired.", nil, nil)
	descCaptchaDrop     = prometheus.NewDesc("appliance_captcha_dropped_total", "Captchas dropped unanswered to keep the store within its bound.", nil, nil)
	descPoolSize        = prometheus.NewDesc("appliance_pool_numbers", "Numbers in a site's number pool.", []string{"site", "pool"}, nil)
	descPoolLive        = prometheus.NewDesc("appliance_pool_leased_numbers", "Numbers of a site's pool leased to a visitor now.", []string{"site", "pool"}, nil)
	descPoolMisses      = prometheus.NewDesc("appliance_pool_misses_total", "Visitors given no pool number because every number was leased, since start.", []string{"site", "pool"}, nil)
	descPoolLimited     = prometheus.NewDesc("appliance_pool_limited_total", "Visitors given no pool number because visitors from their address held the pool's address cap, since start.", []string{"site", "pool"}, nil)
	// What goes out to CRMs and PBXs: a lead that does not reach the CRM
	// shows here before anyone misses it.
	descHookAttempts = prometheus.NewDesc("appliance_webhook_attempts_total", "Webhook deliveries' attempts since start, by outcome: delivered (a 2xx answer) or failed (another status, a timeout, no connection; tried again later).", []string{"outcome"}, nil)
	descHookPending  = prometheus.NewDesc("appliance_webhook_pending", "Webhook deliveries waiting for their first attempt or their next after a failure.", nil, nil)
	descHookOldest   = prometheus.NewDesc("appliance_webhook_oldest_pending_seconds", "Age of the oldest webhook delivery not yet delivered; 0 when none waits.", nil, nil)
	descCBAttempts   = prometheus.NewDesc("appliance_callback_attempts_total", "Requests to the sites' callback scenarios since start, by outcome: sent (a 2xx answer: the PBX took the call) or failed.", []string{"outcome"}, nil)
	descOutboxErrs   = prometheus.NewDesc("appliance_webhook_backlog_errors_total", "Scrapes that could not read the webhook deliveries' queue.", nil, nil)
	descHookFailing  = prometheus.NewDesc("appliance_webhook_endpoints_failing", "Webhook endpoints whose every delivery has failed for an hour or more, with no 2xx since (the dashboard warns of them and their sites' owners are emailed); their deliveries are still retried.", nil, nil)
	descMailPending  = prometheus.NewDesc("appliance_account_mail_pending", "Account emails (password resets, invites) waiting for their first attempt or their next after a failure, their links still alive.", nil, nil)
	descMailOldest   = prometheus.NewDesc("appliance_account_mail_oldest_pending_seconds", "Age of the oldest account email not yet sent; 0 when none waits.", nil, nil)
	descEvictions    = prometheus.NewDesc("appliance_ratelimit_evictions_total", "Keys (client networks, sites, visitors, addresses) a rate limiter forgot since start because it was full and a new key came, by limiter: each starts afresh if it comes back. A steady rise is a flood of addresses, or traffic past the limiter's bound.", []string{"limiter"}, nil)
)

func (c serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCommits, descWrites, descGroupSize, descDiskBytes, descDiskFull, descWALBytes, descWALSync, descGateSyncs, descGateSync,
		descCompactions, descReadAmp, descCacheCapacity, descCacheBytes, descCacheBlocks, descCacheHits, descCacheMisses,
		descMemtableBytes, descMemtables, descZombieMemtables, descOpenTables, descFileCacheBytes, descFileCacheHits, descFileCacheMisses, descAcceptErrs, descSites, descCaptchaLive, descCaptchaDrop, descPoolSize, descPoolLive, descPoolMisses, descPoolLimited,
		descHookAttempts, descHookPending, descHookOldest, descCBAttempts, descOutboxErrs, descHookFailing, descMailPending, descMailOldest, descEvictions} {
		ch <- d
	}
}

func (c serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	st := s.db.Stats()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descCommits, float64(st.Commits))
	counter(descWrites, float64(st.Writes))
	buckets := make(map[float64]uint64, store.GroupSizeBuckets)
	var groups uint64
	for i, n := range st.GroupSizes {
		groups += n
		if i < store.GroupSizeBuckets {
			buckets[float64(store.GroupSizeBound(i))] = groups
		}
	}
	// Writes and the buckets are read a moment apart: a scrape may see a
	// group's writes in the sum before it sees the group.
	ch <- prometheus.MustNewConstHistogram(descGroupSize, groups, float64(st.Writes), buckets)
	if len(st.WALSyncBuckets) > 0 {
		sync := make(map[float64]uint64, len(st.WALSyncBuckets))
		for _, b := range st.WALSyncBuckets {
			if b.Le > 0 && b.Le < math.MaxInt64 { // not +Inf: that is the count
				sync[b.Le.Seconds()] = b.Count
			}
		}
		ch <- prometheus.MustNewConstHistogram(descWALSync, st.WALSyncs, st.WALSyncTime.Seconds(), sync)
	}
	var gateSyncs uint64
	for r, n := range st.GateSyncs {
		gateSyncs += n
		counter(descGateSyncs, float64(n), store.GateReasonName(r))
	}
	ch <- prometheus.MustNewConstSummary(descGateSync, gateSyncs, st.GateSyncTime.Seconds(), nil)
	gauge(descDiskBytes, float64(st.DiskBytes))
	full := 0.0
	if s.db.CheckDiskSpace() != nil {
		full = 1
	}
	gauge(descDiskFull, full)
	gauge(descWALBytes, float64(st.WALBytes))
	counter(descCompactions, float64(st.Compactions))
	gauge(descReadAmp, float64(st.ReadAmp))
	gauge(descCacheCapacity, float64(st.BlockCacheCapacity))
	gauge(descCacheBytes, float64(st.BlockCache.Size))
	gauge(descCacheBlocks, float64(st.BlockCache.Count))
	counter(descCacheHits, float64(st.BlockCache.Hits))
	counter(descCacheMisses, float64(st.BlockCache.Misses))
	gauge(descMemtableBytes, float64(st.MemtableSize))
	gauge(descMemtables, float64(st.Memtables))
	gauge(descZombieMemtables, float64(st.ZombieMemtableSize))
	gauge(descOpenTables, float64(st.FileCache.TableCount))
	gauge(descFileCacheBytes, float64(st.FileCache.Size))
	counter(descFileCacheHits, float64(st.FileCache.Hits))
	counter(descFileCacheMisses, float64(st.FileCache.Misses))
	counter(descAcceptErrs, float64(s.acceptErrs.Load()))
	gauge(descSites, float64(len(s.sites.List())))
	gauge(descCaptchaLive, float64(s.captcha.Len()))
	counter(descCaptchaDrop, float64(s.captcha.Dropped()))
	delivered, failed := s.hooks.Attempts()
	counter(descHookAttempts, float64(delivered), "delivered")
	counter(descHookAttempts, float64(failed), "failed")
	if n, oldest, err := s.hooks.Backlog(context.Background()); err != nil {
		s.backlogErrs.Add(1)
	} else {
		gauge(descHookPending, float64(n))
		age := 0.0
		if n > 0 {
			age = max(s.now().Sub(oldest).Seconds(), 0)
		}
		gauge(descHookOldest, age)
	}
	counter(descOutboxErrs, float64(s.backlogErrs.Load()))
	if all, err := s.hooks.AllHealth(context.Background()); err == nil { // else left out of this scrape, not shown as 0
		n := 0
		for _, hl := range all {
			if s.hooks.Failing(hl) {
				n++
			}
		}
		gauge(descHookFailing, float64(n))
	}
	if n, oldest, err := s.mailQueue.backlog(context.Background()); err == nil { // else left out of this scrape, not shown as 0
		gauge(descMailPending, float64(n))
		age := 0.0
		if n > 0 {
			age = max(s.now().Sub(oldest).Seconds(), 0)
		}
		gauge(descMailOldest, age)
	}
	for _, l := range s.limiters {
		counter(descEvictions, float64(l.limiter.Evicted()), l.name)
	}
	sent, failed := s.callbacks.Attempts()
	counter(descCBAttempts, float64(sent), "sent")
	counter(descCBAttempts, float64(failed), "failed")
	for _, p := range s.numbers.PoolStats(s.now()) {
		site, err := s.sites.ByID(p.Site)
		if err != nil {
			continue // removed: its pools are released
		}
		gauge(descPoolSize, float64(p.Size), site.Key, p.Pool)
		gauge(descPoolLive, float64(p.Live), site.Key, p.Pool)
		counter(descPoolMisses, float64(p.Misses), site.Key, p.Pool)
		counter(descPoolLimited, float64(p.Limited), site.Key, p.Pool)
	}
}

// checkMetricsToken lets a bearer of the metrics token through; without a
// token configured /metrics and /debug/pprof do not exist.
func (s *Server) checkMetricsToken(ctx *fasthttp.RequestCtx) error {
	if s.opts.MetricsToken == "" {
		return errorf(fasthttp.StatusNotFound, "metrics are off; start serve with --metrics-token")
	}
	auth := string(ctx.Request.Header.Peek("Authorization"))
	if !tokenEqual(strings.TrimPrefix(auth, "Bearer "), s.opts.MetricsToken) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="metrics"`)
		return errorf(fasthttp.StatusUnauthorized, "metrics need Authorization: Bearer <token>")
	}
	return nil
}

// serveMetrics answers in the Prometheus text format, to a bearer of the
// configured token only.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) error {
	if err := s.checkMetricsToken(ctx); err != nil {
		return err
	}
	families, err := s.metrics.reg.Gather()
	if err != nil {
		return err
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, format)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	ctx.SetContentType(string(format))
	ctx.SetBody(b.Bytes())
	return nil
}

// servePprof is net/http/pprof's index and profiles, when serve runs with
// --pprof, to a bearer of the metrics token.
func (s *Server) servePprof(ctx *fasthttp.RequestCtx) error {
	if !s.opts.Pprof {
		return errorf(fasthttp.StatusNotFound, "profiling is off; start serve with --pprof (and --metrics-token)")
	}
	if err := s.checkMetricsToken(ctx); err != nil {
		return err
	}
	pprofhandler.PprofHandler(ctx)
	return nil
}

// observeSince records a request's latency on its route's histogram.
func observeSince(h prometheus.Observer, start time.Time) {
	h.Observe(time.Since(start).Seconds())
}
