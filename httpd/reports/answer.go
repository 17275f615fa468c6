package reports

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"appliance/httpd/leads"
	"appliance/store"
)

// Money is an amount in hundredths of the currency unit; JSON writes it
// as a decimal number of units (1234.5).
type Money int64

// MarshalJSON writes m as a number of units.
func (m Money) MarshalJSON() ([]byte, error) {
	if m < 0 {
		return []byte("-" + leads.FormatCost(int64(-m))), nil
	}
	return []byte(leads.FormatCost(int64(m))), nil
}

// String writes m as a decimal number of units.
func (m Money) String() string {
	b, _ := m.MarshalJSON()
	return string(b)
}

// Counts are the figures of a row of the sources report (or its total).
type Counts struct {
	Sessions         int64 `json:"sessions"`
	Visitors         int64 `json:"visitors"` // the sum of daily unique visitors (package comment)
	NewVisitors      int64 `json:"new_visitors"`
	Events           int64 `json:"events"`
	Leads            int64 `json:"leads"`
	Callbacks        int64 `json:"callbacks"`
	Calls            int64 `json:"calls"`
	AttributedCalls  int64 `json:"attributed_calls"` // tied to a source; the others are on the row of the source stored with them ("" is direct)
	AnsweredCalls    int64 `json:"answered_calls"`
	FirstTimeCallers int64 `json:"first_time_callers"`
	Chats            int64 `json:"chats"`
	Sales            int64 `json:"sales"`   // leads that are sales
	Revenue          Money `json:"revenue"` // their sale cost
	Cost             Money `json:"cost"`    // ad cost (imported)
}

// Outcomes are the leads, callbacks, calls and chats: what a conversion
// rate divides by sessions.
func (c Counts) Outcomes() int64 { return c.Leads + c.Callbacks + c.Calls + c.Chats }

// Conversion is outcomes per session (0 without sessions).
func (c Counts) Conversion() float64 {
	if c.Sessions == 0 {
		return 0
	}
	return float64(c.Outcomes()) / float64(c.Sessions)
}

// CostPer is the cost of one of n (a lead, a call, an outcome, a sale);
// ok is false without cost or without n.
func (c Counts) CostPer(n int64) (Money, bool) {
	if c.Cost == 0 || n == 0 {
		return 0, false
	}
	return Money((int64(c.Cost) + n/2) / n), true
}

// ROI is (revenue - cost) / cost; ok is false without cost.
func (c Counts) ROI() (float64, bool) {
	if c.Cost == 0 {
		return 0, false
	}
	return float64(c.Revenue-c.Cost) / float64(c.Cost), true
}

func (c *Counts) addLanes(l []int64) {
	at := func(i int) int64 {
		if i < len(l) {
			return l[i]
		}
		return 0
	}
	c.Sessions += at(laneSessions)
	c.Visitors += at(laneVisitors)
	c.NewVisitors += at(laneNewVisitors)
	c.Events += at(laneEvents)
	c.Leads += at(laneLeads)
	c.Callbacks += at(laneCallbacks)
	c.Calls += at(laneCalls)
	c.AttributedCalls += at(laneAttributed)
	c.AnsweredCalls += at(laneAnswered)
	c.FirstTimeCallers += at(laneFirstCallers)
	c.Chats += at(laneChats)
	c.Sales += at(laneSales)
	c.Revenue += Money(at(laneRevenue))
}

// addOutcomes adds only the outcome lanes of l.
func (c *Counts) addOutcomes(l []int64) {
	var o Counts
	o.addLanes(l)
	c.Leads += o.Leads
	c.Callbacks += o.Callbacks
	c.Calls += o.Calls
	c.AttributedCalls += o.AttributedCalls
	c.AnsweredCalls += o.AnsweredCalls
	c.FirstTimeCallers += o.FirstTimeCallers
	c.Chats += o.Chats
	c.Sales += o.Sales
	c.Revenue += o.Revenue
}

