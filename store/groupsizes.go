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
	i := 0
	if n > 1 {
		i = bits.Len(uint(n - 1)) // the smallest i with n <= 1<<i
	}
	g.counts[min(i, GroupSizeBuckets)].Add(1)
}
