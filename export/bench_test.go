//go:build linux

package export_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"appliance/export"
	"appliance/export/exporttest"
	"appliance/internal/cputime"
	"appliance/store"
	"appliance/store/storetest"
)

// BenchmarkExportThroughput is how fast the exporter moves a backlog of
// b.N hits into JetStream on 127.0.0.1 (a NATS server in a child process,
// file storage): each op is one event read from the store, encoded,
// published and acknowledged, the cursor moved every batch (the store
// compacted before, so that the hits' own flushes are not counted). The hits are
// marked as the tracker marks them, with the hit and its session in the
// entry. cpu-µs/op is
// this process's CPU (the exporter's), nats-cpu-µs/op the server's.
//
//	go test -run '^$' -bench BenchmarkExportThroughput -benchtime 100000x ./export/
func BenchmarkExportThroughput(b *testing.B) {
	n := exporttest.StartProcess(b, "TestBenchNATSChild")
	db := storetest.Open(b)
	db.EnableExport(store.ExportOptions{Max: uint64(b.N) + 1})
	ctx := context.Background()
	site := store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Name: "Bench"}
	sess := store.Session{ID: 2, Visitor: 3, Started: 1, LastHit: 1, Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc",
		Landing: "https://shop.example/promo?utm_source=yandex&utm_medium=cpc"}
	if err := db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.SiteKey(1), site.Encode())
		tx.Set(store.SessionKey(1, 2), sess.Encode())
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	sv := sess.Encode()
	for i := 0; i < b.N; i += 1000 {
		err := db.Update(ctx, func(tx *store.Tx) error {
			for j := i; j < min(i+1000, b.N); j++ {
				h := store.Hit{ID: uint64(100 + j), Session: 2, Time: int64(1700000000000 + j),
					URL: fmt.Sprintf("https://shop.example/catalog/item-%d", j), Title: "Кроссовки кожаные — Shop"}
				k, v := store.HitKey(1, 2, h.ID), h.Encode()
				tx.Set(k, v)
				tx.ExportValue(k, h.Time, v, sv) // as the tracker marks a hit

			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// The hits' own flushes and compactions are not the exporter's work.
	if err := db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	x, err := export.New(db, export.Options{URL: n.URL, Subject: "bench.events", Stream: "BENCH",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu, natsCPU := time.Now(), cputime.Process(), n.CPUTime()
	go func() { x.Run(rctx); close(done) }()
	if err := x.WaitDrained(ctx); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1000, "cpu-µs/op")
	b.ReportMetric(float64(n.CPUTime()-natsCPU)/float64(b.N)/1000, "nats-cpu-µs/op")
	stop()
	<-done
	if s := x.Stats(); s.Published != uint64(b.N) {
		b.Fatalf("published %d of %d", s.Published, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
}

// TestBenchNATSChild is the NATS server of BenchmarkExportThroughput, run
// only as its child process.
func TestBenchNATSChild(t *testing.T) { exporttest.ServeChild(t) }
