package httpd_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"appliance/httpd/httpdtest"
	"appliance/httpd/leads"
	"appliance/internal/cputime"
	"appliance/store"
)

// BenchmarkSiteSearch is a site with 100,000 leads, 100,000 calls and
// 20,000 callbacks (names, Russian messages, phones, emails, sources and
// landing pages as a busy small business has them) and its search through
// the real HTTP server, signed in as the owner: by a phone written as a
// person says it, by an email, by a word of a name or message, by a
// lead's number, and a search that finds nothing (the whole scan, no
// rows). The baseline, in the same run, is the leads page of the same
// site (its newest 500 rows), which owners already open daily.
// cpu-ms/op is the process's CPU per request, client included.
//
// The store is built once, by writing the records straight into it
// (not through the endpoints), and kept in
// $TMPDIR/appliance-bench-search-v1 for the next run; delete it to build it
// again.
//
//	go test -run '^$' -bench BenchmarkSiteSearch -benchtime 20x ./httpd/
func BenchmarkSiteSearch(b *testing.B) {
	dir := filepath.Join(os.TempDir(), "appliance-bench-search-v1")
	if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		buildSearchSite(b, dir)
		b.Logf("built the site in %s", time.Since(start).Round(time.Second))
		os.WriteFile(filepath.Join(dir, "ready"), []byte("v1\n"), 0o600)
	}
	srv := httpdtest.StartAt(b, dir, unlimited)
	site := srv.HTTP.Sites().List()[0]
	c := srv.Client(b)
	get := func(b *testing.B, path string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	var lead store.Lead
	srv.DB.ScanPrefix(b.Context(), store.LeadPrefix(site.ID), true, 1, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		lead, _ = store.DecodeLead(id, v)
		return false
	})
	base := "sites/" + site.Key + "/"
	for _, bc := range []struct{ name, path string }{
		{"baseline-leads-page", base + "leads"},
		{"phone", base + "search?q=" + url.QueryEscape("8 (916) 555-12-34")},
		{"email", base + "search?q=" + url.QueryEscape("IVAN.SMIRNOV77@MAIL.RU")},
		{"word", base + "search?q=" + url.QueryEscape("смирнов")},
		{"lead-id", base + "search?q=" + strconv.FormatUint(lead.ID, 10)},
		{"nothing", base + "search?q=" + url.QueryEscape("zzqx")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			get(b, bc.path) // warm
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				t0 := time.Now()
				get(b, bc.path)
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
			reportPercentiles(b, lat)
		})
	}
}

// buildSearchSite writes the benchmark's site into a new store in dir.
func buildSearchSite(b *testing.B, dir string) {
	srv := httpdtest.StartAt(b, dir, unlimited)
	defer srv.Stop()
	key := srv.Site(b, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"Иван", "Анна", "Сергей", "Мария", "Алексей", "Ольга", "Дмитрий", "Елена", "John", "Kate"}
	last := []string{"Смирнов", "Иванова", "Кузнецов", "Попова", "Васильев", "Петрова", "Соколов", "Михайлова", "Smith", "Brown"}
	msgs := []string{"Перезвоните, пожалуйста, после обеда", "Сколько стоит доставка в Тверь?", "Нужен счёт на оплату для юрлица",
		"Хочу записаться на пятницу", "Есть ли в наличии размер 42?", "", "Please call me back tomorrow"}
	phone := func() (string, string) {
		n := 9_000_000_000 + rng.Int64N(999_999_999)
		d := "7" + strconv.FormatInt(n, 10)
		return d, fmt.Sprintf("8 (%s) %s-%s-%s", d[1:4], d[4:7], d[7:9], d[9:])
	}
	src := func() store.Source {
		return store.Source{Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "winter-sale-" + strconv.Itoa(rng.IntN(20)),
			Landing: "https://shop.example/catalog/item-" + strconv.Itoa(rng.IntN(5000)) + "?utm_source=yandex&utm_medium=cpc"}
	}
	const leadsN, callsN, callbacksN, batch = 100_000, 100_000, 20_000, 5_000
	start := time.Now().Add(-365 * 24 * time.Hour).UnixMilli()
	step := int64(365*24*time.Hour/time.Millisecond) / leadsN
	for i := 0; i < leadsN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				d, raw := phone()
				f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
				email := fmt.Sprintf("user%d@example.ru", j)
				if j%1000 == 7 {
					d, raw, email = "79165551234", "+7 916 555-12-34", "ivan.smirnov77@mail.ru"
				}
				ld := store.Lead{ID: srv.DB.NextID(), Time: start + int64(j)*step, Via: "js", Name: f + " " + l, Email: email, EmailRaw: email,
					Phone: d, PhoneRaw: raw, Message: msgs[rng.IntN(len(msgs))], FormName: "Заявка",
					Attribution: store.Attribution{Visitor: srv.DB.NextID(), Session: srv.DB.NextID(), PageURL: "https://shop.example/contacts", Source: src()}}
				leads.Put(tx, site.ID, &ld)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < callsN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				d, _ := phone()
				if j%1000 == 3 {
					d = "79165551234"
				}
				t := start + int64(j)*step
				c := store.Call{ID: srv.DB.NextID(), Time: t, Received: t + 1000, Called: "74951112233", Caller: d, Duration: uint32(rng.IntN(600)),
					Answered: rng.IntN(5) > 0, Kind: "dynamic", Attributed: true, Visitor: srv.DB.NextID(), Session: srv.DB.NextID(), Source: src(), Match: store.MatchLease}
				tx.Set(store.CallKey(site.ID, c.ID), c.Encode())
				tx.Set(store.CallStartKey(site.ID, c.Time, c.ID), nil)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < callbacksN; i += batch {
		if err := srv.DB.Update(b.Context(), func(tx *store.Tx) error {
			for j := i; j < i+batch; j++ {
				d, raw := phone()
				cb := store.Callback{ID: srv.DB.NextID(), Time: start + int64(j)*step*5, Phone: d, PhoneRaw: raw,
					Attribution: store.Attribution{Visitor: srv.DB.NextID(), PageURL: "https://shop.example/", Source: src()}}
				tx.Set(store.CallbackKey(site.ID, cb.ID), cb.Encode())
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.DB.Compact(b.Context()); err != nil {
		b.Fatal(err)
	}
}
