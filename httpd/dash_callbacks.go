package httpd

import (
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/callbacks"
	"appliance/httpd/leads"
	"appliance/numbers"
	"appliance/store"
)

// maxCallbacksShown is how many callbacks a page of the callbacks list
// shows; the CSV export has them all.
const maxCallbacksShown = 500

// callbackFilterForm is the callbacks filter as the form shows it.
type callbackFilterForm struct {
	From, To, State, Phone string
	Status                 string // new, in_progress, done, spam; "" any
	Query                  string // the filter as a query string; "" when none
	At                     uint64 // the page's cursor (pageAt)
	Back                   string // the filter with the cursor, for a mark form to return to
	// CSV is the export's URL with the filter; a template.URL because
	// html/template would escape the query's "=" and "&" as one value.
	CSV template.URL
}

// callbackFilter reads the filter of the callbacks page and export from
// the query: from and to are days (YYYY-MM-DD in loc, the site's zone,
// both included), state a state name, phone what the phone contains (callbacks.Filter).
func callbackFilter(args *fasthttp.Args, loc *time.Location) (callbacks.Filter, callbackFilterForm, error) {
	ff := callbackFilterForm{From: string(args.Peek("from")), To: string(args.Peek("to")),
		State: string(args.Peek("state")), Phone: strings.TrimSpace(string(args.Peek("phone"))), Status: string(args.Peek("status"))}
	f := callbacks.Filter{Status: ff.Status}
	var err error
	if f.From, f.To, err = dayRange(ff.From, ff.To, loc); err != nil {
		return f, ff, err
	}
	var ok bool
	if f.State, ok = callbacks.ParseState(ff.State); !ok {
		return f, ff, errorf(fasthttp.StatusBadRequest, "State must be pending, sent, failed, no_scenario or empty.")
	}
	if ff.Status != "" && !leads.ValidStatus(ff.Status) {
		return f, ff, errorf(fasthttp.StatusBadRequest, "Status must be new, in_progress, done, spam or empty.")
	}
	// A filter written as a number (digits, spaces, + - ( ) .) matches by
	// digits; any filter matches a phone typed with it in it.
	f.PhoneText = ff.Phone
	if strings.Trim(ff.Phone, "0123456789 +-().") == "" {
		f.Phone = numbers.Digits(ff.Phone)
	}
	q := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(q)
	for _, kv := range [][2]string{{"from", ff.From}, {"to", ff.To}, {"state", ff.State}, {"phone", ff.Phone}, {"status", ff.Status}} {
		if kv[1] != "" {
			q.Add(kv[0], kv[1])
		}
	}
	ff.Query = q.String()
	if ff.At, err = pageAt(args); err != nil {
		return f, ff, err
	}
	ff.Back = backWith(ff.Query, ff.At)
	return f, ff, nil
}

// callbackRow is a callback as the callbacks page shows it.
type callbackRow struct {
	callbacks.View
	Time      string
	CallAt    string // "" for an immediate call
	Attempts  uint32
	LastTry   string
	LastCode  int
	LastError string // the technical detail under LastWhy, in English (callbacks.Detail)
	LastWhy   string // the kind of failure in words, a catalog key (callbacks.ReasonText)
	Sent      string
	Mark      markCell
}

// callbackSettingsForm is the settings form of the callbacks page.
type callbackSettingsForm struct {
	URL        string
	SecretHint string // the secret's last four characters
	Captcha    bool
	Digits     int // of the captcha: 4 or 6
	Lang       string
	Groups     string
	Queue      bool // callbacks without a scenario are kept to call back
}

// callbackFormView is what partials.html "callback-settings" needs: the
// site, the session's form token, the settings, and the page to return to
// ("settings", or "" for the callbacks page), and the page's view, whose
// refusal may be about one of its fields (invalidAttrs' keys "callback-").
type callbackFormView struct {
	Key, CSRF string
	Settings  callbackSettingsForm
	Back      string
	View      view
}

type callbacksData struct {
	Site      *store.Site
	Rows      []callbackRow
	Filter    callbackFilterForm
	States    []string
	Page      listPage // the links to older callbacks, when more than maxCallbacksShown are left
	Settings  callbackSettingsForm
	NewSecret string // shown once, right after it was made
	Zone      string // the zone of the times: the site's
}

