package visits_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"appliance/httpd/visits"
	"appliance/store"
	"appliance/store/storetest"
)

// BenchmarkBreakdowns measures the raw-record reports (top pages, events,
// visitor properties) over 7 and 30 days of a site with 1,000 sessions a
// day (3 page views each, an event in every fifth session, a property on
// every tenth visitor), 90 days stored in all: the ranges they are meant
// for. Records are written straight into the store (the tracker's own
// encodings), so that filling it takes seconds.
//
//	go test -run '^$' -bench Breakdowns -benchtime 5x ./httpd/visits/
func BenchmarkBreakdowns(b *testing.B) {
	const days, perDay = 90, 1000
	db := storetest.Open(b)
	ctx := context.Background()
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	id := uint64(1)
	for d := 0; d < days; d++ {
		err := db.Update(ctx, func(tx *store.Tx) error {
			for i := 0; i < perDay; i++ {
				t := start.AddDate(0, 0, d).Add(time.Duration(i) * 24 * time.Hour / perDay)
				sid, vid := id, id+1
				id += 10
				s := store.Session{ID: sid, Visitor: vid, Started: t.UnixMilli(), LastHit: t.UnixMilli(), Hits: 3, Channel: "organic",
					Landing: fmt.Sprintf("https://shop.example/p/%d", i%50), UserAgent: "Mozilla/5.0 Chrome/120"}
				tx.Set(store.SessionKey(1, sid), s.Encode())
				for h := uint64(0); h < 3; h++ {
					hit := store.Hit{Time: t.Add(time.Duration(h) * time.Minute).UnixMilli(), URL: fmt.Sprintf("https://shop.example/p/%d", (i+int(h))%200), Title: "Page"}
					tx.Set(store.HitKey(1, sid, sid+1+h), hit.Encode())
				}
				if i%5 == 0 {
					ev := store.Event{Hit: sid + 1, Time: t.UnixMilli(), Category: "cart", Action: "add", Name: fmt.Sprint(i % 20), Value: "10"}
					tx.Set(store.EventKey(1, sid, sid+5), ev.Encode())
				}
				if i%10 == 0 {
					p := store.Property{Name: "plan", Value: fmt.Sprint(i % 3), Updated: t.UnixMilli()}
					tx.Set(store.PropertyKey(vid, "plan"), p.Encode())
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	tr := visits.NewTracker(db, nil, "")
	end := start.AddDate(0, 0, days)
	for _, n := range []int{7, 30} {
		from := end.AddDate(0, 0, -n)
		b.Run(fmt.Sprintf("pages-%dd", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rows, err := tr.Pages(ctx, 1, from, end, 0); err != nil || len(rows) == 0 {
					b.Fatal(rows, err)
				}
			}
		})
		b.Run(fmt.Sprintf("events-%dd", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rows, err := tr.Events(ctx, 1, from, end); err != nil || len(rows) == 0 {
					b.Fatal(rows, err)
				}
			}
		})
		b.Run(fmt.Sprintf("properties-%dd", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rows, err := tr.Properties(ctx, 1, from, end); err != nil || len(rows) == 0 {
					b.Fatal(rows, err)
				}
			}
		})
	}
}
