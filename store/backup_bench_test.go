package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
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
//	go test -run '^$' -bench IngestDuringBackup -benchtime 20000x ./store/
//
// Each run also reports the log's mean fdatasync (fsync-ms) and the writes
// it carried (writes/fsync), which tell a disk held up by the backup from
// CPU taken by it; under -cpuprofile the backup's goroutines are labelled
// part=backup and the writers part=ingest. The archive goes to a file, as
// with `appliance backup -o FILE`; APPLIANCE_BENCH_BACKUP_SINKS=verify,none
// adds rounds at the default rate whose archive is verified but not
// written (SaveArchive to a discarded stdout) or not even received (Backup
// into io.Discard: the server's side alone), to tell their shares apart.
func BenchmarkIngestDuringBackup(b *testing.B) {
	dataDir := b.TempDir()
	dbDir := filepath.Join(dataDir, DBDir)
	_, size, _ := buildSessionStore(b, dbDir, func() *pebble.Options { return pebbleOptions(false, MinCacheSize) }, pointReadSessions)
	// The store is built with its newest sessions in level 0, for the
	// point reads' benchmark; compacted here, so that the first runs do
	// not share the machine with that compaction (seconds of CPU).
	pdb, err := pebble.Open(dbDir, pebbleOptions(false, MinCacheSize))
	if err != nil {
		b.Fatal(err)
	}
	if err := pdb.Compact(context.Background(), []byte{0}, []byte{0xff, 0xff}, true); err != nil {
		b.Fatal(err)
	}
	if err := pdb.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("store of %.1f MiB", float64(size)/(1<<20))
	type mode struct {
		name   string
		backup bool
		rate   int64
		sink   string // "file", "verify" or "none"
	}
	modes := []mode{
		{"alone", false, 0, ""},
		{"backup", true, DefaultBackupRate, "file"},
		{"backup-unlimited", true, 0, "file"},
	}
	// APPLIANCE_BENCH_BACKUP_RATES=8M,16M measures those rates beside.
	for _, r := range strings.Split(os.Getenv("APPLIANCE_BENCH_BACKUP_RATES"), ",") {
		if n, err := strconv.Atoi(strings.TrimSuffix(r, "M")); err == nil {
			modes = append(modes, mode{"backup-" + r, true, int64(n) << 20, "file"})
		}
	}
	for _, s := range strings.Split(os.Getenv("APPLIANCE_BENCH_BACKUP_SINKS"), ",") {
		if s == "verify" || s == "none" {
			modes = append(modes, mode{"backup-" + s, true, DefaultBackupRate, s})
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
					sink := m.sink
					if sink == "verify" {
						out = "-"
					}
					backups.Go(func() {
						pprof.Do(ctx, pprof.Labels("part", "backup"), func(ctx context.Context) {
							for ctx.Err() == nil {
								if sink == "none" {
									if d.Backup(ctx, io.Discard) == nil {
										taken.Add(1)
									}
									continue
								}
								pr, pw := io.Pipe()
								go func() { pw.CloseWithError(d.Backup(ctx, pw)) }()
								if _, err := SaveArchive(pr, out, io.Discard, nil); err == nil {
									taken.Add(1)
								}
								pr.Close()
							}
						})
					})
				}
				b.ReportAllocs()
				var next atomic.Uint64
				var wg sync.WaitGroup
				before := d.Stats()
				start, cpu := time.Now(), cputime.Process()
				b.ResetTimer()
				for range 16 {
					wg.Go(func() {
						pprof.Do(ctx, pprof.Labels("part", "ingest"), func(context.Context) {
							for next.Add(1) <= uint64(b.N) {
								if err := ingestHit(d); err != nil {
									b.Error(err)
									return
								}
							}
						})
					})
				}
				wg.Wait()
				b.StopTimer()
				elapsed := time.Since(start)
				after := d.Stats()
				cancel()
				backups.Wait()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "hits/s")
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
				if syncs := after.WALSyncs - before.WALSyncs; syncs > 0 {
					b.ReportMetric(float64(after.WALSyncTime-before.WALSyncTime)/float64(syncs)/1e6, "fsync-ms")
					b.ReportMetric(float64(b.N)/float64(syncs), "writes/fsync")
				}
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
