package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"appliance/internal/cputime"
)

// BenchmarkLogSync is the disk's floor under every durable write: a 2 KiB
// record written to a log file and fdatasync'ed, as the store's log does
// (pebble's WAL: one sync at a time, the next waiting for the one in
// flight), beside the same with 2 and 4 syncs in flight at once (a
// record written, then synced by each of n goroutines). The file is
// written in full first, as pebble's recycled logs are, so that a sync
// flushes data, not the file's size. Each reports syncs a second, the
// p50 and p99 of one sync and the process's CPU per sync (on a VM most of
// it is the threads' sleeps and wake-ups around the blocking call).
func BenchmarkLogSync(b *testing.B) {
	for _, inFlight := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			const size = 64 << 20
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "log"), os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			chunk := make([]byte, 1<<20)
			for range size / len(chunk) {
				if _, err := f.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
			record := make([]byte, 2<<10)
			var (
				mu   sync.Mutex
				off  int64
				lat  []time.Duration
				next int
			)
			b.ResetTimer()
			cpu, start := cputime.Process(), time.Now()
			var wg sync.WaitGroup
			for range inFlight {
				wg.Go(func() {
					mine := make([]time.Duration, 0, b.N/inFlight+1)
					for {
						mu.Lock()
						if next == b.N {
							mu.Unlock()
							break
						}
						next++
						at := off % size
						off += int64(len(record))
						mu.Unlock()
						if _, err := f.WriteAt(record, at); err != nil {
							b.Error(err)
							return
						}
						t := time.Now()
						if err := unix.Fdatasync(int(f.Fd())); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(t))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "syncs/s")
			b.ReportMetric(float64(el.Microseconds())/1000/float64(b.N)*float64(inFlight), "mean-ms")
			reportLatencies(b, lat)
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(b.N), "cpu-µs/sync")
		})
	}
}
