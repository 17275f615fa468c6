package httpd

import (
	"fmt"
	"html/template"
	"math/big"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/i18n"
	"appliance/httpd/period"
	"appliance/store"
)

// The reports screen of a site: one page per report (tabs), each for a
// period the picker chooses, in the site's time zone. Every table on it is
// a reportTable, which the page and the report's CSV export print from the
// same cells, so the export holds the figures the screen shows.

// reportTabs are the reports, in the order the tabs show them: each one's
// path under /sites/KEY/reports.
var reportTabs = [...]string{"", "pages", "events", "properties", "devices", "costs"}

// tabLabel is a report tab's name in tr's language.
func tabLabel(tr i18n.Printer, tab string) string {
	switch tab {
	case "pages":
		return tr.T("Pages")
	case "events":
		return tr.T("Events")
	case "properties":
		return tr.T("Visitor properties")
	case "devices":
		return tr.T("Devices")
	case "costs":
		return tr.T("Ad costs")
	}
	return tr.T("Sources")
}

// mountReports registers the reports screen's routes: each report's page
// and its CSV export.
func (s *dashboardHandlers) mountReports(r *router) {
	for _, b := range []struct {
		tab   string
		build tableBuilder
	}{
		{"pages", (*dashboardHandlers).pagesTable},
		{"events", (*dashboardHandlers).eventsTable},
		{"properties", (*dashboardHandlers).propertiesTable},
	} {
		r.page("GET", "/sites/*/reports/"+b.tab, seeReports, withWho(s.breakdownReport(b.tab, b.build, false)))
		r.page("GET", "/sites/*/reports/"+b.tab+".csv", seeReports, withWho(s.breakdownReport(b.tab, b.build, true)))
	}
	r.page("GET", "/sites/*/reports", seeReports, withWho(s.sourcesReport(false)))
	r.page("GET", "/sites/*/reports/sources.csv", seeReports, withWho(s.sourcesReport(true)))
	r.page("GET", "/sites/*/reports/series.csv", seeReports, withWho(s.seriesCSV))
	r.page("GET", "/sites/*/reports/devices", seeReports, withWho(s.devicesReport(false)))
	r.page("GET", "/sites/*/reports/devices.csv", seeReports, withWho(s.devicesReport(true)))
	r.page("GET", "/sites/*/reports/costs", seeReports, withWho(s.costsPage))
	r.page("POST", "/sites/*/reports/costs", changeSites, withWho(s.costsUpload))
}

// tableBuilder builds a raw-record report's table for a period.
type tableBuilder func(*dashboardHandlers, *fasthttp.RequestCtx, i18n.Printer, *store.Site, period.Period) (reportTable, error)

// maxReportRows bounds a table on the screen; the CSV has every row.
const maxReportRows = 500

// reportColumn is a column of a report table: its heading, its name in
// the CSV header, and whether it holds numbers (aligned right).
type reportColumn struct {
	Label, Key string
	Num        bool
}

// reportCell is one cell: Text is shown, Raw goes to the CSV (a number
// without grouping, a date as 2006-01-02), Link (optional) drills down.
type reportCell struct {
	Text string
	Raw  string
	Link template.URL
	Dim  bool // a placeholder such as "(none)": shown muted
	Num  bool // a figure: aligned right
}

type reportTable struct {
	ID       string
	Caption  string
	Columns  []reportColumn
	Rows     [][]reportCell
	Total    []reportCell // nil when the table has no totals row
	More     int          // rows left off the screen (all are in the CSV)
	CSV      template.URL
	Empty    string // what the table says when it has no rows
	KeyWidth bool   // the first column holds long text (URLs): let it wrap
}

// textCell is a cell of text someone typed (a URL, an event name): shown
// and exported as is; "" shows as a muted placeholder and exports empty.
func textCell(s, none string) reportCell {
	if s == "" {
		return reportCell{Text: none, Dim: true}
	}
	return reportCell{Text: s, Raw: s}
}

func countCell(n int64) reportCell {
	return reportCell{Text: formatCount(n), Raw: strconv.FormatInt(n, 10), Num: true}
}

// moneyCell writes hundredths of the currency unit: 1234.50.
func moneyCell(cents int64) reportCell {
	raw := store.Money(cents)
	whole, frac, _ := strings.Cut(raw, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	text := formatCount(n)
	if strings.HasPrefix(whole, "-") && n == 0 {
		text = "-0"
	}
	return reportCell{Text: text + "." + frac, Raw: raw, Num: true}
}

// moneyText writes hundredths of the currency unit for a person as the
// reports do: 1 000.50, with the decimal comma in Russian (1 000,50).
func moneyText(tr i18n.Printer, cents int64) string {
	c := []reportCell{moneyCell(cents)}
	if tr.Lang == i18n.Ru {
		decimalComma(c)
	}
	return c[0].Text
}

// floatCell writes a sum of values: up to two decimals, none when whole.
func floatCell(f float64) reportCell {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return reportCell{Text: groupWhole(s), Raw: s, Num: true}
}

// groupWhole groups the whole part of a decimal as formatCount does
// (12500.5 → 12 500.5), so that no figure of a table reads ungrouped
// beside the others.
func groupWhole(s string) string {
	whole, frac, dot := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return s
	}
	text := formatCount(n)
	if strings.HasPrefix(whole, "-") && n == 0 {
		text = "-0"
	}
	if dot {
		text += "." + frac
	}
	return text
}

