package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// BenchmarkDurableWrite measures one durable ~100-byte write from w
// concurrent writers: through the group-commit writer (DB.Set), and beside
// it two baselines: every write its own synced pebble commit (pebble still
// merges concurrent syncs of its WAL), and one fsync per write in turn
// (a mutex around each synced commit: what a store without group commit
// does). For each w the three run back to back, so machine noise hits them
// alike.
func BenchmarkDurableWrite(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 100)
	ctx := context.Background()
	var serial sync.Mutex
	modes := []struct {
		name  string
		write func(d *DB, k []byte) error
	}{
		{"group", func(d *DB, k []byte) error { return d.Set(ctx, k, value) }},
		{"syncEach", func(d *DB, k []byte) error { return d.db.Set(k, value, pebble.Sync) }},
		{"syncSerial", func(d *DB, k []byte) error {
			serial.Lock()
			defer serial.Unlock()
			return d.db.Set(k, value, pebble.Sync)
		}},
	}
	for _, w := range []int{1, 16, 64} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("%s/w=%d", m.name, w), func(b *testing.B) {
				d := openTest(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				var next atomic.Uint64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range w {
					wg.Go(func() {
						for {
							n := next.Add(1)
							if n > uint64(b.N) {
								return
							}
							if err := m.write(d, HitKey(1, 1, n)); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				if st := d.Stats(); st.Commits > 0 {
					b.ReportMetric(float64(st.Writes)/float64(st.Commits), "writes/sync")
				}
			})
		}
	}
}

// BenchmarkDecodeHit is the read path of reports: decoding the most
// numerous record, beside the cost of encoding it.
func BenchmarkDecodeHit(b *testing.B) {
	h := Hit{ID: 1, Session: 123456, Time: 1700000000000, URL: "https://shop.example/catalog/shoes?color=red", Title: "Red shoes"}
	enc := h.Encode()
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeHit(123456, 1, enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Encode()
		}
	})
}
