package reports

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"appliance/store"
)

// Day is a calendar date: civil days since 1970-01-01. A site's day is a
// Day in its time zone.
type Day int32

// DayOf is the date of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Date returns the Day of a calendar date (normalised as time.Date does).
func Date(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// civil is d as a date at midnight UTC (only its year, month and day mean
// anything).
func (d Day) civil() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Start is the first instant of d in loc (midnight, or the first moment
// after it when a DST change skips midnight).
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.civil().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// String is d as YYYY-MM-DD.
func (d Day) String() string { return d.civil().Format(time.DateOnly) }

// MarshalText writes d as YYYY-MM-DD (JSON: a string).
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ParseDay reads a YYYY-MM-DD date.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Day(t.Unix() / 86400), nil
}

// Group is what the rows of the sources report are.
type Group string

// The groups of the sources report.
const (
	GroupChannel  Group = "channel"      // organic, social, referral, direct, ad
	GroupSource   Group = "source"       // utm_source, else the referrer's domain
	GroupMedium   Group = "medium"       // utm_medium, else the channel ("cpc" for ad)
	GroupCampaign Group = "campaign"     // utm_campaign
	GroupTerm     Group = "term"         // utm_term
	GroupLanding  Group = "landing_page" // path of the session's first page
	GroupReferrer Group = "referrer"     // the referrer's domain
)

// Groups lists every group, in the order a drill-down goes.
func Groups() []Group {
	return []Group{GroupChannel, GroupSource, GroupMedium, GroupCampaign, GroupTerm, GroupLanding, GroupReferrer}
}

// Model is an attribution model: which of a visitor's sessions an outcome
// is credited to.
type Model string

// The attribution models.
const (
	ModelLastNonDirect Model = "last_non_direct" // the last session not direct; the last when all were
	ModelFirst         Model = "first"
	ModelLast          Model = "last"
)

// Models lists the models in the order of their roll-ups.
func Models() []Model { return []Model{ModelLastNonDirect, ModelFirst, ModelLast} }

// Interval is the width of one point of a timeseries.
type Interval string

// The intervals of a timeseries.
const (
	Hour  Interval = "hour"
	DayI  Interval = "day"
	Week  Interval = "week" // Monday to Sunday
	Month Interval = "month"
)

// Limits of a query.
const (
	// MaxYears is the longest range of a report.
	MaxYears = 5
	// MaxHourDays is the longest range of an hourly timeseries.
	MaxHourDays = 31
)

// Filter narrows the sources report to the sessions of one channel,
// source, medium or campaign (a drill-down: the sources of the ad
// channel, the campaigns of one source...). A nil field does not filter;
// a pointer to "" keeps the sessions without that tag. It applies to the
// groups channel to term only.
type Filter struct {
	Channel, Source, Medium, Campaign *string
}

func (f Filter) empty() bool {
	return f.Channel == nil && f.Source == nil && f.Medium == nil && f.Campaign == nil
}

// Query is a sources report to compute: rows by Group over the days From
// to To (inclusive) of the site's zone, outcomes credited by Model.
type Query struct {
	Site     *store.Site
	From, To Day
	Group    Group
	Model    Model
	Filter   Filter
}

// SeriesQuery is a timeseries to compute: one point per Interval over the
// days From to To (inclusive) of the site's zone.
type SeriesQuery struct {
	Site     *store.Site
	From, To Day
	Interval Interval
	// Filter, when set, narrows the series to the sessions of a drill-down
	// (as Query.Filter) with their outcomes credited by Model; such a
	// series is by day at the finest.
	Filter Filter
	Model  Model
}

// SiteFunc finds a site by its public key.
type SiteFunc func(key string) (*store.Site, error)

// Parameters of the queries (the API's query string).
var (
	sourcesParams = []string{"site", "from", "to", "group", "model", "channel", "source", "medium", "campaign"}
	seriesParams  = []string{"site", "from", "to", "interval", "model", "channel", "source", "medium", "campaign"}
)

// MaxParam is the longest value of a query parameter.
const MaxParam = 512

// ParseSources reads a sources query from the API's parameters: site (a
// site key), from and to (YYYY-MM-DD; default the 30 days up to today in
// the site's zone), group (default channel), model (default
// last_non_direct), and the optional drill-down filters channel, source,
// medium and campaign. Errors are of kind ErrInvalid, or ErrNoSite from
// site.
func ParseSources(args url.Values, site SiteFunc, loc func(*store.Site) *time.Location, now time.Time) (Query, error) {
	var q Query
	if err := checkParams(args, sourcesParams); err != nil {
		return q, err
	}
	s, from, to, err := parseRange(args, site, loc, now)
	if err != nil {
		return q, err
	}
	q = Query{Site: s, From: from, To: to, Group: GroupChannel}
	if g := args.Get("group"); g != "" {
		if !slices.Contains(Groups(), Group(g)) {
			return q, ErrInvalid.Errorf("unknown group %q: want one of %s", g, joinGroups())
		}
		q.Group = Group(g)
	}
	if q.Model, q.Filter, err = parseDrill(args); err != nil {
		return q, err
	}
	if !q.Filter.empty() && (q.Group == GroupLanding || q.Group == GroupReferrer) {
		return q, ErrInvalid.Errorf("channel, source, medium and campaign filter the groups channel to term, not %s", q.Group)
	}
	return q, nil
}

// ParseSeries reads a timeseries query from the API's parameters: site,
// from and to as in ParseSources, and interval (hour, day, week or month;
// default: hour for a range of up to 2 days, day up to 92 days, week up
// to a year, month beyond). An hourly series covers at most MaxHourDays.
// The drill-down filters and model of ParseSources narrow it to the
// sessions of a channel, source, medium or campaign and the outcomes
// credited to them; a filtered series is by day at the finest (its
// default interval is day where it would be hour).
func ParseSeries(args url.Values, site SiteFunc, loc func(*store.Site) *time.Location, now time.Time) (SeriesQuery, error) {
	var q SeriesQuery
	if err := checkParams(args, seriesParams); err != nil {
		return q, err
	}
	s, from, to, err := parseRange(args, site, loc, now)
	if err != nil {
		return q, err
	}
	q = SeriesQuery{Site: s, From: from, To: to, Interval: DefaultInterval(from, to)}
	if q.Model, q.Filter, err = parseDrill(args); err != nil {
		return q, err
	}
	if !q.Filter.empty() && q.Interval == Hour {
		q.Interval = DayI
	}
	if i := args.Get("interval"); i != "" {
		switch Interval(i) {
		case Hour, DayI, Week, Month:
			q.Interval = Interval(i)
		default:
			return q, ErrInvalid.Errorf("unknown interval %q: want hour, day, week or month", i)
		}
	}
	if q.Interval == Hour && !q.Filter.empty() {
		return q, ErrInvalid.Errorf("a series filtered by channel, source, medium or campaign is by day, week or month")
	}
	if q.Interval == Hour && int(to-from)+1 > MaxHourDays {
		return q, ErrInvalid.Errorf("an hourly series covers at most %d days; this range has %d (use interval=day)", MaxHourDays, int(to-from)+1)
	}
	return q, nil
}

// parseDrill reads the attribution model (default last_non_direct) and
// the drill-down filters channel, source, medium and campaign shared by
// the sources report and the timeseries.
func parseDrill(args url.Values) (Model, Filter, error) {
	model, f := ModelLastNonDirect, Filter{}
	if m := args.Get("model"); m != "" {
		if !slices.Contains(Models(), Model(m)) {
			return model, f, ErrInvalid.Errorf("unknown model %q: want last_non_direct, first or last", m)
		}
		model = Model(m)
	}
	for name, p := range map[string]**string{"channel": &f.Channel, "source": &f.Source,
		"medium": &f.Medium, "campaign": &f.Campaign} {
		if args.Has(name) {
			v := args.Get(name)
			*p = &v
		}
	}
	return model, f, nil
}

// DefaultInterval is the interval that fits a range: hour up to 2 days,
// day up to 92, week up to 366, month beyond.
func DefaultInterval(from, to Day) Interval {
	switch n := int(to-from) + 1; {
	case n <= 2:
		return Hour
	case n <= 92:
		return DayI
	case n <= 366:
		return Week
	}
	return Month
}

func joinGroups() string {
	var b strings.Builder
	for i, g := range Groups() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(g))
	}
	return b.String()
}