// percentCell writes num/den as a percentage with one decimal (1/3 →
// 33.3%); "" when the base is zero. It rounds the exact ratio half away
// from zero, as a person does (1/16 → 6.3%, as the KPI changes and the
// cost per lead round), not the float's nearest binary value, whose ties
// went to even (6.2%).
func percentCell(num, den int64) reportCell {
	if den == 0 {
		return reportCell{Text: "–", Dim: true, Num: true}
	}
	a, d := new(big.Int).Abs(big.NewInt(num)), new(big.Int).Abs(big.NewInt(den))
	// tenths of a per cent, rounded: (2·1000·|num| + |den|) / (2·|den|).
	a.Mul(a, big.NewInt(2000)).Add(a, d)
	tenths := a.Quo(a, d.Mul(d, big.NewInt(2))).String()
	if len(tenths) < 2 {
		tenths = "0" + tenths
	}
	s := tenths[:len(tenths)-1] + "." + tenths[len(tenths)-1:]
	if tenths != "00" && (num < 0) != (den < 0) {
		s = "-" + s
	}
	return reportCell{Text: groupWhole(s) + "%", Raw: s, Num: true} // 2 900.0%
}

// reportFrame is what every report page shows above its tables: the site,
// the tabs, the period picker and the period compared with.
type reportFrame struct {
	Site     *store.Site
	Tab      string // "" (sources), pages, events...
	Tabs     []reportTabLink
	Period   period.Period
	Prev     period.Period
	Presets  []reportTabLink // the period presets as links
	TimeZone string
	Custom   bool   // the period is a from..to range
	Base     string // /sites/KEY/reports
	// PeriodQuery is the period as a query string (period=7d, or from=..&to=..),
	// PeriodParams the same as hidden inputs of the page's other forms.
	PeriodQuery  string
	PeriodParams []keepParam
	// Keep are the other parameters of the page (group, model, filters),
	// which the custom range form passes on as hidden inputs.
	Keep []keepParam
}

// keepParam is a parameter of a report page that its links keep; one not
// Set is at its default and left out.
type keepParam struct {
	Name, Value string
	Set         bool
}

type reportTabLink struct {
	Label  string
	URL    template.URL
	Active bool
}

// presetLabel is a period preset's name in tr's language.
func presetLabel(tr i18n.Printer, p period.Preset) string {
	switch p {
	case period.Today:
		return tr.T("Today")
	case period.Yesterday:
		return tr.T("Yesterday")
	case period.Last7:
		return tr.T("7 days")
	case period.Last30:
		return tr.T("30 days")
	case period.Last90:
		return tr.T("90 days")
	case period.ThisMonth:
		return tr.T("This month")
	case period.LastMonth:
		return tr.T("Last month")
	case period.ThisYear:
		return tr.T("This year")
	}
	return string(p)
}

// reportPeriod reads the period of a report request (period=PRESET, or
// from=&to=) in the site's zone; a bad one is a 400 that says why.
func (s *dashboardHandlers) reportPeriod(ctx *fasthttp.RequestCtx, site *store.Site) (period.Period, error) {
	args := ctx.QueryArgs()
	return period.Parse(string(args.Peek("period")), string(args.Peek("from")), string(args.Peek("to")), s.now(), s.sites.Location(site))
}

// periodQuery is p as the query a link carries.
func periodQuery(p period.Period) url.Values {
	q := url.Values{}
	if p.Preset == period.Custom {
		q.Set("from", p.From())
		q.Set("to", p.To())
	} else {
		q.Set("period", string(p.Preset))
	}
	return q
}

