package httpd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"appliance/httpd/httpdtest"
)

// The reports screen as a site owner uses it, in chromium: the sources
// report with its totals and charts, a drill-down from a channel to its
// sources, the CSV export holding the figures of the table, and every
// report page on a 390 px phone without sideways scrolling of the page
// (wide tables scroll in their own box). Screenshots of every page at
// 1280 and 390 px, and of the sources report in the dark theme, are saved
// to httpdtest.ArtifactDir ($APPLIANCE_ARTIFACTS, else
// appliance-test-artifacts in the temp directory).
func TestBrowserReports(t *testing.T) {
	f, _ := sourcesFixture(t)
	ctx := httpdtest.Browser(t)
	httpdtest.Must(t, ctx,
		chromedp.Navigate(f.srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
	)
	submit(t, ctx, `button[type=submit]`)
	base := f.srv.URL + "sites/" + f.site.Key + "/reports"

	// The overview: from the site's navigation, then today.
	httpdtest.Must(t, ctx, chromedp.Navigate(f.srv.URL+"sites/"+f.site.Key+"/leads"), chromedp.Click(chromedp.ID("nav-reports")),
		chromedp.WaitVisible(chromedp.ID("kpis")))
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.CSS(`.presets a[href*="period=today"]`)), chromedp.WaitVisible(chromedp.ID("sources-table")))
	text := func(sel string) string {
		t.Helper()
		return httpdtest.Eval[string](t, ctx, `(document.querySelector(`+jsString(sel)+`) || {textContent: ""}).textContent.trim()`)
	}
	if got := text("#kpi-sessions .kpi-value"); got != "3" {
		t.Errorf("sessions today: %q, want 3", got)
	}
	if got := text("#kpi-sales .delta"); !strings.HasPrefix(got, "from none") {
		t.Errorf("sales against yesterday: %q, want from none", got)
	}
	// The chart: a line per series with a point per hour of the day, the
	// title and description a screen reader reads, and a visible line.
	if got := httpdtest.Eval[int](t, ctx, `document.querySelectorAll("#chart-traffic-svg polyline").length`); got != 2 {
		t.Errorf("traffic chart has %d lines, want 2", got)
	}
	if got := httpdtest.Eval[int](t, ctx, `document.querySelectorAll("#chart-traffic-svg g[data-series=sessions] circle").length`); got != 24 {
		t.Errorf("traffic chart has %d session points, want 24 (hours)", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `getComputedStyle(document.querySelector("#chart-traffic-svg .line.s-sessions")).stroke`); got == "none" || got == "" {
		t.Errorf("the sessions line has no colour: %q", got)
	}
	if got := text("#chart-traffic-d"); !strings.Contains(got, "3 sessions") {
		t.Errorf("chart description %q", got)
	}
	httpdtest.SaveScreenshot(t, ctx, "sources-1280")
	colorScheme(t, ctx, "dark")
	httpdtest.SaveScreenshot(t, ctx, "sources-1280-dark")
	colorScheme(t, ctx, "light")

	// Drill down: the ad channel, then its sources.
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.CSS(`#sources-table tbody a`)), chromedp.WaitVisible(chromedp.ID("drill-trail")))
	if got := text("#sources-table tbody th"); got != "google" {
		t.Fatalf("the ad channel's first source is %q, want google", got)
	}
	if got := text("#drill-trail"); !strings.Contains(got, "All channels") || !strings.Contains(got, "Channel: ad") {
		t.Errorf("drill-down trail %q", got)
	}

	// The CSV link downloads the figures of the table: the same rows and
	// cells (the screen groups thousands and adds "%").
	table := httpdtest.Eval[[][]string](t, ctx, `[...document.querySelectorAll("#sources-table tr")].map(r => [...r.cells].map(c => c.textContent.trim()))`)
	raw := httpdtest.Eval[string](t, ctx, `fetch(document.getElementById("sources-table-csv").href).then(r => r.arrayBuffer()).then(b => new TextDecoder("utf-8", {ignoreBOM: true}).decode(b))`)
	rows := readCSV(t, raw)
	if len(rows) != len(table) {
		t.Fatalf("CSV has %d rows, the table %d:\n%v\n%v", len(rows), len(table), rows, table)
	}
	for i := 1; i < len(rows); i++ {
		for j := range rows[i] {
			screen := strings.NewReplacer("\u00a0", "", " ", "", "%", "", "–", "").Replace(table[i][j])
			if i == len(rows)-1 && j == 0 {
				screen = strings.ToLower(screen)
			}
			if screen != rows[i][j] {
				t.Errorf("row %d column %s: screen %q, CSV %q", i, rows[0][j], table[i][j], rows[i][j])
			}
		}
	}

	// Every report page fits a phone: only the tables' own boxes scroll.
	for _, page := range []string{"", "/pages", "/events", "/properties", "/devices", "/costs"} {
		name := strings.TrimPrefix(page, "/")
		if name == "" {
			name = "sources"
		}
		httpdtest.Must(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+page+"?period=today"), chromedp.WaitVisible(chromedp.ID("period")))
		httpdtest.SaveScreenshot(t, ctx, name+"-1280")
		httpdtest.Must(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("period")))
		httpdtest.Eval[bool](t, ctx, `(document.querySelectorAll("details").forEach(d => d.open = true), true)`)
		if w := httpdtest.Eval[int](t, ctx, `document.documentElement.scrollWidth - innerWidth`); w > 0 {
			wide := httpdtest.Eval[string](t, ctx, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth && !e.closest(".table-scroll")).slice(0, 6).map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className.baseVal + e.className).join(" ")`)
			t.Errorf("%s: the page is %d px wider than a 390 px screen: %s", name, w, wide)
		}
		// A chart's labels read on the phone (the SVG scales down with
		// its box: 12 units were 8.5 px) and none is cut off by the
		// chart's edge or runs into its neighbour (2 px apart at least).
		labels := httpdtest.Eval[[]string](t, ctx, `(() => {
			const out = [], texts = [...document.querySelectorAll("svg.chart text")];
			texts.forEach((e, i) => {
				const s = e.ownerSVGElement, px = parseFloat(getComputedStyle(e).fontSize) * s.getScreenCTM().a;
				const r = e.getBoundingClientRect(), b = s.getBoundingClientRect();
				if (px < 11) out.push(e.textContent + " is " + px.toFixed(1) + " px");
				if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5) out.push(e.textContent + " is cut off");
				const n = texts[i + 1];
				if (n && n.ownerSVGElement === s && n.getAttribute("y") === e.getAttribute("y") && n.getBoundingClientRect().left < r.right + 2) out.push(e.textContent + " runs into " + n.textContent);
			});
			return texts.length ? out : null;
		})()`)
		if len(labels) > 0 {
			t.Errorf("%s at 390 px, chart labels: %q", name, labels)
		}
		if name == "sources" && labels == nil {
			t.Errorf("sources at 390 px: no chart labels found")
		}
		httpdtest.SaveScreenshot(t, ctx, name+"-390")
	}
}

// colorScheme makes the tab's system theme light or dark.
func colorScheme(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	if err != nil {
		t.Fatalf("emulate %s theme: %v", scheme, err)
	}
}
