package httpd

import (
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/reports"
	"appliance/httpd/sites"
	"appliance/store"
)

// A site's settings page: its name, domains, time zone and where page
// views may come from, its callback and widget settings (the callbacks
// page's form, partials.html "callback-settings"), and removing the site.
// The same domain calls as the admin API's (`appliance site set`,
// `callback set`, `site remove`).

// settingsView is what the settings page shows beside the site; the
// zero value shows the site as stored.
type settingsView struct {
	Name, Domains, TimeZone *string // the form as sent, when refused
	PhoneRegion             *string
	Retention               *string
	Callbacks               callbackSettingsForm
	NewSecret               string // a new scenario secret, shown once
	DropPruned              bool   // the recount form's, when refused
	Flash, Error            string
	Field                   string // the form field Error is about (view.Field)
}

type settingsData struct {
	Site         *store.Site
	Name         string
	Domains      string // one per line
	TimeZone     string
	Zones        []string // suggestions for the time zone field
	ServerZone   string   // named as reports name it: an IANA name, not Go's "Local"
	PhoneRegion  string   // the site's; "" is the server's
	ServerRegion string   // the server's --phone-region
	Regions      []string // suggestions for the phone region field
	Retention    string   // days the site's raw visits are kept; "0": for ever
	MaxRetention int
	Callbacks    callbackSettingsForm
	NewSecret    string
	ZoneName     string       // the zone the site's reports count in now
	Rebuild      *rebuildView // the latest recount of its reports since the start; nil: none
	RebuildText  string       // what the page says of Rebuild
	RebuildError bool         // ... as an error
	PrunedDay    string       // a prune deleted the visits before this day: a recount leaves those days without them
	DropPruned   bool         // the recount form as sent, when refused
}

// zoneSuggestions are offered in the time zone field; any IANA name is
// taken.
var zoneSuggestions = []string{"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
	"Asia/Kamchatka", "Europe/Minsk", "Asia/Almaty", "Europe/Kyiv", "Europe/London", "Europe/Berlin", "UTC"}

// regionSuggestions are offered in the phone region field; any region
// the phone parser knows is taken.
var regionSuggestions = []string{"RU", "KZ", "BY", "UA", "UZ", "KG", "AM", "GE", "AZ", "MD", "TJ", "TM", "DE", "GB", "US"}

// renderSettings answers the settings page of site with status.
func (s *dashboardHandlers) renderSettings(ctx *fasthttp.RequestCtx, who signedIn, site *store.Site, status int, sv settingsView) error {
	d := settingsData{Site: site, Name: site.Name, Domains: strings.Join(site.Domains, "\n"), TimeZone: site.TimeZone,
		Zones: zoneSuggestions, ServerZone: reports.ZoneName(&store.Site{}, s.now().Location()), PhoneRegion: site.PhoneRegion, ServerRegion: s.phoneRegion, Regions: regionSuggestions, NewSecret: sv.NewSecret,
		Retention: strconv.FormatUint(uint64(site.RetentionDays), 10), MaxRetention: sites.MaxRetentionDays}
	if sv.Name != nil {
		d.Name = *sv.Name
	}
	if sv.Domains != nil {
		d.Domains = *sv.Domains
	}
	if sv.TimeZone != nil {
		d.TimeZone = *sv.TimeZone
	}
	if sv.PhoneRegion != nil {
		d.PhoneRegion = *sv.PhoneRegion
	}
	if sv.Retention != nil {
		d.Retention = *sv.Retention
	}
	d.Callbacks = sv.Callbacks
	if d.Callbacks == (callbackSettingsForm{}) {
		w, err := s.callbacks.Settings(site.ID)
		if err != nil {
			return err
		}
		d.Callbacks = settingsForm(w)
	}
	loc := s.sites.Location(site)
	d.ZoneName = reports.ZoneName(site, loc)
	if j := s.rebuilds.job(site.ID); j != nil {
		d.Rebuild = j.view(loc)
		d.RebuildText, d.RebuildError = d.Rebuild.say(s.pages.printer(ctx, &who.user))
	}
	var err error
	if d.PrunedDay, err = s.rebuilds.prunedDay(site); err != nil {
		return err
	}
	d.DropPruned = sv.DropPruned
	nav, err := s.siteNav(ctx, who, site, "settings")
	if err != nil {
		return err
	}
	return s.pages.render(ctx, status, "settings", view{Title: "Settings · " + site.Name, User: &who.user, CSRF: who.session.CSRF,
		Nav: nav, Flash: sv.Flash, Error: sv.Error, Field: sv.Field, Data: d})
}

// settingsPage is GET /sites/KEY/settings.
func (s *dashboardHandlers) settingsPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	var sv settingsView
	switch string(ctx.QueryArgs().Peek("done")) {
	case "site":
		sv.Flash = "Saved."
	case "zone":
		// The roll-ups keep the days of the zone they were counted in.
		sv.Flash = "Saved. Reports count the days and hours of the new time zone from now on; what was counted before keeps those of the old one until you recount the reports below."
	case "rebuild":
		sv.Flash = "The reports are being recounted; this page shows how far it has got."
	case "callbacks":
		sv.Flash = "Callback settings saved."
	}
	return s.renderSettings(ctx, who, site, fasthttp.StatusOK, sv)
}