// newReportFrame builds the header of a report page; keep are the page's
// own parameters, in the order the links write them.
func newReportFrame(tr i18n.Printer, site *store.Site, tab string, p period.Period, keep []keepParam) reportFrame {
	base := "/sites/" + url.PathEscape(site.Key) + "/reports"
	f := reportFrame{Site: site, Tab: tab, Period: p, Prev: p.Previous(), TimeZone: p.Loc().String(),
		Custom: p.Preset == period.Custom, Base: base, PeriodQuery: periodQuery(p).Encode(), Keep: keep}
	if site.TimeZone == "" {
		f.TimeZone = tr.T("the server's (%s)", zoneLabel(p.Loc(), p.First))
	}
	for _, k := range []string{"period", "from", "to"} {
		if v := periodQuery(p).Get(k); v != "" {
			f.PeriodParams = append(f.PeriodParams, keepParam{Name: k, Value: v, Set: true})
		}
	}
	for _, t := range reportTabs {
		u := base
		if t != "" {
			u += "/" + t
		}
		f.Tabs = append(f.Tabs, reportTabLink{Label: tabLabel(tr, t), URL: template.URL(u + "?" + f.PeriodQuery), Active: t == tab})
	}
	self := base
	if tab != "" {
		self += "/" + tab
	}
	for _, pr := range period.Presets() {
		if pr == period.Custom {
			continue
		}
		q := url.Values{"period": {string(pr)}}
		f.Presets = append(f.Presets, reportTabLink{Label: presetLabel(tr, pr), URL: template.URL(self + "?" + withKeep(q, keep)),
			Active: pr == p.Preset})
	}
	return f
}

// withKeep appends the page's own parameters to a query.
func withKeep(q url.Values, keep []keepParam) string {
	s := q.Encode()
	for _, k := range keep {
		if k.Set {
			s += "&" + url.QueryEscape(k.Name) + "=" + url.QueryEscape(k.Value)
		}
	}
	return s
}

// link is the URL of a report page with the frame's period and the query.
func (f *reportFrame) link(tab string, q url.Values) template.URL {
	u := f.Base
	if tab != "" {
		u += "/" + tab
	}
	pq := periodQuery(f.Period)
	for k, v := range q {
		pq[k] = v
	}
	return template.URL(u + "?" + pq.Encode())
}

// csvLink is the export of the page's table with the same parameters.
func (f *reportFrame) csvLink(file string, keep []keepParam) template.URL {
	return template.URL(f.Base + "/" + file + "?" + withKeep(periodQuery(f.Period), keep))
}

// reportData is what reports.html gets.
type reportData struct {
	reportFrame
	Tables   []reportTable
	Note     string // a line under the tables
	Overview *overviewData
	Sources  *sourcesView // the sources table's controls
	Costs    *costsData   // the ad costs tab
}

// renderReport renders a report page; figures are written with the
// decimal separator of the reader's language.
func (s *dashboardHandlers) renderReport(ctx *fasthttp.RequestCtx, who signedIn, tr i18n.Printer, d reportData) error {
	title := tr.T("Reports") + " · " + d.Site.Name
	for _, t := range d.Tabs {
		if t.Active {
			title = t.Label + " · " + d.Site.Name
		}
	}
	if tr.Lang == i18n.Ru {
		for i := range d.Tables {
			decimalComma(d.Tables[i].Rows...)
			decimalComma(d.Tables[i].Total)
		}
		if d.Overview != nil {
			for i := range d.Overview.KPIs {
				k := &d.Overview.KPIs[i]
				k.Value, k.Prev = strings.ReplaceAll(k.Value, ".", ","), strings.ReplaceAll(k.Prev, ".", ",")
			}
		}
	}
	return s.renderSite(ctx, who, d.Site, "reports", view{Title: title, User: &who.user, CSRF: who.session.CSRF, Data: d})
}

// decimalComma writes the figures of rows with a decimal comma (1 500,50),
// as Russian does (the CSV too, through csvSheet.num).
func decimalComma(rows ...[]reportCell) {
	for _, r := range rows {
		for i := range r {
			if r[i].Num {
				r[i].Text = strings.ReplaceAll(r[i].Text, ".", ",")
			}
		}
	}
}

// tableCSV answers a report table as CSV: the header from the column
// keys (for a Russian reader, the column titles), the rows' raw cells,
// then the totals row.
func tableCSV(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site, name string, p period.Period, t reportTable) error {
	file := fmt.Sprintf("%s-%s-%s-%s.csv", name, site.Key, p.From(), p.To())
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.Key
		if tr.Lang == i18n.Ru {
			header[i] = c.Label // the page's column title, in Russian
		}
	}
	return csvExport(ctx, tr, file, header, func(sheet *csvSheet) error {
		rows := t.Rows
		if t.Total != nil {
			rows = append(rows[:len(rows):len(rows)], t.Total)
		}
		for _, r := range rows {
			out := make([]string, len(r))
			for i, c := range r {
				out[i] = c.Raw
				if c.Num {
					out[i] = sheet.num(c.Raw)
				}
			}
			sheet.row(out)
		}
		return nil
	})
}

// cutRows keeps the first maxReportRows rows of a table for the screen.
func cutRows(t reportTable) reportTable {
	if len(t.Rows) > maxReportRows {
		t.More = len(t.Rows) - maxReportRows
		t.Rows = t.Rows[:maxReportRows]
	}
	return t
}

