package store

import (
	"math/bits"
	"sync/atomic"
)

// GroupSizeBuckets is how many bounds the commit-group size histogram has
// (Metrics.GroupSizes): 1, 2, 4, ... 1024 writes.
const GroupSizeBuckets = 11

// GroupSizeBound is the largest group, in writes, that bucket i of
// Metrics.GroupSizes counts: 1 << i.
func GroupSizeBound(i int) int { return 1 << i }

// groupSizes counts synced groups by their number of writes, for the
// histogram /metrics shows: how many callers share one fsync.
type groupSizes struct {
	counts [GroupSizeBuckets + 1]atomic.Uint64
}

func (g *groupSizes) observe(n int) {
	g.counts[pow2Bucket(uint64(max(n, 0)), GroupSizeBuckets)].Add(1)
}

// pow2Bucket is the bucket of n in a histogram whose bucket i counts
// what is at most 1<<i and more than the bound before (the first, at
// most 1), the last of its buckets+1 what is larger than every bound:
// the smallest i with n <= 1<<i, at most buckets.
func pow2Bucket(n uint64, buckets int) int {
	if n <= 1 {
		return 0
	}
	return min(bits.Len64(n-1), buckets)
}
