package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
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
// keep-alive connections, alone, and while `appliance backup -o FILE`
// (runBackup: the archive streamed through the admin socket, verified and
// written beside the store) runs back to back, in alternated rounds. The
// ratio of the hits/s of a backup round to those of the alone rounds is
// the ingest left while a backup runs (goal: above 0.9). Unlike the CLI,
// the backup's receiving side runs in this process, on its own threads at
// the priority SaveArchive gives them, as in its own process.
//
//	go test -run '^$' -bench HitsDuringBackup -benchtime 20000x .
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
			Store:         StoreOptions{BackupRate: store.DefaultBackupRate},
		}, io.Discard, func(a string) { ready <- a })
	}()
	var url string
	select {
	case addr := <-ready:
		url = "http://" + addr + "/t/v1/hit"
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
	for range 3 {
		for _, backup := range []bool{false, true} {
			name := "alone"
			if backup {
				name = "backup"
			}
			b.Run(name, func(b *testing.B) {
				bctx, stop := context.WithCancel(ctx)
				var backups sync.WaitGroup
				var taken atomic.Int64
				if backup {
					backups.Go(func() {
						for bctx.Err() == nil {
							if runBackup(bctx, BackupOptions{Data: dir, Output: out}, io.Discard) == nil {
								taken.Add(1)
							}
						}
					})
				}
				c := &fasthttp.Client{MaxConnsPerHost: 64, MaxConnWaitTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
				var next atomic.Int64
				var mu sync.Mutex
				var lat []time.Duration
				var clients sync.WaitGroup
				b.ResetTimer()
				start, cpu := time.Now(), cputime.Process()
				for range 64 {
					clients.Go(func() {
						var my []time.Duration
						for next.Add(1) <= int64(b.N) {
							body := fmt.Appendf(nil, `{"k":%q,"u":"https://shop.example/catalog/item-%d","r":"https://yandex.ru/","t":"Кроссовки кожаные — купить в интернет-магазине Shop"}`, site, pages.Add(1))
							t := time.Now()
							if err := postPageView(c, url, body); err != nil {
								b.Error(err)
								return
							}
							my = append(my, time.Since(t))
						}
						mu.Lock()
						lat = append(lat, my...)
						mu.Unlock()
					})
				}
				clients.Wait()
				elapsed, used := time.Since(start), cputime.Process()-cpu
				b.StopTimer()
				stop()
				backups.Wait()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "hits/s")
				b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/op")
				if len(lat) > 0 {
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				}
				if backup {
					b.ReportMetric(float64(taken.Load()), "backups")
				}
			})
		}
	}
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
