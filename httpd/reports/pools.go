package reports

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"time"

	"appliance/numbers/tracking"
	"appliance/store"
)

// The number pools' usage by day and hour (numbers/tracking: leases
// claimed and page views that found the pool full, per hour of the site's
// day, and the day's peak of leases live at once) is counted in the
// site's zone as the claims come. A rebuild moves it into the zone the
// site has now from what is kept of it: the lease history, each claim
// with its time and its until. Once a prune deleted some of it (store's
// PrunedBefore: the site's retention), the days up to the day after the
// prune's cutoff keep their counters where they were (a zone is at most a
// day off another). Misses leave no record but their count: they stay on
// the hour they were counted on, and so do the page views the address cap
// refused (limited).

// poolLease is one lease of a pool's number, from its history.
type poolLease struct {
	pool         uint32
	since, until int64 // Unix ns
}

// poolDifferences returns the writes that take the site's pool counters
// (held: what snap holds of its day and hour counters, by key) and
// high-water marks to what the lease history in snap makes them in m's
// zone; pruned (Unix ms, 0 none) is the cutoff of the latest prune of the
// site's history.
func (m *Computed) poolDifferences(ctx context.Context, snap store.Reader, held map[string][]int64, pruned int64) ([]func(*store.Tx), error) {
	var leases []poolLease
	var derr error
	pending := false // the key before was a claim kept, whose until may follow
	err := snap.ScanPrefix(ctx, store.LeasesPrefix(), false, 0, func(k, v []byte) bool {
		since, until, ok := store.LeaseKeyTime(k)
		claimBefore := pending
		pending = false
		if !ok {
			return true
		}
		if until {
			// The until of the claim read just before it (the same
			// number and time: the next key).
			if n := len(leases); claimBefore && leases[n-1].since == since {
				if leases[n-1].until, derr = store.DecodeUntil(v); derr != nil {
					derr = fmt.Errorf("lease until %x: %w", k, derr)
					return false
				}
			}
			return true
		}
		l, err := store.DecodeLease(v)
		if err != nil {
			derr = fmt.Errorf("lease %x: %w", k, err)
			return false
		}
		if l.Site == m.site && l.Pool != 0 {
			leases = append(leases, poolLease{pool: l.Pool, since: since, until: since})
			pending = true
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("lease history: %w", err)
	}
	first := keptFrom(pruned, m.loc)
	slices.SortFunc(leases, func(a, b poolLease) int { return cmp.Compare(a.since, b.since) })
	// What the history makes them: claims by hour, peaks by day.
	want := map[string][]int64{}
	peaks := map[string]int64{}
	live := map[uint32]*untilHeap{}
	for _, l := range leases {
		t := time.Unix(0, l.since).In(m.loc)
		day := uint32(DayOf(t, m.loc))
		if day < first {
			continue
		}
		k := string(store.RollupKey(m.site, day, tracking.PoolHourMetric(l.pool, t.Hour())))
		w := want[k]
		if w == nil {
			w = make([]int64, 3)
			want[k] = w
		}
		w[tracking.LaneHourDemand]++
		w[tracking.LaneHourClaims]++
		h := live[l.pool]
		if h == nil {
			h = &untilHeap{}
			live[l.pool] = h
		}
		for h.Len() > 0 && (*h)[0] <= l.since {
			heap.Pop(h)
		}
		heap.Push(h, max(l.until, l.since+1))
		pk := string(store.HighKey(m.site, day, tracking.PoolMetric(l.pool)))
		peaks[pk] = max(peaks[pk], int64(h.Len()))
	}
	// The misses stay where they are, with the demand they made; the
	// days' counters of before the hours had theirs keep only their misses.
	dayOfKey := func(k string) uint32 {
		p := store.RollupPrefix(m.site, 0)
		return uint32(k[len(p)-4])<<24 | uint32(k[len(p)-3])<<16 | uint32(k[len(p)-2])<<8 | uint32(k[len(p)-1])
	}
	var writes []func(*store.Tx)
	set := func(k string, lanes []int64, had []int64) {
		if slices.Equal(trimZeros(lanes), trimZeros(had)) {
			return
		}
		var d [numLanes]int64
		for i := range d {
			if i < len(lanes) {
				d[i] += lanes[i]
			}
			if i < len(had) {
				d[i] -= had[i]
			}
		}
		writes = append(writes, func(tx *store.Tx) { addLanes(tx, []byte(k), &d) })
	}
	for k, had := range held {
		if dayOfKey(k) < first {
			continue // about what a prune deleted: left as counted
		}
		w := want[k]
		if w == nil {
			w = make([]int64, 3)
		}
		if isHourMetric(k) {
			misses := lane(had, tracking.LaneHourMisses)
			w[tracking.LaneHourMisses] = misses
			w[tracking.LaneHourDemand] += misses
			if limited := lane(had, tracking.LaneHourLimited); limited != 0 {
				w = append(w, limited) // tracking.LaneHourLimited
			}
		} else {
			w = []int64{tracking.LanePoolMisses: lane(had, tracking.LanePoolMisses), tracking.LanePoolPeak: 0}
		}
		set(k, w, had)
		delete(want, k)
	}
	for k, w := range want {
		set(k, w, nil)
	}
	// The peaks: high-water marks merge by the larger, so a lower one is
	// set, not merged.
	err = snap.ScanPrefix(ctx, store.HighSitePrefix(m.site), false, 0, func(k, v []byte) bool {
		p := store.HighSitePrefix(m.site)
		if len(k) < len(p)+4 {
			return true
		}
		day := uint32(k[len(p)])<<24 | uint32(k[len(p)+1])<<16 | uint32(k[len(p)+2])<<8 | uint32(k[len(p)+3])
		if day < first || string(k[len(p)+4:len(p)+4+min(len(tracking.MetricPool), len(k)-len(p)-4)]) != tracking.MetricPool {
			return true
		}
		peak, ok := peaks[string(k)]
		if had := lanesOf(v); ok && len(had) == 1 && had[0] == peak {
			delete(peaks, string(k))
			return true
		}
		key := string(k)
		if !ok {
			writes = append(writes, func(tx *store.Tx) { tx.Delete([]byte(key)) })
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("pool peaks: %w", err)
	}
	for k, peak := range peaks {
		writes = append(writes, func(tx *store.Tx) { tx.Set([]byte(k), store.EncodeCounters([]int64{peak})) })
	}
	return writes, nil
}

// keptFrom is the first day (in loc) a rebuild counts again the site
// page's traffic and the pools' usage of, when a prune with the cutoff
// pruned (Unix ms; 0: none) deleted records they are counted from: the
// day after the cutoff's, as the zone counted in before may be a day off
// loc. 0 (every day) when none did.
func keptFrom(pruned int64, loc *time.Location) uint32 {
	if pruned <= 0 {
		return 0
	}
	return uint32(DayOf(time.UnixMilli(pruned), loc)) + 2
}

// isHourMetric reports whether a pool counter's key is an hour's
// ("n.3.h07"), not a day's ("n.3").
func isHourMetric(k string) bool {
	n := len(k)
	return n > 4 && k[n-4] == '.' && k[n-3] == 'h'
}

func lane(l []int64, i int) int64 {
	if i < len(l) {
		return l[i]
	}
	return 0
}

func trimZeros(l []int64) []int64 {
	for len(l) > 0 && l[len(l)-1] == 0 {
		l = l[:len(l)-1]
	}
	return l
}

// untilHeap is the untils of the leases live, soonest first.
type untilHeap []int64

func (h untilHeap) Len() int           { return len(h) }
func (h untilHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h untilHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *untilHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *untilHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
