package reports_test

import (
	"bytes"
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"appliance/httpd/leads"
	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/internal/usererr"
	"appliance/store"
	"appliance/store/storetest"
)

// fixture is the real write paths over a real store: the tracker and the
// leads service count into the reports as the server wires them; calls
// are written as the calls API writes them (the call, then CountCall, in
// one write).
type fixture struct {
	t     testing.TB
	db    *store.DB
	reg   *sites.Registry
	site  *store.Site
	rep   *reports.Service
	tr    *visits.Tracker
	leads *leads.Service
	now   time.Time
	loc   *time.Location
}

const ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"

func newFixture(t testing.TB, zone string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, db: storetest.Open(t)}
	clock := func() time.Time { return f.now }
	var err error
	if f.reg, err = sites.Open(ctx, f.db, clock); err != nil {
		t.Fatal(err)
	}
	s, err := f.reg.Create(ctx, "Shop", []string{"shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if f.site, err = f.reg.SetTimeZone(ctx, s.Key, zone); err != nil {
		t.Fatal(err)
	}
	f.loc = f.reg.Location(f.site)
	f.rep = reports.New(f.db, f.reg, reports.Options{Now: clock})
	f.tr = visits.NewTracker(f.db, clock, "")
	f.tr.CountWith(f.rep)
	f.leads = leads.New(f.db, f.tr, webhooks.New(f.db, webhooks.Options{Now: clock}), leads.Options{Now: clock, Count: f.rep.CountLead, Spam: f.rep.CountSpam})
	return f
}

// at sets the clock to a wall time of the site's zone.
func (f *fixture) at(y int, m time.Month, d, h, min int) {
	f.now = time.Date(y, m, d, h, min, 0, 0, f.loc)
}