// addRollup adds a source roll-up's lanes of model to c: a traffic
// roll-up's sessions and visitors, an attribution model's outcomes.
func (c *Counts) addRollup(model byte, lanes []int64) {
	if model == modelTraffic {
		c.addLanes(lanes[:min(len(lanes), laneLeads)])
	} else if len(lanes) > laneLeads {
		c.addOutcomes(lanes)
	}
}

func (c *Counts) plus(o *Counts) {
	c.Sessions += o.Sessions
	c.Visitors += o.Visitors
	c.NewVisitors += o.NewVisitors
	c.Events += o.Events
	c.Leads += o.Leads
	c.Callbacks += o.Callbacks
	c.Calls += o.Calls
	c.AttributedCalls += o.AttributedCalls
	c.AnsweredCalls += o.AnsweredCalls
	c.FirstTimeCallers += o.FirstTimeCallers
	c.Chats += o.Chats
	c.Sales += o.Sales
	c.Revenue += o.Revenue
	c.Cost += o.Cost
}

// Row is one row of the sources report: its key (a channel, a source...;
// "" for sessions without one, "direct" for the direct channel) and its
// figures.
type Row struct {
	Key string `json:"key"`
	Counts
}

// Sources is the answer of a sources report.
type Sources struct {
	From     Day    `json:"from"`
	To       Day    `json:"to"`
	TimeZone string `json:"time_zone"`
	Group    Group  `json:"group"`
	Model    Model  `json:"model"`
	Rows     []Row  `json:"rows"` // most sessions first, then by key
	Total    Counts `json:"total"`
}

// Point is one interval of a timeseries: the figures of the sources
// report (but cost), so that a range's points add up to its total.
type Point struct {
	At               time.Time `json:"at"` // the interval's start in the site's zone
	Sessions         int64     `json:"sessions"`
	Visitors         int64     `json:"visitors"`
	NewVisitors      int64     `json:"new_visitors"`
	Events           int64     `json:"events"`
	Calls            int64     `json:"calls"`
	AttributedCalls  int64     `json:"attributed_calls"`
	AnsweredCalls    int64     `json:"answered_calls"`
	FirstTimeCallers int64     `json:"first_time_callers"`
	Leads            int64     `json:"leads"`
	Callbacks        int64     `json:"callbacks"`
	Chats            int64     `json:"chats"`
	Sales            int64     `json:"sales"`
	Revenue          Money     `json:"revenue"`
}

// Series is the answer of a timeseries: a point for every interval of the
// range, zeros included.
type Series struct {
	From     Day      `json:"from"`
	To       Day      `json:"to"`
	TimeZone string   `json:"time_zone"`
	Interval Interval `json:"interval"`
	Points   []Point  `json:"points"`
}

// view reads roll-ups: the store's, or Computed's.
type view interface {
	scan(ctx context.Context, lower, upper []byte, fn func(key []byte, lanes []int64) error) error
}

// storeView reads the roll-ups in the store.
type storeView struct{ db *store.DB }

