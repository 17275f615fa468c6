package httpd_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"appliance/httpd"
	"appliance/httpd/admin"
	"appliance/httpd/httpdtest"
	"appliance/store"
)

// A call reported through POST /api/v1/calls reaches the endpoints of its
// site that take calls, signed, once per call (a PBX retrying its report
// adds no delivery); an endpoint that takes only leads gets nothing, and
// a call to a number no site has goes nowhere.
func TestCallWebhooks(t *testing.T) {
	f, c, key, calls, callsSrv := callHooksFixture(t)
	leadsOnly := newHookReceiver(t)
	leadsSrv := httptest.NewServer(leadsOnly)
	defer leadsSrv.Close()
	leadsOnly.secret = addHook(t, f.srv, c, key, leadsSrv.URL+"/leads")

	h, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	start := time.Now().UTC().Truncate(time.Second)
	body := `{"called":"` + num + `","caller":"79161234567","started_at":"` + start.Format(time.RFC3339) + `","duration":65,"answered":true}`
	code, raw := api(t, f, "POST", "api/v1/calls", token, body)
	if code != http.StatusOK {
		t.Fatalf("post call: %d %s", code, raw)
	}
	r := decodeResult(t, raw)
	// The PBX retries; a number no site has is stored, for no site's hooks.
	if code, raw := api(t, f, "POST", "api/v1/calls", token, body); code != http.StatusOK || decodeResult(t, raw).CallID != r.CallID {
		t.Fatalf("retried report: %d %s", code, raw)
	}
	if code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"79990001122"}`); code != http.StatusOK {
		t.Fatalf("unknown number: %d %s", code, raw)
	}

	// The deliveries were written with the call: exactly one, to the
	// endpoint that takes calls.
	var queued []store.Delivery
	f.srv.DB.ScanPrefix(context.Background(), store.DeliveryPrefix(f.site.ID), false, 0, func(k, v []byte) bool {
		id, _ := store.IDFromKey(k)
		d, err := store.DecodeDelivery(id, v)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, d)
		return true
	})
	if len(queued) != 1 || queued[0].Event != "call" || queued[0].EventID != r.CallID || queued[0].URL != callsSrv.URL+"/calls" {
		t.Fatalf("deliveries %+v, want one call delivery to %s", queued, callsSrv.URL)
	}

	var got map[string]any
	eventually(t, "the call's delivery", func() bool {
		_, byKey, bodies := calls.state()
		for k := range byKey {
			got = bodies[k]
		}
		return len(byKey) == 1
	})
	if got["event"] != "call" || got["id"] != float64(r.CallID) || got["site_key"] != key {
		t.Fatalf("delivery body %v", got)
	}
	data, _ := got["data"].(map[string]any)
	src, _ := data["source"].(map[string]any)
	if data["called"] != num || data["caller"] != "79161234567" || data["duration"] != float64(65) || data["answered"] != true ||
		data["started_at"] != start.Format(time.RFC3339) || data["attributed"] != true || data["pool"] != "ads" ||
		data["visitor_id"] != float64(h.VisitorID) || data["session_id"] != float64(h.SessionID) ||
		src["channel"] != "ad" || src["utm_source"] != "google" || src["utm_campaign"] != "winter" {
		t.Fatalf("delivery data %v", data)
	}
	if n, _, _ := leadsOnly.state(); n != 0 {
		t.Fatalf("the endpoint for leads got %d requests", n)
	}
}

// callHooksFixture is a site with pools (setUpNumbers) whose webhook
// endpoint calls, served by callsSrv, takes call events; c is the owner's
// dashboard client.
func callHooksFixture(t *testing.T) (f *trFixture, c *http.Client, key string, calls *hookReceiver, callsSrv *httptest.Server) {
	t.Helper()
	f = shopFixture(t, &trClock{now: time.Now()}, fastHooks)
	key = f.site.Key
	setUpNumbers(t, f)
	c = f.srv.Client(t)
	calls = newHookReceiver(t)
	calls.event = "call"
	callsSrv = httptest.NewServer(calls)
	t.Cleanup(callsSrv.Close)
	calls.secret = addHookFor(t, f.srv, c, key, callsSrv.URL+"/calls", "call")
	return f, c, key, calls, callsSrv
}

// A PBX that reports a call as it rings (not answered yet, no duration)
// and again as it ends: the one stored call takes the end's duration,
// answer and recording, the reports count it answered once, and the
// webhook gets the call again as it now is. A report again, or a late
// copy of the ringing one, changes nothing and sends nothing.
func TestCallReportedAgainUpdates(t *testing.T) {
	f, _, _, calls, _ := callHooksFixture(t)
	_, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc&utm_campaign=winter")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	start := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	ringing := `{"called":"` + num + `","caller":"79161234567","started_at":"` + start + `","duration":0,"answered":false}`
	ended := `{"called":"` + num + `","caller":"79161234567","started_at":"` + start + `","duration":65,"answered":true,"recording_url":"https://pbx.example.com/r/1.mp3"}`
	var id uint64
	for i, body := range []string{ringing, ended, ended, ringing} {
		code, raw := api(t, f, "POST", "api/v1/calls", token, body)
		if code != http.StatusOK {
			t.Fatalf("report %d: %d %s", i, code, raw)
		}
		r := decodeResult(t, raw)
		if i == 0 {
			id = r.CallID
		} else if r.CallID != id {
			t.Fatalf("report %d: call %d, want the first report's %d", i, r.CallID, id)
		}
	}
	b, err := f.srv.DB.Get(store.CallKey(f.site.ID, id))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.DecodeCall(id, b)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Duration != 65 || !stored.Answered || stored.RecordingURL != "https://pbx.example.com/r/1.mp3" || !stored.Attributed {
		t.Errorf("stored call %+v, want the end's duration, answer and recording, attributed", stored)
	}
	// The reports: one call, answered, on the ad's row, as counted live
	// and as a rebuild from the stored call counts it.
	for _, when := range []string{"live", "rebuilt"} {
		if when == "rebuilt" {
			if _, err := admin.InProcess(f.srv.HTTP.AdminHandler, nil).Rebuild(context.Background(), admin.Rebuild{Site: f.site.Key}, nil); err != nil {
				t.Fatal(err)
			}
		}
		code, raw := api(t, f, "GET", "api/v1/reports/sources?site="+f.site.Key+"&group=channel", token, "")
		if code != http.StatusOK {
			t.Fatalf("sources: %d %s", code, raw)
		}
		var env struct {
			Result struct {
				Rows []struct {
					Key      string `json:"key"`
					Calls    int    `json:"calls"`
					Answered int    `json:"answered_calls"`
				} `json:"rows"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(raw), &env); err != nil {
			t.Fatal(err)
		}
		if rows := env.Result.Rows; len(rows) != 1 || rows[0].Key != "ad" || rows[0].Calls != 1 || rows[0].Answered != 1 {
			t.Errorf("%s: sources by channel %+v, want the ad's one call, answered", when, rows)
		}
	}
	// Two deliveries, queued with the writes: the ringing call, then the
	// call as it ended.
	queued := 0
	f.srv.DB.ScanPrefix(context.Background(), store.DeliveryPrefix(f.site.ID), false, 0, func(k, v []byte) bool {
		queued++
		return true
	})
	if queued != 2 {
		t.Fatalf("%d deliveries queued, want 2", queued)
	}
	var bodies []map[string]any
	eventually(t, "two deliveries", func() bool {
		_, byKey, got := calls.state()
		bodies = bodies[:0]
		for k := range byKey {
			bodies = append(bodies, got[k])
		}
		return len(byKey) == 2
	})
	answered := 0
	for _, b := range bodies {
		data, _ := b["data"].(map[string]any)
		if b["id"] != float64(id) {
			t.Errorf("delivery of call %v, want %d", b["id"], id)
		}
		if data["answered"] == true && data["duration"] == float64(65) && data["recording_url"] == "https://pbx.example.com/r/1.mp3" {
			answered++
		}
	}
	if answered != 1 {
		t.Errorf("deliveries %v: want one of the call as it ended", bodies)
	}
}

