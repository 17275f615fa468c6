package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"appliance/internal/cputime"
)

// BenchmarkDurableFloor is the store's share of the durable floor under a
// hit: one prepared ~100-byte write (Prepare, Set, Commit, as the tracker
// commits a hit) from w concurrent callers, beside the same write as its
// own synced pebble commit (pebble's commit pipeline, which merges
// concurrent syncs of its log, with no writer of ours around it). Each
// reports the process's CPU per write, the context switches per write
// (voluntary and not, of every thread: on a VM each is a costly exit),
// writes per fdatasync and the p50/p99 of one write.
func BenchmarkDurableFloor(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 100)
	ctx := context.Background()
	modes := []struct {
		name  string
		write func(d *DB, k []byte) error
	}{
		{"commit", func(d *DB, k []byte) error {
			tx := d.Prepare()
			tx.Set(k, value)
			return d.Commit(ctx, tx, nil)
		}},
		{"pebble", func(d *DB, k []byte) error { return d.db.Set(k, value, pebble.Sync) }},
	}
	for _, w := range []int{16, 64} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("%s/w=%d", m.name, w), func(b *testing.B) {
				d := openTest(b)
				b.ReportAllocs()
				var next atomic.Uint64
				var wg sync.WaitGroup
				var mu sync.Mutex
				var lat []time.Duration
				before := d.Stats()
				b.ResetTimer()
				cpu, csw := cputime.Process(), contextSwitches()
				for range w {
					wg.Go(func() {
						mine := make([]time.Duration, 0, b.N/w+1)
						for {
							n := next.Add(1)
							if n > uint64(b.N) {
								break
							}
							t := time.Now()
							if err := m.write(d, HitKey(1, 1, n)); err != nil {
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
				b.StopTimer()
				b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64(contextSwitches()-csw)/float64(b.N), "csw/op")
				after := d.Stats()
				if syncs := after.WALSyncs - before.WALSyncs; syncs > 0 {
					b.ReportMetric(float64(b.N)/float64(syncs), "writes/fsync")
				}
				reportLatencies(b, lat)
			})
		}
	}
}

// reportLatencies reports the p50 and p99 of lat (sorting it) in ms.
func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// contextSwitches is the process's context switches so far, voluntary and
// not, of every thread.
func contextSwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nvcsw + ru.Nivcsw
}
