package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"appliance/internal/cputime"
)

// BenchmarkIngestDuringBackup measures durable hit ingest (16 writers, each
// write a session, a hit and two roll-up counters in one Update) alone, and
// while backups of the store run one after another, as the CLI takes them:
// the archive streamed through a pipe into SaveArchive, which verifies it
// and writes it to a file. With backups read at DefaultBackupRate and with
// no limit (what backup did before), in alternated rounds on one store of
// pointReadSessions sessions. The ratio of the hits/s of a backup mode to
// those of "alone" is the ingest left while a backup runs:
//
//	go test -run x -bench IngestDuringBackup -benchtime 20000x ./store/
func BenchmarkIngestDuringBackup(b *testing.B) {
	dataDir := b.TempDir()
	_, size, _ := buildSessionStore(b, filepath.Join(dataDir, DBDir), func() *pebble.Options { return pebbleOptions(false, MinCacheSize) }, pointReadSessions)
	b.Logf("store of %.1f MiB", float64(size)/(1<<20))
	modes := []struct {
		name   string
		backup bool
		rate   int64
	}{
		{"alone", false, 0},
		{"backup", true, DefaultBackupRate},
		{"backup-unlimited", true, 0},
	}
	// APPLIANCE_BENCH_BACKUP_RATES=8M,16M measures those rates beside.
	for _, r := range strings.Split(os.Getenv("APPLIANCE_BENCH_BACKUP_RATES"), ",") {
		if n, err := strconv.Atoi(strings.TrimSuffix(r, "M")); err == nil {
			modes = append(modes, struct {
				name   string
				backup bool
				rate   int64
			}{"backup-" + r, true, int64(n) << 20})
		}
	}
	for range 3 {
		for _, m := range modes {
			b.Run(m.name, func(b *testing.B) {
				d, err := Open(dataDir, Options{BackupRate: m.rate})
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
				ctx, cancel := context.WithCancel(context.Background())
				var backups sync.WaitGroup
				var taken atomic.Int64
				if m.backup {
					out := filepath.Join(b.TempDir(), "backup.tar")
					backups.Go(func() {
						for ctx.Err() == nil {
							pr, pw := io.Pipe()
							go func() { pw.CloseWithError(d.Backup(ctx, pw)) }()
							if _, err := SaveArchive(pr, out, io.Discard, nil); err == nil {
								taken.Add(1)
							}
							pr.Close()
						}
					})
				}
				b.ReportAllocs()
				var next atomic.Uint64
				var wg sync.WaitGroup
				start, cpu := time.Now(), cputime.Process()
				b.ResetTimer()
				for range 16 {
					wg.Go(func() {
						for next.Add(1) <= uint64(b.N) {
							if err := ingestHit(d); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				elapsed := time.Since(start)
				cancel()
				backups.Wait()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "hits/s")
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
				if m.backup {
					b.ReportMetric(float64(taken.Load()), "backups")
				}
			})
		}
	}
}

// ingestHit writes what a hit of a new session writes.
func ingestHit(d *DB) error {
	return d.Update(context.Background(), func(tx *Tx) error {
		sid, hid := d.NextID(), d.NextID()
		site := uint32(sid % 4)
		s := Session{ID: sid, Visitor: sid, Started: int64(sid), LastHit: int64(sid), Hits: 1, Channel: "organic",
			Referrer: "https://yandex.ru/", Landing: fmt.Sprintf("https://shop.example.com/catalog/item-%d", sid%5000),
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}
		h := Hit{ID: hid, Session: sid, Time: int64(sid), URL: s.Landing, Title: "Товар — купить в интернет-магазине Shop"}
		tx.Set(SessionKey(site, sid), s.Encode())
		tx.Set(HitKey(site, sid, hid), h.Encode())
		tx.Add(RollupKey(site, 20000, "traffic"), 0, 1)
		tx.Add(RollupKey(site, 20000, "channels"), 1, 1)
		return nil
	})
}
