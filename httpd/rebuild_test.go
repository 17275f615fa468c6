package httpd_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
	"appliance/httpd/reports"
	"appliance/store"
)

// zoneMove is a site counted in UTC with one visit at 22:30 UTC on
// 2027-01-10 (01:30 on the 11th in Moscow), its zone then changed to
// Moscow: the visit stays on the 10th until the reports are recounted.
type zoneMove struct {
	srv *httpdtest.Server
	key string
}

// zoneClock is the servers' clock: the visit's time.
func zoneClock(o *httpd.Options) {
	o.Now = func() time.Time { return time.Date(2027, 1, 10, 22, 30, 0, 0, time.UTC) }
}

func newZoneMove(t *testing.T) *zoneMove {
	t.Helper()
	ctx := context.Background()
	z := &zoneMove{srv: httpdtest.Start(t, zoneClock)}
	z.key = z.srv.Site(t, "Shop", "shop.example")
	if _, err := z.srv.HTTP.Sites().SetTimeZone(ctx, z.key, "UTC"); err != nil {
		t.Fatal(err)
	}
	browserHit(t, z.srv, z.key, "https://shop.example/?utm_source=yandex&utm_medium=cpc")
	if z.sessions(t, 10) != 1 || z.sessions(t, 11) != 0 {
		t.Fatalf("in UTC: %d sessions on the 10th, %d on the 11th", z.sessions(t, 10), z.sessions(t, 11))
	}
	return z
}

// sessions is the sessions the reports count on day d of January 2027 in
// the site's zone.
func (z *zoneMove) sessions(t *testing.T, d int) int64 {
	t.Helper()
	site, err := z.srv.HTTP.Sites().ByKey(z.key)
	if err != nil {
		t.Fatal(err)
	}
	day := reports.Date(2027, 1, d)
	r, err := z.srv.HTTP.Reports().Sources(context.Background(), reports.Query{Site: site, From: day, To: day, Group: reports.GroupChannel, Model: reports.ModelLast})
	if err != nil {
		t.Fatal(err)
	}
	return r.Total.Sessions
}

// A rebuild a crash or a stop cut short (its marker left in the store)
// starts again with the server and moves the days into the new zone.
func TestReportsRebuildCutShortGoesOnAtStart(t *testing.T) {
	ctx := context.Background()
	z := newZoneMove(t)
	site, err := z.srv.HTTP.Sites().SetTimeZone(ctx, z.key, "Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	if err := z.srv.DB.Set(ctx, httpd.RebuildKey(site.ID), []byte{0}); err != nil {
		t.Fatal(err)
	}
	z.srv = z.srv.Restart(t, zoneClock)
	// The marker goes once the rebuild has written the roll-ups (bounded
	// only so that a broken build fails instead of hanging).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		_, err := z.srv.DB.Get(httpd.RebuildKey(site.ID))
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the rebuild cut short did not run again at start")
		}
	}
	if z.sessions(t, 10) != 0 || z.sessions(t, 11) != 1 {
		t.Errorf("in Moscow after the rebuild: %d sessions on the 10th, %d on the 11th; want 0 and 1", z.sessions(t, 10), z.sessions(t, 11))
	}
}

