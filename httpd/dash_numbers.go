package httpd

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/valyala/fasthttp"

	"appliance/httpd/admin"
	"appliance/httpd/i18n"
	"appliance/httpd/visits"
	"appliance/internal/usererr"
	"appliance/numbers"
	"appliance/numbers/tracking"
	"appliance/store"
)

// The dashboard's call-tracking pages: /sites/KEY/numbers (the set-up, live
// pool usage and the rule test) and /sites/KEY/calls (calls with their
// attribution, and their CSV export).

// reportDays is how many days, today included, the numbers page reports.
const reportDays = 7

type numbersData struct {
	Site    *store.Site
	Info    admin.Numbers
	Written string // the site numbers as typed, one a line
	Pools   []poolView
	Test    *ruleTest
	Form    map[string]string // the values of the form that failed, to show again
	Action  string            // which form they belong to
	Import  *tracking.ImportResult
	// Loc is the site's time zone, Zone its name: the pools' days are
	// the site's days, and the leases' times are written in it.
	Loc  *time.Location
	Zone string
}

// Val is the value of a field of the form that failed, when it is the
// form of action; "" otherwise.
func (d numbersData) Val(action, name string) string {
	if d.Action != action {
		return ""
	}
	return d.Form[name]
}

type poolView struct {
	admin.Pool
	NumbersText string // one a line, for the edit form
	ReserveText string // as the form takes it: 20m, 2h, 7d
	ReserveRead string // as the reader's language writes it: 20 min, 2 h, 7 days
	Report      tracking.PoolReport
	MissesToday int64
	MeanHold    string
}

// ruleTest is the rule test's question and answer: what would a visit
// landing on URL from Referrer be shown.
type ruleTest struct {
	URL, Referrer string
	Error         string
	Source        visits.Source
	Results       []tracking.Preview
}

func (s *dashboardHandlers) numbersData(ctx *fasthttp.RequestCtx, tr i18n.Printer, site *store.Site) (numbersData, error) {
	info, err := numbersInfo(ctx, s.numbers, site, s.now())
	if err != nil {
		return numbersData{}, err
	}
	loc := s.sites.Location(site)
	d := numbersData{Site: site, Info: info, Loc: loc, Zone: zoneLabel(loc, s.now())}
	var written []string
	for _, n := range info.SiteNumbers {
		written = append(written, n.Written)
	}
	d.Written = strings.Join(written, "\n")
	// The days are the site's: counted back on its calendar, so that a
	// change of its clocks does not add a day (AddDate in the server's zone).
	now := s.now().In(loc)
	reports, err := s.numbers.Report(ctx, site.ID, now.AddDate(0, 0, -(reportDays-1)), now, now)
	if err != nil {
		return numbersData{}, err
	}
	for _, p := range info.Pools {
		shown := make([]string, len(p.Numbers))
		for i, n := range p.Numbers {
			shown[i] = numbers.FormatPhone(n, site.Region(s.phoneRegion))
		}
		pv := poolView{Pool: p, NumbersText: strings.Join(shown, "\n")}
		if d, err := time.ParseDuration(p.Reserve); err == nil {
			pv.ReserveText, pv.ReserveRead = numbers.FormatReserve(d), reserveWords(tr, d)
		}
		for _, r := range reports {
			if r.Name == p.Name {
				pv.Report = r
				if len(r.Days) > 0 {
					pv.MissesToday = r.Days[len(r.Days)-1].Misses
				}
				pv.MeanHold = durationText(tr, r.MeanHold)
			}
		}
		d.Pools = append(d.Pools, pv)
	}
	if args := ctx.QueryArgs(); args.Has("test_url") {
		d.Test = s.testRule(site, string(args.Peek("test_url")), string(args.Peek("test_ref")), now)
	}
	return d, nil
}

// durationText writes how long something lasts (numbers are held, a call
// went on) as the reader's language writes it: to the second under an
// hour, to the minute from an hour: "45 s", "2 min 30 s", "20 min",
// "1 h 5 min".
func durationText(tr i18n.Printer, d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return tr.T("%d h %d min", h, m)
	case m > 0 && sec == 0:
		return tr.T("%d min", m)
	case m > 0:
		return tr.T("%d min %d s", m, sec)
	}
	return tr.T("%d s", sec)
}

