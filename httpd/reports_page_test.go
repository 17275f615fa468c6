package httpd_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dataLabels matches a report cell's data-label attribute (its column's
// name, which labels the cell when a row is a card on a phone).
var dataLabels = regexp.MustCompile(` data-label="[^"]*"`)

// reportsFixture is a site with a day of visits through the real tracker
// endpoints: two visitors, page views, events and properties, one of each
// with markup in what the visitor's browser sent.
func reportsFixture(t *testing.T) (*trFixture, *http.Client) {
	t.Helper()
	f := newTrFixture(t, true)
	// The site is in Vladivostok (UTC+10): 08:00 there on the 26th is
	// still the 25th in UTC, and the reports' "today" is the 26th.
	if _, err := f.srv.HTTP.Sites().SetTimeZone(context.Background(), f.site.Key, "Asia/Vladivostok"); err != nil {
		t.Fatal(err)
	}
	vlad, _ := time.LoadLocation("Asia/Vladivostok")
	f.clock.Set(time.Date(2026, 11, 26, 8, 0, 0, 0, vlad))
	a := f.hit(t, "", "https://shop.example.com/?utm_source=google&utm_medium=cpc", "", "Home")
	f.clock.Add(time.Minute)
	a2 := f.hit(t, a.CI, "https://shop.example.com/cart", "", "Cart")
	for _, ev := range []map[string]any{
		{"hi": a2.HitID, "c": "cart", "a": "add", "n": "<b>sku-1</b>", "v": "10"},
		{"hi": a2.HitID, "c": "cart", "a": "add", "n": "<b>sku-1</b>", "v": "5.5"},
	} {
		if a := f.post(t, "t/v1/event", f.creds(a2, ev)); a.Status != 200 {
			t.Fatalf("event: %d %s", a.Status, a.Raw)
		}
	}
	if a := f.post(t, "t/v1/property", f.creds(a2, map[string]any{"op": "set", "name": "plan", "value": "<i>pro</i>"})); a.Status != 200 {
		t.Fatalf("property: %d %s", a.Status, a.Raw)
	}
	f.clock.Add(time.Hour)
	f.hit(t, "", "https://shop.example.com/cart?x=<script>", "https://news.example.org/a", "Cart")
	return f, f.srv.Client(t)
}

func reportGet(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	return readCSVSep(t, body, ',')
}