// An owner changes the site's zone on its settings page, which says the
// days counted before keep the old zone's; the "Recount reports" button
// moves them, in the background, and the page, without a reload, says
// how far it has got and when it is done.
func TestBrowserRecountReportsInNewZone(t *testing.T) {
	z := newZoneMove(t)
	z.srv.Owner(t)
	ctx := httpdtest.Browser(t)
	signInBrowser(t, ctx, z.srv, "owner@example.com", "correct horse battery")
	httpdtest.Must(t, ctx, chromedp.Navigate(z.srv.URL+"sites/"+z.key+"/settings"))
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#rebuild-form button").textContent`); got != "Recount reports in UTC" {
		t.Errorf("the recount button says %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.SetValue(chromedp.CSS(`#site-settings input[name=time_zone]`), "Europe/Moscow"))
	submit(t, ctx, `#site-settings button`)
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.HasSuffix(got, "until you recount the reports below.") {
		t.Errorf("after changing the zone the page says %q", got)
	}
	if z.sessions(t, 10) != 1 || z.sessions(t, 11) != 0 {
		t.Fatalf("before the recount, in Moscow: %d sessions on the 10th, %d on the 11th; want them where UTC counted them", z.sessions(t, 10), z.sessions(t, 11))
	}
	// The recount is held at each of its steps (the sessions counted,
	// 0 of 1, then 1 of 1) until the test lets it go on.
	steps, goOn, stop := make(chan [2]int64), make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop) }) // before the server stops: a held rebuild ends
	z.srv.HTTP.OnRebuildStep(func(done, total int64) {
		select {
		case steps <- [2]int64{done, total}:
		case <-stop:
			return
		}
		select {
		case <-goOn:
		case <-stop:
		}
	})
	submit(t, ctx, `#rebuild-form button`)
	if got := httpdtest.Eval[string](t, ctx, `location.pathname + location.hash`); got != "/sites/"+z.key+"/settings#rebuild" {
		t.Errorf("after asking for the recount at %s", got)
	}
	// The page, not reloaded (the mark stays), follows the recount: how
	// far it has got at each step, then its end, with the button back.
	httpdtest.Eval[bool](t, ctx, `window.notReloaded = true`)
	state := func() string {
		return httpdtest.Eval[string](t, ctx, `(window.notReloaded ? "" : "reloaded: ") + document.getElementById("rebuild-state").textContent.trim()`)
	}
	for _, want := range []string{"Recounting in Europe/Moscow: 0 of 1 sessions so far.", "Recounting in Europe/Moscow: 1 of 1 sessions so far."} {
		<-steps
		eventually(t, "the page to say "+want, func() bool { return state() == want })
		if httpdtest.Eval[bool](t, ctx, `!document.querySelector("#rebuild-form button").disabled`) {
			t.Errorf("the recount button works while it runs")
		}
		goOn <- struct{}{}
	}
	eventually(t, "the page to say the recount ended", func() bool { return state() == "Recounted in Europe/Moscow on 2027-01-11 01:30." })
	if httpdtest.Eval[bool](t, ctx, `document.querySelector("#rebuild-form button").disabled`) {
		t.Errorf("the recount button does not work once it ended")
	}
	if z.sessions(t, 10) != 0 || z.sessions(t, 11) != 1 {
		t.Errorf("after the recount, in Moscow: %d sessions on the 10th, %d on the 11th; want 0 and 1", z.sessions(t, 10), z.sessions(t, 11))
	}
}

// The settings page asks GET /sites/KEY/reports/rebuild for the state of
// the site's recount: none before one, the page's words once it ran; a
// site that is not there is a JSON 404.
func TestRebuildStateJSON(t *testing.T) {
	z := newZoneMove(t)
	c := z.srv.Client(t)
	state := func(key string) (int, map[string]any) {
		t.Helper()
		status, body := getPage(t, c, z.srv.URL+"sites/"+key+"/reports/rebuild")
		var out map[string]any
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("%d, not JSON: %s", status, body)
		}
		return status, out
	}
	if status, out := state(z.key); status != http.StatusOK || !reflect.DeepEqual(out["result"], map[string]any{"running": false, "text": "", "error": false}) {
		t.Errorf("before a recount: %d %v", status, out)
	}
	done := make(chan struct{})
	z.srv.HTTP.OnRebuildStep(func(d, total int64) {
		if d == total && total > 0 {
			close(done)
		}
	})
	if status, _ := submitForm(t, c, z.srv, "sites/"+z.key+"/settings", "sites/"+z.key+"/reports/rebuild", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("recount: %d", status)
	}
	<-done
	want := map[string]any{"running": false, "text": "Recounted in UTC on 2027-01-10 22:30.", "error": false}
	eventually(t, "the recount to end", func() bool { _, out := state(z.key); return reflect.DeepEqual(out["result"], want) })
	if status, out := state("NoSuchSiteKeyNoSuchSiteKey12345"); status != http.StatusNotFound || out["success"] != false {
		t.Errorf("a site that is not there: %d %v", status, out)
	}
}
