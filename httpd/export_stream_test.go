package httpd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"appliance/export"
	"appliance/export/exporttest"
	"appliance/httpd"
)

// exportTo is a server option: export to n under subject "appliance.events"
// and stream STREAM, retrying quickly.
func exportTo(n *exporttest.NATS, backlog uint64) func(*httpd.Options) {
	return func(o *httpd.Options) {
		o.Export = &export.Options{URL: n.URL, Subject: "appliance.events", Stream: "STREAM",
			Retry: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}
		o.ExportBacklog = backlog
	}
}

// waitStream waits (up to a minute: the machine is shared) until the
// stream holds want messages, then reads them all.
func waitStream(t *testing.T, n *exporttest.NATS, want int) []exporttest.Message {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for int(n.Count(t, "STREAM")) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return n.Messages(t, "STREAM")
}

// header decodes the common part of a message.
func header(t *testing.T, m exporttest.Message) export.Header {
	t.Helper()
	var h export.Header
	if err := json.Unmarshal(m.Data, &h); err != nil {
		t.Fatalf("message %d %s: %v", m.Seq, m.Data, err)
	}
	return h
}

// strict decodes m into v, failing on a field v's type does not document.
func strict(t *testing.T, m exporttest.Message, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(m.Data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("message %s: %v", m.Data, err)
	}
}

