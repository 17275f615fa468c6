package visits

// Breakdowns of a site's traffic over a period, read from the raw records
// (sessions, hits, events, properties) rather than from roll-ups: top
// pages, events, visitor properties, devices. A site's sessions are in the
// order they began (ids grow with time), so a period's sessions are one
// key range, found by a binary search on the id; its hits and events are
// then one range each. Bots are left out. The cost grows with the traffic
// of the period, which suits the ranges people look at (days to a few
// months of a small site); the sources report and the chart read roll-ups.

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"appliance/store"
)

// sessionSpan is how long before a period a session may have begun and
// still have page views in it (a session ends after 30 minutes without a
// hit; few run for hours).
const sessionSpan = 6 * time.Hour

// periodSessions calls fn with every session of site that began in
// [start, end), in order; bots included (fn filters). from is the first
// session id to look at, found by a binary search on session ids (they
// grow with time).
func (t *Tracker) periodSessions(ctx context.Context, site uint32, start, end time.Time, fn func(s store.Session) bool) error {
	from, err := t.firstSessionAt(ctx, site, start.UnixMilli())
	if err != nil {
		return err
	}
	endMs := end.UnixMilli()
	var derr error
	err = t.db.Scan(ctx, store.SessionKey(site, from), store.PrefixEnd(store.SessionPrefix(site)), false, 0, func(_, v []byte) bool {
		s, err := store.DecodeSession(v)
		if err != nil {
			derr = err
			return false
		}
		if s.Started >= endMs {
			return false
		}
		if s.Started < start.UnixMilli() {
			return true
		}
		return fn(s)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("sessions of site %d: %w", site, err)
	}
	return nil
}

// firstSessionAt is the id of the site's first session that began at or
// after ms (or an id past every session). Ids grow with time, so "began
// before ms" is true for a prefix of the id range: binary search.
func (t *Tracker) firstSessionAt(ctx context.Context, site uint32, ms int64) (uint64, error) {
	// nextStarted is the start of the first session with id >= id; ok
	// false when there is none.
	nextStarted := func(id uint64) (sid uint64, started int64, ok bool, err error) {
		var derr error
		err = t.db.Scan(ctx, store.SessionKey(site, id), store.PrefixEnd(store.SessionPrefix(site)), false, 1, func(k, v []byte) bool {
			s, e := store.DecodeSession(v)
			sid, started, ok, derr = s.ID, s.Started, true, e
			return false
		})
		if err == nil {
			err = derr
		}
		return sid, started, ok, err
	}
	lo, hi := uint64(0), uint64(1)<<53 // answer in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		sid, started, ok, err := nextStarted(mid)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = mid
			continue
		}
		if started >= ms {
			hi = mid
		} else {
			lo = sid + 1
		}
	}
	return lo, nil
}

// periodVisits is what a breakdown knows of a period's sessions of people.
type periodVisits struct {
	first, last uint64            // session ids, first to last (0, 0: none)
	visitor     map[uint64]uint64 // session id -> visitor id, people only
}

func (t *Tracker) readPeriod(ctx context.Context, site uint32, start, end time.Time, each func(s *store.Session)) (periodVisits, error) {
	pv := periodVisits{visitor: map[uint64]uint64{}}
	err := t.periodSessions(ctx, site, start.Add(-sessionSpan), end, func(s store.Session) bool {
		if pv.first == 0 {
			pv.first = s.ID
		}
		pv.last = s.ID
		if s.Bot {
			return true
		}
		pv.visitor[s.ID] = s.Visitor
		if each != nil && s.Started >= start.UnixMilli() {
			each(&s)
		}
		return true
	})
	return pv, err
}

// PageRow is one page of the top pages report.
type PageRow struct {
	Page     string // the URL's path (host added when the site has several)
	Views    int64  // page views in the period
	Visitors int64  // distinct visitors who viewed it
	Entries  int64  // sessions that began on it
}

// PageKey is how the pages report names a page URL: its host and path,
// without query or fragment (utm tags and click ids would split one page
// into thousands). A URL that does not parse is kept as written.
func PageKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return strings.ToLower(u.Host) + p
}

