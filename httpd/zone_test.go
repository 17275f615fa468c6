package httpd_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/chats"
	"appliance/numbers/tracking"
)

// The leads list, its day filter and its CSV are in the site's time zone:
// a lead at 20:30 UTC on 1 December is on 2 December in Vladivostok
// (UTC+10), in the table, in the filter and in the export; a Russian
// reader sees the date as Russians write it.
func TestLeadsInSiteTimeZone(t *testing.T) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC))
	if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, f.v, map[string]any{"name": "Иван"})); status != http.StatusOK {
		t.Fatalf("lead: %d %v", status, out)
	}
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/leads"
	_, body := getPage(t, c, page)
	for _, want := range []string{"2026-12-02 06:30:00", "(Asia/Vladivostok)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the leads page lacks %q", want)
		}
	}
	if strings.Contains(body, "20:30:00") {
		t.Errorf("the leads page shows the UTC time")
	}
	for day, want := range map[string]bool{"2026-12-02": true, "2026-12-01": false} {
		_, body := getPage(t, c, page+"?from="+day+"&to="+day)
		if got := strings.Contains(body, "Иван"); got != want {
			t.Errorf("filter %s: lead listed %v, want %v", day, got, want)
		}
	}
	_, csv := getPage(t, c, f.srv.URL+"sites/"+f.key+"/leads.csv")
	if !strings.Contains(csv, "2026-12-02T06:30:00+10:00") {
		t.Errorf("the CSV lacks the site's time:\n%s", csv)
	}
	if _, body := getPageIn(t, c, page, "ru"); !strings.Contains(body, "02.12.2026 06:30:00") || !strings.Contains(body, "<h1>Заявки</h1>") {
		t.Errorf("in Russian the leads page lacks 02.12.2026 06:30:00 or its title:\n%s", body)
	}
}

// The numbers page writes a pool's days and live leases in the site's
// time zone and names it: a lease claimed at 20:30 UTC on 1 December is
// claimed on 2 December at 06:30 in Vladivostok (UTC+10), and lives to
// 06:50. Before, the page wrote the leases in UTC and headed the days,
// which were already the site's, "Day (UTC)".
func TestNumbersPageInSiteTimeZone(t *testing.T) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)
	f.clock.Set(now)
	tr := f.srv.HTTP.Numbers()
	if _, err := tr.SetSiteNumbers(context.Background(), f.site.ID, []string{"8 (423) 222-33-44"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddPool(context.Background(), f.site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74232000011", "74232000012"},
		Reserve: 20 * time.Minute, RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, now); err != nil {
		t.Fatal(err)
	}
	sweepHit(t, f.srv, f.key, visit{}, "https://shop.example/?utm_source=yandex&utm_medium=cpc", "", "Page")
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/numbers"
	for lang, want := range map[string][]string{
		"en": {"<th>Day <small>(Asia/Vladivostok)</small></th>", "<td>2026-12-02</td><td>1</td>",
			"<td>2026-12-02 06:30:00</td><td>2026-12-02 06:50:00</td>"},
		"ru": {"<th>День <small>(Asia/Vladivostok)</small></th>", "<td>02.12.2026</td><td>1</td>",
			"<td>02.12.2026 06:30:00</td><td>02.12.2026 06:50:00</td>"},
	} {
		_, body := getPageIn(t, c, page, lang)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the numbers page lacks %s", lang, w)
			}
		}
		if strings.Contains(body, "UTC") || strings.Contains(body, "20:30:00") {
			t.Errorf("%s: the numbers page writes UTC times for a site in Vladivostok", lang)
		}
	}
}

