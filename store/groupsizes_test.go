package store

import "testing"

func TestGroupSizeBuckets(t *testing.T) {
	for _, c := range []struct{ n, bucket int }{{0, 0}, {1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {1024, 10}, {1025, 11}, {1 << 20, 11}} {
		var g groupSizes
		g.observe(c.n)
		if got := g.counts[c.bucket].Load(); got != 1 {
			t.Errorf("a group of %d: bucket %d counts %d, want 1", c.n, c.bucket, got)
		}
		if c.bucket < GroupSizeBuckets && c.n > GroupSizeBound(c.bucket) {
			t.Errorf("a group of %d in bucket %d, bound %d", c.n, c.bucket, GroupSizeBound(c.bucket))
		}
	}
}