// Pages returns the pages viewed on site in [start, end), most viewed
// first, at most limit (0: all).
func (t *Tracker) Pages(ctx context.Context, site uint32, start, end time.Time, limit int) ([]PageRow, error) {
	rows := map[string]*PageRow{}
	row := func(k string) *PageRow {
		r := rows[k]
		if r == nil {
			r = &PageRow{Page: k}
			rows[k] = r
		}
		return r
	}
	pv, err := t.readPeriod(ctx, site, start, end, func(s *store.Session) { row(PageKey(s.Landing)).Entries++ })
	if err != nil || pv.first == 0 {
		return nil, err
	}
	type visit struct {
		visitor uint64
		page    string
	}
	seen := map[visit]bool{}
	pageKeys := map[string]string{}
	startMs, endMs := start.UnixMilli(), end.UnixMilli()
	var derr error
	err = t.db.Scan(ctx, store.HitKey(site, pv.first, 0), store.HitKey(site, pv.last+1, 0), false, 0, func(k, v []byte) bool {
		sid, id, _ := store.SessionItemIDs(k)
		vis, ok := pv.visitor[sid]
		if !ok {
			return true
		}
		h, err := store.DecodeHit(sid, id, v)
		if err != nil {
			derr = err
			return false
		}
		if h.Time < startMs || h.Time >= endMs {
			return true
		}
		key, ok := pageKeys[h.URL] // a site has far fewer pages than page views
		if !ok {
			key = PageKey(h.URL)
			pageKeys[h.URL] = key
		}
		r := row(key)
		r.Views++
		if !seen[visit{vis, key}] {
			seen[visit{vis, key}] = true
			r.Visitors++
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("pages of site %d: %w", site, err)
	}
	out := make([]PageRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b PageRow) int {
		return cmp.Or(cmp.Compare(b.Views, a.Views), cmp.Compare(b.Entries, a.Entries), strings.Compare(a.Page, b.Page))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// EventRow is one category / action / name of the events report.
type EventRow struct {
	Category, Action, Name string
	Count                  int64
	Visitors               int64
	Value                  float64 // sum of the values that are numbers
	Valued                 int64   // how many events had a number value
}

// Events returns the custom events of site in [start, end), by category,
// action and name, in that order.
func (t *Tracker) Events(ctx context.Context, site uint32, start, end time.Time) ([]EventRow, error) {
	pv, err := t.readPeriod(ctx, site, start, end, nil)
	if err != nil || pv.first == 0 {
		return nil, err
	}
	type key struct{ c, a, n string }
	rows := map[key]*EventRow{}
	seen := map[key]map[uint64]bool{}
	startMs, endMs := start.UnixMilli(), end.UnixMilli()
	var derr error
	err = t.db.Scan(ctx, store.EventKey(site, pv.first, 0), store.EventKey(site, pv.last+1, 0), false, 0, func(k, v []byte) bool {
		sid, id, _ := store.SessionItemIDs(k)
		vis, ok := pv.visitor[sid]
		if !ok {
			return true
		}
		e, err := store.DecodeEvent(sid, id, v)
		if err != nil {
			derr = err
			return false
		}
		if e.Time < startMs || e.Time >= endMs {
			return true
		}
		kk := key{e.Category, e.Action, e.Name}
		r := rows[kk]
		if r == nil {
			r = &EventRow{Category: e.Category, Action: e.Action, Name: e.Name}
			rows[kk] = r
			seen[kk] = map[uint64]bool{}
		}
		r.Count++
		if !seen[kk][vis] {
			seen[kk][vis] = true
			r.Visitors++
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(e.Value, ",", ".")), 64); err == nil && e.Value != "" {
			r.Value += f
			r.Valued++
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("events of site %d: %w", site, err)
	}
	out := make([]EventRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b EventRow) int {
		return cmp.Or(strings.Compare(a.Category, b.Category), strings.Compare(a.Action, b.Action), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// PropertyRow is how many of a period's visitors have a property with a
// value.
type PropertyRow struct {
	Name, Value string
	Visitors    int64
}

// Properties returns, for the visitors of site with a session in [start,
// end), how many have each property and value, by name and then most
// visitors first. Names are as the visitor first wrote them; values as
// set. Empty values count as "".
func (t *Tracker) Properties(ctx context.Context, site uint32, start, end time.Time) ([]PropertyRow, error) {
	visitors := map[uint64]bool{}
	_, err := t.readPeriod(ctx, site, start, end, func(s *store.Session) { visitors[s.Visitor] = true })
	if err != nil || len(visitors) == 0 {
		return nil, err
	}
	ids := make([]uint64, 0, len(visitors))
	for id := range visitors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	type key struct{ name, value string }
	counts := map[key]int64{}
	display := map[string]string{} // folded name -> name as written
	var derr error
	// One scan over the property family from the first visitor to the
	// last, skipping other visitors, beats a seek per visitor while the
	// period's visitors are most of that id range.
	lower, upper := store.PropertyPrefix(ids[0]), store.PrefixEnd(store.PropertyPrefix(ids[len(ids)-1]))
	err = t.db.Scan(ctx, lower, upper, false, 0, func(k, v []byte) bool {
		if len(k) < 9 {
			return true
		}
		vis := uint64FromKey(k[1:9])
		if !visitors[vis] {
			return true
		}
		p, err := store.DecodeProperty(v)
		if err != nil {
			derr = err
			return false
		}
		folded := string(k[9:])
		if p.Name == "" {
			p.Name = folded
		}
		if _, ok := display[folded]; !ok {
			display[folded] = p.Name
		}
		counts[key{folded, p.Value}]++
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("properties of site %d: %w", site, err)
	}
	out := make([]PropertyRow, 0, len(counts))
	for k, n := range counts {
		out = append(out, PropertyRow{Name: display[k.name], Value: k.value, Visitors: n})
	}
	slices.SortFunc(out, func(a, b PropertyRow) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(b.Visitors, a.Visitors), strings.Compare(a.Value, b.Value))
	})
	return out, nil
}

func uint64FromKey(b []byte) uint64 {
	var n uint64
	for _, c := range b[:8] {
		n = n<<8 | uint64(c)
	}
	return n
}