func (v storeView) scan(ctx context.Context, lower, upper []byte, fn func(key []byte, lanes []int64) error) error {
	var ferr error
	var buf [store.MaxLanes]int64
	err := v.db.Scan(ctx, lower, upper, false, 0, func(k, b []byte) bool {
		if len(b)%8 != 0 || len(b)/8 > store.MaxLanes {
			ferr = fmt.Errorf("roll-up %x: %w", k, store.ErrCorrupt)
			return false
		}
		lanes := buf[:len(b)/8]
		for i := range lanes {
			lanes[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
		if err := fn(k, lanes); err != nil {
			ferr = err
			return false
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	return err
}

// Sources answers q from the roll-ups.
func (s *Service) Sources(ctx context.Context, q Query) (Sources, error) {
	return sourcesOf(ctx, storeView{s.db}, s.db, q, s.sites.Location(q.Site))
}

// Series answers q from the roll-ups.
func (s *Service) Series(ctx context.Context, q SeriesQuery) (Series, error) {
	return seriesOf(ctx, storeView{s.db}, q, s.sites.Location(q.Site))
}

// Sources answers q from the computed roll-ups (q.Site must be the site
// computed); costs are read from db.
func (m *Computed) Sources(ctx context.Context, db *store.DB, q Query) (Sources, error) {
	return sourcesOf(ctx, m, db, q, m.loc)
}

// Series answers q from the computed roll-ups.
func (m *Computed) Series(ctx context.Context, q SeriesQuery) (Series, error) {
	return seriesOf(ctx, m, q, m.loc)
}

// ZoneName is the name of a site's zone for answers: its TimeZone, or
// the server's zone's IANA name (serverZone) rather than Go's "Local",
// which no client can load.
func ZoneName(site *store.Site, loc *time.Location) string {
	if site.TimeZone != "" {
		return site.TimeZone
	}
	if loc == time.Local {
		return serverZone()
	}
	return loc.String()
}

// serverZone names the zone time.Local was read from, as Go reads it: $TZ
// ("" is UTC; a path names the zone under its zoneinfo folder), else the
// zone /etc/localtime links to; "UTC" when none names a zone Go can load
// and the zone is UTC all year, else its abbreviation now.
func serverZone() string {
	loadable := func(name string) (string, bool) {
		if _, after, ok := strings.Cut(name, "zoneinfo/"); ok {
			name = after
		}
		_, err := time.LoadLocation(name)
		return name, err == nil && name != "" && name != "Local"
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		tz = strings.TrimPrefix(tz, ":")
		if tz == "" {
			return "UTC"
		}
		if name, ok := loadable(tz); ok {
			return name
		}
	} else if target, err := os.Readlink("/etc/localtime"); err == nil {
		if name, ok := loadable(target); ok {
			return name
		}
	}
	year := time.Now().Year()
	_, jan := time.Date(year, 1, 1, 0, 0, 0, 0, time.Local).Zone()
	_, jul := time.Date(year, 7, 1, 0, 0, 0, 0, time.Local).Zone()
	if jan == 0 && jul == 0 {
		return "UTC"
	}
	name, _ := time.Now().Zone()
	return name
}

func dimOf(g Group) byte {
	switch g {
	case GroupLanding:
		return dimLanding
	case GroupReferrer:
		return dimRef
	case GroupTerm:
		return dimTerm
	}
	return dimSource
}

// rowKey is the row a roll-up key adds to in q's report (aliasing row);
// ok is false when q's filter leaves it out.
func rowKey(q *Query, row []byte) ([]byte, bool) {
	if d := dimOf(q.Group); d != dimSource && d != dimTerm {
		return row, true
	}
	for i, want := range [...]*string{q.Filter.Channel, q.Filter.Source, q.Filter.Medium, q.Filter.Campaign} {
		if want == nil {
			continue
		}
		if f, ok := sourceField(row, i); !ok || string(f) != *want {
			return nil, false
		}
	}
	return sourceField(row, fieldOf(q.Group))
}

// scanNoTerm adds the source rows of q's range and model that q's filter
// keeps to the term report's rows (get): to "", less what the term rows
// took from it (sourcesOf), or, in a store written before terms had rows
// of their own, to the term the row holds as its fifth field.
func scanNoTerm(ctx context.Context, v view, q *Query, model byte, get func([]byte) *Counts) error {
	f := Query{Group: GroupCampaign, Filter: q.Filter} // rowKey's filter over the source rows
	lower := store.ReportKey(q.Site.ID, dimSource, model, uint32(q.From), nil)
	upper := store.ReportKey(q.Site.ID, dimSource, model, uint32(q.To)+1, nil)
	return v.scan(ctx, lower, upper, func(key []byte, lanes []int64) error {
		_, row, ok := store.ParseReportKey(key)
		if !ok {
			return nil
		}
		if _, ok := rowKey(&f, row); !ok {
			return nil
		}
		term, _ := sourceField(row, fieldOf(GroupTerm))
		get(term).addRollup(model, lanes)
		return nil
	})
}

func sourcesOf(ctx context.Context, v view, db *store.DB, q Query, loc *time.Location) (Sources, error) {
	out := Sources{From: q.From, To: q.To, TimeZone: ZoneName(q.Site, loc), Group: q.Group, Model: q.Model, Rows: []Row{}}
	rows := map[string]*Counts{}
	get := func(k []byte) *Counts {
		c := rows[string(k)] // no copy of k to look it up
		if c == nil {
			c = &Counts{}
			rows[string(k)] = c
		}
		return c
	}
	dim := dimOf(q.Group)
	for _, model := range []byte{modelTraffic, modelByte(q.Model)} {
		lower := store.ReportKey(q.Site.ID, dim, model, uint32(q.From), nil)
		upper := store.ReportKey(q.Site.ID, dim, model, uint32(q.To)+1, nil)
		var neg [store.MaxLanes]int64
		err := v.scan(ctx, lower, upper, func(key []byte, lanes []int64) error {
			_, row, ok := store.ParseReportKey(key)
			if !ok {
				return nil
			}
			k, ok := rowKey(&q, row)
			if !ok {
				return nil
			}
			if dim == dimTerm {
				if len(k) == 0 {
					return nil // a store's older "" row: the source rows count it
				}
				// The sessions without a term are the source rows'
				// less the term rows under them.
				for i, l := range lanes {
					neg[i] = -l
				}
				get(nil).addRollup(model, neg[:len(lanes)])
			}
			c := get(k)
			c.addRollup(model, lanes)
			return nil
		})
		if err == nil && dim == dimTerm {
			err = scanNoTerm(ctx, v, &q, model, get)
		}
		if err != nil {
			return out, fmt.Errorf("sources report: %w", err)
		}
	}
	if c := rows[""]; c != nil && *c == (Counts{}) && q.Group == GroupTerm {
		delete(rows, "") // every session had a term
	}
	var total Money // the costs q's filter keeps
	err := scanCosts(ctx, db, q.Site.ID, q.From, q.To, func(day Day, source, medium, campaign string, amount Money) {
		for i, want := range [...]*string{q.Filter.Channel, q.Filter.Source, q.Filter.Medium, q.Filter.Campaign} {
			if want == nil {
				continue
			}
			if have := [...]string{"ad", source, medium, campaign}[i]; have != *want {
				return
			}
		}
		total += amount
		var k string
		switch q.Group {
		case GroupChannel:
			k = "ad"
		case GroupSource:
			k = source
		case GroupMedium:
			k = medium
		case GroupCampaign:
			k = campaign
		default:
			return // term, landing page, referrer: the total only
		}
		get([]byte(k)).Cost += amount
	})
	if err != nil {
		return out, fmt.Errorf("sources report: %w", err)
	}
	for k, c := range rows {
		if *c == (Counts{}) {
			continue // rows whose lanes add up to nothing the report shows
		}
		out.Rows = append(out.Rows, Row{Key: k, Counts: *c})
		out.Total.plus(c)
	}
	if q.Group == GroupTerm || q.Group == GroupLanding || q.Group == GroupReferrer {
		// The rows have no costs: the total has those of the drill-down
		// (a campaign's terms: the campaign's), as the row above it.
		out.Total.Cost = total
	}
	slices.SortFunc(out.Rows, func(a, b Row) int {
		if c := cmp.Compare(b.Sessions, a.Sessions); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Outcomes(), a.Outcomes()); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out, nil
}

func seriesOf(ctx context.Context, v view, q SeriesQuery, loc *time.Location) (Series, error) {
	out := Series{From: q.From, To: q.To, TimeZone: ZoneName(q.Site, loc), Interval: q.Interval, Points: []Point{}}
	if !q.Filter.empty() && q.Interval == Hour {
		return out, ErrInvalid.Errorf("a series filtered by channel, source, medium or campaign is by day, week or month")
	}
	// sum adds up the hours first to end (hour numbers since the epoch's
	// day 0; whole days when filtered).
	var sum func(c *Counts, first, end uint32)
	if q.Filter.empty() {
		hours := map[uint32][]int64{}
		lower := store.ReportKey(q.Site.ID, dimHour, modelTraffic, uint32(q.From)*24, nil)
		upper := store.ReportKey(q.Site.ID, dimHour, modelTraffic, (uint32(q.To)+1)*24, nil)
		err := v.scan(ctx, lower, upper, func(key []byte, lanes []int64) error {
			if p, row, ok := store.ParseReportKey(key); ok && len(row) == 0 {
				hours[p] = slices.Clone(lanes)
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("timeseries: %w", err)
		}
		sum = func(c *Counts, first, end uint32) {
			for h := first; h < end; h++ {
				if l := hours[h]; l != nil {
					c.addLanes(l)
				}
			}
		}
	} else {
		if q.Model == "" {
			q.Model = ModelLastNonDirect
		}
		days, err := filteredDays(ctx, v, q)
		if err != nil {
			return out, fmt.Errorf("timeseries: %w", err)
		}
		sum = func(c *Counts, first, end uint32) {
			for d := first / 24; d < end/24; d++ {
				if dc := days[d]; dc != nil {
					c.plus(dc)
				}
			}
		}
	}
	addHours := func(p *Point, first, end uint32) {
		var c Counts
		sum(&c, first, end)
		p.Sessions += c.Sessions
		p.Visitors += c.Visitors
		p.NewVisitors += c.NewVisitors
		p.Events += c.Events
		p.Calls += c.Calls
		p.AttributedCalls += c.AttributedCalls
		p.AnsweredCalls += c.AnsweredCalls
		p.FirstTimeCallers += c.FirstTimeCallers
		p.Leads += c.Leads
		p.Callbacks += c.Callbacks
		p.Chats += c.Chats
		p.Sales += c.Sales
		p.Revenue += c.Revenue
	}
	switch q.Interval {
	case Hour:
		last := ^uint32(0)
		end := q.To + 1
		for t := q.From.Start(loc); DayOf(t, loc) < end; t = t.Add(time.Hour) {
			h := hourOf(t, loc)
			if h == last {
				continue // the hour clocks repeat when they go back: one period
			}
			last = h
			p := Point{At: t.In(loc)}
			addHours(&p, h, h+1)
			out.Points = append(out.Points, p)
		}
	default:
		for d := q.From; d <= q.To; {
			start := d
			next := d + 1
			switch q.Interval {
			case Week:
				wd := (int(start.civil().Weekday()) + 6) % 7 // Monday 0
				start = d - Day(wd)
				next = start + 7
			case Month:
				y, m, _ := d.civil().Date()
				start = Date(y, m, 1)
				next = Date(y, m+1, 1)
			}
			p := Point{At: start.Start(loc)}
			addHours(&p, uint32(d)*24, uint32(min(next, q.To+1))*24)
			out.Points = append(out.Points, p)
			d = next
		}
	}
	return out, nil
}

// filteredDays are the figures of q's filter by day: the sources
// report's rows (sessions by the day they started, outcomes credited by
// q.Model) that the filter keeps, summed per day.
func filteredDays(ctx context.Context, v view, q SeriesQuery) (map[uint32]*Counts, error) {
	days := map[uint32]*Counts{}
	f := Query{Group: GroupCampaign, Filter: q.Filter} // rowKey's filter over the source rows (their last field, campaign)
	for _, model := range []byte{modelTraffic, modelByte(q.Model)} {
		lower := store.ReportKey(q.Site.ID, dimSource, model, uint32(q.From), nil)
		upper := store.ReportKey(q.Site.ID, dimSource, model, uint32(q.To)+1, nil)
		err := v.scan(ctx, lower, upper, func(key []byte, lanes []int64) error {
			day, row, ok := store.ParseReportKey(key)
			if !ok {
				return nil
			}
			if _, ok := rowKey(&f, row); !ok {
				return nil
			}
			c := days[day]
			if c == nil {
				c = &Counts{}
				days[day] = c
			}
			c.addRollup(model, lanes)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return days, nil
}
