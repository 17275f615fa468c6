package httpd_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A campaign that paid back many times over has an ROI in the thousands
// of per cent, grouped as every other figure of the table is: 2 900,0%
// in Russian, beside a cost of 1 500,00. It read 2900,0%.
func TestReportROIGrouped(t *testing.T) {
	f, c := sourcesFixture(t)
	csrf := f.srv.FormToken(t, c, "/sites/"+f.site.Key+"/reports/costs")
	if status, body := uploadCosts(t, f, c, csrf, "2026-11-26,google,cpc,bf,50\n"); status != 200 {
		t.Fatalf("costs: %d %.500s", status, body)
	}
	page := f.srv.URL + "sites/" + f.site.Key + "/reports?period=today&group=campaign"
	for lang, want := range map[string]string{"ru": "2\u00a0900,0%", "en": "2\u00a0900.0%"} {
		_, body := getPageIn(t, c, page, lang)
		table := cutAt(body, `id="sources-table"`, "</table>")
		if !strings.Contains(table, want) {
			t.Errorf("%s: the sources table lacks the ROI %q: %s", lang, want, table)
		}
	}
	// The CSV keeps the figure a spreadsheet reads: 2900.0.
	_, csvBody := getPageIn(t, c, strings.Replace(page, "/reports?", "/reports/sources.csv?", 1), "en")
	rows := readCSV(t, csvBody)
	if got := rows[len(rows)-1][len(rows[0])-1]; got != "2900.0" {
		t.Errorf("the CSV's total ROI is %q, want 2900.0", got)
	}
}

// A total that grew from next to nothing says so in a grouped figure:
// revenue from 1,00 the day before to 1 500,00 is +149 900%, not +149900%.
func TestReportKPIChangeGrouped(t *testing.T) {
	f, c := sourcesFixture(t)
	f.clock.Add(-24 * time.Hour)
	v := f.hit(t, "", "https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=bf", "", "Home")
	if r := f.post(t, "t/v1/lead", f.creds(v, map[string]any{"hi": v.HitID, "name": "Bob", "is_sale": true, "sale_cost": "1"})); r.Status != 200 {
		t.Fatalf("lead: %d %s", r.Status, r.Raw)
	}
	f.clock.Add(24 * time.Hour)
	_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?period=today", "ru")
	if kpi := cutAt(body, `id="kpi-revenue"`, "</div>"); !strings.Contains(kpi, "&#43;149\u00a0900%") {
		t.Errorf("the revenue's change: %s", kpi)
	}
}

// A chart whose largest figure is 1 (a quiet day: one call, or none at
// all) has its y axis from 0 to 1, both labelled, as any other chart's;
// its 0 was left off, so the flat line of an empty period hung under an
// axis that read "1" alone.
func TestReportChartZeroTick(t *testing.T) {
	f, c := sourcesFixture(t)
	for _, q := range []string{"from=2026-01-01&to=2026-01-31", "period=today"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?"+q, "en")
		for _, id := range []string{"chart-traffic-svg", "chart-outcomes-svg"} {
			svg := cutAt(body, `id="`+id+`"`, "</svg>")
			if svg == "" {
				t.Fatalf("%s: no %s", q, id)
			}
			if !strings.Contains(svg, `dominant-baseline="middle">0</text>`) {
				t.Errorf("%s: %s has no 0 on its y axis: %.600s", q, id, svg)
			}
		}
	}
}

// A weekly chart names its weeks with their year, so that this year's
// first week, which began the December before, does not read as a later
// week than the last ("week of 29.12 to week of 23.11"), and its summary
// is Russian: "с неделя с 29.12 по неделя с 23.11" was not. A daily chart
// names its days with their year in English too, as in Russian: a week
// across the new year read "Mon Dec 29 to Sun Jan 4".
func TestReportWeeksWithYear(t *testing.T) {
	f, c := reportsFixture(t)
	for q, wants := range map[string]map[string][]string{
		"period=this_year": {
			"ru": {"По неделям, недели с 29.12.2025 по 23.11.2026, всего: ", `class="key">неделя с 29.12.2025</th>`},
			"en": {"By week, weeks of Dec 29, 2025 to Nov 23, 2026, in total: ", `class="key">week of Dec 29, 2025</th>`},
		},
		"from=2025-12-29&to=2026-01-04": {
			"ru": {"По дням, с 29.12.2025 по 04.01.2026, всего: ", `class="key">29.12.2025</th>`, `class="key">01.01.2026</th>`},
			"en": {"By day, Mon Dec 29, 2025 to Sun Jan 4, 2026, in total: ", `class="key">Mon Dec 29, 2025</th>`, `class="key">Thu Jan 1, 2026</th>`},
		},
	} {
		for lang, want := range wants {
			_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?"+q, lang)
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("%s %s: the chart lacks %q: %s", q, lang, w, cutAt(body, `<desc id="chart-traffic-d">`, "</desc>"))
				}
			}
		}
	}
}