// hit is a page view of the visitor ci names ("" for a new one) at the
// clock's time; it returns the ci after it.
func (f *fixture) hit(ci, page, ref string) visits.HitResult {
	f.t.Helper()
	res, err := f.tr.Hit(context.Background(), f.site, visits.PageView{CI: ci, URL: "https://shop.example" + page, Referrer: ref, UserAgent: ua})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) lead(h visits.HitResult, sale string) store.Lead {
	f.t.Helper()
	in := leads.Input{Name: "Ivan", Phone: "+79161234567"}
	if sale != "" {
		in.IsSale, in.SaleCost = true, sale
	}
	l, err := f.leads.Add(context.Background(), f.site, leads.Request{Visitor: h.CI.Visitor, Session: h.CI.Session, In: in, Via: leads.ViaJS})
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

// call stores a call of visitor (0: a static number's, credited to src)
// from caller at the clock's time.
func (f *fixture) call(visitor, session uint64, caller string, answered bool, src store.Source) {
	f.t.Helper()
	c := store.Call{ID: f.db.NextID(), Time: f.now.UnixMilli(), Received: f.now.UnixMilli(), Called: "74950000001",
		Caller: caller, Answered: answered, Visitor: visitor, Session: session, Attributed: visitor != 0, Source: src}
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		tx.Set(store.CallKey(f.site.ID, c.ID), c.Encode())
		return f.rep.CountCall(tx, f.site.ID, &c)
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// sources answers q from the roll-ups and from the raw records, checks
// they agree, and returns the rows by key with the total under "TOTAL".
func (f *fixture) sources(from, to reports.Day, group reports.Group, model reports.Model, filter reports.Filter) map[string]reports.Counts {
	f.t.Helper()
	ctx := context.Background()
	q := reports.Query{Site: f.site, From: from, To: to, Group: group, Model: model, Filter: filter}
	live, err := f.rep.Sources(ctx, q)
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := f.rep.Compute(ctx, f.site)
	if err != nil {
		f.t.Fatal(err)
	}
	raw, err := m.Sources(ctx, f.db, q)
	if err != nil {
		f.t.Fatal(err)
	}
	if !reflect.DeepEqual(live, raw) {
		f.t.Fatalf("%s/%s: roll-ups and raw records differ:\nroll-ups %+v\nraw      %+v", group, model, live, raw)
	}
	out := map[string]reports.Counts{"TOTAL": live.Total}
	for _, r := range live.Rows {
		out[r.Key] = r.Counts
	}
	return out
}

func (f *fixture) series(from, to reports.Day, iv reports.Interval) []reports.Point {
	f.t.Helper()
	return f.seriesOf(reports.SeriesQuery{Site: f.site, From: from, To: to, Interval: iv})
}

// seriesOf answers q from the roll-ups and from the raw records, checks
// they agree, and returns its points.
func (f *fixture) seriesOf(q reports.SeriesQuery) []reports.Point {
	f.t.Helper()
	ctx := context.Background()
	iv := q.Interval
	live, err := f.rep.Series(ctx, q)
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := f.rep.Compute(ctx, f.site)
	if err != nil {
		f.t.Fatal(err)
	}
	raw, err := m.Series(ctx, q)
	if err != nil {
		f.t.Fatal(err)
	}
	if !reflect.DeepEqual(live, raw) {
		f.t.Fatalf("series %s: roll-ups and raw records differ:\nroll-ups %+v\nraw      %+v", iv, live, raw)
	}
	return live.Points
}

// rollups is every report roll-up, touch and caller key of the store with
// its value.
func (f *fixture) rollups() map[string]string {
	out := map[string]string{}
	for _, p := range [][]byte{store.ReportSitePrefix(f.site.ID), store.CallerPrefix(f.site.ID), store.TouchKey(0)[:1]} {
		err := f.db.ScanPrefix(context.Background(), p, false, 0, func(k, v []byte) bool {
			if k[0] == 'R' {
				lanes, _ := store.DecodeCounters(v)
				n := len(lanes)
				for n > 0 && lanes[n-1] == 0 {
					n--
				}
				if n == 0 {
					return true // a row counted and taken back: as none
				}
				v = store.EncodeCounters(lanes[:n])
			}
			out[string(k)] = string(bytes.Clone(v))
			return true
		})
		if err != nil {
			f.t.Fatal(err)
		}
	}
	return out
}

// checkRebuild rebuilds the roll-ups from the raw records and checks they
// equal the live ones.
func (f *fixture) checkRebuild() {
	f.t.Helper()
	live := f.rollups()
	if len(live) == 0 {
		f.t.Fatal("no roll-ups were written")
	}
	// Its progress counts the site's sessions, up to all of them.
	var last [2]int64
	calls := 0
	if _, err := f.rep.Rebuild(context.Background(), f.site, func(done, total int64) { last, calls = [2]int64{done, total}, calls+1 }); err != nil {
		f.t.Fatal(err)
	}
	sessions := 0
	if err := f.db.ScanPrefix(context.Background(), store.SessionPrefix(f.site.ID), false, 0, func(_, _ []byte) bool { sessions++; return true }); err != nil {
		f.t.Fatal(err)
	}
	if want := [2]int64{int64(sessions), int64(sessions)}; calls < 2 || last != want {
		f.t.Errorf("rebuild progress: %d calls, the last %v; want at least 2, the last %v", calls, last, want)
	}
	if rebuilt := f.rollups(); !reflect.DeepEqual(live, rebuilt) {
		for k, v := range live {
			if rebuilt[k] != v {
				f.t.Errorf("key %q: live %x, rebuilt %x", k, v, rebuilt[k])
			}
		}
		for k := range rebuilt {
			if _, ok := live[k]; !ok {
				f.t.Errorf("key %q only rebuilt", k)
			}
		}
	}
}

var paid = "/?utm_source=yandex&utm_medium=cpc&utm_campaign=brand&utm_term=shoes"

// A visitor came from a paid ad, later came back direct, then called:
// last non-direct credits the ad, last the direct visit, first the ad.
func TestAttributionModels(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	day := reports.Date(2026, 11, 2)
	f.at(2026, 11, 2, 10, 0)
	h1 := f.hit("", paid, "")
	f.at(2026, 11, 2, 12, 0)
	h2 := f.hit(h1.CI.String(), "/contacts", "")
	if !h2.NewSession || h2.CI.Visitor != h1.CI.Visitor {
		t.Fatalf("second visit %+v", h2)
	}
	f.at(2026, 11, 2, 12, 10)
	f.call(h2.CI.Visitor, h2.CI.Session, "79161234567", true, h2.Session.TrafficSource())

	for _, tt := range []struct {
		model        reports.Model
		ad, direct   int64
		source, term string
	}{
		{reports.ModelLastNonDirect, 1, 0, "yandex", "shoes"},
		{reports.ModelLast, 0, 1, "", ""},
		{reports.ModelFirst, 1, 0, "yandex", "shoes"},
	} {
		t.Run(string(tt.model), func(t *testing.T) {
			rows := f.sources(day, day, reports.GroupChannel, tt.model, reports.Filter{})
			if got := rows["ad"].Calls; got != tt.ad {
				t.Errorf("ad calls = %d, want %d", got, tt.ad)
			}
			if got := rows["direct"].Calls; got != tt.direct {
				t.Errorf("direct calls = %d, want %d", got, tt.direct)
			}
			if got := rows["TOTAL"]; got.Calls != 1 || got.AnsweredCalls != 1 || got.FirstTimeCallers != 1 || got.Sessions != 2 || got.Visitors != 1 || got.NewVisitors != 1 {
				t.Errorf("total = %+v", got)
			}
			if ad := rows["ad"]; ad.Sessions != 1 || ad.Visitors != 1 || ad.NewVisitors != 1 {
				t.Errorf("ad row = %+v: want the session, the visitor and the new visitor", ad)
			}
			if d := rows["direct"]; d.Sessions != 1 || d.Visitors != 0 {
				t.Errorf("direct row = %+v: want its session, the visitor counted on the first session of the day", d)
			}
			src := f.sources(day, day, reports.GroupSource, tt.model, reports.Filter{})
			if src[tt.source].Calls != 1 {
				t.Errorf("sources %+v: want the call on %q", src, tt.source)
			}
			term := f.sources(day, day, reports.GroupTerm, tt.model, reports.Filter{})
			if term[tt.term].Calls != 1 {
				t.Errorf("terms %+v: want the call on %q", term, tt.term)
			}
		})
	}
	// Drill-down: the ad channel's campaigns; the direct "source" is "".
	ad := "ad"
	rows := f.sources(day, day, reports.GroupCampaign, reports.ModelLastNonDirect, reports.Filter{Channel: &ad})
	if len(rows) != 2 || rows["brand"].Sessions != 1 || rows["brand"].Calls != 1 {
		t.Errorf("campaigns of the ad channel = %+v", rows)
	}
	none := ""
	rows = f.sources(day, day, reports.GroupMedium, reports.ModelLast, reports.Filter{Source: &none})
	if rows[""].Sessions != 1 || rows[""].Calls != 1 {
		t.Errorf("mediums of sessions without a source = %+v", rows)
	}
	rows = f.sources(day, day, reports.GroupLanding, reports.ModelLast, reports.Filter{})
	if rows["/"].Sessions != 1 || rows["/contacts"].Calls != 1 {
		t.Errorf("landing pages = %+v", rows)
	}
	f.checkRebuild()
}

// Sales are leads with is_sale, revenue their sale cost; a second call of
// a caller is not a first-time caller's, nor a hidden caller's; a call to
// a static number is credited to its rule's source.
func TestSalesAndCallers(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	day := reports.Date(2026, 11, 3)
	f.at(2026, 11, 3, 9, 0)
	h := f.hit("", "/promo?utm_source=google&utm_medium=cpc", "")
	f.lead(h, "1 500,50")
	f.lead(h, "")
	f.lead(h, "2000")
	f.call(h.CI.Visitor, h.CI.Session, "79160000001", false, h.Session.TrafficSource())
	f.call(h.CI.Visitor, h.CI.Session, "79160000001", true, h.Session.TrafficSource())
	f.call(0, 0, "", true, store.Source{Channel: "organic", UTMSource: "yandex"})
	f.call(0, 0, "79160000002", false, store.Source{Channel: "organic", UTMSource: "yandex"})
	rows := f.sources(day, day, reports.GroupSource, reports.ModelLastNonDirect, reports.Filter{})
	g := rows["google"]
	if g.Leads != 3 || g.Sales != 2 || g.Revenue != 350050 || g.Calls != 2 || g.AnsweredCalls != 1 || g.FirstTimeCallers != 1 {
		t.Errorf("google = %+v", g)
	}
	y := rows["yandex"]
	if y.Calls != 2 || y.FirstTimeCallers != 1 || y.Sessions != 0 {
		t.Errorf("yandex (static number) = %+v", y)
	}
	if tot := rows["TOTAL"]; tot.Calls != 4 || tot.FirstTimeCallers != 2 || tot.Leads != 3 {
		t.Errorf("total = %+v", tot)
	}
	pts := f.series(day, day, reports.DayI)
	if len(pts) != 1 || pts[0].Leads != 3 || pts[0].Sales != 2 || pts[0].Calls != 4 || pts[0].Sessions != 1 || pts[0].Revenue != 350050 {
		t.Errorf("series = %+v", pts)
	}
	f.checkRebuild()
}

// Costs land on the rows of their source, medium and campaign (and the ad
// channel); cost per lead and ROI follow.
func TestCosts(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	day := reports.Date(2026, 11, 3)
	f.at(2026, 11, 3, 9, 0)
	h := f.hit("", paid, "")
	f.lead(h, "3000")
	f.lead(h, "")
	res, err := f.rep.ImportCosts(context.Background(), f.site, strings.NewReader(
		"date,source,medium,campaign,cost\n2026-11-03,yandex,cpc,brand,1000\n2026-11-03,yandex,cpc,brand,500\n2026-11-04,yandex,cpc,brand,99\n\n2026-11-03,google,cpc,x,250.50\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 4 || res.Rows != 3 || res.Total != 184950 {
		t.Errorf("import = %+v", res)
	}
	// The same file again replaces, not adds.
	if _, err := f.rep.ImportCosts(context.Background(), f.site, strings.NewReader("2026-11-03;yandex;cpc;brand;1500\n")); err != nil {
		t.Fatal(err)
	}
	rows := f.sources(day, day, reports.GroupSource, reports.ModelLastNonDirect, reports.Filter{})
	y := rows["yandex"]
	if y.Cost != 150000 || y.Leads != 2 || y.Revenue != 300000 {
		t.Fatalf("yandex = %+v", y)
	}
	if cpl, ok := y.CostPer(y.Leads); !ok || cpl != 75000 {
		t.Errorf("cost per lead = %v %v", cpl, ok)
	}
	if roi, ok := y.ROI(); !ok || roi != 1 {
		t.Errorf("ROI = %v %v, want 1 (3000 back for 1500)", roi, ok)
	}
	if rows["google"].Cost != 25050 || rows["TOTAL"].Cost != 175050 {
		t.Errorf("google %+v total %+v", rows["google"], rows["TOTAL"])
	}
	if ch := f.sources(day, day, reports.GroupChannel, reports.ModelFirst, reports.Filter{}); ch["ad"].Cost != 175050 {
		t.Errorf("ad channel = %+v", ch["ad"])
	}
	if lp := f.sources(day, day, reports.GroupLanding, reports.ModelFirst, reports.Filter{}); lp["TOTAL"].Cost != 175050 || lp["/"].Cost != 0 {
		t.Errorf("landing pages = %+v", lp)
	}
}

// Days are the site's: 23:30 in Moscow is that Moscow day, 00:30 the
// next (though UTC still has the day before).
func TestMoscowDays(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	f.at(2026, 11, 3, 23, 30)
	a := f.hit("", "/a", "")
	f.at(2026, 11, 4, 0, 30)
	if f.now.UTC().Day() != 3 {
		t.Fatal("00:30 Moscow should be the day before in UTC")
	}
	f.hit("", "/b", "")
	f.lead(a, "")
	d3, d4 := reports.Date(2026, 11, 3), reports.Date(2026, 11, 4)
	if r := f.sources(d3, d3, reports.GroupLanding, reports.ModelLast, reports.Filter{}); r["/a"].Sessions != 1 || r["TOTAL"].Sessions != 1 || r["TOTAL"].Leads != 0 {
		t.Errorf("Nov 3 = %+v", r)
	}
	if r := f.sources(d4, d4, reports.GroupLanding, reports.ModelLast, reports.Filter{}); r["/b"].Sessions != 1 || r["/a"].Leads != 1 || r["TOTAL"].Sessions != 1 {
		t.Errorf("Nov 4 = %+v", r)
	}
	pts := f.series(d3, d4, reports.Hour)
	if len(pts) != 48 || pts[23].Sessions != 1 || pts[24].Sessions != 1 || pts[24].Leads != 1 {
		t.Errorf("hours: %d points, 23:00 %+v, 00:00 %+v", len(pts), pts[23], pts[24])
	}
	if got := pts[23].At.Format(time.RFC3339); got != "2026-11-03T23:00:00+03:00" {
		t.Errorf("23:00 point at %s", got)
	}
	f.checkRebuild()
}

// A DST zone: the day clocks go back has 25 hours, the one they go
// forward 23; days, hours and points follow the site's clock.
func TestNewYorkDST(t *testing.T) {
	f := newFixture(t, "America/New_York")
	// 2026-11-01: 01:00-02:00 happens twice.
	first := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)  // 01:30 EDT
	second := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC) // 01:30 EST
	f.now = first
	f.hit("", "/a", "")
	f.now = second
	f.hit("", "/b", "")
	f.at(2026, 11, 1, 23, 30) // 04:30 UTC on Nov 2
	f.hit("", "/c", "")
	nov1 := reports.Date(2026, 11, 1)
	if r := f.sources(nov1, nov1, reports.GroupChannel, reports.ModelLast, reports.Filter{}); r["TOTAL"].Sessions != 3 || r["TOTAL"].Visitors != 3 {
		t.Errorf("Nov 1 = %+v", r["TOTAL"])
	}
	pts := f.series(nov1, nov1, reports.Hour)
	if len(pts) != 24 || pts[1].Sessions != 2 || pts[23].Sessions != 1 {
		t.Fatalf("%d points; 01:00 %+v; 23:00 %+v", len(pts), pts[1], pts[23])
	}
	if got := pts[2].At.Format(time.RFC3339); got != "2026-11-01T02:00:00-05:00" {
		t.Errorf("02:00 point at %s", got)
	}
	// 2026-03-08: 02:00-03:00 does not exist.
	f.at(2026, 3, 8, 23, 30)
	f.hit("", "/d", "")
	mar8 := reports.Date(2026, 3, 8)
	pts = f.series(mar8, mar8, reports.Hour)
	if len(pts) != 23 || pts[22].Sessions != 1 || pts[2].At.Hour() != 3 {
		t.Errorf("Mar 8: %d points, last %+v, third at %s", len(pts), pts[len(pts)-1], pts[2].At)
	}
	pts = f.series(reports.Date(2026, 3, 1), reports.Date(2026, 11, 30), reports.Month)
	if len(pts) != 9 || pts[0].Sessions != 1 || pts[8].Sessions != 3 || pts[8].At.Format(time.RFC3339) != "2026-11-01T00:00:00-04:00" {
		t.Errorf("months: %+v", pts)
	}
	pts = f.series(reports.Date(2026, 10, 28), reports.Date(2026, 11, 3), reports.Week)
	if len(pts) != 2 || pts[0].Sessions != 3 || pts[0].At.Weekday() != time.Monday || pts[1].Sessions != 0 {
		t.Errorf("weeks: %+v", pts)
	}
	f.checkRebuild()
}

// Every day of the range has its point, zeros included; the range's
// visitors are daily unique visitors added up.
func TestSeriesZerosAndVisitorDays(t *testing.T) {
	f := newFixture(t, "UTC")
	f.at(2026, 1, 1, 10, 0)
	h := f.hit("", "/", "")
	f.at(2026, 1, 1, 15, 0)
	f.hit(h.CI.String(), "/", "https://www.google.com/") // a second session the same day
	f.at(2026, 1, 3, 10, 0)
	f.hit(h.CI.String(), "/", "")
	pts := f.series(reports.Date(2026, 1, 1), reports.Date(2026, 1, 5), reports.DayI)
	want := []int64{2, 0, 1, 0, 0}
	for i, p := range pts {
		if p.Sessions != want[i] || p.At.Day() != i+1 {
			t.Errorf("point %d = %+v, want %d sessions", i, p, want[i])
		}
	}
	if len(pts) != 5 || pts[0].Visitors != 1 || pts[2].Visitors != 1 || pts[0].NewVisitors != 1 || pts[2].NewVisitors != 0 {
		t.Errorf("points %+v", pts)
	}
	r := f.sources(reports.Date(2026, 1, 1), reports.Date(2026, 1, 5), reports.GroupChannel, reports.ModelLastNonDirect, reports.Filter{})
	if r["TOTAL"].Visitors != 2 || r["direct"].Visitors != 2 || r["organic"].Visitors != 0 || r["organic"].Sessions != 1 {
		t.Errorf("channels %+v", r)
	}
	f.checkRebuild()
}

// A series filtered by a drill-down holds the sessions of that channel
// (source, campaign...) and the outcomes its model credits to them, day by
// day: its points add up to the sources report's row, and the unfiltered
// series still holds everything.
func TestFilteredSeries(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	d1, d2 := reports.Date(2026, 11, 2), reports.Date(2026, 11, 3)
	f.at(2026, 11, 2, 10, 0)
	h1 := f.hit("", paid, "")
	f.at(2026, 11, 2, 12, 0)
	h2 := f.hit(h1.CI.String(), "/contacts", "") // direct, the same visitor
	f.at(2026, 11, 2, 12, 10)
	f.call(h2.CI.Visitor, h2.CI.Session, "79161234567", true, h2.Session.TrafficSource())
	f.at(2026, 11, 3, 9, 0)
	f.hit("", paid, "") // another visitor from the ad
	f.hit("", "/", "https://www.google.com/")

	ad := "ad"
	for _, tt := range []struct {
		model    reports.Model
		sessions []int64
		calls    []int64
	}{
		{reports.ModelLastNonDirect, []int64{1, 1}, []int64{1, 0}},
		{reports.ModelLast, []int64{1, 1}, []int64{0, 0}},
	} {
		pts := f.seriesOf(reports.SeriesQuery{Site: f.site, From: d1, To: d2, Interval: reports.DayI, Model: tt.model, Filter: reports.Filter{Channel: &ad}})
		if len(pts) != 2 {
			t.Fatalf("%s: %d points", tt.model, len(pts))
		}
		var sum reports.Counts
		for i, p := range pts {
			if p.Sessions != tt.sessions[i] || p.Calls != tt.calls[i] {
				t.Errorf("%s: point %d = %+v, want %d sessions and %d calls", tt.model, i, p, tt.sessions[i], tt.calls[i])
			}
			sum.Sessions += p.Sessions
			sum.Calls += p.Calls
			sum.Visitors += p.Visitors
		}
		row := f.sources(d1, d2, reports.GroupChannel, tt.model, reports.Filter{})["ad"]
		if sum.Sessions != row.Sessions || sum.Calls != row.Calls || sum.Visitors != row.Visitors {
			t.Errorf("%s: the filtered points add up to %+v, the sources row is %+v", tt.model, sum, row)
		}
	}
	all := f.series(d1, d2, reports.DayI)
	if all[0].Sessions != 2 || all[1].Sessions != 2 || all[0].Calls != 1 {
		t.Errorf("unfiltered = %+v", all)
	}
	if _, err := f.rep.Series(context.Background(), reports.SeriesQuery{Site: f.site, From: d1, To: d1, Interval: reports.Hour, Filter: reports.Filter{Channel: &ad}}); err == nil {
		t.Error("a filtered hourly series was answered")
	}
}

// Bad queries are refused with a message, and unknown sites with 404.
func TestParseQueries(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	f.at(2026, 11, 26, 12, 0)
	parse := func(q string) (reports.Query, error) {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return reports.ParseSources(v, f.rep.SiteByKey, f.rep.Location, f.now)
	}
	k := "site=" + f.site.Key
	q, err := parse(k)
	if err != nil || q.From != reports.Date(2026, 10, 28) || q.To != reports.Date(2026, 11, 26) || q.Group != reports.GroupChannel || q.Model != reports.ModelLastNonDirect {
		t.Errorf("defaults = %+v %v", q, err)
	}
	q, err = parse(k + "&from=2026-01-01&to=2026-01-31&group=campaign&model=first&source=")
	if err != nil || q.Group != reports.GroupCampaign || q.Model != reports.ModelFirst || q.Filter.Source == nil || *q.Filter.Source != "" {
		t.Errorf("full = %+v %v", q, err)
	}
	for _, tt := range []struct{ q, want string }{
		{"from=2026-01-01&to=2026-01-02", "site"},
		{"site=nope&from=2026-01-01&to=2026-01-02", "no site"},
		{k + "&from=2026-02-01&to=2026-01-01", "after"},
		{k + "&from=2020-01-01&to=2025-01-01", "longer than 5 years"},
		{k + "&from=2026-01-01", "both"},
		{k + "&from=2026-1-1&to=2026-01-02", "YYYY-MM-DD"},
		{k + "&group=city", "unknown group"},
		{k + "&model=linear", "unknown model"},
		{k + "&color=red", "unknown parameter"},
		{k + "&group=channel&group=source", "2 times"},
		{k + "&group=referrer&channel=ad", "filter"},
	} {
		_, err := parse(tt.q)
		if err == nil || !strings.Contains(usererr.UserMessage(err), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.q, err, tt.want)
		}
	}
	if _, err := parse("site=nope"); err == nil || err.(interface{ Status() int }).Status() != 404 {
		t.Errorf("unknown site: %v", err)
	}
	if _, err := parse(k + "&from=2021-01-01&to=2025-12-31"); err != nil {
		t.Errorf("5 years: %v", err)
	}
	series := func(q string) (reports.SeriesQuery, error) {
		v, _ := url.ParseQuery(q)
		return reports.ParseSeries(v, f.rep.SiteByKey, f.rep.Location, f.now)
	}
	if sq, err := series(k + "&from=2026-01-01&to=2026-12-31"); err != nil || sq.Interval != reports.Week {
		t.Errorf("a year = %+v %v", sq, err)
	}
	if _, err := series(k + "&from=2026-01-01&to=2026-03-01&interval=hour"); err == nil {
		t.Error("two months of hours accepted")
	}
	if _, err := series(k + "&interval=fortnight"); err == nil {
		t.Error("unknown interval accepted")
	}
	if sq, err := series(k + "&from=2026-11-26&to=2026-11-26&channel=ad&model=first"); err != nil || sq.Interval != reports.DayI ||
		sq.Filter.Channel == nil || *sq.Filter.Channel != "ad" || sq.Model != reports.ModelFirst {
		t.Errorf("a filtered day = %+v %v: want by day, channel ad, model first", sq, err)
	}
	if _, err := series(k + "&from=2026-11-26&to=2026-11-26&channel=ad&interval=hour"); err == nil || !strings.Contains(usererr.UserMessage(err), "by day") {
		t.Errorf("a filtered hourly series: %v", err)
	}
	if _, err := series(k + "&model=linear"); err == nil {
		t.Error("unknown model accepted in a series")
	}
}