// reserveWords writes a pool's reservation time for reading, in the
// reader's language: whole days as days ("7 days", "7 дней"), whole hours
// as hours ("2 h"), else as durationText does ("20 min", "1 h 30 min").
// The heading showed the form's "20m", which is no Russian.
func reserveWords(tr i18n.Printer, d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return tr.N("%d day", int(d/(24*time.Hour)))
	case d >= time.Hour && d%time.Hour == 0:
		return tr.T("%d h", int(d/time.Hour))
	}
	return durationText(tr, d)
}

// parseReserve reads a reservation time as an owner types it: a Go
// duration ("20m", "1h30m"), or whole numbers each with a unit, in English
// or Russian, spaced or not, as the page writes it back ("7d", "20 мин",
// "7 дн", "2 ч", "20мин", "1 ч 30 мин", "7 days"); empty is the default.
// The range is checked where the pool is kept (numbers.CheckReserve).
func parseReserve(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	bad := errorf(fasthttp.StatusBadRequest, "Reserve %q: write it like 20m, 2h or 7d.", s)
	// More than 7 days parses, so the range check says the range; more
	// than maxRead is refused here, before it could overflow.
	const maxRead = 1000 * 24 * time.Hour
	var sum time.Duration
	rest := strings.ToLower(s)
	for rest != "" {
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		if digits == 0 || digits > 9 {
			return 0, bad
		}
		n, _ := strconv.Atoi(rest[:digits])
		rest = strings.TrimLeft(rest[digits:], " \u00a0")
		i := strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) })
		if i < 0 {
			i = len(rest)
		}
		word := rest[:i]
		rest = strings.TrimPrefix(rest[i:], ".")
		unit, ok := reserveUnits[word]
		if !ok {
			return 0, bad
		}
		if time.Duration(n) > maxRead/unit {
			return 0, bad
		}
		if sum += time.Duration(n) * unit; sum > maxRead {
			return 0, bad
		}
		rest = strings.TrimLeft(rest, " \u00a0")
	}
	return sum, nil
}

// reserveUnits are the units parseReserve reads after a number: Go's, the
// words and abbreviations of English and Russian (each form a number
// takes: 1 день, 2 дня, 5 дней).
var reserveUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"с": time.Second, "сек": time.Second, "секунда": time.Second, "секунды": time.Second, "секунд": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"мин": time.Minute, "минута": time.Minute, "минуты": time.Minute, "минут": time.Minute, "минуту": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"ч": time.Hour, "час": time.Hour, "часа": time.Hour, "часов": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"д": 24 * time.Hour, "дн": 24 * time.Hour, "день": 24 * time.Hour, "дня": 24 * time.Hour, "дней": 24 * time.Hour,
	"сут": 24 * time.Hour, "сутки": 24 * time.Hour, "суток": 24 * time.Hour,
}

// testRule answers the rule test without leasing anything. The visit is
// read by the tracker's own source parser, as a real page view would be.
func (s *dashboardHandlers) testRule(site *store.Site, pageURL, referrer string, now time.Time) *ruleTest {
	rt := &ruleTest{URL: pageURL, Referrer: referrer}
	src, err := visits.ParseSourceAs("Landing page URL", "Referrer", pageURL, referrer, site.Domains)
	if err != nil {
		rt.Error = usererr.UserMessage(err)
		return rt
	}
	rt.Source = src
	rt.Results = s.numbers.Preview(site.ID, numbers.Visit{UTMSource: src.UTM.Source, UTMMedium: src.UTM.Medium,
		UTMCampaign: src.UTM.Campaign, UTMTerm: src.UTM.Term, UTMContent: src.UTM.Content, Click: src.Click,
		Channel: string(src.Channel), Referrer: src.Referrer, Landing: src.Landing}, now)
	return rt
}