// reportSite is the site of a /sites/KEY/reports... request and its period.
func (s *dashboardHandlers) reportSite(ctx *fasthttp.RequestCtx) (*store.Site, period.Period, error) {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return nil, period.Period{}, err
	}
	p, err := s.reportPeriod(ctx, site)
	return site, p, err
}

// pagesTable is the top pages report: views, visitors and entries of each
// page (host and path) in the period.
func (s *dashboardHandlers) pagesTable(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site, p period.Period) (reportTable, error) {
	rows, err := s.visits.Pages(ctx, site.ID, p.Start(), p.End(), 0)
	if err != nil {
		return reportTable{}, err
	}
	t := reportTable{ID: "pages-table", Caption: tr.T("Pages viewed in the period, most viewed first"), KeyWidth: true,
		Columns: []reportColumn{{tr.T("Page"), "page", false}, {tr.T("Views"), "views", true}, {tr.T("Visitors"), "visitors", true}, {tr.T("Entries"), "entries", true}},
		Empty:   tr.T("No page views in this period.")}
	var views, entries int64
	for _, r := range rows {
		t.Rows = append(t.Rows, []reportCell{textCell(r.Page, tr.T("(none)")), countCell(r.Views), countCell(r.Visitors), countCell(r.Entries)})
		views += r.Views
		entries += r.Entries
	}
	if len(rows) > 0 {
		t.Total = []reportCell{{Text: tr.T("Total"), Raw: "total"}, countCell(views), {Text: "", Dim: true}, countCell(entries)}
	}
	return t, nil
}

// eventsTable is the events report: category → action → name, with how
// many times, by how many visitors, and the sum of their number values.
func (s *dashboardHandlers) eventsTable(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site, p period.Period) (reportTable, error) {
	rows, err := s.visits.Events(ctx, site.ID, p.Start(), p.End())
	if err != nil {
		return reportTable{}, err
	}
	t := reportTable{ID: "events-table", Caption: tr.T("Events sent with Comagic.trackEvent, by category, action and name"),
		Columns: []reportColumn{{tr.T("Category"), "category", false}, {tr.T("Action"), "action", false}, {tr.T("Name"), "name", false},
			{tr.T("Events"), "events", true}, {tr.T("Visitors"), "visitors", true}, {tr.T("Value sum"), "value_sum", true}},
		Empty: tr.T("No events in this period. Events come from Comagic.trackEvent(category, action, name, value) on the site's pages.")}
	var count int64
	for _, r := range rows {
		none := tr.T("(none)")
		t.Rows = append(t.Rows, []reportCell{textCell(r.Category, none), textCell(r.Action, none), textCell(r.Name, none),
			countCell(r.Count), countCell(r.Visitors), floatCell(r.Value)})
		count += r.Count
	}
	if len(rows) > 0 {
		t.Total = []reportCell{{Text: tr.T("Total"), Raw: "total"}, {}, {}, countCell(count), {}, {}}
	}
	return t, nil
}

// propertiesTable is the visitor properties report: how many of the
// period's visitors have each property and value.
func (s *dashboardHandlers) propertiesTable(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site, p period.Period) (reportTable, error) {
	rows, err := s.visits.Properties(ctx, site.ID, p.Start(), p.End())
	if err != nil {
		return reportTable{}, err
	}
	t := reportTable{ID: "properties-table", Caption: tr.T("Properties of the period's visitors (Comagic.setProperty), by name and value"),
		Columns: []reportColumn{{tr.T("Property"), "property", false}, {tr.T("Value"), "value", false}, {tr.T("Visitors"), "visitors", true}},
		Empty:   tr.T("No visitor of this period has a property. Properties come from Comagic.setProperty(name, value).")}
	for _, r := range rows {
		t.Rows = append(t.Rows, []reportCell{textCell(r.Name, tr.T("(none)")), textCell(r.Value, tr.T("(empty)")), countCell(r.Visitors)})
	}
	return t, nil
}

// breakdownReport serves a raw-record report page (tab) or its CSV.
func (s *dashboardHandlers) breakdownReport(tab string, build tableBuilder, csv bool) func(*fasthttp.RequestCtx, signedIn) error {
	return func(ctx *fasthttp.RequestCtx, who signedIn) error {
		site, p, err := s.reportSite(ctx)
		if err != nil {
			return err
		}
		tr := s.pages.printer(ctx, &who.user)
		t, err := build(s, ctx, tr, site, p)
		if err != nil {
			return err
		}
		if csv {
			return tableCSV(ctx, tr, site, tab, p, t)
		}
		f := newReportFrame(tr, site, tab, p, nil)
		t.CSV = f.csvLink(tab+".csv", nil)
		return s.renderReport(ctx, who, tr, reportData{reportFrame: f, Tables: []reportTable{cutRows(t)},
			Note: tr.T("Counted from the period's visits (bots left out).")})
	}
}