func FuzzParseSources(f *testing.F) {
	fx := newFixture(f, "Europe/Moscow")
	for _, s := range []string{"site=" + fx.site.Key, "site=" + fx.site.Key + "&from=2026-01-01&to=2026-02-01&group=term&model=first&medium=",
		"from=2026-02-30&to=x", "site=%00&group=\xff", "site=" + fx.site.Key + "&from=0001-01-01&to=9999-12-31"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		q, err := reports.ParseSources(v, fx.rep.SiteByKey, fx.rep.Location, now)
		if err != nil {
			if e, ok := err.(interface{ Status() int }); !ok || e.Status() < 400 || e.Status() > 499 {
				t.Fatalf("%q: %v is no 4xx", s, err)
			}
			return
		}
		if q.Site == nil || q.From > q.To || q.To-q.From > 5*366 {
			t.Fatalf("%q accepted as %+v", s, q)
		}
		sq, err := reports.ParseSeries(url.Values{"site": {q.Site.Key}, "from": {q.From.String()}, "to": {q.To.String()}}, fx.rep.SiteByKey, fx.rep.Location, now)
		if err != nil || sq.From != q.From || sq.To != q.To {
			t.Fatalf("series of %+v: %+v %v", q, sq, err)
		}
	})
}

func FuzzParseCosts(f *testing.F) {
	for _, s := range []string{"date,source,medium,campaign,cost\n2026-11-03,yandex,cpc,brand,1000\n",
		"2026-11-03;yandex;cpc;brand;1 500,50\n", "\"2026-11-03\",\"a,b\",\"\",\"\",\"1\"\n", "x\n\"", "2026-13-01,a,b,c,1\n", "\xef\xbb\xbfdate\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := reports.ParseCosts(strings.NewReader(s))
		if err != nil {
			if !strings.Contains(err.Error(), "invalid report query") && !strings.Contains(usererr.UserMessage(err), "cost file") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if len(lines) == 0 {
			t.Fatalf("%q: no lines, no error", s)
		}
		for _, l := range lines {
			if l.Line < 1 || l.Source == "" || l.Amount < 0 {
				t.Fatalf("%q: line %+v", s, l)
			}
		}
	})
}