// numbersPage is GET /sites/KEY/numbers.
func (s *dashboardHandlers) numbersPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	d, err := s.numbersData(ctx, s.pages.printer(ctx, &who.user), site)
	if err != nil {
		return err
	}
	v := view{Title: "Numbers · " + site.Name, User: &who.user, CSRF: who.session.CSRF, Data: d}
	if done := string(ctx.QueryArgs().Peek("done")); done != "" {
		v.Flash = doneMessages[done]
	}
	return s.renderSite(ctx, who, site, "numbers", v)
}

// doneMessages are the flashes after a change, by the done= of the
// redirect (a fixed set: nothing typed is echoed through the URL).
var doneMessages = map[string]string{
	"site":          "Site numbers and selectors saved.",
	"static-add":    "Static number saved.",
	"static-remove": "Static number removed.",
	"pool-add":      "Pool added.",
	"pool-edit":     "Pool saved.",
	"pool-remove":   "Pool removed. Its numbers' leases have ended; calls made while they were leased are still attributed.",
}

// lines splits a textarea of numbers into its non-empty entries: one a
// line, or a list separated by commas, semicolons or tabs (a row pasted
// from a spreadsheet). A semicolon left in a number read as its extension:
// "74950000001;74950000002" was refused as one number with an extension.
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' || r == '\t' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// numbersPost is POST /sites/KEY/numbers: one change of the set-up, named
// by the form's action. A refused change shows the page again with the
// reason and the values as typed.
func (s *dashboardHandlers) numbersPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	args := ctx.PostArgs()
	form := map[string]string{}
	for k, v := range args.All() {
		if string(k) != "csrf" {
			form[string(k)] = string(v)
		}
	}
	action := form["action"]
	imported, err := s.numbersChange(ctx, site, action, form)
	if err == nil && imported != nil {
		// Shown at once, not redirected: the skipped lines and why are
		// the point of the answer.
		d, err := s.numbersData(ctx, s.pages.printer(ctx, &who.user), site)
		if err != nil {
			return err
		}
		d.Import = imported
		tr := s.pages.printer(ctx, &who.user)
		return s.pages.render(ctx, fasthttp.StatusOK, "numbers", view{Title: "Numbers · " + site.Name, User: &who.user,
			CSRF: who.session.CSRF, Flash: tr.N("Imported %d number into %s; %d skipped.", len(imported.Added), imported.Pool, len(imported.Skipped)), Data: d})
	}
	if err == nil {
		s.seeOther(ctx, "/sites/"+site.Key+"/numbers?done="+action)
		return nil
	}
	ue := asUserError(err)
	if ue == nil || ue.Status() >= 500 {
		return err
	}
	d, derr := s.numbersData(ctx, s.pages.printer(ctx, &who.user), site)
	if derr != nil {
		return derr
	}
	d.Form, d.Action = form, action
	return s.pages.render(ctx, ue.Status(), "numbers", view{Title: "Numbers · " + site.Name, User: &who.user,
		CSRF: who.session.CSRF, Error: errText(s.pages.printer(ctx, &who.user), ue), Field: numbersField(action, err), Data: d})
}

// numbersField is the field of the forms that add a static number or a
// pool (their keys in numbers.html: "static-number", "pool-reserve"...) a
// refusal of action is about: a static number that is no phone number, or
// a priority, reserve or cap this page could not read. Any other refusal
// (the tracker's about a pool's numbers, its rule; a pool's own form)
// names what it is about and stands at the top of the page.
func numbersField(action string, err error) string {
	var f string
	switch action {
	case "static-add":
		f = refusedField(err, "", "static number: ", "number", "Priority must be", "priority")
	case "pool-add":
		f = refusedField(err, "", "Priority must be", "priority", "Reserve %q", "reserve", "Numbers per address", "addr_cap")
	}
	if f == "" {
		return ""
	}
	return strings.TrimSuffix(action, "-add") + "-" + f
}