// Everything a visitor does on two sites reaches the stream once each, in
// the order it happened per site, with the documented shapes: the hit
// and the outcomes carry the session's source, subjects name site and
// kind, and every message has a dedup id.
func TestExportStream(t *testing.T) {
	n := exporttest.Start(t)
	f := shopFixture(t, &trClock{now: time.Now()}, exportTo(n, 0))
	key := f.site.Key
	setUpNumbers(t, f)
	other := &trFixture{srv: f.srv}
	okey := f.srv.Site(t, "Other", "other.example.com")
	var err error
	if other.site, err = f.srv.HTTP.Sites().ByKey(okey); err != nil {
		t.Fatal(err)
	}

	h, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter")
	o1 := other.hit(t, "", "https://other.example.com/", "https://www.google.com/", "Other")
	h2 := f.hit(t, h.CI, "https://shop.example.com/cart", "", "Cart")
	if a := f.post(t, "t/v1/event", f.creds(h2, map[string]any{"hi": h2.HitID, "c": "Cart", "a": "Add", "n": "Boots", "v": "2"})); a.Status != 200 {
		t.Fatalf("event: %d %s", a.Status, a.Raw)
	}
	if a := f.post(t, "t/v1/visitor", f.creds(h2, map[string]any{"hi": h2.HitID, "name": "Анна", "phone": "+7 912 345 67 89", "email": "anna@mail"})); a.Status != 200 {
		t.Fatalf("visitor: %d %s", a.Status, a.Raw)
	}
	o2 := other.hit(t, o1.CI, "https://other.example.com/about", "", "About")
	if a := f.post(t, "t/v1/lead", f.creds(h2, map[string]any{"hi": h2.HitID, "name": "Анна", "phone": "89123456789", "message": "Перезвоните"})); a.Status != 200 {
		t.Fatalf("lead: %d %s", a.Status, a.Raw)
	}
	num, _ := shownNumber(p)
	start := time.Now().UTC().Truncate(time.Second)
	body := `{"called":"` + num + `","caller":"79161234567","started_at":"` + start.Format(time.RFC3339) + `","duration":65,"answered":true}`
	if code, raw := api(t, f, "POST", "api/v1/calls", apiToken(t, f), body); code != http.StatusOK {
		t.Fatalf("call: %d %s", code, raw)
	}

	msgs := waitStream(t, n, 8)
	if len(msgs) != 8 {
		for _, m := range msgs {
			t.Logf("%s %s", m.Subject, m.Data)
		}
		t.Fatalf("%d messages, want 8", len(msgs))
	}
	var shop, oth []string
	ids := map[string]bool{}
	for _, m := range msgs {
		hd := header(t, m)
		if hd.V != export.SchemaVersion {
			t.Errorf("message %s: v %d", m.Data, hd.V)
		}
		if want := "appliance.events." + hd.Site + "." + hd.Kind; m.Subject != want {
			t.Errorf("subject %q, want %q", m.Subject, want)
		}
		if _, err := time.Parse(time.RFC3339Nano, hd.At); err != nil || !strings.HasSuffix(hd.At, "Z") {
			t.Errorf("at %q: %v", hd.At, err)
		}
		if m.MsgID == "" || ids[m.MsgID] {
			t.Errorf("message %s: dedup id %q empty or repeated", m.Data, m.MsgID)
		}
		ids[m.MsgID] = true
		switch hd.Site {
		case key:
			shop = append(shop, hd.Kind)
		case okey:
			oth = append(oth, hd.Kind)
		default:
			t.Errorf("message of site %q", hd.Site)
		}
		switch hd.Kind {
		case export.KindHit:
			var v export.Hit
			strict(t, m, &v)
			if hd.Site == key && v.ID == h.HitID && (v.UTMSource != "google" || v.Channel != "ad" || v.Visitor != h.VisitorID || v.Session != h.SessionID || !strings.Contains(v.URL, "/promo")) {
				t.Errorf("first hit %+v", v)
			}
			if hd.Site == okey && v.ID == o2.HitID && (v.Title != "About" || v.Channel != "organic") {
				t.Errorf("other site's hit %+v", v)
			}
		case export.KindEvent:
			var v export.Event
			strict(t, m, &v)
			if v.Hit != h2.HitID || v.Category != "Cart" || v.Action != "Add" || v.Name != "Boots" || v.Value != "2" || v.UTMCampaign != "winter" {
				t.Errorf("event %+v", v)
			}
		case export.KindVisitor:
			var v export.Visitor
			strict(t, m, &v)
			if v.ID != h.VisitorID || v.Name != "Анна" || len(v.Phones) != 1 || v.Phones[0] != "79123456789" ||
				len(v.Emails) != 0 || len(v.EmailsTyped) != 1 || v.EmailsTyped[0] != "anna@mail" {
				t.Errorf("visitor %+v", v)
			}
		case export.KindLead:
			var v export.Lead
			strict(t, m, &v)
			if v.Name != "Анна" || v.Phone != "79123456789" || v.Message != "Перезвоните" || v.UTMSource != "google" || v.Visitor != h.VisitorID || v.Hit != h2.HitID || v.SaleCost != "0.00" {
				t.Errorf("lead %+v", v)
			}
		case export.KindCall:
			var v export.Call
			strict(t, m, &v)
			if !v.Attributed || v.Caller != "79161234567" || v.Duration != 65 || v.UTMSource != "google" || v.Visitor != h.VisitorID || hd.At != start.Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("call %+v", v)
			}
		default:
			t.Errorf("unexpected %s", m.Data)
		}
	}
	if got, want := strings.Join(shop, ","), "hit,hit,event,visitor,lead,call"; got != want {
		t.Errorf("shop's messages in order: %s, want %s", got, want)
	}
	if got, want := strings.Join(oth, ","), "hit,hit"; got != want {
		t.Errorf("other site's messages: %s, want %s", got, want)
	}
	// The stream may hold a batch a moment before its acknowledgement
	// moves the cursor.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.srv.HTTP.Exporter().WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.srv.HTTP.Exporter().Stats(); s.Backlog != 0 || s.Published != 8 {
		t.Errorf("exporter stats %+v", s)
	}
}

