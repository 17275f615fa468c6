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

const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

// breakdownFixture is a site with visits over three days, through the real
// tracker: each figure of the breakdowns below is counted by hand.
type breakdownFixture struct {
	tr   *visits.Tracker
	site *store.Site
	now  time.Time
	day  time.Time // 2026-11-10 00:00 UTC, the day the reports ask for
}

func (f *breakdownFixture) hit(t *testing.T, ci, url, ua string) visits.HitResult {
	t.Helper()
	res, err := f.tr.Hit(context.Background(), f.site, visits.PageView{CI: ci, URL: url, Title: "t", UserAgent: ua})
	if err != nil {
		t.Fatalf("hit %s: %v", url, err)
	}
	return res
}

func newBreakdownFixture(t *testing.T) *breakdownFixture {
	ctx := context.Background()
	db := storetest.Open(t)
	f := &breakdownFixture{site: &store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Domains: []string{"shop.example"}},
		day: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)}
	f.tr = visits.NewTracker(db, func() time.Time { return f.now }, "")

	// The day before: one visitor, not counted.
	f.now = f.day.Add(-2 * time.Hour)
	f.hit(t, "", "https://shop.example/old", chromeUA)

	// The day: visitor A lands on / from an ad, views /cart twice, sends
	// two events with values; B lands on /cart?utm_source=x (the same page)
	// and sends one; a bot views /, which counts nowhere.
	f.now = f.day.Add(9 * time.Hour)
	a := f.hit(t, "", "https://shop.example/?utm_source=google&utm_medium=cpc", chromeUA)
	f.now = f.now.Add(time.Minute)
	a2 := f.hit(t, a.CI.String(), "https://shop.example/cart", chromeUA)
	f.now = f.now.Add(time.Minute)
	f.hit(t, a.CI.String(), "https://SHOP.example/cart#top", chromeUA)
	for _, v := range []string{"10", "2,5"} {
		if _, err := f.tr.Event(ctx, f.site, a.CI, visits.EventIn{Hit: a2.Hit, Category: "cart", Action: "add", Name: "sku-1", Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.tr.SetProperty(ctx, f.site, a.CI, "Plan", "pro"); err != nil {
		t.Fatal(err)
	}
	f.now = f.day.Add(12 * time.Hour)
	b := f.hit(t, "", "https://shop.example/cart?utm_source=x", chromeUA)
	if _, err := f.tr.Event(ctx, f.site, b.CI, visits.EventIn{Hit: b.Hit, Category: "cart", Action: "add", Name: "sku-1", Value: "free"}); err != nil {
		t.Fatal(err)
	}
	if err := f.tr.SetProperty(ctx, f.site, b.CI, "plan", "pro"); err != nil {
		t.Fatal(err)
	}
	f.hit(t, "", "https://shop.example/", "Googlebot/2.1 (+http://www.google.com/bot.html)")

	// The day after: A comes back; not counted either.
	f.now = f.day.Add(30 * time.Hour)
	f.hit(t, a.CI.String(), "https://shop.example/cart", chromeUA)
	return f
}

func TestBreakdowns(t *testing.T) {
	f := newBreakdownFixture(t)
	ctx := context.Background()
	start, end := f.day, f.day.Add(24*time.Hour)

	pages, err := f.tr.Pages(ctx, f.site.ID, start, end, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(pages), "[{shop.example/cart 3 2 1} {shop.example/ 1 1 1}]"; got != want {
		t.Errorf("pages %s, want %s", got, want)
	}

	events, err := f.tr.Events(ctx, f.site.ID, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(events), "[{cart add sku-1 3 2 12.5 2}]"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}

	props, err := f.tr.Properties(ctx, f.site.ID, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(props), "[{Plan pro 2}]"; got != want {
		t.Errorf("properties %s, want %s", got, want)
	}

	// A period with no sessions has no rows.
	for _, d := range []time.Time{f.day.AddDate(0, 0, -30), f.day.AddDate(0, 0, 30)} {
		pages, err := f.tr.Pages(ctx, f.site.ID, d, d.Add(24*time.Hour), 0)
		if err != nil || len(pages) != 0 {
			t.Errorf("pages of %s: %v, %v", d, pages, err)
		}
	}
	// Another site's period is empty.
	if pages, err := f.tr.Pages(ctx, 2, start, end, 0); err != nil || len(pages) != 0 {
		t.Errorf("pages of site 2: %v, %v", pages, err)
	}
}

func TestPageKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://Shop.Example/a/b?utm_source=x#f": "shop.example/a/b",
		"https://shop.example":                    "shop.example/",
		"https://shop.example/%D0%BA%D0%BE%D1%82": "shop.example/%D0%BA%D0%BE%D1%82",
		"not a url": "not a url",
	} {
		if got := visits.PageKey(in); got != want {
			t.Errorf("PageKey(%q) = %q, want %q", in, got, want)
		}
	}
}
