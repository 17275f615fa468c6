package httpd_test

import (
	"net/http"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/httpdtest"
)

// TestServerClock: what the server stamps with a time (a new site, a lead)
// reads Options.Now, not the wall clock.
func TestServerClock(t *testing.T) {
	at := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	srv := httpdtest.Start(t, func(o *httpd.Options) { o.Now = func() time.Time { return at } })
	key := srv.Site(t, "Shop", "shop.example")
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := site.Created, at.UnixMilli(); got != want {
		t.Errorf("site created at %s, want %s", time.UnixMilli(got).UTC(), at)
	}
	v := trackHit(t, srv, key, "", "https://shop.example/", "")
	status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{"name": "Ann"}))
	if status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	l := siteLeads(t, srv, key)
	if len(l) != 1 {
		t.Fatalf("%d leads", len(l))
	}
	if got, want := l[0].Time, at.UnixMilli(); got != want {
		t.Errorf("lead at %s, want %s", time.UnixMilli(got).UTC(), at)
	}
}