// numbersChange makes the change a form asks for; an import returns what
// it did.
func (s *dashboardHandlers) numbersChange(ctx *fasthttp.RequestCtx, site *store.Site, action string, f map[string]string) (*tracking.ImportResult, error) {
	err := s.numbersEdit(ctx, site, action, f)
	if action != "import" || err != nil {
		return nil, err
	}
	res, err := importNumbers(ctx, s.numbers, site.Region(s.phoneRegion), s.now(), site, f["pool"], f["csv"], nil)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *dashboardHandlers) numbersEdit(ctx *fasthttp.RequestCtx, site *store.Site, action string, f map[string]string) error {
	now := s.now()
	priority := func() (int64, error) {
		if strings.TrimSpace(f["priority"]) == "" {
			return 0, nil
		}
		p, err := strconv.ParseInt(strings.TrimSpace(f["priority"]), 10, 64)
		if err != nil {
			return 0, errorf(fasthttp.StatusBadRequest, "Priority must be a whole number.")
		}
		return p, nil
	}
	rule := func() (tracking.RuleInput, error) {
		p, err := priority()
		return tracking.RuleInput{Rule: f["rule"], Priority: p, Replaces: lines(f["replaces"])}, err
	}
	switch action {
	case "site":
		if _, err := s.numbers.SetSiteNumbers(ctx, site.ID, lines(f["numbers"]), now); err != nil {
			return err
		}
		_, err := s.numbers.SetSelectors(ctx, site.ID, strings.Split(f["selectors"], "\n"), now)
		return err
	case "static-add":
		r, err := rule()
		if err != nil {
			return err
		}
		_, err = s.numbers.AddStatic(ctx, site.ID, tracking.StaticInput{Number: f["number"], RuleInput: r}, now)
		return err
	case "static-remove":
		return s.numbers.RemoveStatic(ctx, site.ID, f["number"], now)
	case "pool-add", "pool-edit":
		r, err := rule()
		if err != nil {
			return err
		}
		reserve, err := parseReserve(f["reserve"])
		if err != nil {
			return err
		}
		in := tracking.PoolInput{Name: f["name"], Numbers: lines(f["numbers"]), Fallback: f["fallback"], Reserve: reserve, RuleInput: r}
		if v := strings.TrimSpace(f["addr_cap"]); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errorf(fasthttp.StatusBadRequest, "Numbers per address: write a whole number, 0 for no cap.")
			}
			in.AddrCap = &n
		}
		if action == "pool-add" {
			_, err = s.numbers.AddPool(ctx, site.ID, in, now)
		} else {
			_, err = s.numbers.UpdatePool(ctx, site.ID, f["pool"], in, now)
		}
		return err
	case "pool-remove":
		return s.numbers.RemovePool(ctx, site.ID, f["pool"], now)
	case "import":
		return nil // numbersChange imports
	}
	return errorf(fasthttp.StatusBadRequest, "Unknown action %q.", action)
}

// maxCallsShown is how many calls a page of the calls list shows; the
// CSV export has them all.
const maxCallsShown = 500

type callsData struct {
	Site  *store.Site
	Calls []callRow
	Days  []tracking.CallDay
	Total tracking.CallDay
	// Unattributed is Total's calls that were not attributed.
	Unattributed int64
	Zone         string   // the zone of the times: the site's
	Page         listPage // the links to older calls, when more than maxCallsShown are left
}

type callRow struct {
	store.Call
	When string
	Pool string
}