// A call reported as it rings and again as it ends reaches the stream
// twice, under two dedup ids, the later as it ended; a third report that
// changes nothing adds nothing.
func TestExportCallReportedAgain(t *testing.T) {
	n := exporttest.Start(t)
	f := shopFixture(t, &trClock{now: time.Now()}, exportTo(n, 0))
	setUpNumbers(t, f)
	_, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	start := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	tok := apiToken(t, f)
	for _, rest := range []string{`"duration":0,"answered":false`, `"duration":65,"answered":true`, `"duration":65,"answered":true`} {
		body := `{"called":"` + num + `","caller":"79161234567","started_at":"` + start + `",` + rest + `}`
		if code, raw := api(t, f, "POST", "api/v1/calls", tok, body); code != http.StatusOK {
			t.Fatalf("call: %d %s", code, raw)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.srv.HTTP.Exporter().WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	var calls []exporttest.Message
	for _, m := range waitStream(t, n, 3) {
		if header(t, m).Kind == export.KindCall {
			calls = append(calls, m)
		}
	}
	if len(calls) != 2 || calls[0].MsgID == calls[1].MsgID {
		for _, m := range calls {
			t.Logf("%s %s", m.MsgID, m.Data)
		}
		t.Fatalf("%d call messages, want 2 under two dedup ids", len(calls))
	}
	var v export.Call
	strict(t, calls[1], &v)
	if v.Duration != 65 || !v.Answered || v.UTMSource != "google" {
		t.Errorf("the later call message %+v, want the call as it ended", v)
	}
}

// With NATS down the hits are answered as ever and wait on disk; when it
// comes back every one of them reaches the stream exactly once.
func TestExportOutage(t *testing.T) {
	n := exporttest.Start(t)
	f := shopFixture(t, nil, exportTo(n, 0))
	hits := map[uint64]bool{}
	load := func(k int) {
		var ci string
		for i := range k {
			h := f.hit(t, ci, fmt.Sprintf("https://shop.example.com/p%d", i), "", "P")
			hits[h.HitID] = true
			ci = h.CI
		}
	}
	load(50)
	waitStream(t, n, 50)
	n.Stop()
	load(200) // every hit answered (f.hit fails the test otherwise)
	if s := f.srv.HTTP.Exporter().Stats(); s.Backlog == 0 {
		t.Errorf("NATS down: stats %+v, want a backlog", s)
	}
	n.Restart(t)
	load(50)
	msgs := waitStream(t, n, len(hits))
	seen := map[uint64]int{}
	var last uint64
	for _, m := range msgs {
		var v export.Hit
		strict(t, m, &v)
		seen[v.ID]++
		if v.ID <= last {
			t.Errorf("hit %d after %d", v.ID, last)
		}
		last = v.ID
	}
	for id := range hits {
		if seen[id] != 1 {
			t.Errorf("hit %d in the stream %d times", id, seen[id])
		}
	}
	if len(msgs) != len(hits) {
		t.Errorf("%d messages for %d hits", len(msgs), len(hits))
	}
}

// The dashboard warns when the events waiting for NATS near the bound,
// and says so when events were not exported because it was full; the
// hits themselves are answered and stored all along.
func TestExportBacklogWarning(t *testing.T) {
	n := exporttest.Start(t)
	n.Stop()
	f := shopFixture(t, nil, exportTo(n, 10), func(o *httpd.Options) { o.MetricsToken = "metrics-token" })
	c := f.srv.Client(t)
	page := func() string {
		t.Helper()
		resp, err := c.Get(f.srv.URL + "sites")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	hits := func(k int) {
		var ci string
		for i := range k {
			ci = f.hit(t, ci, fmt.Sprintf("https://shop.example.com/p%d", i), "", "P").CI
		}
	}
	hits(7)
	if p := page(); strings.Contains(p, "export-warning") {
		t.Errorf("warning at 7 of 10")
	}
	hits(1)
	if p := page(); !strings.Contains(p, "The event stream to NATS is behind: 8 of at most 10 events wait on disk") {
		t.Errorf("no warning at 8 of 10")
	}
	hits(4)
	if p := page(); !strings.Contains(p, "2 events were not exported to NATS") {
		t.Errorf("no warning of the 2 events past the bound")
	}
	if s := f.srv.HTTP.Exporter().Stats(); s.Backlog != 10 || s.Dropped != 2 {
		t.Errorf("stats %+v", s)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\nappliance_export_backlog 10\n", "\nappliance_export_backlog_max 10\n", "\nappliance_export_dropped_total 2\n", "\nappliance_export_connected 0\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	n.Restart(t)
	if msgs := waitStream(t, n, 10); len(msgs) != 10 {
		t.Errorf("%d messages after NATS came back, want the 10 kept", len(msgs))
	}
}
