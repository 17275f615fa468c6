package httpd_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"appliance/httpd/admin"
	"appliance/httpd/visits"
)

// After a site's time zone changes, the rebuild (appliance reports
// rebuild, Recount reports) moves into the new zone's days not only the
// reports but the site page's figures of today and the number pools'
// usage by day and hour (from the lease history).
func TestRebuildMovesTodayAndPoolUsage(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	ctx := context.Background()
	// 22:30 on the 26th in UTC, the site's zone so far: 01:30 on the 27th
	// in Moscow.
	f.clock.Set(time.Date(2026, 11, 26, 22, 30, 0, 0, time.UTC))
	if _, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "UTC"); err != nil {
		t.Fatal(err)
	}
	h, phones := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc")
	if n, _ := shownNumber(phones); n == "" {
		t.Fatal("the ad's visitor got no pool number")
	}
	f.hit(t, h.CI, "https://shop.example.com/contacts", "", "Contacts")
	if a := f.post(t, "t/v1/event", f.creds(h, map[string]any{"hi": h.HitID, "c": "cart", "a": "add"})); a.Status != http.StatusOK {
		t.Fatalf("event: %d %s", a.Status, a.Raw)
	}
	f.hit(t, "", "https://shop.example.com/", "https://www.google.com/", "Home")
	f.hitUA(t, botUA, "", "https://shop.example.com/", "", "Home")
	f.clock.Add(10 * time.Minute)

	site, err := f.srv.HTTP.Sites().SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f.site = site
	moscow, _ := time.LoadLocation("Europe/Moscow")
	today := time.Date(2026, 11, 27, 0, 0, 0, 0, moscow)
	c := f.srv.Client(t)
	todayFigures := func() map[string]string {
		t.Helper()
		code, body := getPage(t, c, f.srv.URL+"sites/"+f.site.Key)
		if code != http.StatusOK {
			t.Fatalf("site page: %d", code)
		}
		got := map[string]string{}
		for _, id := range []string{"today-hits", "today-sessions", "today-visitors", "today-new", "today-events", "today-bots"} {
			got[id] = strings.TrimPrefix(cutAt(body, `id="`+id+`">`, "</dd>"), `id="`+id+`">`)
		}
		got["channels"] = cutAt(body, `id="today-channels">`, "</p>")
		return got
	}
	poolDay := func(day time.Time) (claims, peak, busy int64) {
		t.Helper()
		rep, err := f.srv.HTTP.Numbers().Report(ctx, f.site.ID, day, day, f.clock.Now())
		if err != nil || len(rep) != 1 || len(rep[0].Days) != 1 {
			t.Fatalf("pool report: %v %+v", err, rep)
		}
		d := rep[0].Days[0]
		return d.Claims, d.Peak, d.BusyHour
	}
	if got := todayFigures(); got["today-hits"] != "0" {
		t.Fatalf("before the rebuild, the Moscow day already has the page views: %v", got)
	}
	if claims, _, _ := poolDay(today); claims != 0 {
		t.Fatalf("before the rebuild, the Moscow day already has the claim")
	}

	adm := admin.InProcess(f.srv.HTTP.AdminHandler, nil)
	if _, err := adm.Rebuild(ctx, admin.Rebuild{Site: f.site.Key}, nil); err != nil {
		t.Fatal(err)
	}
	got := todayFigures()
	for id, want := range map[string]string{"today-hits": "3", "today-sessions": "2", "today-visitors": "2", "today-new": "2",
		"today-events": "1", "today-bots": "1 page view"} {
		if got[id] != want {
			t.Errorf("after the rebuild, %s = %q, want %q", id, got[id], want)
		}
	}
	if !strings.Contains(got["channels"], "ad 1") || !strings.Contains(got["channels"], "organic 1") {
		t.Errorf("after the rebuild, today's sessions by source: %q", got["channels"])
	}
	if claims, peak, busy := poolDay(today); claims != 1 || peak != 1 || busy != 1 {
		t.Errorf("after the rebuild, the pool's Moscow day: %d claims, peak %d, busy hour %d; want 1, 1, 1", claims, peak, busy)
	}
	if claims, peak, _ := poolDay(today.AddDate(0, 0, -1)); claims != 0 || peak != 0 {
		t.Errorf("after the rebuild, the day before still has %d claims, peak %d", claims, peak)
	}
	// The tracker's own counters of the old day are gone with it.
	tot := f.totals(t, time.Date(2026, 11, 26, 12, 0, 0, 0, moscow))
	if tot.Hits+tot.Sessions+tot.Visitors+tot.NewVisitors+tot.Events+tot.BotHits+tot.BotSessions != 0 ||
		tot.Channels[visits.Ad] != 0 || tot.Channels[visits.Organic] != 0 {
		t.Errorf("the old day keeps %+v", tot)
	}
	// A second rebuild changes nothing.
	res, err := f.srv.HTTP.Reports().Rebuild(ctx, f.site, nil)
	if err != nil || res.Changed != 0 {
		t.Errorf("a second rebuild changed %d (%v)", res.Changed, err)
	}
}
