package visits

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"appliance/store"
)

// DeviceRow is one device type, browser or operating system of the devices
// report: sessions of people from it and their distinct visitors.
type DeviceRow struct {
	Name     string // a DeviceType, a browser or an OS; "" when the user agent does not tell
	Sessions int64
	Visitors int64
}

// DeviceReport is the devices report of a period: sessions by device
// type, by browser and by operating system, most sessions first.
type DeviceReport struct {
	Types, Browsers, OSes []DeviceRow
}

// Devices returns the devices report of site for the sessions that began
// in [start, end), read from each session's user agent (SessionDevice).
func (t *Tracker) Devices(ctx context.Context, site uint32, start, end time.Time) (DeviceReport, error) {
	type tally struct {
		rows map[string]*DeviceRow
		seen map[string]map[uint64]bool
	}
	newTally := func() *tally { return &tally{rows: map[string]*DeviceRow{}, seen: map[string]map[uint64]bool{}} }
	types, browsers, oses := newTally(), newTally(), newTally()
	add := func(tl *tally, name string, visitor uint64) {
		r := tl.rows[name]
		if r == nil {
			r = &DeviceRow{Name: name}
			tl.rows[name] = r
			tl.seen[name] = map[uint64]bool{}
		}
		r.Sessions++
		if !tl.seen[name][visitor] {
			tl.seen[name][visitor] = true
			r.Visitors++
		}
	}
	_, err := t.readPeriod(ctx, site, start, end, func(s *store.Session) {
		d := SessionDevice(s)
		add(types, string(d.Type), s.Visitor)
		add(browsers, d.Browser, s.Visitor)
		add(oses, d.OS, s.Visitor)
	})
	if err != nil {
		return DeviceReport{}, err
	}
	sorted := func(tl *tally) []DeviceRow {
		out := make([]DeviceRow, 0, len(tl.rows))
		for _, r := range tl.rows {
			out = append(out, *r)
		}
		slices.SortFunc(out, func(a, b DeviceRow) int {
			return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), strings.Compare(a.Name, b.Name))
		})
		return out
	}
	return DeviceReport{Types: sorted(types), Browsers: sorted(browsers), OSes: sorted(oses)}, nil
}