// The sources table's conversion is outcomes per session, which passes
// 100% when a visit brought a call and a lead; the page says so, in the
// reader's language, so that 200% does not read as a broken figure.
func TestReportConversionExplained(t *testing.T) {
	f, c := sourcesFixture(t)
	page := f.srv.URL + "sites/" + f.site.Key + "/reports?period=today"
	for lang, want := range map[string]string{
		"ru": "Конверсия — заявки, обратные звонки, звонки и чаты на один визит, поэтому она может быть больше 100%",
		"en": "Conversion is leads, callbacks, calls and chats per session, so it may pass 100%",
	} {
		if _, body := getPageIn(t, c, page, lang); !strings.Contains(body, want) {
			t.Errorf("%s: the sources report does not say what its conversion is", lang)
		}
	}
}

// An event's value sum is grouped as the counts beside it are: a
// calculator's quotes add up to 15 500,5, not 15500,5.
func TestReportEventSumGrouped(t *testing.T) {
	f, c := reportsFixture(t)
	v := f.hit(t, "", "https://shop.example.com/calc", "", "Calc")
	for _, value := range []string{"12500.5", "3000"} {
		if a := f.post(t, "t/v1/event", f.creds(v, map[string]any{"hi": v.HitID, "c": "calc", "a": "quote", "v": value})); a.Status != 200 {
			t.Fatalf("event: %d %s", a.Status, a.Raw)
		}
	}
	page := f.srv.URL + "sites/" + f.site.Key + "/reports/events?period=today"
	for lang, want := range map[string]string{"ru": ">15\u00a0500,5<", "en": ">15\u00a0500.5<"} {
		if _, body := getPageIn(t, c, page, lang); !strings.Contains(body, want) {
			t.Errorf("%s: the events table lacks the sum %q: %s", lang, want, cutAt(body, "<table", "</table>"))
		}
	}
}

// An empty period of a site that has had visits says only that: the
// install code's hint is for a site that never had one. It said "They
// appear once the install code is on the site's pages" of every empty
// period, a drill-down with no rows included.
func TestReportEmptyPeriodHint(t *testing.T) {
	f, c := sourcesFixture(t)
	install := "install code"
	for _, q := range []string{"from=2026-01-01&to=2026-01-31", "period=today&channel=organic&group=source"} {
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?"+q, "en")
		if !strings.Contains(body, "No visits in this period.") || strings.Contains(body, install) {
			t.Errorf("%s: the empty table of a site with visits: %s", q, cutAt(body, `<main`, "</main>"))
		}
	}
	empty := f.srv.Site(t, "New", "new.example")
	_, body := getPageIn(t, c, f.srv.URL+"sites/"+empty+"/reports?period=today", "en")
	if !strings.Contains(body, install) {
		t.Errorf("a site with no visit yet lacks the install code's hint: %s", cutAt(body, `<main`, "</main>"))
	}
}

// A rise in ad cost is told without the green of good news (nor the red
// of bad): more spent is what the outcomes beside it judge. It was
// coloured as a rise in sales is.
func TestReportCostChangeUncoloured(t *testing.T) {
	f, c := sourcesFixture(t)
	csrf := f.srv.FormToken(t, c, "/sites/"+f.site.Key+"/reports/costs")
	if status, body := uploadCosts(t, f, c, csrf, "2026-11-25,google,cpc,bf,50\n2026-11-26,google,cpc,bf,100\n"); status != 200 {
		t.Fatalf("costs: %d %.500s", status, body)
	}
	_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?period=today", "en")
	kpi := cutAt(body, `id="kpi-cost"`, "</div>")
	if !strings.Contains(kpi, "&#43;100%") || strings.Contains(kpi, "delta up") || strings.Contains(kpi, "delta down") {
		t.Errorf("the ad cost's change: %s", kpi)
	}
	if sales := cutAt(body, `id="kpi-sales"`, "</div>"); !strings.Contains(sales, "delta up") {
		t.Errorf("the sales' rise is no longer coloured: %s", sales)
	}
}

