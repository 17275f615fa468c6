package httpd

import (
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/i18n"
	"appliance/httpd/period"
	"appliance/httpd/reports"
	"appliance/store"
)

// The sources report, the first tab of the reports screen: totals with
// their change against the period before, the charts over time, and the
// sources × outcomes table, which drills down channel → source → medium →
// campaign → term. Its figures come from the reports package (roll-ups).

// overviewData is the head of the sources report: totals and charts.
type overviewData struct {
	KPIs   []kpi
	Charts []lineChart
	CSV    template.URL // the charts' figures (series.csv)
}

// kpi is one total with its change against the period before.
type kpi struct {
	ID, Label string
	Value     string
	Prev      string
	Delta     string // "+12%", "−3%", "new", "" when both are zero
	Trend     string // up, down or "" (no change)
}

func newKPI(id, label string, cur, prev int64, format func(int64) string) kpi {
	k := kpi{ID: id, Label: label, Value: format(cur), Prev: format(prev)}
	switch {
	case cur == prev:
		if cur != 0 {
			k.Delta = "±0%"
		}
	case prev == 0:
		k.Delta, k.Trend = "new", "up"
	default:
		pct := 100 * float64(cur-prev) / float64(prev)
		// Grouped as the figures are: +149 900%.
		k.Delta = formatCount(int64(math.Round(pct))) + "%"
		if pct > 0 {
			k.Delta = "+" + k.Delta
		}
		k.Trend = "down"
		if cur > prev {
			k.Trend = "up"
		}
	}
	return k
}

// groupLabels are the sources report's groups; groupLabel names one as
// the table heads it.
var groupLabels = map[reports.Group]bool{
	reports.GroupChannel: true, reports.GroupSource: true, reports.GroupMedium: true, reports.GroupCampaign: true,
	reports.GroupTerm: true, reports.GroupLanding: true, reports.GroupReferrer: true,
}

func groupLabel(tr i18n.Printer, g reports.Group) string {
	switch g {
	case reports.GroupSource:
		return tr.T("Source")
	case reports.GroupMedium:
		return tr.T("Medium")
	case reports.GroupCampaign:
		return tr.T("Campaign")
	case reports.GroupTerm:
		return tr.T("Term")
	case reports.GroupLanding:
		return tr.T("Landing page")
	case reports.GroupReferrer:
		return tr.T("Referrer domain")
	}
	return tr.T("Channel")
}

// modelLabels are the attribution models; modelLabel names one.
var modelLabels = map[reports.Model]bool{reports.ModelLastNonDirect: true, reports.ModelFirst: true, reports.ModelLast: true}

func modelLabel(tr i18n.Printer, m reports.Model) string {
	switch m {
	case reports.ModelFirst:
		return tr.T("First visit")
	case reports.ModelLast:
		return tr.T("Last visit")
	}
	return tr.T("Last non-direct visit")
}

// drillNext is the group a row of group g drills down to, with the filter
// parameter its key sets; "" when g does not drill down.
func drillNext(g reports.Group) (next reports.Group, param string) {
	switch g {
	case reports.GroupChannel:
		return reports.GroupSource, "channel"
	case reports.GroupSource:
		return reports.GroupMedium, "source"
	case reports.GroupMedium:
		return reports.GroupCampaign, "medium"
	case reports.GroupCampaign:
		return reports.GroupTerm, "campaign"
	}
	return "", ""
}

// drillParams are the drill-down filters, in the order they narrow.
var drillParams = [...]string{"channel", "source", "medium", "campaign"}

// sourcesView is the sources table's controls: the group and model
// selects and the drill-down trail.
type sourcesView struct {
	Group  reports.Group
	Model  reports.Model
	Groups []option
	Models []option
	Trail  []reportTabLink // All › ad › google: each a link back up
}

type option struct {
	Value, Label string
	Selected     bool
}

