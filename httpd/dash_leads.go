package httpd

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/leads"
	"appliance/store"
)

// maxLeadsShown is how many leads a page of the leads list shows; the
// CSV export has them all.
const maxLeadsShown = 500

// leadFilterForm is the leads filter as the form shows it.
type leadFilterForm struct {
	From, To, Form, Sale string
	Status               string // new, in_progress, done, spam; "" any
	HasPhone             bool
	Query                string       // the filter as a query string
	CSV                  template.URL // the export link with the filter
	// At is the page's cursor (pageAt); Back is the filter with it, for
	// a mark form to return to the same page.
	At   uint64
	Back string
}

// listPage is the paging of a long list (leads, callbacks, calls):
// a page holds the newest records from its cursor on (?at=ID, the record
// the page starts at: ids and starts, not offsets, so that records that
// arrive meanwhile shift nothing), and links to the next older page and
// back to the newest.
type listPage struct {
	Older  string // the next page's URL; "" on the last page
	Newest string // the first page's URL; "" on the first page
}

// pageAt reads a list's cursor, ?at=ID; 0 when there is none.
func pageAt(args *fasthttp.Args) (uint64, error) {
	v := args.Peek("at")
	if len(v) == 0 {
		return 0, nil
	}
	at, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil || at == 0 {
		return 0, errorf(fasthttp.StatusBadRequest, "The page's address names no record to start at; open the list again.")
	}
	return at, nil
}

// pageLinks are the links of a list page at path with the filter query:
// next is the first record the page did not show (0: none).
func pageLinks(path, query string, at, next uint64) listPage {
	var p listPage
	with := func(at uint64) string {
		q := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(q)
		q.Parse(query)
		if at != 0 {
			q.Add("at", strconv.FormatUint(at, 10))
		}
		if q.Len() == 0 {
			return path
		}
		return path + "?" + q.String()
	}
	if next != 0 {
		p.Older = with(next)
	}
	if at != 0 {
		p.Newest = with(0)
	}
	return p
}

// backWith is a filter query with a page's cursor, for a mark form to
// come back to the same page.
func backWith(query string, at uint64) string {
	if at == 0 {
		return query
	}
	if query != "" {
		query += "&"
	}
	return query + "at=" + strconv.FormatUint(at, 10)
}

// leadFilter reads the filter of the leads page and export from the query:
// from and to are days (YYYY-MM-DD in loc, the site's zone, both
// included), form an exact form name, phone=1 only leads with a phone,
// sale=yes|no, status=new|done|spam.
func leadFilter(args *fasthttp.Args, loc *time.Location) (leads.Filter, leadFilterForm, error) {
	ff := leadFilterForm{From: string(args.Peek("from")), To: string(args.Peek("to")),
		Form: string(args.Peek("form")), Sale: string(args.Peek("sale")), Status: string(args.Peek("status")),
		HasPhone: string(args.Peek("phone")) == "1"}
	f := leads.Filter{FormName: ff.Form, HasPhone: ff.HasPhone, Sale: ff.Sale, Status: ff.Status}
	var err error
	if f.From, f.To, err = dayRange(ff.From, ff.To, loc); err != nil {
		return f, ff, err
	}
	if ff.Sale != "" && ff.Sale != "yes" && ff.Sale != "no" {
		return f, ff, errorf(fasthttp.StatusBadRequest, "Sale must be yes, no or empty.")
	}
	if ff.Status != "" && !leads.ValidStatus(ff.Status) {
		return f, ff, errorf(fasthttp.StatusBadRequest, "Status must be new, in_progress, done, spam or empty.")
	}
	if p := string(args.Peek("phone")); p != "" && p != "1" {
		return f, ff, errorf(fasthttp.StatusBadRequest, "Phone must be 1 (only leads with a phone) or empty.")
	}
	q := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(q)
	for _, kv := range [][2]string{{"from", ff.From}, {"to", ff.To}, {"form", ff.Form}, {"sale", ff.Sale}, {"status", ff.Status}} {
		if kv[1] != "" {
			q.Add(kv[0], kv[1])
		}
	}
	if ff.HasPhone {
		q.Add("phone", "1")
	}
	ff.Query = q.String()
	if ff.At, err = pageAt(args); err != nil {
		return f, ff, err
	}
	ff.Back = backWith(ff.Query, ff.At)
	return f, ff, nil
}

// leadRow is a lead as the leads page shows it.
type leadRow struct {
	leads.View
	Time string
	Cost string // a sale's amount as the reports write money (moneyText); "" when none
	Mark markCell
}