// A share or a conversion on the tie of its last decimal rounds half up,
// as a person (and the KPI's change beside it, and the cost per lead)
// rounds it: one lead of 16 sessions is 6.25%, shown 6.3% (6,3% in
// Russian, 6.3 in the CSV), as is the one phone among 16 sessions on the
// devices report. Both read 6.2%: the float's round-half-even.
func TestReportPercentRoundsHalfUp(t *testing.T) {
	f := newTrFixture(t, true)
	c := f.srv.Client(t)
	for i := 0; i < 15; i++ {
		f.hit(t, "", "https://shop.example.com/", "", "Home")
	}
	h := f.hitUA(t, iPhoneUA, "", "https://shop.example.com/", "", "Home")
	if r := f.post(t, "t/v1/lead", f.creds(h, map[string]any{"hi": h.HitID, "name": "Ann"})); r.Status != 200 {
		t.Fatalf("lead: %d %s", r.Status, r.Raw)
	}
	base := f.srv.URL + "sites/" + f.site.Key + "/reports"
	for lang, want := range map[string]string{"ru": "6,3%", "en": "6.3%"} {
		_, body := getPageIn(t, c, base+"?period=today", lang)
		if row := cutAt(cutAt(body, `id="sources-table"`, "</table>"), "<tfoot", "</tfoot>"); !strings.Contains(row, want) {
			t.Errorf("%s: the total's conversion of 1 lead in 16 sessions, want %s: %s", lang, want, row)
		}
		_, body = getPageIn(t, c, base+"/devices?period=today", lang)
		if table := cutAt(body, `id="devices-type"`, "</table>"); !strings.Contains(table, want) {
			t.Errorf("%s: the phone's share of 1 in 16 sessions, want %s: %s", lang, want, table)
		}
	}
	_, csvBody := getPageIn(t, c, base+"/sources.csv?period=today", "en")
	rows := readCSV(t, csvBody)
	if got := rows[len(rows)-1][14]; rows[0][14] != "conversion" || got != "6.3" {
		t.Errorf("the CSV's %s of the total is %q, want 6.3", rows[0][14], got)
	}
}

// Ad costs are imported per campaign, so the rows by landing page,
// referrer or term have no cost of their own (README: the total only):
// their cost cell says "–", as their cost per lead and ROI do, not 0.00
// beside a total of 50.00 that no row adds up to (a landing page that
// brought a 1 500 sale read as one that cost nothing). The CSV leaves it
// empty; the rows by campaign keep their cost.
func TestReportCostOnlyWhereRowsHaveIt(t *testing.T) {
	f, c := sourcesFixture(t)
	csrf := f.srv.FormToken(t, c, "/sites/"+f.site.Key+"/reports/costs")
	if status, body := uploadCosts(t, f, c, csrf, "2026-11-26,google,cpc,bf,50\n"); status != 200 {
		t.Fatalf("costs: %d %.500s", status, body)
	}
	for _, tc := range []struct {
		group string
		rows  bool
	}{{"landing_page", false}, {"referrer", false}, {"campaign", true}} {
		_, csvBody := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports/sources.csv?period=today&group="+tc.group, "en")
		rows := readCSV(t, csvBody)
		col := slices.Index(rows[0], "cost")
		if col < 0 || len(rows) < 3 {
			t.Fatalf("%s: %v", tc.group, rows)
		}
		var sum float64
		for _, r := range rows[1 : len(rows)-1] {
			if !tc.rows && r[col] != "" {
				t.Errorf("%s: row %q has the cost %q, want none", tc.group, r[0], r[col])
			}
			n, _ := strconv.ParseFloat(r[col], 64)
			sum += n
		}
		if total := rows[len(rows)-1]; total[col] != "50.00" || (tc.rows && sum != 50) {
			t.Errorf("%s: total cost %q, rows add up to %v", tc.group, total[col], sum)
		}
		if tc.rows {
			continue
		}
		// On the screen: cost, cost per lead, per call and ROI all "–".
		_, body := getPageIn(t, c, f.srv.URL+"sites/"+f.site.Key+"/reports?period=today&group="+tc.group, "en")
		tbody := dataLabels.ReplaceAllString(cutAt(cutAt(body, `id="sources-table"`, "</table>"), "<tbody", "</tbody>"), "")
		dashes := strings.Repeat(`<td class="num dim">–</td>`, 4) + "</tr>"
		if n := strings.Count(tbody, "<tr>"); n < 2 || strings.Count(tbody, dashes) != n {
			t.Errorf("%s: a row shows a cost: %s", tc.group, tbody)
		}
	}
}
