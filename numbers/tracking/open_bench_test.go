package tracking

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"appliance/internal/cputime"
	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

// BenchmarkOpen is start-up with 16 sites of one pool of 5,000 numbers
// each, every number leased (the most there is to restore), the store
// compacted. heap-B/number is what the tracker keeps in memory per pool
// number once open (after a GC), leases included; cpu-ns/op the CPU time
// of the process during Open, which on a shared machine says more than
// the wall time. history reads every number's last lease from the
// history; sealed, the leases a clean shutdown sealed (Tracker.Seal).
func BenchmarkOpen(b *testing.B) {
	const sites, size = 16, 5000
	db := storetest.Open(b)
	tr := open(b, db, t0)
	for s := range uint32(sites) {
		site := s + 1
		if _, err := tr.SetSiteNumbers(ctx, site, []string{fmt.Sprintf("+7 487 275-%02d-04", s)}, t0); err != nil {
			b.Fatal(err)
		}
		nums := make([]string, size)
		for i := range nums {
			nums[i] = fmt.Sprintf("7496%02d%05d", s, i)
		}
		if _, err := tr.AddPool(ctx, site, PoolInput{Name: "ads", Numbers: nums, Reserve: time.Hour}, t0); err != nil {
			b.Fatal(err)
		}
		batch := make([]Assignment, 0, 500)
		for v := range uint64(size) {
			a, err := tr.Assign(site, uint64(site)<<32|v+1, v+1, numbers.Visit{Channel: "direct"}, false, t0)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, a)
			if len(batch) == cap(batch) || v == size-1 {
				if err := db.Update(ctx, func(tx *store.Tx) error {
					for i := range batch {
						if err := batch[i].Persist(tx); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	// As a clean shutdown leaves the store: the leases sealed last.
	if err := tr.Seal(ctx, t0); err != nil {
		b.Fatal(err)
	}
	tr = nil
	now := t0.Add(time.Minute)
	for _, sealed := range []bool{false, true} {
		name := "history"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			var heap uint64
			var cpu time.Duration
			b.ReportAllocs()
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				start := cputime.Process()
				t, err := openTracker(ctx, db, now, numbers.DefaultRegion, nil, sealed)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cputime.Process() - start
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				if t.sealed != sealed {
					b.Fatalf("opened from sealed leases: %v, want %v", t.sealed, sealed)
				}
				if r, err := t.Report(ctx, 1, now, now, now); err != nil || r[0].Live != size {
					b.Fatalf("after open: %d live, %v; want %d", r[0].Live, err, size)
				}
				runtime.KeepAlive(t)
			}
			b.ReportMetric(float64(heap)/(sites*size), "heap-B/number")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
