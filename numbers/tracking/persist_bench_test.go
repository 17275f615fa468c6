package tracking

import (
	"fmt"
	"testing"
	"time"

	"appliance/store"
	"appliance/store/storetest"
)

// BenchmarkPersist is the store writer's share of page views that lease
// from a pool of 5,000 numbers (a visitor claims, or renews), on a store
// that holds 100,000 earlier leases compacted to disk, as a pool has after
// some days. Page views are Assigned as a handler does and Persisted 64 to
// a write, as the hit path's groups share a sync. writer-ns/op is the time
// inside the writes' functions: what the single writer goroutine spends per
// page view.
func BenchmarkPersist(b *testing.B) {
	for _, kind := range []string{"claim", "renew"} {
		b.Run(kind, func(b *testing.B) {
			db := storetest.Open(b)
			tr := open(b, db, t0)
			setUp(b, tr, 1)
			nums := make([]string, 5000)
			for i := range nums {
				nums[i] = fmt.Sprintf("7496%07d", i)
			}
			if _, err := tr.UpdatePool(ctx, 1, "ads", PoolInput{Name: "ads", Numbers: nums, Fallback: fallback,
				Reserve: 5 * time.Minute, RuleInput: RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, t0); err != nil {
				b.Fatal(err)
			}
			// 10 claims a second, leases of 5 minutes: about 3,000 live.
			const step = 100 * time.Millisecond
			now := t0
			visitor := uint64(1)
			var inWriter time.Duration
			batch := make([]Assignment, 0, 64)
			flush := func() {
				if err := db.Update(ctx, func(tx *store.Tx) error {
					start := time.Now()
					defer func() { inWriter += time.Since(start) }()
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
			view := func(v uint64) {
				a, err := tr.Assign(1, v, v, cpc, false, now)
				if err != nil {
					b.Fatal(err)
				}
				batch = append(batch, a)
				if len(batch) == cap(batch) {
					flush()
				}
			}
			for range 100_000 {
				now = now.Add(step)
				view(visitor)
				visitor++
			}
			flush()
			if err := db.Compact(ctx); err != nil {
				b.Fatal(err)
			}
			// The residents of the renew case: the last 3,000 claimers,
			// whose leases live.
			residents := visitor - 3000
			inWriter = 0
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				if kind == "claim" {
					now = now.Add(step)
					view(visitor)
					visitor++
				} else {
					now = now.Add(step / 30) // each resident every 10 s
					view(residents + uint64(n%3000))
				}
				n++
			}
			flush()
			b.ReportMetric(float64(inWriter.Nanoseconds())/float64(n), "writer-ns/op")
			if r, err := tr.Report(ctx, 1, now, now, now); err != nil || r[0].Live == 0 {
				b.Fatal(fmt.Sprint("report after the benchmark: ", r, err))
			}
		})
	}
}