// The site's chat page lists finished chats in the site's time zone, as
// the reader's language writes times, and says how each ended and from
// which channel in that language: a chat begun at 20:30 UTC on
// 1 December began on 2 December at 06:30 in Vladivostok. Before, the
// page wrote UTC and the raw words "visitor" and "ad" on a Russian page.
// Its CSV export writes the same times as the leads export does, RFC 3339
// in the site's zone (it wrote them in UTC).
func TestChatsPageInSiteTimeZone(t *testing.T) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	site, err := f.srv.HTTP.Sites().ByKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC))
	v := chats.Visitor{Site: site, Visitor: f.v.VisitorID, Session: f.v.SessionID, Page: "https://shop.example/"}
	ack, err := f.srv.HTTP.Chats().Send(context.Background(), v, "m1", "Здравствуйте")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 12, 1, 20, 45, 0, 0, time.UTC))
	if _, err := f.srv.HTTP.Chats().Close(context.Background(), site.ID, ack.Chat.ID, f.v.VisitorID, chats.ClosedByVisitor); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/chat"
	for lang, want := range map[string][]string{
		"en": {"<th>Began <small>(Asia/Vladivostok)</small></th>", ">2026-12-02 06:30:00</td>", "2026-12-02 06:45:00", "closed by the visitor", `<span class="tag">ad</span>`},
		"ru": {"<th>Начат <small>(Asia/Vladivostok)</small></th>", ">02.12.2026 06:30:00</td>", "02.12.2026 06:45:00", "закрыл посетитель", `<span class="tag">реклама</span>`},
	} {
		_, body := getPageIn(t, c, page, lang)
		if !strings.Contains(body, `id="chat-`) {
			t.Fatalf("%s: the chat page lists no chat:\n%s", lang, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the chat page lacks %s", lang, w)
			}
		}
		if strings.Contains(body, "(UTC)") || strings.Contains(body, "20:30") {
			t.Errorf("%s: the chat page writes UTC times for a site in Vladivostok", lang)
		}
	}
	_, csv := getPage(t, c, f.srv.URL+"sites/"+f.key+"/chats.csv")
	if !strings.Contains(csv, ",2026-12-02T06:30:00+10:00,2026-12-02T06:45:00+10:00,") || !strings.Contains(csv, "[2026-12-02 06:30:00] Visitor: Здравствуйте") ||
		strings.Contains(csv, "20:30") {
		t.Errorf("the chats CSV does not write the site's time:\n%s", csv)
	}
}

// The numbers page writes a pool's mean hold in the reader's language
// ("20 min", "20 мин"); it wrote Go's "20m0s" on every page.
func TestNumbersPageMeanHoldInWords(t *testing.T) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Numbers().AddPool(context.Background(), f.site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"74232000011"},
		Reserve: 20 * time.Minute, RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	for lang, want := range map[string]string{"en": "<dd>20 min</dd>", "ru": "<dd>20\u00a0мин</dd>"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/numbers", lang)
		if !strings.Contains(body, want) || strings.Contains(body, "20m0s") {
			t.Errorf("%s: the numbers page does not write the mean hold as %s", lang, want)
		}
	}
}

// A call's length is written in words in the reader's language on the
// calls page, the visitor's card and the sites page's calls to unknown
// numbers, as the numbers page writes a mean hold: "1 h 2 min", "1 мин
// 5 с"; they wrote "3725 s". The CSV keeps the seconds.
func TestCallDurationsInWords(t *testing.T) {
	f := newTrFixture(t, true)
	setUpNumbers(t, f)
	h, p := f.hitPhones(t, "", "", "https://shop.example.com/promo?utm_source=yandex&utm_medium=cpc")
	number, _ := shownNumber(p)
	tok := apiToken(t, f)
	for _, body := range []string{`{"called":"` + number + `","caller":"79161234567","answered":true,"duration":65}`,
		`{"called":"74950000999","caller":"79161234568","answered":true,"duration":3725}`} {
		if code, raw := api(t, f, "POST", "api/v1/calls", tok, body); code != http.StatusOK {
			t.Fatalf("call: %d %s", code, raw)
		}
	}
	c := f.srv.Client(t)
	for lang, want := range map[string][2]string{"en": {"1 min 5 s", "1 h 2 min"}, "ru": {"1\u00a0мин 5\u00a0с", "1\u00a0ч 2\u00a0мин"}} {
		for page, w := range map[string]string{"sites/" + f.site.Key + "/calls": want[0],
			"sites/" + f.site.Key + "/visitors/" + strconv.FormatUint(h.VisitorID, 10): want[0], "sites": want[1]} {
			_, body := getPageIn(t, c, f.srv.URL+page, lang)
			if !strings.Contains(body, w) || strings.Contains(body, ">65 ") || strings.Contains(body, ">3725 ") {
				t.Errorf("%s %s: the call's length is not written %q", lang, page, w)
			}
		}
	}
	if _, csv := getPage(t, c, f.srv.URL+"sites/"+f.site.Key+"/calls.csv"); !strings.Contains(csv, ",65,true,") {
		t.Errorf("the calls CSV lost the seconds:\n%s", csv)
	}
}

