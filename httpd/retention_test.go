package httpd_test

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
	"appliance/store"
)

// dump is every key and value of the families named, for comparing the
// store before and after.
func dump(t *testing.T, db *store.DB, families ...byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range families {
		if err := db.ScanPrefix(t.Context(), []byte{f}, false, 0, func(k, v []byte) bool {
			out[string(k)] = string(v)
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// nonZero is the roll-ups of m (key -> value) that count anything.
func nonZero(t *testing.T, m map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range m {
		lanes, err := store.DecodeCounters([]byte(v))
		if err != nil {
			t.Fatalf("roll-up %q: %v", k, err)
		}
		if slices.ContainsFunc(lanes, func(l int64) bool { return l != 0 }) {
			out[k] = v
		}
	}
	return out
}

func sessionIDs(t *testing.T, db *store.DB, site uint32) []uint64 {
	t.Helper()
	var ids []uint64
	if err := db.ScanPrefix(t.Context(), store.SessionPrefix(site), false, 0, func(k, _ []byte) bool {
		id, _ := store.IDFromKey(k)
		ids = append(ids, id)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// A site kept 30 days, through the real server with its clock moved: the
// dry run says what would go and changes nothing; the prune deletes the
// session older than that with its page view and the lease its visitor
// held, keeps the recent session, and leaves the reports' roll-ups as
// they were.
func TestRetentionPrune(t *testing.T) {
	clock := &trClock{now: time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)}
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Now = clock.Now })
	key := srv.Site(t, "Shop", "shop.example.com")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tr := srv.HTTP.Numbers()
	if _, err := tr.SetSiteNumbers(ctx, site.ID, []string{"8 (487) 275-14-04"}, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(ctx, site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74950000001"},
		RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, clock.Now()); err != nil {
		t.Fatal(err)
	}
	adm := admin.InProcess(srv.HTTP.AdminHandler, nil)
	defer adm.Close()
	days := 30
	if s, err := adm.EditSite(ctx, admin.EditSite{Site: key, RetentionDays: &days}); err != nil || s.RetentionDays != 30 {
		t.Fatalf("set retention: %+v %v", s, err)
	}
	for _, bad := range []int{-1, 100_000} {
		if _, err := adm.EditSite(ctx, admin.EditSite{Site: key, RetentionDays: &bad}); err == nil {
			t.Errorf("retention %d taken", bad)
		}
	}
	hit := func() {
		t.Helper()
		browserHit(t, srv, key, "https://shop.example.com/?utm_medium=cpc")
	}
	hit() // 1 September: claims the pool's number
	clock.Set(clock.Now().Add(40 * 24 * time.Hour))
	hit() // 11 October: a new visitor, kept
	ids := sessionIDs(t, srv.DB, site.ID)
	if len(ids) != 2 {
		t.Fatalf("%d sessions, want 2", len(ids))
	}
	old, recent := ids[0], ids[1]

	kinds := []byte{'e', 'h', 'x', 'l', 'd', 'I', 'R', 'r', 'v'}
	before := dump(t, srv.DB, kinds...)
	rollups := dump(t, srv.DB, 'R', 'r')
	reports := dump(t, srv.DB, 'R')
	if len(rollups) == 0 {
		t.Fatal("no roll-ups to keep")
	}
	want := admin.Pruned{DryRun: true, Sessions: 1, PageViews: 1, Leases: 1}
	if got, err := adm.Prune(ctx, admin.Prune{DryRun: true}); err != nil || got != want {
		t.Fatalf("dry run: %+v %v, want %+v", got, err, want)
	}
	if after := dump(t, srv.DB, kinds...); !maps.Equal(before, after) {
		t.Fatalf("the dry run changed the store: %d records before, %d after", len(before), len(after))
	}

	want.DryRun = false
	if got, err := adm.Prune(ctx, admin.Prune{}); err != nil || got != want {
		t.Fatalf("prune: %+v %v, want %+v", got, err, want)
	}
	if _, err := srv.DB.Get(store.SessionKey(site.ID, old)); err != store.ErrNotFound {
		t.Errorf("the old session is still there (%v)", err)
	}
	if _, err := srv.DB.Get(store.SessionKey(site.ID, recent)); err != nil {
		t.Errorf("the recent session: %v", err)
	}
	for _, c := range []struct {
		what   string
		prefix []byte
		want   int
	}{
		{"old page views", store.HitPrefix(site.ID, old), 0},
		{"recent page views", store.HitPrefix(site.ID, recent), 1},
		{"lease history of the number", store.LeasePrefix("74950000001"), 2}, // the recent claim and its until
	} {
		n := 0
		srv.DB.ScanPrefix(ctx, c.prefix, false, 0, func(_, _ []byte) bool { n++; return true })
		if n != c.want {
			t.Errorf("%s: %d records, want %d", c.what, n, c.want)
		}
	}
	if after := dump(t, srv.DB, 'R', 'r'); !maps.Equal(rollups, after) {
		t.Errorf("the roll-ups changed: %d records before, %d after", len(rollups), len(after))
	}
	if got, err := adm.Prune(ctx, admin.Prune{}); err != nil || got != (admin.Pruned{}) {
		t.Errorf("a second prune: %+v %v, want nothing left", got, err)
	}

	// What the reports counted of the pruned days cannot be counted again:
	// a rebuild is refused and changes nothing, unless told to drop it.
	if _, err := adm.Rebuild(ctx, admin.Rebuild{Site: key}, nil); err == nil || !strings.Contains(err.Error(), "ended before 2026-09-11 were pruned") || !strings.Contains(err.Error(), "--drop-pruned") {
		t.Errorf("rebuild after a prune: %v, want it refused", err)
	}
	if after := dump(t, srv.DB, 'R', 'r'); !maps.Equal(rollups, after) {
		t.Errorf("the refused rebuild changed the roll-ups: %d records before, %d after", len(rollups), len(after))
	}
	if _, err := adm.Rebuild(ctx, admin.Rebuild{Site: key, DropPruned: true}, nil); err != nil {
		t.Errorf("rebuild, dropping the pruned days: %v", err)
	}
	// A row the rebuild emptied is gone, not left as zeros.
	after := dump(t, srv.DB, 'R')
	if len(after) >= len(reports) {
		t.Errorf("the rebuild that drops the pruned days kept their rows: %d report records before, %d after", len(reports), len(after))
	}
	if zero := len(after) - len(nonZero(t, after)); zero > 0 {
		t.Errorf("the rebuild left %d report rows of zeros", zero)
	}
}

// The settings page sets a site's retention; a bad one is refused with the
// form kept and nothing changed.
func TestRetentionSetting(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, "Shop", "shop.example")
	c := srv.Client(t)
	page := srv.URL + "sites/" + key + "/settings"
	form := url.Values{"csrf": {srv.FormToken(t, c, "sites/"+key+"/settings")}, "name": {"Shop"}, "domains": {"shop.example"}}
	form.Set("retention_days", "-5")
	if status, body, _ := postForm(t, c, page, form); status != http.StatusBadRequest || !strings.Contains(body, "whole number of days") || !strings.Contains(body, `value="-5"`) {
		t.Errorf("retention -5: %d\n%s", status, body)
	}
	if s, _ := srv.HTTP.Sites().ByKey(key); s.RetentionDays != 0 {
		t.Errorf("a refused retention stored %d", s.RetentionDays)
	}
	form.Set("retention_days", "400")
	if status, _, _ := postForm(t, c, page, form); status != http.StatusSeeOther {
		t.Fatalf("saving 400 days: %d", status)
	}
	if _, body := getPage(t, c, page); !strings.Contains(body, `id="retention-days" type="number" min="0" max="3660" inputmode="numeric" value="400"`) {
		t.Errorf("the settings page does not show 400 days")
	}
	if s, _ := srv.HTTP.Sites().ByKey(key); s.RetentionDays != 400 {
		t.Errorf("retention stored %d, want 400", s.RetentionDays)
	}
}