// checkParams refuses unknown, repeated and oversized parameters.
func checkParams(args url.Values, known []string) error {
	for name, vs := range args {
		if !slices.Contains(known, name) {
			return ErrInvalid.Errorf("unknown parameter %q (parameters are %s)", cut(name, 64), strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return ErrInvalid.Errorf("parameter %q given %d times", name, len(vs))
		}
		if len(vs[0]) > MaxParam {
			return ErrInvalid.Errorf("parameter %q is longer than %d bytes", name, MaxParam)
		}
	}
	return nil
}

// parseRange reads site, from and to. Without from and to the range is
// the 30 days up to today (the site's); with one of them, it is required
// to give the other.
func parseRange(args url.Values, site SiteFunc, loc func(*store.Site) *time.Location, now time.Time) (*store.Site, Day, Day, error) {
	key := args.Get("site")
	if key == "" {
		return nil, 0, 0, ErrInvalid.Errorf("site (the site key) is required")
	}
	s, err := site(key)
	if err != nil || s == nil {
		if errors.Is(err, ErrNoSite) {
			return nil, 0, 0, err // the caller's own words (the API's: "among this token's sites")
		}
		return nil, 0, 0, ErrNoSite.Errorf("no site with the key %q", cut(key, 64))
	}
	fs, ts := args.Get("from"), args.Get("to")
	if fs == "" && ts == "" {
		today := DayOf(now, loc(s))
		return s, today - 29, today, nil
	}
	if fs == "" || ts == "" {
		return nil, 0, 0, ErrInvalid.Errorf("give both from and to (YYYY-MM-DD, in the site's time zone), or neither for the last 30 days")
	}
	from, err := ParseDay(fs)
	if err != nil {
		return nil, 0, 0, ErrInvalid.Errorf("from: %v", err)
	}
	to, err := ParseDay(ts)
	if err != nil {
		return nil, 0, 0, ErrInvalid.Errorf("to: %v", err)
	}
	if from > to {
		return nil, 0, 0, ErrInvalid.Errorf("from %s is after to %s", from, to)
	}
	if from < Date(2000, 1, 1) || to > Date(2200, 1, 1) {
		return nil, 0, 0, ErrInvalid.Errorf("dates must be between 2000-01-01 and 2200-01-01")
	}
	if limit := DayOf(from.civil().AddDate(MaxYears, 0, 0), time.UTC); to >= limit {
		return nil, 0, 0, ErrInvalid.Errorf("the range %s to %s is longer than %d years", from, to, MaxYears)
	}
	return s, from, to, nil
}

// cut shortens s for an error message.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
