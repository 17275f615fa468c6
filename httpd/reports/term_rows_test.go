package reports

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"appliance/store"
)

// TestTermRowsOfEveryFormat checks the term report over roll-ups as each
// version wrote them: the sessions without a term, which write no term
// row now, are the source rows less the term rows; the "" term rows a
// store written before holds are left out (the source rows count them),
// also on a day that has both; source rows with the term as their fifth
// field (before terms had rows) count under that term.
func TestTermRowsOfEveryFormat(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	site := &store.Site{ID: 1}
	sessions := []store.Session{
		{ID: 1, Visitor: 11, Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "brand", UTMTerm: "shoes"},
		{ID: 2, Visitor: 12, Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "brand", UTMTerm: "shoes"},
		{ID: 3, Visitor: 13, Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "brand"},
		{ID: 4, Visitor: 14, Channel: "organic", Referrer: "https://www.google.com/"},
		{ID: 5, Visitor: 15, Channel: "ad", UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: "brand", UTMTerm: "boots"},
	}
	for i := range sessions {
		sessions[i].Started = day.Add(time.Duration(i) * time.Minute).UnixMilli()
	}
	cpc := "cpc"
	want := map[string]map[string]int64{
		"all": {"shoes": 2, "boots": 1, "": 2},
		"cpc": {"shoes": 2, "boots": 1, "": 1},
	}
	report := func(t *testing.T, m *Computed) {
		t.Helper()
		m.keys = slices.Sorted(maps.Keys(m.rollups))
		for name, f := range map[string]Filter{"all": {}, "cpc": {Medium: &cpc}} {
			q := Query{Site: site, From: DayOf(day, time.UTC), To: DayOf(day, time.UTC), Group: GroupTerm, Model: ModelLast, Filter: f}
			got, err := m.Sources(context.Background(), db, q)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]int64{}
			for _, r := range got.Rows {
				have[r.Key] = r.Sessions
				if r.Visitors != r.Sessions || r.NewVisitors != r.Sessions {
					t.Errorf("%s: row %q: %+v", name, r.Key, r.Counts)
				}
			}
			if !maps.Equal(have, want[name]) {
				t.Errorf("%s: sessions by term %v, want %v", name, have, want[name])
			}
			var total int64
			for _, n := range want[name] {
				total += n
			}
			if got.Total.Sessions != total {
				t.Errorf("%s: total %+v, want %d sessions", name, got.Total, total)
			}
		}
	}
	newComputed := func() *Computed {
		return &Computed{site: 1, loc: time.UTC, rollups: map[string]*[numLanes]int64{}, touches: map[uint64]store.Touch{}}
	}
	// count counts sessions[i] as this version does; old, as the version
	// before did (a "" term row for a session without a term too);
	// oldest, as the version before terms had rows.
	count := func(m *Computed, i int, format string) {
		s := &sessions[i]
		c := &counter{l: m, site: 1, loc: time.UTC}
		if format != "oldest" {
			if _, _, err := c.session(s, true, nil); err != nil {
				t.Fatal(err)
			}
		}
		src := s.TrafficSource()
		d := dimsOf(&src)
		lanes := [numLanes]int64{laneSessions: 1, laneVisitors: 1, laneNewVisitors: 1}
		switch {
		case format == "old" && !d.hasTerm:
			m.add(store.ReportKey(1, dimTerm, modelTraffic, uint32(DayOf(day, time.UTC)), d.term), &lanes)
		case format == "oldest":
			m.add(store.ReportKey(1, dimSource, modelTraffic, uint32(DayOf(day, time.UTC)), d.term), &lanes)
		}
	}
	for _, formats := range [][]string{
		{"new", "new", "new", "new", "new"},
		{"old", "old", "old", "old", "old"},
		{"old", "new", "old", "new", "new"},
		{"new", "old", "new", "old", "old"},
		{"oldest", "old", "oldest", "new", "new"},
		{"oldest", "oldest", "oldest", "oldest", "oldest"},
	} {
		m := newComputed()
		for i, f := range formats {
			count(m, i, f)
		}
		t.Run(formats[0]+"-"+formats[1]+"-"+formats[2], func(t *testing.T) { report(t, m) })
	}
	// A day whose every session had a term has no "" row.
	m := newComputed()
	count(m, 0, "new")
	count(m, 4, "new")
	m.keys = slices.Sorted(maps.Keys(m.rollups))
	got, err := m.Sources(context.Background(), db, Query{Site: site, From: DayOf(day, time.UTC), To: DayOf(day, time.UTC), Group: GroupTerm, Model: ModelLast})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 2 {
		t.Errorf("rows %+v: want shoes and boots only", got.Rows)
	}
}