func (s *dashboardHandlers) callbacksData(ctx *fasthttp.RequestCtx, who signedIn, site *store.Site) (callbacksData, error) {
	csrf, c := who.session.CSRF, s.clock(ctx, &who.user, site)
	d := callbacksData{Site: site, Zone: zoneLabel(c.loc, s.now()),
		States: []string{"pending", "sent", "failed", "no_scenario"}}
	f, ff, err := callbackFilter(ctx.QueryArgs(), c.loc)
	if err != nil {
		return d, err
	}
	ff.CSV = exportLink(site.Key, "callbacks.csv", ff.Query)
	d.Filter = ff
	w, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return d, err
	}
	d.Settings = settingsForm(w)
	marks, err := s.callbacks.Marks(ctx, site.ID)
	if err != nil {
		return d, err
	}
	action := "/sites/" + site.Key + "/callbacks/mark"
	var next uint64
	page := f
	page.At = ff.At
	err = s.callbacks.List(ctx, site.ID, page, maxCallbacksShown+1, func(cb store.Callback) bool {
		if len(d.Rows) == maxCallbacksShown {
			next = cb.ID
			return false
		}
		d.Rows = append(d.Rows, callbackRow{View: callbacks.ViewOf(&cb, w.Groups), Time: c.at(cb.Time),
			CallAt: c.at(cb.Delayed), Attempts: cb.Attempts, LastTry: c.at(cb.LastTry), LastCode: cb.LastCode,
			LastError: callbacks.Detail(&cb), LastWhy: callbacks.ReasonText(cb.LastReason), Sent: c.at(cb.Sent), Mark: markCellOf(c, action, csrf, ff.Back, cb.ID, marks[cb.ID])})
		return true
	})
	d.Page = pageLinks("/sites/"+site.Key+"/callbacks", ff.Query, ff.At, next)
	return d, err
}

func settingsForm(w store.WidgetSettings) callbackSettingsForm {
	f := callbackSettingsForm{URL: w.ScenarioURL, Captcha: w.Captcha, Digits: callbacks.CaptchaDigits(w), Lang: w.Lang, Groups: callbacks.FormatGroups(w.Groups),
		Queue: !w.NoQueue}
	if w.ScenarioSecret != "" {
		f.SecretHint = "…" + w.ScenarioSecret[max(0, len(w.ScenarioSecret)-4):]
	}
	return f
}

// callbacksPage is GET /sites/KEY/callbacks: the site's callbacks, newest
// first, and its callback settings.
func (s *dashboardHandlers) callbacksPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	d, err := s.callbacksData(ctx, who, site)
	if err != nil {
		return err
	}
	v := view{Title: "Callbacks · " + site.Name, User: &who.user, CSRF: who.session.CSRF, Data: d}
	if string(ctx.QueryArgs().Peek("done")) == "saved" {
		v.Flash = "Callback settings saved."
	}
	return s.renderSite(ctx, who, site, "callbacks", v)
}

// callbackSettingsPost is POST /sites/KEY/callbacks: save the settings. A
// new secret is shown once, on the page this answers; otherwise it
// redirects back.
func (s *dashboardHandlers) callbackSettingsPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	args := ctx.PostArgs()
	toSettings := string(args.Peek("back")) == "settings" // sent from the site's settings page
	before, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return err
	}
	scenario, secret, lang := string(args.Peek("url")), strings.TrimSpace(string(args.Peek("secret"))), string(args.Peek("lang"))
	captchaOn := string(args.Peek("captcha")) == "1"
	c := callbacks.Change{ScenarioURL: &scenario, Captcha: &captchaOn, Lang: &lang}
	if len(args.Peek("queue_shown")) > 0 { // a form without the box keeps the setting
		queue := string(args.Peek("queue")) == "1"
		c.Queue = &queue
	}
	digits := before.CaptchaDigits
	if raw := args.Peek("captcha_digits"); len(raw) > 0 {
		var derr error
		if digits, derr = strconv.Atoi(string(raw)); derr != nil {
			digits = -1 // refused by Configure, with the message every wrong length gets
		}
		c.CaptchaDigits = &digits
	}
	if secret != "" {
		c.Secret = &secret
	}
	groups, err := callbacks.ParseGroups(string(args.Peek("groups")))
	if err == nil {
		c.Groups = &groups
		_, err = s.callbacks.Configure(ctx, site.ID, c)
	}
	if errors.Is(err, callbacks.ErrSettings) {
		d, derr := s.callbacksData(ctx, who, site)
		if derr != nil {
			return derr
		}
		d.Settings = callbackSettingsForm{URL: scenario, SecretHint: d.Settings.SecretHint, Captcha: captchaOn, Digits: digits, Lang: lang,
			Groups: string(args.Peek("groups")), Queue: d.Settings.Queue}
		if c.Queue != nil {
			d.Settings.Queue = *c.Queue
		}
		field := callbackField(err)
		if toSettings {
			return s.renderSettings(ctx, who, site, fasthttp.StatusBadRequest, settingsView{Callbacks: d.Settings, Error: errText(s.pages.printer(ctx, &who.user), err), Field: field})
		}
		return s.pages.render(ctx, fasthttp.StatusBadRequest, "callbacks", view{Title: "Callbacks · " + site.Name,
			User: &who.user, CSRF: who.session.CSRF, Error: errText(s.pages.printer(ctx, &who.user), err), Field: field, Data: d})
	}
	if err != nil {
		return err
	}
	after, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return err
	}
	if after.ScenarioSecret == "" || after.ScenarioSecret == before.ScenarioSecret {
		if toSettings {
			s.seeOther(ctx, "/sites/"+site.Key+"/settings?done=callbacks")
			return nil
		}
		s.seeOther(ctx, "/sites/"+site.Key+"/callbacks?done=saved")
		return nil
	}
	if toSettings {
		return s.renderSettings(ctx, who, site, fasthttp.StatusOK, settingsView{Callbacks: settingsForm(after), NewSecret: after.ScenarioSecret,
			Flash: "Callback settings saved."})
	}
	d, err := s.callbacksData(ctx, who, site)
	if err != nil {
		return err
	}
	d.NewSecret = after.ScenarioSecret
	return s.pages.render(ctx, fasthttp.StatusOK, "callbacks", view{Title: "Callbacks · " + site.Name, User: &who.user,
		CSRF: who.session.CSRF, Flash: "Callback settings saved.", Data: d})
}

