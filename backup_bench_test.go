package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
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
	"appliance/internal/cputime"
	"appliance/store"
)

// BenchmarkHitsDuringBackup is issue 15's "online backup under load" as a
// user meets it: `serve` (runServe, the default --backup-rate) on a store
// of some 30 MiB (logged) takes new visitors' page views over HTTP from 64
// keep-alive connections, alone, and while `appliance backup -o FILE` (a
// child process: this test binary as the appliance, see TestMain; the
// archive streamed through the admin socket, verified and written beside
// the store) runs back to back, in alternated rounds: 4 alone, 3 with
// backups between them (APPLIANCE_BENCH_BACKUP_ROUNDS: more rounds). The
// ratio of the hits/s of a backup round to the mean of the two alone
// rounds beside it is the ingest left while a backup runs (goal: above
// 0.9); so is that of all the backup rounds' hits/s to all the alone
// rounds'. Each round also reports the store's log syncs
// (their mean time, how many a second, writes a group commit, from the
// server's /metrics), the machine's disk writes (/proc/diskstats: mean
// time a write, MiB/s) and this process's system CPU per hit.
//
// APPLIANCE_BENCH_BACKUP_RATE sets serve's --backup-rate (e.g. 8M; 0: no
// limit); APPLIANCE_BENCH_BACKUP_OUT=- has the command write the archive to
// its stdout, discarded, instead of a file (no disk writes).
//
// An alone round is b.N hits. A backup round covers whole backups: it
// starts with the first backup, takes at least b.N hits, starts no backup
// after that, and ends when the last one has; its hits/s and CPU per hit
// count the hits it took (more than b.N) and the CPU of this process and
// of the backup commands.
//
//	go test -run '^$' -bench HitsDuringBackup -benchtime 20000x .
//
// APPLIANCE_BENCH_PROFILE=PREFIX writes a CPU profile of each round (this
// process: the server and the clients) and of each backup command.
func BenchmarkHitsDuringBackup(b *testing.B) {
	dir := b.TempDir()
	b.Logf("store of %.1f MiB", float64(fillStore(b, dir, 64<<20))/(1<<20))
	site := benchSite(b, dir)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, ServeOptions{Data: dir, Listen: "127.0.0.1:0", Version: "bench",
			Log:           LogOptions{Format: "text", Level: "warn"},
			TrackerLimits: httpd.TrackerLimits{PerIP: -1, PerSite: -1},
			Store:         StoreOptions{BackupRate: benchBackupRate(b)},
			MetricsToken:  "bench",
		}, io.Discard, func(a string) { ready <- a })
	}()
	var url, metricsURL string
	select {
	case addr := <-ready:
		url = "http://" + addr + "/t/v1/hit"
		metricsURL = "http://" + addr + "/metrics"
	case err := <-done:
		b.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	out := filepath.Join(b.TempDir(), "backup.tar")
	var pages atomic.Int64
	rates := make([]float64, backupBenchRounds(b)) // hits/s of each round (its last run: the first has b.N 1)
	var hitsIn, timeIn [2]float64                  // alone, backup: the rounds' hits and seconds
	// Alone and backup rounds alternate, an alone round first and last:
	// each backup round is compared with the alone rounds on either side,
	// since the store grows over the run and its hits slow with it.
	for i := range rates {
		backup := i%2 == 1
		name := "alone"
		if backup {
			name = "backup"
		}
		b.Run(name, func(b *testing.B) {
			bctx, stop := context.WithCancel(ctx)
			var backups sync.WaitGroup
			var taken atomic.Int64
			var backupCPU atomic.Int64 // ns, of the backup commands
			// running is set while the backups of this round go on:
			// until the first b.N hits are taken and the last backup
			// started before has ended.
			var running, hitsDone atomic.Bool
			if backup {
				running.Store(true)
				backups.Go(func() {
					defer running.Store(false)
					for bctx.Err() == nil && !hitsDone.Load() {
						cpu, err := backupCommand(bctx, dir, out, childProfile(b, int(taken.Load())))
						backupCPU.Add(int64(cpu))
						if err != nil {
							b.Error(err)
							return
						}
						taken.Add(1)
					}
				})
			}
			c := &fasthttp.Client{MaxConnsPerHost: 64, MaxConnWaitTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
			var next, hits atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			var clients sync.WaitGroup
			b.ResetTimer()
			stopProfile := profileRound(b)
			m0, d0, sys0 := scrapeStore(b, c, metricsURL), readDiskStats(), cputime.System()
			start, cpu := time.Now(), cputime.Process()
			for range 64 {
				clients.Go(func() {
					var my []time.Duration
					for {
						if next.Add(1) > int64(b.N) {
							hitsDone.Store(true)
							if !running.Load() {
								break
							}
						}
						body := fmt.Appendf(nil, `{"k":%q,"u":"https://shop.example/catalog/item-%d","r":"https://yandex.ru/","t":"Кроссовки кожаные — купить в интернет-магазине Shop"}`, site, pages.Add(1))
						t := time.Now()
						if err := postPageView(c, url, body); err != nil {
							b.Error(err)
							return
						}
						my = append(my, time.Since(t))
						hits.Add(1)
					}
					mu.Lock()
					lat = append(lat, my...)
					mu.Unlock()
				})
			}
			clients.Wait()
			elapsed, used := time.Since(start), cputime.Process()-cpu
			m1, d1, sys1 := scrapeStore(b, c, metricsURL), readDiskStats(), cputime.System()
			b.StopTimer()
			stop()
			backups.Wait()
			stopProfile()
			used += time.Duration(backupCPU.Load())
			n := hits.Load()
			rates[i] = float64(n) / elapsed.Seconds()
			hitsIn[i%2] += float64(n)
			timeIn[i%2] += elapsed.Seconds()
			b.ReportMetric(rates[i], "hits/s")
			b.ReportMetric(float64(used.Microseconds())/float64(n), "cpu-µs/hit")
			if syncs := m1.syncs - m0.syncs; syncs > 0 {
				b.ReportMetric((m1.syncTime-m0.syncTime)*1e6/syncs, "wal-sync-µs")
				b.ReportMetric(syncs/elapsed.Seconds(), "wal-syncs/s")
			}
			if commits := m1.commits - m0.commits; commits > 0 {
				b.ReportMetric((m1.writes-m0.writes)/commits, "writes/commit")
			}
			if w := d1.writes - d0.writes; w > 0 {
				b.ReportMetric(float64(d1.writeMs-d0.writeMs)/float64(w), "disk-write-ms")
				b.ReportMetric(float64(d1.sectors-d0.sectors)*512/(1<<20)/elapsed.Seconds(), "disk-MiB/s")
			}
			b.ReportMetric(float64((sys1-sys0).Microseconds())/float64(n), "sys-µs/hit")
			if len(lat) > 0 {
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
			if backup {
				b.ReportMetric(float64(taken.Load()), "backups")
				b.ReportMetric(elapsed.Seconds()/float64(taken.Load()), "s/backup")
				b.ReportMetric(float64(backupCPU.Load())/1e6/float64(taken.Load()), "cmd-cpu-ms/backup")
			}
		})
	}
	{
		var r []string
		var ratios []float64
		for i := 1; i < len(rates); i += 2 {
			ratios = append(ratios, rates[i]/((rates[i-1]+rates[i+1])/2))
			r = append(r, fmt.Sprintf("%.2f", ratios[len(ratios)-1]))
		}
		slices.Sort(ratios)
		b.Logf("hits/s of the backup rounds to the mean of the alone rounds beside them: %s (median %.2f); all the backup rounds' hits/s to all the alone rounds': %.2f (%.1f vs %.1f s)",
			strings.Join(r, " "), ratios[len(ratios)/2], hitsIn[1]/timeIn[1]/(hitsIn[0]/timeIn[0]), timeIn[1], timeIn[0])
	}
}

// backupBenchRounds is how many rounds BenchmarkHitsDuringBackup runs:
// 7 (4 alone, 3 with backups), or APPLIANCE_BENCH_BACKUP_ROUNDS (made odd,
// at least 3): the rounds' spread is some ±15%, from the store's
// compactions landing in one round or the next, and more of them narrow
// the median.
func backupBenchRounds(b *testing.B) int {
	n := 7
	if v := os.Getenv("APPLIANCE_BENCH_BACKUP_ROUNDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("APPLIANCE_BENCH_BACKUP_ROUNDS=%q: %v", v, err)
		}
	}
	return max(3, n|1)
}

// profileRound starts a CPU profile of this process (the server and the
// hits' clients) for a round when APPLIANCE_BENCH_PROFILE names a file
// prefix (PREFIX-NAME.cpu, NAME the round's with dashes for slashes), and
// returns what stops it.
func profileRound(b *testing.B) func() {
	prefix := os.Getenv("APPLIANCE_BENCH_PROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(prefix + "-" + strings.ReplaceAll(b.Name(), "/", "-") + ".cpu")
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// childProfile is the CPU profile file of a round's i-th backup command
// under APPLIANCE_BENCH_PROFILE (PREFIX-NAME-cmdI.cpu), "" without it.
func childProfile(b *testing.B, i int) string {
	prefix := os.Getenv("APPLIANCE_BENCH_PROFILE")
	if prefix == "" {
		return ""
	}
	return fmt.Sprintf("%s-%s-cmd%d.cpu", prefix, strings.ReplaceAll(b.Name(), "/", "-"), i)
}

// backupCommand runs `appliance backup --data dir -o out` as a child
// process and returns the CPU time it used; profile, when not "", is the
// file the child writes its CPU profile to (see TestMain).
func backupCommand(ctx context.Context, dir, out, profile string) (time.Duration, error) {
	if o := os.Getenv("APPLIANCE_BENCH_BACKUP_OUT"); o != "" {
		out = o // "-": to stdout, discarded
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "backup", "--data", dir, "-o", out)
	cmd.Env = append(os.Environ(), "APPLIANCE_TEST_MAIN=1", "APPLIANCE_TEST_CPUPROFILE="+profile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil && ctx.Err() == nil {
		return cpu, fmt.Errorf("backup: %v: %s", err, stderr.Bytes())
	}
	return cpu, nil
}

// postPageView posts one page view of a new visitor.
func postPageView(c *fasthttp.Client, url string, body []byte) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.Set("Origin", "https://shop.example")
	req.Header.SetUserAgent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	req.SetBodyRaw(body)
	if err := c.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("hit: %d %s", resp.StatusCode(), resp.Body())
	}
	return nil
}

// fillStore writes hits of a site that does not exist into the store in
// dir until it holds size bytes on disk before compaction, each with a
// title of random hex that compresses by half at most, as a store that has
// served a while, compacts it and returns its size.
func fillStore(b *testing.B, dir string, size uint64) uint64 {
	b.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	random := make([]byte, 48)
	for id := uint64(1); db.Stats().DiskBytes < size; {
		err := db.Update(context.Background(), func(tx *store.Tx) error {
			for range 2000 {
				rand.Read(random)
				h := store.Hit{ID: id, Session: id / 4, Time: int64(id), URL: fmt.Sprintf("https://filler.example/catalog/item-%d", id%5000), Title: hex.EncodeToString(random)}
				tx.Set(store.HitKey(1<<31, h.Session, h.ID), h.Encode())
				id++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	return db.Stats().DiskBytes
}

// benchSite adds a site for shop.example with `site add` to the store in
// dir, which no server has open, and returns its key.
func benchSite(b *testing.B, dir string) string {
	b.Helper()
	var out bytes.Buffer
	if err := runSiteAdd(context.Background(), SiteAddOptions{Data: dir, Name: "Shop", Domains: []string{"shop.example"}}, &out); err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`site key: (\w+)`).FindStringSubmatch(out.String())
	if m == nil {
		b.Fatalf("site add printed %q", out.String())
	}
	return m[1]
}

// benchBackupRate is serve's --backup-rate in BenchmarkHitsDuringBackup:
// APPLIANCE_BENCH_BACKUP_RATE (e.g. 8M, 0 for no limit) or the default.
func benchBackupRate(b *testing.B) byteSize {
	r := byteSize(store.DefaultBackupRate)
	if v := os.Getenv("APPLIANCE_BENCH_BACKUP_RATE"); v != "" {
		if err := r.Set(v); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// storeCounters are the server's store counters in /metrics that
// BenchmarkHitsDuringBackup reports per round.
type storeCounters struct {
	syncs, syncTime, commits, writes float64 // syncTime in seconds
}

// scrapeStore reads the store's counters from the server's /metrics.
func scrapeStore(b *testing.B, c *fasthttp.Client, url string) storeCounters {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.Set("Authorization", "Bearer bench")
	if err := c.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
		b.Fatalf("metrics: %v %d", err, resp.StatusCode())
	}
	var s storeCounters
	for line := range strings.Lines(string(resp.Body())) {
		name, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(v, 64)
		switch name {
		case "appliance_store_wal_sync_seconds_count":
			s.syncs = f
		case "appliance_store_wal_sync_seconds_sum":
			s.syncTime = f
		case "appliance_store_commits_total":
			s.commits = f
		case "appliance_store_writes_total":
			s.writes = f
		}
	}
	return s
}

// diskStats are the writes of the machine's disks (/proc/diskstats, whole
// disks named vd*, sd* or nvme*n*: no partitions), zero where unknown.
type diskStats struct{ writes, sectors, writeMs int64 }

// wholeDisk matches the names of whole disks in /proc/diskstats.
var wholeDisk = regexp.MustCompile(`^(vd[a-z]|sd[a-z]|nvme\d+n\d+)$`)

func readDiskStats() diskStats {
	var d diskStats
	data, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return d
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 11 || !wholeDisk.MatchString(f[2]) {
			continue
		}
		w, _ := strconv.ParseInt(f[7], 10, 64)
		sec, _ := strconv.ParseInt(f[9], 10, 64)
		ms, _ := strconv.ParseInt(f[10], 10, 64)
		d.writes += w
		d.sectors += sec
		d.writeMs += ms
	}
	return d
}
