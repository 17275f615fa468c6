package httpd_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
	"appliance/store"
)

// okPage fetches a dashboard page (getPage) and fails unless it is a 200.
func okPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	code, page := getPage(t, c, u)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, code, page)
	}
	return page
}

// rowCell is the text of the cell of class cell in the row of id rowID,
// tags removed and spaces squeezed; it fails the test when there is none.
func rowCell(t *testing.T, page, rowID, cell string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr id="` + regexp.QuoteMeta(rowID) + `">(.*?)</tr>`).FindStringSubmatch(page)
	if row == nil {
		t.Fatalf("no row %s in\n%s", rowID, page)
	}
	m := regexp.MustCompile(`(?s)<td class="` + cell + `"[^>]*>(.*?)</td>`).FindStringSubmatch(row[1])
	if m == nil {
		t.Fatalf("row %s has no %s cell: %s", rowID, cell, row[1])
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], " ")
	return strings.Join(strings.Fields(text), " ")
}

// A lead from an ad click without utm_source shows its campaign and the
// click, not just "ad".
func TestLeadRowShowsCampaignWithoutUTMSource(t *testing.T) {
	srv := httpdtest.Start(t)
	site := srv.Site(t, "Shop", "shop.example")
	v := trackHit(t, srv, site, "", "https://shop.example/?gclid=Cj0KCQ&utm_campaign=winter_sale", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(site, v, map[string]any{"name": "Иван", "phone": "+7 916 123-45-67"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	leads := siteLeads(t, srv, site)
	if len(leads) != 1 {
		t.Fatalf("%d leads", len(leads))
	}
	got := rowCell(t, okPage(t, srv.Client(t), srv.URL+"sites/"+site+"/leads"), "lead-"+strconv.FormatUint(leads[0].ID, 10), "source")
	for _, want := range []string{"ad", "Campaign: winter_sale", "gclid"} {
		if !strings.Contains(got, want) {
			t.Errorf("source cell %q lacks %q", got, want)
		}
	}
}

// The Calls page shows the channel of calls to static and fallback
// numbers, those stored before the channel was derived from the rule too.
func TestCallsPageChannelOfStaticAndFallback(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	if _, err := f.srv.HTTP.Numbers().AddStatic(t.Context(), f.site.ID, tracking.StaticInput{Number: "74951110001",
		RuleInput: tracking.RuleInput{Rule: "utm_source=yandex&utm_medium=cpc", Priority: 5}}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	token := apiToken(t, f)
	post := func(called string) uint64 {
		t.Helper()
		code, raw := api(t, f, "POST", "api/v1/calls", token, `{"called":"`+called+`"}`)
		if code != http.StatusOK {
			t.Fatalf("call to %s: %d %s", called, code, raw)
		}
		return decodeResult(t, raw).CallID
	}
	static, fallback := post("74951110001"), post(tkFallback)
	// A call stored by an older version: its rule's tags, no channel.
	old := store.Call{ID: f.srv.DB.NextID(), Time: f.clock.Now().UnixMilli(), Received: f.clock.Now().UnixMilli(), Called: tkYandex,
		Kind: string(tracking.KindStatic), Attributed: true, Source: store.Source{UTMSource: "vk"}}
	if err := f.srv.DB.Update(t.Context(), func(tx *store.Tx) error {
		tx.Set(store.CallKey(f.site.ID, old.ID), old.Encode())
		// Its by-start entry, which store.IndexCallStarts gives such a
		// call as the server starts.
		tx.Set(store.CallStartKey(f.site.ID, old.Time, old.ID), nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	page := okPage(t, f.srv.Client(t), f.srv.URL+"sites/"+f.site.Key+"/calls")
	for _, tt := range []struct {
		id          uint64
		source      string
		attribution string
	}{
		{static, "ad Source: yandex Medium: cpc", "static number matched by static rule"},
		{fallback, "ad Medium: cpc", "not attributed"},
		{old.ID, "social Source: vk", "static number"},
	} {
		row := "call-" + strconv.FormatUint(tt.id, 10)
		if got := rowCell(t, page, row, "source"); got != tt.source {
			t.Errorf("%s source %q, want %q", row, got, tt.source)
		}
		if got := rowCell(t, page, row, "attribution"); got != tt.attribution {
			t.Errorf("%s attribution %q, want %q", row, got, tt.attribution)
		}
	}
	if !strings.Contains(page, "8 (495) 000-00-09") {
		t.Error("the fallback number is not shown formatted")
	}
}