// settingsPost is POST /sites/KEY/settings: name, domains (one per line
// or comma-separated), time zone and whether page views may come from any
// domain, checked before anything is stored.
func (s *dashboardHandlers) settingsPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	args := ctx.PostArgs()
	name, domains, zone := string(args.Peek("name")), string(args.Peek("domains")), strings.TrimSpace(string(args.Peek("time_zone")))
	region := strings.TrimSpace(string(args.Peek("phone_region")))
	retention := strings.TrimSpace(string(args.Peek("retention_days")))
	anyOrigin := string(args.Peek("any_origin")) == "1"
	// refuse shows the form again as sent, err's message beside form
	// field field ("" none: at the top).
	refuse := func(err error, field string) error {
		ue := asUserError(err)
		if ue == nil || ue.Status() >= 500 {
			return err
		}
		return s.renderSettings(ctx, who, site, ue.Status(), settingsView{Name: &name, Domains: &domains, TimeZone: &zone, PhoneRegion: &region, Retention: &retention,
			Error: errText(s.pages.printer(ctx, &who.user), err), Field: field})
	}
	if _, err := sites.ParseTimeZone(zone); err != nil {
		return refuse(err, "time_zone")
	}
	code, err := sites.ParsePhoneRegion(region)
	if err != nil {
		return refuse(err, "phone_region")
	}
	days, err := sites.ParseRetention(retention)
	if err != nil {
		return refuse(err, "retention_days")
	}
	if _, err := s.sites.Rename(ctx, site.Key, &name, sites.SplitDomains(domains)); err != nil {
		return refuse(err, refusedField(err, "", "name must be", "name", "%q is", "domains", "give 1 to 20 domains", "domains"))
	}
	if zone != site.TimeZone {
		if _, err := s.sites.SetTimeZone(ctx, site.Key, zone); err != nil {
			return refuse(err, "")
		}
	}
	if code != site.PhoneRegion {
		if _, err := s.sites.SetPhoneRegion(ctx, site.Key, code); err != nil {
			return refuse(err, "")
		}
	}
	if uint32(days) != site.RetentionDays {
		if _, err := s.sites.SetRetention(ctx, site.Key, days); err != nil {
			return refuse(err, "")
		}
	}
	if anyOrigin != site.AnyOrigin {
		if _, err := s.sites.SetAnyOrigin(ctx, site.Key, anyOrigin); err != nil {
			return err
		}
	}
	done := "site"
	if zone != site.TimeZone {
		done = "zone"
	}
	s.seeOther(ctx, "/sites/"+site.Key+"/settings?done="+done)
	return nil
}

// removeSitePost is POST /sites/KEY/remove: the site goes when the form
// carries its name as typed (removeSite).
func (s *dashboardHandlers) removeSitePost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	if _, err := removeSite(ctx, s.sites, s.numbers, site.Key, string(ctx.PostArgs().Peek("confirm")), s.now()); err != nil {
		if ue := asUserError(err); ue != nil && ue.Status() < 500 {
			return s.renderSettings(ctx, who, site, ue.Status(), settingsView{Error: errText(s.pages.printer(ctx, &who.user), err), Field: refusedField(err, "", "type the site's name", "confirm")})
		}
		return err
	}
	s.seeOther(ctx, "/sites?removed=1")
	return nil
}

// rebuildPost is POST /sites/KEY/reports/rebuild: the site's reports are
// recounted from its raw records in its time zone, in the background
// (rebuilds), while it goes on taking visits. Once a prune has deleted old
// visits of the site, the form must say that those days may lose them.
func (s *dashboardHandlers) rebuildPost(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	drop := string(ctx.PostArgs().Peek("drop_pruned")) == "1"
	day, err := s.rebuilds.prunedDay(site)
	if err != nil {
		return err
	}
	if day != "" && !drop {
		msg := s.pages.printer(ctx, &who.user).T("Visits before %s were deleted (the site's retention): a recount would leave those days only their leads, callbacks and calls. Tick the box to recount anyway.", day)
		return s.renderSettings(ctx, who, site, fasthttp.StatusConflict, settingsView{Error: msg})
	}
	if err := s.rebuilds.start(site, who.user.Email, drop); err != nil {
		if ue := asUserError(err); ue != nil && ue.Status() < 500 {
			return s.renderSettings(ctx, who, site, ue.Status(), settingsView{Error: errText(s.pages.printer(ctx, &who.user), err), DropPruned: drop})
		}
		return err
	}
	s.seeOther(ctx, "/sites/"+site.Key+"/settings?done=rebuild#rebuild")
	return nil
}

// rebuildState is GET /sites/KEY/reports/rebuild: the site's latest
// recount of its reports as the settings page says it (running, the text
// in the user's language, whether it is an error), which the page asks
// for while one runs (dashboard.js) to show how far it has got and its
// end without a reload. None since the start: not running, no text.
func (s *dashboardHandlers) rebuildState(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	out := map[string]any{"running": false, "text": "", "error": false}
	if j := s.rebuilds.job(site.ID); j != nil {
		v := j.view(s.sites.Location(site))
		text, isErr := v.say(s.pages.printer(ctx, &who.user))
		out = map[string]any{"running": v.Running, "text": text, "error": isErr}
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "result": out})
	return nil
}