// The calls page's "30 days" are the site's last 30 days, today
// included, as the reports' "30 days" are, also when its zone changed
// clocks since: at 00:30 on 9 March in New York (summer time since the
// 8th) they begin on 8 February. Before, the page went back 29 times 24
// hours from the server's clock (UTC) and read the day that fell on,
// 7 February 23:30 in New York, and counted a call of that 31st day; the
// numbers page's 7 days were 8 the same way.
func TestCallsPageThirtyDaysAcrossDST(t *testing.T) {
	f := newCBFixture(t)
	if _, err := f.srv.HTTP.Sites().SetTimeZone(t.Context(), f.key, "America/New_York"); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if _, err := f.srv.HTTP.Numbers().SetSiteNumbers(t.Context(), f.site.ID, []string{"+1 212 555 0100"}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	tok, err := accounts.New(f.srv.DB).CreateToken(t.Context(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	for caller, at := range map[string]time.Time{
		"12125550001": time.Date(2026, 2, 7, 23, 30, 0, 0, ny), // the 31st day back: not counted
		"12125550002": time.Date(2026, 2, 8, 0, 30, 0, 0, ny),  // the 30th
		"12125550003": time.Date(2026, 3, 9, 0, 10, 0, 0, ny),  // today
	} {
		f.clock.Set(at)
		postCall(t, f.srv, tok, `{"called":"12125550100","caller":"`+caller+`","answered":true,"duration":5}`)
	}
	f.clock.Set(time.Date(2026, 3, 9, 4, 30, 0, 0, time.UTC)) // 00:30 in New York; the server runs in UTC
	if _, err := f.srv.HTTP.Numbers().AddPool(t.Context(), f.site.ID, tracking.PoolInput{Name: "ads", Numbers: []string{"12125550111", "12125550112"},
		Reserve: 20 * time.Minute, RuleInput: tracking.RuleInput{Rule: "utm_medium=cpc"}}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client(t)
	// So are the numbers page's 7 days: 3 to 9 March.
	_, body := getPage(t, c, f.srv.URL+"sites/"+f.key+"/numbers")
	if !strings.Contains(body, "<td>2026-03-03</td>") || strings.Contains(body, "<td>2026-03-02</td>") {
		t.Errorf("the numbers page's 7 days do not run from 3 March: %s", cutAt(body, "<td>2026-03-0", "</table>"))
	}
	_, body = getPage(t, c, f.srv.URL+"sites/"+f.key+"/calls")
	if got := cutAt(body, `id="calls-total">`, "</dd>"); got != `id="calls-total">2` {
		t.Errorf("the calls page's 30 days have %q calls, want 2 (8 February to 9 March)", got)
	}
	_, body = getPage(t, c, f.srv.URL+"sites/"+f.key+"/reports?period=30d")
	if got := cutAt(body, `id="kpi-calls"`, "</span>"); !strings.HasSuffix(got, `<span class="kpi-value">2`) {
		t.Errorf("the reports' 30 days: %q, want 2 calls", got)
	}
}
