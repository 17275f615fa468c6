package store

import (
	"context"
	"testing"
	"time"
)

// The log's sync histogram counts every sync, and SyncQuantile reads the
// syncs between two snapshots of it.
func TestSyncQuantile(t *testing.T) {
	d := openTest(t)
	before := d.Stats()
	for i := range 5 {
		if err := d.Set(context.Background(), HitKey(1, 1, uint64(i+1)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	// The sync gate counts a sync before it answers the writes it covers:
	// one each.
	after := d.Stats()
	var gate uint64
	for r := range after.GateSyncs {
		gate += after.GateSyncs[r] - before.GateSyncs[r]
	}
	if gate != 5 || after.GateSyncTime <= before.GateSyncTime {
		t.Fatalf("the gate led %d syncs (%v) for 5 writes in turn, want 5", gate, after.GateSyncTime-before.GateSyncTime)
	}
	// Pebble's log writer observes a sync's latency after it has released
	// the sync's waiters: the fifth may not be in the histogram yet.
	for deadline := time.Now().Add(10 * time.Second); after.WALSyncs-before.WALSyncs < 5; after = d.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%d log syncs for 5 writes in turn, want at least 5", after.WALSyncs-before.WALSyncs)
		}
		time.Sleep(time.Millisecond)
	}
	if n := len(after.WALSyncBuckets); n == 0 || after.WALSyncBuckets[n-1].Count > after.WALSyncs {
		t.Fatalf("buckets %v for %d syncs", after.WALSyncBuckets, after.WALSyncs)
	}
	if q := SyncQuantile(before, after, 0.99); q <= 0 {
		t.Fatalf("p99 of the syncs: %v", q)
	}

	ms := time.Millisecond
	at := func(counts ...uint64) Metrics {
		m := Metrics{}
		for i, c := range counts {
			m.WALSyncBuckets = append(m.WALSyncBuckets, LatencyBucket{time.Duration(i+1) * ms, c})
			m.WALSyncs = c
		}
		return m
	}
	// 100 syncs before: all within 1 ms; 100 after them: 50 within 1 ms,
	// 40 more within 2 ms, 9 within 3, 1 within 4.
	b, a := at(100, 100, 100, 100), at(150, 190, 199, 200)
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, ms}, {0.9, 2 * ms}, {0.99, 3 * ms}, {1, 4 * ms}} {
		if got := SyncQuantile(b, a, c.q); got != c.want {
			t.Errorf("q %v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := SyncQuantile(a, a, 0.99); got != 0 {
		t.Errorf("no syncs between: %v, want 0", got)
	}
}
