package reports_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"appliance/httpd/leads"
	"appliance/httpd/reports"
	"appliance/httpd/visits"
	"appliance/store"
)

// A random history of a Berlin shop over the days its clocks go back:
// visitors from many sources coming back, crawlers, events, leads and
// sales, spam marks set and taken off, calls (some reported late, some
// answered later). Whatever happened, the live roll-ups answer every
// grouping, model and interval as the raw records do, and a rebuild
// writes what the live writes wrote.
func TestRandomHistoryAgreesWithRawRecords(t *testing.T) {
	for seed := range uint64(3) {
		f := newFixture(t, "Europe/Berlin")
		randomHistory(t, f, rand.New(rand.NewPCG(seed, 42)))
		from, to := reports.Date(2026, 10, 23), reports.Date(2026, 10, 27)
		for _, g := range reports.Groups() {
			for _, m := range reports.Models() {
				f.sources(from, to, g, m, reports.Filter{})
			}
		}
		ad := "ad"
		f.sources(from, to, reports.GroupTerm, reports.ModelFirst, reports.Filter{Channel: &ad})
		for _, iv := range []reports.Interval{reports.Hour, reports.DayI, reports.Week, reports.Month} {
			f.series(from, to, iv)
		}
		f.checkRebuild()
	}
}

func randomHistory(t *testing.T, f *fixture, r *rand.Rand) {
	ctx := context.Background()
	pages := []string{
		"/", "/?utm_source=google&utm_medium=cpc&utm_campaign=bf&utm_term=sofa", "/?utm_source=google&utm_medium=cpc&utm_campaign=bf",
		"/?utm_source=yandex&utm_medium=cpc", "/promo?gclid=abc", "/sofas", "/?utm_source=vk&utm_medium=social",
	}
	refs := []string{"", "", "https://www.google.com/", "https://news.example.org/a", "https://vk.com/"}
	var hits []visits.HitResult
	var leadIDs []uint64
	var calls []store.Call
	spam := map[uint64]bool{}
	f.now = time.Date(2026, 10, 23, 20, 0, 0, 0, f.loc)
	for range 400 {
		f.now = f.now.Add(time.Duration(r.IntN(40)) * time.Minute)
		switch n := r.IntN(20); {
		case n < 8 || len(hits) == 0: // a page view: a new visitor, or one coming back
			ci, agent := "", ua
			if len(hits) > 0 && r.IntN(2) == 0 {
				ci = hits[r.IntN(len(hits))].CI.String()
			}
			if r.IntN(10) == 0 {
				agent = "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"
			}
			res, err := f.tr.Hit(ctx, f.site, visits.PageView{CI: ci, URL: "https://shop.example" + pages[r.IntN(len(pages))],
				Referrer: refs[r.IntN(len(refs))], UserAgent: agent})
			if err != nil {
				t.Fatal(err)
			}
			hits = append(hits, res)
		case n < 10:
			h := hits[r.IntN(len(hits))]
			if _, err := f.tr.Event(ctx, f.site, h.CI, visits.EventIn{Hit: h.Hit, Category: "cart", Action: "add"}); err != nil {
				t.Fatal(err)
			}
		case n < 13:
			sale := ""
			if r.IntN(3) == 0 {
				sale = "1500"
			}
			leadIDs = append(leadIDs, f.lead(hits[r.IntN(len(hits))], sale).ID)
		case n < 14 && len(leadIDs) > 0:
			id := leadIDs[r.IntN(len(leadIDs))]
			status := leads.StatusSpam
			if spam[id] {
				status = leads.StatusDone
			}
			spam[id] = !spam[id]
			if _, err := f.leads.Mark(ctx, f.site.ID, id, status, "", "owner"); err != nil {
				t.Fatal(err)
			}
		case n < 18: // a call: a visitor's, late or not, or a static number's
			c := store.Call{ID: f.db.NextID(), Time: f.now.UnixMilli(), Received: f.now.UnixMilli(), Called: "74950000001",
				Caller: []string{"", "79160000001", "79160000002", "79160000003"}[r.IntN(4)], Answered: r.IntN(2) == 0}
			if r.IntN(3) == 0 {
				c.Time -= int64(r.IntN(300)) * int64(time.Minute/time.Millisecond)
			}
			switch r.IntN(3) {
			case 0:
				h := hits[r.IntN(len(hits))]
				c.Visitor, c.Session, c.Attributed, c.Match, c.Source = h.CI.Visitor, h.CI.Session, true, store.MatchLease, h.Session.TrafficSource()
			case 1:
				h := hits[r.IntN(len(hits))]
				c.Kind, c.Visitor, c.Attributed, c.Match = "static", h.CI.Visitor, true, store.MatchStaticCallerID
				c.Source = store.Source{Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc"}
			}
			err := f.db.Update(ctx, func(tx *store.Tx) error {
				tx.Set(store.CallKey(f.site.ID, c.ID), c.Encode())
				return f.rep.CountCall(tx, f.site.ID, &c)
			})
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, c)
		case len(calls) > 0: // a later report: the call was answered
			i := r.IntN(len(calls))
			prev := calls[i]
			if prev.Answered {
				continue
			}
			now := prev
			now.Answered = true
			err := f.db.Update(ctx, func(tx *store.Tx) error {
				tx.Set(store.CallKey(f.site.ID, now.ID), now.Encode())
				return f.rep.CountCallChange(tx, f.site.ID, &prev, &now)
			})
			if err != nil {
				t.Fatal(err)
			}
			calls[i] = now
		}
	}
}
