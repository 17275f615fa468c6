//go:build linux

package httpd_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/httpdtest"
	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/internal/cputime"
	"appliance/store"
)

// BenchmarkReportsYear is a year of a busy small site — 1 M sessions,
// about 3.65 M hits, 20 k calls, 10 k leads, 2 k callbacks, 100 k events —
// in a real store, and the sources report and the timeseries over the
// whole year: through the real HTTP server from the roll-ups (p50 and p99
// of the requests, in ms), beside the same answers computed from the raw
// records (reports.Compute, in process: the HTTP around it is noise
// beside it). cpu-ms/op is the process's CPU per request (server and
// client), steadier than wall time on a shared machine.
//
// The store is built once, fast, by writing the records straight into it
// in big batches (not through the hit endpoint), then its roll-ups by
// reports.Service.Rebuild, which counts exactly as the live writes do
// (TestAttributionModels and the others check rebuilt == live). It is
// kept in $TMPDIR/appliance-bench-reports-v2 for the next run; delete it
// to build it again. It takes a few minutes and about 110 MB.
//
//	go test -run '^$' -bench BenchmarkReportsYear -benchtime 20x ./httpd/
func BenchmarkReportsYear(b *testing.B) {
	dir := filepath.Join(os.TempDir(), "appliance-bench-reports-v2")
	if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		rebuild := buildYear(b, dir)
		b.Logf("built a year in %s (roll-ups rebuilt from the raw records in %s)", time.Since(start).Round(time.Second), rebuild.Round(time.Millisecond))
		os.WriteFile(filepath.Join(dir, "ready"), []byte("v1\n"), 0o600)
	}
	srv := httpdtest.StartAt(b, dir, unlimited)
	site := srv.HTTP.Sites().List()[0]
	tok, err := accounts.New(srv.DB).CreateToken(context.Background(), "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	from, to := reports.Date(2025, 12, 1), reports.Date(2026, 11, 30)
	rangeQ := "site=" + site.Key + "&from=" + from.String() + "&to=" + to.String()
	client := &http.Client{}
	get := func(b *testing.B, path string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	for _, path := range []string{
		"api/v1/reports/sources?group=channel&" + rangeQ,
		"api/v1/reports/sources?group=campaign&model=first&" + rangeQ,
		"api/v1/reports/sources?group=landing_page&" + rangeQ,
		"api/v1/reports/timeseries?interval=day&" + rangeQ,
		"api/v1/reports/timeseries?interval=week&" + rangeQ,
	} {
		name := path[len("api/v1/reports/"):]
		name = name[:len(name)-len(rangeQ)-1]
		b.Run("rollups/"+name, func(b *testing.B) {
			get(b, path) // warm
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				t0 := time.Now()
				get(b, path)
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
			reportPercentiles(b, lat)
		})
	}
	ctx := context.Background()
	rep := reports.New(srv.DB, srv.HTTP.Sites(), reports.Options{})
	b.Run("raw/sources?group=channel", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			t0 := time.Now()
			m, err := rep.Compute(ctx, site)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Sources(ctx, srv.DB, reports.Query{Site: site, From: from, To: to, Group: reports.GroupChannel, Model: reports.ModelLastNonDirect}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportPercentiles(b, lat)
	})
	b.Run("raw/timeseries?interval=day", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			t0 := time.Now()
			m, err := rep.Compute(ctx, site)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Series(ctx, reports.SeriesQuery{Site: site, From: from, To: to, Interval: reports.DayI}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportPercentiles(b, lat)
	})
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(p float64) float64 {
		i := min(int(p*float64(len(lat))), len(lat)-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// buildYear writes a year of a busy small site into a new store in dir
// and rebuilds its roll-ups; it returns how long the rebuild took.
func buildYear(b *testing.B, dir string) time.Duration {
	ctx := context.Background()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	reg, err := sites.Open(ctx, db, nil)
	if err != nil {
		b.Fatal(err)
	}
	site, err := reg.Create(ctx, "Busy", []string{"busy.example"})
	if err != nil {
		b.Fatal(err)
	}
	if site, err = reg.SetTimeZone(ctx, site.Key, "Europe/Moscow"); err != nil {
		b.Fatal(err)
	}
	loc := reg.Location(site)
	rnd := rand.New(rand.NewPCG(1, 2))
	const (
		sessionsPerDay = 1_000_000 / 365
		days           = 365
	)
	pages := make([]string, 100)
	for i := range pages {
		pages[i] = fmt.Sprintf("https://busy.example/catalog/item-%d", i)
	}
	refs := make([]string, 50)
	for i := range refs {
		refs[i] = fmt.Sprintf("https://blog%d.example/post", i)
	}
	var visitors []uint64
	var batch []func(tx *store.Tx)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		chunk := batch
		batch = nil
		if err := db.Update(ctx, func(tx *store.Tx) error {
			for _, w := range chunk {
				w(tx)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	put := func(k, v []byte) { batch = append(batch, func(tx *store.Tx) { tx.Set(k, v) }) }
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, loc)
	n := 0
	for d := range days {
		dayStart := start.AddDate(0, 0, d)
		offsets := make([]int64, sessionsPerDay)
		for i := range offsets {
			offsets[i] = rnd.Int64N(86400_000)
		}
		slices.Sort(offsets)
		for _, off := range offsets {
			n++
			at := dayStart.UnixMilli() + off
			var v store.Visitor
			if len(visitors) > 0 && rnd.IntN(100) < 60 {
				v.ID = visitors[len(visitors)-1-rnd.IntN(min(len(visitors), 50_000))]
			} else {
				v = store.Visitor{ID: db.NextID(), Site: site.ID, Created: at, LastSeen: at}
				visitors = append(visitors, v.ID)
				put(store.VisitorKey(v.ID), v.Encode())
			}
			s := store.Session{ID: db.NextID(), Visitor: v.ID, Started: at, LastHit: at, Hits: 1, UserAgent: "Mozilla/5.0 Chrome/120.0",
				Landing: pages[rnd.IntN(len(pages))]}
			switch r := rnd.IntN(100); {
			case r < 30:
				s.Channel = "direct"
			case r < 60:
				s.Channel, s.Referrer = "organic", [...]string{"https://www.google.com/", "https://yandex.ru/"}[r%2]
			case r < 85:
				s.Channel, s.UTMSource, s.UTMMedium = "ad", [...]string{"google", "yandex"}[r%2], "cpc"
				s.UTMCampaign = "campaign-" + strconv.Itoa(rnd.IntN(40))
				s.UTMTerm = "term-" + strconv.Itoa(rnd.IntN(200))
				s.Landing += "?utm_source=" + s.UTMSource
			case r < 90:
				s.Channel, s.Referrer = "social", "https://vk.com/feed"
			default:
				s.Channel, s.Referrer = "referral", refs[rnd.IntN(len(refs))]
			}
			hits := 1 + rnd.IntN(6) // 3.5 on average
			if n%2 == 0 {
				hits = 1 + rnd.IntN(7) // 4: about 3.65 M hits in all
			}
			for h := range hits {
				hit := store.Hit{ID: db.NextID(), Session: s.ID, Time: at + int64(h)*40_000, URL: pages[rnd.IntN(len(pages))], Title: "Item"}
				put(store.HitKey(site.ID, s.ID, hit.ID), hit.Encode())
			}
			s.Hits, s.LastHit = uint32(hits), at+int64(hits-1)*40_000
			if rnd.IntN(10) == 0 {
				s.Events = 1
				ev := store.Event{ID: db.NextID(), Session: s.ID, Time: s.LastHit, Category: "cart", Action: "add"}
				put(store.EventKey(site.ID, s.ID, ev.ID), ev.Encode())
			}
			put(store.SessionKey(site.ID, s.ID), s.Encode())
			att := store.Attribution{Visitor: v.ID, Session: s.ID, PageURL: s.Landing, Source: s.TrafficSource()}
			switch r := rnd.IntN(1000); {
			case r < 10: // 1%: 10 k leads, a fifth of them sales
				l := store.Lead{ID: db.NextID(), Time: s.LastHit + 60_000, Via: "js", Name: "Ivan", Phone: "79160000000", Attribution: att}
				if rnd.IntN(5) == 0 {
					l.IsSale, l.SaleCost = true, 100*int64(1000+rnd.IntN(50_000))
				}
				put(store.LeadKey(site.ID, l.ID), l.Encode())
			case r < 30: // 2%: 20 k calls, 30% of them to a static number
				c := store.Call{ID: db.NextID(), Time: s.LastHit + 120_000, Received: s.LastHit + 180_000, Called: "74950000001",
					Caller: fmt.Sprintf("7916%07d", rnd.IntN(15_000)), Duration: 60, Answered: rnd.IntN(4) > 0, Kind: "dynamic", Attributed: true,
					Visitor: v.ID, Session: s.ID, Source: s.TrafficSource()}
				if r >= 24 {
					c.Kind, c.Visitor, c.Session, c.Source = "static", 0, 0, store.Source{Channel: "organic", UTMSource: "yandex"}
				}
				put(store.CallKey(site.ID, c.ID), c.Encode())
			case r < 32: // 0.2%: 2 k callbacks
				cb := store.Callback{ID: db.NextID(), Time: s.LastHit + 30_000, Phone: "79160000000", State: store.CallbackSent, Attribution: att}
				put(store.CallbackKey(site.ID, cb.ID), cb.Encode())
			}
			if len(batch) >= 50_000 {
				flush()
			}
		}
	}
	flush()
	if err := db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if _, err := reports.New(db, reg, reports.Options{}).Rebuild(ctx, site, nil); err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	if err := db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	return took
}
