package reports

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"appliance/httpd/visits"
	"appliance/numbers/tracking"
	"appliance/store"
)

// RebuildResult says what a rebuild wrote.
type RebuildResult struct {
	Rollups  int // roll-up values
	Visitors int // visitors' touches
	Callers  int
	Changed  int // roll-ups, touches and callers written
}

// rebuildChunk bounds the keys of one write of a rebuild.
const rebuildChunk = 20_000

// Rebuild recomputes every roll-up of site from its raw records (Compute)
// and makes the stored ones what it computed, with the visitors' touches,
// the site's callers, the Calls page's daily counters of calls
// (numbers/tracking's MetricCalls), the site page's daily traffic
// counters (httpd/visits' MetricTraffic) and the number pools' counters
// by day and hour (pools.go): how an owner moves the days already
// counted into a new time zone, or recovers roll-ups. It may run while the site takes
// hits, leads and calls: the records are replayed from a snapshot of the
// store, and each roll-up is given the difference between what the replay
// computed and what it held in that snapshot, as a merge operand (roll-ups
// are sums), so what the live writes added since the snapshot stays on
// top. The differences go in writes of at most rebuildChunk keys: a report
// asked meanwhile may see a part, and a rebuild that stopped half-way (a
// crash) leaves the roll-ups between the two, which a rebuild run again
// corrects (it computes its differences from what it finds). A roll-up
// whose records are all in other days now is given the difference that
// takes it to zero, which leaves no row (operands adding up to nothing
// are dropped: store's counter merger). progress, when not nil, is told how many of the site's
// sessions have been replayed, of how many (see compute).
func (s *Service) Rebuild(ctx context.Context, site *store.Site, progress func(done, total int64)) (RebuildResult, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	m, err := compute(ctx, snap, site, s.sites.Location(site), progress)
	if err != nil {
		return RebuildResult{}, err
	}
	res := RebuildResult{Rollups: len(m.keys), Visitors: len(m.touches), Callers: len(m.callers)}
	pruned, err := s.db.PrunedBefore(site.ID)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild reports: %w", err)
	}
	writes, err := m.differences(ctx, snap, pruned)
	if err != nil {
		return res, fmt.Errorf("rebuild reports: %w", err)
	}
	res.Changed = len(writes)
	for len(writes) > 0 {
		n := min(len(writes), rebuildChunk)
		chunk := writes[:n]
		writes = writes[n:]
		err := s.db.Update(ctx, func(tx *store.Tx) error {
			for _, w := range chunk {
				w(tx)
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("rebuild reports: %w", err)
		}
	}
	return res, nil
}

// differences returns the writes that take what snap holds of m's site to
// what m computed: a merge operand of the difference for each roll-up
// that differs (a roll-up m has not: less what it held), and a set or
// delete for each touch and caller that differs.
func (m *Computed) differences(ctx context.Context, snap store.Reader, pruned int64) ([]func(tx *store.Tx), error) {
	var writes []func(tx *store.Tx)
	held := map[string][]int64{}
	err := snap.ScanPrefix(ctx, store.ReportSitePrefix(m.site), false, 0, func(k, v []byte) bool {
		held[string(k)] = lanesOf(v)
		return true
	})
	if err != nil {
		return nil, err
	}
	diff := func(k string, want []int64) {
		var d [numLanes]int64
		changed := false
		for i := range numLanes {
			var w, h int64
			if i < len(want) {
				w = want[i]
			}
			if had := held[k]; i < len(had) {
				h = had[i]
			}
			if d[i] = w - h; d[i] != 0 {
				changed = true
			}
		}
		if changed {
			writes = append(writes, func(tx *store.Tx) { addLanes(tx, []byte(k), &d) })
		}
	}
	for _, k := range m.keys {
		diff(k, m.rollups[k][:])
		delete(held, k)
	}
	for k := range held {
		diff(k, nil)
	}
	// The calls page's daily counters and the site page's traffic ones:
	// those of the days m counted on, and none on the others (nor the
	// sessions by channel of days counted before they joined the traffic
	// counter: m has them there). The traffic of the days a prune deleted
	// the visits of (up to the day after its cutoff: a zone is at most a
	// day off another) stays as counted, as the pools' (pools.go).
	held = map[string][]int64{}
	keptFrom := keptFrom(pruned, m.loc)
	days := store.RollupPrefix(m.site, 0)
	days = days[:len(days)-4] // every day of the site
	pools := map[string][]int64{}
	err = snap.ScanPrefix(ctx, days, false, 0, func(k, v []byte) bool {
		if len(k) < len(days)+4 {
			return true
		}
		day := binary.BigEndian.Uint32(k[len(days):])
		switch metric := string(k[len(days)+4:]); {
		case (metric == visits.MetricTraffic || metric == visits.MetricChannels) && day < keptFrom:
		case metric == tracking.MetricCalls, metric == visits.MetricTraffic, metric == visits.MetricChannels:
			held[string(k)] = lanesOf(v)
		case strings.HasPrefix(metric, tracking.MetricPool):
			pools[string(k)] = lanesOf(v)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		metric string
		days   map[uint32]*[numLanes]int64
	}{{tracking.MetricCalls, m.callDays}, {visits.MetricTraffic, m.trafficDays}} {
		for day, l := range c.days {
			if c.metric == visits.MetricTraffic && day < keptFrom {
				continue
			}
			k := string(store.RollupKey(m.site, day, c.metric))
			diff(k, l[:])
			delete(held, k)
		}
	}
	for k := range held {
		diff(k, nil)
	}
	pw, err := m.poolDifferences(ctx, snap, pools, pruned)
	if err != nil {
		return nil, err
	}
	writes = append(writes, pw...)
	for v, t := range m.touches {
		b, err := snap.Get(store.TouchKey(v))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if had, derr := store.DecodeTouch(b); err != nil || derr != nil || had != t {
			writes = append(writes, func(tx *store.Tx) { tx.Set(store.TouchKey(v), t.Encode()) })
		}
	}
	callers := map[string]uint64{}
	p := store.CallerPrefix(m.site)
	err = snap.ScanPrefix(ctx, p, false, 0, func(k, v []byte) bool {
		if len(v) == 8 {
			callers[string(k[len(p):])] = binary.BigEndian.Uint64(v)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for caller, id := range m.callers {
		if had, ok := callers[caller]; !ok || had != id {
			writes = append(writes, func(tx *store.Tx) {
				tx.Set(store.CallerKey(m.site, caller), binary.BigEndian.AppendUint64(nil, id))
			})
		}
		delete(callers, caller)
	}
	for caller := range callers {
		writes = append(writes, func(tx *store.Tx) { tx.Delete(store.CallerKey(m.site, caller)) })
	}
	return writes, nil
}

// lanesOf is a stored roll-up's lanes (8 bytes each, little endian).
func lanesOf(v []byte) []int64 {
	l := make([]int64, min(len(v)/8, numLanes))
	for i := range l {
		l[i] = int64(binary.LittleEndian.Uint64(v[i*8:]))
	}
	return l
}

// Compute recomputes site's roll-ups from its raw records (package
// function Compute), in the site's zone.
func (s *Service) Compute(ctx context.Context, site *store.Site) (*Computed, error) {
	return Compute(ctx, s.db, site, s.sites.Location(site))
}
