package tracking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"appliance/numbers"
	"appliance/store"
)

// PoolDay is one day of a pool.
type PoolDay struct {
	Day    time.Time
	Claims int64 // leases claimed
	Misses int64 // page views that found the pool full
	// Limited counts page views refused a number by the pool's address
	// cap (their address held its share).
	Limited int64
	Peak    int64 // the most leases live at once
	// BusyHour is the demand (claims and misses) of the day's busiest
	// hour.
	BusyHour int64
}

// PoolReport is how a pool did over a span of days, and the size it should
// have.
type PoolReport struct {
	Name    string
	ID      uint32
	Size    int
	Reserve time.Duration
	Live    int             // leases live at the time of the report
	Leases  []numbers.Lease // those leases, in slot order
	Days    []PoolDay       // oldest first
	Misses  int64           // over all days
	Limited int64           // over all days
	// MeanHold is the mean time a lease claimed in the span was held
	// (claim to lapse; a live lease at least to its until and at least
	// the reserve); the reserve when there were none.
	MeanHold time.Duration
	// Suggested sizes the pool for the span's busiest hour (Erlang B
	// from its demand and MeanHold; see numbers.EstimateSize).
	Suggested numbers.Sizing
	// Sampled is set when the span had more leases than the report read
	// for MeanHold.
	Sampled bool
}

// midnight is when the day d (Day's count) begins in loc.
func midnight(d uint32, loc *time.Location) time.Time {
	y, m, dd := time.Unix(int64(d)*86400, 0).UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// maxHoldSample bounds the leases a report reads to find the mean hold.
const maxHoldSample = 100_000

// Report reports every pool of site over the days from..to (inclusive,
// in the site's time zone, at most ten years), at now.
func (t *Tracker) Report(ctx context.Context, site uint32, from, to, now time.Time) ([]PoolReport, error) {
	ss := t.state.Load().sites[site]
	if ss == nil {
		return nil, nil
	}
	loc := t.location(site)
	first, last := Day(from, loc), Day(to, loc)
	if last < first || last-first > 3660 {
		return nil, ErrInvalid.Errorf("pool report: days %s to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	var out []PoolReport
	for _, p := range sortedPools(ss) {
		r := PoolReport{Name: p.cfg.Name, ID: p.cfg.ID, Size: p.live.Size(), Reserve: p.live.Reserve()}
		r.Leases = p.live.Leases(now)
		r.Live = len(r.Leases)
		var busiest int64
		for d := first; d <= last; d++ {
			lanes, err := counters(t.db, store.RollupKey(site, d, poolMetric(p.cfg.ID)))
			if err != nil {
				return nil, fmt.Errorf("pool report: %w", err)
			}
			high, err := counters(t.db, store.HighKey(site, d, poolMetric(p.cfg.ID)))
			if err != nil {
				return nil, fmt.Errorf("pool report: %w", err)
			}
			pd := PoolDay{Day: time.Unix(int64(d)*86400, 0).UTC(), Claims: lane(lanes, LanePoolClaims),
				Misses: lane(lanes, LanePoolMisses), Peak: max(lane(high, 0), lane(lanes, LanePoolPeak))}
			// The hours: their demand, and the claims and misses written
			// to them alone (a day's counter has those written before).
			hours := store.RollupKey(site, d, poolMetric(p.cfg.ID)+".h")
			var herr error
			err = t.db.Scan(ctx, hours, store.PrefixEnd(hours), false, 0, func(_, v []byte) bool {
				hl, err := store.DecodeCounters(v)
				if err != nil {
					herr = err
					return false
				}
				pd.BusyHour = max(pd.BusyHour, lane(hl, LaneHourDemand))
				pd.Claims += lane(hl, LaneHourClaims)
				pd.Misses += lane(hl, LaneHourMisses)
				pd.Limited += lane(hl, LaneHourLimited)
				return true
			})
			if err = errors.Join(err, herr); err != nil {
				return nil, fmt.Errorf("pool report: %w", err)
			}
			busiest = max(busiest, pd.BusyHour)
			r.Misses += pd.Misses
			r.Limited += pd.Limited
			r.Days = append(r.Days, pd)
		}
		// The span's days are the site's: from its first midnight to the
		// one after its last, not UTC's (which left out the evening's
		// leases of a site west of Greenwich, the morning's east of it).
		hold, n, sampled, err := meanHold(ctx, t.db, p.live.Numbers(), midnight(first, loc), midnight(last+1, loc), now, r.Reserve)
		if err != nil {
			return nil, fmt.Errorf("pool report: %w", err)
		}
		if n == 0 {
			hold = r.Reserve
		}
		r.MeanHold, r.Sampled = hold, sampled
		r.Suggested = numbers.EstimateSize(float64(busiest), hold)
		out = append(out, r)
	}
	return out, nil
}

// meanHold is the mean time the leases of the numbers claimed in [from,
// to) are held; it reads at most maxHoldSample of them. A lapsed lease was
// held from its claim to its until. A live one (until after now) is held
// at least to its until and at least reserve: counting only its time so
// far would make a pool that just filled up look like one of short holds,
// and suggest fewer numbers than it has.
func meanHold(ctx context.Context, db *store.DB, nums []string, from, to, now time.Time, reserve time.Duration) (time.Duration, int, bool, error) {
	var total time.Duration
	n := 0
	for _, num := range nums {
		if n >= maxHoldSample {
			return total / time.Duration(n), n, true, nil
		}
		lower := store.LeaseClaimKey(num, from.UnixNano())
		upper := store.LeaseBefore(num, to.UnixNano()-1)
		var derr error
		err := db.Scan(ctx, lower, upper, false, 0, func(k, v []byte) bool {
			_, since, isUntil, ok := store.ParseLeaseKey(k)
			if !ok {
				derr = fmt.Errorf("lease key %x: %w", k, store.ErrCorrupt)
				return false
			}
			if !isUntil {
				return true
			}
			u, err := store.DecodeUntil(v)
			if err != nil {
				derr = err
				return false
			}
			if u == since {
				return true // a number leaving its pool (endLease), no lease
			}
			h := time.Duration(u - since)
			if u > now.UnixNano() {
				h = max(h, reserve)
			}
			total += h
			n++
			return n < maxHoldSample
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return 0, 0, false, fmt.Errorf("read lease history of %s: %w", num, err)
		}
	}
	if n == 0 {
		return 0, 0, false, nil
	}
	return total / time.Duration(n), n, false, nil
}

// counters reads a roll-up value; nil when it was never counted.
func counters(db *store.DB, key []byte) ([]int64, error) {
	b, err := db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeCounters(b)
}

func lane(lanes []int64, i int) int64 {
	if i < len(lanes) {
		return lanes[i]
	}
	return 0
}