// sourcesRequest reads the sources report's own parameters: group, model
// and the drill-down filters (a filter given empty keeps the sessions
// without that tag, e.g. the direct ones).
func sourcesRequest(args *fasthttp.Args) (reports.Group, reports.Model, reports.Filter, []keepParam, error) {
	g := reports.Group(args.Peek("group"))
	if g == "" {
		g = reports.GroupChannel
	}
	if _, ok := groupLabels[g]; !ok {
		return "", "", reports.Filter{}, nil, errorf(fasthttp.StatusBadRequest, "Unknown grouping %q: use channel, source, medium, campaign, term, landing_page or referrer.", cutText(string(g)))
	}
	m := reports.Model(args.Peek("model"))
	if m == "" {
		m = reports.ModelLastNonDirect
	}
	if _, ok := modelLabels[m]; !ok {
		return "", "", reports.Filter{}, nil, errorf(fasthttp.StatusBadRequest, "Unknown attribution model %q: use last_non_direct, first or last.", cutText(string(m)))
	}
	keep := []keepParam{{Name: "group", Value: string(g), Set: g != reports.GroupChannel}, {Name: "model", Value: string(m), Set: m != reports.ModelLastNonDirect}}
	var f reports.Filter
	// The filters narrow sessions by their source tags: they apply to the
	// groups of the drill-down, not to landing pages or referrers.
	if g != reports.GroupLanding && g != reports.GroupReferrer {
		for i, ptr := range [...]**string{&f.Channel, &f.Source, &f.Medium, &f.Campaign} {
			name := drillParams[i]
			if !args.Has(name) {
				continue
			}
			v := string(args.Peek(name))
			if len(v) > reports.MaxParam {
				return "", "", f, nil, errorf(fasthttp.StatusBadRequest, "The %s filter is longer than %d bytes.", name, reports.MaxParam)
			}
			*ptr = &v
			keep = append(keep, keepParam{Name: name, Value: v, Set: true})
		}
	}
	return g, m, f, keep, nil
}