// readCSVSep reads a download whose cells are separated by sep (";" for
// a Russian reader).
func readCSVSep(t *testing.T, body string, sep rune) [][]string {
	t.Helper()
	if !strings.HasPrefix(body, "\ufeff") {
		t.Fatalf("CSV without a byte-order mark: %.40q", body)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
	r.Comma = sep
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return rows
}

func TestReportBreakdownPages(t *testing.T) {
	f, c := reportsFixture(t)
	base := f.srv.URL + "sites/" + f.site.Key + "/reports/"
	for _, tc := range []struct {
		tab  string
		want []string // in the page, in order
		csv  string
	}{
		{"pages", []string{`shop.example.com/cart`, `<td class="num">2</td><td class="num">2</td><td class="num">1</td>`, `shop.example.com/`},
			"page,views,visitors,entries\nshop.example.com/cart,2,2,1\nshop.example.com/,1,1,1\ntotal,3,,2\n"},
		{"events", []string{`&lt;b&gt;sku-1&lt;/b&gt;`, `<td class="num">2</td><td class="num">1</td><td class="num">15.5</td>`},
			"category,action,name,events,visitors,value_sum\ncart,add,<b>sku-1</b>,2,1,15.5\ntotal,,,2,,\n"},
		{"properties", []string{`plan`, `&lt;i&gt;pro&lt;/i&gt;`},
			"property,value,visitors\nplan,<i>pro</i>,1\n"},
	} {
		t.Run(tc.tab, func(t *testing.T) {
			status, body, h := reportGet(t, c, base+tc.tab+"?period=today")
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if strings.Contains(body, "<b>sku") || strings.Contains(body, "<i>pro") || strings.Contains(body, "<script>") {
				t.Error("visitor-sent markup printed as markup")
			}
			// The cells' labels (a row is a card on a phone) are not what
			// this test reads.
			body = dataLabels.ReplaceAllString(body, "")
			at := 0
			for _, w := range tc.want {
				i := strings.Index(body[at:], w)
				if i < 0 {
					t.Fatalf("page lacks %q after byte %d:\n%.1500s", w, at, body[at:])
				}
				at += i
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			status, body, h = reportGet(t, c, base+tc.tab+".csv?period=today")
			if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv: %d %s", status, h.Get("Content-Type"))
			}
			readCSV(t, body)
			if got := strings.ReplaceAll(strings.TrimPrefix(body, "\ufeff"), "\r\n", "\n"); got != tc.csv {
				t.Errorf("csv:\n%s\nwant:\n%s", got, tc.csv)
			}
			if !strings.Contains(h.Get("Content-Disposition"), tc.tab+"-"+f.site.Key+"-2026-11-26-2026-11-26.csv") {
				t.Errorf("file name: %s", h.Get("Content-Disposition"))
			}
		})
	}
	_, body, _ := reportGet(t, c, base+"pages?period=today")
	if !strings.Contains(body, "2026-11-26 – 2026-11-26</strong>, time zone Asia/Vladivostok") {
		t.Error("the page does not say the period and the site's time zone")
	}
	// Yesterday had nothing: the tables say so.
	_, body, _ = reportGet(t, c, base+"pages?period=yesterday")
	if !strings.Contains(body, `id="pages-table-empty"`) {
		t.Error("an empty period shows no empty-table message")
	}
}

func TestReportBadPeriod(t *testing.T) {
	f, c := reportsFixture(t)
	base := f.srv.URL + "sites/" + f.site.Key + "/reports/"
	for q, want := range map[string]string{
		"pages?period=fortnight":                   "unknown period",
		"pages?from=2026-02-01&to=2026-01-01":      "is after the to date",
		"events.csv?from=2020-01-01&to=2026-01-01": "longer than 5 years",
		"properties?from=2026-01-01":               "needs both",
	} {
		status, body, _ := reportGet(t, c, base+q)
		if status != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%.300s", q, status, want, body)
		}
	}
	if status, _, _ := reportGet(t, c, f.srv.URL+"sites/nosuchsite/reports/pages"); status != 404 {
		t.Errorf("unknown site: %d", status)
	}
}

// The reports' charts say their totals and each day's figures with the
// noun in the plural form the number takes, in English and in Russian:
// "1 session", "2 заявки", "1 обратный звонок", never "1 sessions" or
// "2 обратные звонки" (the lower-cased column heading after any number).
func TestReportChartsCountInPlurals(t *testing.T) {
	f := newCBFixture(t)
	v := sweepHit(t, f.srv, f.key, visit{}, "https://shop.example/?utm_source=yandex&utm_medium=cpc", "", "Page")
	for _, name := range []string{"Иван", "Пётр"} {
		if status, out, _ := postJSON(t, f.srv.URL+"t/v1/lead", leadBody(f.key, v, map[string]any{"name": name})); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
	}
	if status, out := f.order(t, v, map[string]any{"phone": "+7 916 123-45-67"}); status != http.StatusOK {
		t.Fatalf("callback: %d %v", status, out)
	}
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/reports?period=today"
	for _, tt := range []struct {
		lang      string
		want, not []string
	}{
		{"en", []string{"in total: 1 session, 1 visitor.", "in total: 0 calls, 2 leads, 1 callback, 0 sales.", ": 1 session</title>", ": 1 callback</title>"},
			[]string{"1 sessions", "1 visitors", "1 callbacks"}},
		{"ru", []string{"всего: 1 визит, 1 посетитель.", "всего: 0 звонков, 2 заявки, 1 обратный звонок, 0 продаж.", ": 1 визит</title>", ": 2 заявки</title>"},
			[]string{"1 визиты", "1 посетители", "обратные звонки.", "0 звонки"}},
	} {
		_, body := getPageIn(t, c, page, tt.lang)
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the reports page lacks %q", tt.lang, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(body, w) {
				t.Errorf("%s: the reports page says %q", tt.lang, w)
			}
		}
	}
}

