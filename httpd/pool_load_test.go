//go:build linux

package httpd_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/sites"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The pools' memory and start-up figures (README: performance): a real
// server in a child process, so that its RSS is its own, started on a
// store with 16 sites of one pool of 5,000 numbers, every number leased
// (the most a restart restores), beside the same server on an empty store
// in the same run. It reports figures and asserts none (the machine is
// shared): APPLIANCE_POOL_LOAD=1 go test -run TestPoolLoad -v ./httpd/

const poolLoadChildEnv = "APPLIANCE_POOL_LOAD_DIR"

// TestPoolLoadChild is the server of TestPoolLoad, run only as its child:
// it writes how long the server took to start, then serves until killed.
func TestPoolLoadChild(t *testing.T) {
	dir := os.Getenv(poolLoadChildEnv)
	if dir == "" {
		t.Skip("the child process of TestPoolLoad")
	}
	start := time.Now()
	httpdtest.StartAt(t, filepath.Join(dir, "db"), func(o *httpd.Options) { o.Log = nil })
	took := time.Since(start)
	if os.Getenv("APPLIANCE_POOL_LOAD_FREE") != "" {
		debug.FreeOSMemory()
	}
	if err := os.WriteFile(filepath.Join(dir, "info.tmp"), []byte(fmt.Sprint(took.Nanoseconds())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "info.tmp"), filepath.Join(dir, "info")); err != nil {
		t.Fatal(err)
	}
	select {}
}

func TestPoolLoad(t *testing.T) {
	if os.Getenv("APPLIANCE_POOL_LOAD") == "" {
		t.Skip("a load test: APPLIANCE_POOL_LOAD=1")
	}
	empty, pools := t.TempDir(), t.TempDir()
	keys := leasePools(t, filepath.Join(pools, "db"), 16, 5000, poolLoadLeased)
	// Alternate the two servers, as the figures of a noisy machine must.
	for round := range 2 {
		for _, c := range []struct {
			name, dir string
			keys      []string
		}{{"empty store", empty, nil}, {"16 pools x 5,000 numbers, 4,000 of each leased", pools, keys}} {
			took, rss, anon := poolLoadChild(t, c.dir, c.keys, round+1)
			t.Logf("FIGURE round %d, %s: start-up %s, server RSS %d KB, of it anonymous %d KB (load average %.1f)", round+1, c.name,
				took.Round(time.Millisecond), rss, anon, loadAverage())
		}
	}
}

// poolLoadLeased is how many numbers of each pool are leased before the
// server starts: the rest are for the load phase's new visitors to claim
// (its ~30% of new visitors over 16 sites stay below 1,000 a site).
const poolLoadLeased = 4000

// poolLoadHits is how many page views the load phase posts
// (APPLIANCE_POOL_LOAD_HITS overrides it).
func poolLoadHits() int {
	if n, err := strconv.Atoi(os.Getenv("APPLIANCE_POOL_LOAD_HITS")); err == nil && n > 0 {
		return n
	}
	return 50_000
}

// poolLoadDrive posts hits page views to the server at addr from 64
// keep-alive connections, BenchmarkHitEndpoint's mix on the pool sites
// (keys): 30% new visitors, who claim a number; returning ones, who renew
// theirs, 15% of them back from an ad with a campaign (a new session).
// It asserts nothing of time: the phase is there for the RSS it leaves.
func poolLoadDrive(t *testing.T, addr string, keys []string, hits int) {
	const conns = 64
	url := "http://" + addr + "/t/v1/hit"
	c := &fasthttp.Client{MaxConnsPerHost: conns, MaxConnWaitTimeout: time.Minute, ReadTimeout: time.Minute}
	var left atomic.Int64
	left.Store(int64(hits))
	var wg sync.WaitGroup
	for g := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			var mine []mixVisitor
			for n := 0; left.Add(-1) >= 0; n++ {
				s := r.IntN(len(keys))
				v := mixVisitor{site: keys[s]}
				path := fmt.Sprintf("catalog/shoes/item-%d?color=red", n)
				switch p := r.IntN(100); {
				case p < mixNew || len(mine) == 0:
				case p < mixNew+mixCampaign:
					v = mine[r.IntN(len(mine))]
					path = fmt.Sprintf("promo?utm_source=yandex&utm_medium=cpc&utm_campaign=c%d", n)
				default:
					v = mine[r.IntN(len(mine))]
				}
				page := "https://shop" + strconv.Itoa(slices.Index(keys, v.site)) + ".example.com/" + path
				ci, key, err := mixHit(c, url, v.site, v.ci, v.key, page, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mine = remember(mine, v, ci, key)
			}
		}()
	}
	wg.Wait()
}

