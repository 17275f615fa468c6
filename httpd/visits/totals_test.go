package visits_test

import (
	"context"
	"testing"
	"time"

	"appliance/httpd/visits"
	"appliance/store"
	"appliance/store/storetest"
)

// A day's sessions by channel are the traffic roll-up's channel lanes
// plus what the older "c" roll-up holds for that day (written before the
// channels joined the traffic's lanes), and a session continued by later
// hits reads with all its hits.
func TestDayChannelsOldAndNew(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	site := &store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Domains: []string{"shop.example"}}
	now := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	tr := visits.NewTracker(db, func() time.Time { return now }, "")
	// As a version before wrote them: 2 organic, 1 ad.
	day := uint32(now.Unix() / 86400)
	if err := db.Update(ctx, func(tx *store.Tx) error {
		tx.AddLanes(store.RollupKey(site.ID, day, visits.MetricChannels), []int64{2, 0, 0, 0, 1})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a, err := tr.Hit(ctx, site, visits.PageView{URL: "https://shop.example/?utm_source=google&utm_medium=cpc", Title: "t", UserAgent: chromeUA})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		now = now.Add(time.Minute)
		if _, err := tr.Hit(ctx, site, visits.PageView{CI: a.CI.String(), URL: "https://shop.example/p", Title: "t", UserAgent: chromeUA}); err != nil {
			t.Fatalf("hit %d: %v", i, err)
		}
	}
	if _, err := tr.Hit(ctx, site, visits.PageView{URL: "https://shop.example/", Referrer: "https://www.google.com/", Title: "t", UserAgent: chromeUA}); err != nil {
		t.Fatal(err)
	}
	tot, err := tr.Day(site, now)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Channels[visits.Organic] != 3 || tot.Channels[visits.Ad] != 2 || tot.Channels[visits.Direct] != 0 {
		t.Errorf("channels %v; want organic 3, ad 2", tot.Channels)
	}
	if tot.Hits != 5 || tot.Sessions != 2 || tot.NewVisitors != 2 {
		t.Errorf("totals %+v; want 5 hits, 2 sessions, 2 new visitors", tot)
	}
	// The session as stored (its record and the tails of the hits that
	// continued it), read cold by a second tracker.
	v, err := visits.NewTracker(db, nil, "").Visit(ctx, site.ID, a.CI.Session)
	if err != nil {
		t.Fatal(err)
	}
	if s := v.Session; len(v.Pages) != 4 || s.Hits != 4 || s.LastHit != now.UnixMilli() || s.Channel != string(visits.Ad) {
		t.Errorf("session %+v with %d pages; want 4 hits, the last now, from an ad", s, len(v.Pages))
	}
}