// VisitorInfo reports whether the lead is visitor info (addVisitorInfo, /vc/s/) kept as a
// lead, which the page tells apart from a lead form's.
func (r leadRow) VisitorInfo() bool { return r.Via == leads.ViaVisitorInfo }

// markCell is the status cell of a lead's or callback's row: its status
// and note, and the form that changes them (partials.html "mark-cell").
type markCell struct {
	Action string // the form's URL
	CSRF   string
	Back   string // the list's filter, to return to
	ID     uint64
	Status string // new, in_progress, done, spam
	Note   string
	By     string // who set it; "" when never marked
	When   string
	// Statuses are the statuses a row may be given, one button each.
	Statuses []string
}

func markCellOf(c clock, action, csrf, back string, id uint64, m store.Mark) markCell {
	return markCell{Action: action, CSRF: csrf, Back: back, ID: id, Status: leads.StatusOf(m), Note: m.Note, By: m.By, When: c.at(m.Time),
		Statuses: leads.Statuses[:]}
}

type leadsData struct {
	Site   *store.Site
	Leads  []leadRow
	Filter leadFilterForm
	Zone   string   // the zone of the times: the site's
	Page   listPage // the links to older leads, when more than maxLeadsShown are left
}

// leadsPage is GET /sites/KEY/leads: the site's leads, newest first.
func (s *dashboardHandlers) leadsPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	f, ff, err := leadFilter(ctx.QueryArgs(), s.sites.Location(site))
	if err != nil {
		return err
	}
	ff.CSV = exportLink(site.Key, "leads.csv", ff.Query)
	c := s.clock(ctx, &who.user, site)
	d := leadsData{Site: site, Filter: ff, Zone: zoneLabel(c.loc, s.now())}
	marks, err := s.leads.Marks(ctx, site.ID)
	if err != nil {
		return err
	}
	action := "/sites/" + site.Key + "/leads/mark"
	var next uint64
	page := f
	page.At = ff.At
	err = s.leads.List(ctx, site.ID, page, maxLeadsShown+1, func(l store.Lead) bool {
		if len(d.Leads) == maxLeadsShown {
			next = l.ID
			return false
		}
		row := leadRow{View: leads.ViewOf(&l), Time: c.at(l.Time),
			Mark: markCellOf(c, action, who.session.CSRF, ff.Back, l.ID, marks[l.ID])}
		if l.IsSale && l.SaleCost != 0 {
			row.Cost = moneyText(c.tr, l.SaleCost)
		}
		d.Leads = append(d.Leads, row)
		return true
	})
	if err != nil {
		return err
	}
	d.Page = pageLinks("/sites/"+site.Key+"/leads", ff.Query, ff.At, next)
	return s.renderSite(ctx, who, site, "leads", view{Title: "Leads · " + site.Name, User: &who.user, CSRF: who.session.CSRF, Data: d})
}

// leadsCSVHeader names the export's columns.
func leadsCSVHeader() []string {
	h := append([]string{"id", "created_at", "via", "name", "email", "phone", "phone_raw", "message",
		"is_sale", "sale_cost", "group_id", "form_name", "page_url", "visitor_id", "session_id", "hit_id",
		"email_raw", "unparsed", "status", "note"}, sourceCSVHeader...)
	// Columns added later come after the source, so that a spreadsheet
	// reading the file by column position keeps working.
	return append(h, "no_visit")
}

// leadsCSV is GET /sites/KEY/leads.csv: every lead the filter selects,
// newest first, for a spreadsheet (csvExport).
func (s *dashboardHandlers) leadsCSV(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	loc := s.sites.Location(site)
	f, _, err := leadFilter(ctx.QueryArgs(), loc)
	if err != nil {
		return err
	}
	marks, err := s.leads.Marks(ctx, site.ID)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("leads-%s-%s.csv", site.Key, s.now().In(loc).Format("2006-01-02"))
	return csvExport(ctx, s.pages.printer(ctx, &who.user), name, leadsCSVHeader(), func(sheet *csvSheet) error {
		return s.leads.List(ctx, site.ID, f, 0, func(l store.Lead) bool {
			sheet.row(leadCSVRow(sheet, &l, marks[l.ID], loc))
			return true
		})
	})
}

