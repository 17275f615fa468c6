//go:build linux

package httpd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/export/exporttest"
	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/internal/cputime"
	"appliance/numbers/tracking"
	"appliance/store"
)

// leasePool gives site one site number and a pool of n numbers (from
// first on) for all traffic.
func leasePool(b *testing.B, srv *httpdtest.Server, site string, first, n int) {
	b.Helper()
	var nums []string
	for i := range n {
		nums = append(nums, fmt.Sprintf("7495%07d", first+i))
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

// Traffic mix of BenchmarkHitEndpoint, in percent of hits.
const (
	mixSites    = 16
	mixNew      = 30 // a new visitor's first hit
	mixCold     = 10 // a returning visitor whose session was made before the server started: read from the store
	mixCampaign = 15 // a returning visitor coming back from an ad: a new session
	// the rest: a returning visitor's next page in its session
	mixSeeded = 8192 // visitors made before the server restarts, per server
)

// mixServer is a server under BenchmarkHitEndpoint's traffic: its sites'
// keys and the visitors it knew before it was restarted (cold: their
// sessions are only in the store).
type mixServer struct {
	url   string
	sites []string
	cold  []mixVisitor
	next  atomic.Int64 // the next cold visitor to use
	srv   *httpdtest.Server
	nats  *exporttest.NATS // the child process the server exports to, if any
	db    *store.DB        // the store of a server that is not srv (durable hello)
	tb    testing.TB       // the benchmark the server belongs to (its restarts too)
	opts  []func(*httpd.Options)
}

// coldFor makes sure the next n page views of the mix find their cold
// visitors cold: when fewer than the mix's share of n are left unused, the
// server is restarted (outside the timed part), which forgets every
// visitor it holds in memory, so that all the seeded visitors are only in
// the store again. Without it the calibration rounds would use them up and
// the measured run would have none.
func (m *mixServer) coldFor(n int) {
	if m.srv == nil {
		return
	}
	if need := n*mixCold/100 + n/100 + 64; int(m.next.Load())+need <= len(m.cold) {
		return
	}
	m.srv = m.srv.Restart(m.tb, m.opts...)
	m.next.Store(0)
}

type mixVisitor struct{ site, ci, key string }

// startMix starts a server with mixSites sites (each with a pool of
// numbers for all traffic when pools), makes mixSeeded visitors on them
// and restarts it, so that the visitors' sessions are in the store only.
func startMix(b *testing.B, pools bool, opts ...func(*httpd.Options)) *mixServer {
	opts = append([]func(*httpd.Options){unlimited}, opts...)
	srv := httpdtest.Start(b, opts...)
	m := &mixServer{tb: b, opts: opts}
	for i := range mixSites {
		key := srv.Site(b, fmt.Sprintf("Shop %d", i), fmt.Sprintf("shop%d.example.com", i))
		if pools {
			leasePool(b, srv, key, i*10_000+1, 2_000)
		}
		m.sites = append(m.sites, key)
	}
	m.url = "http://" + srv.Addr + "/t/v1/hit"
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &fasthttp.Client{}
			for i := g; i < mixSeeded; i += 16 {
				site := m.sites[i%mixSites]
				ci, key, err := mixHit(c, m.url, site, "", "", fmt.Sprintf("https://shop%d.example.com/", i%mixSites), nil)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				m.cold = append(m.cold, mixVisitor{site, ci, key})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.srv = srv.Restart(b, opts...)
	return m
}

// mixHit posts one page view and returns the visitor's ci and key.
func mixHit(c *fasthttp.Client, url, site, ci, key, page string, answer *[]byte) (string, string, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.SetUserAgent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	req.SetBodyRaw(fmt.Appendf(nil, `{"k":%q,"ci":%q,"key":%q,"u":%q,"r":"https://yandex.ru/","t":"Кроссовки кожаные — купить в интернет-магазине Shop"}`, site, ci, key, page))
	if err := c.Do(req, resp); err != nil {
		return "", "", err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return "", "", fmt.Errorf("hit: %d %s", resp.StatusCode(), resp.Body())
	}
	if answer != nil {
		*answer = append((*answer)[:0], resp.Body()...)
	}
	var a struct {
		Result struct {
			CI  string `json:"ci"`
			Key string `json:"key"`
		} `json:"result"`
	}
	if err := json.Unmarshal(resp.Body(), &a); err != nil {
		return "", "", fmt.Errorf("hit answer: %w", err)
	}
	return a.Result.CI, a.Result.Key, nil
}

// BenchmarkHitEndpoint is the page-view endpoint end to end over TCP: the
// real server on 127.0.0.1 with its store, each hit answered only once
// synced (durable), under a realistic mix — 16 sites, 30% new visitors,
// returning ones with ci and key (10% cold: their session was made before
// the server started and is read from the store; 15% back from an ad with
// a campaign, which starts a session; the rest the next page of their
// session) — beside a bare fasthttp server whose handler answers the same
// bytes without doing anything (hello), at 16 and 64 client connections,
// alternated. claims is the same mix on sites whose every visitor leases
// a number of a pool of 2,000: new visitors and new sessions claim, the
// others renew. Each run has its share of cold visitors: the server is
// restarted before a run (untimed) that would otherwise run short of
// them. export is the first mix with the event stream on, to a
// NATS server in a child process; it reports its wall time, its CPU and
// its CPU with the NATS server's over the hit run's (x-hit, x-hit-cpu,
// x-hit-cpu+nats: the goal is 1.1× at most). Each reports its p50 and p99 latency,
// the mean (conns times the wall time a hit, by Little's law) and the p99
// over it (tail-x: the tail's shape apart from the hit's cost),
// the process's CPU per hit (client included; export's NATS server apart,
// nats-cpu), the store writer's writes per synced group and per fsync
// of the log, the entries and bytes a write put in the store's batches, the mean and p99 fsync,
// a hit's wait for its turn and apply to the log and memtable (apply-ms,
// apply-p99-ms: the serial part every other hit waits behind), the share
// of the run's wall time pebble spent flushing and compacting (bg-%) and
// the load average it ran under.
// durable-hello is hello with one ~100-byte durable write a request
// through the store's writer: the floor of a durable hit, the transport
// and the group commit with a decision that costs nothing; it reports
// its time over the hit's (x-hit). rawlog-hello is hello with one
// 130-byte record a request appended to a plain preallocated file with a
// group commit of its own, answered once synced (rawLog): the floor of a
// durable hit that bypasses pebble, as analytics servers that log hits
// to append-only segments do; it reports its time over the hit's (x-hit),
// the log's writes per fdatasync and the fdatasync's mean and p99, and
// fails unless the file holds every acknowledged record at the end.
// hello reports the ratios of the runs before it (hello's time over the
// hit's: the goal is 0.5× and 0.4× with claims; over durable-hello's and
// rawlog-hello's, x-durable-hello and x-rawlog-hello). APPLIANCE_BENCH_PROFILE
// and APPLIANCE_BENCH_TRACE profile and trace the timed part of each run
// (see profileRun).
//
// APPLIANCE_BENCH_ROUNDS=N runs the whole set N times over, alternated
// (the second round's runs named hit/conns=16#01 and so on), each ratio
// over the runs of its own round: -count repeats each run back to back,
// so that hello's ratios would compare runs up to a minute apart on a
// machine whose load drifts.
//
//	APPLIANCE_BENCH_ROUNDS=5 go test -run '^$' -bench BenchmarkHitEndpoint -benchtime 3s ./httpd/
func BenchmarkHitEndpoint(b *testing.B) {
	mix, claims := startMix(b, false), startMix(b, true)
	// The same mix with the event stream on, to a NATS JetStream server
	// in a child process, as in production (where it is often on another
	// machine): the hit path's price of the export log and the exporter,
	// and none of the NATS server's.
	nats := exporttest.StartProcess(b, "TestBenchNATSChild")
	exported := startMix(b, false, exportTo(nats, 0))
	exported.nats = nats
	var answer []byte // a real hit's answer, for the hello server
	if _, _, err := mixHit(&fasthttp.Client{}, mix.url, mix.sites[0], "", "", "https://shop0.example.com/", &answer); err != nil {
		b.Fatal(err)
	}
	hello := helloServer(b, answer)
	durableURL, durableDB := durableHelloServer(b, answer)
	rawlog := openRawLog(b, b.TempDir())
	rawlogURL := rawlogHelloServer(b, rawlog, answer)
	rounds := 1
	if v := os.Getenv("APPLIANCE_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("APPLIANCE_BENCH_ROUNDS=%q: want a number of rounds", v)
		}
		rounds = n
	}
	for range rounds {
		for _, conns := range []int{16, 64} {
			hitEndpointRound(b, conns, mix, claims, exported, hello, durableURL, durableDB, rawlogURL, rawlog)
		}
	}
}

// hitEndpointRound is one round of BenchmarkHitEndpoint's runs at conns
// connections, hello's ratios over the runs before it in the round.
func hitEndpointRound(b *testing.B, conns int, mix, claims, exported *mixServer, hello, durableURL string, durableDB *store.DB, rawlogURL string, rawlog *rawLog) {
	var hit, claim, durable, raw mixRun // per hit, of the last runs
	b.Run(fmt.Sprintf("hit/conns=%d", conns), func(b *testing.B) {
		hit = benchMix(b, mix.url, mix, conns)
	})
	b.Run(fmt.Sprintf("export/conns=%d", conns), func(b *testing.B) {
		r := benchMix(b, exported.url, exported, conns)
		if hit.ns > 0 {
			// Over the hit run before it: wall time with the NATS
			// server on the same cores; the appliance's own CPU (a
			// deployment with NATS on another machine); and the CPU
			// of both (NATS on the same machine).
			b.ReportMetric(r.ns/hit.ns, "x-hit")
			b.ReportMetric(r.cpu/hit.cpu, "x-hit-cpu")
			b.ReportMetric((r.cpu+r.nats)/hit.cpu, "x-hit-cpu+nats")
		}
	})
	b.Run(fmt.Sprintf("claims/conns=%d", conns), func(b *testing.B) {
		claim = benchMix(b, claims.url, claims, conns)
	})
	b.Run(fmt.Sprintf("durable-hello/conns=%d", conns), func(b *testing.B) {
		durable = benchMix(b, durableURL, &mixServer{sites: mix.sites, cold: mix.cold, db: durableDB}, conns)
		if hit.ns > 0 {
			b.ReportMetric(durable.ns/hit.ns, "x-hit")
		}
	})
	b.Run(fmt.Sprintf("rawlog-hello/conns=%d", conns), func(b *testing.B) {
		raw = benchRawlog(b, rawlogURL, rawlog, &mixServer{sites: mix.sites, cold: mix.cold}, conns)
		if hit.ns > 0 {
			b.ReportMetric(raw.ns/hit.ns, "x-hit")
		}
	})
	b.Run(fmt.Sprintf("hello/conns=%d", conns), func(b *testing.B) {
		r := benchMix(b, hello, &mixServer{sites: mix.sites, cold: mix.cold}, conns)
		ns := r.ns
		if hit.ns > 0 {
			b.ReportMetric(ns/hit.ns, "x-hit")
		}
		if claim.ns > 0 {
			b.ReportMetric(ns/claim.ns, "x-claims")
		}
		if durable.ns > 0 {
			b.ReportMetric(ns/durable.ns, "x-durable-hello")
		}
		if raw.ns > 0 {
			b.ReportMetric(ns/raw.ns, "x-rawlog-hello")
		}
	})
}

// TestBenchNATSChild is the NATS server of BenchmarkHitEndpoint, run only
// as its child process.
func TestBenchNATSChild(t *testing.T) { exporttest.ServeChild(t) }

// mixRun is what a run of benchMix measured, per hit: wall time, the
// process's CPU and the NATS server's (ns).
type mixRun struct{ ns, cpu, nats float64 }

// benchMix posts b.N page views of the mix to url over conns connections
// and returns what it measured per hit. With export on, the CPU is taken
// once the exporter has published the run's hits (the wall time at the
// last answer): exporting them is part of their cost.
func benchMix(b *testing.B, url string, m *mixServer, conns int) mixRun {
	c := &fasthttp.Client{MaxConnsPerHost: conns, MaxConnWaitTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	var cold atomic.Int64
	client := func(seed uint64, next func() bool) {
		r := rand.New(rand.NewPCG(seed, 1))
		var mine []mixVisitor // the visitors this client made, as a browser's tabs
		my := make([]time.Duration, 0, 1024)
		for n := 0; next(); n++ {
			v := mixVisitor{site: m.sites[r.IntN(mixSites)]}
			path := fmt.Sprintf("catalog/shoes/item-%d?color=red", n)
			switch p := r.IntN(100); {
			case p < mixNew || len(mine) == 0:
			case p < mixNew+mixCold:
				if i := m.next.Add(1) - 1; i < int64(len(m.cold)) {
					v = m.cold[i]
					cold.Add(1)
				} else {
					v = mine[r.IntN(len(mine))] // every cold visitor is warm now
				}
			case p < mixNew+mixCold+mixCampaign:
				v = mine[r.IntN(len(mine))]
				path = fmt.Sprintf("promo?utm_source=yandex&utm_medium=cpc&utm_campaign=c%d", n)
			default:
				v = mine[r.IntN(len(mine))]
			}
			page := "https://shop" + strconv.Itoa(slices.Index(m.sites, v.site)) + ".example.com/" + path
			start := time.Now()
			ci, key, err := mixHit(c, url, v.site, v.ci, v.key, page, nil)
			my = append(my, time.Since(start))
			if err != nil {
				b.Error(err)
				return
			}
			mine = remember(mine, v, ci, key)
		}
		mu.Lock()
		lat = append(lat, my...)
		mu.Unlock()
	}
	m.coldFor(b.N)
	db := m.db
	if m.srv != nil {
		db = m.srv.DB
	}
	var before store.Metrics
	if db != nil {
		before = db.Stats()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu, start := cputime.Process(), time.Now()
	var natsCPU time.Duration
	if m.nats != nil {
		natsCPU = m.nats.CPUTime()
	}
	stopProfile := profileRun(b)
	var seeds atomic.Uint64
	b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) { client(seeds.Add(1), pb.Next) })
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	stopProfile()
	if m.nats != nil {
		for deadline := time.Now().Add(time.Minute); m.srv.DB.ExportStats().Backlog > 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	b.StopTimer()
	r := mixRun{ns: ns, cpu: float64(cputime.Process()-cpu) / float64(b.N)}
	b.ReportMetric(r.cpu/1000, "cpu-µs/op")
	if m.nats != nil {
		r.nats = float64(m.nats.CPUTime()-natsCPU) / float64(b.N)
		b.ReportMetric(r.nats/1000, "nats-cpu-µs/op")
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		// The tail's shape apart from the mean, which is conns times
		// the wall time a hit (Little's law): the p99 over the mean.
		var sum time.Duration
		for _, l := range lat {
			sum += l
		}
		mean := sum / time.Duration(len(lat))
		b.ReportMetric(float64(mean.Microseconds())/1000, "mean-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100])/float64(mean), "tail-x")
	}
	b.ReportMetric(float64(cold.Load())/float64(b.N)*100, "cold-%")
	if db != nil {
		// The store writer's commit groups: writes (hits, most of them)
		// per synced group.
		after := db.Stats()
		writes := float64(after.Writes - before.Writes)
		if groups := after.Commits - before.Commits; groups > 0 {
			b.ReportMetric(writes/float64(groups), "writes/group")
		}
		// What a hit writes: batch entries and bytes (what the memtable
		// takes in, and flushes and compactions then rewrite).
		if writes > 0 {
			b.ReportMetric(float64(after.Entries-before.Entries)/writes, "entries/op")
			b.ReportMetric(float64(after.BatchBytes-before.BatchBytes)/writes, "wbytes/op")
			// What the LSM wrote again for them: memtable flushes and
			// compactions (tables written), and what compactions read.
			b.ReportMetric(float64(after.FlushedBytes+after.CompactedBytes-before.FlushedBytes-before.CompactedBytes)/writes, "lsm-wbytes/op")
			b.ReportMetric(float64(after.CompactionReadBytes-before.CompactionReadBytes)/writes, "lsm-rbytes/op")
		}
		// The serial part of a direct commit (a hit's): its wait for its
		// turn and its apply to the log and memtable, mean and p99.
		var applies uint64
		for i := range after.ApplyWaits {
			applies += after.ApplyWaits[i] - before.ApplyWaits[i]
		}
		if applies > 0 {
			b.ReportMetric(float64(after.ApplyWaitTime-before.ApplyWaitTime)/float64(applies)/1e6, "apply-ms")
			b.ReportMetric(float64(store.ApplyWaitQuantile(before, after, 0.99))/1e6, "apply-p99-ms")
		}
		// The share of the run's wall time pebble spent flushing
		// memtables and compacting (on the same two cores and disk).
		bg := after.FlushTime - before.FlushTime + after.CompactionTime - before.CompactionTime
		b.ReportMetric(100*float64(bg)/(ns*float64(b.N)), "bg-%")
		// The log's fdatasyncs: writes each covers, and how long one takes.
		if syncs := after.WALSyncs - before.WALSyncs; syncs > 0 {
			b.ReportMetric(writes/float64(syncs), "writes/fsync")
			b.ReportMetric(float64(after.WALSyncTime-before.WALSyncTime)/float64(syncs)/1e6, "fsync-ms")
			b.ReportMetric(float64(store.SyncQuantile(before, after, 0.99))/1e6, "fsync-p99-ms")
		}
		// The sync gate's syncs: their mean wall time (the fdatasync and
		// the hand-offs to pebble's log writer and back), the share of
		// the run one was in flight, and the share the timer started
		// (rather than enough writes waiting, or the process idle).
		var gate uint64
		for r := range after.GateSyncs {
			gate += after.GateSyncs[r] - before.GateSyncs[r]
		}
		timer := after.GateSyncs[store.GateTimer] - before.GateSyncs[store.GateTimer]
		if gate > 0 {
			took := after.GateSyncTime - before.GateSyncTime
			b.ReportMetric(float64(took)/float64(gate)/1e6, "sync-ms")
			b.ReportMetric(100*float64(took)/(ns*float64(b.N)), "sync-busy-%")
			b.ReportMetric(100*float64(timer)/float64(gate), "sync-timer-%")
		}
	}
	b.ReportMetric(loadAverage(), "load1")
	return r
}

// profileRun starts a CPU profile of the timed part of a run when
// APPLIANCE_BENCH_PROFILE names a file prefix (PREFIX-NAME.cpu, NAME the
// run's with dashes for slashes), or an execution trace of it when
// APPLIANCE_BENCH_TRACE does (PREFIX-NAME.trace): -test.cpuprofile would
// take the servers' set-up in too. It returns what stops them.
func profileRun(b *testing.B) func() {
	name := strings.ReplaceAll(b.Name(), "/", "-")
	var stops []func() error
	if prefix := os.Getenv("APPLIANCE_BENCH_PROFILE"); prefix != "" {
		f := createFile(b, prefix+"-"+name+".cpu")
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, func() error { pprof.StopCPUProfile(); return f.Close() })
	}
	if prefix := os.Getenv("APPLIANCE_BENCH_TRACE"); prefix != "" {
		f := createFile(b, prefix+"-"+name+".trace")
		if err := trace.Start(f); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, func() error { trace.Stop(); return f.Close() })
	}
	return func() {
		for _, stop := range stops {
			if err := stop(); err != nil {
				b.Error(err)
			}
		}
	}
}

func createFile(b *testing.B, name string) *os.File {
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// remember adds the visitor a new visitor's hit made (v without a ci) to
// the client's latest 64, as a browser's tabs it comes back with.
func remember(mine []mixVisitor, v mixVisitor, ci, key string) []mixVisitor {
	if v.ci != "" {
		return mine
	}
	mine = append(mine, mixVisitor{v.site, ci, key})
	if len(mine) > 64 {
		mine = mine[1:]
	}
	return mine
}

// loadAverage is the machine's load average over the last minute.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}

// durableHelloServer is helloServer with one durable write a request: a
// ~100-byte value under a new hit key, prepared in the handler and
// committed through the store's group-commit writer (as a hit's writes
// are), answered once synced. It is the floor of a durable hit: what the
// transport and the writer cost with a decision that costs nothing.
func durableHelloServer(b *testing.B, answer []byte) (string, *store.DB) {
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	value := []byte(strings.Repeat("v", 100))
	var next atomic.Uint64
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		tx := db.Prepare()
		tx.Set(store.HitKey(1, 1, next.Add(1)), value)
		if err := db.Commit(ctx, tx, nil); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
			return
		}
		writeHello(ctx, answer)
	}, NoDefaultServerHeader: true}
	go s.Serve(ln)
	b.Cleanup(func() {
		s.Shutdown()
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	return "http://" + ln.Addr().String() + "/t/v1/hit", db
}

// writeHello answers with answer and the tracker's headers, as hello
// and durable-hello do.
func writeHello(ctx *fasthttp.RequestCtx, answer []byte) {
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(answer)
}

// helloServer serves answer, with the tracker's headers, to every request
// on 127.0.0.1: the floor a handler that stores nothing would reach.
func helloServer(b *testing.B, answer []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		writeHello(ctx, answer)
	}, NoDefaultServerHeader: true}
	go s.Serve(ln)
	b.Cleanup(func() { s.Shutdown() })
	return "http://" + ln.Addr().String() + "/t/v1/hit"
}