// procCPU is the CPU time the process has used, user and system (from
// /proc/PID/stat, in clock ticks of 10 ms).
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command's name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// anonKB is the anonymous part of the process's RSS from its
// /proc/PID/smaps_rollup (Anonymous: pages not backed by a file: the Go
// heap, goroutine stacks, pebble's block cache and memtables).
func anonKB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// poolLoadChild starts the child server on dir and returns its start-up
// time and RSS once serving, all of it and its anonymous part (the rest
// is the pages of the test binary's file it has touched, which the page
// cache may keep or drop: a test binary's are some 50 MB).
//
// With APPLIANCE_POOL_LOAD_BIN set to a built appliance (go build -o
// /tmp/appliance .), the child is that binary's `serve`, what a user
// runs: its start-up is from exec to its systemd READY=1 on a
// NOTIFY_SOCKET of the test's, and its RSS holds its own file's pages.
func poolLoadChild(t *testing.T, dir string, keys []string, round int) (time.Duration, int, int) {
	if bin := os.Getenv("APPLIANCE_POOL_LOAD_BIN"); bin != "" {
		return poolLoadBinary(t, bin, dir, keys, round)
	}
	os.Remove(filepath.Join(dir, "info"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestPoolLoadChild$")
	cmd.Env = append(os.Environ(), poolLoadChildEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for range 2400 {
		if b, err := os.ReadFile(filepath.Join(dir, "info")); err == nil {
			var ns int64
			fmt.Sscan(strings.TrimSpace(string(b)), &ns)
			time.Sleep(time.Second) // let start-up's garbage be collected
			pid := cmd.Process.Pid
			return time.Duration(ns), rssKB(t, pid), procStatusKB(t, pid, "RssAnon")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the child server did not start")
	return 0, 0, 0
}

// poolLoadBinary is poolLoadChild with bin's serve as the server. When
// keys are given (the sites of the pools) it then drives the server with
// poolLoadDrive and reports its RSS at load: its peak (VmHWM), its RSS
// once the hits are answered and that RSS's anonymous part.
func poolLoadBinary(t *testing.T, bin, dir string, keys []string, round int) (time.Duration, int, int) {
	// A free port of the loopback: the load phase needs to know it. The
	// site rate limit is off: the test posts far more than 2,000 hits a
	// second to one site (loopback is exempt from the per-IP one).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd, _, took, kill := serveReady(t, bin, "serve", "--data", filepath.Join(dir, "db"), "--listen", addr, "--tracker-site-rate", "0")
	defer kill()
	time.Sleep(time.Second) // let start-up's garbage be collected
	pid := cmd.Process.Pid
	rss, anon := rssKB(t, pid), procStatusKB(t, pid, "RssAnon")
	if len(keys) > 0 {
		hits := poolLoadHits()
		start, cpu := time.Now(), procCPU(t, pid)
		poolLoadDrive(t, addr, keys, hits)
		took, cpu := time.Since(start), procCPU(t, pid)-cpu
		t.Logf("FIGURE round %d, %s at load (%d hits, 64 connections, %s, %.0f hits/s, server CPU %d µs a hit): server peak RSS (VmHWM) %d KB, RSS after %d KB, of it anonymous %d KB (smaps_rollup) (load average %.1f)",
			round, filepath.Base(bin), hits, took.Round(time.Millisecond), float64(hits)/took.Seconds(), cpu.Microseconds()/int64(hits),
			procStatusKB(t, pid, "VmHWM"), rssKB(t, pid), anonKB(t, pid), loadAverage())
		if out := os.Getenv("APPLIANCE_POOL_LOAD_PROFILE"); out != "" {
			// With APPLIANCE_METRICS_TOKEN and APPLIANCE_PPROF=1 in the
			// environment: the server's heap profile and metrics at load.
			// And its mappings, to name what of its RSS the heap profile
			// and the store's metrics do not.
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid)); err == nil {
				if err := os.WriteFile(fmt.Sprintf("%s.smaps.%d", out, round), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for name, path := range map[string]string{"heap": "/debug/pprof/heap", "metrics": "/metrics"} {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI("http://" + addr + path)
				req.Header.Set("Authorization", "Bearer "+os.Getenv("APPLIANCE_METRICS_TOKEN"))
				if err := fasthttp.Do(req, resp); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(fmt.Sprintf("%s.%s.%d", out, name, round), resp.Body(), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return took, rss, anon
}

// leasePools stores sites of one pool of size numbers each in a new store
// at dir, and leases every number to a visitor, as Assign and Persist do
// on the hit path.
func leasePools(t *testing.T, dir string, n, size, leased int) []string {
	ctx := context.Background()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	tr, err := tracking.Open(ctx, db, now, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := sites.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for s := range uint32(n) {
		st, err := reg.Create(ctx, fmt.Sprintf("Shop %d", s), []string{fmt.Sprintf("shop%d.example.com", s)})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, st.Key)
		site := st.ID
		if _, err := tr.SetSiteNumbers(ctx, site, []string{fmt.Sprintf("+7 487 275-%02d-04", s)}, now); err != nil {
			t.Fatal(err)
		}
		nums := make([]string, size)
		for i := range nums {
			nums[i] = fmt.Sprintf("7496%02d%05d", s, i)
		}
		if _, err := tr.AddPool(ctx, site, tracking.PoolInput{Name: "ads", Numbers: nums, Reserve: 24 * time.Hour}, now); err != nil {
			t.Fatal(err)
		}
		batch := make([]tracking.Assignment, 0, 500)
		for v := range uint64(leased) {
			a, err := tr.Assign(site, uint64(site)<<32|v+1, v+1, numbers.Visit{Channel: "direct"}, false, now)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, a)
			if len(batch) == cap(batch) || v == uint64(leased-1) {
				if err := db.Update(ctx, func(tx *store.Tx) error {
					for i := range batch {
						if err := batch[i].Persist(tx); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	return keys
}

// TestPoolRestart is the start-up of the built appliance's serve after a
// clean stop (SIGTERM), what a restart or an upgrade is, on a store of 16
// pools x 5,000 numbers, 4,000 of each leased: from exec to its systemd
// READY=1, and its process CPU then. The binaries of
// APPLIANCE_POOL_RESTART_BINS (separated by ":", e.g. an old and a new
// build) take turns, round after round, each on its own copy of the
// store; each is started and stopped once before the timed rounds. It reports figures and asserts none:
// APPLIANCE_POOL_RESTART_BINS=/tmp/old:/tmp/new go test -run TestPoolRestart -v ./httpd/
func TestPoolRestart(t *testing.T) {
	bins := strings.Split(os.Getenv("APPLIANCE_POOL_RESTART_BINS"), ":")
	if bins[0] == "" {
		t.Skip("a load test: APPLIANCE_POOL_RESTART_BINS=bin1:bin2")
	}
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("APPLIANCE_POOL_RESTART_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	base := t.TempDir()
	leasePools(t, filepath.Join(base, "db"), 16, 5000, poolLoadLeased)
	// A copy of the store for each binary: one's start writes what the
	// other's would not (its own compressed assets).
	dirs := make([]string, len(bins))
	for i := range bins {
		dirs[i] = t.TempDir()
		if err := os.CopyFS(filepath.Join(dirs[i], "db"), os.DirFS(filepath.Join(base, "db"))); err != nil {
			t.Fatal(err)
		}
	}
	for round := range rounds + 1 {
		for i, bin := range bins {
			took, cpu, stop := poolRestart(t, bin, dirs[i])
			if round == 0 {
				continue // each binary's first start after the other's stop
			}
			t.Logf("FIGURE round %d, %s: start-up %s, CPU at READY %s, clean stop %s (load average %.1f)", round, bin,
				took.Round(time.Millisecond), cpu, stop.Round(time.Millisecond), loadAverage())
		}
	}
}

// poolRestart starts bin's serve on the store in dir, waits for its
// READY=1 and stops it with SIGTERM; it returns the time from exec to
// READY=1, the process's CPU then, and the time from SIGTERM to its exit.
func poolRestart(t *testing.T, bin, dir string) (took, cpu, stop time.Duration) {
	cmd, out, took, kill := serveReady(t, bin, "serve", "--data", filepath.Join(dir, "db"), "--listen", "127.0.0.1:0")
	defer kill()
	cpu = procCPU(t, cmd.Process.Pid)
	time.Sleep(200 * time.Millisecond) // the background work of a start (compressed assets)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s serve: %v\n%s", bin, err, out.String())
	}
	return took, cpu, time.Since(start)
}

// serveReady starts bin with args (a serve) with a systemd notify socket
// and returns once it has said READY=1: the command, what it has written
// (read it only once it has exited), the time from exec to READY=1, and
// kill, which ends it if it still runs.
func serveReady(t *testing.T, bin string, args ...string) (cmd *exec.Cmd, out *bytes.Buffer, took time.Duration, kill func()) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd = exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	out = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	_ = ln.SetReadDeadline(time.Now().Add(2 * time.Minute))
	buf := make([]byte, 512)
	for {
		n, err := ln.Read(buf)
		if err != nil {
			kill()
			t.Fatalf("%s serve sent no READY=1: %v\n%s", bin, err, out.String())
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			return cmd, out, time.Since(start), kill
		}
	}
}