// markPost is POST /sites/KEY/leads/mark and /sites/KEY/callbacks/mark:
// set a row's status (new, in_progress, done, spam) and note through mark (the leads'
// or the callbacks' Service.Mark), then back to the list (list: "leads"
// or "callbacks") at the row (#lead-ID, #callback-ID).
func (s *dashboardHandlers) markPost(list, anchor string, mark func(ctx context.Context, site uint32, id uint64, status, note, by string) (store.Mark, error)) func(*fasthttp.RequestCtx, signedIn) error {
	return func(ctx *fasthttp.RequestCtx, who signedIn) error {
		site, _, err := s.siteFromPath(ctx)
		if err != nil {
			return err
		}
		id, status, note, err := markForm(ctx.PostArgs())
		if err != nil {
			return err
		}
		if _, err := mark(ctx, site.ID, id, status, note, who.user.Email); err != nil {
			return err
		}
		s.seeOther(ctx, backTo(ctx, "/sites/"+site.Key+"/"+list)+"#"+anchor+"-"+strconv.FormatUint(id, 10))
		return nil
	}
}

// markForm reads a mark form: the id of the row, its status and note.
func markForm(args *fasthttp.Args) (id uint64, status, note string, err error) {
	id, perr := strconv.ParseUint(string(args.Peek("id")), 10, 64)
	if perr != nil || id == 0 {
		return 0, "", "", errorf(fasthttp.StatusBadRequest, "The form names no row; reload the page and try again.")
	}
	return id, string(args.Peek("status")), string(args.Peek("note")), nil
}

// backTo is the list page a mark form returns to: path with the filter
// the form carried (its "back" field, a query string), so the list stays
// as it was.
func backTo(ctx *fasthttp.RequestCtx, path string) string {
	q := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(q)
	q.Parse(string(ctx.PostArgs().Peek("back")))
	if q.Len() == 0 {
		return path
	}
	return path + "?" + q.String()
}

func leadCSVRow(sheet *csvSheet, l *store.Lead, m store.Mark, loc *time.Location) []string {
	u := func(v uint64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(v, 10)
	}
	cost := ""
	if l.IsSale && l.SaleCost != 0 {
		cost = sheet.num(leads.FormatCost(l.SaleCost))
	}
	row := append([]string{u(l.ID), time.UnixMilli(l.Time).In(loc).Format(time.RFC3339), l.Via, l.Name, l.Email, l.Phone,
		l.PhoneRaw, l.Message, strconv.FormatBool(l.IsSale), cost, u(l.GroupID), l.FormName, l.PageURL,
		u(l.Visitor), u(l.Session), u(l.Hit), l.EmailRaw, unparsed(l), leads.StatusOf(m), m.Note}, sourceCSV(&l.Source)...)
	return append(row, strconv.FormatBool(leads.ViewOf(l).NoVisit))
}

// unparsed names the fields of l that were typed but did not parse:
// "phone", "email", "phone email" or "".
func unparsed(l *store.Lead) string {
	var out []string
	if l.PhoneUnparsed {
		out = append(out, "phone")
	}
	if l.EmailUnparsed {
		out = append(out, "email")
	}
	return strings.Join(out, " ")
}

// dayRange reads a filter's from and to days (YYYY-MM-DD in loc, the
// site's zone, both included; "" for an open end) as the instants
// [from, to).
func dayRange(fromDay, toDay string, loc *time.Location) (from, to time.Time, err error) {
	if fromDay != "" {
		if from, err = time.ParseInLocation(time.DateOnly, fromDay, loc); err != nil {
			return from, to, errorf(fasthttp.StatusBadRequest, "From must be a date like 2026-11-26.")
		}
	}
	if toDay != "" {
		if to, err = time.ParseInLocation(time.DateOnly, toDay, loc); err != nil {
			return from, to, errorf(fasthttp.StatusBadRequest, "To must be a date like 2026-11-26.")
		}
		to = to.AddDate(0, 0, 1)
	}
	if fromDay != "" && toDay != "" && !from.Before(to) {
		// Nothing can be in it: say so rather than show an empty list as
		// if there were nothing to show.
		return from, to, errorf(fasthttp.StatusBadRequest, "From must not be after To.")
	}
	return from, to, nil
}

// exportLink is the URL of a site's CSV export file with a filter query
// (built by fasthttp.Args, so every name and value is already encoded).
// It is a template.URL: html/template would otherwise encode the query's
// "=" and "&" again and the export would lose its filter.
func exportLink(site, file, query string) template.URL {
	u := "/sites/" + url.PathEscape(site) + "/" + file
	if query != "" {
		u += "?" + query
	}
	return template.URL(u)
}

// sourceCSVHeader names the traffic-source columns every export ends with
// (the leads' then has the columns added later: leadsCSVHeader), and
// sourceCSV gives their cells, in the same order.
var sourceCSVHeader = []string{"channel", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"click", "referrer", "landing_page"}

func sourceCSV(s *store.Source) []string {
	return []string{s.Channel, s.UTMSource, s.UTMMedium, s.UTMCampaign, s.UTMTerm, s.UTMContent, s.Click, s.Referrer, s.Landing}
}