// callbacksCSVHeader names the export's columns.
func callbacksCSVHeader() []string {
	return append([]string{"id", "created_at", "state", "phone", "phone_raw", "delayed_call_time", "group_id", "group_name",
		"attempts", "last_attempt", "last_status", "last_error", "sent_at", "page_url", "visitor_id", "session_id", "hit_id",
		"status", "note"}, sourceCSVHeader...)
}

// callbacksCSV is GET /sites/KEY/callbacks.csv: every callback the filter
// selects, newest first, for a spreadsheet (csvExport, as leads).
func (s *dashboardHandlers) callbacksCSV(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	loc := s.sites.Location(site)
	f, _, err := callbackFilter(ctx.QueryArgs(), loc)
	if err != nil {
		return err
	}
	w, err := s.callbacks.Settings(site.ID)
	if err != nil {
		return err
	}
	marks, err := s.callbacks.Marks(ctx, site.ID)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("callbacks-%s-%s.csv", site.Key, s.now().In(loc).Format("2006-01-02"))
	return csvExport(ctx, s.pages.printer(ctx, &who.user), name, callbacksCSVHeader(), func(sheet *csvSheet) error {
		return s.callbacks.List(ctx, site.ID, f, 0, func(cb store.Callback) bool {
			sheet.row(callbackCSVRow(&cb, w.Groups, marks[cb.ID], loc))
			return true
		})
	})
}

func callbackCSVRow(cb *store.Callback, groups []store.WidgetGroup, m store.Mark, loc *time.Location) []string {
	v := callbacks.ViewOf(cb, groups)
	u := func(v uint64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(v, 10)
	}
	ms := func(t int64) string {
		if t == 0 {
			return ""
		}
		return time.UnixMilli(t).In(loc).Format(time.RFC3339)
	}
	code := ""
	if cb.LastCode != 0 {
		code = strconv.Itoa(cb.LastCode)
	}
	return append([]string{u(cb.ID), ms(cb.Time), v.State, cb.Phone, cb.PhoneRaw, ms(cb.Delayed), u(cb.GroupID), v.GroupName,
		strconv.FormatUint(uint64(cb.Attempts), 10), ms(cb.LastTry), code, cb.LastError, ms(cb.Sent), cb.PageURL,
		u(cb.Visitor), u(cb.Session), u(cb.Hit), leads.StatusOf(m), m.Note}, sourceCSV(&cb.Source)...)
}

// callbackField is the field of the callback settings' form (partials.html
// "callback-settings") a refusal of callbacks.Configure or ParseGroups is
// about: the scenario URL, its secret or the groups; none for the captcha
// or the language, which are chosen from a list.
func callbackField(err error) string {
	return refusedField(err, "", "the scenario URL", "callback-url", "a secret", "callback-secret",
		"at most %d groups", "callback-groups", "a group id", "callback-groups", "group ", "callback-groups", "%q: ", "callback-groups")
}
