package store

import (
	"sync/atomic"
	"time"
)

// ApplyWaitBuckets is how many bounds the histogram of direct commits'
// applies has (Metrics.ApplyWaits): 16 µs, 32 µs, ... 32.8 ms.
const ApplyWaitBuckets = 12

// ApplyWaitBound is the longest apply, waiting for its turn included, that
// bucket i of Metrics.ApplyWaits counts: 16 µs << i.
func ApplyWaitBound(i int) time.Duration { return 16 * time.Microsecond << i }

// applyWaits counts direct commits (a hit's) by how long they took to be
// applied to the store, waiting for their turn (applyMu: the writer's
// groups and the other direct commits, one at a time) and in pebble's
// commit pipeline (its log record and memtable insert): the serial part of
// a hit, which every other hit waits behind while one takes long.
type applyWaits struct {
	counts [ApplyWaitBuckets + 1]atomic.Uint64
	total  atomic.Int64 // nanoseconds
}

func (a *applyWaits) observe(d time.Duration) {
	// In units of the first bound, rounded up: bucket i is at most 1<<i.
	unit := ApplyWaitBound(0)
	a.counts[pow2Bucket(uint64(max(d+unit-1, 0)/unit), ApplyWaitBuckets)].Add(1)
	a.total.Add(int64(d))
}

// ApplyWaitQuantile is the q quantile (0 < q ≤ 1) of the direct commits'
// applies counted in after but not in before (two Metrics of the same
// store, before taken first), as the upper bound of its bucket (twice the
// last bound for the last bucket); 0 without applies between them.
func ApplyWaitQuantile(before, after Metrics, q float64) time.Duration {
	var n uint64
	for i := range after.ApplyWaits {
		n += after.ApplyWaits[i] - before.ApplyWaits[i]
	}
	if n == 0 {
		return 0
	}
	want := uint64(q*float64(n) + 0.5)
	var c uint64
	for i := range after.ApplyWaits {
		c += after.ApplyWaits[i] - before.ApplyWaits[i]
		if c >= want && i < ApplyWaitBuckets {
			return ApplyWaitBound(i)
		}
	}
	return 2 * ApplyWaitBound(ApplyWaitBuckets-1)
}