// A site without a time zone of its own reports in the server's: the
// period line says so once, "часовой пояс сервера (UTC)", not "часовой
// пояс пояс сервера (UTC)" as it did in Russian.
func TestReportPeriodNamesServerZone(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	zone, _ := time.Now().Zone()
	for lang, want := range map[string]string{"en": ", time zone the server&#39;s (" + zone + ");", "ru": ", часовой пояс сервера (" + zone + ");"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.key+"/reports", lang)
		if !strings.Contains(body, want) {
			t.Errorf("%s: the reports page lacks %q", lang, want)
		}
	}
}

// The period line writes its days as the reader's language writes dates
// (tr.Date), as the leads, calls and visits beside it do: 01.11.2026 in
// Russian. It wrote 2026-11-01 in both languages.
func TestReportPeriodDatesInReadersLanguage(t *testing.T) {
	f := newCBFixture(t)
	c := f.srv.Client(t)
	page := f.srv.URL + "sites/" + f.key + "/reports?from=2026-11-01&to=2026-11-30"
	for lang, want := range map[string]string{
		"en": "<strong>2026-11-01 – 2026-11-30</strong>, time zone ",
		"ru": "<strong>01.11.2026 – 30.11.2026</strong>, часовой пояс ",
	} {
		_, body := getPageIn(t, c, page, lang)
		says := cutAt(body, `id="period-says">`, "</p>")
		if !strings.Contains(says, want) {
			t.Errorf("%s: the period line %q lacks %q", lang, says, want)
		}
		if prev := map[string]string{"en": "2026-10-02 – 2026-10-31.", "ru": "02.10.2026 – 31.10.2026."}[lang]; !strings.HasSuffix(says, prev) {
			t.Errorf("%s: the period line %q does not end with the period compared, %q", lang, says, prev)
		}
	}
}

// The site page's figures of today are grouped as the reports group
// theirs, "1 000" (a no-break space in either language); it wrote 1000
// beside a reports page that says 1 000.
func TestSitePageTodayGrouped(t *testing.T) {
	f := newTrFixture(t, true)
	h := f.hit(t, "", "https://shop.example.com/", "", "Home")
	for range 999 {
		f.hit(t, h.CI, "https://shop.example.com/", "", "Home")
	}
	c := f.srv.Client(t)
	for _, lang := range []string{"en", "ru"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key, lang)
		if got := cutAt(body, `id="today-hits">`, "</dd>"); got != "id=\"today-hits\">1\u00a0000" {
			t.Errorf("%s: today's page views %q, want 1 000", lang, got)
		}
	}
}

// The site page counts today's page views of bots with the noun in the
// form the number takes: "1 page view", "1 просмотр", "2 просмотра";
// it wrote the number before "просмотров" whatever it was.
func TestSitePageBotViewsInPlurals(t *testing.T) {
	f := newTrFixture(t, true)
	c := f.srv.Client(t)
	bot := f.hitUA(t, botUA, "", "https://shop.example.com/", "", "Home")
	for _, tt := range []struct{ en, ru string }{{"1 page view", "1 просмотр"}, {"2 page views", "2 просмотра"}} {
		for lang, want := range map[string]string{"en": tt.en, "ru": tt.ru} {
			_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key, lang)
			if got := cutAt(body, `id="today-bots">`, "</dd>"); got != `id="today-bots">`+want {
				t.Errorf("%s: bots today %q, want %q", lang, got, want)
			}
		}
		f.hitUA(t, botUA, bot.CI, "https://shop.example.com/", "", "Home")
	}
}