// A bad cost file says which lines are wrong and stores nothing.
func TestCostFileErrors(t *testing.T) {
	f := newFixture(t, "UTC")
	_, err := f.rep.ImportCosts(context.Background(), f.site, strings.NewReader(
		"date,source,medium,campaign,cost\n2026-11-03,yandex,cpc,brand,1000\n2026-13-03,yandex,cpc,brand,1\n2026-11-03,,cpc,x,1\n2026-11-03,a,b,c,-5\n2026-11-03,a,b\n"))
	msg := usererr.UserMessage(err)
	for _, want := range []string{"nothing imported", "line 3: date", "line 4: source is empty", "line 5: cost \"-5\"", "line 6: 3 fields, want 5"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	n := 0
	f.db.ScanPrefix(context.Background(), store.CostPrefix(f.site.ID), false, 0, func(k, v []byte) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d costs stored from a bad file", n)
	}
}

// A chat is counted in the write that opens it (as the chats service
// does) and credited like every outcome; a rebuild reads it back.
func TestChats(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	day := reports.Date(2026, 11, 3)
	f.at(2026, 11, 3, 9, 0)
	h := f.hit("", paid, "")
	ch := store.Chat{ID: f.db.NextID(), Site: f.site.ID, Created: f.now.UnixMilli(),
		Attribution: store.Attribution{Visitor: h.CI.Visitor, Session: h.CI.Session, Source: h.Session.TrafficSource()}}
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		tx.Set(store.ChatKey(f.site.ID, ch.ID), ch.Encode())
		return f.rep.CountChat(tx, f.site, ch.Attribution, ch.Created)
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := f.sources(day, day, reports.GroupCampaign, reports.ModelFirst, reports.Filter{})
	if rows["brand"].Chats != 1 || rows["TOTAL"].Chats != 1 || rows["TOTAL"].Outcomes() != 1 {
		t.Errorf("campaigns = %+v", rows)
	}
	f.checkRebuild()
}

// A returning visitor's sessions are counted from the touch the tracker
// remembers of the visitor's last session, or from the store when it
// remembers none (evicted, restarted: Forget): both write the same touches
// and the same roll-ups, which the raw records agree with.
func TestTouchRememberedOrRead(t *testing.T) {
	touches := map[bool]store.Touch{}
	var rollups map[string]string
	for _, forget := range []bool{false, true} {
		f := newFixture(t, "Europe/Moscow")
		visit := func(ci, page string) visits.HitResult {
			if forget {
				f.tr.Forget()
			}
			return f.hit(ci, page, "")
		}
		f.at(2026, 11, 2, 10, 0)
		first := visit("", paid)
		f.at(2026, 11, 2, 12, 0)
		direct := visit(first.CI.String(), "/contacts")
		f.at(2026, 11, 3, 9, 0)
		back := visit(direct.CI.String(), "/?utm_source=google&utm_medium=cpc&utm_campaign=autumn")
		f.at(2026, 11, 3, 9, 5)
		same := visit(back.CI.String(), "/shoes")
		if !direct.NewSession || !back.NewSession || same.NewSession || back.CI.Visitor != first.CI.Visitor {
			t.Fatalf("forget %v: sessions %+v %+v %+v %+v", forget, first.CI, direct.CI, back.CI, same.CI)
		}
		b, err := f.db.Get(store.TouchKey(first.CI.Visitor))
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.DecodeTouch(b)
		if err != nil {
			t.Fatal(err)
		}
		want := store.Touch{First: first.CI.Session, Last: back.CI.Session, LastNonDirect: back.CI.Session, LastStarted: back.Session.Started}
		if got != want {
			t.Errorf("forget %v: touch %+v, want %+v", forget, got, want)
		}
		touches[forget] = got
		f.sources(reports.Date(2026, 11, 2), reports.Date(2026, 11, 3), reports.GroupChannel, reports.ModelFirst, reports.Filter{})
		// Both stores are fresh, so the ids, touches and roll-ups match.
		live := f.rollups()
		if rollups == nil {
			rollups = live
		} else if !reflect.DeepEqual(live, rollups) {
			t.Errorf("roll-ups with the touch read from the store differ from those with it remembered:\n%v\n%v", live, rollups)
		}
		f.checkRebuild()
	}
}

// A lead marked spam leaves the reports, from the rows it was counted on
// (the visitor's sessions as they were when it came, not a later visit's),
// and comes back when the mark is taken off; the roll-ups agree with a
// rebuild from the raw records at each step.
func TestSpamLeadsLeaveTheReports(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	ctx := context.Background()
	day := reports.Date(2026, 11, 4)
	f.at(2026, 11, 4, 10, 0)
	h1 := f.hit("", paid, "")
	spam := f.lead(h1, "900")
	f.at(2026, 11, 4, 13, 0)
	h2 := f.hit(h1.CI.String(), "/contacts", "")
	if !h2.NewSession {
		t.Fatal("want a second, direct session")
	}
	f.lead(h2, "")
	check := func(what string, yandex, direct, revenue int64) {
		t.Helper()
		rows := f.sources(day, day, reports.GroupChannel, reports.ModelLast, reports.Filter{})
		if rows["ad"].Leads != yandex || rows["direct"].Leads != direct || rows["TOTAL"].Leads != yandex+direct || rows["TOTAL"].Revenue != reports.Money(revenue) {
			t.Errorf("%s: ad %+v, direct %+v, total %+v", what, rows["ad"], rows["direct"], rows["TOTAL"])
		}
		if pts := f.series(day, day, reports.DayI); len(pts) != 1 || pts[0].Leads != yandex+direct {
			t.Errorf("%s: series %+v", what, pts)
		}
		f.checkRebuild()
	}
	check("before", 1, 1, 90000)
	for _, step := range []struct {
		status                  string
		yandex, direct, revenue int64
	}{
		{leads.StatusSpam, 0, 1, 0},
		{leads.StatusSpam, 0, 1, 0}, // marked spam again: taken out once
		{leads.StatusDone, 1, 1, 90000},
		{leads.StatusProgress, 1, 1, 90000},
		{leads.StatusSpam, 0, 1, 0},
		{leads.StatusNew, 1, 1, 90000},
	} {
		if _, err := f.leads.Mark(ctx, f.site.ID, spam.ID, step.status, "", "owner"); err != nil {
			t.Fatal(err)
		}
		check("marked "+step.status, step.yandex, step.direct, step.revenue)
	}
}

// A callback request marked spam leaves the callbacks column the same way
// (through the mark's write, as the callbacks service does it).
func TestSpamCallbacksLeaveTheReports(t *testing.T) {
	f := newFixture(t, "Europe/Moscow")
	ctx := context.Background()
	day := reports.Date(2026, 11, 5)
	f.at(2026, 11, 5, 10, 0)
	h := f.hit("", paid, "")
	cb := store.Callback{ID: f.db.NextID(), Time: f.now.UnixMilli(), Phone: "79161234567", PhoneRaw: "+7 916 123-45-67"}
	cb.Visitor, cb.Session, cb.Source = h.CI.Visitor, h.CI.Session, h.Session.TrafficSource()
	err := f.db.Update(ctx, func(tx *store.Tx) error {
		tx.Set(store.CallbackKey(f.site.ID, cb.ID), cb.Encode())
		return f.rep.CountCallback(tx, f.site, &cb)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		status string
		want   int64
	}{{leads.StatusNew, 1}, {leads.StatusSpam, 0}, {leads.StatusDone, 1}} {
		m := store.Mark{Status: step.status, By: "owner", Time: f.now.UnixMilli()}
		if err := f.db.Update(ctx, func(tx *store.Tx) error {
			return leads.WriteMark(ctx, tx, f.site.ID, store.MarkCallback, cb.ID, &m, false, f.rep.CountSpam)
		}); err != nil {
			t.Fatal(err)
		}
		if got := f.sources(day, day, reports.GroupChannel, reports.ModelLast, reports.Filter{})["ad"].Callbacks; got != step.want {
			t.Errorf("marked %s: %d callbacks on the ad row, want %d", step.status, got, step.want)
		}
		f.checkRebuild()
	}
}

// A site counted in UTC moves to Moscow's zone and its reports are
// rebuilt while it keeps taking hits, leads and calls: what came in during
// the rebuild (before its replay read the records, and after) stays
// counted on top of the rebuilt days, which are Moscow's.
func TestRebuildWhileLive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "UTC")
	// 22:30 UTC on the 2nd is 01:30 on the 3rd in Moscow.
	f.at(2026, 11, 2, 22, 30)
	h := f.hit("", paid, "")
	f.lead(h, "500")
	f.call(h.CI.Visitor, h.CI.Session, "79160000001", true, h.Session.TrafficSource())
	f.at(2026, 11, 2, 10, 0)
	f.hit("", "/", "https://www.google.com/")
	utc2, utc3 := reports.Date(2026, 11, 2), reports.Date(2026, 11, 3)
	if got := f.sources(utc2, utc2, reports.GroupChannel, reports.ModelLast, reports.Filter{})["TOTAL"]; got.Sessions != 2 || got.Leads != 1 || got.Calls != 1 {
		t.Fatalf("in UTC, the 2nd: %+v", got)
	}

	site, err := f.reg.SetTimeZone(ctx, f.site.Key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f.site, f.loc = site, f.reg.Location(site)
	// The site goes on: at the rebuild's first word (before its replay
	// reads the records) and at its last (after), a new visitor from an
	// ad leaves a lead, the first visitor comes back and calls.
	live := func() {
		f.at(2026, 11, 3, 15, 0)
		v := f.hit("", "/?utm_source=vk&utm_medium=cpc", "")
		f.lead(v, "")
		back := f.hit(h.CI.String(), "/contacts", "")
		f.call(back.CI.Visitor, back.CI.Session, "79160000001", false, back.Session.TrafficSource())
	}
	var calls int
	var last [2]int64
	res, err := f.rep.Rebuild(ctx, f.site, func(done, total int64) {
		if calls++; done == 0 || done == total {
			live()
		}
		last = [2]int64{done, total}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed == 0 || last[0] != last[1] {
		t.Errorf("rebuild %+v, progress %v", res, last)
	}
	// The roll-ups agree with the raw records in Moscow's days (sources
	// checks them against a replay): the 2nd keeps the 10:00 visit, the
	// 3rd has the 01:30 one with its lead and call, and what came during
	// the rebuild, twice over (the first visitor's second return at 15:00
	// continues the session of their first).
	msk2 := f.sources(utc2, utc2, reports.GroupChannel, reports.ModelLast, reports.Filter{})["TOTAL"]
	msk3 := f.sources(utc3, utc3, reports.GroupChannel, reports.ModelLast, reports.Filter{})["TOTAL"]
	if msk2.Sessions != 1 || msk2.Leads != 0 || msk2.Calls != 0 {
		t.Errorf("the 2nd in Moscow: %+v, want the one session of 13:00", msk2)
	}
	if msk3.Sessions != 4 || msk3.Leads != 3 || msk3.Calls != 3 {
		t.Errorf("the 3rd in Moscow: %+v, want 4 sessions, 3 leads, 3 calls", msk3)
	}
	f.series(utc2, utc3, reports.DayI)
	// No row is left for what moved to other days.
	if rows := f.sources(utc2, utc2, reports.GroupSource, reports.ModelLast, reports.Filter{}); len(rows) != 2 {
		t.Errorf("sources of the 2nd: %v, want google's row and the total", rows)
	}
	f.checkRebuild()
}
