package visits

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"appliance/store"
	"appliance/store/storetest"
)

// BenchmarkHitDiskBytes writes 1,000,000 synthetic page views of a busy
// site (10,000 a day for 100 days; sessions of 1 to 8 pages, a third of
// visitors returning) through the endpoint's own code (preparePageView and
// hitTx: the same keys, records and roll-ups), compacts the store and
// reports the bytes on disk per hit. Hits are batched 1,000 visitors to an
// Update so that it takes a minute, not a million fsyncs. Run it alone:
//
//	go test -run '^$' -bench HitDiskBytes -benchtime 1x ./httpd/visits/
func BenchmarkHitDiskBytes(b *testing.B) {
	const (
		total     = 1_000_000
		perDay    = 10_000
		cohort    = 1_000 // visitors per batch: one hit each per Update
		returning = 3     // one visitor in returning is a returning one
	)
	db := storetest.Open(b)
	site := &store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Domains: []string{"shop.example.com"}}
	tr := NewTracker(db, nil, "")
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var old []CI // visitors of earlier cohorts, some of whom come back
	hits, sessions := 0, 0
	b.ResetTimer()
	for hits < total {
		type visitor struct {
			ci    CI
			pages int
			src   [2]string // landing query and referrer
		}
		vs := make([]visitor, cohort)
		cohortHits := 0
		for i := range vs {
			vs[i].pages = 1 + r.IntN(4) + r.IntN(4)*r.IntN(2) // 1..8, mean about 3
			if len(old) > 0 && r.IntN(returning) == 0 {
				vs[i].ci = old[r.IntN(len(old))]
			}
			vs[i].src = synthSource(r)
			cohortHits += vs[i].pages
		}
		sessions += cohort
		// The cohort's sessions start spread over the time its hits take at
		// 10,000 a day; a session's pages are a minute or two apart.
		span := time.Duration(float64(24*time.Hour) * float64(cohortHits) / perDay)
		for page := 0; page < 8 && hits < total; page++ {
			err := db.Update(ctx, func(tx *store.Tx) error {
				for i := range vs {
					v := &vs[i]
					if page >= v.pages || hits >= total {
						continue
					}
					pv := PageView{URL: synthURL(r), Title: synthTitle(r), UserAgent: synthUA(r)}
					if v.ci != (CI{}) {
						pv.CI = v.ci.String()
					}
					if page == 0 {
						pv.URL += v.src[0]
						pv.Referrer = v.src[1]
					} else {
						pv.Referrer = "https://shop.example.com/"
					}
					p, err := preparePageView(site, pv)
					if err != nil {
						return err
					}
					p.bot = tr.bots.Get(p.ua, IsBot)
					at := now.Add(span*time.Duration(i)/cohort + time.Duration(page)*90*time.Second)
					res, _, err := tr.hitTx(tx, site.ID, &p, &activeVisitor{}, at, time.UTC)
					if err != nil {
						return err
					}
					v.ci = res.CI
					hits++
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, v := range vs {
			if len(old) < 100_000 {
				old = append(old, v.ci)
			} else {
				old[r.IntN(len(old))] = v.ci
			}
		}
		now = now.Add(span + time.Hour)
	}
	if err := db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	size := db.DiskSize()
	b.ReportMetric(float64(size)/float64(hits), "B/hit")
	b.ReportMetric(float64(hits)/float64(sessions), "hits/session")
	b.Logf("%d hits in %d sessions over %s: %d bytes on disk after compaction", hits, sessions, now.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Round(24*time.Hour), size)
}

var (
	benchCategories = [...]string{"shoes", "boots", "sneakers", "bags", "belts", "hats", "socks", "jackets", "coats", "shirts",
		"dresses", "skirts", "jeans", "gloves", "scarves", "watches", "glasses", "wallets", "umbrellas", "sale"}
	benchWords = [...]string{"Кроссовки", "Ботинки", "Сумка", "Ремень", "Куртка", "Пальто", "Рубашка", "Платье", "Джинсы",
		"Перчатки", "кожаные", "зимние", "летние", "женские", "мужские", "чёрные", "красные", "синие", "Nike", "Ecco"}
	benchUAs = [...]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	}
)

func synthURL(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return "https://shop.example.com/"
	case 1:
		return "https://shop.example.com/cart"
	case 2:
		return fmt.Sprintf("https://shop.example.com/search?q=%s", benchCategories[r.IntN(len(benchCategories))])
	}
	return fmt.Sprintf("https://shop.example.com/catalog/%s/item-%d?color=%d", benchCategories[r.IntN(len(benchCategories))], r.IntN(5000), r.IntN(8))
}

func synthTitle(r *rand.Rand) string {
	return fmt.Sprintf("%s %s %s — купить в интернет-магазине Shop", benchWords[r.IntN(10)], benchWords[10+r.IntN(10)], benchWords[10+r.IntN(10)])
}

func synthUA(r *rand.Rand) string { return benchUAs[r.IntN(len(benchUAs))] }

// synthSource is a landing query and a referrer: direct, organic, social,
// referral and ads in the shares of a typical shop.
func synthSource(r *rand.Rand) [2]string {
	switch r.IntN(10) {
	case 0, 1:
		return [2]string{"", ""}
	case 2, 3:
		return [2]string{"", "https://yandex.ru/"}
	case 4:
		return [2]string{"", "https://www.google.com/"}
	case 5:
		return [2]string{"", "https://vk.com/"}
	case 6:
		return [2]string{"", fmt.Sprintf("https://blog%d.example.org/review", r.IntN(50))}
	case 7, 8:
		return [2]string{fmt.Sprintf("?utm_source=yandex&utm_medium=cpc&utm_campaign=autumn-%d&yclid=%d", r.IntN(5), r.Uint64()>>12), "https://yandex.ru/"}
	}
	return [2]string{fmt.Sprintf("?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=EAIaIQobChMI%x", r.Uint64()), "https://www.google.com/"}
}
