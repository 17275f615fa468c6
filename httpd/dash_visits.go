package httpd

import (
	"context"
	"strings"
	"time"

	"appliance/httpd/i18n"
	"appliance/httpd/visits"
	"appliance/store"
)

// recentVisits is how many sessions the site page lists.
const recentVisits = 50

// visitsView is the "Recent visits" part of the site page: today's
// roll-ups and the latest sessions, newest first. Every string in it is
// visitor-typed or page-derived text: the template prints it as text.
type visitsView struct {
	SiteKey  string // for the links to visitor cards
	Day      string // the day of the totals, in the reader's language
	DayZone  string // the zone of that day: the site's
	Zone     string // the zone of the visits' times: the site's
	Today    visits.Totals
	BotViews string // today's page views of bots, counted in words: "1 page view", "5 просмотров"
	Channels []channelCount
	Visits   []visitRow
}

type channelCount struct {
	Channel visits.Channel
	N       int64
}

// visitRow is one session as the table shows it.
type visitRow struct {
	ID         uint64
	Started    string // in the site's zone and the reader's language
	StartedISO string
	Channel    string
	UTM        store.Source // its tags, as the utm-tags partial writes them
	Click      string
	ClickID    string
	Referrer   string
	Landing    string
	Pages      []pageRow
	MorePages  int // page views not listed
	Events     []store.Event
	MoreEvents int
	VisitorID  uint64
	Name       string
	Phones     []string
	Emails     []string
	Properties []visits.NamedProperty
	Bot        bool
	UserAgent  string
}

type pageRow struct {
	Time  string // in the site's zone, 15:04:05; with the date past the visit's first day
	URL   string
	Title string
}

// siteVisits reads the site page's recent visits and today's totals,
// written in tr's language with times in the site's zone.
func (s *dashboardHandlers) siteVisits(ctx context.Context, site *store.Site, tr i18n.Printer) (visitsView, error) {
	now, loc := s.visits.Now(), s.sites.Location(site)
	zone := zoneLabel(loc, now)
	v := visitsView{SiteKey: site.Key, Day: tr.Date(now.In(loc)), DayZone: zone, Zone: zone}
	var err error
	if v.Today, err = s.visits.Day(site, now); err != nil {
		return v, err
	}
	v.BotViews = grouped(tr.N("%d page view", int(v.Today.BotHits)), v.Today.BotHits)
	for _, c := range visits.Channels() {
		if n := v.Today.Channels[c]; n > 0 {
			v.Channels = append(v.Channels, channelCount{c, n})
		}
	}
	recent, err := s.visits.Recent(ctx, site.ID, recentVisits)
	if err != nil {
		return v, err
	}
	for _, r := range recent {
		v.Visits = append(v.Visits, newVisitRow(r, tr, loc))
	}
	return v, nil
}

func newVisitRow(r visits.Visit, tr i18n.Printer, loc *time.Location) visitRow {
	ss := &r.Session
	started := time.UnixMilli(ss.Started).In(loc)
	row := visitRow{
		ID: ss.ID, Started: tr.DateTime(started), StartedISO: started.Format(time.RFC3339),
		Channel: ss.Channel, Click: ss.Click, ClickID: ss.ClickID, Referrer: ss.Referrer, Landing: ss.Landing,
		Events: r.Events, VisitorID: ss.Visitor, Name: r.Visitor.Name, Phones: r.Visitor.Phones,
		Emails: r.Visitor.Emails, Properties: r.Properties, Bot: ss.Bot, UserAgent: ss.UserAgent,
	}
	row.UTM = ss.TrafficSource()
	for _, h := range r.Pages {
		row.Pages = append(row.Pages, pageRow{Time: timeSince(tr, loc, ss.Started, h.Time), URL: h.URL, Title: h.Title})
	}
	row.MorePages = max(int(ss.Hits)-len(r.Pages), 0)
	row.MoreEvents = max(int(ss.Events)-len(r.Events), 0)
	if len(row.ClickID) > 24 {
		row.ClickID = strings.ToValidUTF8(row.ClickID[:24], "") + "…"
	}
	return row
}

// timeSince is the time ms of something within what began at start (a
// page of a visit, a line of a chat), in loc: the time of day, with the
// date when its day in loc is not start's (a visit across midnight).
func timeSince(tr i18n.Printer, loc *time.Location, start, ms int64) string {
	at, from := time.UnixMilli(ms).In(loc), time.UnixMilli(start).In(loc)
	if y, m, d := at.Date(); y != from.Year() || m != from.Month() || d != from.Day() {
		return tr.DateTime(at)
	}
	return at.Format(time.TimeOnly)
}