func cutText(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// keyCell is a row key of the sources report as the table shows it.
func keyCell(tr i18n.Printer, g reports.Group, key string) reportCell {
	if key != "" {
		if g == reports.GroupChannel {
			return reportCell{Text: tr.T(key), Raw: key} // the channels are in the catalog (TestChannelsTranslated)
		}
		return reportCell{Text: key, Raw: key}
	}
	switch g {
	case reports.GroupReferrer:
		return reportCell{Text: tr.T("(no referrer)"), Dim: true}
	case reports.GroupLanding:
		return reportCell{Text: tr.T("(unknown)"), Dim: true}
	}
	return reportCell{Text: tr.T("(not set)"), Dim: true}
}

// sourcesColumns are the sources table's columns; the cost columns only
// when the period has costs.
func sourcesColumns(tr i18n.Printer, g reports.Group, withCost bool) []reportColumn {
	cols := []reportColumn{{groupLabel(tr, g), "key", false},
		{tr.T("Sessions"), "sessions", true}, {tr.T("Visitors"), "visitors", true}, {tr.T("New visitors"), "new_visitors", true},
		{tr.T("Events"), "events", true}, {tr.T("Leads"), "leads", true}, {tr.T("Callbacks"), "callbacks", true}, {tr.T("Calls"), "calls", true},
		{tr.T("Attributed calls"), "attributed_calls", true}, {tr.T("Answered calls"), "answered_calls", true}, {tr.T("First-time callers"), "first_time_callers", true}, {tr.T("Chats"), "chats", true},
		{tr.T("Sales"), "sales", true}, {tr.T("Revenue"), "revenue", true}, {tr.T("Conversion"), "conversion", true}}
	if withCost {
		cols = append(cols, reportColumn{tr.T("Cost"), "cost", true}, reportColumn{tr.T("Cost per lead"), "cost_per_lead", true},
			reportColumn{tr.T("Cost per call"), "cost_per_call", true}, reportColumn{"ROI", "roi", true})
	}
	return cols
}

func countsCells(c *reports.Counts, withCost bool) []reportCell {
	cells := []reportCell{countCell(c.Sessions), countCell(c.Visitors), countCell(c.NewVisitors), countCell(c.Events),
		countCell(c.Leads), countCell(c.Callbacks), countCell(c.Calls), countCell(c.AttributedCalls), countCell(c.AnsweredCalls), countCell(c.FirstTimeCallers),
		countCell(c.Chats), countCell(c.Sales), moneyCell(int64(c.Revenue)), percentCell(c.Outcomes(), c.Sessions)}
	if withCost {
		per := func(n int64) reportCell {
			m, ok := c.CostPer(n)
			if !ok {
				return reportCell{Text: "–", Dim: true, Num: true}
			}
			return moneyCell(int64(m))
		}
		roi := percentCell(int64(c.Revenue-c.Cost), int64(c.Cost)) // "–" without cost
		cells = append(cells, moneyCell(int64(c.Cost)), per(c.Leads), per(c.Calls), roi)
	}
	return cells
}

// rowsHaveCosts reports whether the rows of group g carry ad costs: those
// of channel, source, medium and campaign do, as the costs are imported;
// those of term, landing page and referrer do not (only their total).
func rowsHaveCosts(g reports.Group) bool {
	return g != reports.GroupTerm && g != reports.GroupLanding && g != reports.GroupReferrer
}

// sourcesTable builds the sources × outcomes table of res; f makes the
// drill-down links of its rows (nil: no links, as in the CSV).
func sourcesTable(tr i18n.Printer, res reports.Sources, f *reportFrame, keep []keepParam) reportTable {
	withCost := res.Total.Cost != 0
	for _, r := range res.Rows {
		withCost = withCost || r.Cost != 0
	}
	t := reportTable{ID: "sources-table", Caption: tr.T("Sources and outcomes by %s", strings.ToLower(groupLabel(tr, res.Group))),
		Columns: sourcesColumns(tr, res.Group, withCost), KeyWidth: res.Group == reports.GroupLanding,
		Empty: tr.T("No visits in this period. They appear once the install code is on the site's pages.")}
	next, param := drillNext(res.Group)
	for _, r := range res.Rows {
		key := keyCell(tr, res.Group, r.Key)
		if next != "" && f != nil {
			q := url.Values{"group": {string(next)}, param: {r.Key}}
			for _, k := range keep {
				if k.Name != "group" && k.Set {
					q.Set(k.Name, k.Value)
				}
			}
			key.Link = f.link("", q)
		}
		cells := countsCells(&r.Counts, withCost)
		if withCost && !rowsHaveCosts(res.Group) {
			// Costs are per campaign: a landing page's, referrer's or
			// term's share of them is not known, so its row says so
			// rather than 0.00 beside a total that has them.
			cells[len(cells)-4] = reportCell{Text: "–", Dim: true, Num: true}
		}
		t.Rows = append(t.Rows, append([]reportCell{key}, cells...))
	}
	if len(res.Rows) > 0 {
		t.Total = append([]reportCell{{Text: tr.T("Total"), Raw: "total"}}, countsCells(&res.Total, withCost)...)
	}
	return t
}

// sourcesReport is GET /sites/KEY/reports (and reports/sources.csv with
// csv set): the sources report of the period.
func (s *dashboardHandlers) sourcesReport(csv bool) func(*fasthttp.RequestCtx, signedIn) error {
	return func(ctx *fasthttp.RequestCtx, who signedIn) error {
		site, p, err := s.reportSite(ctx)
		if err != nil {
			return err
		}
		g, m, filter, keep, err := sourcesRequest(ctx.QueryArgs())
		if err != nil {
			return err
		}
		tr := s.pages.printer(ctx, &who.user)
		q := reports.Query{Site: site, From: dayOf(p.First), To: dayOf(p.Last), Group: g, Model: m, Filter: filter}
		res, err := s.reports.Sources(ctx, q)
		if err != nil {
			return err
		}
		f := newReportFrame(tr, site, "", p, keep)
		if csv {
			return tableCSV(ctx, tr, site, "sources-"+string(g), p, sourcesTable(tr, res, nil, keep))
		}
		prevP := p.Previous()
		q.From, q.To = dayOf(prevP.First), dayOf(prevP.Last)
		prev, err := s.reports.Sources(ctx, q)
		if err != nil {
			return err
		}
		ov, err := s.overview(ctx, tr, site, p, &res.Total, &prev.Total, m, filter)
		if err != nil {
			return err
		}
		ov.CSV = f.csvLink("series.csv", keep)
		t := sourcesTable(tr, res, &f, keep)
		t.CSV = f.csvLink("sources.csv", keep)
		if len(t.Rows) == 0 {
			// The install code is news only to a site that never had a
			// visit: another's period (or filter) is just empty.
			if any, err := s.visits.HasVisits(ctx, site.ID); err != nil {
				return err
			} else if any {
				t.Empty = tr.T("No visits in this period.")
			}
		}
		return s.renderReport(ctx, who, tr, reportData{reportFrame: f, Overview: &ov, Tables: []reportTable{cutRows(t)},
			Sources: sourcesControls(tr, &f, g, m, keep),
			Note: tr.T("Visitors on this tab are each day's unique visitors added up: a visitor who came on 3 days counts 3. On Pages, Events and Devices a visitor counts once over the period.") +
				" " + tr.T("Conversion is leads, callbacks, calls and chats per session, so it may pass 100%: a visit that brought a call and a lead is 200%.")})
	}
}

// dayOf is a period's day (midnight in the site's zone) as a reports.Day.
func dayOf(t time.Time) reports.Day {
	y, mo, d := t.Date()
	return reports.Date(y, mo, d)
}

// sourcesControls are the group and model selects and the drill-down
// trail of the sources table.
func sourcesControls(tr i18n.Printer, f *reportFrame, g reports.Group, m reports.Model, keep []keepParam) *sourcesView {
	v := &sourcesView{Group: g, Model: m}
	for _, gr := range reports.Groups() {
		v.Groups = append(v.Groups, option{Value: string(gr), Label: groupLabel(tr, gr), Selected: gr == g})
	}
	for _, mo := range reports.Models() {
		v.Models = append(v.Models, option{Value: string(mo), Label: modelLabel(tr, mo), Selected: mo == m})
	}
	// The trail: All channels, then each filter set, each linking to the
	// table one level up from it.
	var filters []keepParam
	for _, k := range keep {
		if k.Name != "group" && k.Name != "model" {
			filters = append(filters, k)
		}
	}
	if len(filters) == 0 {
		return v
	}
	model := url.Values{}
	if m != reports.ModelLastNonDirect {
		model.Set("model", string(m))
	}
	v.Trail = append(v.Trail, reportTabLink{Label: tr.T("All channels"), URL: f.link("", model)})
	for i, k := range filters {
		q := url.Values{}
		for key, vals := range model {
			q[key] = vals
		}
		for _, up := range filters[:i+1] {
			q.Set(up.Name, up.Value)
		}
		// A filter's name is the group it was a row of.
		next, _ := drillNext(reports.Group(k.Name))
		q.Set("group", string(next))
		v.Trail = append(v.Trail, reportTabLink{Label: groupLabel(tr, reports.Group(k.Name)) + ": " + keyCell(tr, reports.Group(k.Name), k.Value).Text,
			URL: f.link("", q), Active: i == len(filters)-1})
	}
	return v
}

// overview builds the totals and the charts of the period.
// The charts follow the drill-down (filter, with outcomes credited by
// model), by day at the finest when filtered.
func (s *dashboardHandlers) overview(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site, p period.Period, cur, prev *reports.Counts,
	model reports.Model, filter reports.Filter) (overviewData, error) {
	var ov overviewData
	count := func(n int64) string { return formatCount(n) }
	money := func(n int64) string { return moneyCell(n).Text }
	ov.KPIs = []kpi{
		newKPI("sessions", tr.T("Sessions"), cur.Sessions, prev.Sessions, count),
		newKPI("visitors", tr.T("Visitors"), cur.Visitors, prev.Visitors, count),
		newKPI("calls", tr.T("Calls"), cur.Calls, prev.Calls, count),
		newKPI("leads", tr.T("Leads"), cur.Leads, prev.Leads, count),
		newKPI("callbacks", tr.T("Callbacks"), cur.Callbacks, prev.Callbacks, count),
		newKPI("sales", tr.T("Sales"), cur.Sales, prev.Sales, count),
		newKPI("revenue", tr.T("Revenue"), int64(cur.Revenue), int64(prev.Revenue), money),
	}
	if cur.Cost != 0 || prev.Cost != 0 {
		k := newKPI("cost", tr.T("Ad cost"), int64(cur.Cost), int64(prev.Cost), money)
		// More spent is neither good nor bad news by itself (the
		// outcomes beside it say which): the change is told uncoloured.
		k.Trend = ""
		ov.KPIs = append(ov.KPIs, k)
	}
	buckets, vals, iv, err := s.chartSeries(ctx, site, p, model, filter)
	if err != nil {
		return ov, err
	}
	ov.Charts = []lineChart{
		newLineChart(tr, "traffic", tr.T("Traffic"), buckets, iv, []chartSeries{
			{"sessions", tr.T("Sessions"), func(n int64) string { return grouped(tr.N("%d session", int(n)), n) }, vals["sessions"]},
			{"visitors", tr.T("Visitors"), func(n int64) string { return grouped(tr.N("%d visitor", int(n)), n) }, vals["visitors"]}}),
		newLineChart(tr, "outcomes", tr.T("Calls, leads, callbacks and sales"), buckets, iv, []chartSeries{
			{"calls", tr.T("Calls"), func(n int64) string { return grouped(tr.N("%d call", int(n)), n) }, vals["calls"]},
			{"leads", tr.T("Leads"), func(n int64) string { return grouped(tr.N("%d lead", int(n)), n) }, vals["leads"]},
			{"callbacks", tr.T("Callbacks"), func(n int64) string { return grouped(tr.N("%d callback", int(n)), n) }, vals["callbacks"]},
			{"sales", tr.T("Sales"), func(n int64) string { return grouped(tr.N("%d sale", int(n)), n) }, vals["sales"]}}),
	}
	return ov, nil
}

// chartSeries are the figures of the overview's charts: the period's
// buckets (hours, days, weeks or months, by its length; days at the
// finest when filtered) and each chart series' value in every bucket.
func (s *dashboardHandlers) chartSeries(ctx *fasthttp.RequestCtx, site *store.Site, p period.Period, model reports.Model,
	filter reports.Filter) ([]time.Time, map[string][]int64, period.Interval, error) {
	iv := p.Interval()
	if filter != (reports.Filter{}) && iv == period.Hour {
		iv = period.Day
	}
	series, err := s.reports.Series(ctx, reports.SeriesQuery{Site: site, From: dayOf(p.First), To: dayOf(p.Last), Interval: seriesInterval(iv),
		Model: model, Filter: filter})
	if err != nil {
		return nil, nil, iv, err
	}
	buckets := make([]time.Time, len(series.Points))
	vals := map[string][]int64{}
	for i, pt := range series.Points {
		buckets[i] = pt.At
		for k, v := range map[string]int64{"sessions": pt.Sessions, "visitors": pt.Visitors, "calls": pt.Calls,
			"leads": pt.Leads, "callbacks": pt.Callbacks, "sales": pt.Sales} {
			vals[k] = append(vals[k], v)
		}
	}
	return buckets, vals, iv, nil
}

// seriesCSV is GET /sites/KEY/reports/series.csv: the figures of the
// overview's charts (the "Show the figures" tables under them), one row a
// bucket of the period, with the same drill-down and model as the page.
func (s *dashboardHandlers) seriesCSV(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, p, err := s.reportSite(ctx)
	if err != nil {
		return err
	}
	_, m, filter, _, err := sourcesRequest(ctx.QueryArgs())
	if err != nil {
		return err
	}
	tr := s.pages.printer(ctx, &who.user)
	buckets, vals, iv, err := s.chartSeries(ctx, site, p, m, filter)
	if err != nil {
		return err
	}
	keys := []string{"sessions", "visitors", "calls", "leads", "callbacks", "sales"}
	labels := []string{tr.T("Sessions"), tr.T("Visitors"), tr.T("Calls"), tr.T("Leads"), tr.T("Callbacks"), tr.T("Sales")}
	t := reportTable{Columns: []reportColumn{{Key: "period", Label: tr.T("Period")}}}
	for i, k := range keys {
		t.Columns = append(t.Columns, reportColumn{Key: k, Label: labels[i], Num: true})
	}
	layout := time.DateOnly
	if iv == period.Hour {
		layout = "2006-01-02 15:04"
	}
	for i, at := range buckets {
		row := []reportCell{{Raw: at.Format(layout)}}
		for _, k := range keys {
			row = append(row, reportCell{Raw: strconv.FormatInt(vals[k][i], 10), Num: true})
		}
		t.Rows = append(t.Rows, row)
	}
	return tableCSV(ctx, tr, site, "series", p, t)
}

func seriesInterval(iv period.Interval) reports.Interval {
	switch iv {
	case period.Hour:
		return reports.Hour
	case period.Week:
		return reports.Week
	case period.Month:
		return reports.Month
	}
	return reports.DayI
}
