package reports

import (
	"context"
	"encoding/binary"
	"fmt"

	"appliance/store"
)

// RebuildResult says what a rebuild wrote.
type RebuildResult struct {
	Rollups  int // roll-up values
	Visitors int // visitors' touches
	Callers  int
}

// rebuildChunk bounds the keys of one write of a rebuild.
const rebuildChunk = 20_000

// Rebuild recomputes every roll-up of site from its raw records (Compute)
// and writes them over the old ones, with the visitors' touches and the
// site's callers: how an owner moves the days already counted into a new
// time zone, or recovers roll-ups. The old roll-ups are removed in the
// first write and the new ones written in the following ones, so a
// report asked meanwhile may see a part. What is stored while it runs may
// be counted twice or not at all: run it when the site is quiet (or run
// it again). progress, when not nil, is told how many of the site's
// sessions have been replayed, of how many (see compute).
func (s *Service) Rebuild(ctx context.Context, site *store.Site, progress func(done, total int64)) (RebuildResult, error) {
	m, err := compute(ctx, s.db, site, s.sites.Location(site), progress)
	if err != nil {
		return RebuildResult{}, err
	}
	res := RebuildResult{Rollups: len(m.keys), Visitors: len(m.touches), Callers: len(m.callers)}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		p := store.ReportSitePrefix(site.ID)
		tx.DeleteRange(p, store.PrefixEnd(p))
		p = store.CallerPrefix(site.ID)
		tx.DeleteRange(p, store.PrefixEnd(p))
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rebuild reports: %w", err)
	}
	var writes []func(tx *store.Tx)
	for _, k := range m.keys {
		lanes := m.rollups[k][:]
		n := len(lanes)
		for n > 0 && lanes[n-1] == 0 {
			n--
		}
		if n == 0 {
			continue
		}
		v := store.EncodeCounters(lanes[:n])
		writes = append(writes, func(tx *store.Tx) { tx.Set([]byte(k), v) })
	}
	for v, t := range m.touches {
		writes = append(writes, func(tx *store.Tx) { tx.Set(store.TouchKey(v), t.Encode()) })
	}
	for caller, id := range m.callers {
		writes = append(writes, func(tx *store.Tx) {
			tx.Set(store.CallerKey(site.ID, caller), binary.BigEndian.AppendUint64(nil, id))
		})
	}
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

// Compute recomputes site's roll-ups from its raw records (package
// function Compute), in the site's zone.
func (s *Service) Compute(ctx context.Context, site *store.Site) (*Computed, error) {
	return Compute(ctx, s.db, site, s.sites.Location(site))
}
