package store

import (
	"context"
	"testing"
	"time"
)

func TestApplyWaitBuckets(t *testing.T) {
	us := time.Microsecond
	for _, c := range []struct {
		d      time.Duration
		bucket int
	}{{0, 0}, {16 * us, 0}, {17 * us, 1}, {32 * us, 1}, {33 * us, 2}, {ApplyWaitBound(11), 11}, {ApplyWaitBound(11) + 1, 12}, {time.Second, 12}} {
		var a applyWaits
		a.observe(c.d)
		if got := a.counts[c.bucket].Load(); got != 1 {
			t.Errorf("an apply of %v: bucket %d counts %d, want 1", c.d, c.bucket, got)
		}
	}
}

// TestApplyWaitQuantile checks the quantiles of the direct commits' applies
// between two Metrics, and that a hit-like prepared commit is counted.
func TestApplyWaitQuantile(t *testing.T) {
	var before, after Metrics
	after.ApplyWaits[0], after.ApplyWaits[3], after.ApplyWaits[ApplyWaitBuckets] = 98, 1, 1
	before.ApplyWaits[0] = 10
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, ApplyWaitBound(0)}, {0.99, ApplyWaitBound(3)}, {1, 2 * ApplyWaitBound(ApplyWaitBuckets-1)}} {
		if got := ApplyWaitQuantile(before, after, c.q); got != c.want {
			t.Errorf("q %v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := ApplyWaitQuantile(after, after, 0.99); got != 0 {
		t.Errorf("no applies: %v, want 0", got)
	}
	d := openTest(t)
	s0 := d.Stats()
	tx := d.Prepare()
	tx.Set(HitKey(1, 1, 1), []byte("v"))
	if err := d.Commit(context.Background(), tx, nil); err != nil {
		t.Fatal(err)
	}
	s1 := d.Stats()
	var n uint64
	for i := range s1.ApplyWaits {
		n += s1.ApplyWaits[i] - s0.ApplyWaits[i]
	}
	if n != 1 || s1.ApplyWaitTime <= s0.ApplyWaitTime || ApplyWaitQuantile(s0, s1, 0.99) == 0 {
		t.Errorf("one direct commit: %d applies counted, time %v -> %v", n, s0.ApplyWaitTime, s1.ApplyWaitTime)
	}
}