// Only the kinds of events something sends are offered: the dashboard's
// boxes, and the kinds an endpoint may take.
func TestWebhookKindsOffered(t *testing.T) {
	srv := httpdtest.Start(t, fastHooks)
	key := srv.Site(t, "Shop", "shop.example.com")
	c := srv.Client(t)
	resp, err := c.Get(srv.URL + "sites/" + key + "/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var offered []string
	for _, m := range regexp.MustCompile(`name="events" value="([^"]*)"`).FindAllSubmatch(page, -1) {
		offered = append(offered, string(m[1]))
	}
	if want := []string{"lead", "callback", "call", "chat"}; !slices.Equal(offered, want) {
		t.Fatalf("kinds offered %q, want %q", offered, want)
	}
	csrf := srv.FormToken(t, c, "sites/"+key+"/webhooks")
	resp, err = c.PostForm(srv.URL+"sites/"+key+"/webhooks", map[string][]string{"csrf": {csrf}, "url": {"https://crm.example/hook"}, "events": {"sms"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`(?i)unknown event kind &#34;sms&#34;`).Match(page) {
		t.Fatalf("an endpoint for sms: %d\n%s", resp.StatusCode, page)
	}
}

// The deliveries of one call are not ordered: a retry of the ringing
// call's delivery may reach a CRM after the ended call's. Each says when
// the report that made it came, updated_at, so the CRM keeps the latest
// whatever the order they arrive in.
func TestCallDeliveriesSayWhichIsLatest(t *testing.T) {
	clock := &trClock{now: time.Now().UTC().Truncate(time.Second)}
	f := shopFixture(t, clock, fastHooks, func(o *httpd.Options) { o.Now = clock.Now })
	setUpNumbers(t, f)
	c := f.srv.Client(t)
	calls := newHookReceiver(t)
	calls.event = "call"
	callsSrv := httptest.NewServer(calls)
	defer callsSrv.Close()
	calls.secret = addHookFor(t, f.srv, c, f.site.Key, callsSrv.URL+"/calls", "call")

	_, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=google&utm_medium=cpc")
	num, _ := shownNumber(p)
	token := apiToken(t, f)
	start := clock.Now().Format(time.RFC3339)
	rang, ended := clock.Now(), clock.Now().Add(2*time.Second+250*time.Millisecond)
	for _, r := range []struct {
		at   time.Time
		body string
	}{
		{rang, `{"called":"` + num + `","caller":"79161234567","started_at":"` + start + `","duration":0,"answered":false}`},
		{ended, `{"called":"` + num + `","caller":"79161234567","started_at":"` + start + `","duration":65,"answered":true}`},
	} {
		clock.Set(r.at)
		if code, raw := api(t, f, "POST", "api/v1/calls", token, r.body); code != http.StatusOK {
			t.Fatalf("report at %s: %d %s", r.at, code, raw)
		}
	}
	var bodies []map[string]any
	eventually(t, "two deliveries", func() bool {
		_, byKey, got := calls.state()
		bodies = bodies[:0]
		for k := range byKey {
			bodies = append(bodies, got[k])
		}
		return len(byKey) == 2
	})
	byAnswer := map[bool]string{}
	for _, b := range bodies {
		data, _ := b["data"].(map[string]any)
		at, _ := data["updated_at"].(string)
		byAnswer[data["answered"] == true] = at
	}
	if got, want := byAnswer[false], rang.Format(time.RFC3339Nano); got != want {
		t.Errorf("the ringing call's updated_at %q, want %q", got, want)
	}
	if got, want := byAnswer[true], ended.Format(time.RFC3339Nano); got != want {
		t.Errorf("the ended call's updated_at %q, want %q", got, want)
	}
}