// callsPage is GET /sites/KEY/calls: the site's calls, newest first, with
// the visit each is attributed to, and 30 days of totals.
func (s *dashboardHandlers) callsPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	c := s.clock(ctx, &who.user, site)
	d := callsData{Site: site, Zone: zoneLabel(c.loc, s.now())}
	at, err := pageAt(ctx.QueryArgs())
	if err != nil {
		return err
	}
	var next uint64
	row := func(call store.Call) bool {
		if len(d.Calls) == maxCallsShown {
			next = call.ID
			return false
		}
		s.shownChannel(&call)
		d.Calls = append(d.Calls, callRow{Call: call, When: c.at(call.Time), Pool: s.poolName(site.ID, &call)})
		return true
	}
	if at != 0 {
		err = s.numbers.ListCallsAt(ctx, site.ID, at, maxCallsShown+1, row)
	} else {
		err = s.numbers.ListCalls(ctx, site.ID, time.Time{}, maxCallsShown+1, row)
	}
	if err != nil {
		return err
	}
	d.Page = pageLinks("/sites/"+site.Key+"/calls", "", at, next)
	// The site's last 30 days, as the reports' 30 days (counted back on
	// the site's calendar, not the server's).
	now := s.now().In(c.loc)
	if d.Days, err = s.numbers.CallDays(site.ID, now.AddDate(0, 0, -29), now); err != nil {
		return err
	}
	for _, cd := range d.Days {
		d.Total.Calls += cd.Calls
		d.Total.Attributed += cd.Attributed
		d.Total.Answered += cd.Answered
	}
	d.Unattributed = d.Total.Calls - d.Total.Attributed
	return s.renderSite(ctx, who, site, "calls", view{Title: "Calls · " + site.Name, User: &who.user, CSRF: who.session.CSRF, Data: d})
}

// callsCSVHeader names the export's columns.
func callsCSVHeader() []string {
	h := append([]string{"call_id", "started_at", "received_at", "called", "caller", "caller_typed", "duration", "answered", "recording_url",
		"number_kind", "attributed", "match", "visitor_id", "session_id"}, sourceCSVHeader...)
	// Columns added later come after the source, so that a spreadsheet
	// reading the file by column position keeps working.
	return append(h, "called_ext", "pool")
}

// callsCSV is GET /sites/KEY/calls.csv: every call of the site, newest
// first, through csvExport (UTF-8 with a byte-order mark, cells defused).
func (s *dashboardHandlers) callsCSV(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	loc := s.sites.Location(site)
	name := fmt.Sprintf("calls-%s-%s.csv", site.Key, s.now().In(loc).Format("2006-01-02"))
	return csvExport(ctx, s.pages.printer(ctx, &who.user), name, callsCSVHeader(), func(sheet *csvSheet) error {
		return s.numbers.ListCalls(ctx, site.ID, time.Time{}, 0, func(c store.Call) bool {
			s.shownChannel(&c)
			sheet.row(callCSVRow(&c, s.poolName(site.ID, &c), loc))
			return true
		})
	})
}

// poolName is what a call's pool is called: its name now (a pool
// renamed since says its new one), else the name the call was stored
// with, else the one it had when it was removed; "" for a call of no pool.
func (s *dashboardHandlers) poolName(site uint32, c *store.Call) string {
	if c.Pool == 0 {
		return ""
	}
	n, current := s.numbers.PoolName(site, c.Pool)
	if current || c.PoolName == "" {
		return n
	}
	return c.PoolName
}

// shownChannel fills in the channel of a call to a static or fallback
// number stored without one (before it was derived from the rule).
func (s *dashboardHandlers) shownChannel(c *store.Call) {
	if c.Kind == string(tracking.KindStatic) || c.Kind == string(tracking.KindFallback) {
		c.Channel = s.numbers.ChannelOf(c.Source)
	}
}

func callCSVRow(c *store.Call, pool string, loc *time.Location) []string {
	u := func(v uint64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(v, 10)
	}
	return append([]string{u(c.ID), time.UnixMilli(c.Time).In(loc).Format(time.RFC3339), time.UnixMilli(c.Received).In(loc).Format(time.RFC3339),
		c.Called, c.Caller, c.CallerTyped, strconv.FormatUint(uint64(c.Duration), 10), strconv.FormatBool(c.Answered), c.RecordingURL,
		c.Kind, strconv.FormatBool(c.Attributed), c.Match, u(c.Visitor), u(c.Session)}, append(sourceCSV(&c.Source), c.CalledExt, pool)...)
}

// skippedReason is why a numbers import skipped a line, in tr's language.
func skippedReason(tr i18n.Printer, s tracking.Skipped) string {
	switch why := s.Why.(type) {
	case usererr.Phrase:
		return why.Translate(tr.T)
	case error:
		if ue := asUserError(why); ue != nil {
			return translateError(tr, ue)
		}
	}
	return s.Reason
}
